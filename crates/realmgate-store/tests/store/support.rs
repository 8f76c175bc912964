//! Builders and a fully populated realm fixture.

use realmgate_store::domain::*;
use realmgate_store::testing::{family_before_generations, fresh_test_store};
use realmgate_store::{Store, StoreError, UserQuery};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub const NOW: Epoch = 1_700_000_000;

/// Runs `$body` in a fresh realm transaction of `$realm`, committing when it returned `Ok`; the
/// result is the body's. (On Postgres a failed statement poisons its transaction, so each
/// operation that is expected to fail gets its own.)
#[macro_export]
macro_rules! in_realm {
    ($store:expr, $realm:expr, |$tx:ident| $body:expr) => {{
        let mut $tx = $store.realm($realm).await?;
        let r = $body;
        if r.is_ok() {
            $tx.commit().await?;
        }
        r
    }};
}

pub async fn store() -> Store {
    fresh_test_store().await.expect("a fresh test store")
}

pub async fn new_realm(store: &Store, name: &str) -> Result<RealmId, StoreError> {
    let realm = Realm {
        id: RealmId::new(),
        name: RealmName::parse(name).expect("realm name"),
        display_name: Some(format!("Realm {name}")),
        enabled: true,
        settings: RealmSettings::default(),
        created_at: NOW,
    };
    let mut sys = store.system().await?;
    sys.insert_realm(&realm).await?;
    sys.commit().await?;
    Ok(realm.id)
}

pub fn user(username: &str) -> User {
    User {
        id: UserId::new(),
        username: username.to_owned(),
        email: Some(format!("{username}@example.com")),
        email_verified: true,
        first_name: Some(format!("First{username}")),
        last_name: Some("Last".to_owned()),
        enabled: true,
        attributes: [("dept".to_owned(), vec!["eng".to_owned()])].into(),
        service_account_client: None,
        created_at: NOW,
    }
}

pub fn client(client_id: &str) -> Client {
    Client {
        id: ClientUuid::new(),
        client_id: client_id.to_owned(),
        name: Some("App".to_owned()),
        description: None,
        enabled: true,
        auth_method: ClientAuthMethod::Secret,
        secret_sealed: Some(vec![0, 1, 2, 255]),
        redirect_uris: vec!["https://app.example.com/cb".to_owned()],
        post_logout_redirect_uris: vec![],
        web_origins: vec!["https://app.example.com".to_owned()],
        root_url: Some("https://app.example.com".to_owned()),
        base_url: None,
        bearer_only: false,
        consent_required: true,
        standard_flow: true,
        direct_access_grants: false,
        service_accounts: true,
        full_scope_allowed: true,
        optional_scopes: vec!["offline_access".to_owned()],
        default_scopes: vec!["openid".to_owned(), "profile".to_owned()],
        attributes: [("access.token.lifespan".to_owned(), "600".to_owned())].into(),
        created_at: NOW,
    }
}

pub fn role(name: &str, client: Option<&ClientUuid>) -> Role {
    Role {
        id: RoleId::new(),
        name: name.to_owned(),
        description: Some(format!("the {name} role")),
        client: client.cloned(),
        attributes: Attributes::new(),
    }
}

pub fn group(name: &str, parent: Option<&Group>) -> Group {
    Group {
        id: GroupId::new(),
        name: name.to_owned(),
        parent: parent.map(|p| p.id.clone()),
        path: match parent {
            Some(p) => format!("{}/{name}", p.path),
            None => format!("/{name}"),
        },
        attributes: Attributes::new(),
    }
}

pub fn org(name: &str) -> Organization {
    Organization {
        id: OrgId::new(),
        name: name.to_owned(),
        alias: name.to_lowercase(),
        description: Some("a customer".to_owned()),
        enabled: true,
        domains: vec![OrgDomain {
            name: format!("{}.example", name.to_lowercase()),
            verified: true,
        }],
        attributes: Attributes::new(),
        created_at: NOW,
    }
}

pub fn key(kid: &str, created_at: Epoch) -> StoredKey {
    StoredKey {
        kid: kid.to_owned(),
        alg: "ES256".to_owned(),
        status: KeyStatus::Active,
        private_sealed: vec![9, 8, 7, 0],
        public_jwk: format!("{{\"kid\":\"{kid}\"}}"),
        created_at,
    }
}

pub fn session(user: &UserId) -> UserSession {
    UserSession {
        id: SessionId::new(),
        user_id: user.clone(),
        auth_time: NOW,
        last_seen: NOW,
        expires_at: NOW + 36_000,
        amr: vec!["pwd".to_owned()],
        revoked: false,
    }
}

