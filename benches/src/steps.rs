//! One step of a run: provision realms up to K, warm them up, and run every scenario over the
//! first K realms (rerunning a scenario that other processes disturbed). A run without
//! `--curve` is one step; with `--curve 10,1000,...` every step adds realms to the same server.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result, bail};

use crate::provision::{self, Admin, Blueprint, ProvisionReport};
use crate::report::Argon2Ceiling;
use crate::scenario::{self, RunCfg, Scenario, ScenarioResult, Target};
use crate::server;
use crate::warmup::{self, WarmReport};

/// The figures of one step.
#[derive(Debug, serde::Serialize)]
pub struct Step {
    /// Realms the traffic was spread over (all provisioned so far).
    pub realms: usize,
    pub provisioning: ProvisionReport,
    pub first_tokens: WarmReport,
    /// Server RSS after provisioning and warm-up, before the scenarios.
    pub server_rss_mib: Option<f64>,
    /// Realms whose user tokens the userinfo, introspection and refresh operations used (and
    /// whose JWKS the jwks operation read), spread evenly over all `realms`.
    pub token_realms: usize,
    /// The user tokens over those realms: one per realm, or with `--same-tokens`
    /// `--token-realms` at every step (several per realm where there are fewer realms).
    pub user_tokens: usize,
    /// Password logins and refresh renewals the bench spent getting those tokens.
    pub token_logins: u64,
    pub token_renewals: u64,
    pub scenarios: Vec<ScenarioResult>,
}

/// What a step needs besides the target.
pub struct StepCfg<'a> {
    pub admin: Arc<Admin>,
    pub names: &'a [String],
    pub blueprint: &'a Blueprint,
    pub scenarios: &'a [Scenario],
    pub run: &'a RunCfg,
    pub argon2: Option<&'a Argon2Ceiling>,
    pub max_other_cpu: f64,
    pub retries: u32,
    /// Measurements of every scenario per step (`--rounds`), reported by their median p99.
    pub rounds: u32,
}

/// A step provisioned and warmed up, before its measurements.
pub struct Prepared {
    provisioning: ProvisionReport,
    first_tokens: WarmReport,
    server_rss_mib: Option<f64>,
    logins0: u64,
    renewals0: u64,
}

/// Provisions realms `from..target.active` and measures the step.
pub async fn run_step(target: &Arc<Target>, from: usize, cfg: &StepCfg<'_>) -> Result<Step> {
    let prepared = prepare(target, from, cfg).await?;
    let mut rounds: Vec<Vec<ScenarioResult>> = cfg.scenarios.iter().map(|_| Vec::new()).collect();
    for round in 1..=cfg.rounds {
        for (sc, kept) in cfg.scenarios.iter().zip(rounds.iter_mut()) {
            kept.push(measure_round(target, sc, cfg, round).await?);
        }
    }
    finish(target, prepared, rounds)
}

/// Provisions realms `from..target.active`, gets their first tokens and reads the server's RSS.
pub async fn prepare(target: &Arc<Target>, from: usize, cfg: &StepCfg<'_>) -> Result<Prepared> {
    let k = target.active;
    let names = Arc::new(cfg.names.get(..k).context("realm names")?.to_vec());
    eprintln!(
        "provisioning realms {from}..{k} ({} mode, {} requests in flight per stage) ...",
        match cfg.blueprint.mode {
            provision::ProvisionMode::Pipeline => "pipeline",
            provision::ProvisionMode::Phased => "phased",
        },
        cfg.blueprint.concurrency
    );
    let provisioning =
        provision::provision(Arc::clone(&cfg.admin), names, from, cfg.blueprint).await?;
    eprintln!(
        "  realms created at {:.0}/s; fully provisioned in {:.1} s ({:.1} realms/s)",
        provisioning.realm_creations_per_s, provisioning.seconds, provisioning.realms_per_s
    );
    let first_tokens = warmup::first_tokens(target, from, cfg.run.setup_concurrency).await?;
    eprintln!(
        "  first token of {} realms and first JWKS of {}: {:.1} s, {} failures",
        first_tokens.realms, first_tokens.jwks_realms, first_tokens.seconds, first_tokens.failures
    );
    if from == 0
        && cfg
            .scenarios
            .iter()
            .any(|s| s.mix.iter().any(|(o, _)| *o == scenario::Op::Code))
    {
        let ep = target.realms.first().context("no realm")?;
        crate::code_flow::check(
            &target.http,
            &target.server,
            &ep.base,
            &ep.token,
            &target.basic,
        )
        .await?;
    }
    let server_rss_mib = cfg
        .run
        .server_pid
        .and_then(server::proc_rss_kib)
        .map(|k| k as f64 / 1024.0);
    Ok(Prepared {
        provisioning,
        first_tokens,
        server_rss_mib,
        logins0: target.shared.logins.load(Ordering::Relaxed),
        renewals0: target.shared.renewals.load(Ordering::Relaxed),
    })
}

