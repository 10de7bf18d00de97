//! The database work concurrent transactions share: each kind of call goes through a
//! [`switchyard::txn::Batcher`], so N authorizations in flight cost one statement (and one commit)
//! per step instead of N.
//!
//! - `insert_tranlog`: CreateTranLog's row (one INSERT, asynchronous commit as before);
//! - `find_card`: CheckCard's lookup (one SELECT … `= ANY`);
//! - `reversed_before`: CheckPreviousReverse's search;
//! - `finish`: LogIt completing rows (one UPDATE, one synchronous commit);
//! - `post`: Authorization's and Financial's holds and debits — `post_batch` for the whole group
//!   and the tranlog rows completed as approved, in one DB transaction with one synchronous commit
//!   (the group commit). Each post is refused or posted on its own (NSF of one does not touch the
//!   others); the ledger's rules see the earlier posts of the same group.
//!
//! When a whole batch fails on something other than a lost connection (one bad row), its items are
//! retried one by one, so one request cannot sink the others. On a lost connection every item gets
//! the error at once (no N retries against a database that is down).

use std::future::Future;
use std::sync::Arc;

use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use switchyard::ledger::{post_batch, LedgerError, NewTransaction, Posted, MAX_BATCH};
use switchyard::txn::Batcher;

use crate::error::JcardError;
use crate::store::{
    find_cards, finish_many, insert_tranlogs, reversed_before, CardRow, Finish, NewTranlog,
};

/// Most items in one batch.
pub const MAX_ITEMS: usize = 64;

/// Batches of one kind flushed at once (each lane is a thread with its own connection). One: measured
/// at 40 connections on 2 cores, two lanes per kind gave ~10 % fewer authorizations per second and
/// a p99 over 20 ms (smaller batches, more threads switching), docs/PERFORMANCE.md.
pub const LANES: usize = 1;

/// A post with the tranlog row it approves (`None`: a request without a tranlog row).
#[derive(Debug)]
pub struct GroupPost {
    /// The GL transaction.
    pub txn: NewTransaction,
    /// The tranlog row and what it is completed with; its `gl_txn` is set to the posted id.
    pub tranlog: Option<(i64, Finish)>,
}

type Answer<T> = Result<T, JcardError>;

/// One batcher per kind of call, over one pool.
#[derive(Debug)]
pub struct Batches {
    tranlog: Batcher<NewTranlog, Answer<Result<i64, i64>>>,
    cards: Batcher<String, Answer<Option<CardRow>>>,
    reversed: Batcher<String, Answer<bool>>,
    finish: Batcher<(i64, Finish), Answer<()>>,
    post: Batcher<GroupPost, Result<Posted, LedgerError>>,
}

