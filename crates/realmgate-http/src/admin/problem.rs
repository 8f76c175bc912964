//! RFC 9457 problem details for the admin API, rendered once from [`AppError`]. The body also
//! carries Keycloak's `errorMessage` (what `@keycloak/keycloak-admin-client` and other Keycloak
//! clients read) and a stable `error` code listed in `docs/errors.md`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use realmgate_app::AppError;
use realmgate_oidc::ErrorCode;
use serde::Serialize;

/// A problem response of the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: StatusCode,
    /// Stable machine-readable code (`docs/errors.md`, section "Admin API").
    pub code: &'static str,
    pub detail: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    error_message: &'a str,
    error: &'a str,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
        }
    }

    /// A request body that is not the JSON the endpoint expects.
    pub fn malformed_body(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_body", detail)
    }

    /// A query string or path parameter that does not parse.
    pub fn malformed_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", detail)
    }
}

/// Keycloak-like wording for a missing resource.
fn not_found_detail(what: &str) -> String {
    match what {
        "realm" => "Realm not found.".to_owned(),
        "user" => "User not found".to_owned(),
        "client" => "Could not find client".to_owned(),
        "role" => "Could not find role".to_owned(),
        "group" => "Could not find group by id".to_owned(),
        "organization" => "Organization not found".to_owned(),
        other => {
            let mut s = other.to_owned();
            if let Some(first) = s.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            format!("{s} not found")
        }
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound(what) => {
                Self::new(StatusCode::NOT_FOUND, "not_found", not_found_detail(what))
            }
            AppError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            AppError::Invalid(m) => Self::new(StatusCode::BAD_REQUEST, "invalid_request", m),
            AppError::Unauthorized => Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "HTTP 401 Unauthorized",
            ),
            AppError::Forbidden => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", "HTTP 403 Forbidden")
            }
            AppError::Overloaded => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "The server is busy, try again shortly",
            ),
            AppError::OAuth(o) => {
                let status = match o.code {
                    ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
                    ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
                    ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::BAD_REQUEST,
                };
                let detail = o
                    .description
                    .clone()
                    .unwrap_or_else(|| o.code.as_str().to_owned());
                Self::new(status, o.code.as_str(), detail)
            }
            AppError::Internal(msg) => {
                // The one place an admin API internal error is logged; the client sees nothing of it.
                tracing::error!(error = %msg, "admin api internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "An internal error occurred",
                )
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = Body {
            kind: "about:blank",
            title,
            status: self.status.as_u16(),
            detail: &self.detail,
            error_message: &self.detail,
            error: self.code,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut resp = (self.status, bytes).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"realmgate\""),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(p: Problem) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let resp = p.into_response();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or_default(),
        )
    }

    #[tokio::test]
    async fn rfc9457_body_carries_keycloak_error_message() {
        let (status, headers, body) =
            body_of(AppError::Conflict("User exists with same username".into()).into()).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(
            headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        assert_eq!(body["type"], "about:blank");
        assert_eq!(body["title"], "Conflict");
        assert_eq!(body["status"], 409);
        assert_eq!(body["detail"], "User exists with same username");
        assert_eq!(body["errorMessage"], "User exists with same username");
        assert_eq!(body["error"], "conflict");
    }

    #[tokio::test]
    async fn rfc6750_3_unauthorized_has_a_bearer_challenge() {
        let (status, headers, body) = body_of(AppError::Unauthorized.into()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            headers
                .get(header::WWW_AUTHENTICATE)
                .is_some_and(|v| v.as_bytes().starts_with(b"Bearer"))
        );
        assert_eq!(body["error"], "unauthorized");
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let (status, _, body) =
            body_of(AppError::Internal("db password is hunter2".into()).into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("hunter2"));
        assert_eq!(body["error"], "internal_error");
    }

    #[tokio::test]
    async fn overloaded_says_when_to_retry() {
        let (status, headers, body) = body_of(AppError::Overloaded.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(headers.get(header::RETRY_AFTER).is_some());
        assert_eq!(body["error"], "overloaded");
    }

    #[test]
    fn not_found_wording() {
        assert_eq!(not_found_detail("user"), "User not found");
        assert_eq!(
            not_found_detail("organization member"),
            "Organization member not found"
        );
        let p: Problem = AppError::NotFound("realm").into();
        assert_eq!((p.status, p.code), (StatusCode::NOT_FOUND, "not_found"));
    }
}
