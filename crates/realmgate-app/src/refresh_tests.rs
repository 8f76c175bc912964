//! Busy cache entries are re-read ahead of their TTL (`TtlCache::lookup`): realms, clients, role
//! claims and keys, and the subject caches of `subjects.rs` (users, token states). Changed behind
//! the cache's back (a lost notification), they are served as cached until a background reload
//! replaces them, before the TTL ends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use crate::cache_key::KeyPart;
use crate::realms::RealmInput;
use crate::{App, AppConfig};
use realmgate_crypto::{MasterKey, PasswordHasher, PasswordParams};
use realmgate_domain::FixedClock;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The TTLs of these tests: long enough for a loaded machine's store reads and a key load,
/// short enough to wait for seven eighths of it.
const TTL: Duration = Duration::from_secs(8);

fn node(store: &realmgate_store::Store) -> App {
    let mut config = AppConfig::new("http://127.0.0.1:1");
    config.safety_ttl = TTL;
    config.subject_ttl = TTL;
    App::new(
        store.clone(),
        MasterKey::generate(),
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
        config,
    )
}

async fn before<F: AsyncFn() -> bool>(deadline: Instant, what: &str, f: F) {
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("not before the deadline: {what}");
}

/// A fresh store, a node on it, and a realm named `name` with its cached context.
async fn fresh_realm(
    name: &str,
    display_name: Option<&str>,
) -> (realmgate_store::Store, App, realmgate_domain::Realm) {
    let store = realmgate_store::testing::fresh_test_store().await.unwrap();
    let app = node(&store);
    let realm = app
        .create_realm(RealmInput {
            name: Some(name.into()),
            display_name: display_name.map(Into::into),
            ..RealmInput::default()
        })
        .await
        .unwrap();
    (store, app, realm)
}

/// An enabled user named `ann`, not yet stored.
fn user() -> realmgate_domain::User {
    crate::test_support::user("ann")
}

#[tokio::test]
async fn busy_realms_clients_role_claims_and_keys_are_re_read_ahead_of_their_ttl() {
    let (store, app, mut realm) = fresh_realm("ahead", Some("Before")).await;
    let user = user();
    let role = realmgate_domain::Role {
        id: realmgate_domain::RoleId::new(),
        name: "late-grant".into(),
        description: None,
        client: None,
        attributes: Default::default(),
    };
    let mut tx = store.realm(&realm.id).await.unwrap();
    tx.insert_user(&user).await.unwrap();
    tx.insert_role(&role).await.unwrap();
    tx.commit().await.unwrap();

    // Everything is read once and cached.
    let cached_at = Instant::now();
    let ctx = app.realm("ahead").await.unwrap();
    assert_eq!(ctx.display_name(), "Before");
    let client = app
        .client(&realm.id, "realm-management")
        .await
        .unwrap()
        .unwrap();
    assert!(client.client.enabled);
    let roles = app.role_claims(&realm.id, &user.id).await.unwrap();
    assert!(!roles.realm.contains(&"late-grant".to_owned()));
    let keys = app.jwks(&ctx).await.unwrap();

    // Changed in the store with no notification (no listener runs here).
    realm.display_name = Some("After".into());
    let mut sys = store.system().await.unwrap();
    sys.update_realm(&realm).await.unwrap();
    sys.commit().await.unwrap();
    let mut changed = client.client.clone();
    changed.enabled = false;
    let mut tx = store.realm(&realm.id).await.unwrap();
    tx.update_client(&changed).await.unwrap();
    tx.grant_user_role(&user.id, &role.id).await.unwrap();
    tx.commit().await.unwrap();

    // Late in the TTL the cached values are still served, and each read starts a reload.
    tokio::time::sleep(TTL * 7 / 8 + Duration::from_millis(150)).await;
    assert_eq!(app.realm("ahead").await.unwrap().display_name(), "Before");
    let served = app.client(&realm.id, "realm-management").await.unwrap();
    assert!(served.unwrap().client.enabled);
    let served = app.role_claims(&realm.id, &user.id).await.unwrap();
    assert!(!served.realm.contains(&"late-grant".to_owned()));
    assert!(Arc::ptr_eq(
        &app.realm_keys(&realm.id).await.unwrap(),
        &keys
    ));

    let deadline = cached_at + TTL;
    before(deadline, "the realm is re-read", async || {
        app.realm("ahead").await.unwrap().display_name() == "After"
    })
    .await;
    before(deadline, "the client is re-read", async || {
        let c = app.client(&realm.id, "realm-management").await.unwrap();
        !c.unwrap().client.enabled
    })
    .await;
    before(deadline, "the role claims are re-read", async || {
        let r = app.role_claims(&realm.id, &user.id).await.unwrap();
        r.realm.contains(&"late-grant".to_owned())
    })
    .await;
    // The keys did not change: the re-read kept the cached value and extended its TTL.
    tokio::time::sleep_until((deadline + Duration::from_millis(200)).into()).await;
    let kept = app.caches().keys.get(&KeyPart::of(realm.id.as_str()));
    assert!(kept.is_some_and(|k| Arc::ptr_eq(&k, &keys)));
}

