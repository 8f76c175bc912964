//! [`Store::config_revisions`]: many realms' configuration revisions (see
//! [`RealmTx::config_revision`](crate::RealmTx::config_revision)) in one statement per shard, so
//! a node re-validates the cached entries of many realms for the price of one store read.

use crate::row::RowExt;
use crate::shard::{Backend, Shard, canonical_realm};
use crate::{RealmRevision, Store, StoreError};
use realmgate_domain::RealmId;
use sqlx::AssertSqlSafe;
use std::collections::{BTreeMap, HashMap};

/// Realms per statement: far below SQLite's and Postgres's limits on bound parameters.
const CHUNK: usize = 500;

impl Store {
    /// The revisions of each of `realms`, in order: `Some` (zeros for a realm never changed
    /// since revisions were kept, or gone), or `None` where only the realm's own
    /// transaction can tell: an id that is not a UUID, a realm missing from the directory, or
    /// one fenced on the shard its route names (it moved; a full re-read routes it again).
    pub async fn config_revisions(
        &self,
        realms: &[RealmId],
    ) -> Result<Vec<Option<RealmRevision>>, StoreError> {
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
                        *slot = found
                            .get(realm.as_str())
                            .copied()
                            .unwrap_or(Some(RealmRevision::default()));
                    }
                }
            }
        }
        Ok(out)
    }
}

fn revision(row: &sqlx::any::AnyRow) -> Result<RealmRevision, StoreError> {
    Ok(RealmRevision {
        config: row.int("rev")?,
        keys: row.int("keys_rev")?,
    })
}

impl Shard {
    /// The revisions stored here for `realms` (canonical ids); with `fenced`, the realms fenced
    /// here map to `None`. Absent realms are absent from the map.
    async fn config_revisions<'a>(
        &self,
        realms: impl Iterator<Item = &'a str>,
        fenced: bool,
    ) -> Result<HashMap<String, Option<RealmRevision>>, StoreError> {
        let realms: Vec<&str> = realms.collect();
        let list = (1..=realms.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let revs = format!(
            "SELECT realm_id, rev, keys_rev FROM realm_revisions WHERE realm_id IN ({list})"
        );
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
                out.insert(row.text("realm_id")?, Some(revision(&row)?));
            }
            return Ok(out);
        }
        // Postgres: a system transaction, so row-level security lets it see every realm's row.
        let mut tx = self.begin_system_read().await?;
        for row in bound(&revs).fetch_all(&mut *tx).await? {
            out.insert(row.text("realm_id")?, Some(revision(&row)?));
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

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    /// The tables whose rows nodes cache under the safety TTL, re-validated by the revision.
    const CONFIG_TABLES: &[&str] = &[
        "clients",
        "users",
        "roles",
        "role_composites",
        "user_roles",
        "groups",
        "group_roles",
        "user_groups",
        "organizations",
        "org_members",
        "signing_keys",
    ];

    /// Every repository method that writes one of [`CONFIG_TABLES`] marks its transaction, so
    /// its commit bumps the revision: a write method added without the mark fails here.
    /// Every `.rs` file under `dir`, as (path, text), recursively.
    fn sources(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            panic!("cannot list {}", dir.display());
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    panic!("cannot read {}", path.display());
                };
                out.push((path.display().to_string(), text));
            }
        }
    }

    #[test]
    fn every_write_of_a_configuration_table_bumps_the_revision() {
        // Every file of the store's sources, so a write added anywhere (a new repository file
        // too) is checked; `realm_tx.rs` writes only `realm_revisions`.
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        assert!(files.len() > 20, "{} source files", files.len());
        let mut writers = 0;
        for (file, src) in &files {
            // The schema's purge list and shard moves write every realm table on behalf of the
            // directory (a deleted or moved realm), not a change to a live realm's configuration.
            if file.ends_with("schema.rs") || file.ends_with("shard_move.rs") {
                continue;
            }
            for method in src.split("async fn ").skip(1) {
                let name = method.split('(').next().unwrap_or_default();
                let writes = CONFIG_TABLES.iter().any(|t| {
                    method.contains(&format!("INSERT INTO {t} "))
                        || method.contains(&format!("UPDATE {t} SET"))
                        || method.contains(&format!("DELETE FROM {t} WHERE"))
                });
                if writes {
                    writers += 1;
                    let mark = if file.ends_with("repo/keys.rs") {
                        "self.keys_changed();"
                    } else {
                        "self.config_changed();"
                    };
                    assert!(
                        method.contains(mark),
                        "{file}: {name} writes a configuration table without marking its \
                         transaction (`{mark}`)"
                    );
                }
            }
        }
        // clients 3, keys 3, roles 7, groups 7, organisations 6, users 3.
        assert_eq!(writers, 29);
    }
}
