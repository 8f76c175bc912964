//! `grant_type=refresh_token` (RFC 6749 §6) with rotation: every use returns a new refresh token;
//! presenting a rotated one again revokes its whole family (OAuth 2.0 Security BCP §4.14.2).

use super::Issue;
use crate::client_auth::ClientCtx;
use crate::{App, AppError, RealmCtx};
use realmgate_domain::ScopeSet;
use realmgate_oidc::OAuthError;
use realmgate_oidc::token_request::TokenResponse;
use realmgate_store::{RefreshRotation, Rotated, Rotation, Successor};

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
        let next_raw = realmgate_crypto::random_token(32);
        let next_hash = realmgate_crypto::token_hash(&next_raw);
        let settings = &realm.realm.settings;
        let next = Successor {
            token_hash: &next_hash,
            now,
            idle: settings.sso_session_idle_timeout,
            max_lifespan: settings.sso_session_max_lifespan,
        };
        // One statement rotates the token, stores its successor and reads the user and session.
        // Every check below that fails returns before `commit`, which rolls all of it back.
        let rotated = match tx
            .rotate_refresh_to(&realmgate_crypto::token_hash(raw), next)
            .await?
        {
            Rotation::Rotated(r) => r,
            Rotation::Refused(RefreshRotation::Reused(t)) => {
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
            Rotation::Refused(RefreshRotation::Revoked(_)) => {
                return Err(invalid("Token is not active"));
            }
            Rotation::Refused(_) => return Err(invalid("Invalid refresh token")),
        };
        let Rotated {
            old,
            successor: mut record,
            user,
            session,
        } = rotated;
        if old.client != client.client.id {
            return Err(invalid("Token was issued to another client"));
        }
        if old.expires_at <= now {
            return Err(invalid("Token is not active"));
        }
        let user = user
            .filter(|u| u.enabled)
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
        // A narrower scope (rare) is written onto the successor; otherwise it inherited the old one.
        if scope.is_some() {
            let narrowed = scope_set.to_string();
            if narrowed != record.scope {
                tx.set_refresh_scope(&record.token_hash, &narrowed).await?;
                record.scope = narrowed;
            }
        }
        // `last_seen` is informational (idle expiry rides on each token's own expiry), so it is
        // written at most once a minute per session rather than on every rotation.
        if let Some(s) = session
            .as_ref()
            .filter(|s| now - s.last_seen >= TOUCH_EVERY)
        {
            tx.touch_session(&s.id, now).await?;
        }
        tx.commit().await?;
        self.respond_with_tokens(realm, &issue, Some((&record, next_raw)))
            .await
    }
}
