//! Pages for people: the authorization endpoint with its login and consent forms, logout, and
//! the stylesheet. Server-rendered, no JavaScript (form_post's auto-submit excepted).

mod authorize;
mod logout;
pub mod render;

use axum::Router;
use axum::http::header;
use axum::routing::{get, post};
use realmgate_app::App;

pub fn routes() -> Router<App> {
    let oidc = "/realms/{realm}/protocol/openid-connect";
    Router::new()
        .route(
            &format!("{oidc}/auth"),
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(
            "/realms/{realm}/login-actions/authenticate",
            post(authorize::login),
        )
        .route(
            "/realms/{realm}/login-actions/consent",
            post(authorize::consent),
        )
        .route(
            &format!("{oidc}/logout"),
            get(logout::logout_get).post(logout::logout_post),
        )
        .route(&format!("{oidc}/logout/confirm"), post(logout::confirm))
        .route(
            "/resources/realmgate.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    include_str!("../../templates/realmgate.css"),
                )
            }),
        )
}
