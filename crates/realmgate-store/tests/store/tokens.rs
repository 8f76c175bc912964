//! Authorization codes, refresh-token rotation, sessions and token families.

use crate::support::*;
use realmgate_store::domain::*;
use realmgate_store::{CodeRedemption, FamilyStatus, RefreshRotation, Refusal, Rotation};

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
    tx.insert_family(&family(
        &other_family,
        &f.client.id,
        &f.user.id,
        Some(&other.id),
        NOW + 99,
    ))
    .await?;
    let no_session = FamilyId::new();
    tx.insert_family(&family(
        &no_session,
        &f.client.id,
        &f.user.id,
        None,
        NOW + 99,
    ))
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
    let outcomes = race(4, |i| {
        let (store, realm, hash) = (store.clone(), realm.clone(), f.refresh.token_hash.clone());
        async move {
            let mut tx = store.realm(&realm).await?;
            let out = tx.rotate_refresh(&hash, NOW + i).await?;
            tx.commit().await?;
            Ok(out)
        }
    })
    .await?;
    let mut rotated = 0;
    for o in outcomes {
        match o {
            RefreshRotation::Rotated(_) => rotated += 1,
            RefreshRotation::Reused(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(rotated, 1);
    Ok(())
}

#[tokio::test]
async fn a_family_rotates_by_generation_and_reads_user_and_session() -> TestResult {
    let (store, realm, f, g) = granted().await?;
    let mut tx = store.realm(&realm).await?;
    assert_eq!(
        tx.family_status(&g.id).await?,
        Some(FamilyStatus {
            family: g.clone(),
            active: true
        })
    );
    let Rotation::Rotated(r) = tx.rotate_family(&g.id, 1, NOW + 10, 600).await? else {
        panic!("rotation");
    };
    let expected = TokenFamily {
        generation: 2,
        issued_at: NOW + 10,
        // The idle timeout, capped by the family's end.
        idle_expires_at: (NOW + 10 + 600).min(g.expires_at),
        ..g.clone()
    };
    assert_eq!(r.family, expected);
    assert_eq!(r.user.as_ref().map(|u| &u.id), Some(&f.user.id));
    assert_eq!(r.session.as_ref(), Some(&f.session));
    assert_eq!(
        tx.family_status(&g.id).await?.map(|s| s.family),
        Some(expected)
    );
    // The next generation rotates in turn; generation 1 again is reuse and writes nothing.
    let Rotation::Rotated(r2) = tx.rotate_family(&g.id, 2, NOW + 20, 600).await? else {
        panic!("second rotation");
    };
    assert_eq!(r2.family.generation, 3);
    assert_eq!(
        tx.rotate_family(&g.id, 1, NOW + 30, 600).await?,
        Rotation::Refused(Refusal::Reused {
            family: g.id.clone(),
            client: f.client.id.clone()
        })
    );
    // A generation never issued, or an unknown family, is unknown.
    assert_eq!(
        tx.rotate_family(&g.id, 9, NOW + 30, 600).await?,
        Rotation::Refused(Refusal::Unknown)
    );
    assert_eq!(
        tx.rotate_family(&FamilyId::new(), 1, NOW + 30, 600).await?,
        Rotation::Refused(Refusal::Unknown)
    );
    assert_eq!(
        tx.family_status(&g.id).await?.map(|s| s.family.generation),
        Some(3)
    );
    // The current generation past its idle expiry is expired, not rotated.
    let idle_end = NOW + 20 + 600;
    assert_eq!(
        tx.rotate_family(&g.id, 3, idle_end, 600).await?,
        Rotation::Refused(Refusal::Expired)
    );
    // A revoked family is refused, whatever the generation.
    tx.revoke_family(&g.id, NOW + 40).await?;
    assert_eq!(
        tx.rotate_family(&g.id, 3, NOW + 41, 600).await?,
        Rotation::Refused(Refusal::Revoked)
    );
    assert_eq!(
        tx.family_status(&g.id)
            .await?
            .map(|s| (s.active, s.family.generation)),
        Some((false, 3))
    );
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn a_rotation_reads_a_revoked_session_for_the_caller_to_refuse() -> TestResult {
    let (store, realm, f, g) = granted().await?;
    let mut tx = store.realm(&realm).await?;
    // Marked revoked without touching the family (`revoke_session` revokes its families too).
    tx.raw_execute(
        "UPDATE user_sessions SET revoked = 1 WHERE realm_id = $1 AND id = $2",
        &[f.realm.as_str(), f.session.id.as_str()],
    )
    .await?;
    assert_eq!(
        tx.family_status(&g.id).await?.map(|s| s.active),
        Some(false)
    );
    let Rotation::Rotated(r) = tx.rotate_family(&g.id, 1, NOW + 1, 600).await? else {
        panic!("rotation");
    };
    assert_eq!(r.session.map(|s| s.revoked), Some(true));
    Ok(())
}

#[tokio::test]
async fn a_token_from_before_generations_rotates_once_and_its_family_adopts_the_grant() -> TestResult
{
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tx = store.realm(&realm).await?;
    let Rotation::Rotated(r) = tx
        .rotate_legacy_refresh(&f.refresh.token_hash, NOW + 10, 600)
        .await?
    else {
        panic!("rotation");
    };
    let adopted = TokenFamily {
        id: f.family.clone(),
        client: f.client.id.clone(),
        user_id: f.user.id.clone(),
        session_id: Some(f.session.id.clone()),
        scope: f.refresh.scope.clone(),
        auth_time: f.refresh.auth_time,
        amr: f.refresh.amr.clone(),
        generation: 1,
        issued_at: NOW + 10,
        idle_expires_at: NOW + 10 + 600,
        expires_at: NOW + 36_000,
        revoked_at: None,
    };
    assert_eq!(r.family, adopted);
    assert_eq!(r.user.as_ref().map(|u| &u.id), Some(&f.user.id));
    assert_eq!(r.session.as_ref(), Some(&f.session));
    assert_eq!(
        tx.refresh_by_hash(&f.refresh.token_hash)
            .await?
            .and_then(|t| t.rotated_at),
        Some(NOW + 10)
    );
    // The old token again is reuse; the family's generation 1 rotates on.
    assert_eq!(
        tx.rotate_legacy_refresh(&f.refresh.token_hash, NOW + 20, 600)
            .await?,
        Rotation::Refused(Refusal::Reused {
            family: f.family.clone(),
            client: f.client.id.clone()
        })
    );
    assert!(matches!(
        tx.rotate_family(&f.family, 1, NOW + 20, 600).await?,
        Rotation::Rotated(ref r) if r.family.generation == 2
    ));
    assert_eq!(
        tx.rotate_legacy_refresh("nope", NOW, 600).await?,
        Rotation::Refused(Refusal::Unknown)
    );
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn an_expired_token_from_before_generations_is_refused() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tx = store.realm(&realm).await?;
    assert_eq!(
        tx.rotate_legacy_refresh(&f.refresh.token_hash, f.refresh.expires_at, 600)
            .await?,
        Rotation::Refused(Refusal::Expired)
    );
    // The caller rolls back on a refusal: the token and its family are as they were.
    tx.rollback().await?;
    let mut tx = store.realm(&realm).await?;
    assert_eq!(
        tx.refresh_by_hash(&f.refresh.token_hash).await?,
        Some(f.refresh.clone())
    );
    assert_eq!(
        tx.family_status(&f.family)
            .await?
            .map(|s| s.family.generation),
        Some(0)
    );
    Ok(())
}

#[tokio::test]
async fn rotation_rolled_back_leaves_the_generation_current() -> TestResult {
    let (store, realm, _, g) = granted().await?;
    let mut tx = store.realm(&realm).await?;
    assert!(matches!(
        tx.rotate_family(&g.id, 1, NOW + 10, 600).await?,
        Rotation::Rotated(_)
    ));
    // The grant failed a later check: dropping the transaction undoes the rotation.
    tx.rollback().await?;
    let mut tx = store.realm(&realm).await?;
    assert_eq!(
        tx.family_status(&g.id).await?.map(|s| s.family),
        Some(g.clone())
    );
    assert!(matches!(
        tx.rotate_family(&g.id, 1, NOW + 10, 600).await?,
        Rotation::Rotated(_)
    ));
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn concurrent_rotations_of_one_generation_have_one_winner() -> TestResult {
    let (store, realm, _, g) = granted().await?;
    let outcomes = race(4, |i| {
        let (store, realm, id) = (store.clone(), realm.clone(), g.id.clone());
        async move {
            let mut tx = store.realm(&realm).await?;
            let out = tx.rotate_family(&id, 1, NOW + i, 600).await?;
            tx.commit().await?;
            Ok(out)
        }
    })
    .await?;
    let (mut rotated, mut reused) = (0, 0);
    for o in outcomes {
        match o {
            Rotation::Rotated(_) => rotated += 1,
            Rotation::Refused(Refusal::Reused { .. }) => reused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((rotated, reused), (1, 3));
    Ok(())
}
