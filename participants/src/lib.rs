//! jCard-style participants for Switchyard, built the way a user builds their own: a crate that
//! depends on `switchyard`, implements `Participant`, and registers its participants by name
//! (`jcard.CheckCard` ...) with `register`.
//!
//! Map: `txntype` reads MTI + DE 3; `keys` are the context keys; `pan` protects card numbers;
//! `store` reads entities and writes the tranlog; `money` builds and posts GL transactions;
//! `fixtures` loads entities from YAML; `cache` keeps rarely changing reference data (acquirers,
//! terminals, fees, velocity limits) for a TTL; `batched` shares database round trips and commits
//! between concurrent transactions; `participants/` has one file per participant.
//! Invariants: an approved money movement is one balanced GL transaction committed in the same DB
//! transaction as its tranlog row's approval; a decline posts nothing; a retransmission posts nothing.
//! `fraud_score` is the worked example of `docs/custom-participant.md`.
//! See docs/jcard.md and docs/fixtures.md.

pub mod batched;
pub mod cache;
pub mod error;
pub mod fixtures;
pub mod fraud_score;
pub mod keys;
pub mod money;
pub mod pan;
pub mod participants;
pub mod store;
pub mod txntype;

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::PgPool;
use switchyard::txn::{Participant, ParticipantRegistry};

pub use cache::RefCache;
pub use error::JcardError;
pub use pan::PanKey;

/// Environment variable holding the PAN hashing key when the configuration names none.
pub const PAN_KEY_ENV: &str = "SWITCHYARD_PAN_KEY";
/// The working directory's var dir (as the default ledger's), where a generated PAN key is kept.
pub const VAR_DIR: &str = "var";

/// What every jCard participant shares: the database, the PAN key and the reference-data cache.
#[derive(Debug, Clone)]
pub struct Jcard {
    /// Pool on the database holding the ledger and the jCard tables.
    pub pool: PgPool,
    /// Key for PAN hashes.
    pub pan_key: PanKey,
    /// Acquirers, terminals, fees and velocity limits read from `pool`, kept for a TTL.
    pub cache: Arc<RefCache>,
    /// The store calls concurrent transactions share (batched over `pool`).
    pub batches: Arc<batched::Batches>,
}

impl Jcard {
    /// An environment over `pool` with `pan_key`, caching reference data for [`cache::DEFAULT_TTL`].
    pub fn new(pool: PgPool, pan_key: PanKey) -> Arc<Jcard> {
        Jcard::with_cache(pool, pan_key, RefCache::new(cache::DEFAULT_TTL))
    }

    /// An environment over `pool` with `pan_key` and `cache` (which must hold data of `pool` only).
    pub fn with_cache(pool: PgPool, pan_key: PanKey, cache: Arc<RefCache>) -> Arc<Jcard> {
        Arc::new(Jcard {
            batches: Arc::new(batched::Batches::new(pool.clone())),
            pool,
            pan_key,
            cache,
        })
    }
}

/// Builds a participant from its YAML configuration (`participant-config:` in the deploy).
pub type Factory =
    Box<dyn Fn(&serde_yaml::Value) -> Result<Arc<dyn Participant>, JcardError> + Send + Sync>;

/// Every participant this crate provides, by registered name.
pub const NAMES: &[&str] = &[
    "jcard.PrepareContext",
    "jcard.CheckFields",
    "jcard.CreateTranLog",
    "jcard.CheckCard",
    "jcard.CheckTerminal",
    "jcard.CheckAcquirer",
    "jcard.SelectAccount",
    "jcard.CheckPreviousReverse",
    "jcard.CheckVelocity",
    "jcard.Fees",
    "jcard.Authorization",
    "jcard.Financial",
    "jcard.Completion",
    "jcard.Void",
    "jcard.Reversal",
    "jcard.Refund",
    "jcard.Deposit",
    "jcard.Transfer",
    "jcard.BalanceInquiry",
    "jcard.Settlement",
    "jcard.PrepareResponse",
    "jcard.LogIt",
];

/// Register the participants that need no database (`acme.FraudScore`).
pub fn register(registry: &mut ParticipantRegistry) {
    fraud_score::register(registry);
}

