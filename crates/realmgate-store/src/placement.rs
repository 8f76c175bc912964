//! The shard registry in the directory (`shards`: weight and draining flag of every configured
//! shard) and the placement of new realms: an explicit shard, or the non-draining shard with the
//! lowest `realm count / weight` (ties: the heavier, then the first by name).

use crate::row::RowExt;
use crate::shard::{Backend, DEFAULT_SHARD, Shard};
use crate::{Store, StoreError};
use realmgate_domain::RealmId;
use sqlx::AnyConnection;

/// One shard as the directory and this process's configuration see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    pub name: String,
    /// The registered weight (the configured one when not registered yet).
    pub weight: i64,
    pub draining: bool,
    /// Realms the directory places on this shard.
    pub realms: i64,
    /// Realms with an unfinished move towards this shard.
    pub moving_in: i64,
    /// In this process's configuration (a registered shard that is not cannot be reached).
    pub configured: bool,
    /// In the directory's `shards` table.
    pub registered: bool,
}

/// What [`Store::add_shard`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardAdded {
    /// Newly registered with this weight.
    Registered { weight: u32 },
    /// Already registered; its weight is now this.
    Updated { weight: u32 },
}

/// How long placement trusts the per-shard realm counts it read (plus the realms it placed since)
/// before counting again: counting scans the directory, which must not happen per realm when
/// realms are created by the thousand.
const COUNTS_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// Per-shard (name, weight, draining, realm count) as last read, with when.
#[derive(Default)]
pub(crate) struct CountCache(std::sync::Mutex<Option<(std::time::Instant, Vec<ShardCount>)>>);

#[derive(Clone)]
pub(crate) struct ShardCount {
    name: String,
    weight: i64,
    draining: bool,
    realms: i64,
}

impl CountCache {
    fn fresh(&self) -> Option<Vec<ShardCount>> {
        let guard = self.0.lock().ok()?;
        let (at, rows) = guard.as_ref()?;
        (at.elapsed() < COUNTS_FRESH_FOR).then(|| rows.clone())
    }
    fn store(&self, rows: Vec<ShardCount>) {
        if let Ok(mut guard) = self.0.lock() {
            *guard = Some((std::time::Instant::now(), rows));
        }
    }
    fn clear(&self) {
        if let Ok(mut guard) = self.0.lock() {
            *guard = None;
        }
    }
    /// Counts a realm just placed on `name`, so the next placements see it.
    fn placed(&self, name: &str) {
        if let Ok(mut guard) = self.0.lock()
            && let Some((_, rows)) = guard.as_mut()
            && let Some(r) = rows.iter_mut().find(|r| r.name == name)
        {
            r.realms += 1;
        }
    }
}

const SHARD_COUNTS: &str = "SELECT s.name AS name, s.weight AS weight, s.draining AS draining, \
     (SELECT COUNT(*) FROM realms r WHERE r.shard = s.name) AS realms, \
     (SELECT COUNT(*) FROM realms r WHERE r.moving_to = s.name) AS moving_in \
     FROM shards s ORDER BY s.name";

impl Store {
    /// Registers `shard` in the directory, or updates its weight (the draining flag is kept).
    /// Returns whether it was registered before.
    pub(crate) async fn register_shard(&self, shard: &Shard) -> Result<bool, StoreError> {
        let pool = self.directory().pool();
        let before: i64 = sqlx::query_scalar("SELECT COUNT(*) AS n FROM shards WHERE name = $1")
            .bind(shard.name())
            .fetch_one(pool)
            .await?;
        // Time is the database's: registration happens inside `migrate`, which takes no clock.
        let now = match self.backend() {
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)",
            Backend::Sqlite => "CAST(strftime('%s', 'now') AS INTEGER)",
        };
        let sql = format!(
            "INSERT INTO shards (name, weight, draining, created_at) VALUES ($1, $2, 0, {now}) \
             ON CONFLICT (name) DO UPDATE SET weight = excluded.weight"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(shard.name())
            .bind(i64::from(shard.weight()))
            .execute(pool)
            .await?;
        Ok(before > 0)
    }

    /// Migrates the configured shard `name` (and the directory) and registers it in the
    /// directory: the explicit form of what start-up does for every configured shard.
    pub async fn add_shard(&self, name: &str) -> Result<ShardAdded, StoreError> {
        let shard = self.shard(name)?.clone();
        self.directory().migrate().await?;
        shard.migrate().await?;
        let weight = shard.weight();
        Ok(if self.register_shard(&shard).await? {
            ShardAdded::Updated { weight }
        } else {
            ShardAdded::Registered { weight }
        })
    }

