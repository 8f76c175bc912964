//! The admin use cases against a real (fresh, migrated) store: the path the Keycloak admin-client
//! conformance suite walks, minus HTTP and tokens, plus the negative cases it does not cover.

use super::*;
use crate::{AppConfig, realms::REALM_ADMIN_ROLE};
use realmgate_crypto::{MasterKey, PasswordHasher, PasswordParams};
use realmgate_domain::{ClientAuthMethod, FixedClock, OrgDomain};

type R = Result<(), AppError>;

async fn app() -> Result<App, AppError> {
    let store = realmgate_store::testing::fresh_test_store().await?;
    let hasher = PasswordHasher::new(
        PasswordParams {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
        },
        2,
        64,
    );
    let app = App::new(
        store,
        MasterKey::generate(),
        hasher,
        Arc::new(FixedClock::new(1_700_000_000)),
        AppConfig::new("http://127.0.0.1:1"),
    );
    app.bootstrap("admin", Some("pw".into())).await?;
    Ok(app)
}

fn master_admin() -> AdminPrincipal {
    AdminPrincipal {
        realm: "master".into(),
        subject: "s".into(),
        client_id: "admin-cli".into(),
        super_admin: true,
        realm_admin: false,
    }
}

fn realm_admin_of(realm: &str) -> AdminPrincipal {
    AdminPrincipal {
        realm: realm.into(),
        super_admin: false,
        realm_admin: true,
        ..master_admin()
    }
}

async fn realm(app: &App, name: &str) -> Result<RealmAdmin, AppError> {
    let p = master_admin();
    app.admin_create_realm(
        &p,
        RealmPatch {
            name: Some(name.into()),
            ..RealmPatch::default()
        },
    )
    .await?;
    app.realm_admin(&p, name).await
}

fn check(ok: bool, what: &str) -> R {
    if ok {
        Ok(())
    } else {
        Err(AppError::internal(format!("assertion failed: {what}")))
    }
}

#[tokio::test]
async fn realm_lifecycle_and_authorisation() -> R {
    let app = app().await?;
    let p = master_admin();
    let created = app
        .admin_create_realm(
            &p,
            RealmPatch {
                name: Some("acme".into()),
                display_name: Some("Acme".into()),
                ..RealmPatch::default()
            },
        )
        .await?;
    check(created.name.as_str() == "acme", "created name")?;
    let dup = app
        .admin_create_realm(
            &p,
            RealmPatch {
                name: Some("acme".into()),
                ..RealmPatch::default()
            },
        )
        .await;
    check(
        matches!(dup, Err(AppError::Conflict(_))),
        "duplicate realm is a conflict",
    )?;

    let a = app.realm_admin(&p, "acme").await?;
    a.update_realm(RealmPatch {
        display_name: Some("Renamed".into()),
        ..RealmPatch::default()
    })
    .await?;
    let again = app.realm_admin(&p, "acme").await?.get_realm();
    check(
        again.display_name.as_deref() == Some("Renamed"),
        "display name updated",
    )?;
    check(
        again.enabled && again.name.as_str() == "acme",
        "partial update keeps the rest",
    )?;

    let names: Vec<String> = app
        .admin_list_realms(&p, None, None)
        .await?
        .into_iter()
        .map(|r| r.name.to_string())
        .collect();
    check(
        names.contains(&"acme".into()) && names.contains(&"master".into()),
        "list has both",
    )?;

    // A realm admin of acme sees and manages acme only.
    let ra = realm_admin_of("acme");
    let mine: Vec<String> = app
        .admin_list_realms(&ra, None, None)
        .await?
        .into_iter()
        .map(|r| r.name.to_string())
        .collect();
    check(
        mine == vec!["acme".to_owned()],
        "realm admin lists its realm",
    )?;
    check(
        matches!(
            app.realm_admin(&ra, "master").await,
            Err(AppError::Forbidden)
        ),
        "403 on master",
    )?;
    check(
        matches!(app.realm_admin(&ra, "nope").await, Err(AppError::Forbidden)),
        "403 hides names",
    )?;
    check(
        matches!(
            app.admin_create_realm(
                &ra,
                RealmPatch {
                    name: Some("x".into()),
                    ..RealmPatch::default()
                }
            )
            .await,
            Err(AppError::Forbidden)
        ),
        "realm admin cannot create realms",
    )?;
    check(
        matches!(
            app.realm_admin(&p, "missing").await,
            Err(AppError::NotFound(_))
        ),
        "404 unknown realm",
    )?;

    app.realm_admin(&p, "acme").await?.delete_realm().await?;
    check(
        matches!(
            app.realm_admin(&p, "acme").await,
            Err(AppError::NotFound(_))
        ),
        "deleted",
    )?;
    Ok(())
}

