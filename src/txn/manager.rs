//! The transaction manager: workers take contexts from a space queue, bounded by `max-active`, and drive
//! each through the participant chain; recovery replays a durable store before the first new transaction.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::chain::Chain;
use super::config::TxnConfig;
use super::context::Context;
use super::keys::REQUEST;
use super::metrics::TxnMetrics;
use super::recovery::{Record, RecoveryError, RecoveryStore, TxnState};
use super::run::{drive, guarded, report, InFlight, Txn};
use super::status::{Outcome, StatusListener};
use crate::space::{Space, SpaceError};

/// Ids reserved per durable high-water write.
const ID_BLOCK: u64 = 10_000;

/// A manager that cannot start or stop cleanly.
#[derive(Debug, Error)]
pub enum TxnError {
    /// The recovery store failed.
    #[error(transparent)]
    Recovery(#[from] RecoveryError),
    /// `sessions` or `max-active` is zero.
    #[error("txnmgr '{0}': sessions and max-active must be at least 1")]
    BadConfig(String),
    /// In-flight transactions did not finish within the stop timeout.
    #[error("txnmgr '{name}': {left} transactions still in flight after the stop timeout")]
    StopTimeout {
        /// Manager name.
        name: String,
        /// How many were left.
        left: usize,
    },
}

/// State shared by workers and transactions.
pub(crate) struct Inner {
    pub(crate) cfg: TxnConfig,
    pub(crate) chain: Chain,
    pub(crate) space: Arc<dyn Space<Context>>,
    pub(crate) store: Option<Arc<dyn RecoveryStore>>,
    pub(crate) listeners: Vec<Arc<dyn StatusListener>>,
    pub(crate) metrics: TxnMetrics,
    active: Arc<Semaphore>,
    pub(crate) in_flight: std::sync::atomic::AtomicUsize,
    next_id: AtomicU64,
    reserved: AtomicU64,
    reserve_lock: tokio::sync::Mutex<()>,
    stop: CancellationToken,
}

impl Inner {
    /// The next transaction id, durably reserved first when a recovery store is configured.
    async fn next_id(&self) -> Result<u64, RecoveryError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Some(store) = &self.store {
            if id >= self.reserved.load(Ordering::Acquire) {
                let _one = self.reserve_lock.lock().await;
                if id >= self.reserved.load(Ordering::Acquire) {
                    let upto = id + ID_BLOCK;
                    store.append(Record::HighWater { next_id: upto }).await?;
                    self.reserved.fetch_max(upto, Ordering::AcqRel);
                }
            }
        }
        Ok(id)
    }
}

/// Builds a [`TransactionManager`].
pub struct ManagerBuilder {
    cfg: TxnConfig,
    chain: Chain,
    space: Arc<dyn Space<Context>>,
    store: Option<Arc<dyn RecoveryStore>>,
    listeners: Vec<Arc<dyn StatusListener>>,
}

impl ManagerBuilder {
    /// Record state in `store` and recover from it on start.
    pub fn recovery(mut self, store: Arc<dyn RecoveryStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Tell `listener` about every finished transaction.
    pub fn status_listener(mut self, listener: Arc<dyn StatusListener>) -> Self {
        self.listeners.push(listener);
        self
    }

    /// Recover unfinished transactions (if a store is set), then start the workers.
    pub async fn start(self) -> Result<TransactionManager, TxnError> {
        let cfg = self.cfg;
        if cfg.sessions == 0 || cfg.max_active == 0 {
            return Err(TxnError::BadConfig(cfg.name));
        }
        let inner = Arc::new(Inner {
            metrics: TxnMetrics::new(&cfg.name),
            active: Arc::new(Semaphore::new(cfg.max_active)),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            reserved: AtomicU64::new(0),
            reserve_lock: tokio::sync::Mutex::new(()),
            stop: CancellationToken::new(),
            chain: self.chain,
            space: self.space,
            store: self.store,
            listeners: self.listeners,
            cfg,
        });
        recover(&inner).await?;
        let workers = (0..inner.cfg.sessions)
            .map(|_| tokio::spawn(worker(Arc::clone(&inner))))
            .collect();
        Ok(TransactionManager {
            inner,
            workers: parking_lot::Mutex::new(workers),
        })
    }
}

/// jPOS-style transaction manager.
pub struct TransactionManager {
    inner: Arc<Inner>,
    workers: parking_lot::Mutex<Vec<JoinHandle<()>>>,
}

impl TransactionManager {
    /// Start building a manager reading from `space` (queue `cfg.queue`) and running `chain`.
    pub fn builder(cfg: TxnConfig, space: Arc<dyn Space<Context>>, chain: Chain) -> ManagerBuilder {
        ManagerBuilder {
            cfg,
            chain,
            space,
            store: None,
            listeners: Vec::new(),
        }
    }

    /// Queue a new transaction (same as `out` on the manager's queue).
    pub async fn queue(&self, ctx: Context) -> Result<(), SpaceError> {
        self.inner.space.out(&self.inner.cfg.queue, ctx, None).await
    }

