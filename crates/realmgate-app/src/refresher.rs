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
//!
//! Most reloads would find what they re-read unchanged. So a job names its realm, and each tick
//! reads the configuration revisions of all its jobs' realms in one store statement
//! ([`Revisions`], `Store::config_revisions`) and hands each job its realm's: a job whose entry
//! was loaded at that revision renews the entry's TTL without reading anything, and only the
//! others reload. At 100,000 busy realms that is ~10 store statements a second instead of ~300
//! reloads of one to four statements and a transaction each.

use realmgate_domain::RealmId;
use realmgate_store::RealmRevision;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often the queue releases reloads: each tick's jobs share one read of their realms'
/// revisions, so a tick gathers a few dozen at the steady rate of 100,000 busy realms.
pub const TICK: Duration = Duration::from_millis(100);

/// A reload, or the renewal of an entry found unchanged.
pub type Reload = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// What [`Revisions`] answers.
type Answer = Result<Vec<Option<RealmRevision>>, String>;

/// Reads the revisions of realms, in order (`None`: unknown, reload).
pub type Revisions =
    Arc<dyn Fn(Vec<RealmId>) -> Pin<Box<dyn Future<Output = Answer> + Send>> + Send + Sync>;

/// The realm revision (configuration or keys) a cached value was last found current at. A
/// re-read that finds the value unchanged keeps the cached value (its `Arc`) and moves this
/// forward.
#[derive(Debug, Default)]
pub struct SeenAt(AtomicI64);

