//! The admin API over HTTP, in process: a real store, the whole router, a real admin token from
//! the password grant. Walks what the Keycloak admin client does (trailing slashes, `Location`
//! headers, bare ids) and the error shapes (401, 403, 400 on malformed JSON, 404, 409).

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use realmgate_app::{App, AppConfig, Store};
use realmgate_crypto::{MasterKey, PasswordHasher, PasswordParams};
use realmgate_domain::SystemClock;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

const BASE: &str = "http://127.0.0.1:1";

type R = Result<(), String>;

async fn world() -> Result<(App, Router), String> {
    let path = std::env::temp_dir()
        .join("realmgate-tests")
        .join(format!("admin-{}.db", uuid::Uuid::new_v4()));
    let store = Store::open(&format!("sqlite://{}", path.display()), 4)
        .await
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
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
        Arc::new(SystemClock),
        AppConfig::new(BASE),
    );
    app.bootstrap("admin", Some("admin-pw".into()))
        .await
        .map_err(|e| e.to_string())?;
    Ok((app.clone(), crate::router(app)))
}

struct Resp {
    status: StatusCode,
    location: Option<String>,
    content_type: Option<String>,
    body: Value,
}

async fn call(
    router: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<Resp, String> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b)),
        None => req.body(Body::empty()),
    }
    .map_err(|e| e.to_string())?;
    let resp = router
        .clone()
        .oneshot(req)
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let h = |n: header::HeaderName| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let location = h(header::LOCATION);
    let content_type = h(header::CONTENT_TYPE);
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .map_err(|e| e.to_string())?;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Resp {
        status,
        location,
        content_type,
        body,
    })
}

async fn json_call(
    router: &Router,
    method: Method,
    uri: &str,
    token: &str,
    body: Value,
) -> Result<Resp, String> {
    call(
        router,
        method,
        uri,
        Some(token),
        Some(body.to_string().into_bytes()),
    )
    .await
}

async fn password_grant(
    router: &Router,
    realm: &str,
    client: &str,
    user: &str,
    pw: &str,
) -> Result<Resp, String> {
    let form = format!(
        "grant_type=password&client_id={client}&username={user}&password={pw}&scope=openid"
    );
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/realms/{realm}/protocol/openid-connect/token"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .map_err(|e| e.to_string())?;
    let resp = router
        .clone()
        .oneshot(req)
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Resp {
        status,
        location: None,
        content_type: None,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    })
}

fn expect(ok: bool, what: &str, r: &Resp) -> R {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: HTTP {} {}", r.status, r.body))
    }
}

