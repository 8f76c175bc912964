//! [`Shard`]: one database — its pool, what it learned about the backend, per-connection session
//! setup, migrations, and the `BEGIN` strings of realm and system transactions. A single-database
//! deployment is one shard named `default`; [`Store`](crate::Store) routes between shards.

use crate::trip_pool::TripPool;
use crate::{RealmTx, StoreError, SystemTx};
use realmgate_domain::RealmId;
use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, AssertSqlSafe, Connection, Executor};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// The name of the shard at `database.url`, which also hosts the directory.
pub const DEFAULT_SHARD: &str = "default";

/// The SQLSTATE `realmgate_enter()` raises when the realm has moved off the shard.
const FENCE_SQLSTATE: &str = "RG001";

/// Per-connection SQLite setup. `journal_mode=WAL` is persistent in the file and set once in
/// [`Shard::open`]; switching it needs an exclusive lock that `busy_timeout` does not wait for.
const SQLITE_SESSION: &str =
    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

/// The application role realm and system transactions switch to on Postgres, so that row-level
/// security applies even when the pool connects as a superuser (who bypasses it, FORCE or not).
const APP_ROLE_CHECK: &str = "SELECT COUNT(*) AS n FROM pg_roles r \
     WHERE r.rolname = 'realmgate_app' AND pg_has_role(current_user, r.oid, 'MEMBER')";
const BYPASS_CHECK: &str = "SELECT COUNT(*) AS n FROM pg_roles \
     WHERE rolname = current_user AND (rolsuper OR rolbypassrls)";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub(crate) fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::config(
                "database url must start with sqlite: or postgres://",
            ))
        }
    }
}

/// One configured shard: a name, a database URL and a placement weight (≥ 1).
#[derive(Clone, PartialEq, Eq)]
pub struct ShardSpec {
    pub name: String,
    pub url: String,
    pub weight: u32,
}

impl std::fmt::Debug for ShardSpec {
    /// Never prints the URL: it may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardSpec")
            .field("name", &self.name)
            .field("weight", &self.weight)
            .finish_non_exhaustive()
    }
}

/// A realm transaction could not start because the realm has moved off this shard.
#[derive(Debug)]
pub(crate) struct Fenced;

/// One database. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Shard {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    weight: u32,
    pool: AnyPool,
    backend: Backend,
    /// Postgres only: `realmgate_app` exists and the connected user may `SET ROLE` to it.
    app_role: AtomicBool,
    /// Where to open a `LISTEN` connection (Postgres) or a mover's own connection.
    url: String,
    /// SQLite: change notifications stay in this process.
    local: tokio::sync::broadcast::Sender<String>,
    /// SQLite: the one writer. Write transactions queue here, in order and without sleeping,
    /// instead of in SQLite's busy handler (which polls with sleeps of up to 100 ms and made
    /// concurrent writers mostly wait); `busy_timeout` still guards against other processes.
    writer: Arc<tokio::sync::Semaphore>,
    /// Postgres: the connections of one-round-trip transactions (`trip_pool.rs`).
    trips: TripPool,
}

/// A pooled connection idle at least this long is pinged before it is handed out.
const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// The connections a shard keeps for one-round-trip transactions beside its pool of
/// `max_connections`: a quarter as many, at least two.
fn trip_pool_size(max_connections: u32) -> u32 {
    (max_connections / 4).max(2)
}

