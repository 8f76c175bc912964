//! [`Store`]: the connection pool, backend detection, per-connection session setup, migrations and
//! the two ways into the data — a realm-scoped transaction or the named system handle.

use crate::{RealmTx, StoreError, SystemTx};
use realmgate_domain::RealmId;
use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, AssertSqlSafe, Executor};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// Per-connection SQLite setup. `journal_mode=WAL` is persistent in the file and set once in
/// [`Store::open`]; switching it needs an exclusive lock that `busy_timeout` does not wait for.
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
    fn of_url(url: &str) -> Result<Backend, StoreError> {
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

/// The database: a pool plus what it learned about the backend. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    backend: Backend,
    /// Postgres only: `realmgate_app` exists and the connected user may `SET ROLE` to it.
    app_role: AtomicBool,
    /// Where to open a `LISTEN` connection (Postgres) for change notifications.
    pub(crate) url: String,
    /// SQLite: change notifications stay in this process.
    pub(crate) local: tokio::sync::broadcast::Sender<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens a pool on `sqlite://path/to/realmgate.db` (file and directories are created when
    /// missing; `sqlite::memory:` works too) or `postgres://...`. Does not migrate.
    pub async fn open(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers(); // idempotent
        let backend = Backend::of_url(url)?;
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url).await?,
            Backend::Postgres => url.to_owned(),
        };
        let sqlite = backend == Backend::Sqlite;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
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
        let store = Store {
            inner: Arc::new(Inner {
                pool,
                backend,
                app_role: AtomicBool::new(false),
                url: url.clone(),
                local: tokio::sync::broadcast::channel(1024).0,
            }),
        };
        store.detect_app_role().await?;
        Ok(store)
    }

    /// Applies the pending migrations of this backend; idempotent and safe to run concurrently
    /// (Postgres takes an advisory lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.inner.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.inner.pool).await?;
        self.detect_app_role().await
    }

    pub(crate) fn inner_pool(&self) -> &AnyPool {
        &self.inner.pool
    }
    pub(crate) fn url(&self) -> &str {
        &self.inner.url
    }
    pub(crate) fn local_channel(&self) -> &tokio::sync::broadcast::Sender<String> {
        &self.inner.local
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.inner.pool.execute("SELECT 1").await?;
        Ok(())
    }

    /// The named cross-realm handle: the realm directory and realm lifecycle. Nothing else.
    pub async fn system(&self) -> Result<SystemTx, StoreError> {
        let begin = match (self.inner.backend, self.app_role()) {
            (Backend::Sqlite, _) => "BEGIN IMMEDIATE",
            (Backend::Postgres, true) => {
                "BEGIN; SET LOCAL ROLE realmgate_app; SET LOCAL realmgate.system = 'on'"
            }
            (Backend::Postgres, false) => "BEGIN; SET LOCAL realmgate.system = 'on'",
        };
        let tx = self.inner.pool.begin_with(begin).await?;
        Ok(SystemTx::new(tx))
    }

    /// A realm-scoped write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so concurrent
    /// writers queue on `busy_timeout` instead of failing on a lock upgrade.
    pub async fn realm(&self, realm: &RealmId) -> Result<RealmTx, StoreError> {
        self.begin_realm(realm, true).await
    }

    /// A realm-scoped read transaction (deferred on SQLite). Use [`Store::realm`] for anything
    /// that writes: on SQLite a deferred transaction that later writes can fail with SQLITE_BUSY.
    pub async fn realm_read(&self, realm: &RealmId) -> Result<RealmTx, StoreError> {
        self.begin_realm(realm, false).await
    }

    pub async fn close(&self) {
        self.inner.pool.close().await;
    }

    async fn begin_realm(&self, realm: &RealmId, write: bool) -> Result<RealmTx, StoreError> {
        let realm = canonical_realm(realm)?;
        let tx = match self.inner.backend {
            Backend::Sqlite if write => self.inner.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Sqlite => self.inner.pool.begin().await?,
            Backend::Postgres => {
                let role = if self.app_role() {
                    "SET LOCAL ROLE realmgate_app; "
                } else {
                    ""
                };
                // Citus forwards SET LOCAL to the workers, not set_config(); the id is a
                // canonical UUID (hex digits and dashes), so the quoted literal is safe.
                let begin = format!("BEGIN; {role}SET LOCAL realmgate.realm_id = '{realm}'");
                self.inner.pool.begin_with(AssertSqlSafe(begin)).await?
            }
        };
        Ok(RealmTx::new(realm, tx))
    }

    fn app_role(&self) -> bool {
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
                    "connected as a superuser or BYPASSRLS role without the realmgate_app role: \
                     row-level security is not enforced (run migrations to create the role)"
                );
            }
        }
        Ok(())
    }
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
