//! Sharding on three real Postgres databases (`default`, `s2`, `s3`): placement, isolation and
//! routing, moves (also under concurrent writes and after a crash at every step) and drain.
//! These tests need Postgres and fail — never skip — without it; `cargo xtask test` runs them in
//! its Postgres pass only.

use crate::in_realm;
use crate::support::*;
use realmgate_store::domain::*;
use realmgate_store::testing::fresh_sharded_test_store;
use realmgate_store::{
    MoveOptions, MoveOutcome, MoveStep, REALM_TABLES, ShardSpec, Store, StoreError,
};
use sqlx::{AnyConnection, AssertSqlSafe, Connection};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

async fn three_shards() -> (Store, Vec<ShardSpec>) {
    fresh_sharded_test_store(&[("default", 1), ("s2", 2), ("s3", 1)])
        .await
        .expect("three fresh Postgres databases as shards")
}

/// A second node on the same databases (its own pools and route cache).
async fn other_node(specs: &[ShardSpec]) -> Store {
    Store::open_sharded(&specs[0].url, specs[0].weight, &specs[1..], 4)
        .await
        .unwrap()
}

async fn realm_on(store: &Store, name: &str, shard: Option<&str>) -> RealmId {
    let realm = Realm {
        id: RealmId::new(),
        name: RealmName::parse(name).unwrap(),
        display_name: None,
        enabled: true,
        settings: RealmSettings::default(),
        created_at: NOW,
    };
    let mut sys = store.system().await.unwrap();
    sys.insert_realm_on(&realm, shard).await.unwrap();
    sys.commit().await.unwrap();
    realm.id
}

/// The realm's rows in every realm table of one database, counted as the superuser (no RLS).
async fn rows_on(spec: &ShardSpec, realm: &RealmId) -> i64 {
    let mut conn = AnyConnection::connect(&spec.url).await.unwrap();
    let mut total = 0;
    for table in REALM_TABLES {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {table} WHERE realm_id = $1"
        )))
        .bind(realm.as_str())
        .fetch_one(&mut conn)
        .await
        .unwrap();
        total += n;
    }
    conn.close().await.unwrap();
    total
}

/// Asserts the realm has rows on `home` only, and returns how many.
async fn only_on(specs: &[ShardSpec], realm: &RealmId, home: &str) -> i64 {
    let mut at_home = 0;
    for spec in specs {
        let n = rows_on(spec, realm).await;
        if spec.name == home {
            assert!(n > 0, "realm {realm} has no rows on its shard {home}");
            at_home = n;
        } else {
            assert_eq!(
                n, 0,
                "realm {realm} has rows on {} (home {home})",
                spec.name
            );
        }
    }
    at_home
}

async fn shard_of(store: &Store, realm: &RealmId) -> String {
    let (shard, moving_to) = store.realm_shard(realm).await.unwrap();
    assert_eq!(moving_to, None, "an unfinished move of {realm}");
    shard
}

fn fast() -> MoveOptions {
    MoveOptions {
        max_pause: Duration::from_secs(5),
        crash_after: None,
    }
}

fn moved(outcome: MoveOutcome) -> realmgate_store::MoveReport {
    match outcome {
        MoveOutcome::Moved(report) => report,
        other => panic!("expected a move, got {other:?}"),
    }
}