#[tokio::test]
async fn clients_secrets_and_service_accounts() -> R {
    let app = app().await?;
    let a = realm(&app, "acme").await?;
    let c = a
        .create_client(ClientInput {
            client_id: Some("conf-admin-confidential".into()),
            public_client: Some(false),
            service_accounts: Some(true),
            redirect_uris: Some(vec!["http://127.0.0.1:9/callback".into()]),
            ..ClientInput::default()
        })
        .await?;
    let id = c.client.id.to_string();
    let found = a
        .list_clients(
            Some("conf-admin-confidential".into()),
            false,
            Page::default(),
        )
        .await?;
    check(
        found.len() == 1 && found.first().map(|f| &f.client.id) == Some(&c.client.id),
        "find by clientId",
    )?;
    let searched = a
        .list_clients(Some("ADMIN-conf".into()), true, Page::default())
        .await?;
    check(searched.len() == 1, "substring search")?;

    let before = a.client_secret(&id).await?;
    check(
        before.as_ref().is_some_and(|s| !s.is_empty()),
        "secret present",
    )?;
    let fresh = a.regenerate_client_secret(&id).await?;
    check(Some(&fresh) != before.as_ref(), "regenerated")?;
    check(
        a.client_secret(&id).await? == Some(fresh.clone()),
        "reads the new secret",
    )?;
    let cached = app.client(a.id(), "conf-admin-confidential").await?;
    check(
        cached.is_some_and(|c| c.service_user.is_some()),
        "client cache sees the service account",
    )?;

    let sa = a.service_account_user(&id).await?;
    check(
        sa.username == "service-account-conf-admin-confidential",
        "service account name",
    )?;
    check(
        sa.service_account_client.as_ref() == Some(&c.client.id),
        "linked",
    )?;

    // Rename follows to the service account; disabling removes it.
    a.update_client(
        &id,
        ClientInput {
            client_id: Some("renamed".into()),
            ..ClientInput::default()
        },
    )
    .await?;
    check(
        a.service_account_user(&id).await?.username == "service-account-renamed",
        "renamed account",
    )?;
    a.update_client(
        &id,
        ClientInput {
            service_accounts: Some(false),
            ..ClientInput::default()
        },
    )
    .await?;
    check(
        matches!(a.service_account_user(&id).await, Err(AppError::Invalid(_))),
        "flag off",
    )?;
    let q = UserFilter {
        username: Some("service-account-".into()),
        ..UserFilter::default()
    };
    check(
        a.search_users(&q, Page::default()).await?.is_empty(),
        "account removed",
    )?;

    let public = a
        .create_client(ClientInput {
            client_id: Some("conf-direct".into()),
            public_client: Some(true),
            standard_flow: Some(false),
            direct_access_grants: Some(true),
            ..ClientInput::default()
        })
        .await?;
    check(
        public.client.auth_method == ClientAuthMethod::None && public.secret.is_none(),
        "public client",
    )?;
    let dup = a
        .create_client(ClientInput {
            client_id: Some("conf-direct".into()),
            ..ClientInput::default()
        })
        .await;
    check(
        matches!(dup, Err(AppError::Conflict(_))),
        "duplicate clientId",
    )?;
    let wild = a
        .create_client(ClientInput {
            client_id: Some("w".into()),
            redirect_uris: Some(vec!["https://x.example/*".into()]),
            ..ClientInput::default()
        })
        .await;
    check(
        matches!(wild, Err(AppError::Invalid(_))),
        "wildcard redirect rejected",
    )?;

    let mgmt = a
        .list_clients(Some("realm-management".into()), false, Page::default())
        .await?;
    let mgmt_id = mgmt
        .first()
        .map(|m| m.client.id.to_string())
        .unwrap_or_default();
    check(
        matches!(a.delete_client(&mgmt_id).await, Err(AppError::Invalid(_))),
        "realm-management stays",
    )?;

    a.delete_client(&id).await?;
    check(
        matches!(a.get_client(&id).await, Err(AppError::NotFound("client"))),
        "deleted client",
    )?;
    check(
        matches!(
            a.get_client("not-a-uuid").await,
            Err(AppError::NotFound("client"))
        ),
        "bad id is 404",
    )?;
    Ok(())
}

