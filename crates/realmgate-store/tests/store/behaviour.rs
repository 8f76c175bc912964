//! Behaviour of the token, session and role repositories.

use crate::support::*;
use realmgate_store::domain::*;
use realmgate_store::{CodeRedemption, RefreshRotation, UserQuery};
use std::collections::BTreeSet;

#[tokio::test]
async fn code_is_redeemed_once_then_reported_as_replayed() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tx = store.realm(&realm).await?;
    let CodeRedemption::First(first) = tx.consume_code(&f.code.code_hash, NOW + 5).await? else {
        panic!("first redemption");
    };
    assert_eq!(first.consumed_at, Some(NOW + 5));
    assert_eq!(
        AuthCode {
            consumed_at: None,
            ..first.clone()
        },
        f.code
    );
    let CodeRedemption::Replayed(again) = tx.consume_code(&f.code.code_hash, NOW + 9).await? else {
        panic!("replay");
    };
    assert_eq!(
        again.consumed_at,
        Some(NOW + 5),
        "the first redemption time is kept"
    );
    assert_eq!(again.family_id, f.code.family_id);
    assert_eq!(
        tx.consume_code("no-such-code", NOW).await?,
        CodeRedemption::Unknown
    );
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn refresh_rotation_detects_reuse_and_family_revocation() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tx = store.realm(&realm).await?;
    let RefreshRotation::Rotated(old) = tx.rotate_refresh(&f.refresh.token_hash, NOW + 10).await?
    else {
        panic!("rotation");
    };
    assert_eq!(old.rotated_at, Some(NOW + 10));
    let next = RefreshToken {
        token_hash: "r-refresh-2".into(),
        issued_at: NOW + 10,
        ..f.refresh.clone()
    };
    tx.insert_refresh(&next).await?;
    assert_eq!(tx.refresh_by_hash("r-refresh-2").await?, Some(next.clone()));
    // Presenting the old token again is reuse.
    let RefreshRotation::Reused(reused) =
        tx.rotate_refresh(&f.refresh.token_hash, NOW + 20).await?
    else {
        panic!("reuse");
    };
    assert_eq!(reused.rotated_at, Some(NOW + 10));
    // The caller revokes the family; now even the newest token is refused.
    tx.revoke_family(&f.family, NOW + 20).await?;
    tx.revoke_family(&f.family, NOW + 30).await?; // idempotent
    assert!(!tx.family_active(&f.family).await?);
    let RefreshRotation::Revoked(revoked) = tx.rotate_refresh("r-refresh-2", NOW + 21).await?
    else {
        panic!("revoked");
    };
    assert_eq!(
        revoked.rotated_at, None,
        "a revoked family's token is not rotated"
    );
    assert_eq!(
        tx.rotate_refresh("nope", NOW).await?,
        RefreshRotation::Unknown
    );
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn revoking_a_session_revokes_its_token_families() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tx = store.realm(&realm).await?;
    let other = session(&f.user.id);
    tx.insert_session(&other).await?;
    let other_family = FamilyId::new();
    tx.insert_family(
        &other_family,
        &f.client.id,
        &f.user.id,
        Some(&other.id),
        NOW + 99,
    )
    .await?;
    let no_session = FamilyId::new();
    tx.insert_family(&no_session, &f.client.id, &f.user.id, None, NOW + 99)
        .await?;
    assert!(tx.family_active(&f.family).await?);

    tx.revoke_session(&f.session.id).await?;
    assert!(
        tx.session_by_id(&f.session.id)
            .await?
            .is_some_and(|s| s.revoked)
    );
    assert!(!tx.family_active(&f.family).await?);
    assert!(matches!(
        tx.rotate_refresh(&f.refresh.token_hash, NOW).await?,
        RefreshRotation::Revoked(_)
    ));
    assert!(
        tx.family_active(&other_family).await?,
        "other sessions are untouched"
    );

    tx.revoke_user_sessions(&f.user.id).await?;
    assert!(!tx.family_active(&other_family).await?);
    assert!(
        tx.session_by_id(&other.id)
            .await?
            .is_some_and(|s| s.revoked)
    );
    assert!(
        tx.family_active(&no_session).await?,
        "families without a session are not session-bound"
    );
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn touch_moves_last_seen_forward_only() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tx = store.realm(&realm).await?;
    tx.touch_session(&f.session.id, NOW + 100).await?;
    tx.touch_session(&f.session.id, NOW + 50).await?;
    assert_eq!(
        tx.session_by_id(&f.session.id).await?.map(|s| s.last_seen),
        Some(NOW + 100)
    );
    Ok(())
}

