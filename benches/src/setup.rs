//! What every step of a run shares, whichever server it measures: the realm names, the
//! provisioning blueprint, the load generator's HTTP client, the scenarios, the argon2id
//! ceiling and the run settings; and the report built from the measured steps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::Args;
use crate::curve;
use crate::http::Http;
use crate::provision::{Admin, Blueprint, UserPassword, realm_names};
use crate::report::{Argon2Ceiling, Report};
use crate::scenario::{self, RealmEp, RunCfg, Scenario, Target};
use crate::server;
use crate::steps::{Step, StepCfg};
use crate::users::Shared;

pub struct Bench {
    pub names: Vec<String>,
    pub blueprint: Blueprint,
    pub http: Http,
    pub zipf: Option<f64>,
    pub scenarios: Vec<Scenario>,
    pub argon2: Option<Argon2Ceiling>,
    /// The run settings; `server_pid` is set per server.
    pub run: RunCfg,
    id_token_alg: Option<String>,
}

/// A ready server: its base URL, master admin password and process (to sample).
pub struct ServerAt {
    pub base: String,
    pub password: String,
    pub pid: Option<u32>,
}

/// One server's side of a run: its admin client, realm endpoints and user tokens.
pub struct ServerSide {
    pub base: String,
    pub admin: Arc<Admin>,
    pub realms: Arc<Vec<RealmEp>>,
    pub shared: Arc<Shared>,
    pub run: RunCfg,
}

impl Bench {
    /// Waits for an idle machine, then prepares everything that doesn't depend on a server.
    pub async fn new(args: &Args, total: usize, clk_tck: f64) -> Result<Self> {
        if args.wait_idle > 0.0 {
            let (waited, busy) = scenario::wait_idle(Duration::from_secs_f64(args.wait_idle)).await;
            if waited > 1.5 {
                eprintln!(
                    "waited {waited:.0} s for the machine to be idle (last {}% busy)",
                    busy.map_or_else(|| "?".to_owned(), |b| format!("{b:.0}"))
                );
            }
        }
        let id_token_alg =
            (!args.id_token_alg.eq_ignore_ascii_case("realm")).then(|| args.id_token_alg.clone());
        let user_password = if args.plain_passwords {
            UserPassword::Plain
        } else {
            UserPassword::hashed().await?
        };
        let blueprint = Blueprint::new(
            &args.access_token_alg,
            id_token_alg.as_deref(),
            &user_password,
            args.provision,
            args.setup_concurrency,
        );
        let scenarios = scenario::scenarios(&args.scenario);
        let argon2 = if scenarios
            .iter()
            .any(|s| s.mix.iter().any(|(o, _)| o.logs_in()))
        {
            Some(argon2_ceiling().await?)
        } else {
            None
        };
        let run = RunCfg {
            concurrency: args.concurrency,
            warmup: Duration::from_secs_f64(args.warmup),
            duration: Duration::from_secs_f64(args.duration),
            max_requests: args.max_requests,
            server_pid: None,
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
        Ok(Self {
            names: realm_names(&args.realm_prefix, total),
            blueprint,
            http: Http::new(args.client, args.concurrency.max(args.setup_concurrency))?,
            zipf: args.zipf.then_some(args.zipf_exponent),
            scenarios,
            argon2,
            run,
            id_token_alg,
        })
    }

    /// The bench's side of a server.
    pub fn server(&self, args: &Args, at: &ServerAt) -> Result<ServerSide> {
        let mut run = self.run.clone();
        run.server_pid = at.pid;
        let base = at.base.as_str();
        Ok(ServerSide {
            base: base.to_owned(),
            admin: Arc::new(Admin::new(base, &args.admin_username, &at.password)?),
            realms: Arc::new(
                self.names
                    .iter()
                    .map(|n| RealmEp::new(base, n))
                    .collect::<Result<Vec<_>>>()?,
            ),
            shared: Arc::new(Shared::default()),
            run,
        })
    }

    /// Traffic over the first `k` realms of a server.
    pub fn target(&self, args: &Args, side: &ServerSide, k: usize) -> Result<Arc<Target>> {
        Ok(Arc::new(Target::new(
            self.http.clone(),
            &side.base,
            Arc::clone(&side.realms),
            k,
            self.zipf,
            crate::users::SampleSize {
                max: args.token_realms,
                same_tokens: args.same_tokens,
            },
            Arc::clone(&side.shared),
        )?))
    }

    pub fn step_cfg<'a>(&'a self, args: &Args, side: &'a ServerSide) -> StepCfg<'a> {
        StepCfg {
            admin: Arc::clone(&side.admin),
            names: &self.names,
            blueprint: &self.blueprint,
            scenarios: &self.scenarios,
            run: &side.run,
            argon2: self.argon2.as_ref(),
            max_other_cpu: args.max_other_cpu,
            retries: args.retries,
            rounds: args.rounds.max(1),
        }
    }

    /// The report of the measured steps (the server, startup and restart are filled in later).
    pub fn report(
        self,
        args: &Args,
        stamp: &str,
        steps: Vec<Step>,
        distribution: String,
        rss_idle_kib: Option<u64>,
        interleaved: bool,
    ) -> Report {
        let curve = (steps.len() > 1).then(|| curve::curve(&steps, args.rate, interleaved));
        Report {
            started_at: stamp.to_owned(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            machine: server::machine(),
            client: args.client,
            loadgen_threads: args.threads.max(1),
            distribution,
            id_token_alg: self
                .id_token_alg
                .unwrap_or_else(|| "realm default (RS256)".to_owned()),
            access_token_alg: args.access_token_alg.clone(),
            realms: self.names.len(),
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
            same_tokens: args.same_tokens,
            server: None,
            server_rss_idle_mib: rss_idle_kib.map(|k| k as f64 / 1024.0),
            argon2: self.argon2,
            steps,
            curve,
            restart: None,
        }
    }
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
