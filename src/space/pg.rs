//! `pg:NAME`: a durable space in PostgreSQL for serde values, shared by every node on the database.
//!
//! Takes use `FOR UPDATE SKIP LOCKED`, so concurrent consumers (on any node) never get the same entry
//! and never block each other. Writers `NOTIFY switchyard_space`; one `LISTEN` connection per `PgSpace`
//! wakes the local waiters of the key. Waiters also re-check every `fallback` (default 1 s) in case a
//! notification was lost while the listener reconnected — a bounded fallback, not a polling loop.
//!
//! The `Space` trait's `out`/`push`/`put`/`inp`/`rdp`/`size` are synchronous and cannot reach a
//! database without blocking a runtime thread, so this type offers the same operations as async
//! inherent methods (see the report to the lead: the trait should make those methods async).

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

/// The NOTIFY channel all pg spaces share.
pub const CHANNEL: &str = "switchyard_space";
/// Default bound on how long a waiter trusts notifications before re-checking.
pub const DEFAULT_FALLBACK: Duration = Duration::from_secs(1);
/// Longest space name or key.
pub const MAX_NAME_LEN: usize = 200;

/// What a pg space operation failed with.
#[derive(Debug, thiserror::Error)]
pub enum SpaceError {
    /// A database call failed.
    #[error("pg space {space:?}: database error while {context}: {source}")]
    Database {
        /// The space.
        space: String,
        /// The step.
        context: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A value could not be turned into JSON or back.
    #[error("pg space {space:?} key {key:?}: value (de)serialization: {source}")]
    Serde {
        /// The space.
        space: String,
        /// The key.
        key: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A name or key is empty, too long or contains the separator U+001F.
    #[error("pg space: invalid name or key {0:?}")]
    InvalidName(String),
}

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

fn check_name(s: &str) -> Result<(), SpaceError> {
    if s.is_empty() || s.len() > MAX_NAME_LEN || s.contains('\u{1f}') {
        return Err(SpaceError::InvalidName(s.to_string()));
    }
    Ok(())
}

impl<V: Serialize + DeserializeOwned + Send + Sync + 'static> PgSpace<V> {
    /// Open space `name` on `pool` (migrations applied) with the default fallback.
    pub async fn open(pool: PgPool, name: &str) -> Result<PgSpace<V>, SpaceError> {
        PgSpace::open_with(pool, name, DEFAULT_FALLBACK).await
    }

    /// Open space `name`, re-checking waits at least every `fallback`.
    pub async fn open_with(
        pool: PgPool,
        name: &str,
        fallback: Duration,
    ) -> Result<PgSpace<V>, SpaceError> {
        check_name(name)?;
        let err = |context| {
            let space = name.to_string();
            move |source| SpaceError::Database {
                space,
                context,
                source,
            }
        };
        let mut listener = PgListener::connect_with(&pool)
            .await
            .map_err(err("connecting the listener"))?;
        listener.listen(CHANNEL).await.map_err(err("LISTEN"))?;
        let wakers = Arc::new(Wakers::default());
        let task = tokio::spawn(listen(listener, name.to_string(), wakers.clone()));
        Ok(PgSpace {
            pool,
            name: name.to_string(),
            wakers,
            listener: task,
            fallback: fallback.max(Duration::from_millis(10)),
            _values: PhantomData,
        })
    }

    /// The space's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn db(&self, context: &'static str) -> impl FnOnce(sqlx::Error) -> SpaceError + '_ {
        move |source| SpaceError::Database {
            space: self.name.clone(),
            context,
            source,
        }
    }

    fn encode(&self, key: &str, value: &V) -> Result<serde_json::Value, SpaceError> {
        serde_json::to_value(value).map_err(|source| SpaceError::Serde {
            space: self.name.clone(),
            key: key.to_string(),
            source,
        })
    }

    fn decode(&self, key: &str, value: serde_json::Value) -> Result<V, SpaceError> {
        serde_json::from_value(value).map_err(|source| SpaceError::Serde {
            space: self.name.clone(),
            key: key.to_string(),
            source,
        })
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
        let taken: Option<Json<serde_json::Value>> = sqlx::query_scalar(
            "DELETE FROM space_entries WHERE id = ( \
               SELECT id FROM space_entries \
               WHERE space = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > clock_timestamp()) \
               ORDER BY pos LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING value",
        )
        .bind(&self.name)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.db("taking an entry"))?;
        match taken {
            Some(Json(v)) => {
                // wake `nrd` waiters, here and on other nodes
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(self.payload(key))
                    .execute(&self.pool)
                    .await
                    .map_err(self.db("notifying"))?;
                Ok(Some(self.decode(key, v)?))
            }
            None => {
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
        let deadline = Instant::now() + timeout;
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

/// The listener task: wake local waiters of the keys named by notifications for this space.
async fn listen(mut listener: PgListener, space: String, wakers: Arc<Wakers>) {
    loop {
        match listener.try_recv().await {
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
