//! Provisioning through the Keycloak-compatible admin REST API: N realms, each with one
//! confidential client (ES256 access tokens) and one user with a password.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;
use tokio::sync::Mutex;

use crate::stats::Summary;

pub const CLIENT_ID: &str = "bench";
pub const CLIENT_SECRET: &str = "bench-secret";
pub const USERNAME: &str = "u1";
pub const PASSWORD: &str = "pw";

/// Admin tokens live 300 s; get a new one well before that.
const ADMIN_TOKEN_MAX_AGE: Duration = Duration::from_secs(200);

/// An admin session on the master realm that renews its token as it ages.
pub struct Admin {
    http: reqwest::Client,
    base: String,
    username: String,
    password: String,
    token: Mutex<Option<(String, Instant)>>,
    pub renewals: AtomicUsize,
}

impl Admin {
    pub fn new(base: &str, username: &str, password: &str) -> Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()?,
            base: base.to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
            token: Mutex::new(None),
            renewals: AtomicUsize::new(0),
        })
    }

    /// A valid admin bearer token (one password login per renewal).
    pub async fn token(&self) -> Result<String> {
        let mut guard = self.token.lock().await;
        if let Some((t, at)) = guard.as_ref()
            && at.elapsed() < ADMIN_TOKEN_MAX_AGE
        {
            return Ok(t.clone());
        }
        let form = [
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", self.username.as_str()),
            ("password", self.password.as_str()),
        ];
        let resp = self
            .http
            .post(format!(
                "{}/realms/master/protocol/openid-connect/token",
                self.base
            ))
            .form(&form)
            .send()
            .await
            .context("admin token request")?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.context("admin token response")?;
        let Some(token) = body.get("access_token").and_then(|t| t.as_str()) else {
            bail!("admin login failed ({status}): {body}");
        };
        *guard = Some((token.to_owned(), Instant::now()));
        self.renewals.fetch_add(1, Ordering::Relaxed);
        Ok(token.to_owned())
    }

    /// POSTs JSON to an admin path; 201 and (when `exists_ok`) 409 succeed.
    async fn create(&self, path: &str, body: serde_json::Value) -> Result<Duration> {
        let token = self.token().await?;
        let t0 = Instant::now();
        let resp = self
            .http
            .post(format!("{}/admin{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST /admin{path}"))?;
        let took = t0.elapsed();
        let status = resp.status().as_u16();
        if status == 201 || status == 409 {
            return Ok(took);
        }
        let text = resp.text().await.unwrap_or_default();
        bail!("POST /admin{path}: {status} {text}")
    }
}

/// Timings of provisioning.
#[derive(Debug, serde::Serialize)]
pub struct ProvisionReport {
    pub realms: usize,
    pub concurrency: usize,
    pub seconds: f64,
    /// Realms (each with its client and user) fully provisioned per second.
    pub realms_per_s: f64,
    /// Latency of each admin call, in ms.
    pub create_realm_ms: Summary,
    pub create_client_ms: Summary,
    pub create_user_ms: Summary,
    pub admin_token_renewals: usize,
}

pub fn realm_names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:04}")).collect()
}

/// Creates every realm with its client and user, `concurrency` realms at a time.
pub async fn provision(
    admin: Arc<Admin>,
    names: &[String],
    concurrency: usize,
    id_token_alg: Option<&str>,
) -> Result<ProvisionReport> {
    let mut attributes = json!({ "access.token.signed.response.alg": "ES256" });
    if let Some(alg) = id_token_alg {
        attributes["id.token.signed.response.alg"] = json!(alg);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let names: Arc<Vec<String>> = Arc::new(names.to_vec());
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let admin = Arc::clone(&admin);
        let next = Arc::clone(&next);
        let names = Arc::clone(&names);
        let attributes = attributes.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat: [Vec<Duration>; 3] = Default::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(name) = names.get(i) else { break };
                lat[0].push(
                    admin
                        .create("/realms", json!({ "realm": name, "enabled": true }))
                        .await?,
                );
                lat[1].push(
                    admin
                        .create(
                            &format!("/realms/{name}/clients"),
                            json!({
                                "clientId": CLIENT_ID,
                                "publicClient": false,
                                "serviceAccountsEnabled": true,
                                "directAccessGrantsEnabled": true,
                                "standardFlowEnabled": true,
                                "redirectUris": ["http://127.0.0.1:9/cb"],
                                "secret": CLIENT_SECRET,
                                "attributes": attributes.clone()
                            }),
                        )
                        .await?,
                );
                lat[2].push(
                    admin
                        .create(
                            &format!("/realms/{name}/users"),
                            json!({
                                "username": USERNAME,
                                "enabled": true,
                                "credentials": [{ "type": "password", "value": PASSWORD, "temporary": false }]
                            }),
                        )
                        .await?,
                );
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all: [Vec<Duration>; 3] = Default::default();
    for t in tasks {
        let lat = t.await.context("provisioning task")??;
        for (a, l) in all.iter_mut().zip(lat) {
            a.extend(l);
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    let [realm, client, user] = all;
    Ok(ProvisionReport {
        realms: names.len(),
        concurrency,
        seconds,
        realms_per_s: names.len() as f64 / seconds,
        create_realm_ms: Summary::of_durations(realm),
        create_client_ms: Summary::of_durations(client),
        create_user_ms: Summary::of_durations(user),
        admin_token_renewals: admin.renewals.load(Ordering::Relaxed),
    })
}
