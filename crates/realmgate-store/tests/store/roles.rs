//! Roles: realm/client scoping, composites, group inheritance and effective roles.

use crate::support::*;
use realmgate_store::domain::*;
use std::collections::BTreeSet;

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
