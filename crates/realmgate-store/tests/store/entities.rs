//! Round trips, updates, cascading deletes and concurrent writers of the entity repositories.

use crate::support::*;
use realmgate_store::UserQuery;
use realmgate_store::domain::*;
use std::collections::BTreeSet;

#[tokio::test]
async fn entities_round_trip_and_update() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tx = store.realm(&realm).await?;
    assert_eq!(tx.user_by_id(&f.user.id).await?, Some(f.user.clone()));
    assert_eq!(tx.user_by_id(&f.sa_user.id).await?, Some(f.sa_user.clone()));
    assert_eq!(
        tx.client_by_uuid(&f.client.id).await?,
        Some(f.client.clone())
    );
    assert_eq!(
        tx.group_by_id(&f.child_group.id).await?,
        Some(f.child_group.clone())
    );
    assert_eq!(tx.org_by_id(&f.org.id).await?, Some(f.org.clone()));
    assert_eq!(
        tx.session_by_id(&f.session.id).await?,
        Some(f.session.clone())
    );
    assert_eq!(
        tx.refresh_by_hash(&f.refresh.token_hash).await?,
        Some(f.refresh.clone())
    );
    assert_eq!(
        tx.consent_of(&f.user.id, &f.client.id).await?,
        Some(f.consent.clone())
    );

    let mut u = f.user.clone();
    u.username = "alice2".into();
    u.email = None;
    u.enabled = false;
    u.first_name = None;
    u.attributes.clear();
    tx.update_user(&u).await?;
    assert_eq!(tx.user_by_id(&u.id).await?, Some(u.clone()));
    assert_eq!(tx.user_by_username("alice").await?, None);

    let mut c = f.client.clone();
    c.client_id = "app2".into();
    c.auth_method = ClientAuthMethod::None;
    c.secret_sealed = None;
    c.redirect_uris.push("http://localhost/cb".into());
    c.attributes.clear();
    tx.update_client(&c).await?;
    assert_eq!(tx.client_by_client_id("app2").await?, Some(c.clone()));
    assert_eq!(tx.list_clients(Some("app"), 0, 10).await?, vec![]);
    assert_eq!(tx.list_clients(Some("app2"), 0, 10).await?, vec![c.clone()]);

    let mut o = f.org.clone();
    o.domains.push(OrgDomain {
        name: "acme.test".into(),
        verified: false,
    });
    o.enabled = false;
    tx.update_org(&o).await?;
    assert_eq!(tx.org_by_id(&o.id).await?, Some(o.clone()));
    tx.set_org_member_roles(
        &o.id,
        &f.user.id,
        &["admin".to_owned(), "billing".to_owned()],
    )
    .await?;
    let members = tx.org_members(&o.id, 0, 10).await?;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].0, u);
    assert_eq!(
        members[0].1.roles,
        vec!["admin".to_owned(), "billing".to_owned()]
    );
    let orgs = tx.user_orgs(&f.user.id).await?;
    assert_eq!(
        (orgs[0].0.clone(), orgs[0].1.org_id.clone()),
        (o.clone(), o.id.clone())
    );
    tx.remove_org_member(&o.id, &f.user.id).await?;
    assert!(matches!(
        tx.remove_org_member(&o.id, &f.user.id).await,
        Err(realmgate_store::StoreError::NotFound)
    ));
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn passwords_keys_consents_failures_and_jtis() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tx = store.realm(&realm).await?;
    let newer = PasswordCredential {
        id: CredentialId::new(),
        user_id: f.user.id.clone(),
        hash: "$argon2id$new".into(),
        created_at: NOW + 1,
    };
    tx.set_password(&newer).await?;
    assert_eq!(tx.password_of(&f.user.id).await?, Some(newer));
    tx.delete_password(&f.user.id).await?;
    assert_eq!(tx.password_of(&f.user.id).await?, None);

    tx.insert_key(&key("k2", NOW + 10)).await?;
    tx.insert_key(&key("k0", NOW - 10)).await?;
    tx.set_key_status("k2", KeyStatus::Next).await?;
    let keys = tx.keys().await?;
    assert_eq!(
        keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        ["k2", "k1", "k0"]
    );
    assert_eq!(keys[0].status, KeyStatus::Next);
    assert_eq!(keys[1], f.key);
    tx.delete_key("k0").await?;
    assert_eq!(tx.keys().await?.len(), 2);

    let updated = Consent {
        scopes: vec!["openid".into()],
        granted_at: NOW + 5,
        ..f.consent.clone()
    };
    tx.upsert_consent(&updated).await?;
    assert_eq!(
        tx.consent_of(&f.user.id, &f.client.id).await?,
        Some(updated)
    );
    tx.delete_consent(&f.user.id, &f.client.id).await?;
    assert_eq!(tx.consent_of(&f.user.id, &f.client.id).await?, None);

    let lf = LoginFailures {
        subject: f.subject.clone(),
        failures: 4,
        last_failure: NOW + 1,
        locked_until: NOW + 61,
    };
    tx.put_failures(&lf).await?;
    assert_eq!(tx.failures_of(&f.subject).await?, Some(lf));
    tx.clear_failures(&f.subject).await?;
    assert_eq!(tx.failures_of(&f.subject).await?, None);

    tx.revoke_jti("j2", NOW + 5).await?;
    tx.revoke_jti("j2", NOW + 5).await?;
    assert!(tx.jti_revoked("j2").await?);
    assert!(!tx.jti_revoked("j3").await?);
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn deletes_cascade() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tx = store.realm(&realm).await?;
    tx.put_failures(&LoginFailures {
        subject: format!("user:{}", f.user.id),
        failures: 1,
        last_failure: NOW,
        locked_until: 0,
    })
    .await?;
    tx.delete_user(&f.user.id).await?;
    assert!(matches!(
        tx.delete_user(&f.user.id).await,
        Err(realmgate_store::StoreError::NotFound)
    ));
    for table in [
        "credentials",
        "user_roles",
        "user_groups",
        "org_members",
        "user_sessions",
        "auth_codes",
        "token_families",
        "refresh_tokens",
        "consents",
    ] {
        assert_eq!(tx.raw_count_realm(table).await?, 0, "{table}");
    }
    assert_eq!(tx.failures_of(&format!("user:{}", f.user.id)).await?, None);
    assert_eq!(
        tx.failures_of(&f.subject).await?.map(|l| l.failures),
        Some(3),
        "ip records stay"
    );
    tx.commit().await?;

    let f2 = populate(&store, &new_realm(&store, "r2").await?, "r2").await?;
    let mut tx = store.realm(&f2.realm).await?;
    tx.delete_client(&f2.client.id).await?;
    assert_eq!(
        tx.user_by_id(&f2.sa_user.id).await?,
        None,
        "service-account user goes with its client"
    );
    assert!(tx.user_by_id(&f2.user.id).await?.is_some());
    assert!(tx.list_roles(Some(&f2.client.id)).await?.is_empty());
    assert!(tx.user_roles(&f2.user.id).await?.is_empty());
    for table in ["auth_codes", "token_families", "refresh_tokens", "consents"] {
        assert_eq!(tx.raw_count_realm(table).await?, 0, "{table}");
    }
    tx.delete_org(&f2.org.id).await?;
    assert!(tx.user_orgs(&f2.user.id).await?.is_empty());
    tx.delete_group(&f2.parent_group.id).await?;
    assert_eq!(
        tx.group_by_id(&f2.child_group.id).await?,
        None,
        "subgroups go with their parent"
    );
    assert!(tx.user_groups(&f2.user.id).await?.is_empty());
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn renaming_a_group_rewrites_descendant_paths() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let mut tx = store.realm(&realm).await?;
    let a = group("a_%", None);
    let b = group("b", Some(&a));
    let c = group("c", Some(&b));
    let lookalike = group("a_%x", None);
    let lookalike_child = group("d", Some(&lookalike));
    let plain = group("abc", None);
    for g in [&a, &b, &c, &lookalike, &lookalike_child, &plain] {
        tx.insert_group(g).await?;
    }
    let mut renamed = a.clone();
    renamed.name = "zed".into();
    renamed.path = "/zed".into();
    tx.update_group(&renamed).await?;
    let paths: BTreeSet<String> = tx
        .list_groups(None, 0, 100)
        .await?
        .into_iter()
        .map(|g| g.path)
        .collect();
    let want: BTreeSet<String> = ["/a_%x", "/a_%x/d", "/abc", "/zed", "/zed/b", "/zed/b/c"]
        .map(String::from)
        .into();
    assert_eq!(paths, want);
    let found = tx.list_groups(Some("A_%"), 0, 100).await?;
    assert_eq!(
        found.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["a_%x"],
        "LIKE wildcards are escaped"
    );
    assert_eq!(tx.list_groups(None, 1, 2).await?.len(), 2);
    assert_eq!(tx.list_groups(None, 5, 10).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn concurrent_writers_wait_instead_of_failing() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    race(8, |i| {
        let (store, realm) = (store.clone(), realm.clone());
        async move {
            let mut tx = store.realm(&realm).await?;
            let n = tx.count_users(&UserQuery::default()).await?;
            tx.insert_user(&user(&format!("user{i}-{n}"))).await?;
            tx.commit().await
        }
    })
    .await?;
    let mut tx = store.realm_read(&realm).await?;
    assert_eq!(tx.count_users(&UserQuery::default()).await?, 8);
    Ok(())
}
