//! Traffic: `concurrency` workers (tokio tasks, `worker.rs`), each sending through its own client,
//! in a closed loop (the next request as soon as the previous one is answered) or, with `--rate`,
//! an open loop at a fixed offered load (`pace.rs`); requests are spread over the realms
//! uniformly or by a Zipf law, for a warm-up and then a measured window.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use bytes::Bytes;
use hyper::header::HeaderValue;
use tokio::time::sleep_until;

use crate::http::{Client, Endpoint, Http, Req, Resp};
use crate::pace::{OpenLoop, Schedule};
use crate::provision::{CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME};
use crate::server::{comm_cpu, machine_cpu, proc_cpu, proc_rss_kib};
use crate::stats::Summary;
use crate::users::{Sample, Shared, UserTok, user_tokens};
use crate::worker::{self, OpStats, Plan, Tally};

/// What `--scenario` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ScenarioArg {
    Cc,
    Password,
    Refresh,
    Userinfo,
    Introspect,
    Discovery,
    Jwks,
    /// Authorization code + PKCE with a password login on the login page.
    Code,
    Mixed,
    All,
}

/// One kind of request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Cc,
    Password,
    Refresh,
    Userinfo,
    Introspect,
    Discovery,
    Jwks,
    Code,
}

pub const OPS: [Op; 8] = [
    Op::Cc,
    Op::Password,
    Op::Refresh,
    Op::Userinfo,
    Op::Introspect,
    Op::Discovery,
    Op::Jwks,
    Op::Code,
];

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Cc => "cc",
            Op::Password => "password",
            Op::Refresh => "refresh",
            Op::Userinfo => "userinfo",
            Op::Introspect => "introspect",
            Op::Discovery => "discovery",
            Op::Jwks => "jwks",
            Op::Code => "code",
        }
    }

    /// Costs one argon2id verification on the server per request.
    pub fn logs_in(self) -> bool {
        matches!(self, Op::Password | Op::Code)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A named weighted mix of operations.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub mix: Vec<(Op, u32)>,
}

/// The `mixed` scenario's weights (percent): mostly machine-to-machine tokens and token checks,
/// some refreshes, few interactive-strength logins (argon2id-bound): 1% password grants, 1%
/// browser logins (code flow).
pub const MIXED: [(Op, u32); 8] = [
    (Op::Cc, 30),
    (Op::Userinfo, 20),
    (Op::Introspect, 15),
    (Op::Refresh, 13),
    (Op::Jwks, 10),
    (Op::Discovery, 10),
    (Op::Password, 1),
    (Op::Code, 1),
];

pub fn scenarios(args: &[ScenarioArg]) -> Vec<Scenario> {
    let single = |name, op| Scenario {
        name,
        mix: vec![(op, 1)],
    };
    let one = |a: ScenarioArg| match a {
        ScenarioArg::Cc => single("cc", Op::Cc),
        ScenarioArg::Password => single("password", Op::Password),
        ScenarioArg::Refresh => single("refresh", Op::Refresh),
        ScenarioArg::Userinfo => single("userinfo", Op::Userinfo),
        ScenarioArg::Introspect => single("introspect", Op::Introspect),
        ScenarioArg::Discovery => single("discovery", Op::Discovery),
        ScenarioArg::Jwks => single("jwks", Op::Jwks),
        ScenarioArg::Code => single("code", Op::Code),
        ScenarioArg::Mixed | ScenarioArg::All => Scenario {
            name: "mixed",
            mix: MIXED.to_vec(),
        },
    };
    let mut out = Vec::new();
    for &a in args {
        if a == ScenarioArg::All {
            use ScenarioArg::*;
            for b in [
                Cc, Password, Code, Refresh, Userinfo, Introspect, Discovery, Jwks, Mixed,
            ] {
                out.push(one(b));
            }
        } else {
            out.push(one(a));
        }
    }
    out
}

