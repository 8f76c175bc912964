//! Routing a realm transaction to the realm's shard: a bounded realm → shard cache filled from the
//! directory (`realms.shard`), and the fence that corrects a stale entry. A realm that moved away
//! is fenced on its old shard (`realm_fences`, checked by `realmgate_enter()` at the start of
//! every realm transaction), so a node that still routes there learns it from the first
//! transaction, drops the entry, re-reads the directory and retries once on the new shard — no
//! cross-node notification is needed for correctness.

use crate::{RealmTx, Store, StoreError};
use realmgate_domain::RealmId;
use std::collections::HashMap;
use std::sync::RwLock;

/// Routes kept before the cache starts over (a route is one short string pair).
const MAX_ROUTES: usize = 100_000;

/// Realm id (canonical) → shard name.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    map: RwLock<HashMap<String, String>>,
}

impl Routes {
    pub(crate) fn get(&self, realm: &RealmId) -> Option<String> {
        self.map
            .read()
            .ok()
            .and_then(|m| m.get(realm.as_str()).cloned())
    }

    pub(crate) fn insert(&self, realm: &RealmId, shard: &str) {
        if let Ok(mut m) = self.map.write() {
            if m.len() >= MAX_ROUTES {
                m.clear();
            }
            m.insert(realm.0.clone(), shard.to_owned());
        }
    }

    pub(crate) fn forget(&self, realm: &RealmId) {
        if let Ok(mut m) = self.map.write() {
            m.remove(realm.as_str());
        }
    }
}

impl Store {
    /// The shard the directory places `realm` on (canonical id). `NotFound` for an unknown realm —
    /// never a default.
    pub(crate) async fn directory_shard(&self, realm: &RealmId) -> Result<String, StoreError> {
        let shard: Option<String> = sqlx::query_scalar("SELECT shard FROM realms WHERE id = $1")
            .bind(realm.as_str())
            .fetch_optional(self.directory().pool())
            .await?;
        shard.ok_or(StoreError::NotFound)
    }

    pub(crate) async fn route(&self, realm: &RealmId) -> Result<String, StoreError> {
        if let Some(shard) = self.routes().get(realm) {
            return Ok(shard);
        }
        let shard = self.directory_shard(realm).await?;
        self.routes().insert(realm, &shard);
        Ok(shard)
    }

    /// A realm transaction on the realm's shard (sharded deployments; `realm` is canonical).
    pub(crate) async fn begin_routed(
        &self,
        realm: &RealmId,
        write: bool,
    ) -> Result<RealmTx, StoreError> {
        let first = self.route(realm).await?;
        if let Ok(tx) = self.shard(&first)?.begin_realm(realm, write, true).await? {
            return Ok(tx);
        }
        // Fenced: the realm moved since this node cached its route (or while we waited for the
        // mover's lock). Re-read the directory and try once more.
        self.routes().forget(realm);
        let second = self.route(realm).await?;
        match self.shard(&second)?.begin_realm(realm, write, true).await? {
            Ok(tx) => Ok(tx),
            Err(_) => {
                self.routes().forget(realm);
                Err(StoreError::shard(format!(
                    "realm {realm} is fenced on shard '{second}', where the directory places it: \
                     a move was interrupted; re-run `realmgate realm move` for it"
                )))
            }
        }
    }
}