/// One round of one scenario over the step's realms.
pub async fn measure_round(
    target: &Arc<Target>,
    sc: &Scenario,
    cfg: &StepCfg<'_>,
    round: u32,
) -> Result<ScenarioResult> {
    let of = if cfg.rounds > 1 {
        format!(" (round {round} of {})", cfg.rounds)
    } else {
        String::new()
    };
    eprintln!(
        "  scenario {} over {} realms{of} ...",
        sc.name, target.active
    );
    let r = measure(target, sc, cfg).await?;
    let open = r.open_loop.as_ref().map_or_else(String::new, |o| {
        format!(
            " (sent {:.0}/s of {}/s, {} late)",
            o.achieved_per_s, o.offered_per_s, o.late
        )
    });
    eprintln!(
        "    {:.0} req/s{open}, {} errors, p99 {:.2} ms",
        r.ok_per_s,
        r.error_count(),
        r.latency_ms.p99
    );
    Ok(r)
}

/// The step's figures from its rounds (one list of rounds per scenario).
pub fn finish(
    target: &Target,
    prepared: Prepared,
    rounds: Vec<Vec<ScenarioResult>>,
) -> Result<Step> {
    let results = rounds
        .into_iter()
        .map(median_round)
        .collect::<Option<Vec<_>>>()
        .context("a scenario without a measurement")?;
    Ok(Step {
        realms: target.active,
        provisioning: prepared.provisioning,
        first_tokens: prepared.first_tokens,
        server_rss_mib: prepared.server_rss_mib,
        token_realms: target.sample.distinct_realms(),
        user_tokens: target.sample.realms.len(),
        token_logins: target.shared.logins.load(Ordering::Relaxed) - prepared.logins0,
        token_renewals: target.shared.renewals.load(Ordering::Relaxed) - prepared.renewals0,
        scenarios: results,
    })
}

/// The round with the median p99 (the lower of the two middle ones for an even count), with
/// every round's p99 and the other rounds' error count: a round is kept whole, so its throughput, percentiles and errors stay one window's figures.
fn median_round(mut rounds: Vec<ScenarioResult>) -> Option<ScenarioResult> {
    if rounds.len() < 2 {
        return rounds.pop();
    }
    let p99s: Vec<f64> = rounds.iter().map(|r| r.latency_ms.p99).collect();
    let errors_elsewhere: u64 = rounds.iter().map(ScenarioResult::error_count).sum();
    let mut order: Vec<usize> = (0..rounds.len()).collect();
    order.sort_by(|&a, &b| p99s[a].total_cmp(&p99s[b]));
    let pick = *order.get((rounds.len() - 1) / 2)?;
    let mut r = rounds.swap_remove(pick);
    let elsewhere = errors_elsewhere - r.error_count();
    r.notes.push(format!(
        "median p99 of {} rounds: {}",
        p99s.len(),
        p99s.iter()
            .map(|p| format!("{p:.2}"))
            .collect::<Vec<_>>()
            .join(" / ")
    ));
    if elsewhere > 0 {
        r.notes.push(format!(
            "{elsewhere} errors in the other rounds (see the log)"
        ));
    }
    r.p99_rounds_ms = p99s;
    Some(r)
}

/// One scenario; other processes on the machine (a parallel build) distort the figures, so it
/// runs again, up to `retries` times, and keeps the least disturbed attempt.
async fn measure(target: &Arc<Target>, sc: &Scenario, cfg: &StepCfg<'_>) -> Result<ScenarioResult> {
    let mut attempts = 0;
    let mut best: Option<ScenarioResult> = None;
    loop {
        attempts += 1;
        let r = scenario::run(target, sc, cfg.run)
            .await
            .with_context(|| format!("scenario {}", sc.name))?;
        let other = r.other_cpu_pct.unwrap_or(0.0);
        if best
            .as_ref()
            .is_none_or(|b| other < b.other_cpu_pct.unwrap_or(0.0))
        {
            best = Some(r);
        }
        if other <= cfg.max_other_cpu || attempts > cfg.retries {
            break;
        }
        eprintln!("    other processes used {other:.0}% CPU meanwhile; running it again");
    }
    let Some(mut r) = best else {
        bail!("scenario {} produced no result", sc.name)
    };
    if attempts > 1 {
        r.notes.push(format!(
            "{attempts} attempts (other processes were busy); kept the least disturbed one"
        ));
    }
    if let Some(a) = cfg.argon2 {
        // Logins per second (password grants and code-flow logins) against the ceiling.
        let logins: f64 = if r.per_op.is_empty() {
            if sc.mix.iter().any(|(o, _)| o.logs_in()) {
                r.ok_per_s
            } else {
                0.0
            }
        } else {
            r.per_op
                .iter()
                .filter(|o| o.op == "password" || o.op == "code")
                .map(|o| o.ok_per_s)
                .sum()
        };
        if logins > 0.0 {
            r.notes.push(format!(
                "logins (password grants + code-flow logins) {logins:.1}/s = {:.0}% of the \
                 argon2id ceiling ({:.1}/s on {} cores)",
                logins / a.ceiling_per_s * 100.0,
                a.ceiling_per_s,
                a.cores
            ));
        }
    }
    Ok(r)
}
