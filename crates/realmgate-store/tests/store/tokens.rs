//! Authorization codes, refresh-token rotation, sessions and token families.

use crate::support::*;
use realmgate_store::domain::*;
use realmgate_store::{CodeRedemption, RefreshRotation};

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
