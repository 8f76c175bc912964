//! Tests of `invalidation.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use crate::cache_key::KeyPart;
use crate::realms::RealmInput;
use crate::{App, AppConfig, AppError, Invalidation};
use realmgate_crypto::{MasterKey, PasswordHasher, PasswordParams};
use realmgate_domain::FixedClock;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn node(store: &realmgate_store::Store, master: &MasterKey) -> App {
    App::new(
        store.clone(),
        master.clone(),
        PasswordHasher::new(
            PasswordParams {
                m_cost: 8192,
                t_cost: 1,
                p_cost: 1,
            },
            1,
            4,
        ),
        Arc::new(FixedClock::new(1_800_000_000)),
        AppConfig::new("http://127.0.0.1:1"),
    )
}

async fn until<F: AsyncFn() -> bool>(what: &str, f: F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out: {what}");
}

#[tokio::test]
async fn a_change_on_one_node_drops_the_other_nodes_cache() {
    let store = realmgate_store::testing::fresh_test_store().await.unwrap();
    let master = MasterKey::generate();
    let (a, b) = (node(&store, &master), node(&store, &master));
    a.spawn_invalidation_listener().await.unwrap();
    b.spawn_invalidation_listener().await.unwrap();
    let realm = a
        .create_realm(RealmInput {
            name: Some("shared".into()),
            ..RealmInput::default()
        })
        .await
        .unwrap();

    // Node B caches the realm and a client.
    assert!(b.realm("shared").await.is_ok());
    assert!(
        b.client(&realm.id, "realm-management")
            .await
            .unwrap()
            .is_some()
    );

    // Node A deletes the client behind B's back and publishes the change.
    let client = b
        .client(&realm.id, "realm-management")
        .await
        .unwrap()
        .unwrap()
        .client
        .id
        .clone();
    let mut tx = store.realm(&realm.id).await.unwrap();
    tx.delete_client(&client).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        b.client(&realm.id, "realm-management")
            .await
            .unwrap()
            .is_some(),
        "B still serves its cached copy"
    );
    a.invalidate(Invalidation::Client {
        realm: realm.id.clone(),
        client_id: "realm-management".into(),
    })
    .await;
    until("B drops the deleted client", async || {
        b.client(&realm.id, "realm-management")
            .await
            .unwrap()
            .is_none()
    })
    .await;

    // Deleting the realm through A makes it unknown on B.
    a.delete_realm("shared").await.unwrap();
    until("B forgets the deleted realm", async || {
        matches!(b.realm("shared").await, Err(AppError::NotFound("realm")))
    })
    .await;
}

