//! Group commit: many concurrent posts share one DB commit (one WAL flush), each caller answered only
//! after the commit that holds its post succeeded — durability of every approved post is kept.
//!
//! `workers` tasks each take the requests queued so far (up to `max_batch`), run `post_batch` in one
//! DB transaction and commit. While they commit, new requests queue up and form the next batch, so the
//! batch size adapts to the load. If a whole batch fails on a database error other than a lost
//! connection, its requests are retried one by one so that one bad request cannot sink the others.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinHandle;

use super::error::{db, LedgerError};
use super::post::{post, post_batch, MAX_BATCH};
use super::transaction::{NewTransaction, Posted};

/// Group-commit settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupCommitConfig {
    /// Concurrent committing workers (each holds one pool connection while it commits). One is best
    /// on a local server with hot accounts; more help when the server is far away.
    pub workers: usize,
    /// Most posts in one DB transaction.
    pub max_batch: usize,
    /// Requests that may wait in the queue; `post` waits (within `timeout`) when it is full.
    pub queue: usize,
    /// Longest a caller waits for its answer.
    pub timeout: Duration,
}

impl Default for GroupCommitConfig {
    fn default() -> Self {
        GroupCommitConfig {
            // one committer: with hot accounts, parallel batches mostly wait on each other's locks
            workers: 1,
            max_batch: 64,
            queue: 4096,
            timeout: Duration::from_secs(10),
        }
    }
}

type Reply = oneshot::Sender<Result<Posted, LedgerError>>;

/// A group-commit poster over a pool; clone-free, share it with `Arc`.
pub struct GroupCommit {
    tx: mpsc::Sender<(NewTransaction, Reply)>,
    workers: Vec<JoinHandle<()>>,
    timeout: Duration,
}

impl GroupCommit {
    /// Start the workers on the current tokio runtime.
    pub fn start(pool: PgPool, config: GroupCommitConfig) -> GroupCommit {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let max_batch = config.max_batch.clamp(1, MAX_BATCH);
        let workers = (0..config.workers.max(1))
            .map(|_| tokio::spawn(worker(pool.clone(), rx.clone(), max_batch)))
            .collect();
        GroupCommit {
            tx,
            workers,
            timeout: config.timeout,
        }
    }

    /// Post `txn`; returns once the DB transaction holding it committed (or failed).
    pub async fn post(&self, txn: NewTransaction) -> Result<Posted, LedgerError> {
        let (reply, answer) = oneshot::channel();
        let millis = self.timeout.as_millis() as u64;
        let wait = async {
            self.tx
                .send((txn, reply))
                .await
                .map_err(|_| LedgerError::PosterClosed)?;
            answer.await.map_err(|_| LedgerError::PosterClosed)?
        };
        tokio::time::timeout(self.timeout, wait)
            .await
            .map_err(|_| LedgerError::Timeout {
                context: "waiting for a group commit",
                millis,
            })?
    }

    /// Stop taking requests, let the workers finish what they hold, and wait for them (bounded).
    pub async fn shutdown(self, timeout: Duration) {
        drop(self.tx);
        for w in self.workers {
            let abort = w.abort_handle();
            if tokio::time::timeout(timeout, w).await.is_err() {
                abort.abort();
            }
        }
    }
}

async fn worker(
    pool: PgPool,
    rx: Arc<Mutex<mpsc::Receiver<(NewTransaction, Reply)>>>,
    max_batch: usize,
) {
    loop {
        let mut batch = Vec::with_capacity(max_batch);
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(job) => batch.push(job),
                None => return,
            }
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        let (txns, replies): (Vec<NewTransaction>, Vec<Reply>) = batch.into_iter().unzip();
        match commit_batch(&pool, &txns).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    // A caller that gave up is gone; its post stands (it can look it up by id).
                    let _ = reply.send(result);
                }
            }
            Err(e) if e.is_connection() || txns.len() == 1 => {
                let reason = e.to_string();
                let connection = e.is_connection();
                let mut first = Some(e);
                for reply in replies {
                    let err = first
                        .take()
                        .unwrap_or_else(|| LedgerError::GroupCommitFailed {
                            reason: reason.clone(),
                            connection,
                        });
                    let _ = reply.send(Err(err));
                }
            }
            Err(_) => {
                for (txn, reply) in txns.iter().zip(replies) {
                    let _ = reply.send(post(&pool, txn).await);
                }
            }
        }
    }
}

async fn commit_batch(
    pool: &PgPool,
    txns: &[NewTransaction],
) -> Result<Vec<Result<Posted, LedgerError>>, LedgerError> {
    let mut tx = pool.begin().await.map_err(db("beginning a group commit"))?;
    let results = post_batch(&mut tx, txns).await?;
    tx.commit().await.map_err(db("committing a group commit"))?;
    Ok(results)
}
