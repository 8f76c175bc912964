//! The UserInfo endpoint (OIDC Core §5.3): claims about the token's user, per granted scope.

use crate::app::bytes_like::Bytes;
use crate::client_auth::ClientCtx;
use crate::{App, AppError, RealmCtx};
use realmgate_domain::{ScopeSet, User, UserId};
use realmgate_oidc::claims::AccessTokenClaims;
use serde_json::{Value, json};
use std::time::Instant;

impl App {
    /// The userinfo body (JSON) for a bearer token: built once per token and the cached user
    /// and client it reads, then served as bytes (`crate::verified`).
    pub async fn userinfo(&self, realm: &RealmCtx, bearer: &str) -> Result<Bytes, AppError> {
        let at = self.verify_access_token(realm, bearer).await?;
        let client = self.client(realm.id(), &at.azp).await?;
        // The user as cached when the body was built, unchanged since (`crate::verified`).
        let users = &self.caches().users;
        let stamp = users.stamp(realm.id());
        if let Some(body) = at.userinfo_known(stamp, client.as_ref(), Instant::now()) {
            return Ok(body);
        }
        let key = (realm.id().clone(), UserId(at.sub.clone()));
        let user = self
            .cached_user(realm, &key.1)
            .await?
            .filter(|u| u.enabled)
            .ok_or_else(|| crate::tokens::invalid_token("user not found or disabled"))?;
        let read = users.due(&key).map(|due| (stamp, due));
        at.userinfo(&user, read, client.as_ref(), || {
            let v = claims(realm, &at, &user, client.as_deref());
            Ok(serde_json::to_vec(&v).map_err(AppError::internal)?.into())
        })
    }
}

/// The user's claims the token's scopes (and its client's default scopes) grant.
fn claims(
    realm: &RealmCtx,
    at: &AccessTokenClaims,
    user: &User,
    client: Option<&ClientCtx>,
) -> Value {
    let scope = ScopeSet::parse(&at.scope).unwrap_or_default();
    let mut v = json!({ "sub": user.id.0 });
    let defaults: &[String] = client.map_or(&[], |c| c.client.default_scopes.as_slice());
    let has = |s: &str| scope.contains(s) || defaults.iter().any(|d| d == s);
    if has("profile") {
        v["preferred_username"] = json!(user.username);
        if let Some(f) = &user.first_name {
            v["given_name"] = json!(f);
        }
        if let Some(l) = &user.last_name {
            v["family_name"] = json!(l);
        }
        if let Some(name) = crate::tokens::full_name(user) {
            v["name"] = json!(name);
        }
    }
    if has("email") {
        if let Some(e) = &user.email {
            v["email"] = json!(e);
        }
        v["email_verified"] = json!(user.email_verified);
    }
    v["tenant_id"] = json!(realm.id().0);
    v
}
