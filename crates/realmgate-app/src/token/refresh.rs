//! `grant_type=refresh_token` (RFC 6749 §6) with rotation: every use returns a new refresh token;
//! presenting a rotated one again revokes its whole family (OAuth 2.0 Security BCP §4.14.2).
//! A refresh token is a generation of its family, so rotating is one update of the family row.

use super::{Issue, Presented};
use crate::client_auth::ClientCtx;
use crate::{App, AppError, RealmCtx};
use realmgate_domain::{Epoch, ScopeSet, SessionId, TokenFamily, User, UserSession};
use realmgate_oidc::OAuthError;
use realmgate_oidc::token_request::TokenResponse;
use realmgate_store::{Refusal, RotateAtOnce, Rotated, Rotation, StoreError};

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
        let idle = realm.realm.settings.sso_session_idle_timeout;
        // A token whose MAC does not verify for this realm never reaches the database.
        let presented = self.read_refresh(realm, raw);
        // The common case — a generation token, no `scope` — rotates and commits in one round
        // trip when every check below passes in the statement itself. Anything else, including
        // a refusal, takes the transaction, which finds out why and answers.
        if let (Presented::Generation(family, generation), None) = (&presented, scope) {
            let at_once = RotateAtOnce {
                family,
                generation: *generation,
                client: &client.client.id,
                now,
                idle,
            };
            if let Some(family) = self
                .store()
                .rotate_family_at_once(realm.id(), &at_once)
                .await?
            {
                // The statement checked that the user is enabled; its claims come from the
                // cache, which any change to the realm's users drops.
                let user = self
                    .cached_user(realm, &family.user_id)
                    .await?
                    .filter(|u| u.enabled)
                    .ok_or_else(|| invalid("User disabled"))?;
                let session = family.session_id.as_ref();
                if let Some(s) = session {
                    self.touch_now_and_then(realm, s, now).await;
                }
                let scope_set = ScopeSet::parse(&family.scope).unwrap_or_default();
                let next_raw = self.refresh_token_for(realm, &family)?;
                let session = session.map(|s| (s, family.expires_at));
                return self
                    .respond_refreshed(realm, client, &family, next_raw, &user, session, &scope_set)
                    .await;
            }
        }
        let mut tx = match presented {
            Presented::Invalid => return Err(invalid("Invalid refresh token")),
            _ => self.store().realm(realm.id()).await?,
        };
        // One statement moves the family to its next generation and reads the user and session.
        // Every check below that fails returns before `commit`, which rolls it back.
        let rotation = match presented {
            Presented::Generation(family, generation) => {
                tx.rotate_family(&family, generation, now, idle).await?
            }
            Presented::Legacy(hash) => tx.rotate_legacy_refresh(&hash, now, idle).await?,
            Presented::Invalid => return Err(invalid("Invalid refresh token")),
        };
        let rotated = match rotation {
            Rotation::Rotated(r) => r,
            Rotation::Refused(Refusal::Reused {
                family,
                client: owner,
            }) => {
                if owner == client.client.id {
                    tx.revoke_family(&family, now).await?;
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
            Rotation::Refused(Refusal::Revoked | Refusal::Expired) => {
                return Err(invalid("Token is not active"));
            }
            Rotation::Refused(Refusal::Unknown) => return Err(invalid("Invalid refresh token")),
        };
        let (mut family, user, session) = checked(rotated, client, now)?;
        let scope_set = granted_scope(&family.scope, scope, client)?;
        // A narrower scope (rare) is written onto the family, so later generations keep it.
        if scope.is_some() {
            let narrowed = scope_set.to_string();
            if narrowed != family.scope {
                tx.set_family_scope(&family.id, &narrowed).await?;
                family.scope = narrowed;
            }
        }
        // `last_seen` is informational (idle expiry rides on each generation's own expiry), so it
        // is written at most once a minute per session rather than on every rotation.
        if let Some(s) = session
            .as_ref()
            .filter(|s| now - s.last_seen >= TOUCH_EVERY)
        {
            tx.touch_session(&s.id, now).await?;
        }
        let next_raw = self.refresh_token_for(realm, &family)?;
        tx.commit().await?;
        let session = session.as_ref().map(|s| (&s.id, s.expires_at));
        self.respond_refreshed(realm, client, &family, next_raw, &user, session, &scope_set)
            .await
    }

    /// Writes the session's `last_seen` after a rotation in one round trip, at most once a
    /// minute per session on this node (`last_seen` is informational: idle expiry rides on each
    /// generation's own expiry). Best effort: the rotation is committed by now, so a failure is
    /// logged and retried on the session's next refresh rather than failing this one.
    async fn touch_now_and_then(&self, realm: &RealmCtx, session: &SessionId, now: Epoch) {
        let key = (realm.id().clone(), session.clone());
        let touched = &self.caches().touched;
        if touched.get(&key).is_some_and(|t| now - t < TOUCH_EVERY) {
            return;
        }
        touched.insert(key.clone(), now);
        if let Err(e) = self.touch_session(realm, session, now).await {
            touched.invalidate(&key);
            tracing::warn!(
                realm = realm.name(),
                error = %e,
                "could not record session activity after a refresh; retried on the next one"
            );
        }
    }

    /// Moves the session's `last_seen` to `now`. A session gone meanwhile is no error: its
    /// families went with it.
    async fn touch_session(
        &self,
        realm: &RealmCtx,
        session: &SessionId,
        now: Epoch,
    ) -> Result<(), AppError> {
        let mut tx = self.store().realm(realm.id()).await?;
        match tx.touch_session(session, now).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the parts of one refreshed grant, each borrowed from the caller"
    )]
    async fn respond_refreshed(
        &self,
        realm: &RealmCtx,
        client: &ClientCtx,
        family: &TokenFamily,
        next_raw: String,
        user: &User,
        session: Option<(&SessionId, Epoch)>,
        scope: &ScopeSet,
    ) -> Result<TokenResponse, AppError> {
        let issue = Issue {
            client,
            user,
            session,
            scope,
            auth_time: family.auth_time,
            amr: &family.amr,
            nonce: None,
        };
        self.respond_with_tokens(realm, &issue, Some((family, next_raw)))
            .await
    }
}

