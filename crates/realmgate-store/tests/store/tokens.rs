//! Authorization codes, refresh-token rotation, sessions and token families.

use crate::support::*;
use realmgate_store::domain::*;
use realmgate_store::{CodeRedemption, RefreshRotation, Rotation, Successor};

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

#[tokio::test]
async fn rotation_to_a_successor_stores_it_and_reads_user_and_session() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let next = |hash: &'static str, now| Successor {
        token_hash: hash,
        now,
        idle: 600,
        max_lifespan: 36_000,
    };
    let mut tx = store.realm(&realm).await?;
    let Rotation::Rotated(r) = tx
        .rotate_refresh_to(&f.refresh.token_hash, next("r-next-1", NOW + 10))
        .await?
    else {
        panic!("rotation");
    };
    assert_eq!(r.old.rotated_at, Some(NOW + 10));
    assert_eq!(r.user.as_ref().map(|u| &u.id), Some(&f.user.id));
    assert_eq!(r.session.as_ref(), Some(&f.session));
    let expected = RefreshToken {
        token_hash: "r-next-1".into(),
        issued_at: NOW + 10,
        // The idle timeout, capped by the session's expiry.
        expires_at: (NOW + 10 + 600).min(f.session.expires_at),
        rotated_at: None,
        ..f.refresh.clone()
    };
    assert_eq!(r.successor, expected);
    assert_eq!(tx.refresh_by_hash("r-next-1").await?, Some(expected));
    // The successor rotates in turn; the first token again is reuse, and nothing is written.
    let Rotation::Rotated(r2) = tx
        .rotate_refresh_to("r-next-1", next("r-next-2", NOW + 20))
        .await?
    else {
        panic!("second rotation");
    };
    assert_eq!(r2.successor.family_id, f.family);
    let again = tx
        .rotate_refresh_to(&f.refresh.token_hash, next("r-never", NOW + 30))
        .await?;
    assert!(
        matches!(again, Rotation::Refused(RefreshRotation::Reused(ref t)) if t.rotated_at == Some(NOW + 10)),
        "{again:?}"
    );
    assert_eq!(tx.refresh_by_hash("r-never").await?, None);
    // A revoked family's token is refused and not rotated; an unknown hash is unknown.
    tx.revoke_family(&f.family, NOW + 40).await?;
    let revoked = tx
        .rotate_refresh_to("r-next-2", next("r-never", NOW + 41))
        .await?;
    assert!(
        matches!(revoked, Rotation::Refused(RefreshRotation::Revoked(ref t)) if t.rotated_at.is_none()),
        "{revoked:?}"
    );
    assert_eq!(
        tx.rotate_refresh_to("nope", next("r-never", NOW)).await?,
        Rotation::Refused(RefreshRotation::Unknown)
    );
    assert_eq!(tx.refresh_by_hash("r-never").await?, None);
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn rotation_rolled_back_leaves_the_token_usable() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let next = Successor {
        token_hash: "r-next",
        now: NOW + 10,
        idle: 600,
        max_lifespan: 36_000,
    };
    let mut tx = store.realm(&realm).await?;
    assert!(matches!(
        tx.rotate_refresh_to(&f.refresh.token_hash, next).await?,
        Rotation::Rotated(_)
    ));
    // The grant failed a later check: dropping the transaction undoes rotation and successor.
    tx.rollback().await?;
    let mut tx = store.realm(&realm).await?;
    assert_eq!(tx.refresh_by_hash("r-next").await?, None);
    assert!(matches!(
        tx.rotate_refresh_to(&f.refresh.token_hash, next).await?,
        Rotation::Rotated(_)
    ));
    tx.commit().await?;
    Ok(())
}
