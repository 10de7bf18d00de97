//! The shared database work of concurrent transactions (`batched`), against a real PostgreSQL and a
//! real TransactionManager: concurrent authorizations are committed in groups, each hold in the same
//! DB transaction as its tranlog row's approval; a transaction that aborts after its group commit is
//! offset; and the batched store calls answer each caller its own row (duplicates in one batch, cards
//! missing or repeated).

// Shared with tests/jcard.rs, which uses the rest of it.
#[allow(dead_code)]
mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use rust_decimal_macros::dec;
use switchyard::txn::{Action, Context, Participant, ResultCode, RESULT_CODE};
use switchyard_participants::store::{find_cards, insert_tranlogs, reversed_before, NewTranlog};
use switchyard_participants::PanKey;

/// Erin (debit-classic, no purchase fee): savings 600.00, checking 300.00.
const ERIN: &str = "6009330000000108";
const ERIN_CHECKING: &str = "21.0005.20";

/// Votes abort after the money participant (what a later check — fraud, a HSM — may do).
struct Refuse;

#[async_trait]
impl Participant for Refuse {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        ctx.put(&RESULT_CODE, ResultCode(1805));
        Action::ABORTED | Action::READONLY
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abort_after_the_group_commit_offsets_the_hold() {
    let s = Switch::start_custom(
        Duration::from_secs(5),
        Some((
            "test.Refuse".to_owned(),
            Arc::new(Refuse) as Arc<dyn Participant>,
        )),
    )
    .await;
    let auth = req("2100", "002000", "25.00", ERIN);
    let r = s.send(auth.clone()).await;
    assert_eq!(rc(&r), "1805", "the refusal is the answer");
    assert!(r.get_str(38).is_none(), "no approval code on a decline");
    // the hold was committed, then reversed: available and accounting balances are untouched
    assert_eq!(s.balance(ERIN_CHECKING, "840,1840").await, dec!(300.00));
    assert_eq!(s.balance(ERIN_CHECKING, "840").await, dec!(300.00));
    let (posted, reversals): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE reverses IS NULL), count(*) FILTER (WHERE reverses IS NOT NULL) \
         FROM gl_transactions WHERE tags LIKE '%authorization%' OR tags LIKE '%compensation%'",
    )
    .fetch_one(&s.db.pool)
    .await
    .expect("counts");
    assert_eq!((posted, reversals), (1, 1), "one hold, offset once");
    let (code, gl): (Option<String>, Option<uuid::Uuid>) =
        sqlx::query_as("SELECT result_code, gl_txn FROM jc_tranlog WHERE stan = $1")
            .bind(auth.get_str(11).expect("stan"))
            .fetch_one(&s.db.pool)
            .await
            .expect("tranlog row");
    assert_eq!(code.as_deref(), Some("1805"), "the row ends declined");
    assert_eq!(gl, None, "a declined row names no GL transaction");
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_authorizations_share_commits_with_their_tranlog_rows() {
    let s = Arc::new(Switch::start().await);
    const N: usize = 64;
    let cards = [ALICE, BOB, DAVE, ERIN];
    let sends: Vec<_> = (0..N)
        .map(|i| {
            let s = Arc::clone(&s);
            let m = req("2100", "000000", "1.00", cards[i % cards.len()]);
            tokio::spawn(async move { (m.get_str(11).map(str::to_owned), s.send(m).await) })
        })
        .collect();
    let mut stans = Vec::new();
    for h in sends {
        let (stan, r) = h.await.expect("joins");
        assert_eq!(rc(&r), "0000");
        stans.push(stan.expect("stan"));
    }
    // every approved row names its hold, committed by the same DB transaction (same xmin); the rows
    // were not written again afterwards (LogIt had nothing to add)
    let (rows, holds, same_commit, commits): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(g.id), count(*) FILTER (WHERE t.xmin::text = g.xmin::text), \
                count(DISTINCT g.xmin::text) \
         FROM jc_tranlog t LEFT JOIN gl_transactions g ON g.id = t.gl_txn \
         WHERE t.stan = ANY($1) AND t.result_code = '0000'",
    )
    .bind(&stans)
    .fetch_one(&s.db.pool)
    .await
    .expect("rows");
    assert_eq!(rows, N as i64);
    assert_eq!(holds, N as i64, "each approval names its GL transaction");
    assert_eq!(same_commit, N as i64, "hold and approval commit together");
    assert!(
        commits < N as i64,
        "{N} concurrent authorizations took {commits} commits: none were grouped"
    );
    s.ledger_check().await;
}

fn row(stan: &str, transmission: &str) -> NewTranlog {
    NewTranlog {
        mti: "2100".into(),
        pcode: "000000".into(),
        txn_type: "Authorization".into(),
        stan: stan.into(),
        transmission: transmission.into(),
        local_time: format!("20261123{stan}"),
        acquirer: "000001".into(),
        tid: "29110001".into(),
        ..NewTranlog::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_tranlog_rows_answers_each_row_and_finds_duplicates_within_it() {
    let db = fixture_db().await;
    let first = insert_tranlogs(&db.pool, &[row("000001", "1123000001")])
        .await
        .expect("insert");
    let Ok(old) = first[0] else {
        panic!("a new row is inserted: {first:?}")
    };
    let batch = [
        row("000002", "1123000002"),
        row("000001", "1123000001"), // repeats the row logged before
        row("000003", "1123000003"),
        row("000002", "1123000002"), // repeats a row of this batch
    ];
    let out = insert_tranlogs(&db.pool, &batch).await.expect("insert");
    assert_eq!(out.len(), 4);
    let (Ok(a), Ok(c)) = (out[0], out[2]) else {
        panic!("new rows are inserted: {out:?}")
    };
    assert_ne!(a, c);
    assert_eq!(out[1], Err(old), "a repeat of an earlier row names it");
    assert_eq!(out[3], Err(a), "a repeat within the batch names the first");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jc_tranlog")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(n, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_lookups_answer_in_order() {
    let db = fixture_db().await;
    let key = PanKey::new(PAN_KEY.to_vec());
    let hashes = vec![
        key.hash(BOB),
        key.hash("6009330000009999"),
        key.hash(ALICE),
        key.hash(BOB),
    ];
    let cards = find_cards(&db.pool, &hashes).await.expect("lookup");
    let tokens: Vec<Option<&str>> = cards
        .iter()
        .map(|c| c.as_ref().map(|c| c.token.as_str()))
        .collect();
    assert_eq!(
        tokens,
        vec![Some("bob-1"), None, Some("alice-1"), Some("bob-1")]
    );
    assert!(cards[0].as_ref().is_some_and(|c| !c.accounts.is_empty()));

    let mut rev = row("000009", "1123000009");
    rev.txn_type = "Reversal".into();
    rev.original_key = Some("2100000000000001202611230000010000001".into());
    insert_tranlogs(&db.pool, &[rev]).await.expect("insert");
    let found = reversed_before(
        &db.pool,
        &[
            "2100000000000002202611230000020000001".into(),
            "2100000000000001202611230000010000001".into(),
        ],
    )
    .await
    .expect("search");
    assert_eq!(found, vec![false, true]);
}
