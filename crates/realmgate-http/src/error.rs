//! Error rendering, once per surface: OAuth JSON for the token-side endpoints (RFC 6749 §5.2),
//! RFC 6750 challenges for bearer-protected endpoints, HTML pages for people. Internal errors are
//! logged here, once, inside the request span, and never shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use realmgate_app::AppError;
use realmgate_oidc::{ErrorCode, OAuthError};

/// An error from a JSON OAuth endpoint (token, introspection, revocation, discovery, JWKS).
pub struct OAuthJson(pub AppError);

impl From<AppError> for OAuthJson {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

fn oauth_body(status: StatusCode, err: &OAuthError) -> Response {
    let mut resp = (status, axum::Json(err.to_json())).into_response();
    no_store(&mut resp);
    resp
}

pub fn no_store(resp: &mut Response) {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for OAuthJson {
    fn into_response(self) -> Response {
        match self.0 {
            AppError::OAuth(e) => {
                let status = StatusCode::from_u16(e.code.token_endpoint_status())
                    .unwrap_or(StatusCode::BAD_REQUEST);
                let mut resp = oauth_body(status, &e);
                if e.code == ErrorCode::InvalidClient {
                    resp.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"realmgate\""),
                    );
                }
                resp
            }
            AppError::NotFound(what) => {
                let msg = if what == "realm" {
                    "Realm does not exist"
                } else {
                    "Not found"
                };
                oauth_body(
                    StatusCode::NOT_FOUND,
                    &OAuthError::new(ErrorCode::InvalidRequest, msg),
                )
            }
            AppError::Invalid(m) | AppError::Conflict(m) => {
                oauth_body(StatusCode::BAD_REQUEST, &OAuthError::invalid_request(m))
            }
            AppError::Unauthorized => oauth_body(
                StatusCode::UNAUTHORIZED,
                &OAuthError::bare(ErrorCode::InvalidClient),
            ),
            AppError::Forbidden => oauth_body(
                StatusCode::FORBIDDEN,
                &OAuthError::bare(ErrorCode::AccessDenied),
            ),
            AppError::Overloaded => {
                let mut resp = oauth_body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &OAuthError::new(
                        ErrorCode::TemporarilyUnavailable,
                        "the server is busy, retry shortly",
                    ),
                );
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                resp
            }
            AppError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                oauth_body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &OAuthError::bare(ErrorCode::ServerError),
                )
            }
        }
    }
}

/// An error from a bearer-protected resource (userinfo): RFC 6750 §3.
pub struct BearerError(pub AppError);

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        match self.0 {
            AppError::OAuth(e)
                if matches!(e.code, ErrorCode::InvalidToken | ErrorCode::InvalidRequest) =>
            {
                let status = if e.code == ErrorCode::InvalidToken {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::BAD_REQUEST
                };
                let desc = e.description.clone().unwrap_or_default().replace('"', "'");
                let challenge = format!(
                    "Bearer realm=\"realmgate\", error=\"{}\", error_description=\"{desc}\"",
                    e.code.as_str()
                );
                let mut resp = (status, axum::Json(e.to_json())).into_response();
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                resp
            }
            AppError::Unauthorized => {
                let mut resp = StatusCode::UNAUTHORIZED.into_response();
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"realmgate\""),
                );
                resp
            }
            other => OAuthJson(other).into_response(),
        }
    }
}

/// An error for a person: an HTML page.
pub struct HtmlError(pub AppError);

impl From<AppError> for HtmlError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl IntoResponse for HtmlError {
    fn into_response(self) -> Response {
        let (status, message) = match &self.0 {
            AppError::NotFound("realm") => {
                (StatusCode::NOT_FOUND, "Realm does not exist.".to_owned())
            }
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "Page not found.".to_owned()),
            AppError::OAuth(e) => (
                StatusCode::BAD_REQUEST,
                e.description
                    .clone()
                    .unwrap_or_else(|| e.code.as_str().to_owned()),
            ),
            AppError::Invalid(m) | AppError::Conflict(m) => (StatusCode::BAD_REQUEST, m.clone()),
            AppError::Unauthorized | AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "You are not allowed to do that.".to_owned(),
            ),
            AppError::Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is busy right now. Please try again in a moment.".to_owned(),
            ),
            AppError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An unexpected error occurred. Please try again.".to_owned(),
                )
            }
        };
        let mut resp =
            crate::pages::render::error_page(status, "Realmgate", "We are sorry...", &message);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

/// Baseline security headers on every response; HTML gets a strict CSP unless the handler set one.
pub fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
                ),
            );
        }
        if !h.contains_key(header::CACHE_CONTROL) {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    resp
}
