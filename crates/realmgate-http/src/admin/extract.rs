//! Extractors of the admin API. Every rejection is a [`Problem`] (never axum's plain-text
//! rejections, never a panic): the caller (an authenticated [`Principal`], or a [`Admin`] handle
//! for the realm in the path), a JSON body, query parameters and path parameters.

use super::problem::Problem;
use crate::extract::authorization;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use realmgate_app::App;
use realmgate_app::admin::{AdminPrincipal, RealmAdmin};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// The authenticated caller.
pub struct Principal(pub AdminPrincipal);

impl FromRequestParts<App> for Principal {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Problem> {
        Ok(Self(
            app.authenticate_admin(authorization(&parts.headers))
                .await?,
        ))
    }
}

/// The capability to administer the realm named by the `{realm}` path parameter.
pub struct Admin(pub RealmAdmin);

impl FromRequestParts<App> for Admin {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Problem> {
        let Principal(principal) = Principal::from_request_parts(parts, app).await?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, app)
            .await
            .map_err(|e| Problem::malformed_request(e.body_text()))?;
        let realm = params.get("realm").map(String::as_str).unwrap_or_default();
        Ok(Self(app.realm_admin(&principal, realm).await?))
    }
}

/// A JSON request body. The content type is not enforced (Keycloak clients always send
/// `application/json`; scripts sometimes forget); a body that does not parse is a 400 problem.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Problem;
    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| Problem::new(e.status(), "malformed_body", e.body_text()))?;
        parse_json(&bytes).map(Self)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::malformed_body("a JSON request body is required"));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Problem::malformed_body(format!("invalid JSON body: {e}")))
}

/// Query parameters; one that does not parse (e.g. `max=abc`) is a 400 problem.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Self(v))
            .map_err(|e| Problem::malformed_request(e.body_text()))
    }
}

/// Path parameters (after `{realm}`), percent-decoded.
pub struct Segments<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Segments<T> {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| Self(v))
            .map_err(|e| Problem::malformed_request(e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_is_a_400_problem() {
        let r: Result<serde_json::Value, Problem> = parse_json(b"{\"a\":");
        assert!(matches!(
            r,
            Err(Problem {
                code: "malformed_body",
                ..
            })
        ));
        let r: Result<serde_json::Value, Problem> = parse_json(b"  ");
        assert!(matches!(
            r,
            Err(Problem {
                code: "malformed_body",
                ..
            })
        ));
        #[derive(serde::Deserialize)]
        struct T {
            #[allow(dead_code)]
            n: i64,
        }
        assert!(parse_json::<T>(b"{\"n\":\"x\"}").is_err());
        assert!(parse_json::<T>(b"{\"n\":1}").is_ok());
    }
}
