//! The refresh grant's rotation in one round trip (`Store::rotate_family_at_once`): on Postgres
//! it rotates and commits only when every check of the grant passes, and otherwise changes
//! nothing; on SQLite it never runs, and the transactional rotation does the work.

use crate::support::*;
use realmgate_store::domain::*;
use realmgate_store::{Backend, RotateAtOnce, Store, StoreError};

fn at<'a>(g: &'a TokenFamily, generation: i64, now: Epoch) -> RotateAtOnce<'a> {
    RotateAtOnce {
        family: &g.id,
        generation,
        client: &g.client,
        now,
        idle: 600,
    }
}

async fn stored(store: &Store, f: &Fixture, g: &TokenFamily) -> Result<TokenFamily, StoreError> {
    let mut tx = store.realm_read(&f.realm).await?;
    let status = tx.family_status(&g.id).await?.ok_or(StoreError::NotFound)?;
    Ok(status.family)
}

async fn last_seen(store: &Store, f: &Fixture) -> Result<Epoch, StoreError> {
    let mut tx = store.realm_read(&f.realm).await?;
    let s = tx
        .session_by_id(&f.session.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(s.last_seen)
}

#[tokio::test]
async fn a_grant_rotates_and_commits_in_one_round_trip_on_postgres() -> TestResult {
    let (store, realm, f, g) = granted().await?;
    let rotated = store
        .rotate_family_at_once(&realm, &at(&g, 1, NOW + 10))
        .await?;
    if store.backend() == Backend::Sqlite {
        assert_eq!(rotated, None);
        assert_eq!(stored(&store, &f, &g).await?, g);
        return Ok(());
    }
    let expected = TokenFamily {
        generation: 2,
        issued_at: NOW + 10,
        idle_expires_at: (NOW + 10 + 600).min(g.expires_at),
        ..g.clone()
    };
    assert_eq!(rotated.as_ref(), Some(&expected));
    // Committed: another transaction sees the new generation. The session is left as it was
    // (the grant writes `last_seen` on its own schedule).
    assert_eq!(stored(&store, &f, &g).await?, expected);
    assert_eq!(last_seen(&store, &f).await?, f.session.last_seen);
    // The next generation rotates in turn; the one just rotated away is refused.
    let next = store
        .rotate_family_at_once(&realm, &at(&g, 2, NOW + 20))
        .await?;
    assert_eq!(next.map(|n| n.generation), Some(3));
    assert_eq!(
        store
            .rotate_family_at_once(&realm, &at(&g, 2, NOW + 30))
            .await?,
        None
    );
    Ok(())
}

#[tokio::test]
async fn a_grant_that_fails_a_check_is_left_as_it_was() -> TestResult {
    let (store, realm, f, g) = granted().await?;
    let other_client = ClientUuid::new();
    let refused = [
        // Another client presents it.
        RotateAtOnce {
            client: &other_client,
            ..at(&g, 1, NOW + 1)
        },
        // Not the current generation (reuse, or never issued).
        at(&g, 0, NOW + 1),
        at(&g, 2, NOW + 1),
        // Past the generation's idle end.
        at(&g, 1, g.idle_expires_at),
    ];
    for r in &refused {
        assert_eq!(store.rotate_family_at_once(&realm, r).await?, None);
    }
    assert_eq!(stored(&store, &f, &g).await?, g);
    // A disabled user, then (the user enabled again) a revoked session marked without touching
    // the family.
    let disabled = User {
        enabled: false,
        ..f.user.clone()
    };
    let mut tx = store.realm(&realm).await?;
    tx.update_user(&disabled).await?;
    tx.commit().await?;
    let refused_now = store
        .rotate_family_at_once(&realm, &at(&g, 1, NOW + 1))
        .await?;
    assert_eq!(refused_now, None, "disabled user");
    let mut tx = store.realm(&realm).await?;
    tx.update_user(&f.user).await?;
    tx.raw_execute(
        "UPDATE user_sessions SET revoked = 1 WHERE realm_id = $1 AND id = $2",
        &[f.realm.as_str(), f.session.id.as_str()],
    )
    .await?;
    tx.commit().await?;
    let refused_now = store
        .rotate_family_at_once(&realm, &at(&g, 1, NOW + 1))
        .await?;
    assert_eq!(refused_now, None, "revoked session");
    // A family of another realm, even with the right id and client.
    let other = new_realm(&store, "other").await?;
    assert_eq!(
        store
            .rotate_family_at_once(&other, &at(&g, 1, NOW + 1))
            .await?,
        None
    );
    // Nothing changed, and the transactional rotation still sees generation 1 as current.
    assert_eq!(stored(&store, &f, &g).await?, g);
    assert_eq!(last_seen(&store, &f).await?, f.session.last_seen);
    Ok(())
}

#[tokio::test]
async fn concurrent_one_trip_rotations_of_one_generation_have_one_winner() -> TestResult {
    let (store, realm, f, g) = granted().await?;
    let outcomes = race(4, |i| {
        let (store, realm, g) = (store.clone(), realm.clone(), g.clone());
        async move {
            store
                .rotate_family_at_once(&realm, &at(&g, 1, NOW + i))
                .await
        }
    })
    .await?;
    let won = outcomes.iter().filter(|o| o.is_some()).count();
    let expected = if store.backend() == Backend::Postgres {
        1
    } else {
        0
    };
    assert_eq!(won, expected);
    assert_eq!(
        stored(&store, &f, &g).await?.generation,
        1 + expected as i64
    );
    Ok(())
}