pub fn code(hash: &str, client: &ClientUuid, session: &UserSession) -> AuthCode {
    AuthCode {
        code_hash: hash.to_owned(),
        client: client.clone(),
        user_id: session.user_id.clone(),
        session_id: session.id.clone(),
        redirect_uri: "https://app.example.com/cb".to_owned(),
        scope: "openid profile".to_owned(),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        code_challenge: None,
        auth_time: NOW,
        amr: vec!["pwd".to_owned()],
        expires_at: NOW + 60,
        family_id: FamilyId::new(),
        consumed_at: None,
    }
}

pub fn refresh(
    hash: &str,
    family: &FamilyId,
    client: &ClientUuid,
    session: &UserSession,
) -> RefreshToken {
    RefreshToken {
        token_hash: hash.to_owned(),
        family_id: family.clone(),
        client: client.clone(),
        user_id: session.user_id.clone(),
        session_id: Some(session.id.clone()),
        scope: "openid".to_owned(),
        auth_time: NOW,
        amr: vec!["pwd".to_owned()],
        issued_at: NOW,
        expires_at: NOW + 1800,
        rotated_at: None,
    }
}

/// A token family as a grant creates it: generation 1, its token living 1,800 s (never beyond
/// `expires_at`).
pub fn family(
    id: &FamilyId,
    client: &ClientUuid,
    user: &UserId,
    session: Option<&SessionId>,
    expires_at: Epoch,
) -> TokenFamily {
    TokenFamily {
        id: id.clone(),
        client: client.clone(),
        user_id: user.clone(),
        session_id: session.cloned(),
        scope: "openid profile".to_owned(),
        auth_time: NOW,
        amr: vec!["pwd".to_owned()],
        generation: 1,
        issued_at: NOW,
        idle_expires_at: (NOW + 1800).min(expires_at),
        expires_at,
        revoked_at: None,
    }
}

/// A family as stored before refresh tokens became generations (its token is a `refresh_tokens`
/// row): generation 0 and the migration's defaults.
pub fn legacy_family(
    id: &FamilyId,
    client: &ClientUuid,
    user: &UserId,
    session: Option<&SessionId>,
    expires_at: Epoch,
) -> TokenFamily {
    family_before_generations(family(id, client, user, session, expires_at))
}

/// One of everything, in one realm.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub realm: RealmId,
    pub user: User,
    pub sa_user: User,
    pub client: Client,
    pub realm_role: Role,
    pub child_role: Role,
    pub client_role: Role,
    pub parent_group: Group,
    pub child_group: Group,
    pub org: Organization,
    pub key: StoredKey,
    pub session: UserSession,
    pub code: AuthCode,
    pub family: FamilyId,
    pub refresh: RefreshToken,
    pub jti: String,
    pub subject: String,
    pub consent: Consent,
}

/// Populates `realm` with the same names every realm gets (names are unique per realm only) and
/// hashes made distinct by `tag`.
pub async fn populate(store: &Store, realm: &RealmId, tag: &str) -> Result<Fixture, StoreError> {
    let mut tx = store.realm(realm).await?;
    let client = client("app");
    tx.insert_client(&client).await?;
    let user = user("alice");
    tx.insert_user(&user).await?;
    let mut sa_user = self::user("service-account-app");
    sa_user.email = None;
    sa_user.service_account_client = Some(client.id.clone());
    tx.insert_user(&sa_user).await?;
    tx.set_password(&PasswordCredential {
        id: CredentialId::new(),
        user_id: user.id.clone(),
        hash: format!("$argon2id$v=19$m=19456,t=2,p=1${tag}"),
        created_at: NOW,
    })
    .await?;
    let realm_role = role("admin", None);
    let child_role = role("viewer", None);
    let client_role = role("admin", Some(&client.id));
    for r in [&realm_role, &child_role, &client_role] {
        tx.insert_role(r).await?;
    }
    tx.add_composite(&realm_role.id, &child_role.id).await?;
    tx.grant_user_role(&user.id, &client_role.id).await?;
    let parent_group = group("staff", None);
    let child_group = group("ops", Some(&parent_group));
    tx.insert_group(&parent_group).await?;
    tx.insert_group(&child_group).await?;
    tx.grant_group_role(&parent_group.id, &realm_role.id)
        .await?;
    tx.add_user_to_group(&user.id, &child_group.id).await?;
    let org = org("Acme");
    tx.insert_org(&org).await?;
    tx.add_org_member(&OrgMembership {
        org_id: org.id.clone(),
        user_id: user.id.clone(),
        roles: vec!["owner".to_owned()],
        created_at: NOW,
    })
    .await?;
    let key = key("k1", NOW);
    tx.insert_key(&key).await?;
    let session = session(&user.id);
    tx.insert_session(&session).await?;
    let code = code(&format!("{tag}-code"), &client.id, &session);
    tx.insert_code(&code).await?;
    let family = FamilyId::new();
    tx.insert_family(&legacy_family(
        &family,
        &client.id,
        &user.id,
        Some(&session.id),
        NOW + 36_000,
    ))
    .await?;
    let refresh = refresh(&format!("{tag}-refresh"), &family, &client.id, &session);
    tx.insert_refresh(&refresh).await?;
    let jti = "jti-1".to_owned();
    tx.revoke_jti(&jti, NOW + 300).await?;
    let consent = Consent {
        user_id: user.id.clone(),
        client: client.id.clone(),
        scopes: vec!["openid".to_owned(), "email".to_owned()],
        granted_at: NOW,
    };
    tx.upsert_consent(&consent).await?;
    let subject = "ip:192.0.2.1".to_owned();
    tx.put_failures(&LoginFailures {
        subject: subject.clone(),
        failures: 3,
        last_failure: NOW,
        locked_until: 0,
    })
    .await?;
    tx.commit().await?;
    Ok(Fixture {
        realm: realm.clone(),
        user,
        sa_user,
        client,
        realm_role,
        child_role,
        client_role,
        parent_group,
        child_group,
        org,
        key,
        session,
        code,
        family,
        refresh,
        jti,
        subject,
        consent,
    })
}