/// Call `add(name, factory)` once per jCard participant name.
pub fn factories(jcard: &Arc<Jcard>, add: &mut dyn FnMut(&'static str, Factory)) {
    for &name in NAMES {
        let env = Arc::clone(jcard);
        add(
            name,
            Box::new(move |cfg| participants::build(&env, name, cfg)),
        );
    }
}

/// Register every jCard participant (`jcard.*`) over `jcard` with the deploy registry.
pub fn register_jcard(registry: &mut ParticipantRegistry, jcard: &Arc<Jcard>) {
    factories(jcard, &mut |name, f| {
        registry.register(name, move |input| {
            f(input.config).map_err(|e| input.error(e))
        });
    });
}

/// Register every jCard participant for a deployed container: each factory takes its database pool
/// from the deployed `ledger` component named by its config key `ledger` (default `ledger`), and
/// hashes PANs with `pan_key` (refused when empty). Participants over the same deployed pool share one
/// reference-data cache keeping lookups for `cache_ttl` (zero disables it; the binary reads
/// [`cache::TTL_ENV`]).
pub fn register_deployed(registry: &mut ParticipantRegistry, pan_key: PanKey, cache_ttl: Duration) {
    let caches = Arc::new(PoolCaches {
        ttl: cache_ttl,
        by_pool: Mutex::new(Vec::new()),
    });
    for &name in NAMES {
        let key = pan_key.clone();
        let caches = Arc::clone(&caches);
        registry.register(name, move |input| {
            if key.is_empty() {
                return Err(input.error(format!("set {PAN_KEY_ENV} (the PAN hashing key)")));
            }
            let mut cfg = input.config.clone();
            let ledger = match cfg.as_mapping_mut().and_then(|m| m.remove("ledger")) {
                Some(serde_yaml::Value::String(s)) => s,
                Some(_) => return Err(input.error("ledger: expected a component name")),
                None => "ledger".to_owned(),
            };
            let pool = input.resource::<PgPool>("ledger", &ledger)?;
            let cache = caches.of(&pool);
            let env = Jcard::with_cache((*pool).clone(), key.clone(), cache);
            participants::build(&env, name, &cfg).map_err(|e| input.error(e))
        });
    }
}

/// One reference-data cache per deployed pool (a cache must never answer for another database).
struct PoolCaches {
    ttl: Duration,
    by_pool: Mutex<Vec<(Weak<PgPool>, Arc<RefCache>)>>,
}

impl PoolCaches {
    /// The cache of `pool`, created on first use; caches of undeployed pools are dropped.
    fn of(&self, pool: &Arc<PgPool>) -> Arc<RefCache> {
        let mut by_pool = self.by_pool.lock().unwrap_or_else(|e| e.into_inner());
        by_pool.retain(|(p, _)| p.strong_count() > 0);
        if let Some((_, c)) = by_pool
            .iter()
            .find(|(p, _)| p.upgrade().is_some_and(|p| Arc::ptr_eq(&p, pool)))
        {
            return Arc::clone(c);
        }
        let cache = RefCache::new(self.ttl);
        by_pool.push((Arc::downgrade(pool), Arc::clone(&cache)));
        cache
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lazy_pool() -> Arc<PgPool> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://localhost/none")
            .expect("a lazy pool needs no server");
        Arc::new(pool)
    }

    #[tokio::test]
    async fn one_cache_per_deployed_pool() {
        let caches = PoolCaches {
            ttl: Duration::from_secs(5),
            by_pool: Mutex::new(Vec::new()),
        };
        let (a, b) = (lazy_pool(), lazy_pool());
        let ca = caches.of(&a);
        assert!(Arc::ptr_eq(&ca, &caches.of(&a)), "same pool, same cache");
        assert!(
            !Arc::ptr_eq(&ca, &caches.of(&b)),
            "another pool, another cache"
        );
        drop(a);
        let _ = caches.of(&b);
        let held = caches.by_pool.lock().map(|v| v.len()).unwrap_or(0);
        assert_eq!(held, 1, "the cache of an undeployed pool is dropped");
    }
}
