//! A token presented again is served from what its first use cached (`realmgate_app::verified`):
//! its userinfo body, its introspection body and that it is live. These prove that a change in
//! between is seen at once: a user update, a logout, disabling the user.

use crate::support::*;
use realmgate_testkit::Browser;
use serde_json::json;

async fn userinfo(w: &World, token: &str) -> (u16, serde_json::Value) {
    let resp = w
        .app
        .http
        .get(w.app.endpoint(&w.realm, "userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// A user's access token from the code flow, with `profile`.
async fn access_token(w: &World) -> String {
    let (verifier, challenge) = pkce();
    let code = code_for(w, &Browser::new(), &challenge).await;
    let (status, tokens) = exchange(w, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    tokens["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_reused_token_sees_user_changes_and_logout_at_once() {
    let w = world().await;
    let at = access_token(&w).await;
    for _ in 0..3 {
        let (status, body) = userinfo(&w, &at).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["preferred_username"], w.username.as_str());
        assert_eq!(body["given_name"], "Test", "{body}");
        assert_eq!(introspect(&w, &at).await["active"], true);
    }

    // Renamed: the next userinfo has the new name.
    let path = format!("/{}/users/{}", w.realm, w.user_id);
    let (status, _, body) = w
        .app
        .admin(
            reqwest::Method::PUT,
            &path,
            Some(json!({ "firstName": "Zed" })),
        )
        .await;
    assert!(status < 300, "{status} {body}");
    let (status, body) = userinfo(&w, &at).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["given_name"], "Zed");

    // Logged out everywhere: the token is inactive at once, for both endpoints.
    let (status, _, body) = w
        .app
        .admin(reqwest::Method::POST, &format!("{path}/logout"), None)
        .await;
    assert!(status < 300, "{status} {body}");
    assert_eq!(introspect(&w, &at).await["active"], false);
    assert_eq!(userinfo(&w, &at).await.0, 401);

    // Disabled (which also ends the user's sessions): a new token, used and then refused.
    let at = access_token(&w).await;
    assert_eq!(userinfo(&w, &at).await.0, 200);
    assert_eq!(introspect(&w, &at).await["active"], true);
    let (status, _, body) = w
        .app
        .admin(
            reqwest::Method::PUT,
            &path,
            Some(json!({ "enabled": false })),
        )
        .await;
    assert!(status < 300, "{status} {body}");
    assert_eq!(userinfo(&w, &at).await.0, 401);
    assert_eq!(introspect(&w, &at).await["active"], false);
}
