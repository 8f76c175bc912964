//! The scaling curve (`--curve 10,1000,10000,100000`): the same scenarios over the first K
//! realms of one server at each K (or, with `--interleave`, over the K realms of one server per
//! K, measured in alternation), summarised per operation as throughput, p99 and the ratio
//! p99(K) / p99(smallest K). In a closed loop at saturation p99 mirrors the CPU per request; with
//! `--rate` every step gets the same offered load, so the ratio compares latency at equal load.

use std::fmt::Write as _;

use crate::ratio_ci::ratio_interval;
use crate::steps::Step;

/// Parses `10,1000,1e4`-style lists (plain integers, `_` or `,` thousands separators are not
/// accepted inside a number: the comma separates steps) into sorted distinct positive steps.
pub fn parse_steps(s: &str) -> Result<Vec<usize>, String> {
    let mut steps = s
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.replace('_', "")
                .parse::<usize>()
                .map_err(|_| format!("bad --curve step '{x}'"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    steps.sort_unstable();
    steps.dedup();
    if steps.is_empty() || steps.first() == Some(&0) {
        return Err("--curve needs realm counts of at least 1, e.g. 10,1000,10000".to_owned());
    }
    Ok(steps)
}

#[derive(Debug, serde::Serialize)]
pub struct Point {
    pub realms: usize,
    pub ok_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// p99 here / p99 at the smallest step.
    pub p99_ratio: Option<f64>,
    /// `--rounds`: every round's p99 (`p99_ms` is their median).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub p99_rounds_ms: Vec<f64>,
    /// With three rounds or more on both sides: the 90% bootstrap interval of `p99_ratio`
    /// (`ratio_ci.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_ratio_90: Option<[f64; 2]>,
    pub errors: u64,
    /// Open loop (scenario rows): requests that started more than 1 ms after they fell due.
    pub late: Option<u64>,
}

#[derive(Debug, serde::Serialize)]
pub struct Row {
    /// A scenario, or `mixed/<op>` for an operation within the mixed scenario.
    pub op: String,
    pub points: Vec<Point>,
}

#[derive(Debug, serde::Serialize)]
pub struct Curve {
    pub steps: Vec<usize>,
    /// `--rate`: the offered load of every step (requests/s); `None`: a closed loop.
    pub rate_per_s: Option<f64>,
    /// `--interleave`: one server per step, the steps' rounds measured in alternation.
    pub interleaved: bool,
    pub rows: Vec<Row>,
    /// Per step: realm creation rate, full provisioning rate and server RSS after provisioning.
    pub realm_creations_per_s: Vec<f64>,
    pub provisioned_per_s: Vec<f64>,
    pub server_rss_mib: Vec<Option<f64>>,
}

/// One row's figures at one step.
struct Figures {
    op: String,
    ok_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    p99_rounds_ms: Vec<f64>,
    errors: u64,
    late: Option<u64>,
}

/// The figures of every scenario and mixed sub-operation of a step.
fn figures(step: &Step) -> Vec<Figures> {
    let mut out = Vec::new();
    for r in &step.scenarios {
        out.push(Figures {
            op: r.name.to_owned(),
            ok_per_s: r.ok_per_s,
            p50_ms: r.latency_ms.p50,
            p99_ms: r.latency_ms.p99,
            p99_rounds_ms: r.p99_rounds_ms.clone(),
            errors: r.error_count() + r.other_rounds_errors,
            late: r.open_loop.as_ref().map(|o| o.late),
        });
        for o in &r.per_op {
            out.push(Figures {
                op: format!("{}/{}", r.name, o.op),
                ok_per_s: o.ok_per_s,
                p50_ms: o.latency_ms.p50,
                p99_ms: o.latency_ms.p99,
                p99_rounds_ms: Vec::new(),
                errors: o.errors.values().sum(),
                late: None,
            });
        }
    }
    out
}

pub fn curve(steps: &[Step], rate_per_s: Option<f64>, interleaved: bool) -> Curve {
    let mut rows: Vec<Row> = Vec::new();
    for step in steps {
        for f in figures(step) {
            let Figures {
                op,
                ok_per_s,
                p50_ms,
                p99_ms,
                p99_rounds_ms,
                errors,
                late,
            } = f;
            let row = match rows.iter_mut().position(|r| r.op == op) {
                Some(i) => &mut rows[i],
                None => {
                    rows.push(Row {
                        op: op.clone(),
                        points: Vec::new(),
                    });
                    let last = rows.len() - 1;
                    &mut rows[last]
                }
            };
            let base = row.points.first().map(|p| p.p99_ms);
            let p99_ratio_90 = row
                .points
                .first()
                .and_then(|b| ratio_interval(&b.p99_rounds_ms, &p99_rounds_ms))
                .map(|(lo, hi)| [lo, hi]);
            row.points.push(Point {
                realms: step.realms,
                ok_per_s,
                p50_ms,
                p99_ms,
                p99_ratio: base.filter(|b| *b > 0.0).map(|b| p99_ms / b),
                p99_rounds_ms,
                p99_ratio_90,
                errors,
                late,
            });
        }
    }
    Curve {
        steps: steps.iter().map(|s| s.realms).collect(),
        rate_per_s,
        interleaved,
        rows,
        realm_creations_per_s: steps
            .iter()
            .map(|s| s.provisioning.realm_creations_per_s)
            .collect(),
        provisioned_per_s: steps.iter().map(|s| s.provisioning.realms_per_s).collect(),
        server_rss_mib: steps.iter().map(|s| s.server_rss_mib).collect(),
    }
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Curve {
    fn has_intervals(&self) -> bool {
        self.rows
            .iter()
            .any(|r| r.points.iter().any(|p| p.p99_ratio_90.is_some()))
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let load = match self.rate_per_s {
            Some(r) => format!(
                "at the same offered load, {r} requests/s per scenario (open loop; \"req/s\" is \
                 what was answered)"
            ),
            None => "in a closed loop".to_owned(),
        };
        let servers = if self.interleaved {
            "the K realms of one server per K, each scenario measured on every server in turn \
             (the order reversed from one scenario to the next)"
        } else {
            "the first K realms of one server"
        };
        let _ = writeln!(
            s,
            "### Scaling curve\n\nThe same scenarios over {servers}, {load}; \
             \"×p99\" is p99 at K over p99 at K = {}{}.\n",
            thousands(self.steps.first().copied().unwrap_or(0)),
            if self.has_intervals() {
                ", and in brackets its 90% bootstrap interval over the rounds (an upper end \
                 under a bound: within it with ~95% confidence)"
            } else {
                ""
            }
        );
        // Per step: req/s and p99, and from the second step on the p99 ratio.
        let cols = |i: usize| if i == 0 { 2 } else { 3 };
        s.push_str("| operation |");
        for (i, k) in self.steps.iter().enumerate() {
            let k = thousands(*k);
            let _ = write!(s, " req/s @{k} | p99 ms @{k} |");
            if i > 0 {
                let _ = write!(s, " ×p99 @{k} |");
            }
        }
        s.push_str("\n|---|");
        for i in 0..self.steps.len() {
            s.push_str(&"---:|".repeat(cols(i)));
        }
        s.push('\n');
        for row in &self.rows {
            let _ = write!(s, "| {} |", row.op);
            for (i, k) in self.steps.iter().enumerate() {
                match row.points.iter().find(|p| p.realms == *k) {
                    Some(p) => {
                        let _ = write!(s, " {:.0} | {:.2} |", p.ok_per_s, p.p99_ms);
                        if i > 0 {
                            let mut ratio = p
                                .p99_ratio
                                .map_or_else(|| "–".to_owned(), |r| format!("{r:.2}"));
                            if let Some([lo, hi]) = p.p99_ratio_90 {
                                let _ = write!(ratio, " ({lo:.2}–{hi:.2})");
                            }
                            let _ = write!(s, " {ratio} |");
                        }
                    }
                    None => s.push_str(&" |".repeat(cols(i))),
                }
            }
            s.push('\n');
        }
        let late: Vec<u64> = self
            .steps
            .iter()
            .map(|k| {
                self.rows
                    .iter()
                    .filter_map(|r| r.points.iter().find(|p| p.realms == *k)?.late)
                    .sum()
            })
            .collect();
        let mut extra = |label: &str, values: Vec<String>| {
            let _ = write!(s, "| {label} |");
            for (i, v) in values.iter().enumerate() {
                let _ = write!(s, " {v}{}", " |".repeat(cols(i)));
            }
            s.push('\n');
        };
        if self.rate_per_s.is_some() {
            extra(
                "requests started >1 ms late (all scenarios)",
                late.iter().map(u64::to_string).collect(),
            );
        }
        extra(
            "realm creations/s (that step's new realms)",
            self.realm_creations_per_s
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect(),
        );
        extra(
            "realms provisioned/s (realm + client + user)",
            self.provisioned_per_s
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect(),
        );
        extra(
            "server RSS MiB after provisioning",
            self.server_rss_mib
                .iter()
                .map(|r| r.map_or_else(|| "–".to_owned(), |m| format!("{m:.0}")))
                .collect(),
        );
        let rounds: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r.points.iter().any(|p| !p.p99_rounds_ms.is_empty()))
            .map(|r| {
                let per_step: Vec<String> = r
                    .points
                    .iter()
                    .map(|p| {
                        let ms: Vec<String> =
                            p.p99_rounds_ms.iter().map(|m| format!("{m:.2}")).collect();
                        format!("{} @{}", ms.join(" / "), thousands(p.realms))
                    })
                    .collect();
                format!("- {}: {}", r.op, per_step.join("; "))
            })
            .collect();
        if !rounds.is_empty() {
            s.push_str("\nEach p99 above is the median of its rounds; every round's p99 (ms):\n\n");
            s.push_str(&rounds.join("\n"));
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_sorted_and_distinct() {
        assert_eq!(
            parse_steps("1000,10, 100_000,10000,10"),
            Ok(vec![10, 1000, 10_000, 100_000])
        );
        assert!(parse_steps("0,10").is_err());
        assert!(parse_steps("ten").is_err());
        assert!(parse_steps("").is_err());
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(10), "10");
        assert_eq!(thousands(1000), "1,000");
    }
}
