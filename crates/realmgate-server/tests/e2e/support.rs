//! Shared setup: a realm with a confidential client, a public client and a user.

use realmgate_testkit::{Browser, Page, TestApp, find_form};
use serde_json::json;

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct World {
    pub app: TestApp,
    pub realm: String,
    pub client_id: String,
    pub secret: String,
    pub public_id: String,
    pub user_id: String,
    pub username: String,
}

pub async fn world() -> World {
    let app = TestApp::spawn().await;
    let realm = app.create_realm("e2e").await;
    let client_id = "webapp".to_owned();
    let (_, secret) = app
        .create_client(
            &realm,
            json!({
                "clientId": client_id, "publicClient": false, "standardFlowEnabled": true,
                "serviceAccountsEnabled": true, "directAccessGrantsEnabled": false,
                "redirectUris": [REDIRECT],
                "attributes": { "post.logout.redirect.uris": "http://127.0.0.1:9/bye" }
            }),
        )
        .await;
    let public_id = "spa".to_owned();
    app.create_client(
        &realm,
        json!({ "clientId": public_id, "publicClient": true, "standardFlowEnabled": true, "redirectUris": [REDIRECT] }),
    )
    .await;
    let username = "alice".to_owned();
    let user_id = app.create_user(&realm, &username, PASSWORD).await;
    World {
        app,
        realm,
        client_id,
        secret: secret.expect("confidential client secret"),
        public_id,
        user_id,
        username,
    }
}

/// The query parameters of a redirect Location.
pub fn query(location: &str) -> std::collections::BTreeMap<String, String> {
    url::Url::parse(location)
        .expect("absolute Location")
        .query_pairs()
        .into_owned()
        .collect()
}

/// Drives the login page: GET the authorization URL, submit the credentials, return the response.
pub async fn login(
    browser: &Browser,
    base: &str,
    auth_url: &str,
    username: &str,
    password: &str,
) -> Page {
    let page = browser.get(auth_url).await;
    assert_eq!(page.status, 200, "login page: {}", page.body);
    assert!(
        find_form(&page.body, "kc-form-login", base).is_some(),
        "no login form in {}",
        page.body
    );
    browser.login(&page, base, username, password).await
}

/// A plain authorization URL with PKCE (S256) for a client.
pub fn auth_url(w: &World, client_id: &str, challenge: &str, extra: &str) -> String {
    format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile%20email&state=st4te&nonce=n0nce&code_challenge={challenge}&code_challenge_method=S256{extra}",
        w.app.endpoint(&w.realm, "auth"),
        urlencode(REDIRECT)
    )
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn pkce() -> (String, String) {
    let verifier = format!("v-{}-{}", uuid(), uuid());
    let challenge = {
        use base64::Engine;
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
    };
    (verifier, challenge)
}

fn uuid() -> String {
    let b: [u8; 16] = {
        let mut x = [0u8; 16];
        aws_lc_rs::rand::fill(&mut x).expect("rand");
        x
    };
    b.iter().map(|v| format!("{v:02x}")).collect()
}

/// Logs in and returns a fresh authorization code for the confidential client.
pub async fn code_for(w: &World, browser: &Browser, challenge: &str) -> String {
    let page = login(
        browser,
        &w.app.url,
        &auth_url(w, &w.client_id, challenge, ""),
        &w.username,
        PASSWORD,
    )
    .await;
    assert_eq!(
        page.status, 303,
        "after login: {} {}",
        page.status, page.body
    );
    let q = query(page.location.as_deref().expect("Location"));
    assert_eq!(q.get("state").map(String::as_str), Some("st4te"));
    q.get("code").expect("code").clone()
}

/// Exchanges a code at the token endpoint with client_secret_basic.
pub async fn exchange(w: &World, code: &str, verifier: &str) -> (u16, serde_json::Value) {
    let (status, _, body) = w
        .app
        .post_form(
            &w.app.endpoint(&w.realm, "token"),
            Some((&w.client_id, &w.secret)),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ],
        )
        .await;
    (status, body)
}

pub async fn introspect(w: &World, token: &str) -> serde_json::Value {
    let (status, _, body) = w
        .app
        .post_form(
            &w.app.endpoint(&w.realm, "token/introspect"),
            Some((&w.client_id, &w.secret)),
            &[("token", token)],
        )
        .await;
    assert_eq!(status, 200, "introspect: {body}");
    body
}
