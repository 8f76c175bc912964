//! [`SystemTx`]: the named cross-realm handle. It serves the realm directory and realm lifecycle
//! only; realm data is never read through it. It runs on the directory shard; deleting a realm
//! that lives on another shard purges its rows there after the directory row's deletion commits.

use crate::row::{RowExt, flag, json, page};
use crate::shard::{DEFAULT_SHARD, canonical_realm};
use crate::{Store, StoreError, schema};
use realmgate_domain::{Realm, RealmId, RealmName};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

macro_rules! realm_cols {
    () => {
        "id, name, display_name, enabled, settings, created_at"
    };
}

/// A transaction with `realmgate.system = 'on'` (Postgres). Dropping it without
/// [`SystemTx::commit`] rolls back.
pub struct SystemTx {
    tx: Transaction<'static, Any>,
    store: Store,
    /// Realms deleted in this transaction whose rows live on other shards: (shard, realm).
    purge_after_commit: Vec<(String, RealmId)>,
    /// SQLite: the writer permit (see `Shard::writer`), released when the transaction ends.
    _writer: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl std::fmt::Debug for SystemTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemTx").finish_non_exhaustive()
    }
}

fn realm_from_row(row: &AnyRow) -> Result<Realm, StoreError> {
    let name = row.text("name")?;
    Ok(Realm {
        id: RealmId(row.text("id")?),
        name: RealmName::parse(&name).map_err(|e| StoreError::Corrupt(format!("name: {e}")))?,
        display_name: row.opt_text("display_name")?,
        enabled: row.flag("enabled")?,
        settings: row.json("settings")?,
        created_at: row.int("created_at")?,
    })
}

impl SystemTx {
    pub(crate) fn new(tx: Transaction<'static, Any>, store: Store) -> Self {
        Self {
            tx,
            store,
            purge_after_commit: Vec::new(),
            _writer: None,
        }
    }

    /// Keeps the SQLite writer permit until this transaction ends.
    pub(crate) fn holding(mut self, writer: Option<tokio::sync::OwnedSemaphorePermit>) -> Self {
        self._writer = writer;
        self
    }

    /// Commits; then purges the rows of realms deleted here that live on other shards (a failure
    /// there leaves unreachable rows behind, never a directory row without its realm).
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        for (shard, realm) in &self.purge_after_commit {
            self.store.purge_realm_on(shard, realm).await?;
        }
        Ok(())
    }

    /// Inserts a directory row on the shard placement picks (see [`SystemTx::insert_realm_on`]).
    pub async fn insert_realm(&mut self, r: &Realm) -> Result<(), StoreError> {
        self.insert_realm_on(r, None).await.map(|_| ())
    }

    /// Inserts a directory row; the id must be a UUID (stored in canonical form). The realm goes
    /// to `shard` when given, else to the non-draining shard with the lowest realm count per
    /// weight; returns the shard. `Conflict("realms_name")` when the name is taken.
    pub async fn insert_realm_on(
        &mut self,
        r: &Realm,
        shard: Option<&str>,
    ) -> Result<String, StoreError> {
        let id = canonical_realm(&r.id)?;
        let shard = self.store.place_on(&mut self.tx, shard, None).await?;
        sqlx::query(
            "INSERT INTO realms (id, name, display_name, enabled, settings, created_at, shard) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.0)
        .bind(r.name.as_str())
        .bind(r.display_name.as_deref())
        .bind(flag(r.enabled))
        .bind(json(&r.settings)?)
        .bind(r.created_at)
        .bind(shard.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(shard)
    }

    pub async fn realm_by_name(&mut self, name: &str) -> Result<Option<Realm>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            realm_cols!(),
            " FROM realms WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(realm_from_row).transpose()
    }

    pub async fn realm_by_id(&mut self, id: &RealmId) -> Result<Option<Realm>, StoreError> {
        let Ok(id) = canonical_realm(id) else {
            return Ok(None);
        };
        let row = sqlx::query(concat!(
            "SELECT ",
            realm_cols!(),
            " FROM realms WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(realm_from_row).transpose()
    }

    /// A page of realms ordered by name.
    pub async fn list_realms(&mut self, first: i64, max: i64) -> Result<Vec<Realm>, StoreError> {
        let (limit, offset) = page(first, max);
        let rows = sqlx::query(concat!(
            "SELECT ",
            realm_cols!(),
            " FROM realms ORDER BY name LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(realm_from_row).collect()
    }

    pub async fn count_realms(&mut self) -> Result<i64, StoreError> {
        let n = sqlx::query_scalar("SELECT COUNT(*) AS n FROM realms")
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(n)
    }

    /// Updates name (a rename), display name, enabled and settings. `NotFound` if absent.
    pub async fn update_realm(&mut self, r: &Realm) -> Result<(), StoreError> {
        let id = canonical_realm(&r.id)?;
        let done = sqlx::query(
            "UPDATE realms SET name = $2, display_name = $3, enabled = $4, settings = $5 \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(r.name.as_str())
        .bind(r.display_name.as_deref())
        .bind(flag(r.enabled))
        .bind(json(&r.settings)?)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes the realm's directory row and every row of the realm from every realm table (one
    /// statement per table, children first). Rows on the directory shard go in this transaction;
    /// rows on another shard (or on the target of an unfinished move) go right after
    /// [`SystemTx::commit`]. `NotFound` if the directory row is absent.
    pub async fn delete_realm(&mut self, id: &RealmId) -> Result<(), StoreError> {
        let id = canonical_realm(id)?;
        let row = sqlx::query("SELECT shard, moving_to FROM realms WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let shards = [Some(row.text("shard")?), row.opt_text("moving_to")?];
        for shard in shards.into_iter().flatten() {
            if shard == DEFAULT_SHARD {
                for stmt in schema::PURGE_REALM {
                    sqlx::query(*stmt)
                        .bind(id.as_str())
                        .execute(&mut *self.tx)
                        .await?;
                }
            } else {
                self.store.shard(&shard)?;
                self.purge_after_commit.push((shard, id.clone()));
            }
        }
        let done = sqlx::query("DELETE FROM realms WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.store.routes().forget(&id);
        Ok(())
    }
}