#[tokio::test]
async fn users_search_count_update_delete() -> R {
    let app = app().await?;
    let a = realm(&app, "acme").await?;
    let count_before = a.count_users(&UserFilter::default()).await?;
    let new = |name: &str| NewUser {
        user: UserInput {
            username: Some(name.into()),
            email: Some(format!("{name}@example.org")),
            first_name: Some("Conf".into()),
            last_name: Some("User".into()),
            enabled: Some(true),
            email_verified: Some(true),
            password: Some(PasswordInput {
                value: "pw-1".into(),
                temporary: false,
            }),
            ..UserInput::default()
        },
        groups: vec![],
    };
    let bob = a.create_user(new("bob")).await?;
    a.create_user(new("bobby")).await?;
    let exact = UserFilter {
        username: Some("bob".into()),
        exact: Some(true),
        ..UserFilter::default()
    };
    let found = a.search_users(&exact, Page::default()).await?;
    check(
        found.len() == 1 && found.first().map(|u| &u.id) == Some(&bob.id),
        "exact search",
    )?;
    check(
        a.count_users(&UserFilter::default()).await? == count_before + 2,
        "count",
    )?;
    let dup = a.create_user(new("bob")).await;
    check(
        matches!(dup, Err(AppError::Conflict(_))),
        "duplicate username",
    )?;

    // Default role granted.
    let roles = a.mappings(&Holder::User(bob.id.to_string()), None).await?;
    check(
        roles.iter().any(|r| r.name == "default-roles-acme"),
        "default role",
    )?;

    a.reset_password(
        &bob.id.to_string(),
        PasswordInput {
            value: "pw-2".into(),
            temporary: false,
        },
    )
    .await?;
    let mut tx = a.read().await?;
    let cred = tx.password_of(&bob.id).await?;
    drop(tx);
    let ok = match cred {
        Some(c) => app.hasher().verify("pw-2".into(), c.hash).await?.ok,
        None => false,
    };
    check(ok, "new password stored")?;

    a.update_user(
        &bob.id.to_string(),
        UserInput {
            first_name: Some("Robert".into()),
            ..UserInput::default()
        },
    )
    .await?;
    let reread = a.get_user(&bob.id.to_string()).await?;
    check(
        reread.first_name.as_deref() == Some("Robert")
            && reread.last_name.as_deref() == Some("User"),
        "update",
    )?;
    check(
        reread.email.as_deref() == Some("bob@example.org"),
        "email kept",
    )?;

    a.delete_user(&bob.id.to_string()).await?;
    check(
        matches!(
            a.get_user(&bob.id.to_string()).await,
            Err(AppError::NotFound("user"))
        ),
        "deleted",
    )?;
    check(
        a.search_users(&exact, Page::default()).await?.is_empty(),
        "gone from search",
    )?;
    Ok(())
}

