//! Admin REST API authorisation: master admins manage every realm; a realm's own `realm-admin`
//! manages only that realm; ordinary users manage nothing.

use realmgate_testkit::TestApp;
use reqwest::Method;
use serde_json::json;

async fn realm_token(
    app: &TestApp,
    realm: &str,
    client: &str,
    secret: &str,
    user: &str,
    pw: &str,
) -> String {
    let (status, _, body) = app
        .post_form(
            &app.endpoint(realm, "token"),
            Some((client, secret)),
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", pw),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn realm_admins_are_limited_to_their_realm() {
    let app = TestApp::spawn().await;
    let acme = app.create_realm("acme").await;
    let other = app.create_realm("other").await;
    let (_, secret) = app
        .create_client(
            &acme,
            json!({ "clientId": "ops", "directAccessGrantsEnabled": true }),
        )
        .await;
    let secret = secret.unwrap();
    let boss = app.create_user(&acme, "boss", "boss-password-1").await;
    let pleb = app.create_user(&acme, "pleb", "pleb-password-1").await;

    // Grant boss realm-management → realm-admin in acme.
    let (_, _, clients) = app
        .admin(
            Method::GET,
            &format!("/{acme}/clients?clientId=realm-management"),
            None,
        )
        .await;
    let mgmt = clients[0]["id"].as_str().unwrap().to_owned();
    let (status, _, role) = app
        .admin(
            Method::GET,
            &format!("/{acme}/clients/{mgmt}/roles/realm-admin"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{role}");
    let (status, _, body) = app
        .admin(
            Method::POST,
            &format!("/{acme}/users/{boss}/role-mappings/clients/{mgmt}"),
            Some(json!([role])),
        )
        .await;
    assert_eq!(status, 204, "{body}");

    let boss_token = realm_token(&app, &acme, "ops", &secret, "boss", "boss-password-1").await;
    let (status, _, users) = app
        .admin_with(&boss_token, Method::GET, &format!("/{acme}/users"), None)
        .await;
    assert_eq!(status, 200, "{users}");
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == pleb.as_str())
    );
    let (status, _, _) = app
        .admin_with(&boss_token, Method::GET, &format!("/{other}/users"), None)
        .await;
    assert_eq!(status, 403, "a realm admin must not reach another realm");
    let (status, _, _) = app
        .admin_with(
            &boss_token,
            Method::POST,
            "",
            Some(json!({ "realm": "sneaky" })),
        )
        .await;
    assert_eq!(status, 403, "only master admins create realms");

    let pleb_token = realm_token(&app, &acme, "ops", &secret, "pleb", "pleb-password-1").await;
    let (status, _, _) = app
        .admin_with(&pleb_token, Method::GET, &format!("/{acme}/users"), None)
        .await;
    assert_eq!(status, 403);
    let (status, _, body) = app
        .admin_with("not-a-token", Method::GET, &format!("/{acme}/users"), None)
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn admin_errors_are_problem_json_never_500() {
    let app = TestApp::spawn().await;
    let realm = app.create_realm("p").await;
    let (status, _, body) = app
        .admin(Method::POST, "", Some(json!({ "realm": realm })))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["errorMessage"].is_string());
    // A shard this (unsharded) server does not have is the caller's mistake, and no realm is made.
    let (status, _, body) = app
        .admin(
            Method::POST,
            "",
            Some(json!({ "realm": "no-such-shard", "shard": "elsewhere" })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["errorMessage"].is_string(), "{body}");
    let (status, _, _) = app.admin(Method::GET, "/no-such-shard", None).await;
    assert_eq!(status, 404);
    let token = app.admin_token().await;
    let resp = app
        .http
        .post(format!("{}/admin/realms/{realm}/users", app.url))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    let (status, _, _) = app
        .admin(Method::GET, &format!("/{realm}/users/not-a-uuid"), None)
        .await;
    assert_eq!(status, 404);
    let (status, _, body) = app
        .admin(
            Method::POST,
            &format!("/{realm}/clients"),
            Some(json!({ "clientId": "w", "redirectUris": ["https://a/*"] })),
        )
        .await;
    assert_eq!(status, 400, "wildcard redirect URIs are refused: {body}");
}

#[tokio::test]
async fn renamed_realms_keep_granting_the_default_role() {
    let app = TestApp::spawn().await;
    let realm = app.create_realm("Old").await;
    let renamed = format!("{realm}-new");
    let (status, _, body) = app
        .admin(
            Method::PUT,
            &format!("/{realm}"),
            Some(json!({ "realm": renamed })),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let user = app.create_user(&renamed, "carol", "carol-password-1").await;
    let (_, _, roles) = app
        .admin(
            Method::GET,
            &format!("/{renamed}/users/{user}/role-mappings/realm"),
            None,
        )
        .await;
    let expected = format!("default-roles-{}", renamed.to_lowercase());
    assert!(
        roles
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == expected.as_str()),
        "{roles}"
    );
    let (status, _, _) = app.admin(Method::GET, &format!("/{realm}"), None).await;
    assert_eq!(status, 404, "the old name is gone");
}

#[tokio::test]
async fn realm_list_pages_with_first_and_max() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.create_realm("pg").await;
    }
    let (_, _, all) = app.admin(Method::GET, "", None).await;
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["realm"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "master + 3: {names:?}");
    let (_, _, page) = app.admin(Method::GET, "?first=1&max=2", None).await;
    let paged: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["realm"].as_str().unwrap())
        .collect();
    assert_eq!(paged, names[1..3].to_vec());
}

#[tokio::test]
async fn absurd_lifespans_are_refused_or_ignored_never_overflow() {
    let app = TestApp::spawn().await;
    let realm = app.create_realm("life").await;
    let (status, _, body) = app
        .admin(
            Method::PUT,
            &format!("/{realm}"),
            Some(json!({ "accessTokenLifespan": i64::MAX })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // A client attribute out of range falls back to the realm's lifespan (300 s).
    let (_, secret) = app
        .create_client(
            &realm,
            json!({ "clientId": "svc", "serviceAccountsEnabled": true,
                    "attributes": { "access.token.lifespan": i64::MAX.to_string() } }),
        )
        .await;
    let (status, _, body) = app
        .post_form(
            &app.endpoint(&realm, "token"),
            Some(("svc", secret.as_deref().unwrap())),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 300);
}
