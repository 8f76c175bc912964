//! RP-initiated logout: GET or POST with `id_token_hint`, `post_logout_redirect_uri`, `state`,
//! `client_id`; and the confirmation form.

use super::render::{self, LoggedOut, LogoutConfirm};
use crate::cookies;
use crate::error::HtmlError;
use crate::extract::{ClientIp, form_pairs, query_pairs};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use realmgate_app::authorize::CookieOps;
use realmgate_app::logout::{LogoutRequest, LogoutStep};
use realmgate_app::{App, RealmCtx};

fn request(pairs: Vec<(String, String)>) -> LogoutRequest {
    let mut r = LogoutRequest::default();
    for (k, v) in pairs {
        match k.as_str() {
            "id_token_hint" => r.id_token_hint = Some(v),
            "post_logout_redirect_uri" => r.post_logout_redirect_uri = Some(v),
            "state" => r.state = Some(v),
            "client_id" => r.client_id = Some(v),
            _ => {}
        }
    }
    r
}

fn render_step(app: &App, ctx: &RealmCtx, step: LogoutStep, ops: &CookieOps) -> Response {
    let title = ctx.display_name();
    let mut resp = match step {
        LogoutStep::Redirect(url) => Redirect::to(&url).into_response(),
        LogoutStep::Confirm { flow } => render::html(
            StatusCode::OK,
            &LogoutConfirm {
                realm_title: title,
                action: format!(
                    "/realms/{}/protocol/openid-connect/logout/confirm",
                    ctx.name()
                ),
                flow: &flow,
            },
        ),
        LogoutStep::LoggedOut => render::html(StatusCode::OK, &LoggedOut { realm_title: title }),
        LogoutStep::ErrorPage(msg) => {
            render::error_page(StatusCode::BAD_REQUEST, title, "We are sorry...", &msg)
        }
    };
    render::apply_cookies(app, ctx, ops, &mut resp);
    resp
}

pub async fn logout_get(
    State(app): State<App>,
    Path(realm): Path<String>,
    RawQuery(q): RawQuery,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, HtmlError> {
    let ctx = app.realm(&realm).await?;
    let browser = cookies::browser(&headers, ip);
    let (step, ops) = app
        .logout(&ctx, request(query_pairs(q.as_deref())), &browser)
        .await?;
    Ok(render_step(&app, &ctx, step, &ops))
}

pub async fn logout_post(
    State(app): State<App>,
    Path(realm): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let ctx = app.realm(&realm).await?;
    let browser = cookies::browser(&headers, ip);
    let (step, ops) = app
        .logout(&ctx, request(form_pairs(&body)), &browser)
        .await?;
    Ok(render_step(&app, &ctx, step, &ops))
}

pub async fn confirm(
    State(app): State<App>,
    Path(realm): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let ctx = app.realm(&realm).await?;
    let browser = cookies::browser(&headers, ip);
    let flow = form_pairs(&body)
        .into_iter()
        .find(|(k, _)| k == "flow")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let (step, ops) = app.confirm_logout(&ctx, &flow, &browser).await?;
    Ok(render_step(&app, &ctx, step, &ops))
}
