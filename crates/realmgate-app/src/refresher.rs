//! [`Refresher`]: the paced queue of background re-reads ahead of the safety TTL (realms,
//! clients, keys, role claims).
//!
//! Refresh-ahead hands a reload to the first reader past an entry's refresh point, so entries
//! read in bursts come due in bursts. A realm whose clients call every few minutes, or a bench
//! round that touches each of 100,000 realms' clients within one 15 s window, claimed 29,000 to
//! 45,000 reloads in that window: ~2,800 store reads a second on top of the traffic, and that
//! window's p99 1.4–1.6× the others' (`docs/performance.md`, thirteenth session). Here a claimed
//! reload waits in a queue, soonest expiry first, and one task releases them every [`TICK`]: at
//! least one per tick, and enough to empty the queue within [`Refresher::drain`], a sixteenth
//! of the TTL. An entry comes due at least an eighth of its TTL before it expires, so a reload
//! claimed at its refresh point runs well before then; one claimed late (its entry idle until
//! just before expiry) goes first, and if it still misses, the first read after the expiry loads
//! as it would have without a refresh.
//!
//! The queue holds closures that build the reload when it runs (a realm name, a client id and an
//! `App` handle), not the reloads' futures, whose size is that of their deepest store call.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often the queue releases reloads.
pub const TICK: Duration = Duration::from_millis(10);

type Reload = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// A reload waiting for its turn.
struct Job {
    expires: Instant,
    /// Submission order, among equal expiries.
    seq: u64,
    what: &'static str,
    start: Box<dyn FnOnce() -> Reload + Send>,
}

impl PartialEq for Job {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Job {}
impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Job {
    /// The heap's top is the soonest expiry (then the oldest submission).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.expires, other.seq).cmp(&(self.expires, self.seq))
    }
}

/// Background reloads, released at a pace set by how many wait.
pub struct Refresher {
    queue: Mutex<BinaryHeap<Job>>,
    wake: tokio::sync::Notify,
    started: AtomicBool,
    seq: AtomicU64,
    drain: Duration,
}

impl Refresher {
    /// A queue for entries that live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            queue: Mutex::new(BinaryHeap::new()),
            wake: tokio::sync::Notify::new(),
            started: AtomicBool::new(false),
            seq: AtomicU64::new(0),
            drain: (ttl / 16).max(TICK),
        }
    }

    /// Within how long a backlog is released: a sixteenth of the TTL.
    pub fn drain(&self) -> Duration {
        self.drain
    }

    /// Reloads waiting for their turn.
    pub fn waiting(&self) -> usize {
        self.lock().len()
    }

    /// Queues `start`'s reload of an entry that expires at `expires`. The first call starts the
    /// releasing task on the current runtime.
    pub fn submit<F, Fut, E>(self: &Arc<Self>, expires: Instant, what: &'static str, start: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let start: Box<dyn FnOnce() -> Reload + Send> =
            Box::new(move || Box::pin(async move { start().await.map_err(|e| e.to_string()) }));
        self.lock().push(Job {
            expires,
            seq,
            what,
            start,
        });
        if !self.started.swap(true, std::sync::atomic::Ordering::AcqRel) {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn(Arc::clone(self).release())),
                // Not on a runtime (no caller of a cache is): the next submit tries again.
                Err(_) => self
                    .started
                    .store(false, std::sync::atomic::Ordering::Release),
            }
        }
        self.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BinaryHeap<Job>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many of `waiting` reloads one tick releases: at least one, and enough to release
    /// them all within [`Refresher::drain`] at the current length.
    fn per_tick(&self, waiting: usize) -> usize {
        let ticks = (self.drain.as_nanos() / TICK.as_nanos()).max(1);
        let ticks = usize::try_from(ticks).unwrap_or(usize::MAX);
        waiting.div_ceil(ticks).max(1)
    }

    /// The releasing task: each tick, the next reloads onto the runtime; asleep while the queue
    /// is empty.
    async fn release(self: Arc<Self>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let batch: Vec<Job> = {
                let mut q = self.lock();
                let n = self.per_tick(q.len());
                std::iter::from_fn(|| q.pop()).take(n).collect()
            };
            if batch.is_empty() {
                // A submit since the check left a permit: this returns at once.
                self.wake.notified().await;
                continue;
            }
            for job in batch {
                crate::ttl_cache::spawn_reload(job.what, (job.start)());
            }
            tick.tick().await;
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_backlog_is_released_within_a_sixteenth_of_the_ttl() {
        let r = Refresher::new(Duration::from_secs(1600));
        assert_eq!(r.drain(), Duration::from_secs(100));
        // 100 s is 10,000 ticks.
        assert_eq!(r.per_tick(0), 1);
        assert_eq!(r.per_tick(1), 1);
        assert_eq!(r.per_tick(10_000), 1);
        assert_eq!(r.per_tick(45_000), 5);
        // A TTL shorter than sixteen ticks releases everything at once.
        let short = Refresher::new(Duration::from_millis(50));
        assert_eq!(short.drain(), TICK);
        assert_eq!(short.per_tick(300), 300);
    }

    /// On one thread, so that every reload is queued before the releasing task first looks.
    #[tokio::test]
    async fn reloads_run_soonest_expiry_first_and_paced() {
        // Drain 160 ms = 16 ticks: 64 waiting go 4 per tick.
        let r = Arc::new(Refresher::new(Duration::from_millis(2560)));
        let order = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let started = Instant::now();
        for i in (0..64u64).rev() {
            let (order, done) = (order.clone(), done.clone());
            r.submit(t0 + Duration::from_secs(i), "test", move || async move {
                order.lock().expect("order").push(i);
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok::<(), String>(())
            });
        }
        while done.load(std::sync::atomic::Ordering::SeqCst) < 64 {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "reloads never ran"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let took = started.elapsed();
        // Paced over ticks, not all at once (at least ~a dozen ticks of 10 ms).
        assert!(took >= Duration::from_millis(100), "released in {took:?}");
        let order = order.lock().expect("order").clone();
        // Within a tick the spawned reloads may finish in any order; across ticks the soonest
        // expiries ran first: the first half of the runs are the first half of the expiries.
        let mut first: Vec<u64> = order[..32].to_vec();
        first.sort_unstable();
        assert!(first.iter().all(|i| *i < 40), "{order:?}");
        assert_eq!(r.waiting(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_reload_does_not_stop_the_queue() {
        let r = Arc::new(Refresher::new(Duration::from_secs(1)));
        let done = Arc::new(AtomicUsize::new(0));
        r.submit(Instant::now(), "test", || async {
            Err::<(), String>("store down".into())
        });
        let d = done.clone();
        r.submit(Instant::now(), "test", move || async move {
            d.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<(), String>(())
        });
        let started = Instant::now();
        while done.load(std::sync::atomic::Ordering::SeqCst) < 1 {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "second reload never ran"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
