//! Uniqueness violations come back as `Conflict(name)` with the same name on both backends.

use crate::in_realm;
use crate::support::*;
use realmgate_store::domain::*;
use realmgate_store::{CONFLICT_NAMES, StoreError};

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>, name: &str) {
    match r {
        Err(StoreError::Conflict(got)) => {
            assert_eq!(got, name);
            assert!(CONFLICT_NAMES.contains(&got));
        }
        other => panic!("expected Conflict({name}), got {other:?}"),
    }
}

#[tokio::test]
async fn unique_rules_map_to_named_conflicts() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let (s, r) = (&store, &realm);

    let mut same_name = user("alice");
    same_name.email = None;
    conflict(
        in_realm!(s, r, |tx| tx.insert_user(&same_name).await),
        "users_username",
    );
    let mut same_email = user("alice-two");
    same_email.email = f.user.email.clone();
    conflict(
        in_realm!(s, r, |tx| tx.insert_user(&same_email).await),
        "users_email",
    );
    let mut same_id = user("carol");
    same_id.id = f.user.id.clone();
    conflict(
        in_realm!(s, r, |tx| tx.insert_user(&same_id).await),
        "users_id",
    );
    let mut second_sa = user("service-account-2");
    second_sa.service_account_client = Some(f.client.id.clone());
    conflict(
        in_realm!(s, r, |tx| tx.insert_user(&second_sa).await),
        "users_service_account",
    );
    let mut renamed = user("dave");
    in_realm!(s, r, |tx| tx.insert_user(&renamed).await)?;
    renamed.username = "alice".into();
    conflict(
        in_realm!(s, r, |tx| tx.update_user(&renamed).await),
        "users_username",
    );

    conflict(
        in_realm!(s, r, |tx| tx.insert_client(&client("app")).await),
        "clients_client_id",
    );
    conflict(
        in_realm!(s, r, |tx| tx.insert_role(&role("admin", None)).await),
        "roles_realm_name",
    );
    conflict(
        in_realm!(s, r, |tx| tx
            .insert_role(&role("admin", Some(&f.client.id)))
            .await),
        "roles_client_name",
    );
    conflict(
        in_realm!(s, r, |tx| tx.insert_group(&group("staff", None)).await),
        "groups_path",
    );
    conflict(
        in_realm!(s, r, |tx| tx
            .insert_group(&group("ops", Some(&f.parent_group)))
            .await),
        "groups_path",
    );
    let mut same_name = org("Acme");
    same_name.alias = "acme-2".into();
    conflict(
        in_realm!(s, r, |tx| tx.insert_org(&same_name).await),
        "organizations_name",
    );
    let mut same_alias = org("Other");
    same_alias.alias = f.org.alias.clone();
    conflict(
        in_realm!(s, r, |tx| tx.insert_org(&same_alias).await),
        "organizations_alias",
    );
    let member = OrgMembership {
        org_id: f.org.id.clone(),
        user_id: f.user.id.clone(),
        roles: vec![],
        created_at: NOW,
    };
    conflict(
        in_realm!(s, r, |tx| tx.add_org_member(&member).await),
        "org_members",
    );
    conflict(
        in_realm!(s, r, |tx| tx.insert_key(&key("k1", NOW)).await),
        "signing_keys_kid",
    );
    conflict(
        in_realm!(s, r, |tx| tx.insert_session(&f.session).await),
        "user_sessions_id",
    );
    conflict(
        in_realm!(s, r, |tx| tx.insert_code(&f.code).await),
        "auth_codes_hash",
    );
    conflict(
        in_realm!(s, r, |tx| tx
            .insert_family(&family(&f.family, &f.client.id, &f.user.id, None, NOW))
            .await),
        "token_families_id",
    );
    conflict(
        in_realm!(s, r, |tx| tx.insert_refresh(&f.refresh).await),
        "refresh_tokens_hash",
    );

    // Realm directory.
    let taken = Realm {
        id: RealmId::new(),
        name: RealmName::parse("r")?,
        display_name: None,
        enabled: true,
        settings: RealmSettings::default(),
        created_at: NOW,
    };
    let mut sys = store.system().await?;
    conflict(sys.insert_realm(&taken).await, "realms_name");
    drop(sys);
    let other = new_realm(&store, "other").await?;
    let mut sys = store.system().await?;
    let mut rename = sys.realm_by_id(&other).await?.expect("realm");
    rename.name = RealmName::parse("r")?;
    conflict(sys.update_realm(&rename).await, "realms_name");
    drop(sys);
    let mut sys = store.system().await?;
    let mut dup = sys.realm_by_id(&other).await?.expect("realm");
    dup.name = RealmName::parse("third")?;
    conflict(sys.insert_realm(&dup).await, "realms_id");

    // The failed attempts changed nothing.
    let mut tx = store.realm_read(&realm).await?;
    assert_eq!(tx.user_by_username("alice").await?, Some(f.user.clone()));
    assert_eq!(tx.raw_count_realm("users").await?, 3);
    Ok(())
}

#[tokio::test]
async fn the_same_names_are_free_in_another_realm() -> TestResult {
    let store = store().await;
    let a = new_realm(&store, "a").await?;
    let b = new_realm(&store, "b").await?;
    let fa = populate(&store, &a, "same").await?;
    // Even the same code and refresh hashes may exist in two realms.
    let fb = populate(&store, &b, "same").await?;
    assert_eq!(fa.code.code_hash, fb.code.code_hash);
    Ok(())
}