    /// Every registered or configured shard with its realm count, by name.
    pub async fn shard_infos(&self) -> Result<Vec<ShardInfo>, StoreError> {
        let rows = sqlx::query(SHARD_COUNTS)
            .fetch_all(self.directory().pool())
            .await?;
        let mut out = Vec::new();
        for row in &rows {
            let name = row.text("name")?;
            out.push(ShardInfo {
                configured: self.shard(&name).is_ok(),
                name,
                weight: row.int("weight")?,
                draining: row.flag("draining")?,
                realms: row.int("realms")?,
                moving_in: row.int("moving_in")?,
                registered: true,
            });
        }
        for shard in self.shards() {
            if !out.iter().any(|i| i.name == shard.name()) {
                out.push(ShardInfo {
                    name: shard.name().to_owned(),
                    weight: i64::from(shard.weight()),
                    draining: false,
                    realms: 0,
                    moving_in: 0,
                    configured: true,
                    registered: false,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Marks a registered shard draining (placement skips it) or not. `NotFound` if unregistered.
    pub async fn set_draining(&self, name: &str, draining: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE shards SET draining = $2 WHERE name = $1")
            .bind(name)
            .bind(i64::from(draining))
            .execute(self.directory().pool())
            .await?;
        self.counts().clear();
        crate::repo::found(done.rows_affected())
    }

    /// The realms (id, name) the directory places on `shard` or is moving onto it, by name.
    pub async fn realms_on_shard(&self, shard: &str) -> Result<Vec<(RealmId, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name FROM realms WHERE shard = $1 OR moving_to = $1 ORDER BY name",
        )
        .bind(shard)
        .fetch_all(self.directory().pool())
        .await?;
        rows.iter()
            .map(|r| Ok((RealmId(r.text("id")?), r.text("name")?)))
            .collect()
    }

    /// Where the directory places a realm: `(shard, moving_to)`. `NotFound` if unknown.
    pub async fn realm_shard(
        &self,
        realm: &RealmId,
    ) -> Result<(String, Option<String>), StoreError> {
        let realm = crate::shard::canonical_realm(realm)?;
        let row = sqlx::query("SELECT shard, moving_to FROM realms WHERE id = $1")
            .bind(realm.as_str())
            .fetch_optional(self.directory().pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((row.text("shard")?, row.opt_text("moving_to")?))
    }

    /// The shard a new realm goes to (see [`Store::place_on`]), on the directory's pool.
    pub async fn place_realm(&self, explicit: Option<&str>) -> Result<String, StoreError> {
        let mut conn = self.directory().pool().acquire().await?;
        self.place_on(&mut conn, explicit, None).await
    }

    /// Picks a shard for a new realm: `explicit` when given (it must be configured and not
    /// draining), else the configured, registered, non-draining shard other than `except` with
    /// the lowest `realm count / weight`. A single-shard store always answers `default`.
    pub(crate) async fn place_on(
        &self,
        conn: &mut AnyConnection,
        explicit: Option<&str>,
        except: Option<&str>,
    ) -> Result<String, StoreError> {
        if !self.is_sharded() {
            return match explicit {
                None | Some(DEFAULT_SHARD) => Ok(DEFAULT_SHARD.to_owned()),
                Some(other) => Err(self.shard(other).err().unwrap_or(StoreError::NotFound)),
            };
        }
        if let Some(name) = explicit {
            self.shard(name)?;
        }
        // An explicit placement reads the registry afresh (it must see a drain that just began).
        let rows = match self.counts().fresh().filter(|_| explicit.is_none()) {
            Some(rows) => rows,
            None => {
                let rows = sqlx::query(SHARD_COUNTS).fetch_all(&mut *conn).await?;
                let rows = rows
                    .iter()
                    .map(|row| {
                        Ok(ShardCount {
                            name: row.text("name")?,
                            weight: row.int("weight")?,
                            draining: row.flag("draining")?,
                            realms: row.int("realms")?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                self.counts().store(rows.clone());
                rows
            }
        };
        let mut best: Option<(String, i64, i64)> = None;
        for row in rows {
            let ShardCount {
                name,
                weight,
                draining,
                realms,
            } = row;
            if explicit == Some(name.as_str()) {
                if draining {
                    return Err(StoreError::shard(format!("shard '{name}' is draining")));
                }
                self.counts().placed(&name);
                return Ok(name);
            }
            if explicit.is_some() || draining || except == Some(name.as_str()) {
                continue;
            }
            if self.shard(&name).is_err() {
                continue;
            }
            let (n, w) = (realms, weight.max(1));
            // n/w < bn/bw  ⇔  n·bw < bn·w; ties go to the heavier shard (rows come by name).
            let better = match &best {
                None => true,
                Some((_, bn, bw)) => {
                    let (l, r) = (
                        i128::from(n) * i128::from(*bw),
                        i128::from(*bn) * i128::from(w),
                    );
                    l < r || (l == r && w > *bw)
                }
            };
            if better {
                best = Some((name, n, w));
            }
        }
        match (explicit, best) {
            (Some(name), _) => Err(StoreError::shard(format!(
                "shard '{name}' is not registered in the directory: run `realmgate shard add {name}`"
            ))),
            (None, Some((name, _, _))) => {
                self.counts().placed(&name);
                Ok(name)
            }
            (None, None) => Err(StoreError::shard(
                "no shard can take a realm: every registered shard is draining",
            )),
        }
    }
}
