//! `pg:NAME`: a durable space in PostgreSQL for serde values, shared by every node on the database.
//!
//! Takes use `FOR UPDATE SKIP LOCKED`, so concurrent consumers (on any node) never get the same entry
//! and never block each other. Writers `NOTIFY switchyard_space`; one `LISTEN` connection per `PgSpace`
//! wakes the local waiters of the key. Waiters also re-check every `fallback` (default 1 s) in case a
//! notification was lost while the listener reconnected — a bounded fallback, not a polling loop.
//!
//! `PgSpace` implements the [`Space`] trait (every operation a boxed future that may fail with a
//! [`SpaceError`]) and keeps inherent async methods taking values by reference. [`PgSpaceFactory`]
//! serves the `pg:` scheme of a [`SpaceRegistry`](super::SpaceRegistry) from a pool. Listeners are not
//! supported (a write on another node would never reach them); `add_listener` says so.
//!
//! A take whose value does not deserialize is rolled back, so a value of the wrong shape stays in the
//! table and the caller gets the error; nothing is deleted unread.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::postgres::PgListener;
use sqlx::types::Json;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::lease::deadline_after;
use super::registry::{RegistryError, SpaceFactory};
use super::{ListenerId, Scheme, Space, SpaceAddr, SpaceError, SpaceFuture, SpaceListener};

/// The NOTIFY channel all pg spaces share.
pub const CHANNEL: &str = "switchyard_space";
/// Default bound on how long a waiter trusts notifications before re-checking.
pub const DEFAULT_FALLBACK: Duration = Duration::from_secs(1);
/// Longest space name or key.
pub const MAX_NAME_LEN: usize = 200;

/// Waiters per key, woken by the listener task.
#[derive(Default)]
struct Wakers(Mutex<HashMap<String, Arc<Notify>>>);

impl Wakers {
    fn get(&self, key: &str) -> Arc<Notify> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.to_string()).or_default().clone()
    }

    fn wake(&self, key: &str) {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get(key) {
            n.notify_waiters();
        }
    }

    fn wake_all(&self) {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.values().for_each(|n| n.notify_waiters());
    }
}

/// A durable space named `name` holding values of type `V` (stored as JSONB).
pub struct PgSpace<V> {
    pool: PgPool,
    name: String,
    wakers: Arc<Wakers>,
    listener: JoinHandle<()>,
    fallback: Duration,
    _values: PhantomData<fn() -> V>,
}

impl<V> Drop for PgSpace<V> {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// Check a space name or key: non-empty, at most [`MAX_NAME_LEN`] bytes, no U+001F.
pub fn check_name(s: &str) -> Result<(), SpaceError> {
    if s.is_empty() || s.len() > MAX_NAME_LEN || s.contains('\u{1f}') {
        return Err(SpaceError::InvalidName(s.into()));
    }
    Ok(())
}

impl<V: Serialize + DeserializeOwned + Send + Sync + 'static> PgSpace<V> {
    /// Open space `name` on `pool` (migrations applied) with the default fallback.
    pub async fn open(pool: PgPool, name: &str) -> Result<PgSpace<V>, SpaceError> {
        PgSpace::open_with(pool, name, DEFAULT_FALLBACK).await
    }

    /// Open space `name`, re-checking waits at least every `fallback`; fails if LISTEN cannot be set up.
    pub async fn open_with(
        pool: PgPool,
        name: &str,
        fallback: Duration,
    ) -> Result<PgSpace<V>, SpaceError> {
        check_name(name)?;
        let err = |context| move |source| SpaceError::database(name, context, source);
        let mut listener = PgListener::connect_with(&pool)
            .await
            .map_err(err("connecting the listener"))?;
        listener.listen(CHANNEL).await.map_err(err("LISTEN"))?;
        Ok(PgSpace::start(pool, name, fallback, Some(listener)))
    }

