//! `realmgate-testkit` starts the real server for tests: a fresh database (embedded SQLite or a
//! new Postgres database, chosen by `REALMGATE_TEST_STORE`), port 0 on loopback, a clock the test
//! can move, and helpers that drive the admin REST API and the browser login over real HTTP.
//! Every test builds its own world; nothing is shared between tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;

pub use browser::{Browser, Form, Page, find_form};

use anyhow::{Context, bail};
use realmgate_domain::{Clock, FixedClock};
use realmgate_server::{Config, Server};
use serde_json::{Value, json};
use std::sync::Arc;

/// A running Realmgate with its own store and clock.
pub struct TestApp {
    pub url: String,
    pub clock: FixedClock,
    pub admin_password: String,
    pub data_dir: std::path::PathBuf,
    pub database_url: String,
    pub http: reqwest::Client,
    server: Option<Server>,
}

impl TestApp {
    /// Starts a server on a fresh store of the backend named by `REALMGATE_TEST_STORE`.
    pub async fn spawn() -> TestApp {
        Self::try_spawn().await.expect("starting the test server")
    }

    /// Like [`TestApp::spawn`], letting the test adjust the configuration first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        Self::try_spawn_with(adjust)
            .await
            .expect("starting the test server")
    }

    pub async fn try_spawn() -> anyhow::Result<TestApp> {
        Self::try_spawn_with(|_| {}).await
    }

    pub async fn try_spawn_with(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<TestApp> {
        realmgate_server::install_crypto_provider();
        let data_dir = std::env::temp_dir()
            .join("realmgate-testkit")
            .join(uuid::Uuid::new_v4().to_string());
        std::fs::create_dir_all(&data_dir)?;
        let database_url = realmgate_store::testing::fresh_database_url()
            .await
            .map_err(|e| anyhow::anyhow!("creating the test database: {e}"))?;
        let admin_password = format!("Adm1n-{}", uuid::Uuid::new_v4().simple());
        let mut cfg = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: data_dir.clone(),
            database: realmgate_server::config::DatabaseConfig {
                url: Some(database_url.clone()),
                max_connections: Some(8),
                ..Default::default()
            },
            bootstrap: realmgate_server::config::BootstrapConfig {
                admin_username: "admin".into(),
                admin_password: Some(admin_password.clone()),
            },
            ..Config::default()
        };
        adjust(&mut cfg);
        // Real time, frozen until a test moves it.
        let clock = FixedClock::new(realmgate_domain::SystemClock.now());
        let (server, _) = Server::start(cfg, Arc::new(clock.clone()))
            .await
            .context("Server::start")?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(TestApp {
            url: server.public_url.clone(),
            clock,
            admin_password,
            data_dir,
            database_url,
            http,
            server: Some(server),
        })
    }

    /// The server's app, for benchmarks and tests that call use cases without HTTP.
    pub fn app(&self) -> &realmgate_app::App {
        &self
            .server
            .as_ref()
            .expect("the server runs until stop()")
            .app
    }

    pub fn clock_now(&self) -> i64 {
        self.clock.now()
    }

    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.url)
    }
    pub fn endpoint(&self, realm: &str, path: &str) -> String {
        format!("{}/realms/{realm}/protocol/openid-connect/{path}", self.url)
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }

    /// An admin access token from the master realm (`admin-cli` password grant).
    pub async fn admin_token(&self) -> String {
        let resp = self
            .http
            .post(self.endpoint("master", "token"))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", "admin"),
                ("password", &self.admin_password),
            ])
            .send()
            .await
            .expect("admin token request");
        let status = resp.status();
        let body: Value = resp.json().await.expect("admin token JSON");
        assert!(status.is_success(), "admin token: {status} {body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Calls the admin API; returns (status, Location header, JSON body or Null).
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Option<String>, Value) {
        let token = self.admin_token().await;
        self.admin_with(&token, method, path, body).await
    }

    pub async fn admin_with(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Option<String>, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/admin/realms{path}", self.url))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("admin request");
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, location, json)
    }

    /// A fresh realm with a unique name.
    pub async fn create_realm(&self, prefix: &str) -> String {
        let name = format!(
            "{prefix}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let (status, _, body) = self
            .admin(
                reqwest::Method::POST,
                "",
                Some(json!({ "realm": name, "enabled": true })),
            )
            .await;
        assert_eq!(status, 201, "create realm: {body}");
        name
    }

    /// Creates a client from a ClientRepresentation; returns (internal id, secret if any).
    pub async fn create_client(&self, realm: &str, rep: Value) -> (String, Option<String>) {
        let (status, location, body) = self
            .admin(
                reqwest::Method::POST,
                &format!("/{realm}/clients"),
                Some(rep),
            )
            .await;
        assert_eq!(status, 201, "create client: {body}");
        let id = location
            .and_then(|l| l.rsplit('/').next().map(str::to_owned))
            .expect("Location");
        let (_, _, secret) = self
            .admin(
                reqwest::Method::GET,
                &format!("/{realm}/clients/{id}/client-secret"),
                None,
            )
            .await;
        (id, secret["value"].as_str().map(str::to_owned))
    }

    /// Creates a user with a password; returns the user id.
    pub async fn create_user(&self, realm: &str, username: &str, password: &str) -> String {
        let rep = json!({
            "username": username, "email": format!("{username}@example.com"), "emailVerified": true,
            "firstName": "Test", "lastName": username, "enabled": true,
            "credentials": [{ "type": "password", "value": password, "temporary": false }]
        });
        let (status, location, body) = self
            .admin(reqwest::Method::POST, &format!("/{realm}/users"), Some(rep))
            .await;
        assert_eq!(status, 201, "create user: {body}");
        location
            .and_then(|l| l.rsplit('/').next().map(str::to_owned))
            .expect("Location")
    }

    /// A form POST to a token-side endpoint with HTTP Basic client authentication.
    pub async fn post_form(
        &self,
        url: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.post(url).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        let resp = req.send().await.expect("form post");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    /// Fails unless `cond` becomes true before the deadline (for async effects).
    pub async fn eventually<F, Fut>(what: &str, mut cond: F) -> anyhow::Result<()>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if cond().await {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        bail!("timed out waiting for {what}")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some(path) = self.database_url.strip_prefix("sqlite://") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}

/// Decodes a JWT's parts without verifying (for assertions about claims and headers).
pub fn jwt_parts(token: &str) -> (Value, Value) {
    use base64::Engine;
    let mut it = token.split('.');
    let dec = |s: Option<&str>| -> Value {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.unwrap_or(""))
            .expect("base64url");
        serde_json::from_slice(&raw).expect("JSON")
    };
    (dec(it.next()), dec(it.next()))
}
