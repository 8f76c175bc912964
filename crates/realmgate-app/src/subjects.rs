//! The subject caches of the bearer-token paths (userinfo, introspection, refresh): users, and
//! whether an access token is still live. Their entries are re-read from the store at least once
//! per TTL even without a change notification, and a busy entry is re-read ahead of its expiry in
//! a background task ([`crate::ttl_cache::Lookup::Due`]): a request is never the one that waits
//! for the store because an entry got old. At 1,000 busy tokens, 4,000 userinfo requests/s and
//! a 60 s TTL, ~0.4% of the requests had been reloading both (two store round trips), enough to
//! push the p99 up.

use crate::ttl_cache::{Lookup, note_miss, reload_in_background};
use crate::{App, AppError, RealmCtx};
use realmgate_domain::{FamilyId, RealmId, SessionId, User, UserId};
use realmgate_oidc::claims::AccessTokenClaims;
use std::sync::Arc;

/// What decides whether an access token is live: its jti, and its grant family or else its
/// session.
struct Liveness {
    jti: String,
    family: Option<FamilyId>,
    session: Option<SessionId>,
}

impl Liveness {
    fn of(at: &AccessTokenClaims) -> Self {
        Self {
            jti: at.jti.clone(),
            family: at.gid.clone().map(FamilyId),
            session: at.sid.clone().map(SessionId),
        }
    }
}

impl App {
    /// The user, from the cache (dropped on any change to the realm's users) or the store.
    pub async fn cached_user(
        &self,
        realm: &RealmCtx,
        id: &UserId,
    ) -> Result<Option<Arc<User>>, AppError> {
        let key = (realm.id().clone(), id.clone());
        match self.caches().users.lookup(&key) {
            Some(Lookup::Fresh(u)) => return Ok(Some(u)),
            Some(Lookup::Due(u, refresh)) => {
                let app = self.clone();
                reload_in_background(refresh, "user", async move {
                    app.load_user(key).await.map(drop)
                });
                return Ok(Some(u));
            }
            None => note_miss("user"),
        }
        self.load_user(key).await
    }

    /// Reads the user and caches it; a user that is gone is dropped from the cache.
    async fn load_user(&self, key: (RealmId, UserId)) -> Result<Option<Arc<User>>, AppError> {
        let users = &self.caches().users;
        let stamp = users.stamp(&key.0);
        let found = self
            .store()
            .realm_read(&key.0)
            .await?
            .user_by_id(&key.1)
            .await?;
        match found {
            Some(user) => {
                // Unchanged: keep the cached value, so what was derived from it (a token's
                // userinfo body, `crate::verified`) stays valid.
                let user = match users.get(&key) {
                    Some(cached) if *cached == user => cached,
                    _ => Arc::new(user),
                };
                users.insert(key, stamp, user.clone());
                Ok(Some(user))
            }
            None => {
                users.invalidate(&key);
                Ok(None)
            }
        }
    }

    /// Whether the token's jti is not revoked and its family (or else its session) is live: read
    /// from the store once per token, then from the cache until something in the realm is
    /// revoked (or its TTL, re-read ahead while the token is in use).
    pub(crate) async fn token_live(
        &self,
        realm: &RealmCtx,
        at: &AccessTokenClaims,
    ) -> Result<bool, AppError> {
        let key = (realm.id().clone(), at.jti.clone());
        match self.caches().token_state.lookup(&key) {
            Some(Lookup::Fresh(live)) => return Ok(live),
            Some(Lookup::Due(live, refresh)) => {
                let (app, probe) = (self.clone(), Liveness::of(at));
                reload_in_background(refresh, "token state", async move {
                    app.load_token_state(key, probe).await.map(drop)
                });
                return Ok(live);
            }
            None => note_miss("token state"),
        }
        self.load_token_state(key, Liveness::of(at)).await
    }

    async fn load_token_state(
        &self,
        key: (RealmId, String),
        probe: Liveness,
    ) -> Result<bool, AppError> {
        let states = &self.caches().token_state;
        let stamp = states.stamp(&key.0);
        let mut tx = self.store().realm_read(&key.0).await?;
        let live = if tx.jti_revoked(&probe.jti).await? {
            false
        } else if let Some(family) = &probe.family {
            tx.family_active(family).await?
        } else if let Some(session) = &probe.session {
            tx.session_by_id(session).await?.is_some_and(|s| !s.revoked)
        } else {
            true
        };
        drop(tx);
        states.insert(key, stamp, live);
        Ok(live)
    }
}
