//! Moving a realm to another shard (`realmgate realm move`, `realmgate shard drain`). Every step is
//! idempotent and the directory row says where a re-run resumes:
//!
//! 1. mark the directory row `moving_to = target`;
//! 2. on the source, take the realm's advisory lock exclusively on a connection of its own: it
//!    waits for the realm's in-flight transactions and holds new ones back at `realmgate_enter()`
//!    — the pause starts (bounded by `max_pause`, also as the lock wait's `lock_timeout`);
//! 3. in one transaction on the target, copy every realm table's rows (parents first, as JSON
//!    through `json_populate_recordset`) and verify the per-table counts against the source
//!    (leftovers of a crashed run on the target are deleted before the pause);
//! 4. fence the realm on the source (`realm_fences`), unfence it on the target (it may be moving
//!    back), switch the directory row (`shard = target`, `moving_to = NULL`);
//! 5. release the lock — the pause ends; held-back transactions wake, hit the fence and re-route
//!    to the target — and delete the realm's rows on the source.
//!
//! A crash releases the lock with its connection. Before step 4 the source is still the realm's
//! home and a re-run copies again; between the fence and the switch the realm is unavailable
//! until a re-run (which finds the source intact and finishes); after the switch a re-run finds
//! the realm on the target and only deletes leftovers. Signing keys are realm rows, so they move
//! with the realm and tokens issued before the move keep verifying.

use crate::row::RowExt;
use crate::schema::{PURGE_REALM, REALM_TABLES};
use crate::shard::{Backend, Shard, canonical_realm};
use crate::{Store, StoreError};
use realmgate_domain::RealmId;
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};
use std::time::{Duration, Instant};

/// How a move may behave.
#[derive(Debug, Clone)]
pub struct MoveOptions {
    /// The longest the realm may be paused; a move that cannot copy and verify within it is
    /// rolled back and fails, leaving the realm where it was.
    pub max_pause: Duration,
    /// Test support: stop (as if the process died) right after this step.
    #[doc(hidden)]
    pub crash_after: Option<MoveStep>,
}

impl Default for MoveOptions {
    fn default() -> Self {
        Self {
            max_pause: Duration::from_secs(5),
            crash_after: None,
        }
    }
}

/// Test support: the steps after which [`MoveOptions::crash_after`] can stop a move.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveStep {
    /// The directory row says `moving_to`.
    Marked,
    /// The target holds a verified, committed copy.
    Copied,
    /// The source is fenced; the directory still points at it.
    Fenced,
    /// The directory points at the target; the source still has the rows.
    Switched,
}

