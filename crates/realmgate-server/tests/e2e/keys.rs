//! Signing keys: RS256 by default, ES256 and EdDSA per client or realm, rotation with overlap.

use crate::support::*;
use realmgate_testkit::jwt_parts;
use serde_json::json;

async fn jwks(w: &World) -> Vec<realmgate_crypto::VerifyingKey> {
    let doc: serde_json::Value = w
        .app
        .http
        .get(w.app.endpoint(&w.realm, "certs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| realmgate_crypto::VerifyingKey::from_jwk(k).unwrap())
        .collect()
}

/// A confidential client with service accounts whose access tokens are signed with `alg`: its
/// clientId and secret.
async fn service_client(w: &World, alg: &str) -> (String, String) {
    let cid = format!("svc-{}", alg.to_lowercase());
    let (_, secret) = w
        .app
        .create_client(&w.realm, json!({ "clientId": cid, "serviceAccountsEnabled": true, "attributes": { "access.token.signed.response.alg": alg } }))
        .await;
    (cid, secret.unwrap())
}

#[tokio::test]
async fn es256_and_eddsa_access_tokens_per_client_verify_against_the_jwks() {
    let w = world().await;
    for alg in ["ES256", "EdDSA"] {
        let (cid, secret) = service_client(&w, alg).await;
        let (status, _, body) = w
            .app
            .post_form(
                &w.app.endpoint(&w.realm, "token"),
                Some((&cid, &secret)),
                &[("grant_type", "client_credentials")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(jwt_parts(token).0["alg"], alg);
        realmgate_crypto::verify_jwt(token, &jwks(&w).await)
            .expect("verifies with the published JWKS");
    }
}

/// A new realm's first requests race to create its keys: JWKS reads (RS256, the realm default)
/// and ES256 and EdDSA tokens at once. Every one answers, and every token verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_realms_first_tokens_and_jwks_reads_in_parallel_all_succeed() {
    let w = world().await;
    let clients = [
        service_client(&w, "ES256").await,
        service_client(&w, "EdDSA").await,
    ];
    let token_url = w.app.endpoint(&w.realm, "token");
    let certs_url = w.app.endpoint(&w.realm, "certs");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let http = w.app.http.clone();
        let (token_url, certs_url) = (token_url.clone(), certs_url.clone());
        let (cid, secret) = clients[i % 2].clone();
        tasks.spawn(async move {
            if i % 3 == 0 {
                let r = http.get(&certs_url).send().await.unwrap();
                let status = r.status().as_u16();
                (status, None, r.text().await.unwrap())
            } else {
                let r = http
                    .post(&token_url)
                    .basic_auth(&cid, Some(&secret))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap();
                let token = body["access_token"].as_str().map(str::to_owned);
                (status, token, body.to_string())
            }
        });
    }
    let mut tokens = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (status, token, body) = done.unwrap();
        assert_eq!(status, 200, "{body}");
        tokens.extend(token);
    }
    assert_eq!(tokens.len(), 16);
    let keys = jwks(&w).await;
    for t in &tokens {
        realmgate_crypto::verify_jwt(t, &keys).expect("verifies with the published JWKS");
    }
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_and_publishes_next() {
    let w = world().await;
    let token_url = w.app.endpoint(&w.realm, "token");
    let (_, _, before) = w
        .app
        .post_form(
            &token_url,
            Some((&w.client_id, &w.secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let old = before["access_token"].as_str().unwrap().to_owned();
    let old_kid = jwt_parts(&old).0["kid"].clone();
    let (status, _, body) = w
        .app
        .admin(
            reqwest::Method::POST,
            &format!("/{}/keys/rotate?alg=RS256", w.realm),
            None,
        )
        .await;
    assert!(status == 204 || status == 200, "rotate: {status} {body}");
    let keys = jwks(&w).await;
    assert!(
        keys.len() >= 3,
        "retired + active + next are published, got {}",
        keys.len()
    );
    let (_, _, after) = w
        .app
        .post_form(
            &token_url,
            Some((&w.client_id, &w.secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let new = after["access_token"].as_str().unwrap();
    assert_ne!(
        jwt_parts(new).0["kid"],
        old_kid,
        "new tokens use the new active key"
    );
    assert_eq!(
        introspect(&w, &old).await["active"],
        true,
        "tokens signed before the rotation still verify"
    );
}

#[tokio::test]
async fn discovery_is_exact_and_cacheable() {
    let w = world().await;
    let url = format!(
        "{}/.well-known/openid-configuration",
        w.app.issuer(&w.realm)
    );
    let resp = w.app.http.get(&url).send().await.unwrap();
    let etag = resp.headers()["etag"].clone();
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let doc: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(doc["issuer"], w.app.issuer(&w.realm));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    let again = w
        .app
        .http
        .get(&url)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let rfc8414 = w
        .app
        .http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            w.app.issuer(&w.realm)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(rfc8414.status(), 200);
}
