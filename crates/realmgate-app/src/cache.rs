//! Bounded caches for the hot paths. Nothing here is loaded at startup and nothing grows with the
//! number of realms beyond the configured capacity: idle realms cost nothing.

use crate::RealmCtx;
use crate::client_auth::ClientCtx;
use crate::keys::RealmKeys;
use crate::roles::RoleClaims;
use moka::future::Cache;
use realmgate_domain::{RealmId, UserId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

pub struct Caches {
    /// realm name → context.
    pub realms: Cache<String, Arc<RealmCtx>>,
    /// (realm, clientId) → client with its secret opened.
    pub clients: Cache<(RealmId, String), Arc<ClientCtx>>,
    /// realm → signing keys and the serialised JWKS.
    pub keys: Cache<RealmId, Arc<RealmKeys>>,
    /// (realm, user) → role claims; short-lived and dropped on any role change in the realm.
    pub roles: Cache<(RealmId, UserId), Arc<RoleClaims>>,
}

impl Caches {
    pub fn new(capacity: u64) -> Self {
        Self {
            realms: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(Duration::from_secs(3600))
                .time_to_live(SAFETY_TTL)
                .build(),
            clients: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(Duration::from_secs(3600))
                .time_to_live(SAFETY_TTL)
                .support_invalidation_closures()
                .build(),
            keys: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(Duration::from_secs(3600))
                .time_to_live(SAFETY_TTL)
                .build(),
            roles: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(Duration::from_secs(60))
                .support_invalidation_closures()
                .build(),
        }
    }

    /// Drops everything cached for a realm (rename, delete, settings change).
    pub async fn forget_realm(&self, name: &str, id: &RealmId) {
        self.realms.invalidate(name).await;
        self.keys.invalidate(id).await;
        let rid = id.clone();
        let _ = self.clients.invalidate_entries_if(move |k, _| k.0 == rid);
        self.forget_roles(id);
    }

    pub fn forget_roles(&self, id: &RealmId) {
        let rid = id.clone();
        let _ = self.roles.invalidate_entries_if(move |k, _| k.0 == rid);
    }
}

/// Even if a change notification is lost, nothing cached outlives this.
const SAFETY_TTL: Duration = Duration::from_secs(300);

/// A change that makes cached entries stale, applied locally and published to the other nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub enum Invalidation {
    Realm { name: String, id: RealmId },
    Client { realm: RealmId, client_id: String },
    Roles { realm: RealmId },
    Keys { realm: RealmId },
}

impl Caches {
    pub async fn apply(&self, inv: &Invalidation) {
        match inv {
            Invalidation::Realm { name, id } => self.forget_realm(name, id).await,
            Invalidation::Client { realm, client_id } => {
                self.clients
                    .invalidate(&(realm.clone(), client_id.clone()))
                    .await;
            }
            Invalidation::Roles { realm } => self.forget_roles(realm),
            Invalidation::Keys { realm } => self.keys.invalidate(realm).await,
        }
    }

    /// After notifications may have been lost: drop everything.
    pub fn clear(&self) {
        self.realms.invalidate_all();
        self.clients.invalidate_all();
        self.keys.invalidate_all();
        self.roles.invalidate_all();
    }
}
