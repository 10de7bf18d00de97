//! Reference-data cache: the lookups that change rarely — acquirers by DE 32, terminal and merchant
//! status, fees per (product, type, currency), velocity limits per product — kept for a TTL so an
//! authorization does not read them from the database every time.
//!
//! Never cached: cards, cardholders and their accounts, the tranlog (status and balances must be seen
//! at once). Lookups that find nothing are not cached either, so a newly loaded acquirer, merchant or
//! terminal is accepted at once; a status or configuration change takes effect within the TTL.
//! A TTL of zero disables the cache. One [`RefCache`] lives in the `Jcard` environment, shared by
//! every participant over the same database.

use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::keys::AcquirerInfo;
use crate::store::{FeeRates, VelocityLimit};

/// How long a cached lookup is used when nothing else is configured.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

/// Environment variable holding the TTL in whole seconds (`0` disables the cache).
pub const TTL_ENV: &str = "SWITCHYARD_JCARD_CACHE_TTL";

/// Most entries one [`TtlCache`] holds; when full, expired entries are dropped, and if it is still
/// full a new lookup is simply not cached. Found rows only are cached, so this bounds memory against
/// a reference table larger than expected, not against requests.
pub const MAX_ENTRIES: usize = 100_000;

/// The TTL named by `value` (whole seconds), or a message saying what to set.
pub fn parse_ttl(value: &str) -> Result<Duration, String> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("{TTL_ENV}={value:?}: expected whole seconds, e.g. 5 (0 disables)"))
}

/// Values of one kind, each kept until `ttl` after it was loaded.
#[derive(Debug)]
pub struct TtlCache<K: Eq + Hash, V> {
    ttl: Duration,
    map: DashMap<K, (Instant, V)>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// An empty cache keeping values for `ttl` (zero: keeps nothing).
    pub fn new(ttl: Duration) -> TtlCache<K, V> {
        TtlCache {
            ttl,
            map: DashMap::new(),
        }
    }

    /// The value loaded for `key` less than the TTL before `now`.
    pub fn get_at(&self, key: &K, now: Instant) -> Option<V> {
        let entry = self.map.get(key)?;
        let (loaded, value) = entry.value();
        (now.saturating_duration_since(*loaded) < self.ttl).then(|| value.clone())
    }

    /// Keep `value` for `key`, loaded at `now` (nothing when the TTL is zero).
    pub fn insert_at(&self, key: K, value: V, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        if self.map.len() >= MAX_ENTRIES && !self.map.contains_key(&key) {
            let ttl = self.ttl;
            self.map
                .retain(|_, (loaded, _)| now.saturating_duration_since(*loaded) < ttl);
            if self.map.len() >= MAX_ENTRIES {
                return;
            }
        }
        self.map.insert(key, (now, value));
    }

    /// The cached value for `key`, else what `load` finds, kept for the TTL when it is `Some`
    /// (a lookup that finds nothing is asked again next time).
    pub async fn get_or_load<E, F>(&self, key: K, load: F) -> Result<Option<V>, E>
    where
        F: std::future::Future<Output = Result<Option<V>, E>>,
    {
        if let Some(v) = self.get_at(&key, Instant::now()) {
            return Ok(Some(v));
        }
        let found = load.await?;
        if let Some(v) = &found {
            self.insert_at(key, v.clone(), Instant::now());
        }
        Ok(found)
    }

    /// Number of entries held, expired ones included.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Key of a terminal: acquirer DE 32, merchant DE 42, terminal DE 41.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TerminalKey {
    /// DE 32.
    pub acquirer: String,
    /// DE 42, trimmed.
    pub mid: String,
    /// DE 41, trimmed.
    pub tid: String,
}

/// Key of a merchant: acquirer DE 32, merchant DE 42.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MerchantKey {
    /// DE 32.
    pub acquirer: String,
    /// DE 42, trimmed.
    pub mid: String,
}

/// Key of a product's fees for one transaction type and currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeeKey {
    /// `jc_card_products.id`.
    pub product_id: i64,
    /// Transaction type name (`Purchase`, `CashAdvance` ...).
    pub txn_type: &'static str,
    /// ISO 4217 numeric currency.
    pub currency: u16,
}

