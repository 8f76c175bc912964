//! `grant_type=refresh_token` (RFC 6749 §6) with rotation: every use returns a new refresh token;
//! presenting a rotated one again revokes its whole family (OAuth 2.0 Security BCP §4.14.2).

use super::Issue;
use crate::client_auth::ClientCtx;
use crate::{App, AppError, RealmCtx};
use realmgate_domain::ScopeSet;
use realmgate_oidc::OAuthError;
use realmgate_oidc::token_request::TokenResponse;
use realmgate_store::RefreshRotation;

impl App {
    pub(crate) async fn grant_refresh(
        &self,
        realm: &RealmCtx,
        client: &ClientCtx,
        raw: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, AppError> {
        let now = self.now();
        let invalid = |m: &str| AppError::OAuth(OAuthError::invalid_grant(m));
        let mut tx = self.store().realm(realm.id()).await?;
        let old = match tx
            .rotate_refresh(&realmgate_crypto::token_hash(raw), now)
            .await?
        {
            RefreshRotation::Unknown => return Err(invalid("Invalid refresh token")),
            RefreshRotation::Revoked(_) => return Err(invalid("Token is not active")),
            RefreshRotation::Reused(t) => {
                if t.client == client.client.id {
                    tx.revoke_family(&t.family_id, now).await?;
                    tx.commit().await?;
                    tracing::warn!(
                        realm = realm.name(),
                        "refresh token reused; its family was revoked"
                    );
                }
                return Err(invalid(
                    "Refresh token was already used; the grant has been revoked",
                ));
            }
            RefreshRotation::Rotated(t) => t,
        };
        if old.client != client.client.id {
            return Err(invalid("Token was issued to another client"));
        }
        if old.expires_at <= now {
            return Err(invalid("Token is not active"));
        }
        if !tx.family_active(&old.family_id).await? {
            return Err(invalid("Token is not active"));
        }
        let session = match &old.session_id {
            Some(sid) => {
                let s = tx.session_by_id(sid).await?;
                let live = s.filter(|s| !s.revoked && s.expires_at > now);
                match live {
                    Some(s) => Some(s),
                    None => return Err(invalid("Session not active")),
                }
            }
            None => None,
        };
        let original = ScopeSet::parse(&old.scope).unwrap_or_default();
        let scope_set = match scope {
            Some(s) => {
                let asked = ScopeSet::parse(s)
                    .map_err(|e| AppError::OAuth(OAuthError::invalid_scope(e.reason)))?;
                if !asked.is_subset(&original) {
                    return Err(
                        OAuthError::invalid_scope("scope exceeds the original grant").into(),
                    );
                }
                let mut narrowed = asked;
                for d in &client.client.default_scopes {
                    if original.contains(d) {
                        narrowed.insert(d);
                    }
                }
                narrowed
            }
            None => original,
        };
        let user = tx
            .user_by_id(&old.user_id)
            .await?
            .filter(|u| u.enabled)
            .ok_or_else(|| invalid("User disabled"))?;
        let issue = Issue {
            client,
            user: &user,
            session: session.as_ref().map(|s| (&s.id, s.expires_at)),
            scope: &scope_set,
            auth_time: old.auth_time,
            amr: &old.amr,
            nonce: None,
        };
        let (raw_new, record) = self.new_refresh(realm, &issue, &old.family_id);
        tx.insert_refresh(&record).await?;
        if let Some(s) = &session {
            tx.touch_session(&s.id, now).await?;
        }
        tx.commit().await?;
        self.respond_with_tokens(realm, &issue, Some((&record, raw_new)))
            .await
    }
}
