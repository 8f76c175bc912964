//! The run's report: a Markdown summary for stdout and the full JSON document.

use std::fmt::Write as _;

use crate::curve::Curve;
use crate::http::ClientKind;
use crate::pace::OpenLoop;
use crate::scenario::ScenarioResult;
use crate::server::Machine;
use crate::steps::Step;

#[derive(Debug, serde::Serialize)]
pub struct ServerInfo {
    pub pid: u32,
    pub store: String,
    /// From spawning the process until `/readyz` answered 200.
    pub startup_ms: f64,
    /// From SIGTERM until the process exited.
    pub shutdown_ms: Option<f64>,
    pub log: String,
}

/// The server stopped and started again on the same data after the last step.
#[derive(Debug, serde::Serialize)]
pub struct RestartInfo {
    pub realms: usize,
    /// From spawning the process until `/readyz` answered 200, with every realm in the store.
    pub startup_ms: f64,
    pub rss_ready_mib: Option<f64>,
    /// RSS after a few idle seconds.
    pub rss_idle_mib: Option<f64>,
    pub idle_s: f64,
    /// A client-credentials token from the first and the last realm after the restart.
    pub tokens_ok: bool,
}

#[derive(Debug, serde::Serialize)]
pub struct Argon2Ceiling {
    /// One argon2id verification at OWASP parameters, one at a time, measured by the load
    /// generator through the server's pool.
    pub verify_ms: f64,
    pub cores: usize,
    /// `cores / verify_ms`: what the cores would do if they scaled perfectly.
    pub cores_times_one_per_s: f64,
    /// Verifications per second of wall time with one per core at once: password logins per
    /// second can't exceed this.
    pub ceiling_per_s: f64,
}

