//! User search, counting and paging.

use crate::support::*;
use realmgate_store::UserQuery;

#[tokio::test]
async fn search_filters_users() -> TestResult {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let mut tx = store.realm(&realm).await?;
    let mut odd = user("o_dd%one");
    odd.first_name = Some("Zoë".into());
    odd.email = Some("odd@Example.org".into());
    odd.enabled = false;
    tx.insert_user(&odd).await?;
    for i in 0..5 {
        tx.insert_user(&user(&format!("page{i}"))).await?;
    }
    let q = |f: fn(&mut UserQuery)| {
        let mut q = UserQuery::default();
        f(&mut q);
        q
    };
    let usernames = |us: Vec<realmgate_store::domain::User>| {
        us.into_iter().map(|u| u.username).collect::<Vec<_>>()
    };

    assert_eq!(
        tx.count_users(&UserQuery::default()).await?,
        7,
        "service accounts left out"
    );
    assert_eq!(
        tx.count_users(&q(|q| q.include_service_accounts = true))
            .await?,
        8
    );
    assert_eq!(
        usernames(
            tx.search_users(&q(|q| q.search = Some("ALI".into())), 0, 10)
                .await?
        ),
        ["alice"]
    );
    assert_eq!(
        usernames(
            tx.search_users(&q(|q| q.search = Some("example.ORG".into())), 0, 10)
                .await?
        ),
        ["o_dd%one"]
    );
    assert_eq!(
        usernames(
            tx.search_users(&q(|q| q.search = Some("_dd%".into())), 0, 10)
                .await?
        ),
        ["o_dd%one"]
    );
    assert_eq!(
        tx.count_users(&q(|q| q.search = Some("%".into()))).await?,
        1,
        "% is literal"
    );
    assert_eq!(
        tx.count_users(&q(|q| q.search = Some("_".into()))).await?,
        1,
        "_ is literal"
    );
    assert_eq!(
        tx.count_users(&q(|q| q.search = Some("last".into())))
            .await?,
        7
    );
    assert_eq!(
        tx.count_users(&q(|q| q.username = Some("page".into())))
            .await?,
        5
    );
    assert_eq!(
        tx.count_users(&q(|q| {
            q.username = Some("page".into());
            q.exact = true;
        }))
        .await?,
        0
    );
    assert_eq!(
        tx.count_users(&q(|q| {
            q.username = Some("PAGE3".into());
            q.exact = true;
        }))
        .await?,
        1
    );
    assert_eq!(
        tx.count_users(&q(|q| q.email = Some("alice@".into())))
            .await?,
        1
    );
    assert_eq!(
        tx.count_users(&q(|q| q.first_name = Some("firstpage".into())))
            .await?,
        5
    );
    assert_eq!(
        tx.count_users(&q(|q| q.last_name = Some("last".into())))
            .await?,
        7
    );
    assert_eq!(tx.count_users(&q(|q| q.enabled = Some(false))).await?, 1);
    assert_eq!(tx.count_users(&q(|q| q.enabled = Some(true))).await?, 6);
    assert_eq!(
        tx.count_users(&q(|q| {
            q.username = Some("page".into());
            q.last_name = Some("nope".into());
        }))
        .await?,
        0
    );

    let page = |first, max| {
        let q = q(|q| q.username = Some("page".into()));
        (q, first, max)
    };
    let (pq, first, max) = page(1, 2);
    assert_eq!(
        usernames(tx.search_users(&pq, first, max).await?),
        ["page1", "page2"]
    );
    assert_eq!(usernames(tx.search_users(&pq, 4, 10).await?), ["page4"]);
    assert!(tx.search_users(&pq, 0, 0).await?.is_empty());
    assert_eq!(tx.search_users(&pq, -3, -1).await?.len(), 0);

    let members = tx.group_members(&f.child_group.id, 0, 10).await?;
    assert_eq!(usernames(members), ["alice"]);
    Ok(())
}
