//! [`TtlCache`]: the bounded map behind every hot-path cache. Entries are evicted by count
//! (`quick_cache`'s S3-FIFO: an entry read once goes before one read again) and expire a fixed
//! time after they were stored.
//!
//! A read is a hash, a shard's read lock, a table probe and a clone of the value (an `Arc` or a
//! small copy). moka, used before, cost ~2.5 µs per read under the client-credentials load: a
//! lock-free table under an epoch guard, plus recording every read in a channel that its
//! housekeeping then drained into access-order lists, inline on the reading task. Four reads per
//! token made that ~10% of the server's CPU per token (`docs/performance.md`, seventh session).
//!
//! [`TtlCache::lookup`] refreshes ahead: an entry read past its refresh point is still served,
//! and one reader is handed a [`Refresh`] to reload it in the background, so a busy entry is
//! replaced before it expires and no request waits for the store because an entry got old.
//! Nothing is served past its TTL: an entry nobody refreshed in time expires as before.
//!
//! The reader that claims the refresh marks the entry itself (its refresh point moves to its
//! expiry, under the shard's write lock, once per refresh): every other key stays claimable. A
//! fixed array of flags shared by keys, used before, let a reload waiting in the paced queue
//! (`crate::refresher`) keep the other keys of its flag from being refreshed, until their TTL.
//!
//! Each entry's refresh point is drawn when it is stored, between half and seven eighths of its
//! TTL. Entries stored together (a restart's first minutes of traffic, a warm-up, a bulk import)
//! would otherwise all come due in the same last eighth: at 100,000 busy realms, the realm,
//! client, role-claims and key entries of every realm within the same 3.75 minutes of a 30-minute
//! TTL, ~1,800 background store reads a second on top of the traffic. Spread over three eighths
//! of the TTL the first wave is a third as dense, and each reload draws a new point, so the
//! waves blur into the steady rate of one reload per busy entry per ~0.7 TTL.
//!
//! An expired entry is dropped when it is next read or by [`TtlCache::purge_expired`], which the
//! app runs every minute (`Caches::purge_expired`): what an idle realm left in the caches is gone
//! within its TTL plus a minute, as moka's own expiry did. Memory is bounded by the capacity.

use quick_cache::sync::{Cache, EntryResult};
use quick_cache::{Equivalent, OptionsBuilder, UnitWeighter};
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Shards per cache, each under its own lock. More than quick_cache's default (4 per core) so
/// that [`TtlCache::purge_expired`] holds any one lock only briefly: ~1,600 entries per shard at
/// 100,000.
const SHARDS: usize = 64;

/// What [`TtlCache::lookup`] found.
pub enum Lookup<V> {
    Fresh(V),
    /// Live, but past its refresh point: serve it, and reload it with the [`Refresh`] (this reader
    /// was picked; the others get `Fresh` until the entry expires or is replaced).
    Due(V, Refresh),
}

/// The right to reload one entry in the background, claimed by one reader. Until the reload
/// stores a new entry, the old one is served to its TTL (a failed reload is not retried before
/// then: the first read after it loads).
#[derive(Debug)]
pub struct Refresh {
    expires: Instant,
}

impl Refresh {
    /// When the entry to reload expires: the reload should have stored its successor by then.
    pub fn expires(&self) -> Instant {
        self.expires
    }
}

/// Logs that a request found no live entry and loads `what` itself (at debug level, target
/// `realmgate::cache`: `REALMGATE_LOG=warn,realmgate::cache=debug` counts a cache's misses on the
/// request path against its re-reads ahead of the TTL).
pub fn note_miss(what: &'static str) {
    tracing::debug!(target: "realmgate::cache", what, "miss: loading on the request path");
}

/// Runs `reload` on the runtime now. For the caches of users and token states, whose entries
/// are due a few seconds before they expire; the caches under the safety TTL go through the
/// paced queue instead (`App::refresh_ahead`). A failed reload is logged and leaves the cached
/// entry to its TTL.
pub fn reload_in_background<E, F>(_claimed: Refresh, what: &'static str, reload: F)
where
    E: std::fmt::Display,
    F: Future<Output = Result<(), E>> + Send + 'static,
{
    note_reread(what);
    spawn_reload(what, reload);
}

/// Logs a background re-read from the store (debug level, target `realmgate::cache`).
pub fn note_reread(what: &'static str) {
    tracing::debug!(target: "realmgate::cache", what, "re-reading ahead of the TTL");
}

/// Spawns a background reload of a `what` entry, with a warning if it fails. Shared by the
/// immediate reloads above and the paced queue (`crate::refresher`).
pub(crate) fn spawn_reload<E, F>(what: &'static str, reload: F)
where
    E: std::fmt::Display,
    F: Future<Output = Result<(), E>> + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = reload.await {
            tracing::warn!(error = %e, what, "background reload of a cache entry failed");
        }
    });
}

#[derive(Clone)]
struct Timed<V> {
    value: V,
    expires: Instant,
    /// From here on a [`TtlCache::lookup`] hands out the entry's [`Refresh`].
    due: Instant,
}

