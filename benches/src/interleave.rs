//! `--interleave` (with `--spawn --curve`): one server per step, each provisioned to its own
//! realm count, and every scenario measured on each server in turn before the next scenario,
//! the order reversed from one scenario block to the next. A p99 of a few hundred
//! microseconds drifts by a third over minutes on a shared VM; a sequential curve measures
//! 100,000 realms half an hour after 10 and reads that drift as a cost of realms. Alternating
//! puts the steps' windows seconds apart, so the drift falls on every step alike.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::Args;
use crate::scenario::{ScenarioResult, Target};
use crate::server;
use crate::setup::{Bench, ServerAt};
use crate::steps::{self, Step};

/// The order of the servers in scenario block `block`: forward, then backward.
pub fn order(servers: usize, block: usize) -> Vec<usize> {
    if block.is_multiple_of(2) {
        (0..servers).collect()
    } else {
        (0..servers).rev().collect()
    }
}

/// Provisions server `i` to `steps[i]` realms, then measures every round of every scenario on
/// each server in turn. Returns the steps, the request distribution and the largest server's
/// RSS before provisioning.
pub async fn drive(
    args: &Args,
    bench: &Bench,
    servers: &[ServerAt],
    steps: &[usize],
) -> Result<(Vec<Step>, String, Option<u64>)> {
    anyhow::ensure!(
        servers.len() == steps.len(),
        "--interleave needs one server per step"
    );
    let rss_idle = servers
        .last()
        .and_then(|s| s.pid)
        .and_then(server::proc_rss_kib);
    let sides = servers
        .iter()
        .map(|s| bench.server(args, s))
        .collect::<Result<Vec<_>>>()?;
    let cfgs: Vec<_> = sides.iter().map(|s| bench.step_cfg(args, s)).collect();
    let targets: Vec<Arc<Target>> = steps
        .iter()
        .zip(&sides)
        .map(|(&k, side)| bench.target(args, side, k))
        .collect::<Result<_>>()?;
    let mut prepared = Vec::new();
    for ((target, cfg), s) in targets.iter().zip(&cfgs).zip(servers) {
        eprintln!("the server at {}:", s.base);
        prepared.push(steps::prepare(target, 0, cfg).await?);
    }
    let mut kept: Vec<Vec<Vec<ScenarioResult>>> = targets
        .iter()
        .map(|_| bench.scenarios.iter().map(|_| Vec::new()).collect())
        .collect();
    let mut block = 0;
    for round in 1..=args.rounds.max(1) {
        for (si, sc) in bench.scenarios.iter().enumerate() {
            for i in order(targets.len(), block) {
                let (Some(target), Some(cfg)) = (targets.get(i), cfgs.get(i)) else {
                    continue;
                };
                let r = steps::measure_round(target, sc, cfg, round).await?;
                if let Some(rounds) = kept.get_mut(i).and_then(|k| k.get_mut(si)) {
                    rounds.push(r);
                }
            }
            block += 1;
        }
    }
    let distribution = targets.last().context("no step")?.picker.describe();
    let done = targets
        .iter()
        .zip(prepared)
        .zip(kept)
        .map(|((t, p), rounds)| steps::finish(t, p, rounds))
        .collect::<Result<Vec<_>>>()?;
    Ok((done, distribution, rss_idle))
}

#[cfg(test)]
mod tests {
    use super::order;

    #[test]
    fn blocks_alternate_direction() {
        assert_eq!(order(3, 0), vec![0, 1, 2]);
        assert_eq!(order(3, 1), vec![2, 1, 0]);
        assert_eq!(order(3, 2), vec![0, 1, 2]);
        assert_eq!(order(1, 1), vec![0]);
    }
}