#[tokio::test]
async fn roles_mappings_composites() -> R {
    let app = app().await?;
    let a = realm(&app, "acme").await?;
    let reader = a
        .create_role(
            None,
            RoleInput {
                name: Some("conf-reader".into()),
                description: Some("reads".into()),
                ..RoleInput::default()
            },
        )
        .await?;
    let got = a.get_role(None, "conf-reader").await?;
    check(
        got.role.description.as_deref() == Some("reads"),
        "role read back",
    )?;
    check(
        matches!(
            a.get_role(None, "nope").await,
            Err(AppError::NotFound("role"))
        ),
        "unknown role",
    )?;

    let carol = a
        .create_user(NewUser {
            user: UserInput {
                username: Some("carol".into()),
                ..UserInput::default()
            },
            groups: vec![],
        })
        .await?;
    let holder = Holder::User(carol.id.to_string());
    let by_id = RoleRef {
        id: Some(reader.id.to_string()),
        name: Some(reader.name.clone()),
    };
    a.grant(&holder, None, std::slice::from_ref(&by_id)).await?;
    a.grant(&holder, None, std::slice::from_ref(&by_id)).await?; // idempotent
    let mapped = a.mappings(&holder, None).await?;
    check(
        mapped.iter().filter(|r| r.id == reader.id).count() == 1,
        "mapped once",
    )?;
    let claims = app.role_claims(a.id(), &carol.id).await?;
    check(
        claims.realm.contains(&"conf-reader".to_owned()),
        "token claims see the role",
    )?;

    // Composite: writer includes reader; a cycle is refused.
    a.create_role(
        None,
        RoleInput {
            name: Some("writer".into()),
            ..RoleInput::default()
        },
    )
    .await?;
    let reader_ref = RoleRef {
        name: Some("conf-reader".into()),
        id: None,
    };
    let writer_ref = RoleRef {
        name: Some("writer".into()),
        id: None,
    };
    a.add_composites(None, "writer", false, std::slice::from_ref(&reader_ref))
        .await?;
    check(
        a.get_role(None, "writer").await?.composite,
        "writer is composite",
    )?;
    let cycle = a
        .add_composites(
            None,
            "conf-reader",
            false,
            std::slice::from_ref(&writer_ref),
        )
        .await;
    check(matches!(cycle, Err(AppError::Invalid(_))), "cycle refused")?;

    a.revoke(&holder, None, std::slice::from_ref(&by_id))
        .await?;
    a.grant(&holder, None, std::slice::from_ref(&writer_ref))
        .await?;
    let eff = a.effective_mappings(&holder, None).await?;
    check(
        eff.iter().any(|r| r.name == "conf-reader"),
        "effective via composite",
    )?;
    let claims = app.role_claims(a.id(), &carol.id).await?;
    check(
        claims.realm.contains(&"conf-reader".to_owned()),
        "cache was invalidated",
    )?;

    // Client roles and the mappings representation.
    let c = a
        .create_client(ClientInput {
            client_id: Some("api".into()),
            ..ClientInput::default()
        })
        .await?;
    let cid = c.client.id.to_string();
    a.create_role(
        Some(&cid),
        RoleInput {
            name: Some("admin".into()),
            ..RoleInput::default()
        },
    )
    .await?;
    let wrong_scope = a
        .grant(
            &holder,
            None,
            &[RoleRef {
                name: Some("admin".into()),
                id: None,
            }],
        )
        .await;
    check(
        matches!(wrong_scope, Err(AppError::NotFound("role"))),
        "client role is not a realm role",
    )?;
    a.grant(
        &holder,
        Some(&cid),
        &[RoleRef {
            name: Some("admin".into()),
            id: None,
        }],
    )
    .await?;
    let all = a.all_mappings(&holder).await?;
    check(
        all.clients
            .iter()
            .any(|(cl, roles)| cl.client_id == "api" && roles.len() == 1),
        "client mappings",
    )?;

    // Built-ins are protected.
    check(
        matches!(
            a.delete_role(None, "default-roles-acme").await,
            Err(AppError::Invalid(_))
        ),
        "default role",
    )?;
    let mgmt = a
        .list_clients(Some("realm-management".into()), false, Page::default())
        .await?;
    let mgmt_id = mgmt
        .first()
        .map(|m| m.client.id.to_string())
        .unwrap_or_default();
    check(
        matches!(
            a.delete_role(Some(&mgmt_id), REALM_ADMIN_ROLE).await,
            Err(AppError::Invalid(_))
        ),
        "realm-admin",
    )?;

    a.delete_role(None, "conf-reader").await?;
    check(
        a.list_composites(None, "writer", false).await?.is_empty(),
        "composite gone with the role",
    )?;
    Ok(())
}