fn invalid(message: &str) -> AppError {
    AppError::OAuth(OAuthError::invalid_grant(message))
}

/// The checks of a rotated grant: the presenting client owns it, its user is enabled, its
/// session (if it has one) is live. The one-round-trip rotation made them in SQL already.
fn checked(
    rotated: Rotated,
    client: &ClientCtx,
    now: Epoch,
) -> Result<(TokenFamily, User, Option<UserSession>), AppError> {
    let Rotated {
        family,
        user,
        session,
    } = rotated;
    if family.client != client.client.id {
        return Err(invalid("Token was issued to another client"));
    }
    let user = user
        .filter(|u| u.enabled)
        .ok_or_else(|| invalid("User disabled"))?;
    let session = match (&family.session_id, session) {
        (None, _) => None,
        (Some(_), Some(s)) if !s.revoked && s.expires_at > now => Some(s),
        (Some(_), _) => return Err(invalid("Session not active")),
    };
    Ok((family, user, session))
}

/// The scope of the refreshed tokens: the grant's, or the narrower `scope` asked for (with the
/// client's default scopes the grant holds).
fn granted_scope(
    grant: &str,
    scope: Option<&str>,
    client: &ClientCtx,
) -> Result<ScopeSet, AppError> {
    let original = ScopeSet::parse(grant).unwrap_or_default();
    let Some(s) = scope else {
        return Ok(original);
    };
    let asked =
        ScopeSet::parse(s).map_err(|e| AppError::OAuth(OAuthError::invalid_scope(e.reason)))?;
    if !asked.is_subset(&original) {
        return Err(OAuthError::invalid_scope("scope exceeds the original grant").into());
    }
    let mut narrowed = asked;
    for d in &client.client.default_scopes {
        if original.contains(d) {
            narrowed.insert(d);
        }
    }
    Ok(narrowed)
}
