//! Latency summaries from exact samples (a sorted `Vec` of microseconds: a 10 s run at a few
//! thousand requests per second is well under a megabyte).

use std::time::Duration;

/// Latency percentiles in milliseconds (nearest-rank).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// From samples in microseconds (sorted here).
    pub fn of_micros(mut us: Vec<u32>) -> Self {
        if us.is_empty() {
            return Self::default();
        }
        us.sort_unstable();
        let n = us.len();
        let at = |p: f64| {
            let rank = ((p / 100.0) * n as f64).ceil() as usize;
            f64::from(us[rank.clamp(1, n) - 1]) / 1000.0
        };
        let sum: u64 = us.iter().map(|&u| u64::from(u)).sum();
        Self {
            n,
            mean: sum as f64 / n as f64 / 1000.0,
            p50: at(50.0),
            p95: at(95.0),
            p99: at(99.0),
            max: at(100.0),
        }
    }

    pub fn of_durations(d: Vec<Duration>) -> Self {
        Self::of_micros(d.into_iter().map(micros).collect())
    }
}

/// A duration in whole microseconds, saturating at ~71 minutes.
pub fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Summary::of_micros((1..=100).map(|i| i * 1000).rev().collect());
        assert_eq!(s.n, 100);
        assert!((s.p50 - 50.0).abs() < 1e-9);
        assert!((s.p95 - 95.0).abs() < 1e-9);
        assert!((s.p99 - 99.0).abs() < 1e-9);
        assert!((s.max - 100.0).abs() < 1e-9);
        assert!((s.mean - 50.5).abs() < 1e-9);
        assert_eq!(Summary::of_micros(Vec::new()).n, 0);
    }
}
