//! The OpenID Connect endpoints of a realm, at Keycloak's paths.

mod metadata;
mod token;
mod userinfo;

use axum::Router;
use axum::routing::{get, post};
use realmgate_app::App;

pub fn routes() -> Router<App> {
    let oidc = "/realms/{realm}/protocol/openid-connect";
    Router::new()
        .route("/realms/{realm}", get(metadata::realm_info))
        .route(
            "/realms/{realm}/.well-known/openid-configuration",
            get(metadata::discovery),
        )
        .route(
            "/realms/{realm}/.well-known/oauth-authorization-server",
            get(metadata::discovery),
        )
        .route(&format!("{oidc}/certs"), get(metadata::jwks))
        .route(&format!("{oidc}/token"), post(token::token))
        .route(&format!("{oidc}/token/introspect"), post(token::introspect))
        .route(&format!("{oidc}/revoke"), post(token::revoke))
        .route(
            &format!("{oidc}/userinfo"),
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
}

/// A JSON response from bytes serialised before (userinfo, introspection: once per token).
fn json_bytes(body: std::sync::Arc<[u8]>) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from(axum::body::Bytes::from_owner(body)),
    )
        .into_response()
}
