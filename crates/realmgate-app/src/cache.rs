//! Bounded caches for the hot paths. Nothing here is loaded at startup and nothing grows with the
//! number of realms beyond the configured capacity: idle realms cost nothing.

use crate::RealmCtx;
use crate::client_auth::ClientCtx;
use crate::keys::RealmKeys;
use crate::roles::RoleClaims;
use moka::future::Cache;
use realmgate_domain::{RealmId, UserId};
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct Caches {
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
                .build(),
            clients: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(Duration::from_secs(3600))
                .support_invalidation_closures()
                .build(),
            keys: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(Duration::from_secs(3600))
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