/// Run `many` over all items; if that fails for another reason than a lost connection, run it per
/// item. `many` answers one result per item, in order.
async fn each<I, O, F, Fut>(items: Vec<I>, context: &'static str, many: F) -> Vec<Answer<O>>
where
    F: Fn(Vec<I>) -> Fut,
    Fut: Future<Output = (Vec<I>, Answer<Vec<O>>)>,
{
    let n = items.len();
    let (items, all) = many(items).await;
    match all {
        Ok(out) if out.len() == n => out.into_iter().map(Ok).collect(),
        Ok(_) => fail_all(
            n,
            JcardError::Invariant(format!("{context}: wrong number of answers")),
            |e| JcardError::Invariant(e.to_string()),
        ),
        Err(e) if e.is_connection() || n == 1 => fail_all(n, e, |e| JcardError::Unreachable {
            context,
            reason: e.to_string(),
        }),
        Err(_) => {
            let mut out = Vec::with_capacity(n);
            for item in items {
                let (_, one) = many(vec![item]).await;
                out.push(one.and_then(|mut v| {
                    v.pop()
                        .ok_or_else(|| JcardError::Invariant(format!("{context}: no answer")))
                }));
            }
            out
        }
    }
}

/// `n` answers of one failure: the first caller gets `e` itself, the others `copy(&e)`.
fn fail_all<T, E>(n: usize, e: E, copy: impl Fn(&E) -> E) -> Vec<Result<T, E>> {
    let mut out: Vec<Result<T, E>> = (1..n).map(|_| Err(copy(&e))).collect();
    out.insert(0, Err(e));
    out.truncate(n);
    out
}

/// A batcher of `many` (one statement over all items), its lanes on threads of their own with
/// their own connections (the deployed pool's options).
fn lane_batcher<I, O, F, Fut>(
    name: &'static str,
    context: &'static str,
    options: &Arc<PgConnectOptions>,
    many: F,
) -> Batcher<I, Answer<O>>
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(PgPool, Vec<I>) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = (Vec<I>, Answer<Vec<O>>)> + Send + 'static,
{
    let options = Arc::clone(options);
    Batcher::new(name, MAX_ITEMS, move |items: Vec<I>| {
        let options = Arc::clone(&options);
        let many = many.clone();
        async move {
            match lane_pool(&options).await {
                Ok(pool) => each(items, context, |items| many(pool.clone(), items)).await,
                Err(e) => fail_all(items.len(), JcardError::Ledger(e), |e| {
                    JcardError::Unreachable {
                        context,
                        reason: e.to_string(),
                    }
                }),
            }
        }
    })
    .lanes(LANES)
    .own_thread()
}

async fn insert_many(
    p: PgPool,
    rows: Vec<NewTranlog>,
) -> (Vec<NewTranlog>, Answer<Vec<Result<i64, i64>>>) {
    let r = insert_tranlogs(&p, &rows).await;
    (rows, r)
}

async fn cards_many(p: PgPool, hashes: Vec<String>) -> (Vec<String>, Answer<Vec<Option<CardRow>>>) {
    let r = find_cards(&p, &hashes).await;
    (hashes, r)
}

async fn reversed_many(p: PgPool, keys: Vec<String>) -> (Vec<String>, Answer<Vec<bool>>) {
    let r = reversed_before(&p, &keys).await;
    (keys, r)
}

async fn finish_rows(p: PgPool, rows: Vec<(i64, Finish)>) -> (Vec<(i64, Finish)>, Answer<Vec<()>>) {
    let n = rows.len();
    let r = finish_many(&p, &rows).await.map(|()| vec![(); n]);
    (rows, r)
}

impl Batches {
    /// Batchers over `pool`'s database (their threads and connections start with the first call).
    pub fn new(pool: PgPool) -> Batches {
        let options = pool.connect_options();
        let tranlog = lane_batcher(
            "tranlog insert",
            "inserting tranlog rows",
            &options,
            insert_many,
        );
        let cards = lane_batcher("card lookup", "looking up cards", &options, cards_many);
        let reversed = lane_batcher(
            "reversal search",
            "looking for earlier reversals",
            &options,
            reversed_many,
        );
        let finish = lane_batcher(
            "tranlog finish",
            "completing tranlog rows",
            &options,
            finish_rows,
        );
        let post = Batcher::new(
            "group post",
            MAX_ITEMS.min(MAX_BATCH),
            move |items: Vec<GroupPost>| {
                let options = Arc::clone(&options);
                async move {
                    match lane_pool(&options).await {
                        Ok(p) => post_group(&p, items).await,
                        Err(e) => failed_all(items.len(), e),
                    }
                }
            },
        )
        // the group commit is every authorization's critical path: its own thread and connection,
        // so its round trips are not queued behind the other transactions' tasks
        .own_thread();
        Batches {
            tranlog,
            cards,
            reversed,
            finish,
            // one lane: concurrent groups would mostly wait on each other's account locks
            post,
        }
    }

    /// [`crate::store::insert_tranlogs`] for one row, batched.
    pub async fn insert_tranlog(&self, row: NewTranlog) -> Answer<Result<i64, i64>> {
        self.tranlog.call(row).await.map_err(gone)?
    }

    /// [`crate::store::find_card`], batched.
    pub async fn find_card(&self, pan_hash: String) -> Answer<Option<CardRow>> {
        self.cards.call(pan_hash).await.map_err(gone)?
    }

    /// [`crate::store::reversed_before`] for one key, batched.
    pub async fn reversed_before(&self, key: String) -> Answer<bool> {
        self.reversed.call(key).await.map_err(gone)?
    }

    /// [`crate::store::finish`], batched (synchronous commit).
    pub async fn finish(&self, id: i64, f: Finish) -> Answer<()> {
        self.finish.call((id, f)).await.map_err(gone)?
    }

    /// Post `p.txn` and complete its tranlog row in the next group commit; returns once committed.
    /// `Ok(Err(_))`: refused (nothing of it written); `Err(_)`: the database failed.
    pub async fn post(&self, p: GroupPost) -> Result<Posted, LedgerError> {
        self.post
            .call(p)
            .await
            .map_err(|e| LedgerError::GroupCommitFailed {
                reason: e.to_string(),
                connection: false,
            })?
    }
}

fn gone(e: switchyard::txn::BatchGone) -> JcardError {
    JcardError::Invariant(e.to_string())
}

thread_local! {
    /// The connection pool of a batch lane running on its own thread (its runtime owns the socket).
    static LANE_POOL: std::cell::RefCell<Option<PgPool>> = const { std::cell::RefCell::new(None) };
}

/// This lane thread's pool (one connection, the deployed pool's options), opened on first use.
async fn lane_pool(options: &PgConnectOptions) -> Result<PgPool, LedgerError> {
    if let Some(p) = LANE_POOL.with(|c| c.borrow().clone()) {
        return Ok(p);
    }
    let p = switchyard::ledger::connect(options.clone(), 1).await?;
    LANE_POOL.with(|c| *c.borrow_mut() = Some(p.clone()));
    Ok(p)
}

/// `n` answers of a group's failure `e` (the first as is, the others as a group failure naming it).
fn failed_all(n: usize, e: LedgerError) -> Vec<Result<Posted, LedgerError>> {
    fail_all(n, e, |e| LedgerError::GroupCommitFailed {
        reason: e.to_string(),
        connection: e.is_connection(),
    })
}

/// The group commit: all posts in one DB transaction, or — when that fails for another reason than
/// a lost connection — each in its own.
async fn post_group(pool: &PgPool, items: Vec<GroupPost>) -> Vec<Result<Posted, LedgerError>> {
    let n = items.len();
    let (txns, tranlogs): (Vec<NewTransaction>, Vec<Option<(i64, Finish)>>) =
        items.into_iter().map(|i| (i.txn, i.tranlog)).unzip();
    match commit_group(pool, &txns, &tranlogs).await {
        Ok(results) => results,
        Err(e) if e.is_connection() || n == 1 => failed_all(n, e),
        Err(e) => {
            tracing::warn!(error = %e, posts = n, "group commit failed; posting one by one");
            let mut out = Vec::with_capacity(n);
            for (txn, tranlog) in txns.iter().zip(&tranlogs) {
                let one = commit_group(
                    pool,
                    std::slice::from_ref(txn),
                    std::slice::from_ref(tranlog),
                );
                out.push(match one.await {
                    Ok(mut r) => r.pop().unwrap_or_else(|| {
                        Err(LedgerError::Invariant("group post answered nothing".into()))
                    }),
                    Err(e) => Err(e),
                });
            }
            out
        }
    }
}

async fn commit_group(
    pool: &PgPool,
    txns: &[NewTransaction],
    tranlogs: &[Option<(i64, Finish)>],
) -> Result<Vec<Result<Posted, LedgerError>>, LedgerError> {
    let ledger_db = |context: &'static str| {
        move |source: sqlx::Error| LedgerError::Database { context, source }
    };
    let started = std::time::Instant::now();
    let mut tx = pool
        .begin()
        .await
        .map_err(ledger_db("beginning a group commit"))?;
    let begun = started.elapsed();
    let results = post_batch(&mut tx, txns).await?;
    let posted = started.elapsed();
    let rows: Vec<(i64, Finish)> = tranlogs
        .iter()
        .zip(&results)
        .filter_map(|(tranlog, r)| {
            let posted = r.as_ref().ok()?;
            let (id, f) = tranlog.as_ref()?;
            let mut f = f.clone();
            f.gl_txn = Some(posted.id);
            Some((*id, f))
        })
        .collect();
    if !rows.is_empty() {
        finish_many(&mut *tx, &rows).await.map_err(|e| match e {
            JcardError::Database { context, source } => LedgerError::Database { context, source },
            other => LedgerError::Invariant(other.to_string()),
        })?;
    }
    let finished = started.elapsed();
    tx.commit()
        .await
        .map_err(ledger_db("committing a group commit"))?;
    tracing::debug!(
        posts = txns.len(),
        begin_us = begun.as_micros() as u64,
        post_us = (posted - begun).as_micros() as u64,
        finish_us = (finished - posted).as_micros() as u64,
        commit_us = (started.elapsed() - finished).as_micros() as u64,
        "group commit"
    );
    Ok(results)
}