#[tokio::test]
async fn a_user_change_on_one_node_drops_the_other_nodes_cached_user() {
    let store = realmgate_store::testing::fresh_test_store().await.unwrap();
    let master = MasterKey::generate();
    let (a, b) = (node(&store, &master), node(&store, &master));
    b.spawn_invalidation_listener().await.unwrap();
    let realm = a
        .create_realm(RealmInput {
            name: Some("subjects".into()),
            ..RealmInput::default()
        })
        .await
        .unwrap();
    let mut user = realmgate_domain::User {
        id: realmgate_domain::UserId::new(),
        username: "ann".into(),
        email: None,
        email_verified: false,
        first_name: Some("Ann".into()),
        last_name: None,
        enabled: true,
        attributes: Default::default(),
        service_account_client: None,
        created_at: 1_800_000_000,
    };
    let mut tx = store.realm(&realm.id).await.unwrap();
    tx.insert_user(&user).await.unwrap();
    tx.commit().await.unwrap();

    let ctx = b.realm("subjects").await.unwrap();
    let cached = b.cached_user(&ctx, &user.id).await.unwrap().unwrap();
    assert_eq!(cached.first_name.as_deref(), Some("Ann"));

    // A disables the user behind B's back: B keeps its copy until A publishes the change.
    user.enabled = false;
    let mut tx = store.realm(&realm.id).await.unwrap();
    tx.update_user(&user).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        b.cached_user(&ctx, &user.id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    a.subjects_changed(&realm.id).await;
    until("B re-reads the disabled user", async || {
        !b.cached_user(&ctx, &user.id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    })
    .await;
}

#[tokio::test]
async fn a_load_that_raced_with_a_revocation_is_not_cached() {
    let store = realmgate_store::testing::fresh_test_store().await.unwrap();
    let a = node(&store, &MasterKey::generate());
    let realm = realmgate_domain::RealmId::new();
    let key = (realm.clone(), "jti-1".to_owned());
    let stamp = a.caches().token_state.stamp(&realm);
    // A revocation lands between the load's read and its insert.
    a.caches().apply(&Invalidation::Subjects {
        realm: realm.clone(),
    });
    a.caches().token_state.insert(key.clone(), stamp, true);
    assert_eq!(a.caches().token_state.get(&key), None);
    // A load that starts after the revocation is cached.
    let fresh = a.caches().token_state.stamp(&realm);
    a.caches().token_state.insert(key.clone(), fresh, false);
    assert_eq!(a.caches().token_state.get(&key), Some(false));
}

/// A node skips its own invalidations when they come back (it applied them when it published),
/// so what it cached since stays; another node applies them, and so does every node for a
/// payload without a node id (published by a node from before ids).
#[tokio::test]
async fn a_node_skips_its_own_invalidations_and_applies_the_others() {
    let store = realmgate_store::testing::fresh_test_store().await.unwrap();
    let master = MasterKey::generate();
    let (a, b) = (node(&store, &master), node(&store, &master));
    let mut sub = store.subscribe().await.unwrap();
    let inv = Invalidation::Keys {
        realm: realmgate_domain::RealmId("r-1".into()),
    };
    a.invalidate(inv.clone()).await;
    let payload = tokio::time::timeout(Duration::from_secs(10), sub.recv())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(a.received(&payload).unwrap(), None, "{payload}");
    assert_eq!(
        b.received(&payload).unwrap(),
        Some(inv.clone()),
        "{payload}"
    );
    let legacy = serde_json::to_string(&inv).unwrap();
    assert_eq!(a.received(&legacy).unwrap(), Some(inv.clone()));
    assert!(a.received("{not json").is_err());

    // End to end: A drops and reloads a realm's keys, publishing the change; once a later
    // change of B's has reached A, A's echo has too, and A's reloaded keys are still cached.
    a.spawn_invalidation_listener().await.unwrap();
    let realm = a
        .create_realm(RealmInput {
            name: Some("echo".into()),
            ..RealmInput::default()
        })
        .await
        .unwrap();
    a.invalidate(Invalidation::Keys {
        realm: realm.id.clone(),
    })
    .await;
    let keys = a.realm_keys(&realm.id).await.unwrap();
    let marker = realmgate_domain::RealmId("marker".into());
    a.caches()
        .keys
        .insert(KeyPart::of(marker.as_str()), keys.clone());
    b.invalidate(Invalidation::Keys {
        realm: marker.clone(),
    })
    .await;
    until("A applies B's later invalidation", async || {
        a.caches().keys.get(&KeyPart::of(marker.as_str())).is_none()
    })
    .await;
    let cached = a
        .caches()
        .keys
        .get(&KeyPart::of(realm.id.as_str()))
        .expect("A's reloaded keys are still cached");
    assert!(Arc::ptr_eq(&cached, &keys));
}

/// A realm context loaded across a realm invalidation (this node's or another's) is not cached:
/// it may predate the change; one loaded after it is.
#[tokio::test]
async fn a_realm_loaded_across_its_invalidation_is_not_cached() {
    let store = realmgate_store::testing::fresh_test_store().await.unwrap();
    let a = node(&store, &MasterKey::generate());
    let realm = a
        .create_realm(RealmInput {
            name: Some("raced".into()),
            ..RealmInput::default()
        })
        .await
        .unwrap();
    let ctx = a.realm("raced").await.unwrap();
    a.caches().realms.invalidate(&KeyPart::of("raced"));

    let before = a.caches().realm_stamp();
    a.invalidate(Invalidation::Realm {
        name: "raced".into(),
        id: realm.id.clone(),
    })
    .await;
    a.caches().insert_realm("raced".into(), before, ctx.clone());
    assert!(a.caches().realms.get(&KeyPart::of("raced")).is_none());

    let after = a.caches().realm_stamp();
    a.caches().insert_realm("raced".into(), after, ctx.clone());
    assert!(a.caches().realms.get(&KeyPart::of("raced")).is_some());
}