#[tokio::test]
async fn shards_place_realms_by_weight_and_count() -> TestResult {
    let (store, _) = three_shards().await;
    let mut placed = Vec::new();
    for i in 0..8 {
        let id = realm_on(&store, &format!("r{i}"), None).await;
        placed.push(shard_of(&store, &id).await);
    }
    // Lowest realms/weight first, ties to the heavier shard, then by name.
    assert_eq!(
        placed,
        ["s2", "default", "s3", "s2", "s2", "default", "s3", "s2"]
    );
    let infos = store.shard_infos().await?;
    let counts: Vec<_> = infos.iter().map(|i| (i.name.as_str(), i.realms)).collect();
    assert_eq!(counts, [("default", 2), ("s2", 4), ("s3", 2)]);

    // Explicit placement, and a draining shard is skipped (and refused explicitly).
    let explicit = realm_on(&store, "explicit", Some("s3")).await;
    assert_eq!(shard_of(&store, &explicit).await, "s3");
    store.set_draining("s2", true).await?;
    for i in 0..3 {
        let id = realm_on(&store, &format!("d{i}"), None).await;
        assert_ne!(shard_of(&store, &id).await, "s2");
    }
    assert!(matches!(
        store.place_realm(Some("s2")).await,
        Err(StoreError::Shard(m)) if m.contains("draining")
    ));
    assert!(matches!(
        store.place_realm(Some("nope")).await,
        Err(StoreError::Shard(m)) if m.contains("not configured")
    ));
    Ok(())
}

#[tokio::test]
async fn shards_isolate_realms_and_route_each_to_its_database() -> TestResult {
    let (store, specs) = three_shards().await;
    let a = realm_on(&store, "a", Some("default")).await;
    let b = realm_on(&store, "b", Some("s2")).await;
    let fa = populate(&store, &a, "a").await?;
    let fb = populate(&store, &b, "b").await?;
    only_on(&specs, &a, "default").await;
    only_on(&specs, &b, "s2").await;

    // A's transaction runs on A's database: B's rows are neither there nor reachable.
    let mut tx = store.realm_read(&a).await?;
    assert_eq!(tx.raw_count("users").await?, 2);
    assert_eq!(tx.user_by_id(&fb.user.id).await?, None);
    assert_eq!(
        tx.user_by_username("alice").await?.map(|u| u.id),
        Some(fa.user.id.clone())
    );
    assert_eq!(tx.refresh_by_hash(&fb.refresh.token_hash).await?, None);
    tx.rollback().await?;
    let mut tx = store.realm_read(&b).await?;
    assert_eq!(tx.user_by_id(&fa.user.id).await?, None);
    assert_eq!(tx.keys().await?.len(), 1);
    tx.rollback().await?;

    // An unknown realm is NotFound, never a default shard.
    assert!(matches!(
        store.realm(&RealmId::new()).await,
        Err(StoreError::NotFound)
    ));

    // Deleting a realm on another shard removes its rows there and its directory row.
    let mut sys = store.system().await?;
    sys.delete_realm(&b).await?;
    sys.commit().await?;
    for spec in &specs {
        assert_eq!(rows_on(spec, &b).await, 0, "{}", spec.name);
    }
    assert!(matches!(store.realm(&b).await, Err(StoreError::NotFound)));
    Ok(())
}

