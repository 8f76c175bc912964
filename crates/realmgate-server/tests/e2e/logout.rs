//! RP-initiated logout.

use crate::support::*;
use realmgate_testkit::{Browser, find_form};

#[tokio::test]
async fn logout_with_id_token_hint_redirects_and_ends_the_session() {
    let w = world().await;
    let (verifier, challenge) = pkce();
    let browser = Browser::new();
    let page = login(
        &browser,
        &w.app.url,
        &auth_url(&w, &w.client_id, &challenge, ""),
        &w.username,
        PASSWORD,
    )
    .await;
    let code = query(page.location.as_deref().unwrap())["code"].clone();
    let (_, tokens) = exchange(&w, &code, &verifier).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    // Seen live first, so the node caches the token's state: logout must drop it.
    assert_eq!(
        introspect(&w, tokens["access_token"].as_str().unwrap()).await["active"],
        true
    );

    let url = format!(
        "{}?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye1",
        w.app.endpoint(&w.realm, "logout"),
        urlencode("http://127.0.0.1:9/bye")
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        page.location.as_deref(),
        Some("http://127.0.0.1:9/bye?state=bye1")
    );
    assert_eq!(
        introspect(&w, tokens["access_token"].as_str().unwrap()).await["active"],
        false
    );
    assert_eq!(
        introspect(&w, tokens["refresh_token"].as_str().unwrap()).await["active"],
        false
    );
    let page = browser
        .get(&auth_url(&w, &w.client_id, &challenge, ""))
        .await;
    assert_eq!(
        page.status, 200,
        "after logout the login page is shown again"
    );
}

#[tokio::test]
async fn unregistered_post_logout_redirect_is_refused() {
    let w = world().await;
    let url = format!(
        "{}?client_id={}&post_logout_redirect_uri={}",
        w.app.endpoint(&w.realm, "logout"),
        w.client_id,
        urlencode("https://evil.example/")
    );
    let page = Browser::new().get(&url).await;
    assert_eq!(page.status, 400);
    assert!(page.location.is_none());
}

#[tokio::test]
async fn logout_without_hint_asks_for_confirmation() {
    let w = world().await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    login(
        &browser,
        &w.app.url,
        &auth_url(&w, &w.client_id, &challenge, ""),
        &w.username,
        PASSWORD,
    )
    .await;
    let page = browser.get(&w.app.endpoint(&w.realm, "logout")).await;
    assert_eq!(page.status, 200);
    let form = find_form(&page.body, "kc-logout-form", &w.app.url).expect("confirmation form");
    let done = browser.submit(&form, &[]).await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("logged out"), "{}", done.body);
    assert_eq!(
        browser
            .get(&auth_url(&w, &w.client_id, &challenge, "&prompt=none"))
            .await
            .location
            .map(|l| query(&l).contains_key("error")),
        Some(true)
    );
}
