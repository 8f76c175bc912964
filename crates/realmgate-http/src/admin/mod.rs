//! Admin REST API (Keycloak-compatible subset).

use axum::Router;
use realmgate_app::App;

pub fn routes() -> Router<App> {
    Router::new()
}
