//! A realm's configuration revision: bumped once per committed transaction that changed its
//! configuration, read for many realms at once.

use crate::support::*;
use realmgate_store::RealmRevision;
use realmgate_store::domain::*;

/// Revisions `config` and `keys`, known.
fn at(config: i64, keys: i64) -> Option<RealmRevision> {
    Some(RealmRevision { config, keys })
}

#[tokio::test]
async fn configuration_commits_bump_the_revision_and_nothing_else_does() -> TestResult {
    let store = store().await;
    let a = new_realm(&store, "a").await?;
    let b = new_realm(&store, "b").await?;
    let both = [a.clone(), b.clone()];
    assert_eq!(store.config_revisions(&both).await?, [at(0, 0), at(0, 0)]);

    // Two configuration writes in one transaction: one bump, at its commit.
    let mut tx = store.realm(&a).await?;
    tx.insert_client(&client("c1")).await?;
    tx.insert_user(&user("u1")).await?;
    assert_eq!(
        tx.config_revision().await?,
        RealmRevision::default(),
        "not before the commit"
    );
    tx.commit().await?;
    assert_eq!(store.config_revisions(&both).await?, [at(1, 0), at(0, 0)]);

    // Rolled back: no bump.
    let mut tx = store.realm(&a).await?;
    tx.insert_client(&client("c2")).await?;
    tx.rollback().await?;
    // Token writes are not configuration.
    let mut tx = store.realm(&a).await?;
    tx.revoke_jti("jti-1", NOW + 60).await?;
    tx.commit().await?;
    assert_eq!(store.config_revisions(&both).await?, [at(1, 0), at(0, 0)]);

    // Each kind of configuration write counts.
    let role = role("r1", None);
    let mut tx = store.realm(&b).await?;
    tx.insert_role(&role).await?;
    tx.commit().await?;
    let u = user("u2");
    let mut tx = store.realm(&b).await?;
    tx.insert_user(&u).await?;
    tx.commit().await?;
    let mut tx = store.realm(&b).await?;
    tx.grant_user_role(&u.id, &role.id).await?;
    tx.commit().await?;
    assert_eq!(store.config_revisions(&both).await?, [at(1, 0), at(3, 0)]);
    assert_eq!(
        store.realm_read(&b).await?.config_revision().await?,
        RealmRevision { config: 3, keys: 0 }
    );

    // Keys have their own revision: a realm's first key, created at its first token, does not
    // date what was cached of its clients and roles.
    let mut tx = store.realm(&b).await?;
    tx.insert_key(&key("k1", NOW)).await?;
    tx.commit().await?;
    let mut tx = store.realm(&b).await?;
    tx.set_key_status("k1", KeyStatus::Retired).await?;
    tx.insert_client(&client("both")).await?;
    tx.commit().await?;
    assert_eq!(store.config_revisions(&both).await?, [at(1, 0), at(4, 2)]);

    // Ids in any case, unknown realms (0) and malformed ids (unknown: `None`), in order, over
    // more than one statement's worth of ids.
    let mut ids: Vec<RealmId> = (0..1_200).map(|_| RealmId::new()).collect();
    ids.push(RealmId("not-a-uuid".into()));
    ids.push(RealmId(a.0.to_uppercase()));
    ids.push(b.clone());
    let revs = store.config_revisions(&ids).await?;
    assert_eq!(revs.len(), ids.len());
    assert!(revs[..1_200].iter().all(|r| *r == at(0, 0)));
    assert_eq!(revs[1_200..], [None, at(1, 0), at(4, 2)]);

    // Deleting a realm deletes its revision with its rows.
    let mut sys = store.system().await?;
    sys.delete_realm(&b).await?;
    sys.commit().await?;
    assert_eq!(store.config_revisions(&both).await?, [at(1, 0), at(0, 0)]);
    Ok(())
}