fn names(roles: &[Role]) -> BTreeSet<String> {
    roles
        .iter()
        .map(|r| {
            format!(
                "{}{}",
                if r.client.is_some() { "client:" } else { "" },
                r.name
            )
        })
        .collect()
}

#[tokio::test]
async fn effective_roles_follow_groups_ancestors_and_composites() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let mut tx = store.realm(&realm).await?;
    let app = client("app");
    tx.insert_client(&app).await?;
    let u = user("bob");
    tx.insert_user(&u).await?;
    let [direct, top, mid, leaf, from_child, unrelated] =
        ["direct", "top", "mid", "leaf", "from-child", "unrelated"].map(|n| role(n, None));
    let client_role = role("editor", Some(&app.id));
    for r in [
        &direct,
        &top,
        &mid,
        &leaf,
        &from_child,
        &unrelated,
        &client_role,
    ] {
        tx.insert_role(r).await?;
    }
    // top -> mid -> leaf -> top (a cycle), mid -> client_role
    tx.add_composite(&top.id, &mid.id).await?;
    tx.add_composite(&top.id, &mid.id).await?; // idempotent
    tx.add_composite(&mid.id, &leaf.id).await?;
    tx.add_composite(&leaf.id, &top.id).await?;
    tx.add_composite(&mid.id, &client_role.id).await?;
    let root = group("root", None);
    let child = group("child", Some(&root));
    let grandchild = group("grandchild", Some(&child));
    for g in [&root, &child, &grandchild] {
        tx.insert_group(g).await?;
    }
    tx.grant_group_role(&root.id, &top.id).await?;
    tx.grant_group_role(&child.id, &from_child.id).await?;
    tx.grant_group_role(&child.id, &from_child.id).await?; // idempotent
    tx.add_user_to_group(&u.id, &grandchild.id).await?;
    tx.add_user_to_group(&u.id, &child.id).await?;
    tx.grant_user_role(&u.id, &direct.id).await?;
    tx.grant_user_role(&u.id, &direct.id).await?; // idempotent
    tx.grant_user_role(&u.id, &leaf.id).await?; // also reachable through composites: deduplicated

    let eff = tx.effective_roles(&u.id).await?;
    assert_eq!(eff.len(), 6, "{eff:?}");
    let want: BTreeSet<String> = [
        "direct",
        "top",
        "mid",
        "leaf",
        "from-child",
        "client:editor",
    ]
    .map(String::from)
    .into();
    assert_eq!(names(&eff), want);
    assert_eq!(
        names(&tx.user_roles(&u.id).await?),
        ["direct", "leaf"].map(String::from).into()
    );
    assert_eq!(
        names(&tx.composites_of(&mid.id).await?),
        ["leaf", "client:editor"].map(String::from).into()
    );
    assert_eq!(
        names(&tx.group_roles(&child.id).await?),
        ["from-child"].map(String::from).into()
    );

    tx.remove_user_from_group(&u.id, &grandchild.id).await?;
    tx.remove_user_from_group(&u.id, &child.id).await?;
    tx.revoke_user_role(&u.id, &leaf.id).await?;
    assert_eq!(
        names(&tx.effective_roles(&u.id).await?),
        ["direct"].map(String::from).into()
    );
    tx.remove_composite(&mid.id, &leaf.id).await?;
    assert_eq!(
        names(&tx.composites_of(&mid.id).await?),
        ["client:editor"].map(String::from).into()
    );
    tx.revoke_group_role(&child.id, &from_child.id).await?;
    assert!(tx.group_roles(&child.id).await?.is_empty());
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn roles_are_scoped_to_realm_or_client() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tx = store.realm(&realm).await?;
    let realm_admin = tx.role_by_name(None, "admin").await?.expect("realm role");
    let client_admin = tx
        .role_by_name(Some(&f.client.id), "admin")
        .await?
        .expect("client role");
    assert_eq!(realm_admin, f.realm_role);
    assert_eq!(client_admin, f.client_role);
    assert_eq!(
        names(&tx.list_roles(None).await?),
        ["admin", "viewer"].map(String::from).into()
    );
    assert_eq!(
        tx.list_roles(Some(&f.client.id)).await?,
        vec![f.client_role.clone()]
    );
    let mut renamed = f.child_role.clone();
    renamed.name = "reader".into();
    renamed.attributes.insert("k".into(), vec!["v".into()]);
    tx.update_role(&renamed).await?;
    assert_eq!(tx.role_by_id(&renamed.id).await?, Some(renamed.clone()));
    tx.delete_role(&f.realm_role.id).await?;
    assert!(
        tx.group_roles(&f.parent_group.id).await?.is_empty(),
        "mappings go with the role"
    );
    assert_eq!(tx.role_by_id(&f.realm_role.id).await?, None);
    Ok(())
}

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
async fn purge_removes_only_what_expired() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tx = store.realm(&realm).await?;
    assert_eq!(tx.purge_expired(NOW).await?, 0);
    // Codes (NOW+60) and revoked jtis (NOW+300) expire first.
    assert_eq!(tx.purge_expired(NOW + 301).await?, 2);
    assert_eq!(
        tx.consume_code(&f.code.code_hash, NOW).await?,
        CodeRedemption::Unknown
    );
    assert!(!tx.jti_revoked(&f.jti).await?);
    assert!(tx.refresh_by_hash(&f.refresh.token_hash).await?.is_some());
    tx.purge_expired(NOW + 40_000).await?;
    assert_eq!(tx.session_by_id(&f.session.id).await?, None);
    assert_eq!(tx.refresh_by_hash(&f.refresh.token_hash).await?, None);
    assert!(tx.user_by_id(&f.user.id).await?.is_some());
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
async fn concurrent_rotations_of_one_token_have_one_winner() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tasks = Vec::new();
    for i in 0..4 {
        let (store, realm, hash) = (store.clone(), realm.clone(), f.refresh.token_hash.clone());
        tasks.push(tokio::spawn(async move {
            let mut tx = store.realm(&realm).await?;
            let out = tx.rotate_refresh(&hash, NOW + i).await?;
            tx.commit().await?;
            Ok::<_, realmgate_store::StoreError>(out)
        }));
    }
    let mut rotated = 0;
    for t in tasks {
        match t.await?? {
            RefreshRotation::Rotated(_) => rotated += 1,
            RefreshRotation::Reused(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(rotated, 1);
    Ok(())
}

#[tokio::test]
async fn concurrent_writers_wait_instead_of_failing() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, realm) = (store.clone(), realm.clone());
        tasks.push(tokio::spawn(async move {
            let mut tx = store.realm(&realm).await?;
            let n = tx.count_users(&UserQuery::default()).await?;
            tx.insert_user(&user(&format!("user{i}-{n}"))).await?;
            tx.commit().await
        }));
    }
    for t in tasks {
        t.await??;
    }
    let mut tx = store.realm_read(&realm).await?;
    assert_eq!(tx.count_users(&UserQuery::default()).await?, 8);
    Ok(())
}
