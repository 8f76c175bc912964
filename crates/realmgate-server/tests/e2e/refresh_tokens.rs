//! Refresh tokens as family generations, through the token, introspection and revocation
//! endpoints: a token altered by one bit is refused, a token of another realm is refused, and a
//! token stored before generations (a hashed `refresh_tokens` row) is still honoured, rotates into
//! a generation token once, and its replay revokes the family.

use crate::support::*;
use realmgate_store::domain::{FamilyId, RefreshToken, SessionId, TokenFamily};
use realmgate_store::testing::family_before_generations;
use realmgate_testkit::{Browser, jwt_parts};
use serde_json::Value;

async fn refresh(w: &World, rt: &str) -> (u16, Value) {
    let (status, _, body) = w
        .app
        .post_form(
            &w.app.endpoint(&w.realm, "token"),
            Some((&w.client_id, &w.secret)),
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
    (status, body)
}

async fn signed_in(w: &World) -> Value {
    let (verifier, challenge) = pkce();
    let code = code_for(w, &Browser::new(), &challenge).await;
    let (status, tokens) = exchange(w, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

#[tokio::test]
async fn an_altered_or_foreign_refresh_token_is_refused_and_changes_nothing() {
    let w = world().await;
    let tokens = signed_in(&w).await;
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    // Flip one character of the MAC part.
    let mut altered = rt.clone().into_bytes();
    let last = altered.len() - 2;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let (status, body) = refresh(&w, &altered).await;
    assert_eq!(
        (
            status,
            body["error"].as_str(),
            body["error_description"].as_str()
        ),
        (400, Some("invalid_grant"), Some("Invalid refresh token"))
    );
    assert_eq!(introspect(&w, &altered).await["active"], false);
    // Revoking an altered token is a no-op (RFC 7009 §2.2): the real one still works.
    let (status, _, _) = w
        .app
        .post_form(
            &w.app.endpoint(&w.realm, "revoke"),
            Some((&w.client_id, &w.secret)),
            &[
                ("token", altered.as_str()),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    assert_eq!(status, 200);

    // The same token presented to another realm of this server, by a client of the same name.
    let other = w.app.create_realm("other").await;
    let (_, secret) = w
        .app
        .create_client(
            &other,
            serde_json::json!({ "clientId": w.client_id, "publicClient": false,
                "standardFlowEnabled": true, "redirectUris": [REDIRECT] }),
        )
        .await;
    let (status, _, body) = w
        .app
        .post_form(
            &w.app.endpoint(&other, "token"),
            Some((&w.client_id, secret.as_deref().unwrap())),
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    let (status, body) = refresh(&w, &rt).await;
    assert_eq!(status, 200, "the genuine token still rotates: {body}");
    assert_eq!(introspect(&w, &rt).await["active"], false, "rotated away");
    let next = body["refresh_token"].as_str().unwrap();
    let active = introspect(&w, next).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["token_type"], "Refresh");
    assert_eq!(active["sub"], w.user_id.as_str());
    assert_eq!(active["client_id"], w.client_id.as_str());
    assert_eq!(
        active["exp"].as_i64().unwrap() - active["iat"].as_i64().unwrap(),
        body["refresh_expires_in"].as_i64().unwrap()
    );
}

#[tokio::test]
async fn a_refresh_token_stored_before_generations_is_honoured_once_then_reuse_revokes() {
    let w = world().await;
    let tokens = signed_in(&w).await;
    let sid = SessionId(tokens["session_state"].as_str().unwrap().to_owned());
    let now = w.app.clock_now();

    // Write a grant the way it was stored before generations: a family at generation 0 and a
    // hashed token row.
    let store = realmgate_store::Store::open(&w.app.database_url, 2)
        .await
        .unwrap();
    let realm = {
        let mut sys = store.system().await.unwrap();
        let r = sys.realm_by_name(&w.realm).await.unwrap().unwrap();
        sys.commit().await.unwrap();
        r
    };
    let legacy_raw = realmgate_crypto::random_token(32);
    let family = FamilyId::new();
    let mut tx = store.realm(&realm.id).await.unwrap();
    let client = tx.client_by_client_id(&w.client_id).await.unwrap().unwrap();
    let user = realmgate_store::domain::UserId(w.user_id.clone());
    tx.insert_family(&family_before_generations(TokenFamily {
        id: family.clone(),
        client: client.id.clone(),
        user_id: user.clone(),
        session_id: Some(sid.clone()),
        scope: "openid".to_owned(),
        auth_time: now,
        amr: vec!["pwd".to_owned()],
        generation: 1,
        issued_at: now,
        idle_expires_at: now + 1_800,
        expires_at: now + 36_000,
        revoked_at: None,
    }))
    .await
    .unwrap();
    tx.insert_refresh(&RefreshToken {
        token_hash: realmgate_crypto::token_hash(&legacy_raw),
        family_id: family.clone(),
        client: client.id.clone(),
        user_id: user,
        session_id: Some(sid),
        scope: "openid profile".into(),
        auth_time: now,
        amr: vec!["pwd".into()],
        issued_at: now,
        expires_at: now + 1800,
        rotated_at: None,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    store.close().await;

    let before = introspect(&w, &legacy_raw).await;
    assert_eq!(before["active"], true, "{before}");
    assert_eq!(before["scope"], "openid profile");

    let (status, body) = refresh(&w, &legacy_raw).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "openid profile", "the stored grant's scope");
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(
        next.len(),
        legacy_raw.len(),
        "the successor is a generation token"
    );
    assert_eq!(introspect(&w, &legacy_raw).await["active"], false);
    assert_eq!(introspect(&w, &next).await["active"], true);

    // The successor rotates like any generation token.
    let (status, body) = refresh(&w, &next).await;
    assert_eq!(status, 200, "{body}");
    let newest = body["refresh_token"].as_str().unwrap().to_owned();

    // Replaying the old stored token is reuse: the whole family goes.
    let (status, body) = refresh(&w, &legacy_raw).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = refresh(&w, &newest).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert_eq!(introspect(&w, &newest).await["active"], false);
}

#[tokio::test]
async fn a_refresh_keeps_the_sso_session_alive_and_disabling_the_user_ends_the_grant() {
    let w = world().await;
    let browser = Browser::new();
    let (verifier, challenge) = pkce();
    let code = code_for(&w, &browser, &challenge).await;
    let (status, tokens) = exchange(&w, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let (_, first_claims) = jwt_parts(tokens["id_token"].as_str().unwrap());
    // Near the end of the SSO session's idle timeout (1,800 s), a refresh is activity.
    w.app.clock.advance(1_700);
    let (status, body) = refresh(&w, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (_, claims) = jwt_parts(body["id_token"].as_str().unwrap());
    assert_eq!(claims["sid"], first_claims["sid"], "same session: {claims}");
    assert_eq!(body["session_state"], first_claims["sid"]);
    assert_eq!(claims["sub"], w.user_id.as_str());
    // 1,900 s after sign-in but 200 s after the refresh, the browser is still signed in.
    w.app.clock.advance(200);
    let page = browser
        .get(&auth_url(&w, &w.client_id, &challenge, ""))
        .await;
    assert_eq!(page.status, 303, "SSO session kept alive: {}", page.body);

    // Disabling the user ends their sessions and so the grant, for good.
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    for enabled in [false, true] {
        let (status, _, _) = w
            .app
            .admin(
                reqwest::Method::PUT,
                &format!("/{}/users/{}", w.realm, w.user_id),
                Some(serde_json::json!({ "enabled": enabled })),
            )
            .await;
        assert_eq!(status, 204);
        let (status, body) = refresh(&w, &rt).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "enabled {enabled}: {body}"
        );
        assert_eq!(introspect(&w, &rt).await["active"], false);
    }
}