#[tokio::test]
async fn shard_move_routes_every_node_to_the_new_home() -> TestResult {
    let (store, specs) = three_shards().await;
    let node_b = other_node(&specs).await;
    let r = realm_on(&store, "moving", Some("default")).await;
    let f = populate(&store, &r, "m").await?;
    let before = snapshot(&store, &f).await?;
    let rows = only_on(&specs, &r, "default").await;
    // Node B caches the route to `default`.
    assert_eq!(snapshot(&node_b, &f).await?, before);
    let rev = store.config_revisions(std::slice::from_ref(&r)).await?;
    assert!(rev[0].is_some_and(|n| n.config > 0), "{rev:?}");

    let report = moved(store.move_realm(&r, "s3", NOW, &fast()).await?);
    assert_eq!(
        (report.from.as_str(), report.to.as_str()),
        ("default", "s3")
    );
    assert_eq!(report.rows.iter().map(|(_, n)| n).sum::<i64>(), rows);
    assert!(report.pause < Duration::from_secs(5), "{:?}", report.pause);
    assert_eq!(shard_of(&store, &r).await, "s3");
    only_on(&specs, &r, "s3").await;
    // The revision moved with the rows. Node B, still routing to `default` where the realm is
    // fenced now, cannot tell it (its entries re-read, through the fence).
    assert_eq!(store.config_revisions(std::slice::from_ref(&r)).await?, rev);
    assert_eq!(
        node_b.config_revisions(std::slice::from_ref(&r)).await?,
        [None]
    );
    // Both nodes read the same data (node B through the fence on `default`), bytes included.
    assert_eq!(snapshot(&store, &f).await?, before);
    assert_eq!(snapshot(&node_b, &f).await?, before);
    in_realm!(node_b, &r, |tx| tx.revoke_jti("after-move", NOW + 60).await)?;
    assert_eq!(rows_on(&specs[2], &r).await, rows + 1);

    // And back (the old fence on `default` is lifted), then a no-op.
    let report = moved(store.move_realm(&r, "default", NOW, &fast()).await?);
    assert_eq!(report.to, "default");
    only_on(&specs, &r, "default").await;
    assert!(
        node_b
            .realm_read(&r)
            .await?
            .jti_revoked("after-move")
            .await?
    );
    assert_eq!(
        store.move_realm(&r, "default", NOW, &fast()).await?,
        MoveOutcome::AlreadyThere {
            shard: "default".into(),
            cleaned: vec![]
        }
    );
    println!("move pause: {:?}", report.pause);
    Ok(())
}