#[tokio::test]
async fn groups_tree_members_and_roles() -> R {
    let app = app().await?;
    let a = realm(&app, "acme").await?;
    let (eng, created) = a
        .create_group(
            None,
            GroupInput {
                name: Some("eng".into()),
                ..GroupInput::default()
            },
        )
        .await?;
    check(created, "created")?;
    let eid = eng.id.to_string();
    let (backend, _) = a
        .create_group(
            Some(&eid),
            GroupInput {
                name: Some("backend".into()),
                ..GroupInput::default()
            },
        )
        .await?;
    check(backend.path == "/eng/backend", "child path")?;
    let top = a.list_groups(None, false, Page::default()).await?;
    check(
        top.len() == 1 && top.first().map(|g| g.sub_group_count) == Some(1),
        "top level with count",
    )?;
    let hits = a
        .list_groups(Some("back".into()), false, Page::default())
        .await?;
    check(
        hits.first().map(|g| g.sub_groups.len()) == Some(1),
        "search shows the branch",
    )?;
    let dup = a
        .create_group(
            None,
            GroupInput {
                name: Some("eng".into()),
                ..GroupInput::default()
            },
        )
        .await;
    check(
        matches!(dup, Err(AppError::Conflict(_))),
        "duplicate sibling",
    )?;

    a.update_group(
        &eid,
        GroupInput {
            name: Some("engineering".into()),
            ..GroupInput::default()
        },
    )
    .await?;
    check(
        a.get_group(&backend.id.to_string()).await?.group.path == "/engineering/backend",
        "paths follow",
    )?;

    let u = a
        .create_user(NewUser {
            user: UserInput {
                username: Some("dan".into()),
                ..UserInput::default()
            },
            groups: vec!["/engineering/backend".into()],
        })
        .await?;
    let members = a
        .group_members(&backend.id.to_string(), Page::default())
        .await?;
    check(members.iter().any(|m| m.id == u.id), "joined at creation")?;
    a.create_role(
        None,
        RoleInput {
            name: Some("deployer".into()),
            ..RoleInput::default()
        },
    )
    .await?;
    a.grant(
        &Holder::Group(eid.clone()),
        None,
        &[RoleRef {
            name: Some("deployer".into()),
            id: None,
        }],
    )
    .await?;
    let eff = a
        .effective_mappings(&Holder::Group(backend.id.to_string()), None)
        .await?;
    check(
        eff.iter().any(|r| r.name == "deployer"),
        "inherited from the parent group",
    )?;
    let claims = app.role_claims(a.id(), &u.id).await?;
    check(
        claims.realm.contains(&"deployer".to_owned()),
        "user sees the group role",
    )?;

    a.leave_group(&u.id.to_string(), &backend.id.to_string())
        .await?;
    check(
        matches!(
            a.leave_group(&u.id.to_string(), &backend.id.to_string())
                .await,
            Err(AppError::NotFound(_))
        ),
        "not a member",
    )?;
    a.join_group(&u.id.to_string(), &eid).await?;
    check(
        a.user_groups(&u.id.to_string(), None, Page::default())
            .await?
            .len()
            == 1,
        "user groups",
    )?;

    a.delete_group(&eid).await?;
    check(
        matches!(
            a.get_group(&backend.id.to_string()).await,
            Err(AppError::NotFound("group"))
        ),
        "subtree deleted",
    )?;
    Ok(())
}

