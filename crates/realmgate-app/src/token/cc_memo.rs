//! The client-credentials memo: a service account's access-token claims for its client's
//! default grant (a request without `scope`), rendered once per cached client and reused while
//! what they were built from is unchanged.
//!
//! At 100,000 busy realms nearly everything a token is built from is cold in the CPU caches, and
//! each scattered read is a likely cache miss. Building the claims reads the realm (issuer, id,
//! lifespan, default algorithm), the client (its id, attributes, default scopes), its service
//! user and the user's role claims (one more cache lookup): a few dozen such reads. The memo
//! replaces them with one contiguous string and two comparisons.
//!
//! It holds while:
//! - the realm context is the one it was built from ([`RealmCtx`]'s generation; a realm re-read
//!   that finds the realm unchanged keeps its context);
//! - the client context is (the memo lives in it; a changed client or service user makes a new
//!   context, see `App::load_client`);
//! - the role claims would be read the same from their cache: the realm's role-claims stamp has
//!   not moved (every change to roles, groups, mappings or organisations moves it) and the
//!   entry's refresh point is ahead, as for the memos of `crate::verified`. Past it, the next
//!   token reads the role claims as before (which re-validates a busy entry ahead of its TTL)
//!   and renews the memo, keeping its rendered claims when the same role claims came back.

use crate::client_auth::ClientCtx;
use crate::realm_cache::Stamp;
use crate::roles::RoleClaims;
use crate::tokens::{Subject, access_claims, alg_for, lifespan_for, needs_roles};
use crate::{App, AppError, RealmCtx};
use realmgate_crypto::SigAlg;
use realmgate_domain::{ScopeSet, User};
use std::sync::{Arc, Weak};
use std::time::Instant;

/// The claims of a client's default client-credentials grant, minus the per-token ones.
pub struct CcMemo {
    /// The generation of the realm context it was built from.
    realm: u64,
    /// The role claims it was built from (`None` when the grant carries none): the value, the
    /// realm's role-claims stamp read before it, and its cache entry's refresh point.
    roles: Option<(Weak<RoleClaims>, Stamp, Instant)>,
    pub(crate) alg: SigAlg,
    pub(crate) lifespan: i64,
    /// The `scope` claim, also the response's `scope`.
    pub(crate) scope: String,
    /// Every claim but `exp`, `iat`, `auth_time` and `jti`, as JSON object members (no braces).
    members: Arc<str>,
}

/// The claims a token gets per issue, left out of [`CcMemo::members`].
const PER_TOKEN: [&str; 4] = ["exp", "iat", "auth_time", "jti"];

impl CcMemo {
    fn holds(&self, realm: &RealmCtx, roles_stamp: Stamp, now: Instant) -> bool {
        self.realm == realm.generation
            && self
                .roles
                .as_ref()
                .is_none_or(|(_, stamp, until)| *stamp == roles_stamp && now < *until)
    }

    /// Built from the same realm context and role claims as `roles` (none, or that value).
    fn same_source(&self, realm: &RealmCtx, roles: Option<&Arc<RoleClaims>>) -> bool {
        self.realm == realm.generation
            && match (&self.roles, roles) {
                (None, None) => true,
                (Some((w, _, _)), Some(r)) => std::ptr::eq(w.as_ptr(), Arc::as_ptr(r)),
                _ => false,
            }
    }

    /// The JSON payload of the token issued at `now` with id `jti` (a UUID: nothing to escape).
    pub(crate) fn payload(&self, now: i64, jti: &str) -> Vec<u8> {
        format!(
            r#"{{"exp":{},"iat":{now},"auth_time":{now},"jti":"{jti}",{}}}"#,
            now + self.lifespan,
            self.members
        )
        .into_bytes()
    }
}

/// The members of `claims` but the per-token ones; `None` if nothing else is left.
fn members_of(claims: &impl serde::Serialize) -> Result<Option<Arc<str>>, AppError> {
    let serde_json::Value::Object(mut map) =
        serde_json::to_value(claims).map_err(AppError::internal)?
    else {
        return Err(AppError::internal("claims are not a JSON object"));
    };
    for name in PER_TOKEN {
        map.remove(name);
    }
    if map.is_empty() {
        return Ok(None);
    }
    let object = serde_json::to_string(&map).map_err(AppError::internal)?;
    Ok(object
        .strip_prefix('{')
        .and_then(|o| o.strip_suffix('}'))
        .map(Arc::from))
}

impl App {
    /// The memo of `client`'s default grant to its service account `user`, renewed when it no
    /// longer holds. `None` when that grant has no memo: it includes `openid` (an ID token is
    /// minted on the general path).
    pub(crate) async fn cc_memo(
        &self,
        realm: &RealmCtx,
        client: &ClientCtx,
        user: &User,
    ) -> Result<Option<Arc<CcMemo>>, AppError> {
        let cached = client.cc_memo.lock().ok().and_then(|m| m.clone());
        let roles_cache = &self.caches().roles;
        // Read before the role claims, so a change racing with this read leaves a stale stamp.
        let stamp = roles_cache.stamp(realm.id());
        if let Some(m) = &cached
            && m.holds(realm, stamp, Instant::now())
        {
            return Ok(cached);
        }
        let granted = client.grant(&ScopeSet::default())?;
        if granted.contains("openid") {
            return Ok(None);
        }
        let roles = if needs_roles(&granted) {
            let claims = self.role_claims(realm.id(), &user.id).await?;
            // Not in the cache as read (dropped meanwhile): good for this token only.
            let due = roles_cache
                .due(&(realm.id().clone(), user.id.clone()))
                .unwrap_or_else(Instant::now);
            Some((claims, due))
        } else {
            None
        };
        let lifespan = lifespan_for(realm, &client.client);
        let (members, scope) = match &cached {
            Some(m) if m.same_source(realm, roles.as_ref().map(|(r, _)| r)) => {
                (m.members.clone(), m.scope.clone())
            }
            _ => {
                let sub = Subject {
                    client: &client.client,
                    user,
                    session: None,
                    scope: &granted,
                    auth_time: Some(0),
                    amr: &[],
                    nonce: None,
                    family: None,
                    code: None,
                };
                let none = RoleClaims::default();
                let role_claims = roles.as_ref().map_or(&none, |(r, _)| r.as_ref());
                let claims = access_claims(realm, &sub, role_claims, lifespan, 0);
                let Some(members) = members_of(&claims)? else {
                    return Ok(None);
                };
                (members, claims.scope)
            }
        };
        let memo = Arc::new(CcMemo {
            realm: realm.generation,
            roles: roles.map(|(r, due)| (Arc::downgrade(&r), stamp, due)),
            alg: alg_for(realm, &client.client, "access.token.signed.response.alg"),
            lifespan,
            scope,
            members,
        });
        if let Ok(mut slot) = client.cc_memo.lock() {
            *slot = Some(memo.clone());
        }
        Ok(Some(memo))
    }
}
