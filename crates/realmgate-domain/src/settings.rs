//! Per-realm policy: token and session lifetimes, signing algorithm, brute-force protection and
//! branding. Stored as one JSON document on the realm row; every field has a Keycloak-like default.

use serde::{Deserialize, Serialize};

/// The longest lifetime any token, code or session may have (10 years). Values beyond it are
/// refused on input, so time arithmetic (`now + lifespan`) can never overflow.
pub const MAX_LIFESPAN_SECONDS: i64 = 10 * 365 * 24 * 3600;

/// When a refresh token issued at `now` expires: after the realm's idle timeout, never beyond its
/// session (`session_expires_at`), or `now + max_lifespan` for a token without a session. The one
/// rule for a grant's first refresh token and for every successor a rotation stores.
pub fn refresh_expiry(
    now: i64,
    idle: i64,
    max_lifespan: i64,
    session_expires_at: Option<i64>,
) -> i64 {
    (now + idle).min(session_expires_at.unwrap_or(now + max_lifespan))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RealmSettings {
    /// Access token lifetime in seconds (Keycloak `accessTokenLifespan`, default 300).
    pub access_token_lifespan: i64,
    /// Authorization code lifetime (Keycloak `accessCodeLifespan`, default 60).
    pub access_code_lifespan: i64,
    /// SSO session idle timeout (default 1800) and maximum lifetime (default 36000).
    pub sso_session_idle_timeout: i64,
    pub sso_session_max_lifespan: i64,
    /// How long a login page stays valid (Keycloak `accessCodeLifespanLogin`, default 1800).
    pub login_lifespan: i64,
    /// Default signature algorithm for tokens: RS256, ES256 or EdDSA.
    pub default_signature_algorithm: String,
    /// Revoke the refresh token on use (rotation). Always on; reuse revokes the family.
    pub brute_force: BruteForce,
    pub display_name_html: Option<String>,
    /// Branding shown on the login pages.
    pub login_title: Option<String>,
    pub primary_color: Option<String>,
}

impl Default for RealmSettings {
    fn default() -> Self {
        Self {
            access_token_lifespan: 300,
            access_code_lifespan: 60,
            sso_session_idle_timeout: 1800,
            sso_session_max_lifespan: 36000,
            login_lifespan: 1800,
            default_signature_algorithm: "RS256".to_owned(),
            brute_force: BruteForce::default(),
            display_name_html: None,
            login_title: None,
            primary_color: None,
        }
    }
}

/// Lockout after repeated failed logins, per user and per client IP (Keycloak's
/// `bruteForceProtected`, `failureFactor`, `waitIncrementSeconds`, `maxFailureWaitSeconds`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BruteForce {
    pub enabled: bool,
    /// Failures per user before a lockout.
    pub failure_factor: i64,
    /// Lockout length after the threshold, growing per further failure up to `max_wait_seconds`.
    pub wait_increment_seconds: i64,
    pub max_wait_seconds: i64,
    /// Failures from one IP (across users) before the IP is locked out.
    pub ip_failure_factor: i64,
    /// Failures older than this are forgotten.
    pub failure_reset_seconds: i64,
}

impl Default for BruteForce {
    fn default() -> Self {
        Self {
            enabled: true,
            failure_factor: 5,
            wait_increment_seconds: 60,
            max_wait_seconds: 900,
            ip_failure_factor: 30,
            failure_reset_seconds: 43200,
        }
    }
}
