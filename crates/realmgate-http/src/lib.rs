//! `realmgate-http` is the only library crate that touches axum. It maps HTTP onto the app
//! layer's use cases: one router per surface (OIDC endpoints, login pages, admin REST), the
//! extractors that resolve a realm and read cookies, and the rendering of errors in each
//! protocol's own format — OAuth JSON (RFC 6749 §5.2), RFC 6750 bearer challenges, RFC 9457
//! problem+json for the admin API, HTML pages for people. Handlers are thin adapters.

pub mod admin;
mod cookies;
mod error;
mod extract;
mod health;
mod oidc;
mod pages;

use axum::Router;
use realmgate_app::App;
use tower::Layer;
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};

pub use error::{HtmlError, OAuthJson};

/// The whole HTTP surface as a router over the app state (embed it in your own axum app).
pub fn router(app: App) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(oidc::routes())
        .merge(pages::routes())
        .merge(admin::routes())
        // A plain response map: no boxed service or future per request, unlike `from_fn`.
        .layer(tower::util::MapResponseLayer::new(error::security_headers))
        .with_state(app)
}

/// The router behind trailing-slash normalisation (`/admin/realms/` = `/admin/realms`), which
/// Keycloak's admin client relies on. This is what `realmgate serve` runs.
pub fn service(app: App) -> NormalizePath<Router> {
    NormalizePathLayer::trim_trailing_slash().layer(router(app))
}