/// Everything readable about the fixture's realm, rendered, for before/after comparison.
pub async fn snapshot(store: &Store, f: &Fixture) -> Result<Vec<String>, StoreError> {
    let mut tx = store.realm_read(&f.realm).await?;
    let all = UserQuery {
        include_service_accounts: true,
        ..UserQuery::default()
    };
    let mut out = vec![
        format!("{:?}", tx.user_by_id(&f.user.id).await?),
        format!("{:?}", tx.user_by_username("alice").await?),
        format!("{:?}", tx.user_by_email("alice@example.com").await?),
        format!("{:?}", tx.search_users(&all, 0, 100).await?),
        format!("{:?}", tx.count_users(&all).await?),
        format!("{:?}", tx.password_of(&f.user.id).await?),
        format!("{:?}", tx.client_by_uuid(&f.client.id).await?),
        format!("{:?}", tx.client_by_client_id("app").await?),
        format!("{:?}", tx.list_clients(None, 0, 100).await?),
        format!("{:?}", tx.list_roles(None).await?),
        format!("{:?}", tx.list_roles(Some(&f.client.id)).await?),
        format!("{:?}", tx.role_by_name(None, "admin").await?),
        format!("{:?}", tx.composites_of(&f.realm_role.id).await?),
        format!("{:?}", tx.user_roles(&f.user.id).await?),
        format!("{:?}", tx.effective_roles(&f.user.id).await?),
        format!("{:?}", tx.list_groups(None, 0, 100).await?),
        format!("{:?}", tx.user_groups(&f.user.id).await?),
        format!("{:?}", tx.group_members(&f.child_group.id, 0, 100).await?),
        format!("{:?}", tx.group_roles(&f.parent_group.id).await?),
        format!("{:?}", tx.list_orgs(None, 0, 100).await?),
        format!("{:?}", tx.org_members(&f.org.id, 0, 100).await?),
        format!("{:?}", tx.user_orgs(&f.user.id).await?),
        format!("{:?}", tx.keys().await?),
        format!("{:?}", tx.session_by_id(&f.session.id).await?),
        format!("{:?}", tx.refresh_by_hash(&f.refresh.token_hash).await?),
        format!("{:?}", tx.family_active(&f.family).await?),
        format!("{:?}", tx.jti_revoked(&f.jti).await?),
        format!("{:?}", tx.consent_of(&f.user.id, &f.client.id).await?),
        format!("{:?}", tx.failures_of(&f.subject).await?),
    ];
    for table in realmgate_store::REALM_TABLES {
        out.push(format!("{table}: {}", tx.raw_count_realm(table).await?));
    }
    Ok(out)
}

/// A generation family on the fixture's session, stored.
pub async fn grant(
    store: &realmgate_store::Store,
    f: &Fixture,
) -> Result<TokenFamily, realmgate_store::StoreError> {
    let g = family(
        &FamilyId::new(),
        &f.client.id,
        &f.user.id,
        Some(&f.session.id),
        f.session.expires_at,
    );
    let mut tx = store.realm(&f.realm).await?;
    tx.insert_family(&g).await?;
    tx.commit().await?;
    Ok(g)
}

/// A fresh store with realm "r", populated, and a generation family on the fixture's session.
pub async fn granted() -> Result<(Store, RealmId, Fixture, TokenFamily), StoreError> {
    let store = store().await;
    let realm = new_realm(&store, "r").await?;
    let f = populate(&store, &realm, "r").await?;
    let g = grant(&store, &f).await?;
    Ok((store, realm, f, g))
}

/// Runs `task(0)` … `task(n - 1)` at once, each on its own tokio task, and returns their
/// outcomes in order (the first error, or panic of a task, fails the test).
pub async fn race<T, F, Fut>(n: i64, task: F) -> Result<Vec<T>, Box<dyn std::error::Error>>
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(task(i))).collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await??);
    }
    Ok(out)
}
