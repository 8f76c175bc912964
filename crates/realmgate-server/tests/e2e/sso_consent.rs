//! SSO across clients of a realm, consent for third-party clients, prompt and max_age.

use crate::support::*;
use realmgate_testkit::{Browser, find_form};
use serde_json::json;

#[tokio::test]
async fn second_client_logs_in_without_a_password() {
    let w = world().await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    let page = login(
        &browser,
        &w.app.url,
        &auth_url(&w, &w.client_id, &challenge, ""),
        &w.username,
        PASSWORD,
    )
    .await;
    assert_eq!(page.status, 303);
    let page = browser
        .get(&auth_url(&w, &w.public_id, &challenge, ""))
        .await;
    assert_eq!(
        page.status, 303,
        "SSO should skip the login page: {}",
        page.body
    );
    assert!(query(page.location.as_deref().unwrap()).contains_key("code"));
    // The SSO session is per realm: another realm still asks for a password.
    let other = w.app.create_realm("other").await;
    w.app
        .create_client(
            &other,
            json!({ "clientId": "spa", "publicClient": true, "redirectUris": [REDIRECT] }),
        )
        .await;
    let url = auth_url(&w, "spa", &challenge, "").replace(
        &format!("/realms/{}/", w.realm),
        &format!("/realms/{other}/"),
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status, 200, "another realm must show its login page");
}

#[tokio::test]
async fn prompt_none_without_session_is_login_required_and_prompt_login_forces_the_form() {
    let w = world().await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    let page = browser
        .get(&auth_url(&w, &w.client_id, &challenge, "&prompt=none"))
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        query(page.location.as_deref().unwrap())
            .get("error")
            .map(String::as_str),
        Some("login_required")
    );
    login(
        &browser,
        &w.app.url,
        &auth_url(&w, &w.client_id, &challenge, ""),
        &w.username,
        PASSWORD,
    )
    .await;
    let page = browser
        .get(&auth_url(&w, &w.client_id, &challenge, "&prompt=none"))
        .await;
    assert!(query(page.location.as_deref().unwrap()).contains_key("code"));
    let page = browser
        .get(&auth_url(&w, &w.client_id, &challenge, "&prompt=login"))
        .await;
    assert_eq!(page.status, 200, "prompt=login shows the form");
    w.app.clock.advance(30);
    let page = browser
        .get(&auth_url(&w, &w.client_id, &challenge, "&max_age=10"))
        .await;
    assert_eq!(
        page.status, 200,
        "an authentication older than max_age needs a fresh login"
    );
}

#[tokio::test]
async fn consent_is_asked_once_and_remembered_and_denial_is_access_denied() {
    let w = world().await;
    w.app
        .create_client(&w.realm, json!({ "clientId": "third-party", "publicClient": true, "consentRequired": true, "redirectUris": [REDIRECT] }))
        .await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    let page = login(
        &browser,
        &w.app.url,
        &auth_url(&w, "third-party", &challenge, ""),
        &w.username,
        PASSWORD,
    )
    .await;
    assert_eq!(page.status, 200, "consent page expected");
    let form = find_form(&page.body, "kc-consent-form", &w.app.url).expect("consent form");
    assert!(page.body.contains("profile") && page.body.contains("email"));
    let denied = browser.submit(&form, &[("accept", "no")]).await;
    assert_eq!(
        query(denied.location.as_deref().unwrap())
            .get("error")
            .map(String::as_str),
        Some("access_denied")
    );

    let page = browser
        .get(&auth_url(&w, "third-party", &challenge, ""))
        .await;
    let form = find_form(&page.body, "kc-consent-form", &w.app.url)
        .expect("consent asked again after a denial");
    let ok = browser.submit(&form, &[("accept", "yes")]).await;
    assert!(query(ok.location.as_deref().unwrap()).contains_key("code"));
    let again = browser
        .get(&auth_url(&w, "third-party", &challenge, ""))
        .await;
    assert_eq!(again.status, 303, "consent is remembered");
}

#[tokio::test]
async fn login_form_is_bound_to_the_browser_csrf_cookie() {
    let w = world().await;
    let (_, challenge) = pkce();
    let attacker = Browser::new();
    let page = attacker
        .get(&auth_url(&w, &w.client_id, &challenge, ""))
        .await;
    let form = find_form(&page.body, "kc-form-login", &w.app.url).unwrap();
    // The victim's browser submits the attacker's form (login CSRF): refused.
    let victim = Browser::new();
    let resp = victim
        .submit(&form, &[("username", &w.username), ("password", PASSWORD)])
        .await;
    assert_eq!(resp.status, 400);
    assert!(resp.location.is_none());
}

#[tokio::test]
async fn unknown_realm_is_404_everywhere() {
    let w = world().await;
    let b = Browser::new();
    assert_eq!(
        b.get(&format!(
            "{}/realms/nope/.well-known/openid-configuration",
            w.app.url
        ))
        .await
        .status,
        404
    );
    assert_eq!(
        b.get(&format!(
            "{}/realms/nope/protocol/openid-connect/auth?client_id=x",
            w.app.url
        ))
        .await
        .status,
        404
    );
    let (status, _, body) = w
        .app
        .post_form(
            &w.app.endpoint("nope", "token"),
            None,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, 404, "{body}");
}
