//! A realm transaction in one round trip (Postgres): `BEGIN` with the realm setting, one
//! `EXECUTE` of a server-side prepared statement, `COMMIT`, sent as one simple query. The hot
//! write of the refresh grant runs this way; a transaction of [`RealmTx`](crate::RealmTx) takes
//! three round trips for the same work (`BEGIN`, the statement, `COMMIT`).
//!
//! It runs on a connection of the shard's `TripPool` (no ping when the connection goes back).
//! The statement is prepared on a connection the first time it is executed there (`EXECUTE`
//! fails with SQLSTATE 26000, the transaction is rolled back, `PREPARE` runs, the query is sent
//! again), and lives as long as the connection. Arguments are inlined into the query text, so
//! they are only ever integers or UUIDs in canonical form ([`Literal`]).

use crate::shard::{Backend, Fenced, Shard, canonical_realm, is_fence};
use crate::{Store, StoreError};
use realmgate_domain::RealmId;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Executor, Row as _};
use std::fmt::Write as _;

/// SQLSTATE `invalid_sql_statement_name`: the statement is not prepared on this connection.
const NOT_PREPARED: &str = "26000";

/// The column of the row `SELECT realmgate_enter(..)` (the fence check) answers.
const ENTER_COLUMN: &str = "realmgate_enter";

/// A server-side prepared statement: `PREPARE {name} ({types}) AS {sql}`.
pub(crate) struct ServerStatement {
    pub name: &'static str,
    pub types: &'static str,
    pub sql: &'static str,
}

/// An argument safe to inline into SQL text: an integer, or a UUID re-rendered from its parse.
pub(crate) enum Literal {
    Int(i64),
    Uuid(uuid::Uuid),
}

impl Literal {
    /// `s` as a UUID literal; `None` if it is not a UUID (the caller then takes the slow path).
    pub(crate) fn uuid(s: &str) -> Option<Literal> {
        uuid::Uuid::parse_str(s).ok().map(Literal::Uuid)
    }
}

/// What a one-round-trip realm transaction gave.
pub(crate) enum OneTrip {
    /// Committed; the statement's first row, if it returned one.
    Done(Option<AnyRow>),
    /// Not run: SQLite, the realm is fenced on the shard its route names, or the statement cannot
    /// stay prepared (a transaction-pooling proxy between us and Postgres). The caller uses a
    /// [`RealmTx`](crate::RealmTx), which works in each case.
    NotHere,
}

impl Store {
    /// Runs `stmt` with `args` in a realm transaction of one round trip on the realm's shard.
    pub(crate) async fn realm_one_trip(
        &self,
        realm: &RealmId,
        stmt: &ServerStatement,
        args: &[Literal],
    ) -> Result<OneTrip, StoreError> {
        if self.backend() != Backend::Postgres {
            return Ok(OneTrip::NotHere);
        }
        let realm = canonical_realm(realm)?;
        let (shard, fenced) = if self.is_sharded() {
            let name = self.route(&realm).await?;
            (self.shard(&name)?.clone(), true)
        } else {
            (self.directory().clone(), false)
        };
        match shard.one_trip(&realm, fenced, stmt, args).await? {
            Ok(outcome) => Ok(outcome),
            Err(Fenced) => {
                self.routes().forget(&realm);
                Ok(OneTrip::NotHere)
            }
        }
    }
}

impl Shard {
    async fn one_trip(
        &self,
        realm: &RealmId,
        fenced: bool,
        stmt: &ServerStatement,
        args: &[Literal],
    ) -> Result<Result<OneTrip, Fenced>, StoreError> {
        let mut sql = self.realm_begin_fenced(realm, fenced);
        let _ = write!(sql, "; EXECUTE {}(", stmt.name);
        for (i, a) in args.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = match a {
                Literal::Int(n) => write!(sql, "{sep}{n}"),
                Literal::Uuid(u) => write!(sql, "{sep}'{}'", u.hyphenated()),
            };
        }
        sql.push_str("); COMMIT");
        let mut taken = self.trips().take().await?;
        let mut outcome = run(&mut taken.conn, &sql).await;
        if matches!(&outcome, Err(e) if has_code(e, NOT_PREPARED)) {
            rollback(&mut taken.conn).await?;
            let prepare = format!("PREPARE {} ({}) AS {}", stmt.name, stmt.types, stmt.sql);
            taken.conn.execute(AssertSqlSafe(prepare)).await?;
            outcome = run(&mut taken.conn, &sql).await;
            if matches!(&outcome, Err(e) if has_code(e, NOT_PREPARED)) {
                // Prepared, yet unknown at once: a transaction-pooling proxy (PgBouncer) put the
                // two on different server connections. The caller takes the transactional path.
                rollback(&mut taken.conn).await?;
                self.trips().give_back(taken);
                return Ok(Ok(OneTrip::NotHere));
            }
        }
        match outcome {
            Ok(rows) => {
                self.trips().give_back(taken);
                // The statement's row: the fence check, when sent, answers a row of its own first.
                let row = rows
                    .into_iter()
                    .find(|r| r.try_column(ENTER_COLUMN).is_err());
                Ok(Ok(OneTrip::Done(row)))
            }
            // The fence is checked before `BEGIN`: the connection is idle.
            Err(e) if is_fence(&e) => {
                self.trips().give_back(taken);
                Ok(Err(Fenced))
            }
            // Anything else closes the connection (dropping `taken`), whatever state it is in.
            Err(e) => Err(e.into()),
        }
    }
}

async fn run(conn: &mut AnyConnection, sql: &str) -> Result<Vec<AnyRow>, sqlx::Error> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .fetch_all(conn)
        .await
}

fn has_code(e: &sqlx::Error, code: &str) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some(code))
}

/// Rolls back the transaction a failed query left open (an error drops the connection).
async fn rollback(conn: &mut AnyConnection) -> Result<(), StoreError> {
    conn.execute("ROLLBACK").await?;
    Ok(())
}
