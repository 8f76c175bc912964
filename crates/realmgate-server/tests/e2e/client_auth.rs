//! Client authentication and the non-browser grants (RFC 6749 §2.3, §4.3, §4.4, §5.2; RFC 7523).

use crate::support::*;
use realmgate_testkit::jwt_parts;
use serde_json::json;

#[tokio::test]
async fn client_credentials_with_basic_and_post() {
    let w = world().await;
    let token_url = w.app.endpoint(&w.realm, "token");
    let (status, headers, body) = w
        .app
        .post_form(
            &token_url,
            Some((&w.client_id, &w.secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(body.get("refresh_token").is_none());
    let (header, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["azp"], "webapp");
    assert_eq!(claims["preferred_username"], "service-account-webapp");
    let (status, _, body) = w
        .app
        .post_form(
            &token_url,
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &w.client_id),
                ("client_secret", &w.secret),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let info = introspect(&w, body["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (info["active"].as_bool(), info["client_id"].as_str()),
        (Some(true), Some("webapp"))
    );
}

#[tokio::test]
async fn rfc6749_5_2_error_responses() {
    let w = world().await;
    let token_url = w.app.endpoint(&w.realm, "token");
    let (status, headers, body) = w
        .app
        .post_form(
            &token_url,
            Some((&w.client_id, "wrong")),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let (status, _, body) = w
        .app
        .post_form(
            &token_url,
            Some((&w.client_id, &w.secret)),
            &[("grant_type", "urn:nope")],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, _, body) = w
        .app
        .post_form(&token_url, Some((&w.client_id, &w.secret)), &[])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _, body) = w
        .app
        .post_form(
            &token_url,
            Some((&w.client_id, &w.secret)),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "ROPC only for clients that enable it"
    );
    let (status, _, body) = w
        .app
        .post_form(
            &token_url,
            Some((&w.client_id, &w.secret)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "admin:everything"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let resp = w
        .app
        .http
        .post(&token_url)
        .basic_auth(&w.client_id, Some(&w.secret))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "JSON bodies are not OAuth requests");
    let (status, _, body) = w
        .app
        .post_form(
            &token_url,
            Some((&w.client_id, &w.secret)),
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "repeated parameters"
    );
}

#[tokio::test]
async fn admin_cli_password_grant_and_userinfo_errors() {
    let w = world().await;
    let token = w.app.admin_token().await;
    let (_, claims) = jwt_parts(&token);
    assert!(
        claims["realm_access"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "admin")
    );
    let resp = w
        .app
        .http
        .get(w.app.endpoint(&w.realm, "userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    // A master-realm token is not valid at another realm's userinfo.
    let resp = w
        .app
        .http
        .get(w.app.endpoint(&w.realm, "userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn rfc7523_private_key_jwt_client_authentication() {
    let w = world().await;
    let key = realmgate_crypto::SigningKey::generate(realmgate_crypto::SigAlg::ES256, "k1".into())
        .unwrap();
    let jwks = json!({ "keys": [key.public_jwk()] }).to_string();
    w.app
        .create_client(
            &w.realm,
            json!({ "clientId": "jwt-client", "clientAuthenticatorType": "client-jwt", "serviceAccountsEnabled": true,
                    "attributes": { "use.jwks.string": "true", "jwks.string": jwks } }),
        )
        .await;
    let token_url = w.app.endpoint(&w.realm, "token");
    let now = w.app.clock_now();
    let assertion = |jti: &str| {
        key.sign_jwt(Some("JWT"), &json!({ "iss": "jwt-client", "sub": "jwt-client", "aud": token_url, "jti": jti, "exp": now + 60, "iat": now }))
            .unwrap()
    };
    let a1 = assertion("one");
    let form = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", a1.as_str()),
    ];
    let (status, _, body) = w.app.post_form(&token_url, None, &form).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = w.app.post_form(&token_url, None, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "a replayed assertion is refused"
    );
    let other =
        realmgate_crypto::SigningKey::generate(realmgate_crypto::SigAlg::ES256, "k1".into())
            .unwrap();
    let forged = other
        .sign_jwt(Some("JWT"), &json!({ "iss": "jwt-client", "sub": "jwt-client", "aud": token_url, "jti": "two", "exp": now + 60 }))
        .unwrap();
    let (status, _, _) = w
        .app
        .post_form(
            &token_url,
            None,
            &[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &forged),
            ],
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_disabled_realm_issues_no_tokens() {
    let w = world().await;
    let token_url = w.app.endpoint(&w.realm, "token");
    let form = [("grant_type", "client_credentials")];
    let (status, _, _) = w
        .app
        .post_form(&token_url, Some((&w.client_id, &w.secret)), &form)
        .await;
    assert_eq!(status, 200);
    let (status, _, body) = w
        .app
        .admin(
            reqwest::Method::PUT,
            &format!("/{}", w.realm),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, _, body) = w
        .app
        .post_form(&token_url, Some((&w.client_id, &w.secret)), &form)
        .await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("Realm not enabled"))
    );
}
