//! Row-level security (Postgres): a query that forgets the realm filter still sees one realm.

use crate::support::*;
use realmgate_store::{Backend, StoreError};

#[tokio::test]
async fn row_level_security_confines_unfiltered_queries() -> TestResult {
    let store = store().await;
    let a = new_realm(&store, "a").await?;
    let b = new_realm(&store, "b").await?;
    let fa = populate(&store, &a, "a").await?;
    populate(&store, &b, "b").await?;
    {
        let mut tx = store.realm(&b).await?;
        tx.insert_user(&user("only-in-b")).await?;
        tx.commit().await?;
    }
    let mut tx = store.realm_read(&b).await?;
    let unfiltered = tx.raw_count("users").await?;
    let own = tx.raw_count_realm("users").await?;
    assert_eq!(own, 3);
    match store.backend() {
        Backend::Postgres => {
            assert_eq!(unfiltered, own, "RLS must hide realm A's users");
            for table in realmgate_store::REALM_TABLES {
                let all = tx.raw_count(table).await?;
                let mine = tx.raw_count_realm(table).await?;
                assert_eq!(all, mine, "{table}");
            }
            drop(tx);
            // Writing a row into another realm is rejected by the policy's WITH CHECK ...
            let mut tx = store.realm(&b).await?;
            let sql = "INSERT INTO revoked_tokens (realm_id, jti, expires_at) VALUES ($1, $2, 0)";
            let err = tx.raw_execute(sql, &[a.as_str(), "forged"]).await;
            assert!(matches!(err, Err(StoreError::Db(_))), "{err:?}");
            drop(tx);
            // ... and so is touching another realm's rows without a realm filter.
            let mut tx = store.realm(&b).await?;
            let touched = tx
                .raw_execute(
                    "UPDATE users SET enabled = 0 WHERE id = $1",
                    &[fa.user.id.as_str()],
                )
                .await?;
            assert_eq!(touched, 0);
            let gone = tx
                .raw_execute("DELETE FROM users WHERE username = $1", &["alice"])
                .await?;
            assert_eq!(gone, 1, "only B's alice");
            drop(tx);
            let mut tx = store.realm_read(&a).await?;
            assert!(tx.user_by_id(&fa.user.id).await?.is_some_and(|u| u.enabled));
            // The system handle sees the directory, and through RLS the realm tables as a whole.
            let mut sys = store.system().await?;
            assert_eq!(sys.count_realms().await?, 2);
        }
        Backend::Sqlite => {
            // No RLS on SQLite: only the repositories' realm filter protects (every statement
            // binds it — see the isolation suite).
            assert_eq!(unfiltered, 5);
        }
    }
    Ok(())
}
