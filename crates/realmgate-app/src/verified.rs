//! A verified access token as the bearer paths cache it (`Caches::verified`): its claims, and the
//! response bodies derived from them, each serialised once per token instead of once per
//! request.
//!
//! The introspection body depends on the claims alone, which never change under a token. The
//! userinfo body also depends on the user row and the calling client's default scopes: it is
//! kept with the cached `User` and `ClientCtx` it was built from and rebuilt when either cache
//! holds another value (a change, or a reload that found one; an unchanged reload keeps the
//! cached value, see `App::load_user` and `App::load_client`). Whether the token is still live
//! (expiry, revocation) is checked on every request before a body is served.
//!
//! At 100,000 busy realms this is also what keeps a request's reads few: the memo is one
//! contiguous block, where building the body read a dozen separately allocated strings of the
//! claims, the user row and the client, each a likely cache miss (`docs/performance.md`).

use crate::AppError;
use crate::app::bytes_like::Bytes;
use crate::client_auth::ClientCtx;
use realmgate_domain::User;
use realmgate_oidc::claims::AccessTokenClaims;
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// A token whose signature, type and issuer checked out.
pub struct VerifiedToken {
    pub claims: AccessTokenClaims,
    introspection: OnceLock<Bytes>,
    userinfo: Mutex<Option<UserinfoBody>>,
}

/// A userinfo body and the cached values it was built from. `Weak` pins their allocations (so
/// an address is never reused by another value while this is held) without keeping them alive.
struct UserinfoBody {
    user: Weak<User>,
    client: Option<Weak<ClientCtx>>,
    body: Bytes,
}

impl UserinfoBody {
    fn built_from(&self, user: &Arc<User>, client: Option<&Arc<ClientCtx>>) -> bool {
        std::ptr::eq(self.user.as_ptr(), Arc::as_ptr(user))
            && match (&self.client, client) {
                (Some(w), Some(c)) => std::ptr::eq(w.as_ptr(), Arc::as_ptr(c)),
                (None, None) => true,
                _ => false,
            }
    }
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
            userinfo: Mutex::new(None),
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

    /// The userinfo body for `user` as the token's client `client` sees it: the one built
    /// before if it was built from these same cached values, else what `build` returns (kept
    /// for the next request).
    pub fn userinfo(
        &self,
        user: &Arc<User>,
        client: Option<&Arc<ClientCtx>>,
        build: impl FnOnce() -> Result<Bytes, AppError>,
    ) -> Result<Bytes, AppError> {
        if let Some(memo) = self.memo().as_ref()
            && memo.built_from(user, client)
        {
            return Ok(memo.body.clone());
        }
        let body = build()?;
        *self.memo() = Some(UserinfoBody {
            user: Arc::downgrade(user),
            client: client.map(Arc::downgrade),
            body: body.clone(),
        });
        Ok(body)
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, Option<UserinfoBody>> {
        // Nothing panics while holding it; a poisoned memo is still a consistent `Option`.
        self.userinfo
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
        Arc::new(User {
            id: realmgate_domain::UserId::new(),
            username: name.into(),
            email: None,
            email_verified: false,
            first_name: None,
            last_name: None,
            enabled: true,
            attributes: Default::default(),
            service_account_client: None,
            created_at: 0,
        })
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

    #[test]
    fn the_userinfo_body_is_rebuilt_when_the_cached_user_is_another_value() {
        let t = token();
        let (ann, bob) = (user("ann"), user("bob"));
        let body = |u: &Arc<User>| {
            let name = u.username.clone();
            move || Ok::<Bytes, AppError>(name.into_bytes().into())
        };
        assert_eq!(&*t.userinfo(&ann, None, body(&ann)).unwrap(), b"ann");
        let kept = t
            .userinfo(&ann, None, || panic!("built again for the same user"))
            .unwrap();
        assert_eq!(&*kept, b"ann");
        assert_eq!(&*t.userinfo(&bob, None, body(&bob)).unwrap(), b"bob");
        // An equal user in another allocation (a changed row reloaded) is another value.
        let ann2 = Arc::new((*ann).clone());
        assert_eq!(&*t.userinfo(&ann2, None, body(&ann2)).unwrap(), b"ann");
        let kept = t
            .userinfo(&ann2, None, || panic!("built again for the same user"))
            .unwrap();
        assert_eq!(&*kept, b"ann");
    }
}
