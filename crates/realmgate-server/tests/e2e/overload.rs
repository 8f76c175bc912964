//! A login flood meets a bounded queue: excess logins get 503 + Retry-After at once instead of
//! waiting without bound, and the runtime keeps serving other requests meanwhile.

use crate::support::PASSWORD;
use realmgate_testkit::TestApp;
use serde_json::json;

#[tokio::test]
async fn password_pool_overflow_is_503_with_retry_after() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.passwords.max_concurrent = Some(1);
        cfg.passwords.max_queue = 1;
    })
    .await;
    let realm = app.create_realm("flood").await;
    let (_, secret) = app
        .create_client(
            &realm,
            json!({ "clientId": "ropc", "directAccessGrantsEnabled": true }),
        )
        .await;
    let secret = secret.unwrap();
    app.create_user(&realm, "flo", PASSWORD).await;
    let url = app.endpoint(&realm, "token");
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let http = app.http.clone();
        let (url, secret) = (url.clone(), secret.clone());
        tasks.push(tokio::spawn(async move {
            let resp = http
                .post(&url)
                .basic_auth("ropc", Some(&secret))
                .form(&[
                    ("grant_type", "password"),
                    ("username", "flo"),
                    ("password", PASSWORD),
                ])
                .send()
                .await
                .unwrap();
            (
                resp.status().as_u16(),
                resp.headers().get("retry-after").is_some(),
            )
        }));
    }
    // Meanwhile cached endpoints still answer promptly.
    let started = std::time::Instant::now();
    let jwks = app
        .http
        .get(app.endpoint(&realm, "certs"))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "runtime starved: {:?}",
        started.elapsed()
    );
    let mut ok = 0;
    let mut busy = 0;
    for t in tasks {
        match t.await.unwrap() {
            (200, _) => ok += 1,
            (503, true) => busy += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(ok >= 1, "some logins succeed");
    assert!(
        busy >= 1,
        "the overflow is refused with 503 + Retry-After ({ok} ok)"
    );
}
