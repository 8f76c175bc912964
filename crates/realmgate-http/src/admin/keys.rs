//! Our key-management extension: `GET /admin/realms/{realm}/keys` (a Keycloak
//! KeysMetadataRepresentation) and `POST /admin/realms/{realm}/keys/rotate?alg=RS256`.

use super::extract::{Admin, Params};
use super::problem::Problem;
use axum::Json;
use axum::http::StatusCode;
use realmgate_app::admin::{KeyInfo, parse_alg};
use realmgate_app::domain::KeyStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// KeyMetadataRepresentation plus `rotation` (`next`, `active` or `retired`).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KeyOut {
    pub kid: String,
    pub algorithm: String,
    /// `RSA`, `EC` or `OKP` (the JWK `kty`).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "use")]
    pub key_use: &'static str,
    /// Keycloak's status: `ACTIVE` signs; `PASSIVE` is published for verification only.
    pub status: &'static str,
    pub rotation: &'static str,
    pub provider_id: String,
    pub provider_priority: i64,
    /// The public key as a JWK.
    pub public_jwk: serde_json::Value,
}

/// KeysMetadataRepresentation: the active kid per algorithm and every published key.
#[derive(Debug, Serialize, PartialEq)]
pub struct KeysOut {
    pub active: BTreeMap<String, String>,
    pub keys: Vec<KeyOut>,
}

impl KeysOut {
    /// `keys` newest first, so the first active key of an algorithm is the one that signs.
    pub fn new(keys: Vec<KeyInfo>) -> Self {
        let mut active = BTreeMap::new();
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let jwk: serde_json::Value = serde_json::from_str(&k.public_jwk).unwrap_or_default();
            let kind = jwk
                .get("kty")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            if k.status == KeyStatus::Active {
                active.entry(k.alg.clone()).or_insert_with(|| k.kid.clone());
            }
            out.push(KeyOut {
                provider_id: format!("realmgate-{}", k.alg.to_lowercase()),
                kid: k.kid,
                algorithm: k.alg,
                kind,
                key_use: "SIG",
                status: if k.status == KeyStatus::Active {
                    "ACTIVE"
                } else {
                    "PASSIVE"
                },
                rotation: k.status.as_str(),
                provider_priority: k.created_at,
                public_jwk: jwk,
            });
        }
        Self { active, keys: out }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RotateQuery {
    alg: Option<String>,
}

pub async fn list(Admin(a): Admin) -> Result<Json<KeysOut>, Problem> {
    Ok(Json(KeysOut::new(a.list_keys().await?)))
}

pub async fn rotate(
    Admin(a): Admin,
    Params(q): Params<RotateQuery>,
) -> Result<StatusCode, Problem> {
    a.rotate_keys(parse_alg(q.alg.as_deref())?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, alg: &str, status: KeyStatus, kty: &str) -> KeyInfo {
        KeyInfo {
            kid: kid.into(),
            alg: alg.into(),
            status,
            public_jwk: format!("{{\"kty\":\"{kty}\",\"kid\":\"{kid}\"}}"),
            created_at: 10,
        }
    }

    #[test]
    fn keys_metadata_names_the_active_key_per_algorithm() {
        let v = serde_json::to_value(KeysOut::new(vec![
            key("n1", "RS256", KeyStatus::Next, "RSA"),
            key("a1", "RS256", KeyStatus::Active, "RSA"),
            key("r1", "RS256", KeyStatus::Retired, "RSA"),
            key("e1", "ES256", KeyStatus::Active, "EC"),
        ]))
        .unwrap_or_default();
        assert_eq!(v["active"]["RS256"], "a1");
        assert_eq!(v["active"]["ES256"], "e1");
        assert_eq!(v["keys"][0]["status"], "PASSIVE");
        assert_eq!(v["keys"][0]["rotation"], "next");
        assert_eq!(v["keys"][1]["status"], "ACTIVE");
        assert_eq!(v["keys"][1]["type"], "RSA");
        assert_eq!(v["keys"][1]["use"], "SIG");
        assert_eq!(v["keys"][2]["rotation"], "retired");
        assert_eq!(v["keys"][3]["publicJwk"]["kty"], "EC");
    }
}
