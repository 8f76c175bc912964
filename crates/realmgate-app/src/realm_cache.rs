//! [`RealmCache`]: a bounded cache of per-realm entries that can drop all of one realm's entries
//! in O(1).
//!
//! Dropping a realm's entries one by one would mean finding them. moka's `invalidate_entries_if`
//! (used before) kept each predicate until a background scan had visited every entry, and every
//! read meanwhile tested its entry against every pending predicate, so provisioning 100,000
//! realms made reads pay for a long list of them. Here a realm's entries carry a stamp instead:
//! the value of the realm's slot in a fixed array of counters when they were loaded. Dropping a realm's entries bumps its slot;
//! entries with an older stamp are misses and are replaced when loaded again.
//!
//! Realms share slots (the array has a fixed size), so a bump also turns some other realms'
//! entries into misses: a reload, never a stale read. The array costs the same for 10 realms as
//! for 100,000.
//!
//! [`RealmCache::lookup`] refreshes ahead as [`TtlCache::lookup`] does, and a stamp older than the
//! realm's is a miss there too.
//!
//! Entries are stored under [`KeyPart`]s (`cache_key.rs`), not the caller's `String`s: the key
//! bytes a read compares sit in the entry itself.

use crate::cache_key::{AsKeyPart, KeyPart};
use crate::ttl_cache::{Lookup, TtlCache};
use realmgate_domain::RealmId;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Slots per cache: 4,096 × 8 bytes. A realm-wide drop reloads 1/4,096 of the other realms.
const SLOTS: usize = 4096;

/// A fixed array of `T`s, one picked per realm by hash: per-realm state whose size does not grow
/// with the number of realms (realms share slots). Used for the stamps here and for the key
/// locks (`crate::keys`).
pub(crate) struct Striped<T> {
    slots: Box<[T]>,
    hasher: std::hash::RandomState,
}

impl<T> Striped<T> {
    pub(crate) fn new(n: usize, make: impl FnMut(usize) -> T) -> Self {
        Self {
            slots: (0..n.max(1)).map(make).collect(),
            hasher: std::hash::RandomState::new(),
        }
    }

    pub(crate) fn of(&self, realm: &RealmId) -> &T {
        &self.slots[self.slot_of(realm.as_str())]
    }

    pub(crate) fn slot_of<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        (self.hasher.hash_one(key) as usize) % self.slots.len()
    }

    pub(crate) fn get(&self, slot: usize) -> Option<&T> {
        self.slots.get(slot)
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter()
    }
}

/// Per-realm stamps, compared when an entry is read.
type Stamps = Striped<AtomicU64>;

#[derive(Clone)]
struct Stamped<V> {
    stamp: u64,
    value: V,
}

/// A stamp read before loading an entry: pass it to [`RealmCache::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(u64);

/// A cache keyed by `(realm, K)` whose realm-wide invalidation costs one atomic increment.
pub struct RealmCache<K, V> {
    entries: TtlCache<(KeyPart, KeyPart), Stamped<V>>,
    stamps: Stamps,
    keys: PhantomData<fn(&K)>,
}

