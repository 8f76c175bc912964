//! `loadbench`: provisions realms on a Realmgate server and drives OIDC traffic at it (a closed
//! loop, or a fixed offered load with `--rate`), reporting throughput, latency percentiles,
//! errors and the server's CPU and memory.
//!
//! ```text
//! cargo build --release -p realmgate-server
//! cargo run --release -p realmgate-benches --bin loadbench -- --spawn --realms 10000 \
//!     --concurrency 32 --duration 10 --scenario all
//! ```
//!
//! Traffic goes to loopback addresses only; every run is bounded in time and request count.
//! See `docs/performance.md`.

mod code_flow;
mod conn;
mod curve;
mod http;
mod pace;
mod provision;
mod raw;
mod report;
mod scenario;
mod server;
mod stats;
mod steps;
mod users;
mod warmup;
mod worker;

#[cfg(test)]
mod selftest;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::http::{ClientKind, Http};
use crate::provision::{Admin, Blueprint, ProvisionMode, UserPassword, realm_names};
use crate::report::{Argon2Ceiling, Report, RestartInfo, ServerInfo};
use crate::scenario::{RealmEp, RunCfg, ScenarioArg, Target};
use crate::steps::StepCfg;
use crate::users::Shared;

#[derive(Parser, Debug)]
#[command(
    name = "loadbench",
    about = "Load benchmark for a Realmgate server (loopback only)"
)]
pub struct Args {
    /// Base URL of a running server (loopback only).
    #[arg(long, conflicts_with = "spawn", requires = "admin_password")]
    url: Option<String>,
    /// Master realm admin password of the server at --url.
    #[arg(long, env = "LOADBENCH_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    #[arg(long, default_value = "admin")]
    admin_username: String,
    /// Start `realmgate serve` on a free port with a temporary data directory, and stop it at
    /// the end.
    #[arg(long)]
    spawn: bool,
    /// With --spawn: use this (empty) Postgres database instead of the embedded store.
    #[arg(long, requires = "spawn")]
    database_url: Option<String>,
    /// With --database-url: the name of the database's processes on this machine, whose CPU is
    /// reported as the database's (not as other processes').
    #[arg(long, default_value = "postgres")]
    db_process_name: String,
    /// With --spawn: the server binary.
    #[arg(long, default_value = "target/release/realmgate")]
    server_bin: PathBuf,
    /// With --url: the server's pid, to sample its CPU and RSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Realms to provision (each: one confidential client, one user).
    #[arg(long, default_value_t = 10_000)]
    realms: usize,
    /// Scaling curve: provision incrementally to each of these realm counts on the same server
    /// and run the scenarios over the first K realms at each (e.g. 10,1000,10000,100000);
    /// overrides --realms.
    #[arg(long)]
    curve: Option<String>,
    /// Most realms user tokens are taken from (userinfo, introspect, refresh; also the realms
    /// whose JWKS the jwks scenario reads): each costs one argon2id login, so at large realm
    /// counts a sample spread evenly over all realms is used.
    #[arg(long, default_value_t = 1000)]
    token_realms: usize,
    /// `pipeline`: clients and users are created while later realms are being created;
    /// `phased`: all realms first (a clean realm creation rate), then clients and users.
    #[arg(long, value_enum, default_value = "pipeline")]
    provision: ProvisionMode,
    /// Send the users' password in plain text (the server hashes each one, ~25–45/s) instead
    /// of importing one argon2id hash computed here.
    #[arg(long)]
    plain_passwords: bool,
    /// With --spawn: don't restart the server on the same data at the end (startup time and
    /// idle RSS with every realm present).
    #[arg(long)]
    no_restart: bool,
    /// Seconds to let the restarted server idle before reading its RSS.
    #[arg(long, default_value_t = 3.0)]
    restart_idle: f64,
    #[arg(long, default_value = "lb")]
    realm_prefix: String,
    /// Workers: in a closed loop, each sends its next request when the previous one is
    /// answered; with --rate, the most requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Open loop: this many requests per second in all (a code flow counts as one), due at fixed
    /// intervals whatever the answers, spread over the --concurrency workers. A request due
    /// while every worker is busy waits and is timed from when it fell due; the report gives
    /// the achieved rate and the requests that started more than 1 ms late. Without it, a
    /// closed loop.
    #[arg(long)]
    rate: Option<f64>,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds of traffic before each scenario's window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Upper bound on requests per scenario (warm-up included).
    #[arg(long, default_value_t = 2_000_000)]
    max_requests: u64,
    /// Comma-separated scenarios.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    scenario: Vec<ScenarioArg>,
    /// The bench client's ID token algorithm (RS256, ES256, EdDSA), or `realm` for the realm's
    /// default (RS256, as in Keycloak). ES256 by default so that logins in realms outside the
    /// token sample don't generate an RS256 key (~100 ms of CPU each) inside the measurements.
    #[arg(long, default_value = "ES256")]
    id_token_alg: String,
    /// The bench client's access token algorithm (ES256, RS256, EdDSA).
    #[arg(long, default_value = "ES256")]
    access_token_alg: String,
    /// Spread requests over realms by a Zipf law instead of uniformly.
    #[arg(long)]
    zipf: bool,
    #[arg(long, default_value_t = 1.0)]
    zipf_exponent: f64,
    /// HTTP client of the load generator's workers: `raw`, one keep-alive connection per worker
    /// spoken directly (the least CPU per request); `conn`, the same through hyper's low-level
    /// client; `hyper`, hyper's pooled client; `reqwest`. Setup and provisioning use hyper's
    /// pooled client (reqwest with `reqwest`).
    #[arg(long, value_enum, default_value = "raw")]
    client: ClientKind,
    /// Load-generator runtime threads (1: a current-thread runtime). On the 2-core machine 2
    /// gave ~35% more client-credentials throughput than 1 (docs/performance.md).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Parallel admin requests per provisioning stage, and parallel setup requests.
    #[arg(long, default_value_t = 32)]
    setup_concurrency: usize,
    /// Before provisioning and each scenario, wait up to this many seconds for the machine to be
    /// idle (other processes under 10% CPU); 0 disables.
    #[arg(long, default_value_t = 120.0)]
    wait_idle: f64,
    /// Run a scenario again when other processes used more than this much CPU (percent of one
    /// core) during its window ...
    #[arg(long, default_value_t = 15.0)]
    max_other_cpu: f64,
    /// ... at most this many more times, keeping the least disturbed attempt.
    #[arg(long, default_value_t = 2)]
    retries: u32,
    /// Measure every scenario this many times per step, in rounds (every scenario once, then
    /// again), and report the round with the median p99: a p99 of a few hundred microseconds
    /// moves by a third between windows on a VM, and rounds spread over minutes see the
    /// same drift at every step. Every round's p99 is in the report.
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Directory for the JSON report (and the spawned server's log).
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

/// The load generator shares the machine with the server: every cycle it spends is taken from the
/// server, so it uses the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let args = Args::parse();
    let rt = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    };
    rt.block_on(run(args))
}