#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub started_at: String,
    pub command: String,
    pub machine: Machine,
    pub client: ClientKind,
    pub loadgen_threads: usize,
    pub distribution: String,
    pub id_token_alg: String,
    pub access_token_alg: String,
    /// Realms provisioned in all (the largest step).
    pub realms: usize,
    pub concurrency: usize,
    /// `--rate`: the offered load in requests per second (open loop); `None`: a closed loop.
    pub rate_per_s: Option<f64>,
    /// "closed loop, N workers" or "open loop at R requests/s (up to N in flight)".
    pub load: String,
    pub duration_s: f64,
    pub warmup_s: f64,
    /// `--token-realms`: most realms user tokens are taken from.
    pub token_realms_max: usize,
    /// `--same-tokens`: that many user tokens at every step, also over fewer realms.
    pub same_tokens: bool,
    pub server: Option<ServerInfo>,
    pub server_rss_idle_mib: Option<f64>,
    pub argon2: Option<Argon2Ceiling>,
    /// One per `--curve` step (one without `--curve`).
    pub steps: Vec<Step>,
    pub curve: Option<Curve>,
    pub restart: Option<RestartInfo>,
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |x| format!("{x:.digits$}"))
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(
            s,
            "## loadbench {}\n\nMachine: {} cores ({}), {} MiB, Linux {}. Load generator: {} client, \
             {} runtime thread(s), on the same machine.\n",
            self.started_at,
            m.cores,
            m.cpu_model,
            m.mem_total_mib,
            m.kernel,
            self.client.name(),
            self.loadgen_threads
        );
        if let Some(srv) = &self.server {
            let _ = writeln!(
                s,
                "Server: {} store; startup with an empty store (spawn → /readyz 200) {:.0} ms; shutdown \
                 after SIGTERM {} ms; RSS idle {} MiB.\n",
                srv.store,
                srv.startup_ms,
                opt(srv.shutdown_ms, 0),
                opt(self.server_rss_idle_mib, 1),
            );
        }
        if let Some(a) = &self.argon2 {
            let _ = writeln!(
                s,
                "argon2id (OWASP) verify: {:.1} ms one at a time ({:.1}/s × {} cores); one \
                 per core at once: **ceiling {:.1} logins/s**.\n",
                a.verify_ms,
                1000.0 / a.verify_ms,
                a.cores,
                a.ceiling_per_s
            );
        }
        let _ = writeln!(
            s,
            "Traffic: {}, {} over the step's realms, {} s warm-up + {} s measured per scenario. \
             Access tokens {}, ID tokens {}. userinfo, introspect, refresh and jwks use the token sample (at most {} realms \
             spread evenly over the step's realms{}); cc, password, code and discovery use every realm. \
             Latency is over 2xx answers (code: the whole flow, 3 requests). CPU % is of one core (200 = both \
             cores of a 2-core machine); \"db\" is the local Postgres (all its processes), \"other\" every other process on the \
             machine meanwhile.\n",
            self.load,
            self.distribution,
            self.warmup_s,
            self.duration_s,
            self.access_token_alg,
            self.id_token_alg,
            self.token_realms_max,
            if self.same_tokens {
                "; as many tokens at every step, several per realm where there are fewer realms"
            } else {
                ", one token each"
            }
        );
        if self.rate_per_s.is_some() {
            s.push_str(
                "Open loop: requests fall due at fixed intervals whatever the answers; one that falls due \
                 while every worker is busy waits for one and its latency counts from when it fell due. \
                 \"sent/s\" is the achieved rate, \"late\" the requests that started more than 1 ms after \
                 they fell due (the load was not kept up with), \"max lag\" the longest such wait.\n\n",
            );
        }
        for step in &self.steps {
            step_markdown(&mut s, step);
        }
        if let Some(c) = &self.curve {
            s.push_str(&c.markdown());
            s.push('\n');
        }
        if let Some(r) = &self.restart {
            let _ = writeln!(
                s,
                "Restart on the same data with {} realms: startup (spawn → /readyz 200) **{:.0} ms**; \
                 RSS {} MiB when ready, {} MiB after {:.0} s idle; tokens after the restart {}.\n",
                r.realms,
                r.startup_ms,
                opt(r.rss_ready_mib, 1),
                opt(r.rss_idle_mib, 1),
                r.idle_s,
                if r.tokens_ok { "ok" } else { "FAILED" }
            );
        }
        let notes: Vec<String> = self
            .steps
            .iter()
            .flat_map(|st| st.scenarios.iter().map(move |r| (st.realms, r)))
            .flat_map(|(k, r)| {
                let name = format!("{} @{k}", r.name);
                let mut n: Vec<String> = r.notes.iter().map(|x| format!("{name}: {x}")).collect();
                if r.relogins > 0 {
                    n.push(format!(
                        "{name}: {} refresh chains broke and were restarted with a new login",
                        r.relogins
                    ));
                }
                if r.hit_request_limit {
                    n.push(format!("{name}: stopped at the request limit"));
                }
                for (e, v) in &r.error_samples {
                    n.push(format!("{name}: first {e} answer: {v}"));
                }
                n
            })
            .collect();
        if !notes.is_empty() {
            s.push('\n');
            for n in notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }
}

