//! Client authentication and the non-browser grants (RFC 6749 §2.3, §4.3, §4.4, §5.2; RFC 7523).

use crate::support::*;
use realmgate_testkit::jwt_parts;
use reqwest::Method;
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

/// A client-credentials request of `client` with `scope` (none: the default grant): the JSON
/// response, the token's header and its claims.
async fn cc(
    w: &World,
    client: (&str, &str),
    scope: Option<&str>,
) -> (serde_json::Value, serde_json::Value, serde_json::Value) {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend(scope.map(|s| ("scope", s)));
    let (status, _, body) = w
        .app
        .post_form(&w.app.endpoint(&w.realm, "token"), Some(client), &form)
        .await;
    assert_eq!(status, 200, "{body}");
    let (header, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    (body, header, claims)
}

/// The claims without the ones a token gets per issue.
fn lasting(mut claims: serde_json::Value) -> serde_json::Value {
    for name in ["exp", "iat", "auth_time", "jti"] {
        claims.as_object_mut().unwrap().remove(name);
    }
    claims
}

/// The default grant (no `scope`) signs claims rendered once per cached client
/// (`token::cc_memo`): they are what the general path mints for the same grant, and they follow
/// changes to the service account's roles, the realm and the client at once.
#[tokio::test]
async fn the_default_client_credentials_grant_matches_the_general_path_and_follows_changes() {
    let w = world().await;
    let (id, secret) = w
        .app
        .create_client(
            &w.realm,
            json!({ "clientId": "reports", "serviceAccountsEnabled": true }),
        )
        .await;
    let secret = secret.unwrap();
    let client = ("reports", secret.as_str());

    // The first builds the memo, the second uses it; a `scope` takes the general path. `profile`
    // is one of the default scopes, so the grant is the same.
    let (_, _, first) = cc(&w, client, None).await;
    let (body, header, memo) = cc(&w, client, None).await;
    let (general_body, general_header, general) = cc(&w, client, Some("profile")).await;
    assert_eq!(lasting(memo.clone()), lasting(general.clone()));
    assert_eq!(lasting(first.clone()), lasting(memo.clone()));
    assert_eq!(header, general_header);
    assert_eq!(
        (&body["scope"], &body["expires_in"]),
        (&general_body["scope"], &general_body["expires_in"])
    );
    assert_eq!(
        memo["exp"].as_i64().unwrap() - memo["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(memo["auth_time"], memo["iat"]);
    assert_ne!(first["jti"], memo["jti"]);
    assert!(memo["realm_access"]["roles"].is_array(), "{memo}");
    let info = introspect(&w, body["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (info["active"].as_bool(), info["client_id"].as_str()),
        (Some(true), Some("reports"))
    );

    // A realm role mapped to the service account appears in the next token.
    let (status, _, body) = w
        .app
        .admin(
            Method::POST,
            &format!("/{}/roles", w.realm),
            Some(json!({ "name": "reports-reader" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, _, role) = w
        .app
        .admin(
            Method::GET,
            &format!("/{}/roles/reports-reader", w.realm),
            None,
        )
        .await;
    let (_, _, sa) = w
        .app
        .admin(
            Method::GET,
            &format!("/{}/clients/{id}/service-account-user", w.realm),
            None,
        )
        .await;
    let (status, _, body) = w
        .app
        .admin(
            Method::POST,
            &format!(
                "/{}/users/{}/role-mappings/realm",
                w.realm,
                sa["id"].as_str().unwrap()
            ),
            Some(json!([{ "id": role["id"], "name": "reports-reader" }])),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, _, claims) = cc(&w, client, None).await;
    let roles = claims["realm_access"]["roles"].as_array().unwrap();
    assert!(roles.contains(&json!("reports-reader")), "{claims}");
    let (_, _, general) = cc(&w, client, Some("profile")).await;
    assert_eq!(lasting(claims), lasting(general));

    // The realm's access-token lifespan, then the client's signature algorithm.
    let (status, _, body) = w
        .app
        .admin(
            Method::PUT,
            &format!("/{}", w.realm),
            Some(json!({ "accessTokenLifespan": 120 })),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (body, _, claims) = cc(&w, client, None).await;
    assert_eq!(body["expires_in"], 120);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    let (status, _, body) = w
        .app
        .admin(
            Method::PUT,
            &format!("/{}/clients/{id}", w.realm),
            Some(json!({ "attributes": { "access.token.signed.response.alg": "ES256" } })),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, header, _) = cc(&w, client, None).await;
    assert_eq!(header["alg"], "ES256");
}
