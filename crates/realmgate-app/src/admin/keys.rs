//! Our key-management extension: list the realm's signing keys (public parts only) and rotate
//! one algorithm's keys (`POST /admin/realms/{realm}/keys/rotate?alg=RS256`).

use super::RealmAdmin;
use crate::AppError;
use realmgate_crypto::SigAlg;
use realmgate_domain::{KeyStatus, StoredKey};
use std::str::FromStr;

/// A signing key as the admin API shows it: never the private part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: String,
    pub status: KeyStatus,
    /// The public JWK (JSON text).
    pub public_jwk: String,
    pub created_at: i64,
}

impl From<StoredKey> for KeyInfo {
    fn from(k: StoredKey) -> Self {
        Self {
            kid: k.kid,
            alg: k.alg,
            status: k.status,
            public_jwk: k.public_jwk,
            created_at: k.created_at,
        }
    }
}

/// Parses the `alg` query parameter (RS256 when absent).
pub fn parse_alg(alg: Option<&str>) -> Result<SigAlg, AppError> {
    match alg.map(str::trim).filter(|a| !a.is_empty()) {
        None => Ok(SigAlg::RS256),
        Some(a) => {
            SigAlg::from_str(a).map_err(|_| AppError::invalid("alg must be RS256, ES256 or EdDSA"))
        }
    }
}

impl RealmAdmin {
    /// The realm's keys, newest first. The key of the realm's default algorithm is created first
    /// if it does not exist yet (keys are generated lazily), so the list is never empty.
    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>, AppError> {
        self.app().jwks(self.realm()).await?;
        Ok(self
            .app()
            .list_keys(self.id())
            .await?
            .into_iter()
            .map(KeyInfo::from)
            .collect())
    }

    /// Rotates one algorithm: active → retired (still published), next → active, a new next.
    pub async fn rotate_keys(&self, alg: SigAlg) -> Result<(), AppError> {
        self.app().rotate_keys(self.id(), alg).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_defaults_to_rs256() {
        assert_eq!(parse_alg(None).ok(), Some(SigAlg::RS256));
        assert_eq!(parse_alg(Some("ES256")).ok(), Some(SigAlg::ES256));
        assert!(parse_alg(Some("HS256")).is_err());
    }
}
