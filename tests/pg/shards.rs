//! Hot accounts: a sharded account is posted side by side (one free shard row each), its balance,
//! as-of balance and statement add up every shard, a balance rule locks it whole and sums every
//! shard, and many concurrent posters keep `check` green.

use std::time::Duration;

use chrono::Utc;
use rust_decimal::Decimal;
use switchyard::ledger::account::set_account_shards;
use switchyard::ledger::rules::{add_rule, NewRule, RuleKind};
use switchyard::ledger::{
    balance, check, post, post_batch, statement, LedgerError, NewTransaction,
};

use crate::harness::TestDb;
use crate::post::{amt, bal, code, deposit, layer, ALICE, BOB, FEES};

fn fee(from: &str, a: &str) -> NewTransaction {
    NewTransaction::new("jcard", format!("fee {a}"))
        .debit(&code(from), amt(a), layer(840))
        .credit(&code(FEES), amt(a), layer(840))
}

/// (shard, seq, balance) of the fee account's rows on layer 840 that were posted to.
async fn fee_shards(db: &TestDb) -> Vec<(i16, i64, Decimal)> {
    sqlx::query_as(
        "SELECT b.shard, b.seq, b.balance FROM gl_balances b JOIN gl_accounts a ON a.id = b.account_id \
         WHERE a.code = $1 AND b.layer = 840 AND b.seq > 0 ORDER BY b.shard",
    )
    .bind(FEES)
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

/// Post `t` in an open DB transaction and keep it open (holding its locks).
async fn hold(db: &TestDb, t: &NewTransaction) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = db.pool.begin().await.unwrap();
    let mut r = post_batch(&mut tx, std::slice::from_ref(t)).await.unwrap();
    r.pop().unwrap().unwrap();
    tx
}