    /// Transactions taken but not finished (including paused and retry-waiting ones).
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Relaxed)
    }

    /// The configuration in use.
    pub fn config(&self) -> &TxnConfig {
        &self.inner.cfg
    }

    /// Stop taking new work, let in-flight transactions finish (up to `timeout`), compact the store.
    pub async fn stop(&self, timeout: Duration) -> Result<(), TxnError> {
        self.inner.stop.cancel();
        let workers: Vec<_> = std::mem::take(&mut *self.workers.lock());
        let deadline = tokio::time::Instant::now() + timeout;
        for w in workers {
            let _ = tokio::time::timeout_at(deadline, w).await;
        }
        let all = u32::try_from(self.inner.cfg.max_active).unwrap_or(u32::MAX);
        match tokio::time::timeout_at(deadline, self.inner.active.acquire_many(all)).await {
            Ok(Ok(permits)) => drop(permits),
            _ => {
                return Err(TxnError::StopTimeout {
                    name: self.inner.cfg.name.clone(),
                    left: self.in_flight(),
                });
            }
        }
        if let Some(store) = &self.inner.store {
            store
                .compact(self.inner.next_id.load(Ordering::Acquire))
                .await?;
        }
        Ok(())
    }
}

impl Drop for TransactionManager {
    fn drop(&mut self) {
        self.inner.stop.cancel();
    }
}

async fn worker(inner: Arc<Inner>) {
    loop {
        let permit = tokio::select! {
            biased;
            _ = inner.stop.cancelled() => return,
            p = Arc::clone(&inner.active).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let taken = tokio::select! {
            biased;
            _ = inner.stop.cancelled() => return,
            c = inner.space.in_(&inner.cfg.queue, inner.cfg.idle_wait) => c,
        };
        let mut ctx = match taken {
            Ok(Some(ctx)) => ctx,
            Ok(None) => continue,
            Err(e) => {
                // The space is failing (a database down): back off instead of spinning on errors.
                e.report(&inner.cfg.name, "take from the queue");
                drop(permit);
                tokio::select! {
                    biased;
                    _ = inner.stop.cancelled() => return,
                    _ = tokio::time::sleep(inner.cfg.idle_wait) => {}
                }
                continue;
            }
        };
        let id = match inner.next_id().await {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(error = %e, "cannot reserve a transaction id; request put back");
                if let Err(e) = inner.space.push(&inner.cfg.queue, ctx, None).await {
                    e.report(&inner.cfg.name, "put a request back (dropped)");
                }
                tokio::time::sleep(inner.cfg.idle_wait).await;
                continue;
            }
        };
        if inner.cfg.debug {
            ctx.enable_profiler();
        }
        let span = txn_span(id, &ctx);
        let slot = InFlight::new(&inner, permit);
        drive(Arc::clone(&inner), Txn::new(id, ctx, slot))
            .instrument(span)
            .await;
    }
}

/// The per-transaction span: id, plus MTI, STAN and TID when a request is present (never the PAN).
fn txn_span(id: u64, ctx: &Context) -> tracing::Span {
    let span = tracing::info_span!(
        "txn",
        id,
        mti = tracing::field::Empty,
        stan = tracing::field::Empty,
        tid = tracing::field::Empty
    );
    if !span.is_disabled() {
        if let Some(req) = ctx.get(&REQUEST) {
            span.record("mti", req.mti().as_str());
            if let Some(s) = req.get_str(11) {
                span.record("stan", s);
            }
            if let Some(t) = req.get_str(41) {
                span.record("tid", t);
            }
        }
    }
    span
}

/// Finish every transaction the store holds as unfinished, then compact it.
async fn recover(inner: &Arc<Inner>) -> Result<(), TxnError> {
    let Some(store) = inner.store.clone() else {
        return Ok(());
    };
    let state = store.load().await?;
    inner.next_id.store(state.next_id, Ordering::Release);
    inner.reserved.store(state.next_id, Ordering::Release);
    for snap in state.unfinished {
        let id = snap.id;
        let mut ctx = Context::recovered(id, snap.entries);
        let commit = snap.state == TxnState::Committing;
        for label in &snap.members {
            let Some(node) = inner
                .chain
                .by_label(label)
                .and_then(|(g, p)| inner.chain.node(g, p))
            else {
                tracing::error!(id, %label, "recovered transaction names an unknown participant; skipped");
                continue;
            };
            if commit {
                guarded(&node.name, "commit", node.participant.commit(id, &mut ctx)).await;
            } else {
                guarded(&node.name, "abort", node.participant.abort(id, &mut ctx)).await;
            }
        }
        store.append(Record::Done { id }).await?;
        tracing::info!(id, committed = commit, "recovered transaction finished");
        report(
            inner,
            id,
            if commit {
                Outcome::Committed
            } else {
                Outcome::Aborted
            },
            &ctx,
        );
    }
    store.compact(state.next_id).await?;
    Ok(())
}
