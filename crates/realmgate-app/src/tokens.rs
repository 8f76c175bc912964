//! Minting and verifying tokens: RFC 9068 JWT access tokens and OIDC ID tokens signed with the
//! realm's keys, and the scope rules that decide claims.

use crate::cache_key::KeyPart;
use crate::roles::RoleClaims;
use crate::{App, AppError, RealmCtx};
use realmgate_crypto::{CryptoError, SigAlg};
use realmgate_domain::{Client, FamilyId, ScopeSet, SessionId, User};
use realmgate_oidc::OAuthError;
use realmgate_oidc::claims::{AccessTokenClaims, IdTokenClaims, ProfileClaims, RoleList};
use std::collections::BTreeMap;
use std::str::FromStr;

/// Scopes that appear in the `scope` claim (Keycloak leaves out `roles`, `web-origins`, `acr`, `basic`).
const SCOPES_IN_TOKEN: [&str; 7] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
    "organization",
];

pub const DEFAULT_SCOPES: [&str; 6] = ["profile", "email", "roles", "web-origins", "acr", "basic"];
pub const OPTIONAL_SCOPES: [&str; 4] = ["address", "phone", "offline_access", "organization"];

/// Everything a token is minted from.
pub struct Subject<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub session: Option<&'a SessionId>,
    pub scope: &'a ScopeSet,
    pub auth_time: Option<i64>,
    pub amr: &'a [String],
    pub nonce: Option<&'a str>,
    pub family: Option<&'a FamilyId>,
    /// The authorization code being redeemed, for `c_hash` (only set when it is due).
    pub code: Option<&'a str>,
}

pub struct Minted {
    pub access_token: String,
    pub expires_in: i64,
    pub id_token: Option<String>,
    pub scope: String,
}

/// Scopes the client may be granted: its defaults plus its optional ones plus `openid`.
pub fn allowed_scopes(client: &Client) -> ScopeSet {
    let mut s = ScopeSet::from_iter(
        client
            .default_scopes
            .iter()
            .chain(client.optional_scopes.iter())
            .cloned(),
    );
    s.insert("openid");
    s
}

/// Requested scopes must all be allowed; the client's default scopes are always granted.
pub fn grant_scopes(client: &Client, requested: &ScopeSet) -> Result<ScopeSet, OAuthError> {
    grant_within(client, &allowed_scopes(client), requested)
}

/// [`grant_scopes`] with the client's [`allowed_scopes`] already computed (the hot paths keep
/// them with the cached client).
pub fn grant_within(
    client: &Client,
    allowed: &ScopeSet,
    requested: &ScopeSet,
) -> Result<ScopeSet, OAuthError> {
    if let Some(bad) = requested.iter().find(|s| !allowed.contains(s)) {
        return Err(OAuthError::invalid_scope(format!(
            "scope '{bad}' is not allowed for this client"
        )));
    }
    let mut granted = requested.clone();
    for d in &client.default_scopes {
        granted.insert(d);
    }
    Ok(granted)
}

pub fn scope_claim(granted: &ScopeSet) -> String {
    ScopeSet::from_iter(granted.iter().filter(|s| SCOPES_IN_TOKEN.contains(s))).to_string()
}

pub(crate) fn alg_for(realm: &RealmCtx, client: &Client, attr: &str) -> SigAlg {
    client
        .attr(attr)
        .and_then(|a| SigAlg::from_str(a).ok())
        .or_else(|| SigAlg::from_str(&realm.realm.settings.default_signature_algorithm).ok())
        .unwrap_or(SigAlg::RS256)
}

/// The user's first and last names joined by a space (the `name` claim), if either is set.
pub(crate) fn full_name(user: &User) -> Option<String> {
    let full = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!full.is_empty()).then_some(full)
}

fn profile(user: &User, scope: &ScopeSet) -> ProfileClaims {
    let mut p = ProfileClaims::default();
    if scope.contains("profile") {
        p.preferred_username = Some(user.username.clone());
        p.given_name = user.first_name.clone();
        p.family_name = user.last_name.clone();
        p.name = full_name(user);
    }
    if scope.contains("email") {
        p.email = user.email.clone();
        p.email_verified = Some(user.email_verified);
    }
    p
}

