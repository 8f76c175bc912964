//! Tests of `login.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::AppConfig;
use crate::realms::RealmInput;
use realmgate_crypto::{MasterKey, PasswordHasher, PasswordParams};
use realmgate_domain::FixedClock;
use std::sync::Arc;

fn app_with(store: realmgate_store::Store, master: &MasterKey, params: PasswordParams) -> App {
    App::new(
        store,
        master.clone(),
        PasswordHasher::new(params, 2, 16),
        Arc::new(FixedClock::new(1_800_000_000)),
        AppConfig::new("http://127.0.0.1:1"),
    )
}

#[tokio::test]
async fn owasp_rehash_on_login_when_parameters_change() {
    let store = realmgate_store::testing::fresh_test_store().await.unwrap();
    let master = MasterKey::generate();
    let old = PasswordParams {
        m_cost: 8192,
        t_cost: 1,
        p_cost: 1,
    };
    let new = PasswordParams {
        m_cost: 9216,
        t_cost: 2,
        p_cost: 1,
    };
    let app = app_with(store.clone(), &master, old);
    let realm = app
        .create_realm(RealmInput {
            name: Some("rehash".into()),
            ..RealmInput::default()
        })
        .await
        .unwrap();
    let user = crate::test_support::user("dora");
    let mut tx = store.realm(&realm.id).await.unwrap();
    tx.insert_user(&user).await.unwrap();
    tx.commit().await.unwrap();
    app.set_user_password(&realm.id, &user.id, "s3cret-pass")
        .await
        .unwrap();
    let hash_of = |store: realmgate_store::Store, id: realmgate_domain::RealmId, uid: UserId| async move {
        store
            .realm_read(&id)
            .await
            .unwrap()
            .password_of(&uid)
            .await
            .unwrap()
            .unwrap()
            .hash
    };
    let before = hash_of(store.clone(), realm.id.clone(), user.id.clone()).await;
    assert!(before.contains("m=8192,t=1"), "{before}");

    // The deployment raises its parameters; the next successful login upgrades the hash.
    let app = app_with(store.clone(), &master, new);
    let ctx = app.realm("rehash").await.unwrap();
    let wrong = app
        .check_password(&ctx, "dora", "nope", None)
        .await
        .unwrap();
    assert!(matches!(wrong, LoginOutcome::InvalidCredentials));
    assert_eq!(
        hash_of(store.clone(), realm.id.clone(), user.id.clone()).await,
        before,
        "a failed login changes nothing"
    );
    let ok = app
        .check_password(&ctx, "dora", "s3cret-pass", None)
        .await
        .unwrap();
    assert!(matches!(ok, LoginOutcome::Success(_)));
    let after = hash_of(store.clone(), realm.id.clone(), user.id.clone()).await;
    assert!(after.contains("m=9216,t=2"), "{after}");
    let again = app
        .check_password(&ctx, "dora", "s3cret-pass", None)
        .await
        .unwrap();
    assert!(
        matches!(again, LoginOutcome::Success(_)),
        "the upgraded hash verifies"
    );
}
