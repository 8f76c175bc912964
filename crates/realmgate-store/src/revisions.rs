//! [`Store::config_revisions`]: many realms' configuration revisions (see
//! [`RealmTx::config_revision`](crate::RealmTx::config_revision)) in one statement per shard, so
//! a node re-validates the cached entries of many realms for the price of one store read.

use crate::row::RowExt;
use crate::shard::{Backend, Shard, canonical_realm};
use crate::{Store, StoreError};
use realmgate_domain::RealmId;
use sqlx::AssertSqlSafe;
use std::collections::{BTreeMap, HashMap};

/// Realms per statement: far below SQLite's and Postgres's limits on bound parameters.
const CHUNK: usize = 500;

impl Store {
    /// The configuration revision of each of `realms`, in order: `Some(rev)` (0 for a realm
    /// never changed since revisions were kept, or gone), or `None` where only the realm's own
    /// transaction can tell: an id that is not a UUID, a realm missing from the directory, or
    /// one fenced on the shard its route names (it moved; a full re-read routes it again).
    pub async fn config_revisions(
        &self,
        realms: &[RealmId],
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let mut out = vec![None; realms.len()];
        // Shard name (empty on a single database) → (position in `realms`, canonical id).
        let mut by_shard: BTreeMap<String, Vec<(usize, RealmId)>> = BTreeMap::new();
        for (i, realm) in realms.iter().enumerate() {
            let Ok(realm) = canonical_realm(realm) else {
                continue;
            };
            let shard = if self.is_sharded() {
                match self.route(&realm).await {
                    Ok(shard) => shard,
                    Err(StoreError::NotFound) => continue,
                    Err(e) => return Err(e),
                }
            } else {
                String::new()
            };
            by_shard.entry(shard).or_default().push((i, realm));
        }
        for (name, ids) in by_shard {
            let shard = if self.is_sharded() {
                self.shard(&name)?
            } else {
                self.directory()
            };
            for chunk in ids.chunks(CHUNK) {
                let found = shard
                    .config_revisions(chunk.iter().map(|(_, r)| r.as_str()), self.is_sharded())
                    .await?;
                for (i, realm) in chunk {
                    if let Some(slot) = out.get_mut(*i) {
                        *slot = found.get(realm.as_str()).copied().unwrap_or(Some(0));
                    }
                }
            }
        }
        Ok(out)
    }
}

impl Shard {
    /// The revisions stored here for `realms` (canonical ids); with `fenced`, the realms fenced
    /// here map to `None`. Absent realms are absent from the map.
    async fn config_revisions<'a>(
        &self,
        realms: impl Iterator<Item = &'a str>,
        fenced: bool,
    ) -> Result<HashMap<String, Option<i64>>, StoreError> {
        let realms: Vec<&str> = realms.collect();
        let list = (1..=realms.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let revs = format!("SELECT realm_id, rev FROM realm_revisions WHERE realm_id IN ({list})");
        let fences = format!("SELECT realm_id FROM realm_fences WHERE realm_id IN ({list})");
        let mut out = HashMap::with_capacity(realms.len());
        let bound = |sql: &str| {
            let mut q = sqlx::query(AssertSqlSafe(sql.to_owned()));
            for r in &realms {
                q = q.bind(r.to_string());
            }
            q
        };
        if self.backend() == Backend::Sqlite {
            // One statement, one snapshot: no transaction needed (and no writer permit taken).
            for row in bound(&revs).fetch_all(self.pool()).await? {
                out.insert(row.text("realm_id")?, Some(row.int("rev")?));
            }
            return Ok(out);
        }
        // Postgres: a system transaction, so row-level security lets it see every realm's row.
        let mut tx = self.pool().begin_with(self.system_begin()).await?;
        for row in bound(&revs).fetch_all(&mut *tx).await? {
            out.insert(row.text("realm_id")?, Some(row.int("rev")?));
        }
        if fenced {
            for row in bound(&fences).fetch_all(&mut *tx).await? {
                out.insert(row.text("realm_id")?, None);
            }
        }
        tx.rollback().await?;
        Ok(out)
    }
}