/// A small fast PRNG (splitmix64) per worker; quality is ample for picking realms.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// How requests are spread over the realms.
pub enum Picker {
    Uniform(usize),
    /// Cumulative probabilities of realms ranked 1..=n, P(k) ∝ 1/k^s.
    Zipf(Vec<f64>),
}

impl Picker {
    pub fn zipf(n: usize, s: f64) -> Self {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|k| {
                acc += 1.0 / (k as f64).powf(s);
                acc
            })
            .collect();
        for c in &mut cdf {
            *c /= acc;
        }
        Picker::Zipf(cdf)
    }

    pub fn pick(&self, rng: &mut Rng) -> usize {
        match self {
            Picker::Uniform(n) => rng.below(*n as u64) as usize,
            Picker::Zipf(cdf) => {
                let u = rng.next_f64();
                cdf.partition_point(|&c| c <= u).min(cdf.len() - 1)
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Picker::Uniform(_) => "uniform".to_owned(),
            Picker::Zipf(cdf) => format!(
                "zipf (top realm {:.1}% of requests, top 10 {:.1}%)",
                cdf.first().copied().unwrap_or(0.0) * 100.0,
                cdf.get(9).or(cdf.last()).copied().unwrap_or(0.0) * 100.0
            ),
        }
    }
}

/// One realm's endpoints.
pub struct RealmEp {
    pub name: String,
    /// `{server}/realms/{name}`.
    pub base: String,
    pub token: Endpoint,
    userinfo: Endpoint,
    introspect: Endpoint,
    discovery: Endpoint,
    pub jwks: Endpoint,
}

impl RealmEp {
    pub fn new(base: &str, name: &str) -> Result<Self> {
        let oidc = format!("{base}/realms/{name}/protocol/openid-connect");
        Ok(Self {
            name: name.to_owned(),
            base: format!("{base}/realms/{name}"),
            token: Endpoint::parse(&format!("{oidc}/token"))?,
            userinfo: Endpoint::parse(&format!("{oidc}/userinfo"))?,
            introspect: Endpoint::parse(&format!("{oidc}/token/introspect"))?,
            discovery: Endpoint::parse(&format!(
                "{base}/realms/{name}/.well-known/openid-configuration"
            ))?,
            jwks: Endpoint::parse(&format!("{oidc}/certs"))?,
        })
    }
}

/// What the workers share.
pub struct Target {
    pub http: Http,
    /// The server's base URL.
    pub server: String,
    /// Every provisioned realm; traffic goes to the first `active`.
    pub realms: Arc<Vec<RealmEp>>,
    pub active: usize,
    /// Spreads requests over the active realms.
    pub picker: Picker,
    /// The realms the user-token operations and JWKS use.
    pub sample: Sample,
    pub shared: Arc<Shared>,
    pub basic: HeaderValue,
}

pub static CC_BODY: &[u8] = b"grant_type=client_credentials";

fn password_body() -> Bytes {
    Bytes::from(format!(
        "grant_type=password&username={USERNAME}&password={PASSWORD}&scope=openid"
    ))
}

#[derive(serde::Deserialize)]
struct TokenResp {
    refresh_token: Option<String>,
}

/// A worker's refresh token chain.
pub struct RefreshState {
    realm: usize,
    token: String,
}

impl Target {
    /// Traffic over the first `active` of `realms`, spread by `zipf` (exponent) or uniformly;
    /// user tokens as `tokens` says.
    pub fn new(
        http: Http,
        server: &str,
        realms: Arc<Vec<RealmEp>>,
        active: usize,
        zipf: Option<f64>,
        tokens: crate::users::SampleSize,
        shared: Arc<Shared>,
    ) -> Result<Self> {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
        let active = active.min(realms.len());
        Ok(Self {
            http,
            server: server.to_owned(),
            realms,
            active,
            picker: match zipf {
                Some(s) => Picker::zipf(active, s),
                None => Picker::Uniform(active),
            },
            sample: Sample::new(active, tokens, zipf),
            shared,
            basic: HeaderValue::from_str(&format!("Basic {basic}"))?,
        })
    }

