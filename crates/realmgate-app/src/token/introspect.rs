//! Token introspection (RFC 7662). Callers must authenticate as a client; any problem with the
//! token itself answers `{"active": false}` and nothing more (§2.2).

use crate::{App, AppError, RealmCtx};
use realmgate_domain::{ClientUuid, ScopeSet, SessionId, UserId};
use realmgate_oidc::OAuthError;
use realmgate_store::RealmTx;
use serde_json::{Value, json};

/// The response body: serialised once per active access token (`crate::verified`), built per
/// request for refresh tokens and inactive answers.
pub struct Introspection(pub crate::app::bytes_like::Bytes);

impl Introspection {
    fn json(v: &Value) -> Result<Self, AppError> {
        Ok(Self(
            serde_json::to_vec(v).map_err(AppError::internal)?.into(),
        ))
    }
}

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
        let inactive = || Introspection::json(&json!({ "active": false }));
        if token.matches('.').count() == 2 {
            let Ok(at) = self.verify_access_token(realm, token).await else {
                return inactive();
            };
            return Ok(Introspection(at.introspection()?));
        }
        let presented = self.read_refresh(realm, token);
        if matches!(presented, super::Presented::Invalid) {
            return inactive();
        }
        let mut tx = self.store().realm_read(realm.id()).await?;
        let Some(live) = live_refresh(&mut tx, presented, self.now()).await? else {
            return inactive();
        };
        let client = tx.client_by_uuid(&live.client).await?;
        let user = tx.user_by_id(&live.user_id).await?;
        Introspection::json(&json!({
            "active": true,
            "token_type": "Refresh",
            "client_id": client.map(|c| c.client_id),
            "username": user.map(|u| u.username),
            "sub": live.user_id.0,
            "scope": crate::tokens::scope_claim(&ScopeSet::parse(&live.scope).unwrap_or_default()),
            "iat": live.issued_at,
            "exp": live.expires_at,
            "iss": realm.issuer,
            "sid": live.session_id.map(|s| s.0),
        }))
    }
}

/// What introspection reports of a live refresh token.
struct LiveRefresh {
    client: ClientUuid,
    user_id: UserId,
    session_id: Option<SessionId>,
    scope: String,
    issued_at: i64,
    expires_at: i64,
}

/// The presented refresh token's grant if the token is live at `now`: the current generation of
/// an active family, or a stored token from before generations that was not rotated.
async fn live_refresh(
    tx: &mut RealmTx,
    presented: super::Presented,
    now: i64,
) -> Result<Option<LiveRefresh>, AppError> {
    match presented {
        super::Presented::Generation(family, generation) => {
            let Some(status) = tx.family_status(&family).await? else {
                return Ok(None);
            };
            let f = status.family;
            if !status.active || !f.current(generation, now) {
                return Ok(None);
            }
            Ok(Some(LiveRefresh {
                client: f.client,
                user_id: f.user_id,
                session_id: f.session_id,
                scope: f.scope,
                issued_at: f.issued_at,
                expires_at: f.idle_expires_at,
            }))
        }
        super::Presented::Legacy(hash) => {
            let Some(rt) = tx.refresh_by_hash(&hash).await? else {
                return Ok(None);
            };
            if rt.rotated_at.is_some()
                || rt.expires_at <= now
                || !tx.family_active(&rt.family_id).await?
            {
                return Ok(None);
            }
            Ok(Some(LiveRefresh {
                client: rt.client,
                user_id: rt.user_id,
                session_id: rt.session_id,
                scope: rt.scope,
                issued_at: rt.issued_at,
                expires_at: rt.expires_at,
            }))
        }
        super::Presented::Invalid => Ok(None),
    }
}
