//! Test support (always compiled, tiny): a fresh database per test on the backend chosen by
//! `REALMGATE_TEST_STORE` (`sqlite`, the default, or `postgres`).

use crate::{Store, StoreError};
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
