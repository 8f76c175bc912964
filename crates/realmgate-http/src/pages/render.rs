//! Turning app outcomes into HTML responses and redirects (templates compiled into the binary).

use crate::cookies;
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use realmgate_app::authorize::{AuthorizeStep, CookieOps};
use realmgate_app::{App, RealmCtx};
use realmgate_oidc::redirect::AuthorizationResponse;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    realm_title: &'a str,
    action: String,
    flow: &'a str,
    csrf: &'a str,
    username: &'a str,
    error: Option<&'a str>,
    client_name: &'a str,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    realm_title: &'a str,
    action: String,
    flow: &'a str,
    csrf: &'a str,
    client_name: &'a str,
    scopes: &'a [String],
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    realm_title: &'a str,
    heading: &'a str,
    message: &'a str,
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub struct LogoutConfirm<'a> {
    pub realm_title: &'a str,
    pub action: String,
    pub flow: &'a str,
}

#[derive(Template)]
#[template(path = "logged_out.html")]
pub struct LoggedOut<'a> {
    pub realm_title: &'a str,
}

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPost<'a> {
    action: &'a str,
    fields: &'a [(String, String)],
    nonce: &'a str,
}

pub fn html<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub fn error_page(status: StatusCode, realm_title: &str, heading: &str, message: &str) -> Response {
    html(
        status,
        &ErrorPage {
            realm_title,
            heading,
            message,
        },
    )
}

/// A redirect or auto-submitting form to the client.
pub fn to_client(resp: AuthorizationResponse) -> Response {
    match resp {
        AuthorizationResponse::Redirect(url) => Redirect::to(&url).into_response(),
        AuthorizationResponse::FormPost { action, fields } => {
            let nonce = realmgate_crypto::random_token(16);
            let mut r = html(
                StatusCode::OK,
                &FormPost {
                    action: &action,
                    fields: &fields,
                    nonce: &nonce,
                },
            );
            let csp = format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'"
            );
            if let Ok(v) = HeaderValue::from_str(&csp) {
                r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            r
        }
    }
}

/// Renders an authorization step and applies its cookie changes.
pub fn step(app: &App, realm: &RealmCtx, step: AuthorizeStep, ops: &CookieOps) -> Response {
    let title = realm.display_name();
    let mut resp = match step {
        AuthorizeStep::ErrorPage {
            title: heading,
            message,
        } => error_page(StatusCode::BAD_REQUEST, title, &heading, &message),
        AuthorizeStep::Respond(r) => to_client(r),
        AuthorizeStep::Login {
            flow,
            csrf,
            username,
            error,
            client_name,
        } => {
            let status = if error.is_some() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::OK
            };
            html(
                status,
                &LoginPage {
                    realm_title: title,
                    action: format!("/realms/{}/login-actions/authenticate", realm.name()),
                    flow: &flow,
                    csrf: &csrf,
                    username: username.as_deref().unwrap_or(""),
                    error: error.as_deref(),
                    client_name: &client_name,
                },
            )
        }
        AuthorizeStep::Consent {
            flow,
            csrf,
            client_name,
            scopes,
        } => html(
            StatusCode::OK,
            &ConsentPage {
                realm_title: title,
                action: format!("/realms/{}/login-actions/consent", realm.name()),
                flow: &flow,
                csrf: &csrf,
                client_name: &client_name,
                scopes: &scopes,
            },
        ),
    };
    apply_cookies(app, realm, ops, &mut resp);
    resp
}

pub fn apply_cookies(app: &App, realm: &RealmCtx, ops: &CookieOps, resp: &mut Response) {
    for c in cookies::set_cookie_values(app, realm, ops) {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}
