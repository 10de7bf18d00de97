//! Concurrency: many tasks posting to the same accounts, directly and through group commit; and a
//! property test that random balanced transactions keep `check` green and balances exact.

use std::collections::HashMap;
use std::sync::Arc;

use proptest::prelude::*;
use rust_decimal::Decimal;
use switchyard::ledger::{check, post, GroupCommit, GroupCommitConfig, NewTransaction};

use crate::harness::TestDb;
use crate::post::{amt, bal, code, deposit, layer, ALICE, BANK, BOB, CAROL, FEES};

fn transfer(from: &str, to: &str, a: &str) -> NewTransaction {
    NewTransaction::new("jcard", "transfer")
        .debit(&code(from), amt(a), layer(840))
        .credit(&code(to), amt(a), layer(840))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_tasks_by_fifty_posts_on_two_accounts() {
    let db = TestDb::with_chart().await;
    post(&db.pool, &deposit(ALICE, "10000")).await.unwrap();
    post(&db.pool, &deposit(BOB, "10000")).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..32 {
        let pool = db.pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                // half the tasks go one way, half the other: opposite lock wishes on the same rows
                let (from, to) = if (t + i) % 2 == 0 {
                    (ALICE, BOB)
                } else {
                    (BOB, ALICE)
                };
                let a = if t % 2 == 0 { "1.01" } else { "0.99" };
                post(&pool, &transfer(from, to, a)).await?;
            }
            Ok::<_, switchyard::ledger::LedgerError>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // each task: 25 Alice→Bob and 25 Bob→Alice of the same amount: nets to zero
    assert_eq!(bal(&db, ALICE, &[840]).await, Decimal::new(10000, 0));
    assert_eq!(bal(&db, BOB, &[840]).await, Decimal::new(10000, 0));
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM gl_transactions")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 2 + 32 * 50);
    let seq: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM gl_entries")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(seq, 1 + 32 * 50);
    assert!(check(&db.pool).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_answers_each_post_exactly() {
    let db = TestDb::with_chart().await;
    post(&db.pool, &deposit(ALICE, "100")).await.unwrap();
    let config = GroupCommitConfig {
        workers: 3,
        max_batch: 16,
        ..GroupCommitConfig::default()
    };
    let gc = Arc::new(GroupCommit::start(db.pool.clone(), config));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let gc = gc.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0u32;
            let mut refused = 0u32;
            for _ in 0..20 {
                // 320 attempts of 1.00 from Alice's 100: exactly 100 fit under the min-balance rule
                let spend = NewTransaction::new("jcard", "spend")
                    .debit(&code(ALICE), amt("0.90"), layer(840))
                    .credit(&code(BANK), amt("0.80"), layer(840))
                    .credit(&code(FEES), amt("0.10"), layer(840))
                    .debit(&code(ALICE), amt("0.10"), layer(840))
                    .credit(&code(CAROL), amt("0.10"), layer(840));
                match gc.post(spend).await {
                    Ok(_) => ok += 1,
                    Err(switchyard::ledger::LedgerError::RuleViolation { .. }) => refused += 1,
                    Err(e) => return Err(e),
                }
            }
            Ok((ok, refused))
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        let (o, r) = t.await.unwrap().unwrap();
        ok += o;
        refused += r;
    }
    assert_eq!((ok, refused), (100, 220));
    assert_eq!(bal(&db, ALICE, &[840]).await, Decimal::ZERO);
    assert_eq!(bal(&db, CAROL, &[840]).await, Decimal::new(10, 0));
    assert_eq!(bal(&db, FEES, &[840]).await, Decimal::new(10, 0));
    assert!(check(&db.pool).await.unwrap().is_ok());
    if let Ok(gc) = Arc::try_unwrap(gc) {
        gc.shutdown(std::time::Duration::from_secs(5)).await;
    }
}

const FINALS: [&str; 5] = [BANK, ALICE, BOB, CAROL, FEES];

fn arb_txn() -> impl Strategy<Value = Vec<(usize, usize, i64, bool)>> {
    // (from, to, cents, pending layer?) legs; each leg is itself balanced
    prop::collection::vec(
        (
            0..FINALS.len(),
            0..FINALS.len(),
            1i64..100_000,
            any::<bool>(),
        ),
        1..5,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn random_balanced_transactions_keep_check_green(txns in prop::collection::vec(arb_txn(), 1..12)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let db = TestDb::new().await;
            let chart = switchyard::ledger::chart::Chart::from_yaml(crate::harness::CHART).unwrap();
            let mut chart = chart;
            chart.rules.clear();
            switchyard::ledger::chart::import_chart(&db.pool, &chart).await.unwrap();
            let mut expected: HashMap<(usize, i16), Decimal> = HashMap::new();
            for legs in &txns {
                let mut t = NewTransaction::new("jcard", "random");
                for (from, to, cents, pending) in legs {
                    let l = if *pending { 1840 } else { 840 };
                    let a = Decimal::new(*cents, 2);
                    t = t.debit(&code(FINALS[*from]), a.into(), layer(l)).credit(&code(FINALS[*to]), a.into(), layer(l));
                    *expected.entry((*from, l)).or_default() += a;
                    *expected.entry((*to, l)).or_default() -= a;
                }
                post(&db.pool, &t).await.unwrap();
            }
            let report = check(&db.pool).await.unwrap();
            assert!(report.is_ok(), "{:?}", report.discrepancy);
            for (i, acct) in FINALS.iter().enumerate() {
                for l in [840i16, 1840] {
                    let net = expected.get(&(i, l)).copied().unwrap_or_default();
                    // BANK is debit-natured; the others credit-natured
                    let want = if i == 0 { net } else { -net };
                    assert_eq!(bal(&db, acct, &[l]).await, want, "{acct} layer {l}");
                }
            }
            db.pool.close().await;
        });
    }
}
