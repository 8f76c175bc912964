//! `--rate R`: the open loop. Requests fall due at fixed intervals (the i-th at `begin + i / R`,
//! R per second in all), whatever the server's answers; the workers share that schedule, each
//! taking the next slot when it is free and waiting for it to fall due, so up to `--concurrency`
//! requests are in flight. A slot that falls due while every worker is busy waits for one: its
//! latency counts from when it fell due, not from when it was sent (no coordinated omission),
//! and it is tallied as late when that wait exceeds [`LATE`], which shows the server (or the
//! generator) did not keep up with the offered load. A slot taken up before it fell due is timed
//! from its send: tokio's timer wakes up to ~1 ms after the due time, the generator's slack
//! rather than the server's, and the schedule itself does not drift.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::time::sleep_until;

/// A request that started this much after it fell due is late.
pub const LATE: Duration = Duration::from_millis(1);

/// The shared schedule.
pub struct Schedule {
    begin: Instant,
    per_s: f64,
    next: AtomicU64,
}

/// One request's place in the schedule.
pub struct Slot {
    /// When it fell due.
    pub due: Instant,
    /// How long it waited for a free worker after `due` (zero when a worker was waiting for it).
    pub lag: Duration,
}

impl Schedule {
    /// `per_s` requests per second from `begin`.
    pub fn new(begin: Instant, per_s: f64) -> Self {
        Self {
            begin,
            per_s,
            next: AtomicU64::new(0),
        }
    }

    /// Takes the next slot and waits until it falls due; `None` when it falls at or after `end`.
    pub async fn next(&self, end: Instant) -> Option<Slot> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let offset = Duration::try_from_secs_f64(i as f64 / self.per_s).ok()?;
        let due = self.begin.checked_add(offset)?;
        if due >= end {
            return None;
        }
        let now = Instant::now();
        if now < due {
            sleep_until(due.into()).await;
            Some(Slot {
                due,
                lag: Duration::ZERO,
            })
        } else {
            Some(Slot {
                due,
                lag: now - due,
            })
        }
    }
}

/// A scenario's open-loop figures.
#[derive(Debug, serde::Serialize)]
pub struct OpenLoop {
    /// Requests per second asked for (`--rate`; a code flow is one request).
    pub offered_per_s: f64,
    /// Requests sent per second in the measured window: below `offered_per_s` when the
    /// workers could not keep up.
    pub achieved_per_s: f64,
    /// Requests that fell due while every worker was busy and started more than 1 ms late.
    pub late: u64,
    /// The longest such wait.
    pub max_lag_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_evenly_spaced_and_stop_at_the_end() {
        let begin = Instant::now();
        let s = Schedule::new(begin, 1000.0);
        let end = begin + Duration::from_millis(5);
        let mut dues = Vec::new();
        while let Some(slot) = s.next(end).await {
            dues.push(slot.due.duration_since(begin));
        }
        assert_eq!(dues.len(), 5);
        assert_eq!(dues.get(3).copied(), Some(Duration::from_millis(3)));
        // Taken up long after it fell due: late by the wait.
        let s = Schedule::new(begin, 1000.0);
        tokio::time::sleep(Duration::from_millis(3)).await;
        let first = s.next(end).await.map(|x| x.lag);
        assert!(first.is_some_and(|lag| lag >= Duration::from_millis(3)));
    }
}