/// What a move did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveOutcome {
    Moved(MoveReport),
    /// The realm was already on the target; `cleaned` lists the shards where leftovers of an
    /// earlier, interrupted move were deleted.
    AlreadyThere {
        shard: String,
        cleaned: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveReport {
    pub from: String,
    pub to: String,
    /// From asking for the realm's lock to releasing it: how long the realm's requests waited.
    pub pause: Duration,
    /// Rows copied per realm table (parents first).
    pub rows: Vec<(&'static str, i64)>,
    /// This run finished a move an earlier run had started.
    pub resumed: bool,
}

/// The class half of the realm's advisory lock key (see `realmgate_enter()` in migration 0002).
const LOCK: &str = "1380384769, hashtext($1)";
/// Postgres' `lock_not_available`, raised when `lock_timeout` expires.
const LOCK_TIMEOUT: &str = "55P03";

impl Store {
    /// Moves `realm` to the shard `to` (see the module documentation); `now` stamps the fence.
    /// Safe to re-run after a failure or crash at any point; a realm already on `to` only gets
    /// leftovers of an interrupted move deleted elsewhere.
    pub async fn move_realm(
        &self,
        realm: &RealmId,
        to: &str,
        now: i64,
        opts: &MoveOptions,
    ) -> Result<MoveOutcome, StoreError> {
        let realm = canonical_realm(realm)?;
        let target = self.shard(to)?.clone();
        let (from, moving_to) = self.realm_shard(&realm).await?;
        if let Some(stale) = moving_to.as_deref().filter(|m| *m != to && *m != from) {
            // An unfinished move elsewhere: its copy (if any) is not the realm's home.
            self.purge_realm_on(stale, &realm).await?;
            self.set_moving_to(&realm, &from, None).await?;
        }
        if from == to {
            let mut cleaned = Vec::new();
            for shard in self.shards().filter(|s| s.name() != to) {
                if self.purge_realm_on(shard.name(), &realm).await? > 0 {
                    cleaned.push(shard.name().to_owned());
                }
            }
            if moving_to.is_some() {
                self.set_moving_to(&realm, &from, None).await?;
            }
            return Ok(MoveOutcome::AlreadyThere {
                shard: from,
                cleaned,
            });
        }
        let source = self.shard(&from)?.clone();
        if source.backend() != Backend::Postgres || target.backend() != Backend::Postgres {
            return Err(StoreError::shard("moving a realm needs Postgres shards"));
        }
        let resumed = moving_to.as_deref() == Some(to);
        self.set_moving_to(&realm, &from, Some(to)).await?;
        crash_point(opts, MoveStep::Marked)?;

        // Leftovers of a crashed run on the target are not the realm's: nothing else writes the
        // realm there while the directory points at the source. Deleted before the pause.
        self.purge_realm_on(to, &realm).await?;
        let mut lock = source.connect().await?;
        let ms = opts.max_pause.as_millis().clamp(1, i32::MAX as u128);
        lock.execute(AssertSqlSafe(format!("SET lock_timeout = {ms}")))
            .await?;
        let started = Instant::now();
        let locked = sqlx::query_scalar::<_, i64>(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM (SELECT pg_advisory_lock({LOCK})) AS l"
        )))
        .bind(realm.as_str())
        .fetch_one(&mut lock)
        .await;
        if let Err(e) = locked {
            let timed_out = matches!(&e, sqlx::Error::Database(db)
                if db.code().as_deref() == Some(LOCK_TIMEOUT));
            self.set_moving_to(&realm, &from, None).await?;
            return Err(if timed_out {
                StoreError::shard(format!(
                    "could not pause realm {realm} within {:?}: its transactions on shard \
                     '{from}' did not finish in time; nothing changed, try again",
                    opts.max_pause
                ))
            } else {
                e.into()
            });
        }
        lock.execute("SET lock_timeout = 0").await?;
        let (now_from, now_moving) = self.realm_shard(&realm).await?;
        if now_from != from || now_moving.as_deref() != Some(to) {
            return Err(StoreError::shard(format!(
                "realm {realm} changed while waiting for its lock (another move?); re-run the move"
            )));
        }

        let copied = copy_realm(&mut lock, &source, &target, &realm, started, opts).await;
        let rows = match copied {
            Ok(rows) => rows,
            Err(e) => {
                // The target transaction rolled back; the realm stays where it was.
                drop(lock);
                self.set_moving_to(&realm, &from, None).await?;
                return Err(e);
            }
        };
        crash_point(opts, MoveStep::Copied)?;

        sqlx::query(
            "INSERT INTO realm_fences (realm_id, moved_to, fenced_at) VALUES ($1, $2, $3) \
             ON CONFLICT (realm_id) DO UPDATE SET moved_to = excluded.moved_to, \
             fenced_at = excluded.fenced_at",
        )
        .bind(realm.as_str())
        .bind(to)
        .bind(now)
        .execute(&mut lock)
        .await?;
        crash_point(opts, MoveStep::Fenced)?;
        sqlx::query("DELETE FROM realm_fences WHERE realm_id = $1")
            .bind(realm.as_str())
            .execute(target.pool())
            .await?;
        let switched = sqlx::query(
            "UPDATE realms SET shard = $2, moving_to = NULL WHERE id = $1 AND shard = $3",
        )
        .bind(realm.as_str())
        .bind(to)
        .bind(from.as_str())
        .execute(self.directory().pool())
        .await?;
        crate::repo::found(switched.rows_affected())?;
        self.routes().insert(&realm, to);
        crash_point(opts, MoveStep::Switched)?;

        sqlx::query_scalar::<_, i64>(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM (SELECT pg_advisory_unlock({LOCK})) AS l"
        )))
        .bind(realm.as_str())
        .fetch_one(&mut lock)
        .await?;
        let pause = started.elapsed();
        let _ = lock.close().await;
        self.purge_realm_on(&from, &realm).await?;
        Ok(MoveOutcome::Moved(MoveReport {
            from,
            to: to.to_owned(),
            pause,
            rows,
            resumed,
        }))
    }

    /// Deletes every row of `realm` from the realm tables of `shard` (a system transaction there);
    /// returns the rows deleted directly.
    pub(crate) async fn purge_realm_on(
        &self,
        shard: &str,
        realm: &RealmId,
    ) -> Result<u64, StoreError> {
        let shard = self.shard(shard)?;
        let mut tx = shard.pool().begin_with(shard.system_begin()).await?;
        let mut deleted = 0;
        for stmt in PURGE_REALM {
            deleted += sqlx::query(*stmt)
                .bind(realm.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Sets (or clears) the directory row's `moving_to`, provided the realm is still on `from`.
    async fn set_moving_to(
        &self,
        realm: &RealmId,
        from: &str,
        to: Option<&str>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE realms SET moving_to = $3 WHERE id = $1 AND shard = $2")
            .bind(realm.as_str())
            .bind(from)
            .bind(to)
            .execute(self.directory().pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::shard(format!(
                "realm {realm} is no longer on shard '{from}' (another move?); re-run the move"
            )));
        }
        Ok(())
    }
}

fn crash_point(opts: &MoveOptions, step: MoveStep) -> Result<(), StoreError> {
    if opts.crash_after == Some(step) {
        return Err(StoreError::shard(format!("simulated crash after {step:?}")));
    }
    Ok(())
}

/// Step 3 and the pause check: one transaction on the target that copies every realm table from
/// the source (read on the lock holder's connection, in one snapshot) and verifies the counts;
/// committed only if the pause is still within bounds. The target holds none of the realm's rows:
/// leftovers of a crashed run were deleted before the pause.
async fn copy_realm(
    lock: &mut AnyConnection,
    source: &Shard,
    target: &Shard,
    realm: &RealmId,
    started: Instant,
    opts: &MoveOptions,
) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let read_begin = source.realm_begin(realm).replacen(
        "BEGIN;",
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;",
        1,
    );
    let mut read = lock.begin_with(AssertSqlSafe(read_begin)).await?;
    let mut write = target
        .pool()
        .begin_with(AssertSqlSafe(target.realm_begin(realm)))
        .await?;
    let mut rows = Vec::with_capacity(REALM_TABLES.len());
    for table in REALM_TABLES.iter().rev() {
        let source_rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT COALESCE(json_agg(t), '[]')::text AS j, COUNT(*) AS n \
             FROM {table} t WHERE t.realm_id = $1"
        )))
        .bind(realm.as_str())
        .fetch_one(&mut *read)
        .await?;
        let (json, at_source) = (source_rows.text("j")?, source_rows.int("n")?);
        let count = format!("SELECT COUNT(*) AS n FROM {table} WHERE realm_id = $1");
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, $1::json) \
             ON CONFLICT DO NOTHING"
        )))
        .bind(json)
        .execute(&mut *write)
        .await?;
        let at_target: i64 = sqlx::query_scalar(AssertSqlSafe(count))
            .bind(realm.as_str())
            .fetch_one(&mut *write)
            .await?;
        if at_source != at_target {
            return Err(StoreError::shard(format!(
                "verification failed for realm {realm}: {table} has {at_source} rows on shard \
                 '{}' but {at_target} on '{}' after the copy; nothing changed",
                source.name(),
                target.name()
            )));
        }
        rows.push((*table, at_source));
    }
    read.commit().await?;
    if started.elapsed() > opts.max_pause {
        write.rollback().await?;
        return Err(StoreError::shard(format!(
            "copying realm {realm} took longer than the allowed pause of {:?}; rolled back, \
             the realm stays on shard '{}' (raise --max-pause or move at a quieter time)",
            opts.max_pause,
            source.name()
        )));
    }
    write.commit().await?;
    Ok(rows)
}

impl Store {
    /// Drains `shard`: marks it draining (placement skips it), then moves every realm on it to
    /// the best other shard, reporting each move to `progress` (realm name, outcome) as it ends.
    /// Re-runnable: realms already moved are not on the shard any more, and a realm an earlier
    /// run left half-moved towards it is settled where the directory places it.
    pub async fn drain_shard(
        &self,
        shard: &str,
        now: i64,
        opts: &MoveOptions,
        mut progress: impl FnMut(&str, &MoveOutcome),
    ) -> Result<usize, StoreError> {
        self.shard(shard)?;
        self.set_draining(shard, true).await?;
        let mut moved = 0;
        for (id, name) in self.realms_on_shard(shard).await? {
            let (home, _) = self.realm_shard(&id).await?;
            let to = if home == shard {
                let mut conn = self.directory().pool().acquire().await?;
                self.place_on(&mut conn, None, Some(shard)).await?
            } else {
                home
            };
            let outcome = self.move_realm(&id, &to, now, opts).await?;
            if matches!(outcome, MoveOutcome::Moved(_)) {
                moved += 1;
            }
            progress(&name, &outcome);
        }
        Ok(moved)
    }
}