#[tokio::test]
async fn a_sharded_account_is_posted_side_by_side_and_sums_every_shard() {
    let db = TestDb::with_chart().await;
    set_account_shards(&db.pool, &code(FEES), 4).await.unwrap();
    post(&db.pool, &deposit(ALICE, "100")).await.unwrap();
    post(&db.pool, &deposit(BOB, "100")).await.unwrap();

    // A holds a shard of the fee account; B must not wait for it
    let a = hold(&db, &fee(ALICE, "1.00")).await;
    let b = tokio::time::timeout(Duration::from_secs(10), hold(&db, &fee(BOB, "2.00")))
        .await
        .expect("the second post waited for the first: the hot account was locked whole");
    a.commit().await.unwrap();
    b.commit().await.unwrap();

    let rows = fee_shards(&db).await;
    assert_eq!(rows.len(), 2, "two shards used: {rows:?}");
    assert!(rows.iter().all(|r| r.1 == 1), "{rows:?}");
    assert_eq!(bal(&db, FEES, &[840]).await, Decimal::new(300, 2));
    let as_of = balance(
        &db.pool,
        "jcard",
        &code(FEES),
        &[layer(840)],
        Some(Utc::now()),
    )
    .await
    .unwrap()
    .value();
    assert_eq!(as_of, Decimal::new(300, 2));
    // the composite parent ("3") sums the shards too
    assert_eq!(bal(&db, "3", &[840]).await, Decimal::new(300, 2));
    let from = Utc::now() - chrono::Duration::hours(1);
    let st = statement(
        &db.pool,
        "jcard",
        &code(FEES),
        &[layer(840)],
        from,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(st.lines.len(), 2);
    assert_eq!(st.closing.value(), Decimal::new(300, 2));
    assert!(check(&db.pool).await.unwrap().is_ok());
}

#[tokio::test]
async fn a_balance_rule_locks_a_sharded_account_whole_and_sums_its_shards() {
    let db = TestDb::with_chart().await;
    set_account_shards(&db.pool, &code(FEES), 4).await.unwrap();
    post(&db.pool, &deposit(ALICE, "100")).await.unwrap();
    post(&db.pool, &deposit(BOB, "100")).await.unwrap();
    // 1.00 and 2.00 on two different shards
    let a = hold(&db, &fee(ALICE, "1.00")).await;
    let b = hold(&db, &fee(BOB, "2.00")).await;
    a.commit().await.unwrap();
    b.commit().await.unwrap();
    assert_eq!(fee_shards(&db).await.len(), 2);

    add_rule(
        &db.pool,
        &NewRule {
            journal: "jcard".into(),
            account: Some(code(FEES)),
            kind: RuleKind::MaxBalance,
            layers: vec![layer(840)],
            amount: Some(Decimal::new(450, 2)),
            description: "fee cap".into(),
        },
    )
    .await
    .unwrap();
    // 3.00 + 2.00 > 4.50 although no single shard would pass 4.50
    match post(&db.pool, &fee(ALICE, "2.00")).await {
        Err(LedgerError::RuleViolation { .. }) => {}
        other => panic!("expected the cap to refuse, got {other:?}"),
    }
    // now the account is locked whole: a second poster waits (and times out here)
    let a = hold(&db, &fee(ALICE, "0.50")).await;
    let mut b = db.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL lock_timeout = '300ms'")
        .execute(&mut *b)
        .await
        .unwrap();
    let waited = post_batch(&mut b, std::slice::from_ref(&fee(BOB, "0.50"))).await;
    assert!(
        waited.is_err(),
        "the ruled account was not locked: {waited:?}"
    );
    drop(b);
    a.commit().await.unwrap();
    assert_eq!(bal(&db, FEES, &[840]).await, Decimal::new(350, 2));
    post(&db.pool, &fee(BOB, "1.00")).await.unwrap();
    assert_eq!(bal(&db, FEES, &[840]).await, Decimal::new(450, 2));
    assert!(check(&db.pool).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_posters_on_a_hot_account_keep_the_ledger_exact() {
    let db = TestDb::with_chart().await;
    set_account_shards(&db.pool, &code(FEES), 8).await.unwrap();
    post(&db.pool, &deposit(ALICE, "1000")).await.unwrap();
    post(&db.pool, &deposit(BOB, "1000")).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..16 {
        let pool = db.pool.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                let who = if t % 2 == 0 { ALICE } else { BOB };
                post(&pool, &fee(who, "0.01")).await?;
            }
            Ok::<_, LedgerError>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(bal(&db, FEES, &[840]).await, Decimal::new(400, 2));
    assert_eq!(bal(&db, ALICE, &[840]).await, Decimal::new(99800, 2));
    let rows = fee_shards(&db).await;
    assert_eq!(rows.iter().map(|r| r.1).sum::<i64>(), 400);
    assert!(check(&db.pool).await.unwrap().is_ok());
}

#[tokio::test]
async fn shard_rows_are_made_on_demand_and_a_poster_waits_when_all_are_busy() {
    let db = TestDb::with_chart().await;
    post(&db.pool, &deposit(ALICE, "100")).await.unwrap();
    post(&db.pool, &deposit(BOB, "100")).await.unwrap();
    post(&db.pool, &deposit(crate::post::CAROL, "100"))
        .await
        .unwrap();
    // sharded behind the ledger's back: no shard rows exist; the first post creates them
    sqlx::query("UPDATE gl_accounts SET shards = 2 WHERE code = $1")
        .bind(FEES)
        .execute(&db.pool)
        .await
        .unwrap();
    let a = hold(&db, &fee(ALICE, "1.00")).await;
    a.commit().await.unwrap();
    // both shards held: a third poster waits for one (and times out here)
    let a = hold(&db, &fee(ALICE, "1.00")).await;
    let b = hold(&db, &fee(BOB, "1.00")).await;
    let mut c = db.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL lock_timeout = '300ms'")
        .execute(&mut *c)
        .await
        .unwrap();
    let waited = post_batch(
        &mut c,
        std::slice::from_ref(&fee(crate::post::CAROL, "1.00")),
    )
    .await;
    assert!(
        waited.is_err(),
        "a third poster found a free shard: {waited:?}"
    );
    drop(c);
    a.commit().await.unwrap();
    b.commit().await.unwrap();
    post(&db.pool, &fee(crate::post::CAROL, "1.00"))
        .await
        .unwrap();
    assert_eq!(bal(&db, FEES, &[840]).await, Decimal::new(400, 2));
    assert!(check(&db.pool).await.unwrap().is_ok());
}