/// The access token's lifetime for `client`: its `access.token.lifespan` attribute when valid,
/// else the realm's.
pub(crate) fn lifespan_for(realm: &RealmCtx, client: &Client) -> i64 {
    client
        .attr("access.token.lifespan")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v > 0 && *v <= realmgate_domain::MAX_LIFESPAN_SECONDS)
        .unwrap_or(realm.realm.settings.access_token_lifespan)
}

/// The access token's claims for `sub`, with `roles` its user's role claims (read only when the
/// scope asks for roles or organizations).
pub(crate) fn access_claims(
    realm: &RealmCtx,
    sub: &Subject<'_>,
    roles: &RoleClaims,
    lifespan: i64,
    now: i64,
) -> AccessTokenClaims {
    let client = sub.client;
    let p = profile(sub.user, sub.scope);
    let mut organization = BTreeMap::new();
    if sub.scope.contains("organization") {
        for (alias, (id, org_roles)) in &roles.orgs {
            organization.insert(
                alias.clone(),
                serde_json::json!({ "id": id, "roles": org_roles }),
            );
        }
    }
    let with_roles = sub.scope.contains("roles");
    AccessTokenClaims {
        iss: realm.issuer.clone(),
        sub: sub.user.id.0.clone(),
        aud: serde_json::Value::String(client.client_id.clone()),
        exp: now + lifespan,
        iat: now,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: client.client_id.clone(),
        azp: client.client_id.clone(),
        scope: scope_claim(sub.scope),
        auth_time: sub.auth_time,
        sid: sub.session.map(|s| s.0.clone()),
        acr: sub.session.map(|_| "1".to_owned()),
        typ: "Bearer".to_owned(),
        tenant_id: realm.id().0.clone(),
        preferred_username: Some(sub.user.username.clone()),
        email: p.email,
        email_verified: p.email_verified,
        name: p.name,
        given_name: p.given_name,
        family_name: p.family_name,
        realm_access: RoleList {
            roles: if with_roles {
                roles.realm.clone()
            } else {
                vec![]
            },
        },
        resource_access: if with_roles {
            roles
                .clients
                .iter()
                .map(|(c, r)| (c.clone(), RoleList { roles: r.clone() }))
                .collect()
        } else {
            BTreeMap::new()
        },
        org_id: (roles.orgs.len() == 1 && sub.scope.contains("organization"))
            .then(|| roles.orgs.values().next().map(|(id, _)| id.clone()))
            .flatten(),
        organization,
        gid: sub.family.map(|f| f.0.clone()),
    }
}

/// Whether a token for `scope` carries role claims (and so reads them).
pub(crate) fn needs_roles(scope: &ScopeSet) -> bool {
    scope.contains("roles") || scope.contains("organization")
}

impl App {
    pub async fn mint(&self, realm: &RealmCtx, sub: &Subject<'_>) -> Result<Minted, AppError> {
        let now = self.now();
        let client = sub.client;
        let lifespan = lifespan_for(realm, client);
        let roles: std::sync::Arc<RoleClaims> = if needs_roles(sub.scope) {
            self.role_claims(realm.id(), &sub.user.id).await?
        } else {
            std::sync::Arc::new(RoleClaims::default())
        };
        let at = access_claims(realm, sub, &roles, lifespan, now);
        let scope = at.scope.clone();
        let at_alg = alg_for(realm, client, "access.token.signed.response.alg");
        let access_token = self
            .signer(realm.id(), at_alg)
            .await?
            .sign_jwt(Some("at+jwt"), &at)?;

        let id_token = if sub.scope.contains("openid") {
            let id_alg = alg_for(realm, client, "id.token.signed.response.alg");
            let signer = self.signer(realm.id(), id_alg).await?;
            let claims = IdTokenClaims {
                iss: realm.issuer.clone(),
                sub: sub.user.id.0.clone(),
                aud: client.client_id.clone(),
                exp: now + lifespan,
                iat: now,
                auth_time: sub.auth_time.unwrap_or(now),
                jti: uuid::Uuid::new_v4().to_string(),
                nonce: sub.nonce.map(str::to_owned),
                azp: client.client_id.clone(),
                sid: sub.session.map(|s| s.0.clone()).unwrap_or_default(),
                acr: "1".to_owned(),
                amr: sub.amr.to_vec(),
                at_hash: Some(realmgate_crypto::oidc_half_hash(id_alg, &access_token)),
                c_hash: sub
                    .code
                    .map(|c| realmgate_crypto::oidc_half_hash(id_alg, c)),
                typ: "ID".to_owned(),
                tenant_id: realm.id().0.clone(),
                profile: profile(sub.user, sub.scope),
            };
            Some(signer.sign_jwt(Some("JWT"), &claims)?)
        } else {
            None
        };
        Ok(Minted {
            access_token,
            expires_in: lifespan,
            id_token,
            scope,
        })
    }