fn last_segment(loc: &Option<String>) -> String {
    loc.as_deref()
        .and_then(|l| l.rsplit('/').next())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn keycloak_admin_client_flow_over_http() -> R {
    let (_app, r) = world().await?;
    let tok = password_grant(&r, "master", "admin-cli", "admin", "admin-pw").await?;
    expect(tok.status == StatusCode::OK, "admin login", &tok)?;
    let t = tok.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // Realms: create (trailing slash, Location), read, partial update, list.
    let c = json_call(
        &r,
        Method::POST,
        "/admin/realms/",
        &t,
        json!({"realm":"conf","enabled":true,"displayName":"Conf","organizationsEnabled":true}),
    )
    .await?;
    expect(c.status == StatusCode::CREATED, "create realm", &c)?;
    expect(
        c.location.as_deref() == Some(&format!("{BASE}/admin/realms/conf")[..]),
        "realm Location",
        &c,
    )?;
    let dup = json_call(
        &r,
        Method::POST,
        "/admin/realms",
        &t,
        json!({"realm":"conf"}),
    )
    .await?;
    expect(
        dup.status == StatusCode::CONFLICT && dup.body["errorMessage"].is_string(),
        "duplicate realm 409",
        &dup,
    )?;
    let u = json_call(
        &r,
        Method::PUT,
        "/admin/realms/conf",
        &t,
        json!({"displayName":"Renamed"}),
    )
    .await?;
    expect(u.status == StatusCode::NO_CONTENT, "update realm", &u)?;
    let g = call(&r, Method::GET, "/admin/realms/conf", Some(&t), None).await?;
    expect(
        g.body["displayName"] == "Renamed"
            && g.body["enabled"] == true
            && g.body["realm"] == "conf",
        "realm read",
        &g,
    )?;
    let list = call(&r, Method::GET, "/admin/realms/", Some(&t), None).await?;
    expect(
        list.body.as_array().is_some_and(|a| a.len() == 2),
        "realm list",
        &list,
    )?;
    let missing = call(&r, Method::GET, "/admin/realms/nope", Some(&t), None).await?;
    expect(
        missing.status == StatusCode::NOT_FOUND,
        "unknown realm 404",
        &missing,
    )?;

    // Clients.
    let c = json_call(&r, Method::POST, "/admin/realms/conf/clients/", &t, json!({
        "clientId":"conf-admin-confidential","enabled":true,"protocol":"openid-connect","publicClient":false,
        "standardFlowEnabled":true,"serviceAccountsEnabled":true,"redirectUris":["http://127.0.0.1:9/callback"],
        "attributes":{"pkce.code.challenge.method":"S256"}})).await?;
    expect(c.status == StatusCode::CREATED, "create client", &c)?;
    let cid = last_segment(&c.location);
    let found = call(
        &r,
        Method::GET,
        "/admin/realms/conf/clients/?clientId=conf-admin-confidential",
        Some(&t),
        None,
    )
    .await?;
    expect(
        found.body[0]["id"] == cid.as_str() && found.body[0]["publicClient"] == false,
        "find client",
        &found,
    )?;
    let s1 = call(
        &r,
        Method::GET,
        &format!("/admin/realms/conf/clients/{cid}/client-secret"),
        Some(&t),
        None,
    )
    .await?;
    let s2 = call(
        &r,
        Method::POST,
        &format!("/admin/realms/conf/clients/{cid}/client-secret"),
        Some(&t),
        None,
    )
    .await?;
    expect(
        s1.body["type"] == "secret"
            && s2.body["value"].is_string()
            && s1.body["value"] != s2.body["value"],
        "secret rotation",
        &s2,
    )?;
    let sa = call(
        &r,
        Method::GET,
        &format!("/admin/realms/conf/clients/{cid}/service-account-user"),
        Some(&t),
        None,
    )
    .await?;
    expect(
        sa.body["username"] == "service-account-conf-admin-confidential",
        "service account",
        &sa,
    )?;
    let d = json_call(&r, Method::POST, "/admin/realms/conf/clients", &t, json!({"clientId":"conf-direct","publicClient":true,"standardFlowEnabled":false,"directAccessGrantsEnabled":true})).await?;
    expect(d.status == StatusCode::CREATED, "public client", &d)?;

    // Users.
    let count0 = call(
        &r,
        Method::GET,
        "/admin/realms/conf/users/count",
        Some(&t),
        None,
    )
    .await?;
    let new_user = |name: &str| {
        json!({"username":name,"email":format!("{name}@example.org"),"firstName":"Conf","lastName":"User",
        "enabled":true,"emailVerified":true,"credentials":[{"type":"password","value":"Pw-1!","temporary":false}]})
    };
    let bob = json_call(
        &r,
        Method::POST,
        "/admin/realms/conf/users/",
        &t,
        new_user("bob"),
    )
    .await?;
    expect(bob.status == StatusCode::CREATED, "create user", &bob)?;
    let bob_id = last_segment(&bob.location);
    json_call(
        &r,
        Method::POST,
        "/admin/realms/conf/users/",
        &t,
        new_user("bobby"),
    )
    .await?;
    let exact = call(
        &r,
        Method::GET,
        "/admin/realms/conf/users/?username=bob&exact=true",
        Some(&t),
        None,
    )
    .await?;
    expect(
        exact.body.as_array().map(Vec::len) == Some(1) && exact.body[0]["id"] == bob_id.as_str(),
        "exact find",
        &exact,
    )?;
    let count = call(
        &r,
        Method::GET,
        "/admin/realms/conf/users/count",
        Some(&t),
        None,
    )
    .await?;
    expect(
        count.body.as_i64() == count0.body.as_i64().map(|n| n + 2),
        "user count",
        &count,
    )?;
    let rp = json_call(
        &r,
        Method::PUT,
        &format!("/admin/realms/conf/users/{bob_id}/reset-password"),
        &t,
        json!({"type":"password","value":"Pw-2!","temporary":false}),
    )
    .await?;
    expect(rp.status == StatusCode::NO_CONTENT, "reset password", &rp)?;
    let login = password_grant(&r, "conf", "conf-direct", "bob", "Pw-2!").await?;
    expect(
        login.status == StatusCode::OK,
        "login with the new password",
        &login,
    )?;
    let full = call(
        &r,
        Method::GET,
        &format!("/admin/realms/conf/users/{bob_id}"),
        Some(&t),
        None,
    )
    .await?;
    let mut rep = full.body.clone();
    rep["firstName"] = json!("Robert");
    let up = json_call(
        &r,
        Method::PUT,
        &format!("/admin/realms/conf/users/{bob_id}"),
        &t,
        rep,
    )
    .await?;
    expect(
        up.status == StatusCode::NO_CONTENT,
        "round-trip update",
        &up,
    )?;
    let reread = call(
        &r,
        Method::GET,
        &format!("/admin/realms/conf/users/{bob_id}"),
        Some(&t),
        None,
    )
    .await?;
    expect(
        reread.body["firstName"] == "Robert" && reread.body["lastName"] == "User",
        "update read back",
        &reread,
    )?;

    // Roles and mappings.
    let role = json_call(
        &r,
        Method::POST,
        "/admin/realms/conf/roles",
        &t,
        json!({"name":"conf-reader","description":"reads things"}),
    )
    .await?;
    expect(
        role.status == StatusCode::CREATED && last_segment(&role.location) == "conf-reader",
        "create role",
        &role,
    )?;
    let got = call(
        &r,
        Method::GET,
        "/admin/realms/conf/roles/conf-reader",
        Some(&t),
        None,
    )
    .await?;
    let role_id = got.body["id"].as_str().unwrap_or_default().to_owned();
    let m = json_call(
        &r,
        Method::POST,
        &format!("/admin/realms/conf/users/{bob_id}/role-mappings/realm"),
        &t,
        json!([{"id":role_id,"name":"conf-reader"}]),
    )
    .await?;
    expect(m.status == StatusCode::NO_CONTENT, "grant", &m)?;
    let mapped = call(
        &r,
        Method::GET,
        &format!("/admin/realms/conf/users/{bob_id}/role-mappings/realm"),
        Some(&t),
        None,
    )
    .await?;
    expect(
        mapped
            .body
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["name"] == "conf-reader")),
        "mapped",
        &mapped,
    )?;
    let all = call(
        &r,
        Method::GET,
        &format!("/admin/realms/conf/users/{bob_id}/role-mappings"),
        Some(&t),
        None,
    )
    .await?;
    expect(
        all.body["realmMappings"].is_array(),
        "mappings representation",
        &all,
    )?;

    // Groups and organizations.
    let grp = json_call(
        &r,
        Method::POST,
        "/admin/realms/conf/groups/",
        &t,
        json!({"name":"conf-group"}),
    )
    .await?;
    expect(grp.status == StatusCode::CREATED, "create group", &grp)?;
    let groups = call(
        &r,
        Method::GET,
        "/admin/realms/conf/groups/",
        Some(&t),
        None,
    )
    .await?;
    expect(
        groups.body[0]["id"] == last_segment(&grp.location).as_str()
            && groups.body[0]["subGroupCount"] == 0,
        "list groups",
        &groups,
    )?;
    let org = json_call(&r, Method::POST, "/admin/realms/conf/organizations/", &t, json!({"name":"Conformance Org","alias":"conf-org","enabled":true,"domains":[{"name":"conf.example.org"}]})).await?;
    expect(org.status == StatusCode::CREATED, "create org", &org)?;
    let org_id = last_segment(&org.location);
    let add = call(
        &r,
        Method::POST,
        &format!("/admin/realms/conf/organizations/{org_id}/members"),
        Some(&t),
        Some(bob_id.clone().into_bytes()),
    )
    .await?;
    expect(
        add.status == StatusCode::CREATED,
        "add member (bare id)",
        &add,
    )?;
    let members = call(
        &r,
        Method::GET,
        &format!("/admin/realms/conf/organizations/{org_id}/members"),
        Some(&t),
        None,
    )
    .await?;
    expect(
        members.body[0]["username"] == "bob",
        "list members",
        &members,
    )?;
    let roles = json_call(
        &r,
        Method::PUT,
        &format!("/admin/realms/conf/organizations/{org_id}/members/{bob_id}/roles"),
        &t,
        json!(["admin"]),
    )
    .await?;
    expect(
        roles.status == StatusCode::NO_CONTENT,
        "org member roles",
        &roles,
    )?;

    // Keys.
    let keys = call(&r, Method::GET, "/admin/realms/conf/keys", Some(&t), None).await?;
    expect(keys.body["active"]["RS256"].is_string(), "keys", &keys)?;
    let rot = call(
        &r,
        Method::POST,
        "/admin/realms/conf/keys/rotate?alg=RS256",
        Some(&t),
        None,
    )
    .await?;
    expect(rot.status == StatusCode::NO_CONTENT, "rotate", &rot)?;

    // Errors: no token, a non-admin token, malformed JSON, unknown user.
    let anon = call(&r, Method::GET, "/admin/realms/conf/users", None, None).await?;
    expect(
        anon.status == StatusCode::UNAUTHORIZED,
        "401 without token",
        &anon,
    )?;
    let bob_tok = login.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let forbidden = call(
        &r,
        Method::GET,
        "/admin/realms/conf/users",
        Some(&bob_tok),
        None,
    )
    .await?;
    expect(
        forbidden.status == StatusCode::FORBIDDEN,
        "403 for a plain user",
        &forbidden,
    )?;
    let bad = call(
        &r,
        Method::POST,
        "/admin/realms/conf/users",
        Some(&t),
        Some(b"{\"username\":".to_vec()),
    )
    .await?;
    expect(
        bad.status == StatusCode::BAD_REQUEST
            && bad.content_type.as_deref() == Some("application/problem+json"),
        "malformed JSON",
        &bad,
    )?;
    let nf = call(
        &r,
        Method::GET,
        "/admin/realms/conf/users/00000000-0000-0000-0000-000000000000",
        Some(&t),
        None,
    )
    .await?;
    expect(
        nf.status == StatusCode::NOT_FOUND && nf.body["error"] == "not_found",
        "unknown user",
        &nf,
    )?;

    // Deletion.
    let del = call(
        &r,
        Method::DELETE,
        &format!("/admin/realms/conf/users/{bob_id}"),
        Some(&t),
        None,
    )
    .await?;
    expect(del.status == StatusCode::NO_CONTENT, "delete user", &del)?;
    let gone = call(&r, Method::DELETE, "/admin/realms/conf", Some(&t), None).await?;
    expect(gone.status == StatusCode::NO_CONTENT, "delete realm", &gone)?;
    let after = call(&r, Method::GET, "/admin/realms/conf", Some(&t), None).await?;
    expect(after.status == StatusCode::NOT_FOUND, "realm gone", &after)?;
    Ok(())
}

