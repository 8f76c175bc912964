//! Token, introspection and revocation endpoints: form in, JSON out, `Cache-Control: no-store`.

use crate::error::{OAuthJson, no_store};
use crate::extract::{ClientIp, authorization, form_pairs, is_form};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use realmgate_app::{App, AppError};
use realmgate_oidc::OAuthError;

fn require_form(headers: &HeaderMap) -> Result<(), OAuthJson> {
    if is_form(headers) {
        Ok(())
    } else {
        Err(OAuthJson(AppError::OAuth(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ))))
    }
}

pub async fn token(
    State(app): State<App>,
    Path(realm): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthJson> {
    require_form(&headers)?;
    let ctx = app.realm(&realm).await?;
    let tokens = app
        .token(
            &ctx,
            authorization(&headers),
            form_pairs(&body),
            ip.as_deref(),
        )
        .await?;
    let mut resp = axum::Json(tokens).into_response();
    no_store(&mut resp);
    Ok(resp)
}

pub async fn introspect(
    State(app): State<App>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthJson> {
    require_form(&headers)?;
    let ctx = app.realm(&realm).await?;
    let out = app
        .introspect(&ctx, authorization(&headers), form_pairs(&body))
        .await?;
    let mut resp = crate::oidc::json_bytes(out.0);
    no_store(&mut resp);
    Ok(resp)
}

pub async fn revoke(
    State(app): State<App>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthJson> {
    require_form(&headers)?;
    let ctx = app.realm(&realm).await?;
    app.revoke(&ctx, authorization(&headers), form_pairs(&body))
        .await?;
    let mut resp = ().into_response();
    no_store(&mut resp);
    Ok(resp)
}
