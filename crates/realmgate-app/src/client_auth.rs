//! Loading clients through the cache and authenticating them (RFC 6749 §2.3, RFC 7523 for
//! `private_key_jwt`). Secrets are compared in constant time and never leave this module.

use crate::ttl_cache::{Lookup, note_miss};
use crate::{App, AppError, RealmCtx};
use realmgate_crypto::VerifyingKey;
use realmgate_domain::{Client, ClientAuthMethod, RealmId, ScopeSet, User};
use realmgate_oidc::OAuthError;
use realmgate_oidc::client_auth::ClientCredentials;
use std::sync::Arc;

const SECRET_PURPOSE: &str = "client-secret";

/// A client as the hot paths need it: the row, its opened secret and its parsed public keys.
pub struct ClientCtx {
    pub client: Client,
    secret: Option<String>,
    pub jwks: Vec<VerifyingKey>,
    /// The client's service-account user, when service accounts are enabled.
    pub service_user: Option<User>,
    /// Its default and optional scopes plus `openid`: what it may be granted.
    allowed_scopes: ScopeSet,
    /// The realm's configuration revision this was last read at (see `App::revalidate_ahead`).
    rev: crate::refresher::SeenAt,
    /// Its service account's client-credentials claims, rendered once (`token::cc_memo`).
    pub(crate) cc_memo: std::sync::Mutex<Option<Arc<crate::token::CcMemo>>>,
}

impl ClientCtx {
    /// The scopes granted for `requested` (see [`crate::tokens::grant_scopes`]).
    pub fn grant(&self, requested: &ScopeSet) -> Result<ScopeSet, OAuthError> {
        crate::tokens::grant_within(&self.client, &self.allowed_scopes, requested)
    }
}

impl std::fmt::Debug for ClientCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCtx")
            .field("client_id", &self.client.client_id)
            .finish_non_exhaustive()
    }
}

impl App {
    /// A client by its public `clientId`, from the cache (a busy one re-read ahead of its TTL,
    /// in the background).
    pub async fn client(
        &self,
        realm: &RealmId,
        client_id: &str,
    ) -> Result<Option<Arc<ClientCtx>>, AppError> {
        let key = (realm.clone(), client_id.to_owned());
        match self.caches().clients.lookup(&key) {
            Some(Lookup::Fresh(c)) => return Ok(Some(c)),
            Some(Lookup::Due(c, refresh)) => {
                let (app, cached) = (self.clone(), key.clone());
                self.revalidate_ahead(
                    refresh,
                    "client",
                    (realm.clone(), |r| r.config, c.rev.get()),
                    move |app, expires| app.caches().clients.renew(&cached, expires),
                    move || async move { app.load_client(key).await.map(drop) },
                );
                return Ok(Some(c));
            }
            None => note_miss("client"),
        }
        self.load_client(key).await
    }

    /// Reads the client and caches it; a client that is gone leaves the cache.
    async fn load_client(
        &self,
        key: (RealmId, String),
    ) -> Result<Option<Arc<ClientCtx>>, AppError> {
        let (realm, client_id) = (&key.0, key.1.as_str());
        let stamp = self.caches().clients.stamp(realm);
        let mut tx = self.store().realm_read(realm).await?;
        let rev = tx.config_revision().await?.config;
        let Some(client) = tx.client_by_client_id(client_id).await? else {
            drop(tx);
            self.caches().clients.invalidate(&key);
            return Ok(None);
        };
        let service_user = if client.service_accounts {
            tx.user_by_username(&service_account_username(&client.client_id))
                .await?
        } else {
            None
        };
        drop(tx);
        // A re-read that finds the client and its service account unchanged keeps the cached
        // context (its opened secret, parsed keys) and only extends its TTL.
        let ctx = match self.caches().clients.get(&key) {
            Some(c) if c.client == client && c.service_user == service_user => {
                c.rev.set(rev);
                c
            }
            _ => {
                let mut ctx = self.client_ctx(realm, client)?;
                ctx.service_user = service_user;
                ctx.rev = crate::refresher::SeenAt::new(rev);
                Arc::new(ctx)
            }
        };
        self.caches().clients.insert(key, stamp, ctx.clone());
        Ok(Some(ctx))
    }

