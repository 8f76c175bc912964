//! Opening, migrating, the realm directory and realm deletion.

use crate::support::*;
use realmgate_store::domain::*;
use realmgate_store::{Backend, REALM_TABLES, Store, StoreError};

#[tokio::test]
async fn migrate_is_idempotent_and_ping_works() -> TestResult {
    let store = store().await;
    store.migrate().await?;
    store.migrate().await?;
    store.ping().await?;
    let expected = match std::env::var("REALMGATE_TEST_STORE").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    assert_eq!(store.backend(), expected);
    store.close().await;
    Ok(())
}

#[tokio::test]
async fn sqlite_open_creates_missing_directories() -> TestResult {
    let dir = std::env::temp_dir()
        .join("realmgate-tests")
        .join(uuid_like())
        .join("nested");
    let path = dir.join("realmgate.db");
    let store = Store::open(&format!("sqlite://{}", path.display()), 2).await?;
    store.migrate().await?;
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(path.exists());
    let mem = Store::open("sqlite::memory:", 1).await?;
    mem.migrate().await?;
    new_realm(&mem, "m").await?;
    let bad = Store::open("mysql://nope", 1).await;
    assert!(matches!(bad, Err(StoreError::Db(_))));
    Ok(())
}

fn uuid_like() -> String {
    RealmId::new().0
}

#[tokio::test]
async fn realm_directory_lists_renames_and_counts() -> TestResult {
    let store = store().await;
    for name in ["charlie", "alpha", "bravo", "delta"] {
        new_realm(&store, name).await?;
    }
    let mut sys = store.system().await?;
    assert_eq!(sys.count_realms().await?, 4);
    let names = |rs: Vec<Realm>| {
        rs.into_iter()
            .map(|r| r.name.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(sys.list_realms(0, 10).await?),
        ["alpha", "bravo", "charlie", "delta"]
    );
    assert_eq!(names(sys.list_realms(1, 2).await?), ["bravo", "charlie"]);
    let mut r = sys.realm_by_name("alpha").await?.expect("alpha");
    r.name = RealmName::parse("aardvark")?;
    r.display_name = None;
    r.enabled = false;
    r.settings.access_token_lifespan = 900;
    sys.update_realm(&r).await?;
    assert_eq!(sys.realm_by_id(&r.id).await?, Some(r.clone()));
    assert_eq!(sys.realm_by_name("alpha").await?, None);
    assert_eq!(sys.realm_by_name("aardvark").await?, Some(r.clone()));
    let ghost = Realm {
        id: RealmId::new(),
        ..r.clone()
    };
    assert!(matches!(
        sys.update_realm(&ghost).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(sys.realm_by_id(&RealmId("junk".into())).await?, None);
    sys.commit().await?;
    // Dropping a system handle rolls back.
    let mut sys = store.system().await?;
    sys.delete_realm(&r.id).await?;
    drop(sys);
    let mut sys = store.system().await?;
    assert!(sys.realm_by_id(&r.id).await?.is_some());
    Ok(())
}

#[tokio::test]
async fn delete_realm_removes_every_row_of_that_realm_only() -> TestResult {
    let store = store().await;
    let a = new_realm(&store, "a").await?;
    let b = new_realm(&store, "b").await?;
    let fa = populate(&store, &a, "a").await?;
    let fb = populate(&store, &b, "b").await?;
    let b_before = snapshot(&store, &fb).await?;
    {
        let mut tx = store.realm_read(&a).await?;
        for table in REALM_TABLES {
            assert!(
                tx.raw_count_realm(table).await? > 0,
                "fixture leaves {table} empty"
            );
        }
    }
    let mut sys = store.system().await?;
    sys.delete_realm(&a).await?;
    assert!(matches!(
        sys.delete_realm(&a).await,
        Err(StoreError::NotFound)
    ));
    sys.commit().await?;

    let mut sys = store.system().await?;
    assert_eq!(sys.realm_by_id(&a).await?, None);
    assert_eq!(sys.count_realms().await?, 1);
    drop(sys);
    let mut tx = store.realm_read(&a).await?;
    for table in REALM_TABLES {
        assert_eq!(
            tx.raw_count_realm(table).await?,
            0,
            "{table} still holds rows of the deleted realm"
        );
    }
    assert_eq!(tx.user_by_id(&fa.user.id).await?, None);
    drop(tx);
    assert_eq!(snapshot(&store, &fb).await?, b_before);
    Ok(())
}

#[tokio::test]
async fn dropping_a_realm_tx_rolls_back() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    {
        let mut tx = store.realm(&realm).await?;
        tx.insert_user(&user("ghost")).await?;
    }
    let mut tx = store.realm(&realm).await?;
    assert_eq!(tx.user_by_username("ghost").await?, None);
    tx.insert_user(&user("kept")).await?;
    tx.commit().await?;
    let mut tx = store.realm_read(&realm).await?;
    assert!(tx.user_by_username("kept").await?.is_some());
    tx.rollback().await?;
    Ok(())
}