    /// Open space `name` without touching the database now: the LISTEN connection is made (and remade)
    /// in the background, and waits re-check every `fallback` until it is up. Needs a tokio runtime.
    pub fn new(pool: PgPool, name: &str, fallback: Duration) -> Result<PgSpace<V>, SpaceError> {
        check_name(name)?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SpaceError::unsupported(
                name,
                "opening outside a tokio runtime",
            ));
        }
        Ok(PgSpace::start(pool, name, fallback, None))
    }

    fn start(
        pool: PgPool,
        name: &str,
        fallback: Duration,
        listener: Option<PgListener>,
    ) -> PgSpace<V> {
        let wakers = Arc::new(Wakers::default());
        let task = tokio::spawn(listen(
            pool.clone(),
            listener,
            name.to_string(),
            wakers.clone(),
        ));
        PgSpace {
            pool,
            name: name.to_string(),
            wakers,
            listener: task,
            fallback: fallback.max(Duration::from_millis(10)),
            _values: PhantomData,
        }
    }

    /// The space's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn db(&self, context: &'static str) -> impl FnOnce(sqlx::Error) -> SpaceError + '_ {
        move |source| SpaceError::database(&self.name, context, source)
    }

    fn encode(&self, key: &str, value: &V) -> Result<serde_json::Value, SpaceError> {
        serde_json::to_value(value).map_err(|source| SpaceError::serde(&self.name, key, source))
    }

    fn decode(&self, key: &str, value: serde_json::Value) -> Result<V, SpaceError> {
        serde_json::from_value(value).map_err(|source| SpaceError::serde(&self.name, key, source))
    }

    fn payload(&self, key: &str) -> String {
        format!("{}\u{1f}{key}", self.name)
    }

    async fn insert(
        &self,
        key: &str,
        value: &V,
        lease: Option<Duration>,
        head: bool,
    ) -> Result<(), SpaceError> {
        check_name(key)?;
        let json = self.encode(key, value)?;
        let lease_us = lease.map(|l| l.as_micros().min(i64::MAX as u128) as i64);
        sqlx::query(
            "WITH ins AS ( \
               INSERT INTO space_entries (space, key, pos, value, expires_at) \
               VALUES ($1, $2, CASE WHEN $3 THEN -nextval('space_pos') ELSE nextval('space_pos') END, $4, \
                       CASE WHEN $5::int8 IS NULL THEN NULL \
                            ELSE clock_timestamp() + make_interval(secs => $5::int8 / 1000000.0) END) \
               RETURNING 1) \
             SELECT pg_notify($6, $7) FROM ins",
        )
        .bind(&self.name)
        .bind(key)
        .bind(head)
        .bind(Json(json))
        .bind(lease_us)
        .bind(CHANNEL)
        .bind(self.payload(key))
        .execute(&self.pool)
        .await
        .map_err(self.db("writing an entry"))?;
        Ok(())
    }

    /// Append `value` under `key` (FIFO tail), expiring after `lease` if given.
    pub async fn out(
        &self,
        key: &str,
        value: &V,
        lease: Option<Duration>,
    ) -> Result<(), SpaceError> {
        self.insert(key, value, lease, false).await
    }

    /// Put `value` at the head of `key`'s list.
    pub async fn push(
        &self,
        key: &str,
        value: &V,
        lease: Option<Duration>,
    ) -> Result<(), SpaceError> {
        self.insert(key, value, lease, true).await
    }

    /// Replace every value under `key` with `value`, atomically.
    pub async fn put(
        &self,
        key: &str,
        value: &V,
        lease: Option<Duration>,
    ) -> Result<(), SpaceError> {
        check_name(key)?;
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(self.db("beginning a put"))?;
        sqlx::query("DELETE FROM space_entries WHERE space = $1 AND key = $2")
            .bind(&self.name)
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(self.db("clearing a key"))?;
        let json = self.encode(key, value)?;
        let lease_us = lease.map(|l| l.as_micros().min(i64::MAX as u128) as i64);
        sqlx::query(
            "INSERT INTO space_entries (space, key, pos, value, expires_at) \
             VALUES ($1, $2, nextval('space_pos'), $3, \
                     CASE WHEN $4::int8 IS NULL THEN NULL \
                          ELSE clock_timestamp() + make_interval(secs => $4::int8 / 1000000.0) END)",
        )
        .bind(&self.name)
        .bind(key)
        .bind(Json(json))
        .bind(lease_us)
        .execute(&mut *tx)
        .await
        .map_err(self.db("writing an entry"))?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(self.payload(key))
            .execute(&mut *tx)
            .await
            .map_err(self.db("notifying"))?;
        tx.commit().await.map_err(self.db("committing a put"))?;
        Ok(())
    }

    /// Take the first live value under `key`, without waiting.
    pub async fn inp(&self, key: &str) -> Result<Option<V>, SpaceError> {
        check_name(key)?;
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(self.db("beginning a take"))?;
        // The NOTIFY (delivered at commit) wakes `nrd` waiters, here and on other nodes.
        let taken: Option<Json<serde_json::Value>> = sqlx::query_scalar(
            "WITH del AS ( \
               DELETE FROM space_entries WHERE id = ( \
                 SELECT id FROM space_entries \
                 WHERE space = $1 AND key = $2 \
                   AND (expires_at IS NULL OR expires_at > clock_timestamp()) \
                 ORDER BY pos LIMIT 1 FOR UPDATE SKIP LOCKED) \
               RETURNING value) \
             SELECT value FROM del, LATERAL (SELECT pg_notify($3, $4) WHERE del.value IS NOT NULL) n",
        )
        .bind(&self.name)
        .bind(key)
        .bind(CHANNEL)
        .bind(self.payload(key))
        .fetch_optional(&mut *tx)
        .await
        .map_err(self.db("taking an entry"))?;
        match taken {
            Some(Json(v)) => {
                // Decode before committing: a value of the wrong shape stays stored, never lost.
                match self.decode(key, v) {
                    Ok(v) => {
                        tx.commit().await.map_err(self.db("committing a take"))?;
                        Ok(Some(v))
                    }
                    Err(e) => {
                        tx.rollback()
                            .await
                            .map_err(self.db("rolling back an unreadable take"))?;
                        Err(e)
                    }
                }
            }
            None => {
                tx.rollback()
                    .await
                    .map_err(self.db("ending an empty take"))?;
                self.purge_expired(key).await?;
                Ok(None)
            }
        }
    }

    /// Read the first live value under `key` without taking it, without waiting.
    pub async fn rdp(&self, key: &str) -> Result<Option<V>, SpaceError> {
        check_name(key)?;
        let v: Option<Json<serde_json::Value>> = sqlx::query_scalar(
            "SELECT value FROM space_entries \
             WHERE space = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > clock_timestamp()) \
             ORDER BY pos LIMIT 1",
        )
        .bind(&self.name)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.db("reading an entry"))?;
        v.map(|Json(v)| self.decode(key, v)).transpose()
    }

    /// Number of live values under `key`.
    pub async fn size(&self, key: &str) -> Result<usize, SpaceError> {
        check_name(key)?;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM space_entries \
             WHERE space = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > clock_timestamp())",
        )
        .bind(&self.name)
        .bind(key)
        .fetch_one(&self.pool)
        .await
        .map_err(self.db("counting entries"))?;
        Ok(n.max(0) as usize)
    }

    /// Delete the expired entries of `key`; returns how many.
    pub async fn purge_expired(&self, key: &str) -> Result<u64, SpaceError> {
        let done = sqlx::query(
            "DELETE FROM space_entries WHERE space = $1 AND key = $2 AND expires_at <= clock_timestamp()",
        )
        .bind(&self.name)
        .bind(key)
        .execute(&self.pool)
        .await
        .map_err(self.db("purging expired entries"))?;
        Ok(done.rows_affected())
    }

    /// Wait until `check` yields `Some`, up to `timeout`; woken by notifications on `key`.
    async fn wait_for<T, F, Fut>(
        &self,
        key: &str,
        timeout: Duration,
        mut check: F,
    ) -> Result<Option<T>, SpaceError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, SpaceError>>,
    {
        let deadline = deadline_after(Instant::now(), timeout);
        let notify = self.wakers.get(key);
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            // register before checking, so a write between the check and the wait is not missed
            notified.as_mut().enable();
            if let Some(v) = check().await? {
                return Ok(Some(v));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let _ = tokio::time::timeout((deadline - now).min(self.fallback), notified).await;
        }
    }

    /// Take the first value under `key`, waiting up to `timeout`; `None` on timeout.
    pub async fn in_(&self, key: &str, timeout: Duration) -> Result<Option<V>, SpaceError> {
        self.wait_for(key, timeout, || self.inp(key)).await
    }

    /// Read (without taking) the first value under `key`, waiting up to `timeout`.
    pub async fn rd(&self, key: &str, timeout: Duration) -> Result<Option<V>, SpaceError> {
        self.wait_for(key, timeout, || self.rdp(key)).await
    }

    /// Wait up to `timeout` until `key` has no live values; true if it became (or was) empty.
    pub async fn nrd(&self, key: &str, timeout: Duration) -> Result<bool, SpaceError> {
        let empty = self
            .wait_for(key, timeout, || async {
                Ok((self.size(key).await? == 0).then_some(()))
            })
            .await?;
        Ok(empty.is_some())
    }
}