#[tokio::test]
async fn a_re_read_that_finds_nothing_changed_keeps_the_cached_values() {
    let (store, app, realm) = fresh_realm("same", None).await;
    let user = user();
    let mut tx = store.realm(&realm.id).await.unwrap();
    tx.insert_user(&user).await.unwrap();
    tx.commit().await.unwrap();
    let cached_at = Instant::now();
    let ctx = app.realm("same").await.unwrap();
    let client = app.client(&realm.id, "realm-management").await.unwrap();
    let client = client.unwrap();
    let keys = app.jwks(&ctx).await.unwrap();
    let cached_user = app.cached_user(&ctx, &user.id).await.unwrap().unwrap();

    // Read late in the TTL (each read starts a reload), then past the TTL: still the same values.
    tokio::time::sleep(TTL * 7 / 8 + Duration::from_millis(150)).await;
    app.realm("same").await.unwrap();
    app.client(&realm.id, "realm-management").await.unwrap();
    app.realm_keys(&realm.id).await.unwrap();
    app.cached_user(&ctx, &user.id).await.unwrap();
    tokio::time::sleep_until((cached_at + TTL + Duration::from_millis(200)).into()).await;
    let caches = app.caches();
    let same = |what: &str, kept: bool| assert!(kept, "{what}: not the cached value");
    same(
        "realm",
        caches
            .realms
            .get(&KeyPart::of("same"))
            .is_some_and(|c| Arc::ptr_eq(&c, &ctx)),
    );
    same(
        "client",
        caches
            .clients
            .get(&(realm.id.clone(), "realm-management".to_owned()))
            .is_some_and(|c| Arc::ptr_eq(&c, &client)),
    );
    same(
        "keys",
        caches
            .keys
            .get(&KeyPart::of(realm.id.as_str()))
            .is_some_and(|k| Arc::ptr_eq(&k, &keys)),
    );
    same(
        "user",
        caches
            .users
            .get(&(realm.id.clone(), user.id.clone()))
            .is_some_and(|u| Arc::ptr_eq(&u, &cached_user)),
    );
}

