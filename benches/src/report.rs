//! The run's report: a Markdown summary for stdout and the full JSON document.

use std::fmt::Write as _;

use crate::http::ClientKind;
use crate::provision::ProvisionReport;
use crate::scenario::{ScenarioResult, WarmReport};
use crate::server::Machine;

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

#[derive(Debug, serde::Serialize)]
pub struct Argon2Ceiling {
    /// One argon2id verification at OWASP parameters, measured by the load generator.
    pub verify_ms: f64,
    pub cores: usize,
    /// `cores / verify time`: password logins per second can't exceed this.
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
    pub realms: usize,
    pub concurrency: usize,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub server: Option<ServerInfo>,
    pub server_rss_idle_mib: Option<f64>,
    pub server_rss_provisioned_mib: Option<f64>,
    pub argon2: Option<Argon2Ceiling>,
    pub provisioning: ProvisionReport,
    pub first_tokens: WarmReport,
    pub scenarios: Vec<ScenarioResult>,
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
            match self.client {
                ClientKind::Hyper => "hyper",
                ClientKind::Reqwest => "reqwest",
            },
            self.loadgen_threads
        );
        if let Some(srv) = &self.server {
            let _ = writeln!(
                s,
                "Server: {} store; startup (spawn → /readyz 200) {:.0} ms; shutdown after SIGTERM {} ms; \
                 RSS idle {} MiB, after provisioning {} MiB.\n",
                srv.store,
                srv.startup_ms,
                opt(srv.shutdown_ms, 0),
                opt(self.server_rss_idle_mib, 1),
                opt(self.server_rss_provisioned_mib, 1)
            );
        }
        let p = &self.provisioning;
        let _ = writeln!(
            s,
            "Provisioning: {} realms (realm + client + user each, {} in parallel) in {:.1} s = \
             **{:.1} realms/s**; per call p50/p99 ms: realm {:.1}/{:.1}, client {:.1}/{:.1}, \
             user {:.1}/{:.1}; admin token renewals {}.\n",
            p.realms,
            p.concurrency,
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
        let w = &self.first_tokens;
        let _ = writeln!(
            s,
            "First JWKS + token of each realm (creates its signing keys): {:.1} s for {} realms, \
             p50 {:.1} ms, max {:.1} ms, {} failures.\n",
            w.seconds, self.realms, w.per_realm_ms.p50, w.per_realm_ms.max, w.failures
        );
        if let Some(a) = &self.argon2 {
            let _ = writeln!(
                s,
                "argon2id (OWASP) verify: {:.1} ms → ceiling {:.1} logins/s on {} cores.\n",
                a.verify_ms, a.ceiling_per_s, a.cores
            );
        }
        let _ = writeln!(
            s,
            "Traffic: {} workers, closed loop, {} over {} realms, {} s warm-up + {} s measured per scenario. \
             Access tokens ES256, ID tokens {}. Latency is over 2xx answers. CPU % is of one core (200 = both \
             cores of a 2-core machine); \"db\" is the local Postgres (all its processes), \"other\" every other process on the \
             machine meanwhile.\n",
            self.concurrency,
            self.distribution,
            self.realms,
            self.warmup_s,
            self.duration_s,
            self.id_token_alg
        );
        s.push_str(
            "| scenario | requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms | server CPU % | server CPU µs/req | server RSS MiB (max) | server threads | db CPU % | loadgen CPU % | other CPU % |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for r in &self.scenarios {
            let errors = if r.errors.is_empty() {
                "0".to_owned()
            } else {
                r.errors
                    .iter()
                    .map(|(k, v)| format!("{v}×{k}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {} | {} | {} | {} | {} | {} |",
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
                    "| ↳ {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | | | | | | | |",
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
        let notes: Vec<String> = self
            .scenarios
            .iter()
            .flat_map(|r| {
                let mut n: Vec<String> =
                    r.notes.iter().map(|x| format!("{}: {x}", r.name)).collect();
                if r.relogins > 0 {
                    n.push(format!(
                        "{}: {} refresh chains broke and were restarted with a new login",
                        r.name, r.relogins
                    ));
                }
                if r.hit_request_limit {
                    n.push(format!("{}: stopped at the request limit", r.name));
                }
                for (k, v) in &r.error_samples {
                    n.push(format!("{}: first {k} answer: {v}", r.name));
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