impl<K, V> RealmCache<K, V>
where
    K: AsKeyPart,
    V: Clone,
{
    /// At most `capacity` entries, each living at most `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            entries: TtlCache::new(capacity, ttl),
            stamps: Striped::new(SLOTS, |_| AtomicU64::new(0)),
            keys: PhantomData,
        }
    }

    /// The stored form of `key`.
    fn stored(key: &(RealmId, K)) -> (KeyPart, KeyPart) {
        (KeyPart::of(key.0.as_str()), key.1.key_part())
    }

    /// The stamp slot of a realm (by its stored form).
    fn slot(&self, realm: &KeyPart) -> Option<&AtomicU64> {
        self.stamps.get(self.stamps.slot_of(realm))
    }

    fn current(&self, realm: &KeyPart) -> u64 {
        self.slot(realm).map_or(0, |s| s.load(Ordering::Acquire))
    }

    /// The realm's current stamp. Read it before loading what will be inserted, so an
    /// invalidation that races with the load makes the inserted entry a miss.
    pub fn stamp(&self, realm: &RealmId) -> Stamp {
        Stamp(self.current(&KeyPart::of(realm.as_str())))
    }

    /// The entry, unless it is absent, expired, or older than the realm's last invalidation.
    pub fn get(&self, key: &(RealmId, K)) -> Option<V> {
        let key = Self::stored(key);
        let e = self.entries.get(&key)?;
        if e.stamp == self.current(&key.0) {
            Some(e.value)
        } else {
            None
        }
    }

    /// When the entry comes due for its refresh, unless it is absent, expired or older than the
    /// realm's last invalidation. Until then a value derived from it stays as fresh as the entry
    /// (see `crate::verified`).
    pub fn due(&self, key: &(RealmId, K)) -> Option<Instant> {
        let key = Self::stored(key);
        let (e, due) = self.entries.get_with_due(&key)?;
        (e.stamp == self.current(&key.0)).then_some(due)
    }

    /// [`RealmCache::get`], refreshing ahead: past its refresh point, one reader gets the entry with
    /// a [`Refresh`] to reload it (read [`RealmCache::stamp`] before that load, as for a miss).
    pub fn lookup(&self, key: &(RealmId, K)) -> Option<Lookup<V>> {
        let key = Self::stored(key);
        let current = self.current(&key.0);
        match self.entries.lookup(&key)? {
            Lookup::Fresh(e) => (e.stamp == current).then_some(Lookup::Fresh(e.value)),
            Lookup::Due(e, refresh) => {
                (e.stamp == current).then_some(Lookup::Due(e.value, refresh))
            }
        }
    }

    /// Stores `value`, loaded after `stamp` was read.
    pub fn insert(&self, key: (RealmId, K), stamp: Stamp, value: V) {
        self.entries.insert(
            Self::stored(&key),
            Stamped {
                stamp: stamp.0,
                value,
            },
        );
    }

    /// Renews the TTL of the entry that expires at `expires` (see [`TtlCache::renew`]), unless
    /// the realm's entries were dropped since it was loaded. Whether it was renewed.
    pub fn renew(&self, key: &(RealmId, K), expires: Instant) -> bool {
        let key = Self::stored(key);
        let current = self.current(&key.0);
        self.entries.renew(&key, expires, |e| e.stamp == current)
    }

    /// Drops one entry.
    pub fn invalidate(&self, key: &(RealmId, K)) {
        self.entries.invalidate(&Self::stored(key));
    }

    /// Drops every entry of `realm` (and, through the shared slot, makes a few other realms'
    /// entries reload).
    pub fn forget_realm(&self, realm: &RealmId) {
        if let Some(slot) = self.slot(&KeyPart::of(realm.as_str())) {
            slot.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Drops the entries past their TTL.
    pub fn purge_expired(&self) {
        self.entries.purge_expired();
    }

    /// Drops everything, including what a load in flight will insert (every slot moves on, so
    /// stamps read before this are stale). Rare: after notifications may have been lost.
    pub fn invalidate_all(&self) {
        for slot in self.stamps.iter() {
            slot.fetch_add(1, Ordering::AcqRel);
        }
        self.entries.invalidate_all();
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn cache() -> RealmCache<String, u32> {
        RealmCache::new(100, Duration::from_secs(60))
    }

    fn key(realm: &RealmId, k: &str) -> (RealmId, String) {
        (realm.clone(), k.to_owned())
    }

    #[test]
    fn a_realm_wide_drop_misses_that_realms_entries_until_reloaded() {
        let c = cache();
        let a = RealmId::new();
        c.insert(key(&a, "x"), c.stamp(&a), 1);
        c.insert(key(&a, "y"), c.stamp(&a), 2);
        assert_eq!(c.get(&key(&a, "x")), Some(1));
        c.forget_realm(&a);
        assert_eq!(c.get(&key(&a, "x")), None);
        assert_eq!(c.get(&key(&a, "y")), None);
        c.insert(key(&a, "x"), c.stamp(&a), 3);
        assert_eq!(c.get(&key(&a, "x")), Some(3));
        c.invalidate(&key(&a, "x"));
        assert_eq!(c.get(&key(&a, "x")), None);
    }

    #[test]
    fn a_load_that_raced_with_a_drop_is_not_served() {
        let c = cache();
        let a = RealmId::new();
        let stamp = c.stamp(&a);
        // The realm's entries are dropped while the value is being loaded.
        c.forget_realm(&a);
        c.insert(key(&a, "x"), stamp, 1);
        assert_eq!(c.get(&key(&a, "x")), None);
    }

    #[test]
    fn other_realms_in_other_slots_keep_their_entries() {
        let c = cache();
        let a = RealmId::new();
        let b = std::iter::repeat_with(RealmId::new)
            .find(|b| !std::ptr::eq(c.stamps.of(&a), c.stamps.of(b)))
            .expect("a realm in another slot");
        c.insert(key(&b, "x"), c.stamp(&b), 7);
        c.forget_realm(&a);
        assert_eq!(c.get(&key(&b, "x")), Some(7));
        c.invalidate_all();
        assert_eq!(c.get(&key(&b, "x")), None);
    }

    fn fresh(l: Option<Lookup<u32>>) -> Option<u32> {
        match l {
            Some(Lookup::Fresh(v)) => Some(v),
            _ => None,
        }
    }

    #[test]
    fn late_in_its_ttl_one_reader_is_handed_the_refresh_and_nothing_outlives_the_ttl() {
        let c: RealmCache<String, u32> = RealmCache::new(10_000, Duration::from_millis(2000));
        let a = RealmId::new();
        c.insert(key(&a, "x"), c.stamp(&a), 1);
        assert_eq!(fresh(c.lookup(&key(&a, "x"))), Some(1), "young: fresh");
        std::thread::sleep(Duration::from_millis(1800));
        let Some(Lookup::Due(1, refresh)) = c.lookup(&key(&a, "x")) else {
            panic!(
                "past seven eighths of its TTL (its refresh point), the first reader reloads it"
            );
        };
        assert!(refresh.expires() > Instant::now(), "{refresh:?}");
        assert_eq!(
            fresh(c.lookup(&key(&a, "x"))),
            Some(1),
            "the others are served while the reload waits and runs"
        );
        // Any other due key is claimable meanwhile, however many reloads wait.
        let others: Vec<_> = (0..2000).map(|i| key(&a, &format!("k{i}"))).collect();
        for k in &others {
            c.insert(k.clone(), c.stamp(&a), 0);
        }
        std::thread::sleep(Duration::from_millis(1800));
        let claimed = others
            .iter()
            .filter(|k| matches!(c.lookup(k), Some(Lookup::Due(0, _))))
            .count();
        assert_eq!(claimed, others.len(), "each due key handed out");
        assert!(
            others
                .iter()
                .all(|k| matches!(c.lookup(k), Some(Lookup::Fresh(0)))),
            "and only once: the next readers are served it fresh"
        );
        c.insert(key(&a, "x"), c.stamp(&a), 2);
        assert_eq!(fresh(c.lookup(&key(&a, "x"))), Some(2), "reloaded: fresh");
        c.forget_realm(&a);
        assert!(c.lookup(&key(&a, "x")).is_none(), "stamps still apply");
        c.insert(key(&a, "y"), c.stamp(&a), 3);
        std::thread::sleep(Duration::from_millis(2050));
        assert!(c.lookup(&key(&a, "y")).is_none(), "not served past its TTL");
    }

    #[test]
    fn a_load_that_raced_with_a_full_drop_is_not_served() {
        let c = cache();
        let a = RealmId::new();
        let stamp = c.stamp(&a);
        c.invalidate_all();
        c.insert(key(&a, "x"), stamp, 1);
        assert_eq!(c.get(&key(&a, "x")), None);
    }
}
