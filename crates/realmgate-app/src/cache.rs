//! Bounded caches for the hot paths. Nothing here is loaded at startup and nothing grows with the
//! number of realms beyond the configured capacity: idle realms cost nothing.

use crate::RealmCtx;
use crate::cache_key::KeyPart;
use crate::client_auth::ClientCtx;
use crate::keys::RealmKeys;
use crate::realm_cache::RealmCache;
use crate::roles::RoleClaims;
use crate::ttl_cache::TtlCache;
use realmgate_domain::{RealmId, SessionId, User, UserId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub struct Caches {
    /// realm name → context. Insert through [`Caches::insert_realm`] with a
    /// [`Caches::realm_stamp`] read before the load.
    pub realms: TtlCache<KeyPart, Arc<RealmCtx>>,
    /// Bumped by every realm invalidation: a realm context loaded across one is not cached. One
    /// counter for all realms (realm changes are admin operations, rare next to reads), so a
    /// change makes loads of other realms in flight at that moment go uncached once.
    realms_stamp: AtomicU64,
    /// (realm, clientId) → client with its secret opened.
    pub clients: RealmCache<String, Arc<ClientCtx>>,
    /// realm → signing keys and the serialised JWKS.
    pub keys: TtlCache<KeyPart, Arc<RealmKeys>>,
    /// (realm, user) → role claims; dropped on any role change in the realm (and after the safety
    /// TTL: at 100,000 busy realms a 60 s TTL made most client-credentials requests recompute them).
    pub roles: RealmCache<UserId, Arc<RoleClaims>>,
    /// (realm, user) → the user row, for userinfo; dropped on any change to the realm's users.
    pub users: RealmCache<UserId, Arc<User>>,
    /// (realm, access-token jti) → whether the token's jti, family and session are still live;
    /// dropped on any revocation in the realm.
    pub token_state: RealmCache<String, bool>,
    /// (realm, SHA-256 of an access token) → its claims, once its signature, type and issuer
    /// checked out: a token presented again skips the signature verification (expiry and
    /// liveness are still checked every time), and its introspection and userinfo bodies are
    /// serialised once (`crate::verified`). Dropped with the realm's keys.
    pub verified: RealmCache<String, Arc<crate::verified::VerifiedToken>>,
    /// When this node last wrote a session's `last_seen` for the refresh grant (a write throttle,
    /// not a copy of anything stored).
    pub touched: TtlCache<(RealmId, SessionId), i64>,
}

impl Caches {
    /// The TTLs: see [`SUBJECT_TTL`] and [`SAFETY_TTL`].
    pub fn new(capacity: u64, subject_ttl: Duration, safety_ttl: Duration) -> Self {
        Self {
            realms: TtlCache::new(capacity, safety_ttl),
            realms_stamp: AtomicU64::new(0),
            clients: RealmCache::new(capacity, safety_ttl),
            keys: TtlCache::new(capacity, safety_ttl),
            roles: RealmCache::new(capacity, safety_ttl),
            users: RealmCache::new(capacity, subject_ttl),
            token_state: RealmCache::new(capacity.saturating_mul(4), subject_ttl),
            verified: RealmCache::new(capacity.saturating_mul(4), safety_ttl),
            touched: TtlCache::new(capacity, SUBJECT_TTL),
        }
    }

    /// Drops the cached users and token states of a realm (a user changed, or something was
    /// revoked). A load that raced with this is not served (see [`RealmCache::stamp`]).
    pub fn forget_subjects(&self, id: &RealmId) {
        self.users.forget_realm(id);
        self.token_state.forget_realm(id);
    }

    /// Drops everything cached for a realm (rename, delete, settings change).
    pub fn forget_realm(&self, name: &str, id: &RealmId) {
        self.realms_stamp.fetch_add(1, Ordering::AcqRel);
        self.realms.invalidate(&KeyPart::of(name));
        self.keys.invalidate(&KeyPart::of(id.as_str()));
        self.clients.forget_realm(id);
        self.forget_roles(id);
        self.forget_subjects(id);
        self.forget_verified(id);
    }

    /// Read before loading a realm context from the store (see [`Caches::insert_realm`]).
    pub fn realm_stamp(&self) -> u64 {
        self.realms_stamp.load(Ordering::Acquire)
    }

    /// Caches a realm context loaded after `stamp` was read, unless a realm invalidation came
    /// since: the context may predate the change it announced (this node's or another's).
    pub fn insert_realm(&self, name: String, stamp: u64, ctx: Arc<RealmCtx>) {
        if self.realm_stamp() == stamp {
            self.realms.insert(KeyPart::of(&name), ctx);
        }
    }

    /// Drops the realm's verified-token entries (its keys changed).
    pub fn forget_verified(&self, id: &RealmId) {
        self.verified.forget_realm(id);
    }

    pub fn forget_roles(&self, id: &RealmId) {
        self.roles.forget_realm(id);
    }
}

/// Even if a change notification is lost, nothing cached outlives this. Changes are pushed (and
/// a listener that lost its connection clears every cache), so this only bounds a silently lost
/// notification. At 300 s, 100,000 busy realms reloaded ~330 realm contexts, clients, key sets and
/// role claims per second, and a bench whose provisioning outlasted it ran 10% cold
/// (docs/performance.md). Busy entries are now re-read ahead of it, in the background
/// (`TtlCache::lookup`), so those reloads no longer hold up requests. The default of
/// `AppConfig::safety_ttl`.
pub const SAFETY_TTL: Duration = Duration::from_secs(1800);

/// How often expired entries are swept out of every cache.
pub const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Users and token states are re-read at least this often even without notifications (the
/// default of `AppConfig::subject_ttl`); busy ones are re-read ahead, in the background, from a
/// point drawn per entry between half and seven eighths of it (`TtlCache::lookup`,
/// `crate::subjects`).
pub const SUBJECT_TTL: Duration = Duration::from_secs(60);

/// A change that makes cached entries stale, applied locally and published to the other nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub enum Invalidation {
    Realm {
        name: String,
        id: RealmId,
    },
    Client {
        realm: RealmId,
        client_id: String,
    },
    Roles {
        realm: RealmId,
    },
    Keys {
        realm: RealmId,
    },
    /// A user changed, or a token, family or session was revoked, in this realm.
    Subjects {
        realm: RealmId,
    },
}

impl Caches {
    pub fn apply(&self, inv: &Invalidation) {
        match inv {
            Invalidation::Realm { name, id } => self.forget_realm(name, id),
            Invalidation::Client { realm, client_id } => {
                self.clients.invalidate(&(realm.clone(), client_id.clone()));
            }
            Invalidation::Roles { realm } => self.forget_roles(realm),
            Invalidation::Keys { realm } => {
                self.keys.invalidate(&KeyPart::of(realm.as_str()));
                self.forget_verified(realm);
            }
            Invalidation::Subjects { realm } => self.forget_subjects(realm),
        }
    }

    /// Drops every expired entry. Run every [`PURGE_EVERY`] by [`crate::App::spawn_cache_purge`].
    pub fn purge_expired(&self) {
        self.realms.purge_expired();
        self.clients.purge_expired();
        self.keys.purge_expired();
        self.roles.purge_expired();
        self.users.purge_expired();
        self.token_state.purge_expired();
        self.verified.purge_expired();
        self.touched.purge_expired();
    }

    /// After notifications may have been lost: drop everything.
    pub fn clear(&self) {
        self.realms_stamp.fetch_add(1, Ordering::AcqRel);
        self.realms.invalidate_all();
        self.clients.invalidate_all();
        self.keys.invalidate_all();
        self.roles.invalidate_all();
        self.users.invalidate_all();
        self.token_state.invalidate_all();
        self.verified.invalidate_all();
        self.touched.invalidate_all();
    }
}
