//! A verified access token as the bearer paths cache it (`Caches::verified`): its claims, and
//! what was derived from them and from the caches, so that a token presented again costs as few
//! reads as possible.
//!
//! - The introspection body depends on the claims alone, which never change under a token: it
//!   is serialised once.
//! - Whether the token is live (jti, family or session not revoked) is read through the
//!   token-state cache (`App::token_live`) and remembered here with the realm's token-state
//!   stamp from before that read and the cache entry's refresh point: until then, and while no
//!   revocation or user change in the realm moved the stamp, the entry would have answered the
//!   same, so it is not read again. Past that point the next request reads it as before (which
//!   re-reads a busy entry ahead of its TTL).
//! - The userinfo body also depends on the user row and the calling client's default scopes: it
//!   is kept with the cached `User` and `ClientCtx` it was built from (compared by identity) and
//!   rebuilt when either cache holds another value (an unchanged re-read keeps the cached value,
//!   see `App::load_user` and `App::load_client`). The user is remembered like the liveness,
//!   with the realm's user stamp and its entry's refresh point.
//!
//! Expiry is checked on every request. At 100,000 busy realms this is what keeps a request's
//! reads few: each cache read there costs a few cache misses (`docs/performance.md`).

use crate::AppError;
use crate::app::bytes_like::Bytes;
use crate::client_auth::ClientCtx;
use crate::realm_cache::Stamp;
use realmgate_domain::User;
use realmgate_oidc::claims::AccessTokenClaims;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Instant;

/// A token whose signature, type and issuer checked out.
pub struct VerifiedToken {
    pub claims: AccessTokenClaims,
    introspection: OnceLock<Bytes>,
    memo: Mutex<Memo>,
}

#[derive(Default)]
struct Memo {
    /// Live as of the token-state stamp, until the instant.
    live: Option<(Stamp, Instant)>,
    userinfo: Option<UserinfoBody>,
}

/// A userinfo body and the cached values it was built from. `Weak` pins their allocations (so
/// an address is never reused by another value while this is held) without keeping them alive.
struct UserinfoBody {
    user: Weak<User>,
    /// The user entry as read: the realm's user stamp before the read, the entry's refresh point.
    user_read: Option<(Stamp, Instant)>,
    client: Option<Weak<ClientCtx>>,
    body: Bytes,
}

fn same<T>(w: &Weak<T>, a: &Arc<T>) -> bool {
    std::ptr::eq(w.as_ptr(), Arc::as_ptr(a))
}

fn same_client(w: Option<&Weak<ClientCtx>>, c: Option<&Arc<ClientCtx>>) -> bool {
    match (w, c) {
        (Some(w), Some(c)) => same(w, c),
        (None, None) => true,
        _ => false,
    }
}

/// Still as read: the stamp has not moved and the refresh point is ahead.
fn holds(read: Option<(Stamp, Instant)>, stamp: Stamp, now: Instant) -> bool {
    read.is_some_and(|(s, until)| s == stamp && now < until)
}

impl std::ops::Deref for VerifiedToken {
    type Target = AccessTokenClaims;

    fn deref(&self) -> &AccessTokenClaims {
        &self.claims
    }
}

impl VerifiedToken {
    pub fn new(claims: AccessTokenClaims) -> Self {
        Self {
            claims,
            introspection: OnceLock::new(),
            memo: Mutex::new(Memo::default()),
        }
    }

    /// The RFC 7662 response for this token while it is active.
    pub fn introspection(&self) -> Result<Bytes, AppError> {
        if let Some(b) = self.introspection.get() {
            return Ok(b.clone());
        }
        let mut v = serde_json::to_value(&self.claims).map_err(AppError::internal)?;
        v["active"] = serde_json::Value::Bool(true);
        v["token_type"] = serde_json::Value::String("Bearer".into());
        v["username"] = self
            .claims
            .preferred_username
            .clone()
            .map_or(serde_json::Value::Null, serde_json::Value::String);
        if let Some(o) = v.as_object_mut() {
            o.remove("gid");
        }
        let body: Bytes = serde_json::to_vec(&v).map_err(AppError::internal)?.into();
        Ok(self.introspection.get_or_init(|| body).clone())
    }

    /// Whether the token was found live with the realm's token-state stamp at `stamp`, and its
    /// entry's refresh point is still ahead.
    pub fn known_live(&self, stamp: Stamp, now: Instant) -> bool {
        holds(self.memo().live, stamp, now)
    }

    /// The token was found live with the token-state stamp read before, its entry due at `due`.
    pub fn found_live(&self, stamp: Stamp, due: Instant) {
        self.memo().live = Some((stamp, due));
    }

    /// The userinfo body, without reading the user, if it was built from the user entry as it
    /// still is (`users_stamp` now) and for the client `client` the caches hold now.
    pub fn userinfo_known(
        &self,
        users_stamp: Stamp,
        client: Option<&Arc<ClientCtx>>,
        now: Instant,
    ) -> Option<Bytes> {
        let memo = self.memo();
        let u = memo.userinfo.as_ref()?;
        (holds(u.user_read, users_stamp, now) && same_client(u.client.as_ref(), client))
            .then(|| u.body.clone())
    }