/// The listener task: (re)connect and LISTEN, then wake local waiters of the keys named by notifications
/// for this space. Whenever the connection is (re)made every waiter re-checks, since notifications sent
/// meanwhile are lost.
async fn listen(
    pool: PgPool,
    mut listener: Option<PgListener>,
    space: String,
    wakers: Arc<Wakers>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(l) = listener.as_mut() else {
            match connect_listener(&pool).await {
                Ok(l) => {
                    listener = Some(l);
                    backoff = Duration::from_millis(100);
                    wakers.wake_all();
                }
                Err(e) => {
                    tracing::debug!(space, error = %e, "pg space: LISTEN connection failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            continue;
        };
        match l.try_recv().await {
            Ok(Some(n)) => {
                if let Some((s, key)) = n.payload().split_once('\u{1f}') {
                    if s == space {
                        wakers.wake(key);
                    }
                }
            }
            // the connection dropped; sqlx reconnects and re-LISTENs on the next call.
            // Notifications may have been lost meanwhile: let every waiter re-check.
            Ok(None) => wakers.wake_all(),
            Err(_) => {
                wakers.wake_all();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn connect_listener(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut l = PgListener::connect_with(pool).await?;
    l.listen(CHANNEL).await?;
    Ok(l)
}

impl<V> Space<V> for PgSpace<V>
where
    V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    fn out<'a>(&'a self, key: &'a str, value: V, lease: Option<Duration>) -> SpaceFuture<'a, ()> {
        SpaceFuture::boxed(async move { self.insert(key, &value, lease, false).await })
    }

    fn push<'a>(&'a self, key: &'a str, value: V, lease: Option<Duration>) -> SpaceFuture<'a, ()> {
        SpaceFuture::boxed(async move { self.insert(key, &value, lease, true).await })
    }

    fn put<'a>(&'a self, key: &'a str, value: V, lease: Option<Duration>) -> SpaceFuture<'a, ()> {
        SpaceFuture::boxed(async move { PgSpace::put(self, key, &value, lease).await })
    }

    fn in_<'a>(&'a self, key: &'a str, timeout: Duration) -> SpaceFuture<'a, Option<V>> {
        SpaceFuture::boxed(PgSpace::in_(self, key, timeout))
    }

    fn rd<'a>(&'a self, key: &'a str, timeout: Duration) -> SpaceFuture<'a, Option<V>> {
        SpaceFuture::boxed(PgSpace::rd(self, key, timeout))
    }

    fn inp<'a>(&'a self, key: &'a str) -> SpaceFuture<'a, Option<V>> {
        SpaceFuture::boxed(PgSpace::inp(self, key))
    }

    fn rdp<'a>(&'a self, key: &'a str) -> SpaceFuture<'a, Option<V>> {
        SpaceFuture::boxed(PgSpace::rdp(self, key))
    }

    fn nrd<'a>(&'a self, key: &'a str, timeout: Duration) -> SpaceFuture<'a, bool> {
        SpaceFuture::boxed(PgSpace::nrd(self, key, timeout))
    }

    fn size<'a>(&'a self, key: &'a str) -> SpaceFuture<'a, usize> {
        SpaceFuture::boxed(PgSpace::size(self, key))
    }

    fn add_listener(
        &self,
        _key: &str,
        _listener: Arc<dyn SpaceListener<V>>,
    ) -> Result<ListenerId, SpaceError> {
        Err(SpaceError::unsupported(&self.name, "add_listener"))
    }

    fn remove_listener(&self, _key: &str, _id: ListenerId) -> bool {
        false
    }
}

/// Serves `pg:NAME` addresses of a [`SpaceRegistry`](super::SpaceRegistry) with [`PgSpace`]s on one pool.
#[derive(Clone)]
pub struct PgSpaceFactory {
    pool: PgPool,
    fallback: Duration,
}

impl PgSpaceFactory {
    /// Spaces on `pool` whose waits re-check at least every `fallback`.
    pub fn new(pool: PgPool, fallback: Duration) -> Self {
        PgSpaceFactory { pool, fallback }
    }

    /// The pool spaces are opened on.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl<V> SpaceFactory<V> for PgSpaceFactory
where
    V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    fn open(&self, name: &str) -> Result<Arc<dyn Space<V>>, RegistryError> {
        let space = PgSpace::<V>::new(self.pool.clone(), name, self.fallback).map_err(|e| {
            RegistryError::Open {
                addr: SpaceAddr {
                    scheme: Scheme::Pg,
                    name: name.to_owned(),
                },
                reason: e.to_string(),
            }
        })?;
        Ok(Arc::new(space))
    }
}
