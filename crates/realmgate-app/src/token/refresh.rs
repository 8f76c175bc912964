//! `grant_type=refresh_token` (RFC 6749 §6) with rotation: every use returns a new refresh token;
//! presenting a rotated one again revokes its whole family (OAuth 2.0 Security BCP §4.14.2).

use super::Issue;
use crate::client_auth::ClientCtx;
use crate::{App, AppError, RealmCtx};
use realmgate_domain::ScopeSet;
use realmgate_oidc::OAuthError;
use realmgate_oidc::token_request::TokenResponse;
use realmgate_store::RefreshRotation;

/// Seconds between two `last_seen` writes of one session by the refresh grant.
const TOUCH_EVERY: i64 = 60;

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
                    self.subjects_changed(realm.id()).await;
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
        // `rotate_refresh` already refused a revoked family or session; one read brings the user
        // and the session together.
        let (user, session) = tx
            .user_with_session(&old.user_id, old.session_id.as_ref())
            .await?
            .filter(|(u, _)| u.enabled)
            .ok_or_else(|| invalid("User disabled"))?;
        let session = match (&old.session_id, session) {
            (None, _) => None,
            (Some(_), Some(s)) if !s.revoked && s.expires_at > now => Some(s),
            (Some(_), _) => return Err(invalid("Session not active")),
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
        // `last_seen` is informational (idle expiry rides on each token's own expiry), so it is
        // written at most once a minute per session rather than on every rotation.
        if let Some(s) = session
            .as_ref()
            .filter(|s| now - s.last_seen >= TOUCH_EVERY)
        {
            tx.touch_session(&s.id, now).await?;
        }
        tx.commit().await?;
        self.respond_with_tokens(realm, &issue, Some((&record, raw_new)))
            .await
    }
}