#[tokio::test]
async fn shard_move_under_concurrent_writes_loses_nothing() -> TestResult {
    let (store, specs) = three_shards().await;
    let writer_node = other_node(&specs).await;
    let r = realm_on(&store, "busy", Some("s2")).await;
    populate(&store, &r, "busy").await?;

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (node, stop, r) = (writer_node.clone(), stop.clone(), r.clone());
        tokio::spawn(async move {
            let (mut ok, mut errors) = (0u64, Vec::new());
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let res: Result<(), StoreError> = async {
                    let mut tx = node.realm(&r).await?;
                    tx.revoke_jti(&format!("w-{i}"), NOW + 600).await?;
                    tx.commit().await
                }
                .await;
                match res {
                    Ok(()) => ok += 1,
                    Err(e) => errors.push(e.to_string()),
                }
            }
            (ok, errors)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = moved(store.move_realm(&r, "s3", NOW, &fast()).await?);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let (ok, errors) = writer.await?;
    assert!(
        errors.is_empty(),
        "writes failed during the move: {errors:?}"
    );
    assert!(ok > 10, "the writer barely ran ({ok} writes)");
    println!("move under load: {ok} writes, pause {:?}", report.pause);
    assert!(report.pause < Duration::from_secs(5), "{:?}", report.pause);

    // Every acknowledged write is on the new shard (plus the fixture's one revoked jti).
    only_on(&specs, &r, "s3").await;
    let mut tx = store.realm_read(&r).await?;
    assert_eq!(tx.raw_count_realm("revoked_tokens").await?, ok as i64 + 1);
    Ok(())
}

#[tokio::test]
async fn shard_move_fails_cleanly_when_the_pause_would_be_too_long() -> TestResult {
    let (store, specs) = three_shards().await;
    let r = realm_on(&store, "held", Some("default")).await;
    populate(&store, &r, "held").await?;
    // An open transaction on the realm holds the pause off longer than allowed.
    let open = store.realm(&r).await?;
    let opts = MoveOptions {
        max_pause: Duration::from_millis(200),
        crash_after: None,
    };
    let err = store.move_realm(&r, "s2", NOW, &opts).await.unwrap_err();
    assert!(err.to_string().contains("could not pause"), "{err}");
    open.rollback().await?;
    assert_eq!(shard_of(&store, &r).await, "default");
    only_on(&specs, &r, "default").await;
    moved(store.move_realm(&r, "s2", NOW, &fast()).await?);
    only_on(&specs, &r, "s2").await;
    Ok(())
}

#[tokio::test]
async fn shard_move_resumes_after_a_crash_at_every_step() -> TestResult {
    let (store, specs) = three_shards().await;
    let r = realm_on(&store, "crashy", Some("default")).await;
    let f = populate(&store, &r, "c").await?;
    let before = snapshot(&store, &f).await?;
    let mut home = "default";
    let mut wrote_between = false;
    for (step, to) in [
        (MoveStep::Marked, "s2"),
        (MoveStep::Copied, "s3"),
        (MoveStep::Fenced, "default"),
        (MoveStep::Switched, "s2"),
    ] {
        let crash = MoveOptions {
            crash_after: Some(step),
            ..fast()
        };
        let err = store.move_realm(&r, to, NOW, &crash).await.unwrap_err();
        assert!(err.to_string().contains("simulated crash"), "{err}");
        let (shard, moving_to) = store.realm_shard(&r).await?;
        match step {
            MoveStep::Switched => assert_eq!((shard.as_str(), moving_to), (to, None)),
            _ => assert_eq!((shard.as_str(), moving_to.as_deref()), (home, Some(to))),
        }
        if step == MoveStep::Copied {
            // The source is still the realm's home: a write now must survive the re-run.
            in_realm!(store, &r, |tx| tx.revoke_jti("between", NOW + 60).await)?;
            wrote_between = true;
        }
        if step == MoveStep::Fenced {
            // Fenced while the directory still points here: unavailable until the re-run.
            let err = store.realm(&r).await.unwrap_err();
            assert!(err.to_string().contains("re-run"), "{err}");
        }
        let outcome = store.move_realm(&r, to, NOW, &fast()).await?;
        match step {
            MoveStep::Switched => assert_eq!(
                outcome,
                MoveOutcome::AlreadyThere {
                    shard: to.into(),
                    cleaned: vec![home.to_owned()]
                }
            ),
            _ => assert!(moved(outcome).resumed),
        }
        home = to;
        assert_eq!(shard_of(&store, &r).await, home);
        only_on(&specs, &r, home).await;
        let mut after = snapshot(&store, &f).await?;
        let mut tx = store.realm_read(&r).await?;
        assert_eq!(tx.jti_revoked("between").await?, wrote_between, "{step:?}");
        tx.rollback().await?;
        // The extra revoked jti is the only difference.
        after.retain(|l| !l.starts_with("revoked_tokens"));
        let mut expected = before.clone();
        expected.retain(|l| !l.starts_with("revoked_tokens"));
        assert_eq!(after, expected, "after {step:?}");
    }
    Ok(())
}

#[tokio::test]
async fn shard_drain_moves_every_realm_off_and_can_be_rerun() -> TestResult {
    let (store, specs) = three_shards().await;
    let mut realms = Vec::new();
    for i in 0..3 {
        let id = realm_on(&store, &format!("drain{i}"), Some("s2")).await;
        populate(&store, &id, &format!("d{i}")).await?;
        realms.push(id);
    }
    let stay = realm_on(&store, "stays", Some("s3")).await;
    let mut seen = Vec::new();
    let moved_n = store
        .drain_shard("s2", NOW, &fast(), |name, outcome| {
            seen.push((name.to_owned(), outcome.clone()))
        })
        .await?;
    assert_eq!(moved_n, 3);
    assert_eq!(seen.len(), 3);
    for id in &realms {
        let home = shard_of(&store, id).await;
        assert_ne!(home, "s2");
        only_on(&specs, id, &home).await;
    }
    assert_eq!(shard_of(&store, &stay).await, "s3");
    let s2 = store
        .shard_infos()
        .await?
        .into_iter()
        .find(|i| i.name == "s2")
        .unwrap();
    assert!(s2.draining);
    assert_eq!(s2.realms, 0);
    assert_eq!(store.drain_shard("s2", NOW, &fast(), |_, _| {}).await?, 0);
    Ok(())
}
