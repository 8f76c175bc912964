//! Discovery (OIDC Discovery §4, RFC 8414 §3) and JWKS, served from bytes serialised once per
//! realm, with ETag and Cache-Control so clients and proxies can cache them.

use crate::error::OAuthJson;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use realmgate_app::App;

fn cached_json(
    headers: &HeaderMap,
    body: std::sync::Arc<[u8]>,
    etag: &str,
    max_age: &'static str,
) -> Response {
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/json")],
            axum::body::Body::from(axum::body::Bytes::from_owner(body)),
        )
            .into_response()
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(max_age));
    if let Ok(v) = HeaderValue::from_str(etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

pub async fn discovery(
    State(app): State<App>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> Result<Response, OAuthJson> {
    let ctx = app.realm(&realm).await?;
    Ok(cached_json(
        &headers,
        ctx.discovery.clone(),
        &ctx.discovery_etag,
        "public, max-age=300",
    ))
}

pub async fn jwks(
    State(app): State<App>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> Result<Response, OAuthJson> {
    let ctx = app.realm(&realm).await?;
    let keys = app.jwks(&ctx).await?;
    Ok(cached_json(
        &headers,
        keys.jwks.clone(),
        &keys.jwks_etag,
        "public, max-age=60",
    ))
}

/// Keycloak's `GET /realms/{realm}`: public realm information.
pub async fn realm_info(
    State(app): State<App>,
    Path(realm): Path<String>,
) -> Result<Response, OAuthJson> {
    let ctx = app.realm(&realm).await?;
    Ok(axum::Json(serde_json::json!({
        "realm": ctx.name(),
        "token-service": format!("{}/protocol/openid-connect", ctx.issuer),
        "account-service": format!("{}/account", ctx.issuer),
        "tokens-not-before": 0,
    }))
    .into_response())
}
