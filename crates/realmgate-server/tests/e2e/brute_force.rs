//! Brute-force protection: lockout per user with a clear message, also on the password grant.

use crate::support::*;
use realmgate_testkit::{Browser, find_form};

#[tokio::test]
async fn five_failures_lock_the_account_even_for_the_right_password() {
    let w = world().await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    let mut page = browser
        .get(&auth_url(&w, &w.client_id, &challenge, ""))
        .await;
    for _ in 0..4 {
        page = browser.login(&page, &w.app.url, &w.username, "wrong").await;
        assert_eq!(page.status, 401);
        assert!(
            page.body.contains("Invalid username or password."),
            "{}",
            page.body
        );
    }
    page = browser.login(&page, &w.app.url, &w.username, "wrong").await;
    assert!(page.body.contains("temporarily locked"), "{}", page.body);
    page = browser
        .login(&page, &w.app.url, &w.username, PASSWORD)
        .await;
    assert!(
        page.body.contains("temporarily locked"),
        "the right password is refused while locked"
    );
    assert!(page.location.is_none());
    // After the wait, the right password works.
    w.app.clock.advance(120);
    let form = find_form(&page.body, "kc-form-login", &w.app.url).unwrap();
    let ok = browser
        .submit(&form, &[("username", &w.username), ("password", PASSWORD)])
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
}

#[tokio::test]
async fn unknown_users_get_the_same_answer() {
    let w = world().await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    let page = login(
        &browser,
        &w.app.url,
        &auth_url(&w, &w.client_id, &challenge, ""),
        "nobody",
        "x",
    )
    .await;
    assert_eq!(page.status, 401);
    assert!(page.body.contains("Invalid username or password."));
}

#[tokio::test]
async fn many_failures_from_one_ip_lock_that_ip_across_users() {
    let w = world().await;
    let token_url = w.app.endpoint(&w.realm, "token");
    // The password grant shares the brute-force accounting with the login page.
    let (_, secret) = w
        .app
        .create_client(
            &w.realm,
            serde_json::json!({ "clientId": "ropc", "directAccessGrantsEnabled": true }),
        )
        .await;
    let secret = secret.unwrap();
    for i in 0..30 {
        let user = format!("nobody{i}");
        let (status, _, body) = w
            .app
            .post_form(
                &token_url,
                Some(("ropc", &secret)),
                &[
                    ("grant_type", "password"),
                    ("username", &user),
                    ("password", "x"),
                ],
            )
            .await;
        assert_eq!(status, 400, "{body}");
    }
    let (status, _, body) = w
        .app
        .post_form(
            &token_url,
            Some(("ropc", &secret)),
            &[
                ("grant_type", "password"),
                ("username", &w.username),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        status, 400,
        "the IP is locked out even for a valid user: {body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("locked"),
        "{body}"
    );
}