/// The reference-data caches the jCard participants share.
#[derive(Debug)]
pub struct RefCache {
    /// Acquirers by DE 32: `(info, active)`.
    pub acquirers: TtlCache<String, (AcquirerInfo, bool)>,
    /// Terminals: `(merchant active, terminal active)`.
    pub terminals: TtlCache<TerminalKey, (bool, bool)>,
    /// Merchants known under an acquirer (only known ones are held).
    pub merchants: TtlCache<MerchantKey, ()>,
    /// Fees.
    pub fees: TtlCache<FeeKey, FeeRates>,
    /// Velocity limits by product id (possibly none).
    pub velocity: TtlCache<i64, Arc<Vec<VelocityLimit>>>,
}

impl RefCache {
    /// Empty caches keeping lookups for `ttl` (zero disables caching).
    pub fn new(ttl: Duration) -> Arc<RefCache> {
        Arc::new(RefCache {
            acquirers: TtlCache::new(ttl),
            terminals: TtlCache::new(ttl),
            merchants: TtlCache::new(ttl),
            fees: TtlCache::new(ttl),
            velocity: TtlCache::new(ttl),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_after_the_ttl() {
        let c: TtlCache<&str, u32> = TtlCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        assert_eq!(c.get_at(&"a", t0), None);
        c.insert_at("a", 1, t0);
        assert_eq!(c.get_at(&"a", t0), Some(1));
        assert_eq!(c.get_at(&"a", t0 + Duration::from_millis(4_999)), Some(1));
        assert_eq!(c.get_at(&"a", t0 + Duration::from_secs(5)), None);
        c.insert_at("a", 2, t0 + Duration::from_secs(6));
        assert_eq!(c.get_at(&"a", t0 + Duration::from_secs(7)), Some(2));
        assert_eq!(c.get_at(&"b", t0), None);
    }

    #[test]
    fn zero_ttl_keeps_nothing() {
        let c: TtlCache<&str, u32> = TtlCache::new(Duration::ZERO);
        let t0 = Instant::now();
        c.insert_at("a", 1, t0);
        assert_eq!(c.get_at(&"a", t0), None);
        assert!(c.is_empty());
    }

    #[test]
    fn a_full_cache_drops_expired_entries_or_keeps_no_more() {
        let c: TtlCache<usize, ()> = TtlCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        for k in 0..MAX_ENTRIES {
            c.insert_at(k, (), t0);
        }
        c.insert_at(MAX_ENTRIES, (), t0 + Duration::from_secs(1));
        assert_eq!(c.len(), MAX_ENTRIES, "full of live entries: not kept");
        assert_eq!(c.get_at(&MAX_ENTRIES, t0), None);
        c.insert_at(0, (), t0 + Duration::from_secs(1));
        assert_eq!(
            c.get_at(&0, t0 + Duration::from_secs(5)),
            Some(()),
            "a refresh is kept"
        );
        let later = t0 + Duration::from_secs(5);
        c.insert_at(MAX_ENTRIES, (), later);
        assert_eq!(
            c.len(),
            2,
            "expired entries dropped: the refreshed one and the new one"
        );
        assert_eq!(c.get_at(&MAX_ENTRIES, later), Some(()));
    }

    #[tokio::test]
    async fn only_found_values_are_cached() {
        let c: TtlCache<u8, u32> = TtlCache::new(Duration::from_secs(60));
        let none: Result<Option<u32>, ()> = c.get_or_load(1, async { Ok(None) }).await;
        assert_eq!(none, Ok(None));
        assert!(c.is_empty(), "a lookup that found nothing is asked again");
        assert_eq!(
            c.get_or_load(1, async { Ok::<_, ()>(Some(7)) }).await,
            Ok(Some(7))
        );
        // Cached: the loader is not awaited (it would answer 8).
        assert_eq!(
            c.get_or_load(1, async { Ok::<_, ()>(Some(8)) }).await,
            Ok(Some(7))
        );
        assert_eq!(
            c.get_or_load(2, async { Err::<Option<u32>, _>(()) }).await,
            Err(())
        );
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn disabled_cache_loads_every_time() {
        let c: TtlCache<u8, u32> = TtlCache::new(Duration::ZERO);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let got = rt.block_on(async {
            let first = c.get_or_load(1, async { Ok::<_, ()>(Some(7)) }).await;
            let second = c.get_or_load(1, async { Ok::<_, ()>(Some(8)) }).await;
            (first, second)
        });
        assert_eq!(got, (Ok(Some(7)), Ok(Some(8))));
    }

    #[test]
    fn ttl_from_the_environment_value() {
        assert_eq!(parse_ttl("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_ttl(" 0 "), Ok(Duration::ZERO));
        assert!(parse_ttl("5s").is_err());
        assert!(parse_ttl("-1").is_err());
    }
}