fn step_markdown(s: &mut String, step: &Step) {
    let p = &step.provisioning;
    let _ = writeln!(s, "### {} realms\n", step.realms);
    let _ = writeln!(
        s,
        "Provisioning realms {}..{} ({} mode, {} requests in flight per stage; user password: {}): \
         realms created in {:.1} s = **{:.0} realm creations/s**; realm + client + user in {:.1} s = \
         **{:.1} realms/s**; per call p50/p99 ms: realm {:.1}/{:.1}, client {:.1}/{:.1}, user {:.1}/{:.1}; \
         admin token renewals {}.\n",
        p.realms_before,
        p.realms_before + p.realms,
        match p.mode {
            crate::provision::ProvisionMode::Pipeline => "pipeline",
            crate::provision::ProvisionMode::Phased => "phased",
        },
        p.concurrency,
        p.password,
        p.realm_seconds,
        p.realm_creations_per_s,
        p.seconds,
        p.realms_per_s,
        p.create_realm_ms.p50,
        p.create_realm_ms.p99,
        p.create_client_ms.p50,
        p.create_client_ms.p99,
        p.create_user_ms.p50,
        p.create_user_ms.p99,
        p.admin_token_renewals
    );
    let w = &step.first_tokens;
    let _ = writeln!(
        s,
        "Warm-up (first token of {} new realms, first JWKS of {} sampled realms: creates their \
         ES256 / RS256 keys): {:.1} s, p50 {:.1} ms, max {:.1} ms, {} failures. Server RSS after it: {} MiB. \
         Token sample: {} realms, {} user tokens ({} password logins, {} refresh renewals).\n",
        w.realms,
        w.jwks_realms,
        w.seconds,
        w.per_realm_ms.p50,
        w.per_realm_ms.max,
        w.failures,
        opt(step.server_rss_mib, 1),
        step.token_realms,
        step.user_tokens,
        step.token_logins,
        step.token_renewals
    );
    s.push_str(&scenario_table(&step.scenarios));
    s.push('\n');
}

fn scenario_table(scenarios: &[ScenarioResult]) -> String {
    // Open loop: the achieved rate and the late starts after the answered req/s.
    let open = scenarios.iter().any(|r| r.open_loop.is_some());
    let (open_head, open_rule, open_blank) = if open {
        (" sent/s | late | max lag ms |", "---:|---:|---:|", " | | |")
    } else {
        ("", "", "")
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| scenario | requests | errors | req/s |{open_head} p50 ms | p95 ms | p99 ms | max ms | server CPU % | server CPU µs/req | server RSS MiB (max) | server threads | db CPU % | loadgen CPU % | other CPU % |\n\
         |---|---:|---:|---:|{open_rule}---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in scenarios {
        let errors = if r.errors.is_empty() {
            "0".to_owned()
        } else {
            r.errors
                .iter()
                .map(|(k, v)| format!("{v}×{k}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let open_cells = match (&r.open_loop, open) {
            (Some(o), _) => open_cells(o),
            (None, true) => open_blank.to_owned(),
            (None, false) => String::new(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.0} |{open_cells} {:.2} | {:.2} | {:.2} | {:.1} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.requests,
            errors,
            r.ok_per_s,
            r.latency_ms.p50,
            r.latency_ms.p95,
            r.latency_ms.p99,
            r.latency_ms.max,
            opt(r.server.cpu_pct, 0),
            opt(r.server.cpu_us_per_request, 0),
            opt(r.server.rss_max_mib, 1),
            r.server
                .threads
                .map_or_else(|| "–".to_owned(), |t| t.to_string()),
            opt(r.db_cpu_pct, 0),
            opt(r.loadgen_cpu_pct, 0),
            opt(r.other_cpu_pct, 0),
        );
        for o in &r.per_op {
            let _ = writeln!(
                s,
                "| ↳ {} | {} | {} | {:.0} |{open_blank} {:.2} | {:.2} | {:.2} | {:.1} | | | | | | | |",
                o.op,
                o.requests,
                o.errors.values().sum::<u64>(),
                o.ok_per_s,
                o.latency_ms.p50,
                o.latency_ms.p95,
                o.latency_ms.p99,
                o.latency_ms.max,
            );
        }
    }
    s
}

/// " sent/s | late | max lag ms |" cells of an open-loop scenario.
fn open_cells(o: &OpenLoop) -> String {
    format!(
        " {:.0} of {} | {} | {:.1} |",
        o.achieved_per_s, o.offered_per_s, o.late, o.max_lag_ms
    )
}

/// UTC now as `YYYYMMDDTHHMMSSZ` (the report's name; wall-clock time is the point here).
#[allow(clippy::disallowed_methods)]
pub fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
