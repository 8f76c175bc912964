//! Test support (always compiled, tiny): a fresh database per test on the backend chosen by
//! `REALMGATE_TEST_STORE` (`sqlite`, the default, or `postgres`).

use crate::{DEFAULT_SHARD, ShardSpec, Store, StoreError};
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

/// Connections per test store: small, so many concurrent tests fit in Postgres' `max_connections`.
const TEST_POOL: u32 = 8;

/// A new empty database, opened with a small pool and migrated (see [`fresh_database_url`]).
pub async fn fresh_test_store() -> Result<Store, StoreError> {
    let url = fresh_database_url().await?;
    let store = Store::open(&url, TEST_POOL).await?;
    store.migrate().await?;
    Ok(store)
}

/// Sharding needs Postgres: an error (for the test to fail with, never to skip on) naming what
/// needs it unless `REALMGATE_TEST_STORE=postgres`.
pub fn require_postgres(what: &str) -> Result<(), StoreError> {
    match std::env::var("REALMGATE_TEST_STORE").as_deref() {
        Ok("postgres") => Ok(()),
        _ => Err(StoreError::config(format!(
            "{what} needs Postgres: run with REALMGATE_TEST_STORE=postgres and \
             REALMGATE_TEST_DATABASE_URL (`cargo xtask test` runs it in the Postgres pass only)"
        ))),
    }
}

/// A store over fresh Postgres databases, one per shard: `default` (weight `shards[0].1`) and
/// the other names given, migrated. Also returns every shard's spec (`default` first), so tests
/// can look at each database directly. Fails unless `REALMGATE_TEST_STORE=postgres`.
pub async fn fresh_sharded_test_store(
    shards: &[(&str, u32)],
) -> Result<(Store, Vec<ShardSpec>), StoreError> {
    require_postgres("a sharded store")?;
    let mut specs = Vec::new();
    for (name, weight) in shards {
        specs.push(ShardSpec {
            name: (*name).to_owned(),
            url: fresh_database_url().await?,
            weight: *weight,
        });
    }
    let Some((default, others)) = specs.split_first() else {
        return Err(StoreError::config(
            "a sharded store needs at least one shard",
        ));
    };
    if default.name != DEFAULT_SHARD {
        return Err(StoreError::config(
            "the first shard must be named 'default'",
        ));
    }
    let store = Store::open_sharded(&default.url, default.weight, others, TEST_POOL).await?;
    store.migrate().await?;
    Ok((store, specs))
}

/// The URL of a new, empty (not migrated) database, for tests that start the whole server (which
/// migrates on start).
///
/// - `REALMGATE_TEST_STORE=sqlite` (default): a new file `<tmp>/realmgate-tests/<uuid>.db`
///   (the directory exists; the file is created when opened).
/// - `REALMGATE_TEST_STORE=postgres`: connects to `REALMGATE_TEST_DATABASE_URL` (required; the
///   error names it when missing — never a silent fallback), creates `rg_t_<hex>` there and
///   returns its URL.
pub async fn fresh_database_url() -> Result<String, StoreError> {
    let kind = std::env::var("REALMGATE_TEST_STORE").unwrap_or_else(|_| "sqlite".to_owned());
    match kind.as_str() {
        "sqlite" => {
            let dir = std::env::temp_dir().join("realmgate-tests");
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| StoreError::config(format!("creating {}: {e}", dir.display())))?;
            let path = dir.join(format!("{}.db", uuid::Uuid::new_v4()));
            Ok(format!("sqlite://{}", path.display()))
        }
        "postgres" => {
            let admin_url = std::env::var("REALMGATE_TEST_DATABASE_URL").map_err(|_| {
                StoreError::config(
                    "REALMGATE_TEST_STORE=postgres requires REALMGATE_TEST_DATABASE_URL \
                     (a postgres:// URL of a role allowed to CREATE DATABASE)",
                )
            })?;
            let db_name = format!("rg_t_{}", uuid::Uuid::new_v4().simple());
            let db_url = database_url(&admin_url, &db_name)?;
            sqlx::any::install_default_drivers();
            let mut admin = AnyConnection::connect(&admin_url).await?;
            admin
                .execute(AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
                .await?;
            admin.close().await?;
            Ok(db_url)
        }
        other => Err(StoreError::config(format!(
            "REALMGATE_TEST_STORE must be sqlite or postgres, not {other:?}"
        ))),
    }
}

/// The admin URL with its database (path) replaced by `db_name`, query kept.
fn database_url(admin_url: &str, db_name: &str) -> Result<String, StoreError> {
    let mut url = url::Url::parse(admin_url)
        .map_err(|e| StoreError::config(format!("REALMGATE_TEST_DATABASE_URL: {e}")))?;
    url.set_path(&format!("/{db_name}"));
    Ok(url.to_string())
}

/// `family` as migration 0004 left a family issued before refresh tokens became generations
/// (its token is a `refresh_tokens` row): generation 0 and the migration's column defaults.
pub fn family_before_generations(
    family: realmgate_domain::TokenFamily,
) -> realmgate_domain::TokenFamily {
    realmgate_domain::TokenFamily {
        scope: String::new(),
        auth_time: 0,
        amr: vec![],
        generation: 0,
        issued_at: 0,
        idle_expires_at: 0,
        ..family
    }
}
