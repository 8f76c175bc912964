//! Provisioning through the Keycloak-compatible admin REST API: N realms, each with one
//! confidential client (ES256 tokens) and one user whose password is imported already hashed
//! (Keycloak's `secretData`/`credentialData` credential import), so provisioning costs no
//! argon2id on the server. Realms are created by one pool of tasks and handed to a second pool
//! that adds the client and the user (a pipeline), or, with `--provision phased`, all realms
//! first and then the rest, which measures realm creation alone.

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
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";

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

/// How realm creation and the client + user creation are scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProvisionMode {
    /// Clients and users are created while later realms are still being created.
    Pipeline,
    /// Every realm first, then every client and user.
    Phased,
}

/// How the users' password is sent.
#[derive(Clone, Debug)]
pub enum UserPassword {
    /// An argon2id PHC string, imported as it is.
    Hash(String),
    /// The plain password, hashed by the server (one argon2id per user).
    Plain,
}

impl UserPassword {
    /// The PHC string of [`PASSWORD`] at the server's default (OWASP) parameters, computed here
    /// once for every user.
    pub async fn hashed() -> Result<Self> {
        let params = realmgate_crypto::PasswordParams::OWASP;
        let phc = tokio::task::spawn_blocking(move || {
            realmgate_crypto::hash_password_blocking(params, PASSWORD)
        })
        .await?
        .map_err(|e| anyhow::anyhow!("argon2id: {e}"))?;
        Ok(Self::Hash(phc))
    }

    fn credential(&self) -> serde_json::Value {
        match self {
            Self::Plain => json!({ "type": "password", "value": PASSWORD, "temporary": false }),
            // Keycloak's CredentialRepresentation of an argon2 hash: two JSON documents in
            // strings. The PHC string carries the parameters; credentialData repeats them as
            // Keycloak's argon2 provider writes them.
            Self::Hash(phc) => json!({
                "type": "password",
                "temporary": false,
                "secretData": json!({ "value": phc, "salt": "", "additionalParameters": {} })
                    .to_string(),
                "credentialData": json!({
                    "hashIterations": realmgate_crypto::PasswordParams::OWASP.t_cost,
                    "algorithm": "argon2",
                    "additionalParameters": {
                        "type": ["id"], "version": ["1.3"],
                        "memory": [realmgate_crypto::PasswordParams::OWASP.m_cost.to_string()],
                        "parallelism": [realmgate_crypto::PasswordParams::OWASP.p_cost.to_string()]
                    }
                })
                .to_string(),
            }),
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Self::Hash(_) => "imported argon2id hash (no hashing on the server)",
            Self::Plain => "plain value (hashed by the server)",
        }
    }
}

/// What every realm gets.
#[derive(Clone, Debug)]
pub struct Blueprint {
    pub client: serde_json::Value,
    pub user: serde_json::Value,
    pub mode: ProvisionMode,
    pub concurrency: usize,
    pub password: &'static str,
}

impl Blueprint {
    pub fn new(
        access_token_alg: &str,
        id_token_alg: Option<&str>,
        password: &UserPassword,
        mode: ProvisionMode,
        concurrency: usize,
    ) -> Self {
        let mut attributes = json!({ "access.token.signed.response.alg": access_token_alg });
        if let Some(alg) = id_token_alg {
            attributes["id.token.signed.response.alg"] = json!(alg);
        }
        Self {
            client: json!({
                "clientId": CLIENT_ID,
                "publicClient": false,
                "serviceAccountsEnabled": true,
                "directAccessGrantsEnabled": true,
                "standardFlowEnabled": true,
                "redirectUris": [REDIRECT_URI],
                "secret": CLIENT_SECRET,
                "attributes": attributes
            }),
            user: json!({
                "username": USERNAME,
                "enabled": true,
                "credentials": [password.credential()]
            }),
            mode,
            concurrency: concurrency.max(1),
            password: password.describe(),
        }
    }
}