#[tokio::test]
async fn realm_admin_token_manages_only_its_realm() -> R {
    let (_app, r) = world().await?;
    let tok = password_grant(&r, "master", "admin-cli", "admin", "admin-pw").await?;
    let t = tok.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for realm in ["a", "b"] {
        json_call(
            &r,
            Method::POST,
            "/admin/realms",
            &t,
            json!({ "realm": realm }),
        )
        .await?;
    }
    json_call(
        &r,
        Method::POST,
        "/admin/realms/a/clients",
        &t,
        json!({"clientId":"cli","publicClient":true,"directAccessGrantsEnabled":true}),
    )
    .await?;
    let u = json_call(
        &r,
        Method::POST,
        "/admin/realms/a/users",
        &t,
        json!({"username":"ops","credentials":[{"value":"Ops-1!"}]}),
    )
    .await?;
    let uid = last_segment(&u.location);
    let mgmt = call(
        &r,
        Method::GET,
        "/admin/realms/a/clients?clientId=realm-management",
        Some(&t),
        None,
    )
    .await?;
    let mgmt_id = mgmt.body[0]["id"].as_str().unwrap_or_default().to_owned();
    let grant = json_call(
        &r,
        Method::POST,
        &format!("/admin/realms/a/users/{uid}/role-mappings/clients/{mgmt_id}"),
        &t,
        json!([{"name":"realm-admin"}]),
    )
    .await?;
    expect(
        grant.status == StatusCode::NO_CONTENT,
        "grant realm-admin",
        &grant,
    )?;
    let login = password_grant(&r, "a", "cli", "ops", "Ops-1!").await?;
    expect(login.status == StatusCode::OK, "realm admin login", &login)?;
    let rt = login.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let own = call(&r, Method::GET, "/admin/realms/a/users", Some(&rt), None).await?;
    expect(own.status == StatusCode::OK, "own realm", &own)?;
    let other = call(&r, Method::GET, "/admin/realms/b/users", Some(&rt), None).await?;
    expect(
        other.status == StatusCode::FORBIDDEN,
        "other realm 403",
        &other,
    )?;
    let create = json_call(&r, Method::POST, "/admin/realms", &rt, json!({"realm":"c"})).await?;
    expect(
        create.status == StatusCode::FORBIDDEN,
        "no realm creation",
        &create,
    )?;
    let list = call(&r, Method::GET, "/admin/realms", Some(&rt), None).await?;
    expect(
        list.body
            .as_array()
            .is_some_and(|l| l.len() == 1 && l[0]["realm"] == "a"),
        "lists its realm",
        &list,
    )?;
    Ok(())
}