    async fn token_json(&self, realm: usize, body: Bytes, what: &str) -> Result<Bytes> {
        let ep = self.realms.get(realm).context("realm index")?;
        let r = self
            .http
            .post_form(&ep.token, Some(&self.basic), body)
            .await
            .map_err(|e| anyhow::anyhow!("{what} in {}: {e:?}", ep.name))?;
        if r.status != 200 {
            bail!(
                "{what} in {}: {} {}",
                ep.name,
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
        Ok(r.body)
    }

    /// A password grant for the realm's user (one argon2id verification).
    pub async fn login_json(&self, realm: usize) -> Result<Bytes> {
        self.token_json(realm, password_body(), "password grant")
            .await
    }

    /// A refresh grant.
    pub async fn refresh_json(&self, realm: usize, token: &str) -> Result<Bytes> {
        let body = Bytes::from(format!("grant_type=refresh_token&refresh_token={token}"));
        self.token_json(realm, body, "refresh grant").await
    }

    async fn login(&self, realm: usize) -> Result<TokenResp> {
        Ok(serde_json::from_slice(&self.login_json(realm).await?)?)
    }

    /// One request of `op` through `client`; `Ok` is any HTTP response.
    pub async fn send(
        &self,
        op: Op,
        client: &mut Client,
        rng: &mut Rng,
        users: Option<&[UserTok]>,
        refresh: &mut Option<RefreshState>,
        relogins: &mut u64,
    ) -> Result<(Resp, Duration), (String, String)> {
        // User-token operations and the JWKS go to the token sample, the rest anywhere.
        let (j, realm) = match op {
            Op::Userinfo | Op::Introspect | Op::Jwks | Op::Refresh => self.sample.pick(rng),
            _ => (0, self.picker.pick(rng)),
        };
        let fail = |what: &str| (what.to_owned(), String::new());
        let ep = self.realms.get(realm).ok_or_else(|| fail("realm index"))?;
        let user = || {
            users
                .and_then(|u| u.get(j))
                .ok_or_else(|| fail("no user token"))
        };
        let label = |e: crate::http::SendError| (e.label().to_owned(), e.detail());
        let t0;
        let resp = match op {
            Op::Cc => {
                t0 = Instant::now();
                let body = Bytes::from_static(CC_BODY);
                client
                    .send(Req::post_form(&ep.token, body).auth(Some(&self.basic)))
                    .await
            }
            Op::Password => {
                t0 = Instant::now();
                client
                    .send(Req::post_form(&ep.token, password_body()).auth(Some(&self.basic)))
                    .await
            }
            Op::Userinfo => {
                let u = user()?;
                t0 = Instant::now();
                client
                    .send(Req::get(&ep.userinfo).auth(Some(&u.bearer)))
                    .await
            }
            Op::Introspect => {
                let u = user()?;
                t0 = Instant::now();
                let body = u.introspect_body.clone();
                client
                    .send(Req::post_form(&ep.introspect, body).auth(Some(&self.basic)))
                    .await
            }
            Op::Discovery => {
                t0 = Instant::now();
                client.send(Req::get(&ep.discovery)).await
            }
            Op::Jwks => {
                t0 = Instant::now();
                client.send(Req::get(&ep.jwks)).await
            }
            Op::Code => {
                t0 = Instant::now();
                return crate::code_flow::run(
                    client,
                    &self.server,
                    &ep.base,
                    &ep.token,
                    &self.basic,
                )
                .await
                .map(|r| (r, t0.elapsed()));
            }
            Op::Refresh => {
                let st = match refresh.take() {
                    Some(s) => s,
                    None => {
                        // The chain broke (an error answer): start a new one, outside the timing.
                        *relogins += 1;
                        let t = self
                            .login(realm)
                            .await
                            .map_err(|e| ("relogin failed".to_owned(), format!("{e:#}")))?;
                        RefreshState {
                            realm,
                            token: t.refresh_token.ok_or_else(|| fail("no refresh_token"))?,
                        }
                    }
                };
                let ep = self
                    .realms
                    .get(st.realm)
                    .ok_or_else(|| fail("realm index"))?;
                let body = Bytes::from(format!(
                    "grant_type=refresh_token&refresh_token={}",
                    st.token
                ));
                t0 = Instant::now();
                let r = client
                    .send(Req::post_form(&ep.token, body).auth(Some(&self.basic)))
                    .await;
                if let Ok(resp) = &r
                    && resp.status == 200
                    && let Ok(t) = serde_json::from_slice::<TokenResp>(&resp.body)
                    && let Some(token) = t.refresh_token
                {
                    *refresh = Some(RefreshState {
                        realm: st.realm,
                        token,
                    });
                }
                r
            }
        };
        let took = t0.elapsed();
        resp.map(|r| (r, took)).map_err(label)
    }
}

/// Per-run settings.
#[derive(Clone)]
pub struct RunCfg {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub max_requests: u64,
    pub server_pid: Option<u32>,
    pub clk_tck: f64,
    pub setup_concurrency: usize,
    pub cores: usize,
    /// Processes of this name (the local database server) are accounted as the database.
    pub db_comm: Option<String>,
    /// Before the scenario, wait up to this long for the machine to be idle.
    pub wait_idle: Duration,
    /// `--rate`: requests per second in all, in an open loop; `None`: a closed loop.
    pub rate: Option<f64>,
}

/// Waits (up to `max`) until the whole machine is under 10% busy over a second, so other
/// processes (a parallel build) don't distort the figures. Returns the seconds waited and the
/// last busy percentage seen.
pub async fn wait_idle(max: Duration) -> (f64, Option<f64>) {
    let t0 = Instant::now();
    let mut last = None;
    while t0.elapsed() < max {
        let a = machine_cpu();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let b = machine_cpu();
        if let (Some((b0, t0_)), Some((b1, t1))) = (a, b)
            && t1 > t0_
        {
            let busy = (b1 - b0) as f64 / (t1 - t0_) as f64 * 100.0;
            last = Some(busy);
            if busy < 10.0 {
                break;
            }
        }
    }
    (t0.elapsed().as_secs_f64(), last)
}

/// Figures of one operation kind within a scenario.
#[derive(Debug, serde::Serialize)]
pub struct OpResult {
    pub op: &'static str,
    pub requests: u64,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub ok_per_s: f64,
    /// Latency of the 2xx answers.
    pub latency_ms: Summary,
}

/// Process figures over the measured window.
#[derive(Debug, Default, serde::Serialize)]
pub struct ProcFigures {
    /// CPU time / wall time × 100 (200 = both cores of a 2-core machine).
    pub cpu_pct: Option<f64>,
    /// Server CPU time per answered request, in µs: `cores × 10⁶ / this` is what the server
    /// could answer with the whole machine to itself.
    pub cpu_us_per_request: Option<f64>,
    pub rss_max_mib: Option<f64>,
    pub rss_end_mib: Option<f64>,
    pub threads: Option<u64>,
}

#[derive(Debug, serde::Serialize)]
pub struct ScenarioResult {
    pub name: &'static str,
    pub concurrency: usize,
    pub seconds: f64,
    pub requests: u64,
    pub ok: u64,
    /// Non-2xx answers by status, plus `timeout` / `transport` failures.
    pub errors: BTreeMap<String, u64>,
    /// The first body seen for each error kind.
    pub error_samples: BTreeMap<String, String>,
    pub requests_per_s: f64,
    pub ok_per_s: f64,
    /// Latency of the 2xx answers.
    pub latency_ms: Summary,
    pub server: ProcFigures,
    pub loadgen_cpu_pct: Option<f64>,
    /// CPU of the local database processes (Postgres), same unit.
    pub db_cpu_pct: Option<f64>,
    pub machine_busy_pct: Option<f64>,
    /// CPU used by other processes meanwhile (machine total minus server and load generator,
    /// in the same one-core percent as those): non-zero means the figures are disturbed.
    pub other_cpu_pct: Option<f64>,
    pub per_op: Vec<OpResult>,
    /// `--rate`: the offered and achieved load and the late starts; `None`: a closed loop.
    pub open_loop: Option<OpenLoop>,
    pub relogins: u64,
    pub hit_request_limit: bool,
    /// `--rounds` above 1: the p99 of every round, in the order measured; this result is the
    /// round with the median p99.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub p99_rounds_ms: Vec<f64>,
    /// Errors in the rounds not kept (the curve counts them with this round's).
    #[serde(skip_serializing_if = "is_zero")]
    pub other_rounds_errors: u64,
    pub notes: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ScenarioResult {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

struct Snapshot {
    at: Instant,
    server: Option<u64>,
    db: Option<u64>,
    own: Option<u64>,
    machine: Option<(u64, u64)>,
}

fn snapshot(pid: Option<u32>, db_comm: Option<&str>) -> Snapshot {
    Snapshot {
        at: Instant::now(),
        server: pid.and_then(|p| proc_cpu(Some(p))).map(|c| c.ticks),
        db: db_comm.and_then(comm_cpu),
        own: proc_cpu(None).map(|c| c.ticks),
        machine: machine_cpu(),
    }
}

/// Runs one scenario: setup (user tokens, refresh chains), warm-up, measured window.
pub async fn run(target: &Arc<Target>, sc: &Scenario, cfg: &RunCfg) -> Result<ScenarioResult> {
    let uses = |op: Op| sc.mix.iter().any(|(o, w)| *o == op && *w > 0);
    let users = if uses(Op::Userinfo) || uses(Op::Introspect) {
        Some(Arc::new(
            user_tokens(target, cfg.setup_concurrency)
                .await
                .context("getting user access tokens")?,
        ))
    } else {
        None
    };
    let mut chains: Vec<Option<RefreshState>> = Vec::new();
    if uses(Op::Refresh) {
        let mut rng = Rng::new(0xC0FFEE);
        let realms: Vec<usize> = (0..cfg.concurrency)
            .map(|_| target.sample.pick(&mut rng).1)
            .collect();
        let mut tasks = Vec::new();
        for chunk in realms.chunks(cfg.concurrency.div_ceil(cfg.setup_concurrency.max(1))) {
            let target = Arc::clone(target);
            let chunk = chunk.to_vec();
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                for realm in chunk {
                    let t = target.login(realm).await?;
                    let token = t.refresh_token.context("no refresh_token")?;
                    out.push(Some(RefreshState { realm, token }));
                }
                anyhow::Ok(out)
            }));
        }
        for t in tasks {
            chains.extend(t.await??);
        }
    }
    chains.resize_with(cfg.concurrency, || None);

    let mut notes = Vec::new();
    if !cfg.wait_idle.is_zero() {
        let (waited, busy) = wait_idle(cfg.wait_idle).await;
        if busy.is_none_or(|b| b >= 10.0) {
            notes.push(format!(
                "the machine was still {}% busy after waiting {waited:.0} s for it to be idle",
                busy.map_or_else(|| "?".to_owned(), |b| format!("{b:.0}"))
            ));
        }
    }
    let begin = Instant::now();
    let measure_start = begin + cfg.warmup;
    let end = measure_start + cfg.duration;
    let plan = Arc::new(Plan {
        target: Arc::clone(target),
        users,
        mix: sc.mix.clone(),
        started: AtomicU64::new(0),
        max_requests: cfg.max_requests,
        measure_start,
        end,
        schedule: cfg.rate.map(|r| Schedule::new(begin, r)),
    });
    let workers: Vec<_> = chains
        .into_iter()
        .enumerate()
        .map(|(w, chain)| tokio::spawn(worker::run(Arc::clone(&plan), w, chain)))
        .collect();

    // RSS sampler and CPU snapshots at the window's edges.
    let pid = cfg.server_pid;
    let sampler = tokio::spawn(async move {
        let mut max = None::<u64>;
        let mut threads = None;
        sleep_until(measure_start.into()).await;
        while Instant::now() < end {
            if let Some(p) = pid {
                if let Some(r) = proc_rss_kib(p) {
                    max = Some(max.map_or(r, |m: u64| m.max(r)));
                }
                threads = proc_cpu(Some(p)).map(|c| c.threads).or(threads);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        (max, threads)
    });
    sleep_until(measure_start.into()).await;
    let s0 = snapshot(pid, cfg.db_comm.as_deref());
    sleep_until(end.into()).await;
    let s1 = snapshot(pid, cfg.db_comm.as_deref());

    let mut tally = Tally::new();
    for w in workers {
        tally.merge(w.await?);
    }
    let hit_request_limit = tally.limit_hit;
    let (rss_max, threads) = sampler.await?;
    let done = Instant::now();
    // With the request limit hit the window closed early: count to when the workers stopped.
    let window = if hit_request_limit {
        done.duration_since(measure_start)
    } else {
        s1.at.duration_since(s0.at)
    };
    let secs = window.as_secs_f64();
    let wall = s1.at.duration_since(s0.at).as_secs_f64();
    let pct = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) if wall > 0.0 => {
            Some(b.saturating_sub(a) as f64 / cfg.clk_tck / wall * 100.0)
        }
        _ => None,
    };
    let machine_busy_pct = match (s0.machine, s1.machine) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => {
            Some((b1 - b0) as f64 / (t1 - t0) as f64 * 100.0)
        }
        _ => None,
    };
    let rss_end = pid.and_then(proc_rss_kib);

