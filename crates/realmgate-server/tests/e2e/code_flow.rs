//! The authorization code flow driven by an RP library we did not write (`openidconnect`):
//! discovery → authorize (PKCE, nonce, state) → login form → code → ID token verified against
//! the JWKS → userinfo → refresh rotation → revoke → introspect inactive; and its negative siblings.

use crate::support::*;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};
use realmgate_testkit::Browser;

fn rp_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn openidconnect_rp_full_code_flow_with_refresh_revoke_and_introspection() {
    let w = world().await;
    let http = rp_http();
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(w.app.issuer(&w.realm)).unwrap(),
        &http,
    )
    .await
    .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(w.client_id.clone()),
        Some(ClientSecret::new(w.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = Browser::new();
    let page = login(&browser, &w.app.url, url.as_str(), &w.username, PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let q = query(page.location.as_deref().unwrap());
    assert_eq!(q.get("state"), Some(state.secret()));
    assert_eq!(
        q.get("iss"),
        Some(&w.app.issuer(&w.realm)),
        "RFC 9207 iss parameter"
    );

    let tokens = client
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("id_token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token verifies against the JWKS");
    assert_eq!(claims.subject().as_str(), w.user_id);
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some("alice")
    );
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    let expected = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected);

    // The access token is an RFC 9068 JWT with Keycloak-shaped claims.
    let (header, at) = realmgate_testkit::jwt_parts(tokens.access_token().secret());
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(at["azp"], w.client_id.as_str());
    assert_eq!(at["preferred_username"], "alice");
    assert!(
        at["realm_access"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == &format!("default-roles-{}", w.realm))
    );
    assert!(at["sid"].is_string());
    assert!(at["tenant_id"].is_string());
    assert_eq!(at["iss"], w.app.issuer(&w.realm));

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.subject().as_str(), w.user_id);

    // Refresh rotates; the old refresh token is then refused.
    let first_refresh = tokens.refresh_token().expect("refresh_token").clone();
    let refreshed = client
        .exchange_refresh_token(&first_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    let second_refresh = refreshed
        .refresh_token()
        .expect("rotated refresh token")
        .clone();
    assert_ne!(first_refresh.secret(), second_refresh.secret());

    // Revoke the new refresh token: it and the grant's access tokens become inactive.
    let (status, _, _) = w
        .app
        .post_form(
            &w.app.endpoint(&w.realm, "revoke"),
            Some((&w.client_id, &w.secret)),
            &[("token", second_refresh.secret())],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        introspect(&w, second_refresh.secret()).await,
        serde_json::json!({ "active": false })
    );
    assert_eq!(
        introspect(&w, refreshed.access_token().secret()).await["active"],
        false
    );
    let again = client
        .exchange_refresh_token(&RefreshToken::new(second_refresh.secret().clone()))
        .unwrap()
        .request_async(&http)
        .await;
    assert!(again.is_err(), "a revoked refresh token must not work");
}