#[tokio::test]
async fn a_busy_user_is_re_read_ahead_of_its_ttl() {
    let (store, app, realm) = fresh_realm("ahead", None).await;
    let mut user = user();
    let mut tx = store.realm(&realm.id).await.unwrap();
    tx.insert_user(&user).await.unwrap();
    tx.commit().await.unwrap();
    let ctx = app.realm("ahead").await.unwrap();
    let user_id = user.id.clone();
    let enabled = async || {
        app.cached_user(&ctx, &user_id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    };
    let cached_at = Instant::now();
    assert!(enabled().await);

    // Disabled in the store with no notification (no listener runs here).
    user.enabled = false;
    let mut tx = store.realm(&realm.id).await.unwrap();
    tx.update_user(&user).await.unwrap();
    tx.commit().await.unwrap();
    assert!(enabled().await, "young: served from the cache");
    tokio::time::sleep(TTL * 7 / 8 + Duration::from_millis(150)).await;
    assert!(
        enabled().await,
        "late in its TTL the cached user is still served, and re-read in the background"
    );
    before(
        cached_at + TTL,
        "the re-read user replaces the cached one",
        async || !enabled().await,
    )
    .await;

    // A user deleted behind the cache's back is dropped by the re-read.
    let mut tx = store.realm(&realm.id).await.unwrap();
    tx.delete_user(&user.id).await.unwrap();
    tx.commit().await.unwrap();
    let cached_at = Instant::now();
    tokio::time::sleep(TTL * 7 / 8 + Duration::from_millis(150)).await;
    assert!(app.cached_user(&ctx, &user.id).await.unwrap().is_some());
    before(
        cached_at + TTL,
        "the deleted user leaves the cache",
        async || app.cached_user(&ctx, &user.id).await.unwrap().is_none(),
    )
    .await;
}

#[tokio::test]
async fn a_busy_tokens_revocation_is_read_ahead_of_its_ttl() {
    let (store, app, realm) = fresh_realm("revoked", None).await;
    let ctx = app.realm("revoked").await.unwrap();
    let at: realmgate_oidc::claims::AccessTokenClaims = serde_json::from_value(serde_json::json!({
        "iss": ctx.issuer, "sub": "u", "aud": "c", "exp": 1_800_000_300, "iat": 1_800_000_000,
        "jti": "jti-ahead", "client_id": "c", "azp": "c", "scope": "openid", "typ": "Bearer",
        "tenant_id": realm.id.0, "realm_access": { "roles": [] }
    }))
    .unwrap();
    let cached_at = Instant::now();
    assert!(app.token_live(&ctx, &at).await.unwrap());

    // Revoked in the store with no notification.
    let mut tx = store.realm(&realm.id).await.unwrap();
    tx.revoke_jti("jti-ahead", 1_800_000_300).await.unwrap();
    tx.commit().await.unwrap();
    assert!(app.token_live(&ctx, &at).await.unwrap(), "young: cached");
    tokio::time::sleep(TTL * 7 / 8 + Duration::from_millis(150)).await;
    assert!(
        app.token_live(&ctx, &at).await.unwrap(),
        "late in its TTL the cached state is still served, and re-read in the background"
    );
    before(cached_at + TTL, "the revocation is read", async || {
        !app.token_live(&ctx, &at).await.unwrap()
    })
    .await;
}

/// A due entry of a realm whose configuration revision has not moved is renewed without a
/// re-read: a change made behind the store's write methods (raw SQL, which does not bump the
/// revision) is not seen, and the entry outlives its first TTL as the same value.
#[tokio::test]
async fn an_entry_of_an_unchanged_realm_is_renewed_without_a_re_read() {
    let (store, app, realm) = fresh_realm("renew", None).await;
    let ctx = app.realm("renew").await.unwrap();
    let cached_at = Instant::now();
    let client = app
        .client(&realm.id, "realm-management")
        .await
        .unwrap()
        .unwrap();
    // The realm's first key is generated after the client is cached: keys have a revision of
    // their own, so that does not date the client.
    app.jwks(&ctx).await.unwrap();
    let mut tx = store.realm(&realm.id).await.unwrap();
    let done = tx
        .raw_execute(
            "UPDATE clients SET enabled = 0 WHERE realm_id = $1 AND client_id = $2",
            &[realm.id.as_str(), "realm-management"],
        )
        .await
        .unwrap();
    assert_eq!(done, 1);
    tx.commit().await.unwrap();

    tokio::time::sleep(TTL * 7 / 8 + Duration::from_millis(150)).await;
    let served = app.client(&realm.id, "realm-management").await.unwrap();
    assert!(served.unwrap().client.enabled);
    tokio::time::sleep_until((cached_at + TTL + Duration::from_millis(300)).into()).await;
    let kept = app
        .caches()
        .clients
        .get(&(realm.id.clone(), "realm-management".to_owned()));
    assert!(
        kept.is_some_and(|c| Arc::ptr_eq(&c, &client) && c.client.enabled),
        "renewed past its first TTL as the same value, not re-read"
    );
}
