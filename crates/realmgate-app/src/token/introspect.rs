//! Token introspection (RFC 7662). Callers must authenticate as a client; any problem with the
//! token itself answers `{"active": false}` and nothing more (§2.2).

use crate::{App, AppError, RealmCtx};
use realmgate_oidc::OAuthError;
use serde_json::{Value, json};

pub struct Introspection(pub Value);

impl App {
    pub async fn introspect(
        &self,
        realm: &RealmCtx,
        authorization: Option<&str>,
        pairs: Vec<(String, String)>,
    ) -> Result<Introspection, AppError> {
        let form = super::form(pairs)?;
        let caller = self.calling_client(realm, authorization, &form).await?;
        if caller.client.is_public() {
            return Err(
                OAuthError::invalid_client("public clients may not introspect tokens").into(),
            );
        }
        let token = form
            .get("token")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AppError::OAuth(OAuthError::invalid_request("token is required")))?;
        let inactive = Introspection(json!({ "active": false }));
        if token.matches('.').count() == 2 {
            let Ok(at) = self.verify_access_token(realm, token).await else {
                return Ok(inactive);
            };
            let mut v = serde_json::to_value(&at).map_err(AppError::internal)?;
            v["active"] = Value::Bool(true);
            v["token_type"] = Value::String("Bearer".into());
            v["username"] = at
                .preferred_username
                .clone()
                .map(Value::String)
                .unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.remove("gid");
            }
            return Ok(Introspection(v));
        }
        let now = self.now();
        let (family, generation) = match self.read_refresh(realm, token) {
            super::Presented::Generation(f, g) => (f, g),
            super::Presented::Legacy(hash) => return self.introspect_legacy(realm, &hash).await,
            super::Presented::Invalid => return Ok(inactive),
        };
        let mut tx = self.store().realm_read(realm.id()).await?;
        let Some(status) = tx.family_status(&family).await? else {
            return Ok(inactive);
        };
        let f = status.family;
        if !status.active || !f.current(generation, now) {
            return Ok(inactive);
        }
        let client = tx.client_by_uuid(&f.client).await?;
        let user = tx.user_by_id(&f.user_id).await?;
        Ok(Introspection(json!({
            "active": true,
            "token_type": "Refresh",
            "client_id": client.map(|c| c.client_id),
            "username": user.map(|u| u.username),
            "sub": f.user_id.0,
            "scope": crate::tokens::scope_claim(&realmgate_domain::ScopeSet::parse(&f.scope).unwrap_or_default()),
            "iat": f.issued_at,
            "exp": f.idle_expires_at,
            "iss": realm.issuer,
            "sid": f.session_id.map(|s| s.0),
        })))
    }

    /// Introspects a stored refresh token from before generations, by hash.
    async fn introspect_legacy(
        &self,
        realm: &RealmCtx,
        hash: &str,
    ) -> Result<Introspection, AppError> {
        let now = self.now();
        let inactive = Introspection(json!({ "active": false }));
        let mut tx = self.store().realm_read(realm.id()).await?;
        let Some(rt) = tx.refresh_by_hash(hash).await? else {
            return Ok(inactive);
        };
        if rt.rotated_at.is_some()
            || rt.expires_at <= now
            || !tx.family_active(&rt.family_id).await?
        {
            return Ok(inactive);
        }
        let client = tx.client_by_uuid(&rt.client).await?;
        let user = tx.user_by_id(&rt.user_id).await?;
        Ok(Introspection(json!({
            "active": true,
            "token_type": "Refresh",
            "client_id": client.map(|c| c.client_id),
            "username": user.map(|u| u.username),
            "sub": rt.user_id.0,
            "scope": crate::tokens::scope_claim(&realmgate_domain::ScopeSet::parse(&rt.scope).unwrap_or_default()),
            "iat": rt.issued_at,
            "exp": rt.expires_at,
            "iss": realm.issuer,
            "sid": rt.session_id.map(|s| s.0),
        })))
    }
}