#[tokio::test]
async fn rfc6749_4_1_2_reused_code_is_refused_and_revokes_its_tokens() {
    let w = world().await;
    let (verifier, challenge) = pkce();
    let code = code_for(&w, &Browser::new(), &challenge).await;
    let (status, first) = exchange(&w, &code, &verifier).await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(introspect(&w, access).await["active"], true);

    let (status, second) = exchange(&w, &code, &verifier).await;
    assert_eq!(
        (status, second["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        introspect(&w, access).await["active"],
        false,
        "replay revokes the first exchange's access token"
    );
    assert_eq!(
        introspect(&w, first["refresh_token"].as_str().unwrap()).await["active"],
        false
    );
}

#[tokio::test]
async fn rfc7636_wrong_verifier_is_invalid_grant() {
    let w = world().await;
    let (_, challenge) = pkce();
    let code = code_for(&w, &Browser::new(), &challenge).await;
    let (status, body) = exchange(&w, &code, &"x".repeat(64)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn rfc7636_plain_challenge_method_is_refused() {
    let w = world().await;
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&code_challenge={}&code_challenge_method=plain&state=s",
        w.app.endpoint(&w.realm, "auth"),
        w.client_id,
        urlencode(REDIRECT),
        "a".repeat(43)
    );
    let page = Browser::new().get(&url).await;
    assert_eq!(page.status, 303);
    let q = query(page.location.as_deref().unwrap());
    assert_eq!(q.get("error").map(String::as_str), Some("invalid_request"));
    assert_eq!(q.get("state").map(String::as_str), Some("s"));
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let w = world().await;
    let (verifier, challenge) = pkce();
    let code = code_for(&w, &Browser::new(), &challenge).await;
    w.app.clock.advance(120);
    let (status, body) = exchange(&w, &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[tokio::test]
async fn redirect_uri_mismatch_shows_an_error_page_and_never_redirects() {
    let w = world().await;
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s",
        w.app.endpoint(&w.realm, "auth"),
        w.client_id,
        urlencode("https://evil.example/cb")
    );
    let page = Browser::new().get(&url).await;
    assert_eq!(page.status, 400);
    assert!(
        page.location.is_none(),
        "must not redirect to an unregistered URI"
    );
    assert!(
        page.body.contains("Invalid parameter: redirect_uri"),
        "{}",
        page.body
    );
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn realm_a_client_is_unknown_at_realm_b() {
    let w = world().await;
    let other = w.app.create_realm("other").await;
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid",
        w.app.endpoint(&other, "auth"),
        w.client_id,
        urlencode(REDIRECT)
    );
    let page = Browser::new().get(&url).await;
    assert_eq!(page.status, 400);
    assert!(page.location.is_none());
    assert!(page.body.contains("Client not found"), "{}", page.body);
    // And its secret does not authenticate there either.
    let (status, headers, body) = w
        .app
        .post_form(
            &w.app.endpoint(&other, "token"),
            Some((&w.client_id, &w.secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_whole_family() {
    let w = world().await;
    let (verifier, challenge) = pkce();
    let code = code_for(&w, &Browser::new(), &challenge).await;
    let (_, tokens) = exchange(&w, &code, &verifier).await;
    let r1 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |rt: String| {
        let w = &w;
        async move {
            w.app
                .post_form(
                    &w.app.endpoint(&w.realm, "token"),
                    Some((&w.client_id, &w.secret)),
                    &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
                )
                .await
        }
    };
    let (status, _, t2) = refresh(r1.clone()).await;
    assert_eq!(status, 200, "{t2}");
    let r2 = t2["refresh_token"].as_str().unwrap().to_owned();
    let (status, _, reuse) = refresh(r1).await;
    assert_eq!(
        (status, reuse["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The attacker's replay burned the legitimate holder's newer token too.
    let (status, _, after) = refresh(r2).await;
    assert_eq!(
        (status, after["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        introspect(&w, t2["access_token"].as_str().unwrap()).await["active"],
        false
    );
}

#[tokio::test]
async fn public_client_code_flow_needs_pkce() {
    let w = world().await;
    let (verifier, challenge) = pkce();
    let browser = Browser::new();
    let page = login(
        &browser,
        &w.app.url,
        &auth_url(&w, &w.public_id, &challenge, ""),
        &w.username,
        PASSWORD,
    )
    .await;
    let code = query(page.location.as_deref().unwrap())["code"].clone();
    let token_url = w.app.endpoint(&w.realm, "token");
    let (status, _, body) = w
        .app
        .post_form(
            &token_url,
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &w.public_id),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "missing verifier"
    );
    // The failed attempt consumed the code; a new one with the verifier works.
    let page = browser
        .get(&auth_url(&w, &w.public_id, &challenge, ""))
        .await;
    assert_eq!(page.status, 303, "SSO session reused: {}", page.body);
    let code = query(page.location.as_deref().unwrap())["code"].clone();
    let (status, _, body) = w
        .app
        .post_form(
            &token_url,
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &w.public_id),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn response_mode_form_post_and_fragment() {
    let w = world().await;
    let (_, challenge) = pkce();
    let browser = Browser::new();
    let page = login(
        &browser,
        &w.app.url,
        &auth_url(&w, &w.client_id, &challenge, "&response_mode=form_post"),
        &w.username,
        PASSWORD,
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"code\""), "{}", page.body);
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("nonce-")
    );
    let page = browser
        .get(&auth_url(
            &w,
            &w.client_id,
            &challenge,
            "&response_mode=fragment",
        ))
        .await;
    assert_eq!(page.status, 303);
    assert!(page.location.unwrap().contains("#code="));
}

/// RFC 6749 §6: a refresh may ask for less than the original grant, never more. A refused
/// refresh rolls its rotation back, so the presented token still works.
#[tokio::test]
async fn rfc6749_6_refresh_narrows_scope_and_a_refused_refresh_changes_nothing() {
    let w = world().await;
    let (verifier, challenge) = pkce();
    let browser = realmgate_testkit::Browser::new();
    let code = code_for(&w, &browser, &challenge).await;
    let (status, tokens) = exchange(&w, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let original: std::collections::BTreeSet<&str> =
        tokens["scope"].as_str().unwrap().split(' ').collect();
    assert!(original.contains("email"), "{original:?}");
    let refresh = |token: String, scope: Option<&'static str>| {
        let w = &w;
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
            ];
            if let Some(s) = scope {
                form.push(("scope", s));
            }
            let (status, _, body) = w
                .app
                .post_form(
                    &w.app.endpoint(&w.realm, "token"),
                    Some((&w.client_id, &w.secret)),
                    &form,
                )
                .await;
            (status, body)
        }
    };
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    // More than the original grant: refused, and the token is not spent.
    let (status, body) = refresh(first.clone(), Some("openid address")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    // Less: the new tokens carry only what was asked (plus the client's defaults that were granted).
    let (status, narrowed) = refresh(first.clone(), Some("openid")).await;
    assert_eq!(status, 200, "{narrowed}");
    let scope = narrowed["scope"].as_str().unwrap();
    assert!(scope.split(' ').any(|s| s == "openid"), "{scope}");
    let (_, claims) = realmgate_testkit::jwt_parts(narrowed["access_token"].as_str().unwrap());
    assert_eq!(claims["scope"].as_str(), Some(scope));
    // The successor keeps the narrowed scope when refreshed without one.
    let (status, next) =
        refresh(narrowed["refresh_token"].as_str().unwrap().to_owned(), None).await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["scope"].as_str(), Some(scope));
    // The first token was spent by the successful narrowing: presenting it again is reuse.
    let (status, body) = refresh(first, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}
