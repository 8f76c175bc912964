//! One traffic worker: picks each operation by the scenario's weights, sends it through its own
//! client (`Http::worker`: its own connection with `--client conn`) and tallies the answers of
//! the measured window. In a closed loop it sends its next request as soon as the previous one
//! is answered; with `--rate` it takes the next slot of the shared schedule (`pace.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::pace::{LATE, Schedule};
use crate::scenario::{OPS, Op, RefreshState, Rng, Target};
use crate::stats::micros;
use crate::users::UserTok;

/// What the workers of one scenario share.
pub struct Plan {
    pub target: Arc<Target>,
    pub users: Option<Arc<Vec<UserTok>>>,
    pub mix: Vec<(Op, u32)>,
    /// Requests started so far (warm-up included), against `max_requests`.
    pub started: AtomicU64,
    pub max_requests: u64,
    pub measure_start: Instant,
    pub end: Instant,
    /// `--rate`: the open-loop schedule; `None`: a closed loop.
    pub schedule: Option<Schedule>,
}

/// One operation's answers.
#[derive(Default)]
pub struct OpStats {
    pub lat_us: Vec<u32>,
    pub requests: u64,
    pub errors: BTreeMap<String, u64>,
    pub samples: BTreeMap<String, String>,
}

impl OpStats {
    pub fn merge(&mut self, o: OpStats) {
        self.lat_us.extend(o.lat_us);
        self.requests += o.requests;
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in o.samples {
            self.samples.entry(k).or_insert(v);
        }
    }
}

/// A worker's figures over the measured window.
pub struct Tally {
    /// Indexed like [`OPS`].
    pub ops: Vec<OpStats>,
    pub relogins: u64,
    pub limit_hit: bool,
    /// Open loop: requests that started more than [`LATE`] after they fell due, and the longest
    /// such wait.
    pub late: u64,
    pub max_lag: Duration,
}

impl Tally {
    pub fn new() -> Self {
        Self {
            ops: OPS.iter().map(|_| OpStats::default()).collect(),
            relogins: 0,
            limit_hit: false,
            late: 0,
            max_lag: Duration::ZERO,
        }
    }

    pub fn merge(&mut self, o: Tally) {
        for (m, s) in self.ops.iter_mut().zip(o.ops) {
            m.merge(s);
        }
        self.relogins += o.relogins;
        self.limit_hit |= o.limit_hit;
        self.late += o.late;
        self.max_lag = self.max_lag.max(o.max_lag);
    }
}

fn pick(mix: &[(Op, u32)], total_weight: u32, rng: &mut Rng) -> Option<Op> {
    if let [(op, _)] = mix {
        return Some(*op);
    }
    let mut x = rng.below(u64::from(total_weight)) as u32;
    for &(o, wt) in mix {
        if x < wt {
            return Some(o);
        }
        x -= wt;
    }
    mix.first().map(|(o, _)| *o)
}

/// Worker `w` until the window ends, the request limit is hit or (open loop) the schedule ends.
pub async fn run(plan: Arc<Plan>, w: usize, chain: Option<RefreshState>) -> Tally {
    let mut rng = Rng::new(0x5EED_0000 + w as u64);
    let mut client = plan.target.http.worker();
    let mut refresh = chain;
    let mut tally = Tally::new();
    let total_weight: u32 = plan.mix.iter().map(|(_, w)| *w).sum();
    loop {
        let now = Instant::now();
        if now >= plan.end {
            break;
        }
        if plan.started.fetch_add(1, Ordering::Relaxed) >= plan.max_requests {
            tally.limit_hit = true;
            break;
        }
        // When the request counts from, and (open loop) how long it waited for this worker.
        let (due, lag) = match &plan.schedule {
            None => (now, Duration::ZERO),
            Some(s) => match s.next(plan.end).await {
                Some(slot) => (slot.due, slot.lag),
                None => break,
            },
        };
        let Some(op) = pick(&plan.mix, total_weight, &mut rng) else {
            break;
        };
        let res = plan
            .target
            .send(
                op,
                &mut client,
                &mut rng,
                plan.users.as_deref().map(Vec::as_slice),
                &mut refresh,
                &mut tally.relogins,
            )
            .await;
        if due < plan.measure_start {
            continue;
        }
        if lag > LATE {
            tally.late += 1;
        }
        tally.max_lag = tally.max_lag.max(lag);
        let Some(s) = tally.ops.get_mut(op.index()) else {
            continue;
        };
        s.requests += 1;
        match res {
            Ok((r, took)) if (200..300).contains(&r.status) => s.lat_us.push(micros(took + lag)),
            Ok((r, _)) => {
                let key = r.status.to_string();
                *s.errors.entry(key.clone()).or_default() += 1;
                s.samples.entry(key).or_insert_with(|| {
                    String::from_utf8_lossy(&r.body).chars().take(300).collect()
                });
            }
            Err((label, detail)) => {
                *s.errors.entry(label.clone()).or_default() += 1;
                s.samples.entry(label).or_insert(detail);
            }
        }
    }
    tally
}
