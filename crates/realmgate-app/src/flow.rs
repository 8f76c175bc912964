//! Sealed, bound browser artifacts: the pending authorization request carried through the login
//! and consent forms, and the SSO session cookie. Each is sealed with the master key and bound to
//! (realm, purpose, expiry) — a token made for one realm or step is refused by any other.

use crate::{App, AppError};
use realmgate_domain::{RealmId, SessionId};
use realmgate_oidc::authorize::AuthorizeRequest;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// An authorization request paused for login or consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAuth {
    pub request: AuthorizeRequest,
    /// Must equal the browser's CSRF cookie (double submit), so a flow token started by someone
    /// else cannot be replayed in this browser (login CSRF).
    pub csrf: String,
    pub expires_at: i64,
    /// After a successful login, the authenticated user and session awaiting consent.
    pub user: Option<String>,
    pub session: Option<String>,
}

/// The SSO cookie's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionCookie {
    pub sid: SessionId,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    exp: i64,
    body: T,
}

impl App {
    pub fn seal_artifact<T: Serialize>(
        &self,
        realm: &RealmId,
        purpose: &str,
        exp: i64,
        body: &T,
    ) -> Result<String, AppError> {
        let json = serde_json::to_vec(&Envelope { exp, body }).map_err(AppError::internal)?;
        Ok(realmgate_crypto::b64url(&self.seal(realm, purpose, &json)?))
    }

    /// Opens an artifact sealed for this realm and purpose; `None` when forged, foreign or expired.
    pub fn open_artifact<T: DeserializeOwned>(
        &self,
        realm: &RealmId,
        purpose: &str,
        token: &str,
    ) -> Option<T> {
        let raw = realmgate_crypto::b64url_decode(token).ok()?;
        let json = self.open(realm, purpose, &raw).ok()?;
        let env: Envelope<T> = serde_json::from_slice(&json).ok()?;
        (env.exp >= self.now()).then_some(env.body)
    }
}