/// How long a write transaction waits for the SQLite writer before giving up (as `busy_timeout`).
const WRITER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Shard {
    /// Opens a pool on `sqlite://path/to/realmgate.db` (file and directories are created when
    /// missing; `sqlite::memory:` works too) or `postgres://...`. Does not migrate.
    pub(crate) async fn open(spec: &ShardSpec, max_connections: u32) -> Result<Shard, StoreError> {
        sqlx::any::install_default_drivers(); // idempotent
        let backend = Backend::of_url(&spec.url)?;
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(&spec.url).await?,
            Backend::Postgres => spec.url.clone(),
        };
        let sqlite = backend == Backend::Sqlite;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            // sqlx pings every idle connection it hands out by default: one more round trip
            // per transaction, which on Postgres made a refresh grant four round trips instead
            // of three. Only a connection that sat idle for a while is checked now (a lost
            // connection is still replaced before use after a database restart).
            .test_before_acquire(false)
            .before_acquire(|conn: &mut AnyConnection, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn: &mut AnyConnection, _meta| {
                Box::pin(async move {
                    if sqlite {
                        conn.execute(SQLITE_SESSION).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        if sqlite {
            pool.execute("PRAGMA journal_mode = WAL").await?;
        }
        let trips = TripPool::new(&url, trip_pool_size(max_connections));
        let shard = Shard {
            inner: Arc::new(Inner {
                name: spec.name.clone(),
                weight: spec.weight.max(1),
                pool,
                backend,
                app_role: AtomicBool::new(false),
                url,
                local: tokio::sync::broadcast::channel(1024).0,
                writer: Arc::new(tokio::sync::Semaphore::new(1)),
                trips,
            }),
        };
        shard.detect_app_role().await?;
        Ok(shard)
    }

    /// Applies the pending migrations of this backend; idempotent and safe to run concurrently
    /// (Postgres takes an advisory lock).
    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.inner.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.inner.pool).await?;
        self.detect_app_role().await
    }

    pub(crate) fn name(&self) -> &str {
        &self.inner.name
    }
    pub(crate) fn weight(&self) -> u32 {
        self.inner.weight
    }
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }
    pub(crate) fn trips(&self) -> &TripPool {
        &self.inner.trips
    }
    pub(crate) fn url(&self) -> &str {
        &self.inner.url
    }
    pub(crate) fn local_channel(&self) -> &tokio::sync::broadcast::Sender<String> {
        &self.inner.local
    }
    pub(crate) fn backend(&self) -> Backend {
        self.inner.backend
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.inner.pool.execute("SELECT 1").await?;
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.inner.trips.close().await;
        self.inner.pool.close().await;
    }

    /// A new connection outside the pool (a mover holds a session-level lock on it).
    pub(crate) async fn connect(&self) -> Result<AnyConnection, StoreError> {
        Ok(AnyConnection::connect(&self.inner.url).await?)
    }

    /// `BEGIN` of a system transaction: `realmgate.system = 'on'` lets it see every realm's rows.
    pub(crate) fn system_begin(&self) -> &'static str {
        match (self.inner.backend, self.app_role()) {
            (Backend::Sqlite, _) => "BEGIN IMMEDIATE",
            (Backend::Postgres, true) => {
                "BEGIN; SET LOCAL ROLE realmgate_app; SET LOCAL realmgate.system = 'on'"
            }
            (Backend::Postgres, false) => "BEGIN; SET LOCAL realmgate.system = 'on'",
        }
    }

    /// A system transaction on this shard (the directory, or purging a realm's rows here).
    pub(crate) async fn system(&self, store: crate::Store) -> Result<SystemTx, StoreError> {
        let writer = self.writer().await?;
        let tx = self.inner.pool.begin_with(self.system_begin()).await?;
        Ok(SystemTx::new(tx, store).holding(writer))
    }

    /// A read-only system transaction on this shard: on SQLite a deferred `BEGIN` without the
    /// writer permit (so directory reads never queue behind writers, nor hold them up), on
    /// Postgres `READ ONLY`.
    pub(crate) async fn system_read(&self, store: crate::Store) -> Result<SystemTx, StoreError> {
        Ok(SystemTx::new(self.begin_system_read().await?, store))
    }

    /// The transaction behind [`Shard::system_read`], also for cross-realm reads of realm
    /// metadata (`Store::config_revisions`).
    pub(crate) async fn begin_system_read(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.inner.backend {
            Backend::Sqlite => self.inner.pool.begin().await?,
            Backend::Postgres => {
                let begin = self
                    .system_begin()
                    .replacen("BEGIN;", "BEGIN READ ONLY;", 1);
                self.inner.pool.begin_with(AssertSqlSafe(begin)).await?
            }
        })
    }

    /// SQLite: the writer permit a write transaction holds until it ends (`None` on Postgres).
    pub(crate) async fn writer(
        &self,
    ) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, StoreError> {
        if self.inner.backend != Backend::Sqlite {
            return Ok(None);
        }
        let permit = tokio::time::timeout(WRITER_WAIT, self.inner.writer.clone().acquire_owned())
            .await
            .map_err(|_| StoreError::config("the database is busy: no write slot within 5 s"))?
            .map_err(|_| StoreError::config("the store is closed"))?;
        Ok(Some(permit))
    }

    /// `BEGIN` of a realm transaction on Postgres, without the fence check: role and realm setting.
    /// `realm` must be canonical (see [`canonical_realm`]).
    pub(crate) fn realm_begin(&self, realm: &RealmId) -> String {
        let role = if self.app_role() {
            "SET LOCAL ROLE realmgate_app; "
        } else {
            ""
        };
        // Citus forwards SET LOCAL to the workers, not set_config(); the id is a canonical UUID
        // (hex digits and dashes), so the quoted literal is safe.
        format!("BEGIN; {role}SET LOCAL realmgate.realm_id = '{realm}'")
    }

    /// [`Shard::realm_begin`], after entering the realm (see [`Shard::begin_realm`]) if `fenced`.
    pub(crate) fn realm_begin_fenced(&self, realm: &RealmId, fenced: bool) -> String {
        let begin = self.realm_begin(realm);
        if fenced {
            format!("SELECT realmgate_enter('{realm}'); {begin}")
        } else {
            begin
        }
    }

    /// A realm transaction on this shard. With `fenced` (a sharded deployment, Postgres) it first
    /// enters the realm — shared advisory lock, then the fence check — in the same round trip,
    /// before `BEGIN` so a fenced realm leaves the connection idle, not in an aborted transaction
    /// (the implicit transaction of the first statement becomes the transaction `BEGIN` opens, so
    /// the lock is held until commit). `Ok(Err(Fenced))` when the realm has moved away.
    pub(crate) async fn begin_realm(
        &self,
        realm: &RealmId,
        write: bool,
        fenced: bool,
    ) -> Result<Result<RealmTx, Fenced>, StoreError> {
        let tx = match self.inner.backend {
            Backend::Sqlite if write => {
                let writer = self.writer().await?;
                return Ok(Ok(RealmTx::new(
                    realm.clone(),
                    self.inner.pool.begin_with("BEGIN IMMEDIATE").await?,
                )
                .holding(writer)));
            }
            Backend::Sqlite => self.inner.pool.begin().await,
            Backend::Postgres => {
                let begin = self.realm_begin_fenced(realm, fenced);
                self.inner.pool.begin_with(AssertSqlSafe(begin)).await
            }
        };
        match tx {
            Ok(tx) => Ok(Ok(RealmTx::new(realm.clone(), tx))),
            Err(e) if is_fence(&e) => Ok(Err(Fenced)),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn app_role(&self) -> bool {
        self.inner.app_role.load(Ordering::Relaxed)
    }

    async fn detect_app_role(&self) -> Result<(), StoreError> {
        if self.inner.backend != Backend::Postgres {
            return Ok(());
        }
        let n: i64 = sqlx::query_scalar(APP_ROLE_CHECK)
            .fetch_one(&self.inner.pool)
            .await?;
        self.inner.app_role.store(n > 0, Ordering::Relaxed);
        if n == 0 {
            let bypass: i64 = sqlx::query_scalar(BYPASS_CHECK)
                .fetch_one(&self.inner.pool)
                .await?;
            if bypass > 0 {
                tracing::warn!(
                    shard = %self.inner.name,
                    "connected as a superuser or BYPASSRLS role without the realmgate_app role: \
                     row-level security is not enforced (run migrations to create the role)"
                );
            }
        }
        Ok(())
    }
}

pub(crate) fn is_fence(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some(FENCE_SQLSTATE))
}

/// Validates a realm id as a UUID and returns it in canonical (lower-case, hyphenated) form, the
/// only form stored in `realm_id` columns and inlined into `SET LOCAL`.
pub(crate) fn canonical_realm(realm: &RealmId) -> Result<RealmId, StoreError> {
    let uuid = uuid::Uuid::parse_str(realm.as_str()).map_err(|_| StoreError::NotFound)?;
    Ok(RealmId(uuid.hyphenated().to_string()))
}

/// Adds `mode=rwc` (create if missing) unless a mode is given and creates the file's directory.
async fn prepare_sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let has_mode = query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("mode=")));
    let memory =
        path.is_empty() || path == ":memory:" || query.is_some_and(|q| q.contains("mode=memory"));
    let dir = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir.filter(|_| !memory) {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| StoreError::config(format!("creating {}: {e}", dir.display())))?;
    }
    Ok(match (has_mode || memory, query.is_some()) {
        (true, _) => url.to_owned(),
        (false, true) => format!("{url}&mode=rwc"),
        (false, false) => format!("{url}?mode=rwc"),
    })
}
