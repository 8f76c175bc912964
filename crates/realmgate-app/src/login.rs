//! Password login with brute-force protection, and SSO session creation. Password hashing runs
//! on the crypto crate's bounded pool, outside any database transaction.

use crate::brute_force::{ip_subject, locked_for, record_failure, user_subject};
use crate::{App, AppError, RealmCtx};
use realmgate_domain::{PasswordCredential, SessionId, User, UserId, UserSession};

#[derive(Debug)]
pub enum LoginOutcome {
    Success(User),
    InvalidCredentials,
    /// Locked out for this many more seconds.
    Locked(i64),
    Disabled,
}

impl App {
    /// Checks a username (or email) and password.
    pub async fn check_password(
        &self,
        realm: &RealmCtx,
        username: &str,
        password: &str,
        ip: Option<&str>,
    ) -> Result<LoginOutcome, AppError> {
        let now = self.now();
        let policy = &realm.realm.settings.brute_force;
        let name = username.trim().to_lowercase();

        let (user, cred) = {
            let mut tx = self.store().realm_read(realm.id()).await?;
            if policy.enabled
                && let Some(ip) = ip
                && let Some(left) = locked_for(&mut tx, &ip_subject(ip), now).await?
            {
                return Ok(LoginOutcome::Locked(left));
            }
            let user = match tx.user_by_username(&name).await? {
                Some(u) => Some(u),
                None if name.contains('@') => tx.user_by_email(&name).await?,
                None => None,
            };
            let user = user.filter(|u| u.service_account_client.is_none());
            if let Some(u) = &user
                && policy.enabled
                && let Some(left) = locked_for(&mut tx, &user_subject(&u.id.0), now).await?
            {
                return Ok(LoginOutcome::Locked(left));
            }
            let cred = match &user {
                Some(u) => tx.password_of(&u.id).await?,
                None => None,
            };
            (user, cred)
        };

        let verdict = match &cred {
            Some(c) => Some(
                self.hasher()
                    .verify(password.to_owned(), c.hash.clone())
                    .await?,
            ),
            None => {
                self.hasher().verify_dummy(password.to_owned()).await;
                None
            }
        };

        let ok = verdict.as_ref().is_some_and(|v| v.ok);
        if !ok {
            if policy.enabled {
                let mut tx = self.store().realm(realm.id()).await?;
                let mut lock = None;
                if let Some(u) = &user {
                    lock = record_failure(
                        &mut tx,
                        policy,
                        &user_subject(&u.id.0),
                        policy.failure_factor,
                        now,
                    )
                    .await?;
                }
                if let Some(ip) = ip {
                    let ip_lock = record_failure(
                        &mut tx,
                        policy,
                        &ip_subject(ip),
                        policy.ip_failure_factor,
                        now,
                    )
                    .await?;
                    lock = lock.or(ip_lock);
                }
                tx.commit().await?;
                if let Some(l) = lock {
                    tracing::warn!(
                        realm = realm.name(),
                        "login locked out after repeated failures"
                    );
                    return Ok(LoginOutcome::Locked(l));
                }
            }
            return Ok(LoginOutcome::InvalidCredentials);
        }
        let (Some(user), Some(verdict)) = (user, verdict) else {
            return Ok(LoginOutcome::InvalidCredentials);
        };
        if !user.enabled {
            return Ok(LoginOutcome::Disabled);
        }
        let rehash = if verdict.needs_rehash {
            Some(self.hasher().hash(password.to_owned()).await?)
        } else {
            None
        };
        let mut tx = self.store().realm(realm.id()).await?;
        if policy.enabled {
            tx.clear_failures(&user_subject(&user.id.0)).await?;
        }
        if let (Some(hash), Some(old)) = (rehash, cred) {
            tx.set_password(&PasswordCredential {
                hash,
                created_at: now,
                ..old
            })
            .await?;
        }
        tx.commit().await?;
        Ok(LoginOutcome::Success(user))
    }

    /// Starts an SSO session for a user who just authenticated.
    pub async fn create_session(
        &self,
        realm: &RealmCtx,
        user: &UserId,
        amr: &[&str],
    ) -> Result<UserSession, AppError> {
        let now = self.now();
        let s = &realm.realm.settings;
        let session = UserSession {
            id: SessionId::new(),
            user_id: user.clone(),
            auth_time: now,
            last_seen: now,
            expires_at: now + s.sso_session_max_lifespan,
            amr: amr.iter().map(|a| (*a).to_owned()).collect(),
            revoked: false,
        };
        let mut tx = self.store().realm(realm.id()).await?;
        tx.insert_session(&session).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// The live session named by a cookie: not revoked, not past its max lifetime or idle timeout.
    pub async fn live_session(
        &self,
        realm: &RealmCtx,
        sid: &SessionId,
    ) -> Result<Option<UserSession>, AppError> {
        let now = self.now();
        let s = self
            .store()
            .realm_read(realm.id())
            .await?
            .session_by_id(sid)
            .await?;
        Ok(s.filter(|s| {
            !s.revoked
                && s.expires_at > now
                && now - s.last_seen <= realm.realm.settings.sso_session_idle_timeout
        }))
    }

    pub async fn user(&self, realm: &RealmCtx, id: &UserId) -> Result<Option<User>, AppError> {
        Ok(self
            .store()
            .realm_read(realm.id())
            .await?
            .user_by_id(id)
            .await?)
    }

    pub async fn set_user_password(
        &self,
        realm: &realmgate_domain::RealmId,
        user: &UserId,
        password: &str,
    ) -> Result<(), AppError> {
        if password.is_empty() {
            return Err(AppError::invalid("the password must not be empty"));
        }
        let hash = self.hasher().hash(password.to_owned()).await?;
        let mut tx = self.store().realm(realm).await?;
        if tx.user_by_id(user).await?.is_none() {
            return Err(AppError::NotFound("user"));
        }
        tx.set_password(&PasswordCredential {
            id: realmgate_domain::CredentialId::new(),
            user_id: user.clone(),
            hash,
            created_at: self.now(),
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "login_tests.rs"]
mod tests;