    let mut per_op = Vec::new();
    let mut total = OpStats::default();
    for (op, s) in OPS.iter().zip(tally.ops) {
        if s.requests == 0 {
            continue;
        }
        let ok = s.lat_us.len() as u64;
        per_op.push(OpResult {
            op: op.name(),
            requests: s.requests,
            ok,
            errors: s.errors.clone(),
            ok_per_s: ok as f64 / secs,
            latency_ms: Summary::of_micros(s.lat_us.clone()),
        });
        total.merge(s);
    }
    let ok = total.lat_us.len() as u64;
    let mib = |k: u64| k as f64 / 1024.0;
    Ok(ScenarioResult {
        name: sc.name,
        concurrency: cfg.concurrency,
        seconds: secs,
        requests: total.requests,
        ok,
        errors: total.errors,
        error_samples: total.samples,
        requests_per_s: total.requests as f64 / secs,
        ok_per_s: ok as f64 / secs,
        latency_ms: Summary::of_micros(total.lat_us),
        server: ProcFigures {
            cpu_pct: pct(s0.server, s1.server),
            cpu_us_per_request: pct(s0.server, s1.server)
                .filter(|_| total.requests > 0)
                .map(|p| p / 100.0 * 1e6 / (total.requests as f64 / wall)),
            rss_max_mib: rss_max.map(mib),
            rss_end_mib: rss_end.map(mib),
            threads,
        },
        loadgen_cpu_pct: pct(s0.own, s1.own),
        machine_busy_pct,
        db_cpu_pct: pct(s0.db, s1.db),
        other_cpu_pct: match (machine_busy_pct, pct(s0.own, s1.own)) {
            (Some(m), Some(own)) => Some(
                (m * cfg.cores as f64
                    - own
                    - pct(s0.server, s1.server).unwrap_or(0.0)
                    - pct(s0.db, s1.db).unwrap_or(0.0))
                .max(0.0),
            ),
            _ => None,
        },
        per_op: if sc.mix.len() > 1 { per_op } else { Vec::new() },
        open_loop: cfg.rate.map(|offered_per_s| OpenLoop {
            offered_per_s,
            achieved_per_s: total.requests as f64 / secs,
            late: tally.late,
            max_lag_ms: tally.max_lag.as_secs_f64() * 1000.0,
        }),
        relogins: tally.relogins,
        hit_request_limit,
        p99_rounds_ms: Vec::new(),
        other_rounds_errors: 0,
        notes,
    })
}
