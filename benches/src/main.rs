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
mod interleave;
mod pace;
mod provision;
mod ratio_ci;
mod raw;
mod report;
mod scenario;
mod server;
mod setup;
mod stats;
mod steps;
mod users;
mod warmup;
mod worker;

#[cfg(test)]
mod selftest;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::http::ClientKind;
use crate::provision::{ProvisionMode, realm_names};
use crate::report::{RestartInfo, ServerInfo};
use crate::scenario::ScenarioArg;
use crate::setup::{Bench, ServerAt};
use crate::steps::Step;

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
    /// With --spawn and --curve: one server per step, each provisioned to its own realm count,
    /// and every scenario measured on each server in turn (the order reversed from one scenario
    /// to the next) instead of one server grown step by step: the steps' windows are seconds
    /// apart, not half an hour, so the machine's drift falls on every step alike.
    #[arg(long, requires_all = ["spawn", "curve"])]
    interleave: bool,
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
    /// Use `--token-realms` user tokens at every step, also where there are fewer realms (each
    /// realm's user logged in several times), so the steps of a curve differ in their realm
    /// count only, not in how many distinct tokens the traffic carries.
    #[arg(long)]
    same_tokens: bool,
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
    if args.interleave && steps.len() < 2 {
        bail!("--interleave needs a --curve of at least two steps");
    }
    let stamp = report::timestamp();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let clk_tck = server::clock_ticks();

    // The servers: one per step with --interleave, one with --spawn, none with --url.
    let count = match (args.spawn, args.interleave) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => steps.len(),
    };
    let mut spawned: Vec<server::Spawned> = Vec::new();
    for i in 0..count {
        let tag = if count > 1 {
            format!("{stamp}-{i}")
        } else {
            stamp.clone()
        };
        let log = args.out.join(format!("loadbench-{tag}-server.log"));
        eprintln!("starting {} ...", args.server_bin.display());
        let s =
            match server::Spawned::start(&args.server_bin, args.database_url.as_deref(), log, &tag)
                .await
            {
                Ok(s) => s,
                Err(e) => {
                    stop_all(spawned, None).await;
                    return Err(e);
                }
            };
        eprintln!(
            "server pid {} ready at {} after {:.0} ms",
            s.pid,
            s.base_url,
            s.startup.as_secs_f64() * 1000.0
        );
        spawned.push(s);
    }

    let mut result = measure(&args, &steps, &spawned, clk_tck, &stamp).await;
    // The largest (or only) spawned server is the one restarted and reported.
    if let (Ok(report), Some(s)) = (result.as_mut(), spawned.last_mut())
        && !args.no_restart
    {
        eprintln!("restarting the server on the same data ({total} realms) ...");
        match restart(s, &args, total).await {
            Ok(r) => report.restart = Some(r),
            Err(e) => eprintln!("restart: {e:#}"),
        }
    }
    let mut server_info = spawned.last().map(|s| ServerInfo {
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
    stop_all(spawned, server_info.as_mut()).await;

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

/// Stops the spawned servers (the last one's shutdown time goes into `info`) and shows the
/// tail of any log with errors.
async fn stop_all(spawned: Vec<server::Spawned>, mut info: Option<&mut ServerInfo>) {
    let last = spawned.len().saturating_sub(1);
    for (i, s) in spawned.into_iter().enumerate() {
        let log_path = s.log_path.clone();
        match s.stop().await {
            Ok(Some(d)) => {
                if i == last
                    && let Some(info) = info.as_deref_mut()
                {
                    info.shutdown_ms = Some(d.as_secs_f64() * 1000.0);
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
}

/// Every step against the ready servers: the spawned ones, or the one at `--url`.
async fn measure(
    args: &Args,
    steps: &[usize],
    spawned: &[server::Spawned],
    clk_tck: f64,
    stamp: &str,
) -> Result<report::Report> {
    let total = steps.last().copied().unwrap_or(0);
    let bench = Bench::new(args, total, clk_tck).await?;
    let spawned: Vec<ServerAt> = spawned
        .iter()
        .map(|s| ServerAt {
            base: s.base_url.clone(),
            password: s.admin_password.clone(),
            pid: Some(s.pid),
        })
        .collect();
    let (done, distribution, rss_idle) = if args.interleave {
        interleave::drive(args, &bench, &spawned, steps).await?
    } else if let Some(s) = spawned.first() {
        sequential(args, &bench, s, steps).await?
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
        let at = ServerAt {
            base: url.trim_end_matches('/').to_owned(),
            password: pw,
            pid: args.server_pid,
        };
        sequential(args, &bench, &at, steps).await?
    };
    Ok(bench.report(args, stamp, done, distribution, rss_idle, args.interleave))
}

/// One server grown step by step: every step provisions the realms it adds and measures
/// over all of them. Returns the steps, the request distribution and the RSS before provisioning.
async fn sequential(
    args: &Args,
    bench: &Bench,
    at: &ServerAt,
    steps: &[usize],
) -> Result<(Vec<Step>, String, Option<u64>)> {
    let rss_idle = at.pid.and_then(server::proc_rss_kib);
    let side = bench.server(args, at)?;
    let cfg = bench.step_cfg(args, &side);
    let mut done = Vec::new();
    let mut from = 0;
    let mut distribution = String::new();
    for &k in steps {
        let target = bench.target(args, &side, k)?;
        distribution = target.picker.describe();
        done.push(steps::run_step(&target, from, &cfg).await?);
        from = k;
    }
    Ok((done, distribution, rss_idle))
}

/// Restarts the spawned server on its data, then reads its RSS when ready and after idling,
/// and checks that the first and last realm still issue tokens.
async fn restart(s: &mut server::Spawned, args: &Args, total: usize) -> Result<RestartInfo> {
    let startup = s.restart().await?;
    let base = s.base_url.clone();
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
