//! Keycloak's hashed credential import in the admin API: `POST /users` with
//! `credentials: [{type: password, secretData, credentialData}]` stores an argon2id PHC string as
//! it is; logins verify against it; anything else is a 400 problem+json.

use realmgate_crypto::{PasswordParams, hash_password_blocking};
use realmgate_testkit::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

const PASSWORD: &str = "imported-Passw0rd";

fn hashed(phc: &str, algorithm: &str) -> Value {
    json!({
        "type": "password",
        "secretData": json!({ "value": phc, "salt": "", "additionalParameters": {} }).to_string(),
        "credentialData": json!({
            "hashIterations": 2, "algorithm": algorithm,
            "additionalParameters": { "type": ["id"], "version": ["1.3"] }
        }).to_string(),
        "temporary": false
    })
}

async fn password_grant(app: &TestApp, realm: &str, secret: &str, user: &str, pw: &str) -> u16 {
    let (status, _, _) = app
        .post_form(
            &app.endpoint(realm, "token"),
            Some(("cli", secret)),
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", pw),
            ],
        )
        .await;
    status
}

/// POSTs a user; returns (status, content type, body).
async fn create(app: &TestApp, realm: &str, rep: Value) -> (u16, String, Value) {
    let resp = app
        .http
        .post(format!("{}/admin/realms/{realm}/users", app.url))
        .bearer_auth(app.admin_token().await)
        .json(&rep)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, ctype, body)
}

#[tokio::test]
async fn admin_imports_argon2id_hashes_and_logins_verify_against_them() {
    let app = TestApp::spawn().await;
    let realm = app.create_realm("imp").await;
    let (_, secret) = app
        .create_client(
            &realm,
            json!({ "clientId": "cli", "directAccessGrantsEnabled": true }),
        )
        .await;
    let secret = secret.unwrap();

    // At the server's parameters: stored as it is.
    let phc = hash_password_blocking(PasswordParams::default(), PASSWORD).unwrap();
    let (status, _, body) = create(
        &app,
        &realm,
        json!({ "username": "ann", "enabled": true, "credentials": [hashed(&phc, "argon2")] }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        password_grant(&app, &realm, &secret, "ann", PASSWORD).await,
        200
    );
    assert_eq!(
        password_grant(&app, &realm, &secret, "ann", "wrong-password").await,
        400,
        "invalid_grant"
    );

    // Weaker parameters: accepted, verified, and rehashed on the first login (which keeps
    // working afterwards).
    let weak = PasswordParams {
        m_cost: 1024,
        t_cost: 1,
        p_cost: 1,
    };
    let phc = hash_password_blocking(weak, PASSWORD).unwrap();
    let (status, _, body) = create(
        &app,
        &realm,
        json!({ "username": "bo", "credentials": [hashed(&phc, "argon2")] }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    for _ in 0..2 {
        assert_eq!(
            password_grant(&app, &realm, &secret, "bo", PASSWORD).await,
            200
        );
    }
    assert_eq!(
        password_grant(&app, &realm, &secret, "bo", "nope").await,
        400,
        "invalid_grant"
    );

    // Plain values keep being hashed by the server.
    let (status, _, body) = create(
        &app,
        &realm,
        json!({ "username": "cy", "credentials": [{ "type": "password", "value": PASSWORD }] }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        password_grant(&app, &realm, &secret, "cy", PASSWORD).await,
        200
    );

    // An update can import a hash too.
    let (_, _, users) = app
        .admin(
            Method::GET,
            &format!("/{realm}/users?username=cy&exact=true"),
            None,
        )
        .await;
    let cy = users[0]["id"].as_str().unwrap().to_owned();
    let other = hash_password_blocking(weak, "another-Passw0rd").unwrap();
    let (status, _, body) = app
        .admin(
            Method::PUT,
            &format!("/{realm}/users/{cy}"),
            Some(json!({ "credentials": [hashed(&other, "argon2")] })),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        password_grant(&app, &realm, &secret, "cy", "another-Passw0rd").await,
        200
    );
    assert_eq!(
        password_grant(&app, &realm, &secret, "cy", PASSWORD).await,
        400,
        "invalid_grant"
    );
}

#[tokio::test]
async fn admin_refuses_bad_credential_imports_with_problem_json() {
    let app = TestApp::spawn().await;
    let realm = app.create_realm("imp").await;
    let good = hash_password_blocking(
        PasswordParams {
            m_cost: 1024,
            t_cost: 1,
            p_cost: 1,
        },
        PASSWORD,
    )
    .unwrap();
    let cases = [
        (hashed("not-a-phc-string", "argon2"), "not a PHC string"),
        (
            hashed(&good.replace("$argon2id$", "$argon2i$"), "argon2"),
            "must be argon2id",
        ),
        (
            hashed(&good.replace("m=1024", "m=4000000"), "argon2"),
            "exceed the limits",
        ),
        (
            hashed(&good, "pbkdf2-sha256"),
            "'pbkdf2-sha256' is not supported",
        ),
        (
            json!({ "type": "password", "secretData": "{\"value\":\"x\"}" }),
            "go together",
        ),
    ];
    for (i, (cred, want)) in cases.into_iter().enumerate() {
        let (status, ctype, body) = create(
            &app,
            &realm,
            json!({ "username": format!("u{i}"), "credentials": [cred] }),
        )
        .await;
        assert_eq!(status, 400, "{want}: {body}");
        assert!(ctype.starts_with("application/problem+json"), "{ctype}");
        let msg = body["errorMessage"].as_str().unwrap_or_default();
        assert!(msg.contains(want), "{want}: {body}");
        assert!(
            !msg.contains(&good),
            "the error does not echo the hash: {msg}"
        );
    }
    // Nothing was created.
    let (_, _, count) = app
        .admin(Method::GET, &format!("/{realm}/users/count"), None)
        .await;
    assert_eq!(count, json!(0));
}
