//! [`Store`]: the shards (one [`Shard`] per database, `default` hosting the directory), the realm →
//! shard routes, migrations and the two ways into the data — a realm-scoped transaction, routed
//! to the realm's shard, or the named system handle on the directory.

use crate::router::Routes;
use crate::shard::{Backend, DEFAULT_SHARD, Shard, ShardSpec, canonical_realm};
use crate::{RealmTx, StoreError, SystemTx};
use realmgate_domain::RealmId;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The database(s): the directory shard plus every configured shard. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// The `default` shard: `database.url`, which also hosts the directory.
    directory: Shard,
    /// Every shard by name, `default` included.
    shards: BTreeMap<String, Shard>,
    /// Realm → shard name, filled from the directory.
    routes: Routes,
    /// Recent per-shard realm counts for placement (see `placement.rs`).
    pub(crate) counts: crate::placement::CountCache,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("shards", &self.inner.shards.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens a pool on `sqlite://path/to/realmgate.db` (file and directories are created when
    /// missing; `sqlite::memory:` works too) or `postgres://...`: a single shard, `default`. Does
    /// not migrate.
    pub async fn open(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        Self::open_sharded(url, 1, &[], max_connections).await
    }

    /// Opens the directory shard (`default_url`, named `default`, weighted `default_weight`) and
    /// every other shard, each with its own pool of `max_connections`. Shards are Postgres only;
    /// names must be unique and `default` is reserved. Does not migrate.
    pub async fn open_sharded(
        default_url: &str,
        default_weight: u32,
        shards: &[ShardSpec],
        max_connections: u32,
    ) -> Result<Store, StoreError> {
        let default = ShardSpec {
            name: DEFAULT_SHARD.to_owned(),
            url: default_url.to_owned(),
            weight: default_weight,
        };
        check_specs(&default, shards)?;
        let directory = Shard::open(&default, max_connections).await?;
        let mut all = BTreeMap::new();
        all.insert(DEFAULT_SHARD.to_owned(), directory.clone());
        for spec in shards {
            let shard = Shard::open(spec, max_connections).await?;
            all.insert(spec.name.clone(), shard);
        }
        Ok(Store {
            inner: Arc::new(Inner {
                directory,
                shards: all,
                routes: Routes::default(),
                counts: Default::default(),
            }),
        })
    }

    pub(crate) fn counts(&self) -> &crate::placement::CountCache {
        &self.inner.counts
    }

    /// Applies the pending migrations on every shard (idempotent and safe to run concurrently:
    /// Postgres takes an advisory lock), then registers every configured shard in the directory
    /// (inserted when missing, weight updated; the draining flag is kept).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.inner.directory.migrate().await?;
        for shard in self.inner.shards.values() {
            if shard.name() != DEFAULT_SHARD {
                shard.migrate().await?;
            }
        }
        for shard in self.inner.shards.values() {
            self.register_shard(shard).await?;
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.inner.directory.backend()
    }

    /// More than one shard is configured: realm transactions check the realm's fence.
    pub fn is_sharded(&self) -> bool {
        self.inner.shards.len() > 1
    }

    /// The configured shard names, `default` included, sorted.
    pub fn shard_names(&self) -> Vec<String> {
        self.inner.shards.keys().cloned().collect()
    }

    /// Pings every shard.
    pub async fn ping(&self) -> Result<(), StoreError> {
        for shard in self.inner.shards.values() {
            shard.ping().await?;
        }
        Ok(())
    }

    /// The named cross-realm handle on the directory: realm directory and realm lifecycle.
    pub async fn system(&self) -> Result<SystemTx, StoreError> {
        self.inner.directory.system(self.clone()).await
    }

    /// [`Store::system`], read-only: for looking realms up in the directory. Writing through it
    /// fails (on SQLite a deferred transaction that writes can fail with SQLITE_BUSY).
    pub async fn system_read(&self) -> Result<SystemTx, StoreError> {
        self.inner.directory.system_read(self.clone()).await
    }

    /// A realm-scoped write transaction on the realm's shard. On SQLite it starts with
    /// `BEGIN IMMEDIATE`, so concurrent writers queue on `busy_timeout` instead of failing on a
    /// lock upgrade.
    pub async fn realm(&self, realm: &RealmId) -> Result<RealmTx, StoreError> {
        self.begin_realm(realm, true).await
    }

    /// A realm-scoped read transaction (deferred on SQLite). Use [`Store::realm`] for anything
    /// that writes: on SQLite a deferred transaction that later writes can fail with SQLITE_BUSY.
    pub async fn realm_read(&self, realm: &RealmId) -> Result<RealmTx, StoreError> {
        self.begin_realm(realm, false).await
    }

    pub async fn close(&self) {
        for shard in self.inner.shards.values() {
            shard.close().await;
        }
    }

    pub(crate) fn directory(&self) -> &Shard {
        &self.inner.directory
    }

    pub(crate) fn routes(&self) -> &Routes {
        &self.inner.routes
    }

    /// The configured shard `name`, or a clear error naming it.
    pub(crate) fn shard(&self, name: &str) -> Result<&Shard, StoreError> {
        self.inner.shards.get(name).ok_or_else(|| {
            StoreError::shard(format!(
                "shard '{name}' is not configured (configured: {})",
                self.shard_names().join(", ")
            ))
        })
    }

    pub(crate) fn shards(&self) -> impl Iterator<Item = &Shard> {
        self.inner.shards.values()
    }

    async fn begin_realm(&self, realm: &RealmId, write: bool) -> Result<RealmTx, StoreError> {
        let realm = canonical_realm(realm)?;
        if !self.is_sharded() {
            // One database: no directory lookup, no fence — the hot path of a single shard.
            return match self
                .inner
                .directory
                .begin_realm(&realm, write, false)
                .await?
            {
                Ok(tx) => Ok(tx),
                Err(_) => Err(StoreError::NotFound),
            };
        }
        self.begin_routed(&realm, write).await
    }
}

/// Shard names are short identifiers; `default` is `database.url`'s; weights are at least 1;
/// more than one shard means Postgres everywhere.
fn check_specs(default: &ShardSpec, shards: &[ShardSpec]) -> Result<(), StoreError> {
    let mut seen = std::collections::BTreeSet::from([DEFAULT_SHARD]);
    for spec in std::iter::once(default).chain(shards) {
        if spec.weight == 0 {
            return Err(StoreError::shard(format!(
                "shard '{}': weight must be at least 1",
                spec.name
            )));
        }
        if !shards.is_empty() && Backend::of_url(&spec.url)? != Backend::Postgres {
            return Err(StoreError::shard(
                "shards need Postgres: every shard url (and database.url) must be postgres://",
            ));
        }
    }
    for spec in shards {
        if !valid_shard_name(&spec.name) {
            return Err(StoreError::shard(format!(
                "shard name '{}' must be 1-63 characters of a-z, 0-9, '-' and '_'",
                spec.name
            )));
        }
        if !seen.insert(spec.name.as_str()) {
            return Err(StoreError::shard(format!(
                "shard name '{}' is used twice (or is the reserved 'default')",
                spec.name
            )));
        }
    }
    Ok(())
}

/// 1–63 characters of `a-z`, `0-9`, `-`, `_`.
pub fn valid_shard_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}