impl SeenAt {
    pub fn new(rev: i64) -> Self {
        Self(AtomicI64::new(rev))
    }
    pub fn get(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
    pub fn set(&self, rev: i64) {
        self.0.store(rev, std::sync::atomic::Ordering::Release);
    }
}

/// Builds a job's work from its realm's current revisions (`None` when not read).
type Start = Box<dyn FnOnce(Option<RealmRevision>) -> Reload + Send>;

/// A reload waiting for its turn.
struct Job {
    expires: Instant,
    /// Submission order, among equal expiries.
    seq: u64,
    what: &'static str,
    /// The realm whose revision decides whether the entry is re-read.
    realm: Option<RealmId>,
    start: Start,
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
    revisions: Revisions,
}

impl Refresher {
    /// A queue for entries that live `ttl`, reading realms' revisions with `revisions`.
    pub fn new(ttl: Duration, revisions: Revisions) -> Self {
        Self {
            revisions,
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

    /// Queues the refresh of an entry of `realm` that expires at `expires`: in its turn, `start`
    /// gets the realm's current revision (`None` if `realm` is `None` or it could not be read)
    /// and returns the work. The first call starts the releasing task on the current runtime.
    pub fn submit<F>(
        self: &Arc<Self>,
        expires: Instant,
        what: &'static str,
        realm: Option<RealmId>,
        start: F,
    ) where
        F: FnOnce(Option<RealmRevision>) -> Reload + Send + 'static,
    {
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock().push(Job {
            expires,
            seq,
            what,
            realm,
            start: Box::new(start),
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

    /// Within how long of its entry's expiry a job goes in the next tick, whatever the pace: a
    /// quarter of the drain (~28 s at the default TTL), at least two ticks.
    fn urgent(&self) -> Duration {
        (self.drain / 4).max(TICK * 2)
    }

    /// What the tick at `now` releases: its paced share ([`Refresher::per_tick`]), and every job
    /// whose entry expires within [`Refresher::urgent`]. The pace alone bounds how long the
    /// queue takes to empty, not how long one job waits: a refresh claimed late in its entry's
    /// TTL (a realm read once every few minutes, due near the end of its window) could wait
    /// past the expiry behind a long queue, and its entry would expire into a miss on the
    /// request path (1,870 realms' clients, keys and role claims in one run).
    fn next_batch(&self, now: Instant) -> Vec<Job> {
        let mut q = self.lock();
        let n = self.per_tick(q.len());
        let soon = now + self.urgent();
        let mut batch = Vec::with_capacity(n);
        while let Some(top) = q.peek() {
            if batch.len() >= n && top.expires > soon {
                break;
            }
            batch.extend(q.pop());
        }
        batch
    }

    /// The releasing task: each tick, the next reloads onto the runtime; asleep while the queue
    /// is empty.
    async fn release(self: Arc<Self>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let batch = self.next_batch(Instant::now());
            if batch.is_empty() {
                // A submit since the check left a permit: this returns at once.
                self.wake.notified().await;
                continue;
            }
            let (checked, plain): (Vec<Job>, Vec<Job>) =
                batch.into_iter().partition(|j| j.realm.is_some());
            for job in plain {
                crate::ttl_cache::spawn_reload(job.what, (job.start)(None));
            }
            if !checked.is_empty() {
                tokio::spawn(Self::revalidate(self.revisions.clone(), checked));
            }
            tick.tick().await;
        }
    }
}

impl Refresher {
    /// Reads the revisions of `jobs`' realms in one call, then starts each job with its realm's.
    /// A failed read starts them all without one (each reloads, and logs if that fails too).
    async fn revalidate(revisions: Revisions, jobs: Vec<Job>) {
        let realms: Vec<RealmId> = jobs.iter().filter_map(|j| j.realm.clone()).collect();
        let n = realms.len();
        let revs = match revisions(realms).await {
            Ok(revs) if revs.len() == n => revs,
            Ok(_) => vec![None; n],
            Err(e) => {
                tracing::warn!(error = %e, "could not read realms' revisions; re-reading their entries");
                vec![None; n]
            }
        };
        for (job, rev) in jobs.into_iter().zip(revs) {
            crate::ttl_cache::spawn_reload(job.what, (job.start)(rev));
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A [`Revisions`] that never knows (every job reloads): for tests and callers without a store.
    fn no_revisions() -> Revisions {
        Arc::new(|realms: Vec<RealmId>| {
            let n = realms.len();
            Box::pin(async move { Ok(vec![None; n]) })
        })
    }

    fn boxed<F>(f: F) -> Reload
    where
        F: Future<Output = Result<(), String>> + Send + 'static,
    {
        Box::pin(f)
    }

    async fn until(done: &AtomicUsize, n: usize, what: &str) {
        let started = Instant::now();
        while done.load(std::sync::atomic::Ordering::SeqCst) < n {
            assert!(started.elapsed() < Duration::from_secs(10), "{what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[test]
    fn a_backlog_is_released_within_a_sixteenth_of_the_ttl() {
        let r = Refresher::new(Duration::from_secs(1600), no_revisions());
        assert_eq!(r.drain(), Duration::from_secs(100));
        // 100 s is 1,000 ticks.
        assert_eq!(r.per_tick(0), 1);
        assert_eq!(r.per_tick(1), 1);
        assert_eq!(r.per_tick(1_000), 1);
        assert_eq!(r.per_tick(45_000), 45);
        // A TTL shorter than sixteen ticks releases everything at once.
        let short = Refresher::new(Duration::from_millis(50), no_revisions());
        assert_eq!(short.drain(), TICK);
        assert_eq!(short.per_tick(300), 300);
    }

    /// On one thread, so that every reload is queued before the releasing task first looks.
    #[tokio::test]
    async fn reloads_run_soonest_expiry_first_and_paced() {
        // Drain 800 ms = 8 ticks: 32 waiting go 4 per tick.
        let r = Arc::new(Refresher::new(
            Duration::from_millis(12_800),
            no_revisions(),
        ));
        let order = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let started = Instant::now();
        for i in (0..32u64).rev() {
            let (order, done) = (order.clone(), done.clone());
            r.submit(t0 + Duration::from_secs(i), "test", None, move |rev| {
                boxed(async move {
                    assert_eq!(rev, None, "no realm, no revision");
                    order.lock().expect("order").push(i);
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok(())
                })
            });
        }
        until(&done, 32, "reloads never ran").await;
        let took = started.elapsed();
        // Paced over ticks, not all at once (at least ~six ticks of 100 ms).
        assert!(took >= Duration::from_millis(500), "released in {took:?}");
        let order = order.lock().expect("order").clone();
        // Within a tick the spawned reloads may finish in any order; across ticks the soonest
        // expiries ran first: the first half of the runs are the first half of the expiries.
        let mut first: Vec<u64> = order[..16].to_vec();
        first.sort_unstable();
        assert!(first.iter().all(|i| *i < 20), "{order:?}");
        assert_eq!(r.waiting(), 0);
    }

    /// A job whose entry expires soon goes in the next tick, however long the queue.
    #[test]
    fn jobs_near_their_expiry_go_at_once_whatever_the_pace() {
        let r = Arc::new(Refresher::new(Duration::from_secs(1600), no_revisions()));
        assert_eq!(r.urgent(), Duration::from_secs(25));
        let now = Instant::now();
        // 2,000 waiting: the paced share is 2 a tick. 50 of them expire within 25 s.
        for i in 0..2_000u64 {
            let expires = if i < 50 {
                now + Duration::from_secs(1 + i % 20)
            } else {
                now + Duration::from_secs(200 + i)
            };
            r.lock().push(Job {
                expires,
                seq: i,
                what: "test",
                realm: None,
                start: Box::new(|_| boxed(async { Ok(()) })),
            });
        }
        assert_eq!(r.per_tick(2_000), 2);
        let first = r.next_batch(now);
        assert_eq!(
            first.len(),
            50,
            "every urgent job, and the share is within them"
        );
        assert!(first.iter().all(|j| j.expires <= now + r.urgent()));
        let second = r.next_batch(now);
        assert_eq!(second.len(), 2, "then the pace");
        assert_eq!(r.waiting(), 1_948);
    }

    /// Each tick reads its jobs' revisions in one call and hands each job its realm's.
    #[tokio::test]
    async fn a_tick_reads_its_realms_revisions_at_once() {
        let calls = Arc::new(Mutex::new(Vec::<Vec<RealmId>>::new()));
        let seen = calls.clone();
        let revisions: Revisions = Arc::new(move |realms: Vec<RealmId>| {
            seen.lock().expect("calls").push(realms.clone());
            // Realm "r7" is unknown to the store; the others are at revision 10 + their number.
            let revs = realms
                .iter()
                .map(|r| match r.as_str() {
                    "r7" => None,
                    s => s[1..].parse::<i64>().ok().map(|n| RealmRevision {
                        config: 10 + n,
                        keys: 20 + n,
                    }),
                })
                .collect();
            Box::pin(async move { Ok(revs) })
        });
        let r = Arc::new(Refresher::new(Duration::from_secs(1600), revisions));
        let got = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicUsize::new(0));
        for i in 0..8u64 {
            let (got, done) = (got.clone(), done.clone());
            let realm = RealmId(format!("r{i}"));
            r.submit(Instant::now(), "test", Some(realm), move |rev| {
                boxed(async move {
                    got.lock().expect("got").push((i, rev));
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok(())
                })
            });
        }
        until(&done, 8, "jobs never ran").await;
        let mut got = got.lock().expect("got").clone();
        got.sort_unstable_by_key(|(i, _)| *i);
        let want: Vec<(u64, Option<RealmRevision>)> = (0..8u64)
            .map(|i| {
                let n = i as i64;
                let rev = RealmRevision {
                    config: 10 + n,
                    keys: 20 + n,
                };
                (i, (i != 7).then_some(rev))
            })
            .collect();
        assert_eq!(got, want);
        // 8 jobs within one tick's share of a 100 s drain: released one per tick, each tick one
        // read, or all in fewer reads; never more reads than ticks, never a job read twice.
        let calls = calls.lock().expect("calls").clone();
        let read: usize = calls.iter().map(Vec::len).sum();
        assert_eq!(read, 8, "{calls:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_read_or_reload_does_not_stop_the_queue() {
        let failing: Revisions = Arc::new(|_| {
            Box::pin(async { Err::<Vec<Option<RealmRevision>>, _>("store down".to_owned()) })
        });
        let r = Arc::new(Refresher::new(Duration::from_millis(50), failing));
        let done = Arc::new(AtomicUsize::new(0));
        r.submit(Instant::now(), "test", None, |_| {
            boxed(async { Err("store down".to_owned()) })
        });
        let d = done.clone();
        r.submit(
            Instant::now(),
            "test",
            Some(RealmId("r".into())),
            move |rev| {
                boxed(async move {
                    assert_eq!(rev, None, "an unread revision reloads");
                    d.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok(())
                })
            },
        );
        until(&done, 1, "second reload never ran").await;
    }
}