    /// Verifies one of this realm's access tokens: signature, `typ`, issuer, expiry, and that it
    /// was not revoked (its jti, its grant family, or its session).
    pub async fn verify_access_token(
        &self,
        realm: &RealmCtx,
        token: &str,
    ) -> Result<std::sync::Arc<crate::verified::VerifiedToken>, AppError> {
        let key = (realm.id().clone(), realmgate_crypto::token_hash(token));
        let at = match self.caches().verified.get(&key) {
            Some(at) => at,
            None => {
                let stamp = self.caches().verified.stamp(realm.id());
                let claims = self.verify_own_jwt(realm, token, Some("at+jwt")).await?;
                let at: AccessTokenClaims = serde_json::from_value(claims)
                    .map_err(|_| invalid_token("malformed claims"))?;
                if at.iss != realm.issuer {
                    return Err(invalid_token("token issued by another realm"));
                }
                let at = std::sync::Arc::new(crate::verified::VerifiedToken::new(at));
                self.caches().verified.insert(key, stamp, at.clone());
                at
            }
        };
        if at.exp <= self.now() {
            return Err(invalid_token("token expired"));
        }
        // Known live since the realm's last revocation, and its state not yet due for a
        // re-read: the token-state cache would answer the same (`crate::verified`).
        let states = &self.caches().token_state;
        let stamp = states.stamp(realm.id());
        if at.known_live(stamp, std::time::Instant::now()) {
            return Ok(at);
        }
        if !self.token_live(realm, &at).await? {
            return Err(invalid_token("token revoked or its session ended"));
        }
        if let Some(due) = states.due(&(realm.id().clone(), at.jti.clone())) {
            at.found_live(stamp, due);
        }
        Ok(at)
    }

    /// Signature check of a JWT signed by this realm; retries once with fresh keys after a rotation.
    pub async fn verify_own_jwt(
        &self,
        realm: &RealmCtx,
        token: &str,
        typ: Option<&str>,
    ) -> Result<serde_json::Value, AppError> {
        let keys = self.realm_keys(realm.id()).await?;
        let parts = match realmgate_crypto::verify_jwt(token, &keys.verifiers) {
            Ok(p) => p,
            Err(CryptoError::KeyNotFound) => {
                self.caches()
                    .keys
                    .invalidate(&KeyPart::of(realm.id().as_str()));
                let keys = self.realm_keys(realm.id()).await?;
                realmgate_crypto::verify_jwt(token, &keys.verifiers)
                    .map_err(|_| invalid_token("bad signature"))?
            }
            Err(_) => return Err(invalid_token("bad signature")),
        };
        if let Some(t) = typ
            && parts.header.get("typ").and_then(|v| v.as_str()) != Some(t)
        {
            return Err(invalid_token("wrong token type"));
        }
        Ok(parts.claims)
    }
}

pub(crate) fn invalid_token(why: &str) -> AppError {
    AppError::OAuth(OAuthError::new(
        realmgate_oidc::ErrorCode::InvalidToken,
        why,
    ))
}
