//! [`RealmTx`]: the only handle through which realm data is read or written. Every statement it
//! runs binds its realm id, and on Postgres the transaction also carries
//! `SET LOCAL realmgate.realm_id` so row-level security backs the filter up.

use crate::row::RowExt;
use crate::{StoreError, schema};
use realmgate_domain::RealmId;
use sqlx::AnyConnection;
use sqlx::{Any, AssertSqlSafe, Transaction};

/// A transaction scoped to one realm. Dropping it without [`RealmTx::commit`] rolls back.
pub struct RealmTx {
    realm: RealmId,
    tx: Transaction<'static, Any>,
    /// SQLite write transactions: the writer permit (see `Shard::writer`), released at the end.
    _writer: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Writes changed the realm's configuration, its keys: [`RealmTx::commit`] bumps the
    /// revisions.
    changed: (bool, bool),
}

/// A realm's configuration revisions (see [`RealmTx::config_revision`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RealmRevision {
    /// Clients, roles and their mappings, groups, organisations, users.
    pub config: i64,
    /// Signing keys.
    pub keys: i64,
}

impl std::fmt::Debug for RealmTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealmTx")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl RealmTx {
    pub(crate) fn new(realm: RealmId, tx: Transaction<'static, Any>) -> Self {
        Self {
            realm,
            tx,
            _writer: None,
            changed: (false, false),
        }
    }

    /// Keeps the SQLite writer permit until this transaction ends.
    pub(crate) fn holding(mut self, writer: Option<tokio::sync::OwnedSemaphorePermit>) -> Self {
        self._writer = writer;
        self
    }

    /// The realm (canonical UUID form) every statement of this transaction is bound to.
    pub fn realm_id(&self) -> &RealmId {
        &self.realm
    }

    /// Commits. A transaction that changed the realm's configuration or keys (see
    /// [`RealmTx::config_revision`]) bumps the revision first, in the same transaction.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let (config, keys) = self.changed;
        if config || keys {
            let (config, keys) = (i64::from(config), i64::from(keys));
            let (realm, db) = self.parts();
            sqlx::query(
                "INSERT INTO realm_revisions (realm_id, rev, keys_rev) VALUES ($1, $2, $3) \
                 ON CONFLICT (realm_id) DO UPDATE SET rev = realm_revisions.rev + $2, \
                 keys_rev = realm_revisions.keys_rev + $3",
            )
            .bind(realm)
            .bind(config)
            .bind(keys)
            .execute(db)
            .await?;
        }
        self.tx.commit().await?;
        Ok(())
    }

    /// Marks this transaction as changing what nodes cache of the realm under the safety TTL
    /// (clients, roles and their mappings, groups, organisations, users). Every write method
    /// of those tables calls it.
    pub(crate) fn config_changed(&mut self) {
        self.changed.0 = true;
    }

    /// Marks this transaction as changing the realm's signing keys (every write method of them
    /// calls it).
    pub(crate) fn keys_changed(&mut self) {
        self.changed.1 = true;
    }

    /// The realm's revisions: each 0 for a realm never changed since revisions were kept, then
    /// one more per committed transaction that changed its configuration (its keys). Read them
    /// first in a transaction that loads something to cache: a change committed after this read
    /// bumps them past the values read, so a later [`crate::Store::config_revisions`] tells the
    /// cached copy is stale.
    pub async fn config_revision(&mut self) -> Result<RealmRevision, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query("SELECT rev, keys_rev FROM realm_revisions WHERE realm_id = $1")
            .bind(realm)
            .fetch_optional(db)
            .await?;
        match row {
            Some(row) => Ok(RealmRevision {
                config: row.int("rev")?,
                keys: row.int("keys_rev")?,
            }),
            None => Ok(RealmRevision::default()),
        }
    }

    /// Rolls back explicitly (dropping does the same, lazily).
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback().await?;
        Ok(())
    }

    /// Whether this transaction runs on Postgres (some statements have a one-round-trip form
    /// there that SQLite cannot run).
    pub(crate) fn is_postgres(&self) -> bool {
        self.tx.backend_name() == "PostgreSQL"
    }

    /// The realm id to bind and the connection to run on, borrowed together.
    pub(crate) fn parts(&mut self) -> (&str, &mut AnyConnection) {
        (self.realm.as_str(), &mut *self.tx)
    }

    /// Test support: `SELECT COUNT(*) FROM {table}` with NO realm filter — on Postgres row-level
    /// security must still restrict it to this realm; on SQLite it counts every realm's rows.
    #[doc(hidden)]
    pub async fn raw_count(&mut self, table: &'static str) -> Result<i64, StoreError> {
        let table = schema::realm_table(table)?;
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let n = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(n)
    }

    /// Test support: the number of this realm's rows in `table` (filtered by `realm_id`).
    #[doc(hidden)]
    pub async fn raw_count_realm(&mut self, table: &'static str) -> Result<i64, StoreError> {
        let table = schema::realm_table(table)?;
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE realm_id = $1");
        let (realm, db) = self.parts();
        let n = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(realm)
            .fetch_one(db)
            .await?;
        Ok(n)
    }

    /// Test support: runs a static statement with text arguments, bypassing the repositories (to
    /// prove that row-level security rejects what the repositories would never send).
    #[doc(hidden)]
    pub async fn raw_execute(
        &mut self,
        sql: &'static str,
        args: &[&str],
    ) -> Result<u64, StoreError> {
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(a.to_string());
        }
        Ok(q.execute(&mut *self.tx).await?.rows_affected())
    }
}
