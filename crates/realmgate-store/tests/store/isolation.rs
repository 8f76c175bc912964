//! Cross-realm isolation: realm B, populated with the very same names as realm A, uses every
//! repository method on A's ids and hashes. It must see nothing and change nothing of A's.

use crate::in_realm;
use crate::support::*;
use realmgate_store::domain::*;
use realmgate_store::{CodeRedemption, RefreshRotation, StoreError, UserQuery};

fn not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "expected NotFound, got {r:?}"
    );
}

#[tokio::test]
async fn realm_b_cannot_see_or_touch_realm_a() -> TestResult {
    let store = store().await;
    let a_id = new_realm(&store, "a").await?;
    let b_id = new_realm(&store, "b").await?;
    let a = populate(&store, &a_id, "a").await?;
    let b = populate(&store, &b_id, "b").await?;
    let before = snapshot(&store, &a).await?;
    let b_before = snapshot(&store, &b).await?;
    let (s, rb) = (&store, &b_id);

    // Same names resolve to B's own rows; A's ids resolve to nothing.
    {
        let mut tx = store.realm_read(rb).await?;
        assert_eq!(tx.realm_id(), &b_id);
        assert_eq!(
            tx.user_by_username("alice").await?.map(|u| u.id),
            Some(b.user.id.clone())
        );
        assert_eq!(
            tx.user_by_email("alice@example.com").await?.map(|u| u.id),
            Some(b.user.id.clone())
        );
        assert_eq!(tx.user_by_id(&a.user.id).await?, None);
        let all = UserQuery {
            include_service_accounts: true,
            ..UserQuery::default()
        };
        let found = tx.search_users(&all, 0, 100).await?;
        assert_eq!(found.len(), 2);
        assert!(
            found
                .iter()
                .all(|u| u.id == b.user.id || u.id == b.sa_user.id)
        );
        assert_eq!(tx.count_users(&all).await?, 2);
        assert_eq!(tx.password_of(&a.user.id).await?, None);
        assert_eq!(tx.client_by_uuid(&a.client.id).await?, None);
        assert_eq!(
            tx.client_by_client_id("app").await?.map(|c| c.id),
            Some(b.client.id.clone())
        );
        let clients = tx.list_clients(None, 0, 100).await?;
        assert_eq!(
            clients.iter().map(|c| &c.id).collect::<Vec<_>>(),
            vec![&b.client.id]
        );
        assert_eq!(tx.role_by_id(&a.realm_role.id).await?, None);
        assert_eq!(tx.role_by_name(Some(&a.client.id), "admin").await?, None);
        assert!(tx.list_roles(Some(&a.client.id)).await?.is_empty());
        assert!(
            tx.list_roles(None)
                .await?
                .iter()
                .all(|r| r.id == b.realm_role.id || r.id == b.child_role.id)
        );
        assert!(tx.composites_of(&a.realm_role.id).await?.is_empty());
        assert!(tx.user_roles(&a.user.id).await?.is_empty());
        assert!(tx.effective_roles(&a.user.id).await?.is_empty());
        assert_eq!(tx.group_by_id(&a.parent_group.id).await?, None);
        assert!(
            tx.list_groups(None, 0, 100)
                .await?
                .iter()
                .all(|g| g.id == b.parent_group.id || g.id == b.child_group.id)
        );
        assert!(tx.user_groups(&a.user.id).await?.is_empty());
        assert!(
            tx.group_members(&a.child_group.id, 0, 100)
                .await?
                .is_empty()
        );
        assert!(tx.group_roles(&a.parent_group.id).await?.is_empty());
        assert_eq!(tx.org_by_id(&a.org.id).await?, None);
        assert_eq!(
            tx.list_orgs(None, 0, 100)
                .await?
                .iter()
                .map(|o| &o.id)
                .collect::<Vec<_>>(),
            vec![&b.org.id]
        );
        assert!(tx.org_members(&a.org.id, 0, 100).await?.is_empty());
        assert!(tx.user_orgs(&a.user.id).await?.is_empty());
        assert_eq!(tx.keys().await?, vec![b.key.clone()]);
        assert_eq!(tx.session_by_id(&a.session.id).await?, None);
        assert_eq!(tx.refresh_by_hash(&a.refresh.token_hash).await?, None);
        assert!(!tx.family_active(&a.family).await?);
        assert_eq!(tx.consent_of(&a.user.id, &a.client.id).await?, None);
        assert_eq!(
            tx.failures_of(&a.subject).await?.map(|f| f.failures),
            Some(3)
        ); // B's own record
    }

    // Writes aimed at A's rows: NotFound (each in its own transaction) or a no-op.
    let mut a_user = a.user.clone();
    a_user.username = "mallory".to_owned();
    not_found(in_realm!(s, rb, |tx| tx.update_user(&a_user).await));
    not_found(in_realm!(s, rb, |tx| tx.delete_user(&a.user.id).await));
    let cred = PasswordCredential {
        id: CredentialId::new(),
        user_id: a.user.id.clone(),
        hash: "x".into(),
        created_at: NOW,
    };
    not_found(in_realm!(s, rb, |tx| tx.set_password(&cred).await));
    in_realm!(s, rb, |tx| tx.delete_password(&a.user.id).await)?;
    let mut a_client = a.client.clone();
    a_client.client_id = "stolen".to_owned();
    not_found(in_realm!(s, rb, |tx| tx.update_client(&a_client).await));
    not_found(in_realm!(s, rb, |tx| tx.delete_client(&a.client.id).await));
    not_found(in_realm!(s, rb, |tx| tx
        .insert_role(&role("evil", Some(&a.client.id)))
        .await));
    let mut a_role = a.realm_role.clone();
    a_role.name = "owned".to_owned();
    not_found(in_realm!(s, rb, |tx| tx.update_role(&a_role).await));
    not_found(in_realm!(s, rb, |tx| tx
        .delete_role(&a.realm_role.id)
        .await));
    not_found(in_realm!(s, rb, |tx| tx
        .add_composite(&a.client_role.id, &a.realm_role.id)
        .await));
    not_found(in_realm!(s, rb, |tx| tx
        .add_composite(&b.realm_role.id, &a.realm_role.id)
        .await));
    in_realm!(s, rb, |tx| tx
        .remove_composite(&a.realm_role.id, &a.child_role.id)
        .await)?;
    not_found(in_realm!(s, rb, |tx| tx
        .grant_user_role(&a.user.id, &a.realm_role.id)
        .await));
    not_found(in_realm!(s, rb, |tx| tx
        .grant_user_role(&b.user.id, &a.realm_role.id)
        .await));
    in_realm!(s, rb, |tx| tx
        .revoke_user_role(&a.user.id, &a.client_role.id)
        .await)?;
    not_found(in_realm!(s, rb, |tx| tx
        .insert_group(&group("sub", Some(&a.parent_group)))
        .await));
    let mut a_group = a.parent_group.clone();
    a_group.path = "/hijacked".to_owned();
    not_found(in_realm!(s, rb, |tx| tx.update_group(&a_group).await));
    not_found(in_realm!(s, rb, |tx| tx
        .delete_group(&a.parent_group.id)
        .await));
    not_found(in_realm!(s, rb, |tx| tx
        .add_user_to_group(&a.user.id, &a.parent_group.id)
        .await));
    not_found(in_realm!(s, rb, |tx| tx
        .add_user_to_group(&b.user.id, &a.parent_group.id)
        .await));
    in_realm!(s, rb, |tx| tx
        .remove_user_from_group(&a.user.id, &a.child_group.id)
        .await)?;
    not_found(in_realm!(s, rb, |tx| tx
        .grant_group_role(&a.parent_group.id, &a.child_role.id)
        .await));
    in_realm!(s, rb, |tx| tx
        .revoke_group_role(&a.parent_group.id, &a.realm_role.id)
        .await)?;
    let mut a_org = a.org.clone();
    a_org.name = "Evil".to_owned();
    not_found(in_realm!(s, rb, |tx| tx.update_org(&a_org).await));
    not_found(in_realm!(s, rb, |tx| tx.delete_org(&a.org.id).await));
    let m = OrgMembership {
        org_id: a.org.id.clone(),
        user_id: b.user.id.clone(),
        roles: vec![],
        created_at: NOW,
    };
    not_found(in_realm!(s, rb, |tx| tx.add_org_member(&m).await));
    not_found(in_realm!(s, rb, |tx| tx
        .remove_org_member(&a.org.id, &a.user.id)
        .await));
    not_found(in_realm!(s, rb, |tx| tx
        .set_org_member_roles(&a.org.id, &a.user.id, &["x".to_owned()])
        .await));
    // Same kid in both realms: B changes only its own key.
    in_realm!(s, rb, |tx| tx
        .set_key_status("k1", KeyStatus::Retired)
        .await)?;
    not_found(in_realm!(s, rb, |tx| tx
        .set_key_status("no-such-kid", KeyStatus::Retired)
        .await));
    not_found(in_realm!(s, rb, |tx| tx
        .insert_session(&session(&a.user.id))
        .await));
    not_found(in_realm!(s, rb, |tx| tx
        .touch_session(&a.session.id, NOW + 99)
        .await));
    not_found(in_realm!(s, rb, |tx| tx
        .revoke_session(&a.session.id)
        .await));
    in_realm!(s, rb, |tx| tx.revoke_user_sessions(&a.user.id).await)?;
    not_found(in_realm!(s, rb, |tx| tx
        .insert_code(&code("evil-code", &a.client.id, &a.session))
        .await));
    let consumed = in_realm!(s, rb, |tx| tx.consume_code(&a.code.code_hash, NOW).await)?;
    assert_eq!(consumed, CodeRedemption::Unknown);
    not_found(in_realm!(s, rb, |tx| tx
        .insert_family(&family(
            &FamilyId::new(),
            &a.client.id,
            &a.user.id,
            None,
            NOW
        ))
        .await));
    not_found(in_realm!(s, rb, |tx| tx
        .insert_family(&family(
            &FamilyId::new(),
            &b.client.id,
            &a.user.id,
            None,
            NOW
        ))
        .await));
    not_found(in_realm!(s, rb, |tx| tx
        .revoke_family(&a.family, NOW)
        .await));
    let stolen = refresh("evil-refresh", &a.family, &b.client.id, &b.session);
    not_found(in_realm!(s, rb, |tx| tx.insert_refresh(&stolen).await));
    let rotated = in_realm!(s, rb, |tx| tx
        .rotate_refresh(&a.refresh.token_hash, NOW)
        .await)?;
    assert_eq!(rotated, RefreshRotation::Unknown);
    use realmgate_store::{Refusal, Rotation};
    let rotated = in_realm!(s, rb, |tx| tx
        .rotate_legacy_refresh(&a.refresh.token_hash, NOW, 600)
        .await)?;
    assert_eq!(rotated, Rotation::Refused(Refusal::Unknown));
    let rotated = in_realm!(s, rb, |tx| tx.rotate_family(&a.family, 0, NOW, 600).await)?;
    assert_eq!(rotated, Rotation::Refused(Refusal::Unknown));
    assert_eq!(
        in_realm!(s, rb, |tx| tx.family_status(&a.family).await)?,
        None
    );
    not_found(in_realm!(s, rb, |tx| tx
        .set_family_scope(&a.family, "openid")
        .await));
    let consent = Consent {
        user_id: a.user.id.clone(),
        client: a.client.clone().id,
        scopes: vec![],
        granted_at: NOW,
    };
    not_found(in_realm!(s, rb, |tx| tx.upsert_consent(&consent).await));
    in_realm!(s, rb, |tx| tx
        .delete_consent(&a.user.id, &a.client.id)
        .await)?;
    // Same jti and subject in both realms: B's writes stay in B.
    in_realm!(s, rb, |tx| tx.revoke_jti("jti-only-in-b", NOW).await)?;
    in_realm!(s, rb, |tx| tx.clear_failures(&a.subject).await)?;
    in_realm!(s, rb, |tx| tx.purge_expired(i64::MAX).await)?;
    // Deleting B's key of the same kid leaves A's.
    in_realm!(s, rb, |tx| tx.delete_key("k1").await)?;
    not_found(in_realm!(s, rb, |tx| tx.delete_key("k1").await));

    assert_eq!(snapshot(&store, &a).await?, before, "realm A changed");
    assert_ne!(
        snapshot(&store, &b).await?,
        b_before,
        "realm B's own writes took effect"
    );

    // A's code was never consumed and A's token never rotated.
    let mut tx = store.realm(&a_id).await?;
    assert!(matches!(
        tx.consume_code(&a.code.code_hash, NOW).await?,
        CodeRedemption::First(_)
    ));
    assert!(matches!(
        tx.rotate_refresh(&a.refresh.token_hash, NOW).await?,
        RefreshRotation::Rotated(_)
    ));
    assert!(!tx.jti_revoked("jti-only-in-b").await?);
    Ok(())
}

#[tokio::test]
async fn invalid_realm_ids_are_refused() -> TestResult {
    let store = store().await;
    let err = store
        .realm(&RealmId("not-a-uuid".to_owned()))
        .await
        .map(|_| ());
    assert!(matches!(err, Err(StoreError::NotFound)));
    // Non-canonical spelling of a valid UUID is normalised.
    let id = new_realm(&store, "upper").await?;
    let upper = RealmId(id.as_str().to_uppercase());
    let tx = store.realm_read(&upper).await?;
    assert_eq!(tx.realm_id(), &id);
    Ok(())
}
