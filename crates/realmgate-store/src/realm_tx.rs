//! [`RealmTx`]: the only handle through which realm data is read or written. Every statement it
//! runs binds its realm id, and on Postgres the transaction also carries
//! `SET LOCAL realmgate.realm_id` so row-level security backs the filter up.

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

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
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