/// Timings of provisioning (one batch of realms).
#[derive(Debug, serde::Serialize)]
pub struct ProvisionReport {
    /// Realms created in this batch, and how many existed before it.
    pub realms: usize,
    pub realms_before: usize,
    pub mode: ProvisionMode,
    /// Admin requests in flight per stage (realms; clients and users).
    pub concurrency: usize,
    pub password: &'static str,
    /// From the first realm request until the last realm existed.
    pub realm_seconds: f64,
    /// Realm creation rate: `realms / realm_seconds`.
    pub realm_creations_per_s: f64,
    /// Until every realm had its client and user.
    pub seconds: f64,
    /// Realms fully provisioned (realm + client + user) per second.
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

/// Creates every realm of `names[from..]` with its client and user.
pub async fn provision(
    admin: Arc<Admin>,
    names: Arc<Vec<String>>,
    from: usize,
    blueprint: &Blueprint,
) -> Result<ProvisionReport> {
    let n = names.len().saturating_sub(from);
    let conc = blueprint.concurrency;
    let renewals_before = admin.renewals.load(Ordering::Relaxed);
    let next = Arc::new(AtomicUsize::new(from));
    // Realms created and not yet given their client and user.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let rx = Arc::new(Mutex::new(rx));
    let t0 = Instant::now();

    let mut realm_tasks = Vec::new();
    for _ in 0..conc {
        let (admin, next, names, tx) = (
            Arc::clone(&admin),
            Arc::clone(&next),
            Arc::clone(&names),
            tx.clone(),
        );
        realm_tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(name) = names.get(i) else { break };
                lat.push(
                    admin
                        .create("/realms", json!({ "realm": name, "enabled": true }))
                        .await?,
                );
                // The receivers outlive every sender unless one of them failed.
                if tx.send(i).is_err() {
                    break;
                }
            }
            anyhow::Ok(lat)
        }));
    }
    drop(tx);
    let spawn_rest = || {
        (0..conc)
            .map(|_| {
                let (admin, names, rx, bp) = (
                    Arc::clone(&admin),
                    Arc::clone(&names),
                    Arc::clone(&rx),
                    blueprint.clone(),
                );
                tokio::spawn(async move {
                    let mut lat: [Vec<Duration>; 2] = Default::default();
                    loop {
                        let next = rx.lock().await.recv().await;
                        let Some(name) = next.and_then(|i| names.get(i)) else {
                            break;
                        };
                        lat[0].push(
                            admin
                                .create(&format!("/realms/{name}/clients"), bp.client.clone())
                                .await?,
                        );
                        lat[1].push(
                            admin
                                .create(&format!("/realms/{name}/users"), bp.user.clone())
                                .await?,
                        );
                    }
                    anyhow::Ok(lat)
                })
            })
            .collect::<Vec<_>>()
    };
    let mut rest_tasks = match blueprint.mode {
        ProvisionMode::Pipeline => spawn_rest(),
        ProvisionMode::Phased => Vec::new(),
    };
    let mut realm_lat = Vec::new();
    for t in realm_tasks {
        realm_lat.extend(t.await.context("provisioning task")??);
    }
    let realm_seconds = t0.elapsed().as_secs_f64();
    if rest_tasks.is_empty() {
        rest_tasks = spawn_rest();
    }
    let mut client_lat = Vec::new();
    let mut user_lat = Vec::new();
    for t in rest_tasks {
        let [c, u] = t.await.context("provisioning task")??;
        client_lat.extend(c);
        user_lat.extend(u);
    }
    let seconds = t0.elapsed().as_secs_f64();
    Ok(ProvisionReport {
        realms: n,
        realms_before: from,
        mode: blueprint.mode,
        concurrency: conc,
        password: blueprint.password,
        realm_seconds,
        realm_creations_per_s: n as f64 / realm_seconds,
        seconds,
        realms_per_s: n as f64 / seconds,
        create_realm_ms: Summary::of_durations(realm_lat),
        create_client_ms: Summary::of_durations(client_lat),
        create_user_ms: Summary::of_durations(user_lat),
        admin_token_renewals: admin.renewals.load(Ordering::Relaxed) - renewals_before,
    })
}