/// Draws the refresh points: a counter through splitmix64's finaliser, uniform enough to spread
/// entries stored in the same instant, and free of locks and of a random-number dependency.
static DRAWS: AtomicU64 = AtomicU64::new(0);

/// A fraction in [0, 1) for the next refresh point.
fn next_fraction() -> f64 {
    let mut z = DRAWS
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// A cache of at most `capacity` entries, each living at most `ttl`.
pub struct TtlCache<K, V> {
    entries: Cache<K, Timed<V>>,
    ttl: Duration,
}

impl<K, V> TtlCache<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        let items = usize::try_from(capacity).unwrap_or(usize::MAX).max(1);
        let options = OptionsBuilder::new()
            .estimated_items_capacity(items)
            .weight_capacity(capacity.max(1))
            .shards(SHARDS)
            .build();
        let entries = match options {
            Ok(o) => Cache::with_options(o, UnitWeighter, Default::default(), Default::default()),
            Err(_) => Cache::new(items),
        };
        Self { entries, ttl }
    }

    /// The live entry for `key`, if any.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let e = self.entries.get(key)?;
        if e.expires > Instant::now() {
            return Some(e.value);
        }
        // Only this expired entry goes, not one stored since by another task.
        self.entries.remove_if(key, |t| t.expires == e.expires);
        None
    }

    /// The live entry for `key` and when it comes due for its refresh (a read past that point
    /// would be [`Lookup::Due`]). Nothing is claimed or dropped.
    pub fn get_with_due<Q>(&self, key: &Q) -> Option<(V, Instant)>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let e = self.entries.get(key)?;
        (e.expires > Instant::now()).then_some((e.value, e.due))
    }

    /// [`TtlCache::get`], refreshing ahead: an entry read past its refresh point (between half
    /// and seven eighths of its TTL) is still served, and one reader gets it as [`Lookup::Due`],
    /// with the [`Refresh`] to reload it in the background.
    pub fn lookup(&self, key: &K) -> Option<Lookup<V>> {
        let e = self.entries.get(key)?;
        let now = Instant::now();
        if e.expires <= now {
            self.entries.remove_if(key, |t| t.expires == e.expires);
            return None;
        }
        if now >= e.due && self.claim(key, e.expires, now) {
            return Some(Lookup::Due(e.value, Refresh { expires: e.expires }));
        }
        Some(Lookup::Fresh(e.value))
    }

    /// Whether this reader claimed the refresh of `key`'s entry (the one expiring at `expires`):
    /// its refresh point moves to its expiry, so the readers after this one see it fresh.
    fn claim(&self, key: &K, expires: Instant, now: Instant) -> bool {
        let marked = self
            .entries
            .entry(key, Some(Duration::ZERO), |_, t: &mut Timed<V>| {
                let mine = t.expires == expires && now >= t.due;
                if mine {
                    t.due = t.expires;
                }
                quick_cache::sync::EntryAction::Retain(mine)
            });
        // Gone since the read (its placeholder guard, dropped here, removes itself), or being
        // loaded by another task: nothing to claim.
        matches!(marked, EntryResult::Retained(true))
    }

    pub fn insert(&self, key: K, value: V) {
        self.entries.insert(key, self.timed(value));
    }

    /// Renews the TTL of `key`'s entry, the one that expires at `expires`, if it is still stored,
    /// live and `keep`s: as if stored again now (a new expiry and refresh point). For an entry
    /// re-validated without a re-read. Whether it was renewed.
    pub fn renew(&self, key: &K, expires: Instant, keep: impl FnOnce(&V) -> bool) -> bool {
        let now = Instant::now();
        let next = self.timed(());
        let renewed = self
            .entries
            .entry(key, Some(Duration::ZERO), |_, t: &mut Timed<V>| {
                let mine = t.expires == expires && t.expires > now && keep(&t.value);
                if mine {
                    t.expires = next.expires;
                    t.due = next.due;
                }
                quick_cache::sync::EntryAction::Retain(mine)
            });
        matches!(renewed, EntryResult::Retained(true))
    }

    /// `value` stored now: it expires after the TTL and comes due for its refresh at a point
    /// drawn between half and seven eighths of it.
    fn timed<T>(&self, value: T) -> Timed<T> {
        let now = Instant::now();
        let spread = self.ttl.mul_f64(3.0 / 8.0 * next_fraction());
        Timed {
            value,
            expires: now + self.ttl,
            due: now + self.ttl / 2 + spread,
        }
    }

    /// Drops the stored entry for `key`. A load in flight for it is left alone: quick_cache's
    /// `remove` would also drop its placeholder, and the next caller would then start a second,
    /// concurrent load of the same key (for a realm's keys, a second key generation).
    pub fn invalidate<Q>(&self, key: &Q)
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.entries.remove_if(key, |_| true);
    }

    pub fn invalidate_all(&self) {
        self.entries.clear();
    }

    /// Drops every expired entry (one pass over the shards, each write-locked in turn), so the
    /// entries of realms nobody reads any more do not stay until the count bound needs the room.
    pub fn purge_expired(&self) {
        let now = Instant::now();
        self.entries.retain(|_, t| t.expires > now);
    }

    /// The live entry for `key`, or what `load` returns, stored. Concurrent callers for the same
    /// key wait for one load instead of each running their own; if it fails, the error goes to
    /// its caller and the next waiter loads.
    pub async fn get_or_try_insert_with<E, F>(&self, key: &K, load: F) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        // An expired entry is removed and the lookup repeated; a second expired hit could only
        // be a value stored with a TTL already past, and then this call loads without a guard.
        let mut guard = None;
        for _ in 0..2 {
            match self.entries.get_value_or_guard_async(key).await {
                Ok(t) if t.expires > Instant::now() => return Ok(t.value),
                Ok(t) => {
                    self.entries.remove_if(key, |x| x.expires == t.expires);
                }
                Err(g) => {
                    guard = Some(g);
                    break;
                }
            }
        }
        let value = load.await?;
        let timed = self.timed(value.clone());
        match guard {
            Some(g) => {
                let _ = g.insert(timed);
            }
            None => self.entries.insert(key.clone(), timed),
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_until_its_ttl_then_dropped() {
        let c: TtlCache<String, u32> = TtlCache::new(10, Duration::from_millis(50));
        c.insert("a".to_owned(), 1);
        assert_eq!(c.get("a"), Some(1));
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(c.get("a"), None);
        c.insert("a".to_owned(), 2);
        assert_eq!(c.get("a"), Some(2));
        c.invalidate("a");
        assert_eq!(c.get("a"), None);
    }

    #[test]
    fn refresh_points_spread_between_half_and_seven_eighths_of_the_ttl() {
        let ttl = Duration::from_secs(800);
        let c: TtlCache<u32, u32> = TtlCache::new(10, ttl);
        let t0 = Instant::now();
        let offsets: Vec<f64> = (0..2000)
            .map(|i| c.timed(i).due.duration_since(t0).as_secs_f64() / ttl.as_secs_f64())
            .collect();
        assert!(
            offsets.iter().all(|f| (0.5..0.876).contains(f)),
            "{offsets:?}"
        );
        // Spread over the window, not bunched: each of its eight parts holds some.
        for part in 0..8 {
            let lo = 0.5 + 0.375 * f64::from(part) / 8.0;
            let n = offsets
                .iter()
                .filter(|f| (lo..lo + 0.375 / 8.0).contains(*f))
                .count();
            assert!((150..350).contains(&n), "{n} of 2,000 in part {part}");
        }
        // Nobody is handed a refresh before the entry's point.
        c.insert(1, 1);
        assert!(matches!(c.lookup(&1), Some(Lookup::Fresh(1))));
    }

    #[test]
    fn a_purge_drops_expired_entries_that_nobody_reads() {
        let c: TtlCache<u32, u32> = TtlCache::new(10, Duration::from_millis(50));
        c.insert(1, 1);
        c.purge_expired();
        assert_eq!(c.entries.len(), 1, "a live entry stays");
        std::thread::sleep(Duration::from_millis(80));
        c.purge_expired();
        assert_eq!(c.entries.len(), 0);
    }

    #[test]
    fn the_count_bound_holds() {
        let c: TtlCache<u32, u32> = TtlCache::new(100, Duration::from_secs(60));
        for i in 0..10_000 {
            c.insert(i, i);
        }
        let live = (0..10_000).filter(|i| c.get(i).is_some()).count();
        assert!(live <= 100, "{live} entries kept of a capacity of 100");
        assert!(live > 0);
        c.invalidate_all();
        assert_eq!((0..10_000).filter(|i| c.get(i).is_some()).count(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_share_one_load_and_a_failed_load_is_not_stored() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};
        let c: Arc<TtlCache<u32, u32>> = Arc::new(TtlCache::new(10, Duration::from_secs(60)));
        let failed: Result<u32, &str> = c.get_or_try_insert_with(&1, async { Err("down") }).await;
        assert_eq!(failed, Err("down"));
        assert_eq!(c.get(&1), None);
        let loads = Arc::new(AtomicU32::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (c, loads) = (c.clone(), loads.clone());
                tokio::spawn(async move {
                    c.get_or_try_insert_with(&1, async {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        Ok::<u32, ()>(7)
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.ok(), Some(Ok(7)));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_invalidation_during_a_load_does_not_start_a_second_load() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};
        let c: Arc<TtlCache<u32, u32>> = Arc::new(TtlCache::new(10, Duration::from_secs(60)));
        let loads = Arc::new(AtomicU32::new(0));
        let load = |c: Arc<TtlCache<u32, u32>>, loads: Arc<AtomicU32>| async move {
            c.get_or_try_insert_with(&1, async {
                loads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<u32, ()>(7)
            })
            .await
        };
        let first = tokio::spawn(load(c.clone(), loads.clone()));
        tokio::time::sleep(Duration::from_millis(10)).await;
        c.invalidate(&1);
        let second = tokio::spawn(load(c.clone(), loads.clone()));
        assert_eq!(first.await.ok(), Some(Ok(7)));
        assert_eq!(second.await.ok(), Some(Ok(7)));
        assert_eq!(
            loads.load(Ordering::SeqCst),
            1,
            "the second caller waited for the first load"
        );
    }
}