fn check_loopback(url: &str) -> Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("bad --url {url}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ok = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !ok {
        bail!("--url must point at a loopback address (127.0.0.0/8, ::1, localhost): {url}");
    }
    Ok(())
}

async fn run(args: Args) -> Result<()> {
    let steps = match &args.curve {
        Some(c) => curve::parse_steps(c).map_err(anyhow::Error::msg)?,
        None => vec![args.realms],
    };
    let total = steps.last().copied().unwrap_or(0);
    if args.concurrency == 0 || total == 0 || args.token_realms == 0 {
        bail!("--concurrency, --realms and --token-realms must be at least 1");
    }
    if !(args.duration > 0.0
        && args.duration <= 3600.0
        && args.warmup >= 0.0
        && args.wait_idle >= 0.0
        && (0.0..=600.0).contains(&args.restart_idle))
    {
        bail!(
            "--duration must be in (0, 3600] seconds, --warmup and --wait-idle non-negative, \
             --restart-idle in [0, 600]"
        );
    }
    if args
        .rate
        .is_some_and(|r| !(r.is_finite() && (0.001..=10_000_000.0).contains(&r)))
    {
        bail!("--rate must be in [0.001, 10,000,000] requests per second");
    }
    let stamp = report::timestamp();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let clk_tck = server::clock_ticks();

    // The server.
    let (mut spawned, base, password, pid) = if args.spawn {
        let log = args.out.join(format!("loadbench-{stamp}-server.log"));
        eprintln!("starting {} ...", args.server_bin.display());
        let s = server::Spawned::start(&args.server_bin, args.database_url.as_deref(), log, &stamp)
            .await?;
        eprintln!(
            "server pid {} ready at {} after {:.0} ms",
            s.pid,
            s.base_url,
            s.startup.as_secs_f64() * 1000.0
        );
        let (base, pw, pid) = (s.base_url.clone(), s.admin_password.clone(), s.pid);
        (Some(s), base, pw, Some(pid))
    } else {
        let url = args
            .url
            .clone()
            .context("give --url URL --admin-password PW, or --spawn")?;
        check_loopback(&url)?;
        let pw = args
            .admin_password
            .clone()
            .context("--admin-password is required with --url")?;
        (
            None,
            url.trim_end_matches('/').to_owned(),
            pw,
            args.server_pid,
        )
    };

    let mut server_info = spawned.as_ref().map(|s| ServerInfo {
        pid: s.pid,
        store: if args.database_url.is_some() {
            "postgres".into()
        } else {
            "embedded (SQLite)".into()
        },
        startup_ms: s.startup.as_secs_f64() * 1000.0,
        shutdown_ms: None,
        log: s.log_path.display().to_string(),
    });
    let mut result = drive(&args, &steps, &base, &password, pid, clk_tck, &stamp).await;
    if let (Ok(report), Some(s)) = (result.as_mut(), spawned.as_mut())
        && !args.no_restart
    {
        eprintln!("restarting the server on the same data ({total} realms) ...");
        match restart(s, &args, &base, total).await {
            Ok(r) => report.restart = Some(r),
            Err(e) => eprintln!("restart: {e:#}"),
        }
    }

    if let Some(s) = spawned {
        let log_path = s.log_path.clone();
        match s.stop().await {
            Ok(Some(d)) => {
                if let Some(i) = server_info.as_mut() {
                    i.shutdown_ms = Some(d.as_secs_f64() * 1000.0);
                }
            }
            Ok(None) => eprintln!("the server did not stop within 10 s of SIGTERM; killed it"),
            Err(e) => eprintln!("stopping the server: {e:#}"),
        }
        let log = server::tail(&log_path, 20);
        if log.contains("ERROR") || log.contains("panicked") {
            eprintln!(
                "the server logged errors (see {}):\n{log}",
                log_path.display()
            );
        }
    }

    let mut report = result?;
    report.server = server_info;
    println!("{}", report.markdown());
    let path = args.out.join(format!("loadbench-{stamp}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", path.display()))?;
    let md = args.out.join(format!("loadbench-{stamp}.md"));
    std::fs::write(&md, report.markdown()).with_context(|| format!("writing {}", md.display()))?;
    eprintln!("wrote {} and {}", path.display(), md.display());
    Ok(())
}

