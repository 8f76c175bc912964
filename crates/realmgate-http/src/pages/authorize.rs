//! The authorization endpoint (GET and POST, RFC 6749 §3.1) and the login/consent submissions.

use super::render;
use crate::cookies;
use crate::error::HtmlError;
use crate::extract::{ClientIp, form_pairs, is_form, query_pairs};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use realmgate_app::{App, AppError};

pub async fn authorize_get(
    State(app): State<App>,
    Path(realm): Path<String>,
    RawQuery(q): RawQuery,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, HtmlError> {
    let ctx = app.realm(&realm).await?;
    let browser = cookies::browser(&headers, ip);
    let (step, ops) = app
        .authorize(&ctx, query_pairs(q.as_deref()), &browser)
        .await?;
    Ok(render::step(&app, &ctx, step, &ops))
}

pub async fn authorize_post(
    State(app): State<App>,
    Path(realm): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let ctx = app.realm(&realm).await?;
    if !is_form(&headers) {
        return Err(AppError::invalid("the authorization request must be a form").into());
    }
    let browser = cookies::browser(&headers, ip);
    let (step, ops) = app.authorize(&ctx, form_pairs(&body), &browser).await?;
    Ok(render::step(&app, &ctx, step, &ops))
}

fn field(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

pub async fn login(
    State(app): State<App>,
    Path(realm): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let ctx = app.realm(&realm).await?;
    let pairs = form_pairs(&body);
    let browser = cookies::browser(&headers, ip);
    let flow = field(&pairs, "flow").unwrap_or_default();
    let username = field(&pairs, "username").unwrap_or_default();
    let password = field(&pairs, "password").unwrap_or_default();
    let (step, ops) = app
        .submit_login(&ctx, &flow, &username, &password, &browser)
        .await?;
    Ok(render::step(&app, &ctx, step, &ops))
}

pub async fn consent(
    State(app): State<App>,
    Path(realm): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let ctx = app.realm(&realm).await?;
    let pairs = form_pairs(&body);
    let browser = cookies::browser(&headers, ip);
    let flow = field(&pairs, "flow").unwrap_or_default();
    let accepted = field(&pairs, "accept").as_deref() == Some("yes");
    let (step, ops) = app.submit_consent(&ctx, &flow, accepted, &browser).await?;
    Ok(render::step(&app, &ctx, step, &ops))
}