    fn client_ctx(&self, realm: &RealmId, client: Client) -> Result<ClientCtx, AppError> {
        let secret = match &client.secret_sealed {
            Some(sealed) => Some(
                String::from_utf8(self.open(realm, SECRET_PURPOSE, sealed)?)
                    .map_err(|_| AppError::internal("client secret is not UTF-8"))?,
            ),
            None => None,
        };
        let mut jwks = Vec::new();
        if client.attr("use.jwks.string") == Some("true")
            && let Some(doc) = client.attr("jwks.string")
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(doc)
        {
            for k in v
                .get("keys")
                .and_then(|k| k.as_array())
                .into_iter()
                .flatten()
            {
                if let Ok(key) = VerifyingKey::from_jwk(k) {
                    jwks.push(key);
                }
            }
        }
        Ok(ClientCtx {
            allowed_scopes: crate::tokens::allowed_scopes(&client),
            client,
            secret,
            jwks,
            service_user: None,
            rev: Default::default(),
            cc_memo: Default::default(),
        })
    }

    /// The opened secret of a client, for the admin API.
    pub fn client_secret_of(
        &self,
        realm: &RealmId,
        client: &Client,
    ) -> Result<Option<String>, AppError> {
        match &client.secret_sealed {
            Some(sealed) => Ok(Some(
                String::from_utf8(self.open(realm, SECRET_PURPOSE, sealed)?)
                    .map_err(|_| AppError::internal("client secret is not UTF-8"))?,
            )),
            None => Ok(None),
        }
    }

    pub fn seal_client_secret(&self, realm: &RealmId, secret: &str) -> Result<Vec<u8>, AppError> {
        self.seal(realm, SECRET_PURPOSE, secret.as_bytes())
    }

    /// Authenticates the client of a token/introspection/revocation request. Every failure is
    /// `invalid_client` (401) without saying which part was wrong.
    pub async fn authenticate_client(
        &self,
        realm: &RealmCtx,
        creds: &ClientCredentials,
    ) -> Result<Arc<ClientCtx>, AppError> {
        let bad = || {
            AppError::OAuth(OAuthError::invalid_client(
                "Invalid client or Invalid client credentials",
            ))
        };
        let ctx = self
            .client(realm.id(), creds.client_id())
            .await?
            .ok_or_else(bad)?;
        if !ctx.client.enabled || ctx.client.bearer_only {
            return Err(bad());
        }
        match (&ctx.client.auth_method, creds) {
            (ClientAuthMethod::Secret, ClientCredentials::Basic { secret, .. })
            | (ClientAuthMethod::Secret, ClientCredentials::Post { secret, .. }) => {
                let expected = ctx.secret.as_deref().ok_or_else(bad)?;
                if !realmgate_crypto::constant_time_eq(expected.as_bytes(), secret.as_bytes()) {
                    return Err(bad());
                }
            }
            (ClientAuthMethod::PrivateKeyJwt, ClientCredentials::Assertion { assertion, .. }) => {
                self.check_client_assertion(realm, &ctx, assertion).await?;
            }
            (ClientAuthMethod::None, ClientCredentials::None { .. }) => {}
            _ => return Err(bad()),
        }
        Ok(ctx)
    }

    /// RFC 7523 §3: iss = sub = client_id, aud names this realm's token endpoint or issuer,
    /// not expired, and the `jti` never seen before.
    async fn check_client_assertion(
        &self,
        realm: &RealmCtx,
        ctx: &ClientCtx,
        assertion: &str,
    ) -> Result<(), AppError> {
        let token_endpoint = realm.token_endpoint.as_str();
        let bad = |why: &str| {
            AppError::OAuth(OAuthError::invalid_client(format!(
                "client assertion rejected: {why}"
            )))
        };
        let parts =
            realmgate_crypto::verify_jwt(assertion, &ctx.jwks).map_err(|_| bad("signature"))?;
        let c = &parts.claims;
        let s = |k: &str| c.get(k).and_then(|v| v.as_str());
        let cid = ctx.client.client_id.as_str();
        if s("iss") != Some(cid) || s("sub") != Some(cid) {
            return Err(bad("iss and sub must be the client_id"));
        }
        let aud_ok = match c.get("aud") {
            Some(serde_json::Value::String(a)) => a == token_endpoint || a == &realm.issuer,
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .filter_map(|v| v.as_str())
                .any(|a| a == token_endpoint || a == realm.issuer),
            _ => false,
        };
        if !aud_ok {
            return Err(bad("aud"));
        }
        let now = self.now();
        let exp = c
            .get("exp")
            .and_then(|v| v.as_i64())
            .ok_or_else(|| bad("exp"))?;
        if exp + 5 < now {
            return Err(bad("expired"));
        }
        let jti = s("jti").ok_or_else(|| bad("jti is required"))?;
        let mut tx = self.store().realm(realm.id()).await?;
        let key = format!("assertion:{cid}:{jti}");
        if tx.jti_revoked(&key).await? {
            return Err(bad("jti was already used"));
        }
        tx.revoke_jti(&key, exp.max(now) + 60).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Keycloak's name for a client's service-account user.
pub fn service_account_username(client_id: &str) -> String {
    format!("service-account-{}", client_id.to_lowercase())
}