#[tokio::test]
async fn organizations_and_members() -> R {
    let app = app().await?;
    let a = realm(&app, "acme").await?;
    let o = a
        .create_org(OrgInput {
            name: Some("Conformance Org".into()),
            alias: Some("conf-org".into()),
            enabled: Some(true),
            domains: Some(vec![OrgDomain {
                name: "Conf.Example.org".into(),
                verified: false,
            }]),
            ..OrgInput::default()
        })
        .await?;
    check(
        o.domains.first().map(|d| d.name.as_str()) == Some("conf.example.org"),
        "domain normalised",
    )?;
    let listed = a.list_orgs(None, Page::default()).await?;
    check(listed.iter().any(|x| x.id == o.id), "listed")?;
    let oid = o.id.to_string();
    let alias_change = a
        .update_org(
            &oid,
            OrgInput {
                alias: Some("other".into()),
                ..OrgInput::default()
            },
        )
        .await;
    check(
        matches!(alias_change, Err(AppError::Invalid(_))),
        "alias fixed",
    )?;

    let dave = a
        .create_user(NewUser {
            user: UserInput {
                username: Some("dave".into()),
                ..UserInput::default()
            },
            groups: vec![],
        })
        .await?;
    let did = dave.id.to_string();
    a.add_org_member(&oid, &did).await?;
    check(
        matches!(
            a.add_org_member(&oid, &did).await,
            Err(AppError::Conflict(_))
        ),
        "already a member",
    )?;
    let members = a.org_members(&oid, None, false, Page::default()).await?;
    check(
        members.iter().any(|m| m.user.username == "dave"),
        "member listed",
    )?;
    a.set_org_member_roles(&oid, &did, vec!["admin".into(), "viewer".into()])
        .await?;
    check(
        a.get_org_member(&oid, &did).await?.membership.roles
            == vec!["admin".to_owned(), "viewer".to_owned()],
        "roles",
    )?;
    let claims = app.role_claims(a.id(), &dave.id).await?;
    check(
        claims
            .orgs
            .get("conf-org")
            .is_some_and(|(_, r)| r.len() == 2),
        "org roles reach the claims",
    )?;
    check(
        a.member_orgs(&did).await?.len() == 1,
        "member organizations",
    )?;
    a.remove_org_member(&oid, &did).await?;
    check(
        matches!(
            a.get_org_member(&oid, &did).await,
            Err(AppError::NotFound(_))
        ),
        "removed",
    )?;
    a.delete_org(&oid).await?;
    check(
        matches!(
            a.get_org(&oid).await,
            Err(AppError::NotFound("organization"))
        ),
        "org deleted",
    )?;
    Ok(())
}

#[tokio::test]
async fn keys_list_and_rotate() -> R {
    let app = app().await?;
    let a = realm(&app, "acme").await?;
    let keys = a.list_keys().await?;
    let active: Vec<_> = keys
        .iter()
        .filter(|k| k.status == realmgate_domain::KeyStatus::Active)
        .collect();
    check(active.len() == 1, "one active key on first use")?;
    let before = active.first().map(|k| k.kid.clone());
    a.rotate_keys(realmgate_crypto::SigAlg::RS256).await?;
    let after = a.list_keys().await?;
    let now_active = after
        .iter()
        .find(|k| k.status == realmgate_domain::KeyStatus::Active)
        .map(|k| k.kid.clone());
    check(now_active != before, "a new key is active")?;
    check(
        after.iter().any(|k| {
            Some(&k.kid) == before.as_ref() && k.status == realmgate_domain::KeyStatus::Retired
        }),
        "old key retired",
    )?;
    Ok(())
}