/// Restarts the spawned server on its data, then reads its RSS when ready and after idling,
/// and checks that the first and last realm still issue tokens.
async fn restart(
    s: &mut server::Spawned,
    args: &Args,
    base: &str,
    total: usize,
) -> Result<RestartInfo> {
    let startup = s.restart().await?;
    let rss_ready = server::proc_rss_kib(s.pid);
    tokio::time::sleep(Duration::from_secs_f64(args.restart_idle)).await;
    let rss_idle = server::proc_rss_kib(s.pid);
    let http = reqwest::Client::builder().no_proxy().build()?;
    let names = realm_names(&args.realm_prefix, total);
    let mut tokens_ok = true;
    for name in [names.first(), names.last()].into_iter().flatten() {
        let ok = http
            .post(format!(
                "{base}/realms/{name}/protocol/openid-connect/token"
            ))
            .basic_auth(provision::CLIENT_ID, Some(provision::CLIENT_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        tokens_ok &= ok;
    }
    let mib = |k: u64| k as f64 / 1024.0;
    eprintln!(
        "  ready after {:.0} ms; tokens {}",
        startup.as_secs_f64() * 1000.0,
        if tokens_ok { "ok" } else { "FAILED" }
    );
    Ok(RestartInfo {
        realms: total,
        startup_ms: startup.as_secs_f64() * 1000.0,
        rss_ready_mib: rss_ready.map(mib),
        rss_idle_mib: rss_idle.map(mib),
        idle_s: args.restart_idle,
        tokens_ok,
    })
}

/// Every step (provisioning, warm-up, scenarios) against a ready server.
async fn drive(
    args: &Args,
    steps: &[usize],
    base: &str,
    password: &str,
    pid: Option<u32>,
    clk_tck: f64,
    stamp: &str,
) -> Result<Report> {
    if args.wait_idle > 0.0 {
        let (waited, busy) = scenario::wait_idle(Duration::from_secs_f64(args.wait_idle)).await;
        if waited > 1.5 {
            eprintln!(
                "waited {waited:.0} s for the machine to be idle (last {}% busy)",
                busy.map_or_else(|| "?".to_owned(), |b| format!("{b:.0}"))
            );
        }
    }
    let total = steps.last().copied().unwrap_or(0);
    let rss_idle = pid.and_then(server::proc_rss_kib);
    let names = realm_names(&args.realm_prefix, total);
    let admin = Arc::new(Admin::new(base, &args.admin_username, password)?);
    let id_token_alg =
        (!args.id_token_alg.eq_ignore_ascii_case("realm")).then_some(args.id_token_alg.as_str());
    let user_password = if args.plain_passwords {
        UserPassword::Plain
    } else {
        UserPassword::hashed().await?
    };
    let blueprint = Blueprint::new(
        &args.access_token_alg,
        id_token_alg,
        &user_password,
        args.provision,
        args.setup_concurrency,
    );
    let realms = Arc::new(
        names
            .iter()
            .map(|n| RealmEp::new(base, n))
            .collect::<Result<Vec<_>>>()?,
    );
    let http = Http::new(args.client, args.concurrency.max(args.setup_concurrency))?;
    let shared = Arc::new(Shared::default());
    let zipf = args.zipf.then_some(args.zipf_exponent);

    let scenarios = scenario::scenarios(&args.scenario);
    let argon2 = if scenarios
        .iter()
        .any(|s| s.mix.iter().any(|(o, _)| o.logs_in()))
    {
        Some(argon2_ceiling().await?)
    } else {
        None
    };
    let run_cfg = RunCfg {
        concurrency: args.concurrency,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        max_requests: args.max_requests,
        server_pid: pid,
        clk_tck,
        setup_concurrency: args.setup_concurrency,
        cores: std::thread::available_parallelism().map_or(1, |c| c.get()),
        wait_idle: Duration::from_secs_f64(args.wait_idle),
        db_comm: args
            .database_url
            .as_ref()
            .map(|_| args.db_process_name.clone()),
        rate: args.rate,
    };
    let step_cfg = StepCfg {
        admin,
        names: &names,
        blueprint: &blueprint,
        scenarios: &scenarios,
        run: &run_cfg,
        argon2: argon2.as_ref(),
        max_other_cpu: args.max_other_cpu,
        retries: args.retries,
        rounds: args.rounds.max(1),
    };
    let mut done = Vec::new();
    let mut from = 0;
    let mut distribution = String::new();
    for &k in steps {
        let target = Arc::new(Target::new(
            http.clone(),
            base,
            Arc::clone(&realms),
            k,
            zipf,
            args.token_realms,
            Arc::clone(&shared),
        )?);
        distribution = target.picker.describe();
        done.push(steps::run_step(&target, from, &step_cfg).await?);
        from = k;
    }
    let curve = (done.len() > 1).then(|| curve::curve(&done, args.rate));

    Ok(Report {
        started_at: stamp.to_owned(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine: server::machine(),
        client: args.client,
        loadgen_threads: args.threads.max(1),
        distribution,
        id_token_alg: id_token_alg.unwrap_or("realm default (RS256)").to_owned(),
        access_token_alg: args.access_token_alg.clone(),
        realms: total,
        concurrency: args.concurrency,
        rate_per_s: args.rate,
        load: match args.rate {
            Some(r) => format!(
                "open loop at {r} requests/s (up to {} in flight)",
                args.concurrency
            ),
            None => format!("closed loop, {} workers", args.concurrency),
        },
        duration_s: args.duration,
        warmup_s: args.warmup,
        token_realms_max: args.token_realms,
        server: None,
        server_rss_idle_mib: rss_idle.map(|k| k as f64 / 1024.0),
        argon2,
        steps: done,
        curve,
        restart: None,
    })
}

/// argon2id verification at the server's default (OWASP) parameters, timed here on an idle
/// server through the server's own bounded pool: one at a time (what one login waits for), then
/// one per core at once, which is the ceiling for password logins. That ceiling is measured, not
/// `cores / one-at-a-time`: a verification fills 19 MiB of memory, and two vCPUs of a VM need not
/// run two of them as fast as one (shared caches, memory bandwidth, the host's other tenants).
async fn argon2_ceiling() -> Result<Argon2Ceiling> {
    use realmgate_crypto::{PasswordHasher, PasswordParams, hash_password_blocking};
    let params = PasswordParams::OWASP;
    let phc = tokio::task::spawn_blocking(move || hash_password_blocking(params, "pw"))
        .await?
        .map_err(|e| anyhow::anyhow!("argon2id: {e}"))?;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    const ALL_CORES_ROUNDS: usize = 16;
    let hasher = PasswordHasher::new(params, cores, cores * ALL_CORES_ROUNDS);
    let verify = |hasher: PasswordHasher, phc: String| async move {
        let verdict = hasher
            .verify("pw".to_owned(), phc)
            .await
            .map_err(|e| anyhow::anyhow!("argon2id: {e}"))?;
        anyhow::ensure!(verdict.ok, "argon2id: the password did not verify");
        Ok(())
    };
    // The median of 9 verifications, one at a time.
    let mut times = Vec::new();
    for _ in 0..9 {
        let t0 = Instant::now();
        verify(hasher.clone(), phc.clone()).await?;
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let per = times.get(times.len() / 2).copied().unwrap_or(1.0);
    // `cores` at a time: the pool's `cores` workers take the queued verifications in turn.
    let n = cores * ALL_CORES_ROUNDS;
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| tokio::spawn(verify(hasher.clone(), phc.clone())))
        .collect();
    for t in tasks {
        t.await??;
    }
    let wall = t0.elapsed().as_secs_f64();
    Ok(Argon2Ceiling {
        verify_ms: per * 1000.0,
        cores,
        cores_times_one_per_s: cores as f64 / per,
        ceiling_per_s: n as f64 / wall,
    })
}