    /// The userinfo body for `user` as the token's client `client` sees it: the one built
    /// before if it was built from these same cached values, else what `build` returns (kept
    /// for the next request). `user_read`: the realm's user stamp before `user` was read and
    /// its entry's refresh point, when known.
    pub fn userinfo(
        &self,
        user: &Arc<User>,
        user_read: Option<(Stamp, Instant)>,
        client: Option<&Arc<ClientCtx>>,
        build: impl FnOnce() -> Result<Bytes, AppError>,
    ) -> Result<Bytes, AppError> {
        {
            let mut memo = self.memo();
            if let Some(u) = memo.userinfo.as_mut()
                && same(&u.user, user)
                && same_client(u.client.as_ref(), client)
            {
                u.user_read = user_read;
                return Ok(u.body.clone());
            }
        }
        let body = build()?;
        self.memo().userinfo = Some(UserinfoBody {
            user: Arc::downgrade(user),
            user_read,
            client: client.map(Arc::downgrade),
            body: body.clone(),
        });
        Ok(body)
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, Memo> {
        // Nothing panics while holding it; a poisoned memo is still a consistent value.
        self.memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn token() -> VerifiedToken {
        VerifiedToken::new(
            serde_json::from_value(serde_json::json!({
                "iss": "http://x/realms/r", "sub": "u", "aud": "c", "exp": 10, "iat": 1,
                "jti": "j", "client_id": "c", "azp": "c", "scope": "openid", "typ": "Bearer",
                "tenant_id": "t", "realm_access": { "roles": [] }, "gid": "family",
                "preferred_username": "ann"
            }))
            .unwrap(),
        )
    }

    fn user(name: &str) -> Arc<User> {
        Arc::new(crate::test_support::user(name))
    }

    #[test]
    fn introspection_is_the_claims_marked_active_without_the_family() {
        let t = token();
        let v: serde_json::Value = serde_json::from_slice(&t.introspection().unwrap()).unwrap();
        assert_eq!(v["active"], true);
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(v["username"], "ann");
        assert_eq!(v["sub"], "u");
        assert!(v.get("gid").is_none());
        assert!(Arc::ptr_eq(
            &t.introspection().unwrap(),
            &t.introspection().unwrap()
        ));
    }

    /// Two stamps of one realm: before and after an invalidation.
    fn stamps() -> (Stamp, Stamp) {
        let c: crate::realm_cache::RealmCache<String, u32> =
            crate::realm_cache::RealmCache::new(10, std::time::Duration::from_secs(60));
        let realm = realmgate_domain::RealmId::new();
        let before = c.stamp(&realm);
        c.forget_realm(&realm);
        (before, c.stamp(&realm))
    }

    #[test]
    fn the_userinfo_body_is_rebuilt_when_the_cached_user_is_another_value() {
        let t = token();
        let (ann, bob) = (user("ann"), user("bob"));
        let body = |u: &Arc<User>| {
            let name = u.username.clone();
            move || Ok::<Bytes, AppError>(name.into_bytes().into())
        };
        assert_eq!(&*t.userinfo(&ann, None, None, body(&ann)).unwrap(), b"ann");
        let kept = t
            .userinfo(&ann, None, None, || panic!("built again for the same user"))
            .unwrap();
        assert_eq!(&*kept, b"ann");
        assert_eq!(&*t.userinfo(&bob, None, None, body(&bob)).unwrap(), b"bob");
        // An equal user in another allocation (a changed row reloaded) is another value.
        let ann2 = Arc::new((*ann).clone());
        assert_eq!(
            &*t.userinfo(&ann2, None, None, body(&ann2)).unwrap(),
            b"ann"
        );
        let kept = t
            .userinfo(&ann2, None, None, || {
                panic!("built again for the same user")
            })
            .unwrap();
        assert_eq!(&*kept, b"ann");
    }

    #[test]
    fn what_was_read_holds_until_the_stamp_moves_or_the_refresh_point_passes() {
        let t = token();
        let (before, after) = stamps();
        let now = Instant::now();
        let due = now + std::time::Duration::from_secs(30);
        let later = due + std::time::Duration::from_secs(1);

        assert!(!t.known_live(before, now), "never checked");
        t.found_live(before, due);
        assert!(t.known_live(before, now));
        assert!(!t.known_live(after, now), "a revocation in the realm since");
        assert!(
            !t.known_live(before, later),
            "its state is due for a re-read"
        );

        let ann = user("ann");
        assert!(t.userinfo_known(before, None, now).is_none(), "never built");
        let built = || Ok::<Bytes, AppError>(b"ann".to_vec().into());
        t.userinfo(&ann, None, None, built).unwrap();
        assert!(
            t.userinfo_known(before, None, now).is_none(),
            "built from a user whose entry was not known"
        );
        t.userinfo(&ann, Some((before, due)), None, || panic!("same user"))
            .unwrap();
        assert_eq!(&*t.userinfo_known(before, None, now).unwrap(), b"ann");
        assert!(
            t.userinfo_known(after, None, now).is_none(),
            "a user change since"
        );
        assert!(
            t.userinfo_known(before, None, later).is_none(),
            "the user is due"
        );
    }
}
