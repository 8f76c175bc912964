//! UserInfo (OIDC Core §5.3): bearer token in the Authorization header (RFC 6750 §2.1) or, for
//! POST, the `access_token` form field (§2.2).

use crate::error::BearerError;
use crate::extract::{bearer, form_pairs, is_form};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use realmgate_app::{App, AppError};

pub async fn userinfo(
    State(app): State<App>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, BearerError> {
    let ctx = app.realm(&realm).await.map_err(BearerError)?;
    let from_form = if is_form(&headers) {
        form_pairs(&body)
            .into_iter()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v)
    } else {
        None
    };
    let token = match (bearer(&headers), from_form.as_deref()) {
        (Some(t), None) | (None, Some(t)) => t.to_owned(),
        (Some(_), Some(_)) => {
            return Err(BearerError(AppError::OAuth(
                realmgate_oidc::OAuthError::invalid_request(
                    "the access token was sent more than once",
                ),
            )));
        }
        (None, None) => return Err(BearerError(AppError::Unauthorized)),
    };
    let body = app.userinfo(&ctx, &token).await.map_err(BearerError)?;
    Ok(crate::oidc::json_bytes(body))
}
