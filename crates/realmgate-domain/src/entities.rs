//! The entities of a realm. Field names follow Keycloak's representations where one exists.

use crate::{
    ClientUuid, CredentialId, Epoch, FamilyId, GroupId, OrgId, RealmId, RealmName, RealmSettings,
    RoleId, SessionId, UserId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Keycloak-style multi-valued attributes.
pub type Attributes = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Realm {
    pub id: RealmId,
    pub name: RealmName,
    pub display_name: Option<String>,
    pub enabled: bool,
    pub settings: RealmSettings,
    pub created_at: Epoch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: bool,
    pub attributes: Attributes,
    /// Set for a client's service-account user (`service-account-{clientId}`).
    pub service_account_client: Option<ClientUuid>,
    pub created_at: Epoch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordCredential {
    pub id: CredentialId,
    pub user_id: UserId,
    /// PHC-formatted argon2id hash.
    pub hash: String,
    pub created_at: Epoch,
}

/// How a confidential client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientAuthMethod {
    /// `client_secret_basic` or `client_secret_post` (Keycloak `client-secret`).
    Secret,
    /// `private_key_jwt` (Keycloak `client-jwt`), keys from `jwks` in the client's attributes.
    PrivateKeyJwt,
    /// Public client: no authentication, PKCE required.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub id: ClientUuid,
    pub client_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub auth_method: ClientAuthMethod,
    /// The client secret sealed with the master key; never stored in the clear.
    pub secret_sealed: Option<Vec<u8>>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub web_origins: Vec<String>,
    pub root_url: Option<String>,
    pub base_url: Option<String>,
    pub bearer_only: bool,
    pub consent_required: bool,
    pub standard_flow: bool,
    pub direct_access_grants: bool,
    pub service_accounts: bool,
    pub full_scope_allowed: bool,
    /// Extra scopes this client may ask for beyond the defaults.
    pub optional_scopes: Vec<String>,
    pub default_scopes: Vec<String>,
    /// Per-client overrides (access token lifespan, signature algorithm, jwks ...), Keycloak keys.
    pub attributes: BTreeMap<String, String>,
    pub created_at: Epoch,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == ClientAuthMethod::None
    }
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub description: Option<String>,
    /// `None` for a realm role, the owning client for a client role.
    pub client: Option<ClientUuid>,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub parent: Option<GroupId>,
    /// `/parent/child` like Keycloak's group path.
    pub path: String,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub alias: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub domains: Vec<OrgDomain>,
    pub attributes: Attributes,
    pub created_at: Epoch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgDomain {
    pub name: String,
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgMembership {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub roles: Vec<String>,
    pub created_at: Epoch,
}

/// A realm signing key's place in rotation: `next` is published but not used, `active` signs,
/// `retired` is still published (overlap) until it is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Next,
    Active,
    Retired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Next => "next",
            KeyStatus::Active => "active",
            KeyStatus::Retired => "retired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "next" => Some(Self::Next),
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub alg: String,
    pub status: KeyStatus,
    /// PKCS#8 private key sealed with the master key.
    pub private_sealed: Vec<u8>,
    pub public_jwk: String,
    pub created_at: Epoch,
}

/// A browser SSO session (the `sid` claim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub auth_time: Epoch,
    pub last_seen: Epoch,
    pub expires_at: Epoch,
    /// Authentication methods references, e.g. `["pwd"]`.
    pub amr: Vec<String>,
    pub revoked: bool,
}

/// A one-time authorization code, stored by hash. `consumed_at` is set on first redemption so a
/// second redemption can be detected and its tokens revoked (RFC 6749 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthCode {
    pub code_hash: String,
    pub client: ClientUuid,
    pub user_id: UserId,
    pub session_id: SessionId,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: Epoch,
    pub amr: Vec<String>,
    pub expires_at: Epoch,
    /// The refresh-token family the redemption created; revoked when the code is replayed.
    pub family_id: FamilyId,
    pub consumed_at: Option<Epoch>,
}

/// A refresh token, stored by hash. Rotation marks the old one `rotated_at`; presenting a rotated
/// token again revokes its whole family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub token_hash: String,
    pub family_id: FamilyId,
    pub client: ClientUuid,
    pub user_id: UserId,
    pub session_id: Option<SessionId>,
    pub scope: String,
    pub auth_time: Epoch,
    pub amr: Vec<String>,
    pub issued_at: Epoch,
    pub expires_at: Epoch,
    pub rotated_at: Option<Epoch>,
}

/// A refresh grant (token family): what it grants and which generation of its refresh token is
/// the valid one. A refresh token names its family and generation and carries a MAC, so nothing
/// secret is stored per token; rotating moves `generation` on, and presenting an older generation
/// is reuse, which revokes the family. Families created before refresh tokens became generations
/// have `generation` 0: their token is a [`RefreshToken`] row until its first rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFamily {
    pub id: FamilyId,
    pub client: ClientUuid,
    pub user_id: UserId,
    pub session_id: Option<SessionId>,
    pub scope: String,
    pub auth_time: Epoch,
    pub amr: Vec<String>,
    pub generation: i64,
    /// When the current generation was issued.
    pub issued_at: Epoch,
    /// When the current generation expires unless rotated (never after `expires_at`).
    pub idle_expires_at: Epoch,
    /// The family's absolute end (its session's end for user grants); the purge removes it then.
    pub expires_at: Epoch,
    pub revoked_at: Option<Epoch>,
}

impl TokenFamily {
    /// Whether a token of generation `generation` is the live one at `now` (the family's
    /// revocation, and its session's, are checked by the store).
    pub fn current(&self, generation: i64, now: Epoch) -> bool {
        self.generation == generation
            && self.generation > 0
            && self.revoked_at.is_none()
            && self.idle_expires_at > now
            && self.expires_at > now
    }
}

/// A remembered consent of a user to a client for a set of scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub user_id: UserId,
    pub client: ClientUuid,
    pub scopes: Vec<String>,
    pub granted_at: Epoch,
}

/// Failed-login bookkeeping for brute-force protection; `subject` is `user:{id}` or `ip:{addr}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFailures {
    pub subject: String,
    pub failures: i64,
    pub last_failure: Epoch,
    pub locked_until: Epoch,
}
