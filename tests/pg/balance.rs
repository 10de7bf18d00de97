//! Balances over layer sets, composite roll-up, as-of balances, statements, and the `check` auditor.

use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use switchyard::ledger::{balance, check, post, statement, Discrepancy, Layer, NewTransaction};

use crate::harness::TestDb;
use crate::post::{amt, bal, code, deposit, layer, ALICE, BANK, BOB, CAROL, PENDING};

fn d(v: i64) -> Decimal {
    Decimal::new(v, 0)
}

#[tokio::test]
async fn layer_sets_and_available_balance() {
    let db = TestDb::with_chart().await;
    post(&db.pool, &deposit(CAROL, "100")).await.unwrap();
    let hold = NewTransaction::new("jcard", "hold")
        .debit(&code(CAROL), amt("30"), layer(1840))
        .credit(&code(PENDING), amt("30"), layer(1840));
    post(&db.pool, &hold).await.unwrap();
    let line =
        NewTransaction::new("jcard", "credit line").credit(&code(CAROL), amt("500"), layer(2840));
    post(&db.pool, &line).await.unwrap();
    assert_eq!(bal(&db, CAROL, &[840]).await, d(100));
    assert_eq!(bal(&db, CAROL, &[1840]).await, d(-30));
    let available = Layer::available(840, false).unwrap();
    let with_credit = Layer::available(840, true).unwrap();
    let b = |layers: Vec<Layer>| {
        let pool = db.pool.clone();
        async move {
            balance(&pool, "jcard", &code(CAROL), &layers, None)
                .await
                .unwrap()
                .value()
        }
    };
    assert_eq!(b(available).await, d(70));
    assert_eq!(b(with_credit).await, d(570));
    // debit-natured side
    assert_eq!(bal(&db, PENDING, &[1840]).await, d(-30));
    assert_eq!(bal(&db, BANK, &[840, 1840]).await, d(100));
    // a layer nobody posted to
    assert_eq!(bal(&db, CAROL, &[3840]).await, Decimal::ZERO);
}

#[tokio::test]
async fn composite_rolls_up_its_subtree() {
    let db = TestDb::with_chart().await;
    post(&db.pool, &deposit(ALICE, "10")).await.unwrap();
    post(&db.pool, &deposit(BOB, "20.5")).await.unwrap();
    post(&db.pool, &deposit(CAROL, "0.25")).await.unwrap();
    assert_eq!(bal(&db, "21", &[840]).await, Decimal::new(3075, 2));
    assert_eq!(bal(&db, "2", &[840]).await, Decimal::new(3075, 2));
    assert_eq!(bal(&db, "11", &[840]).await, Decimal::new(3075, 2));
    assert_eq!(bal(&db, "1", &[840]).await, Decimal::new(3075, 2));
    assert_eq!(bal(&db, "3", &[840]).await, Decimal::ZERO);
    // another journal's money is not mixed in
    let euro = NewTransaction::new("other", "euro")
        .debit(&code(BANK), amt("7"), layer(978))
        .credit(&code(ALICE), amt("7"), layer(978));
    post(&db.pool, &euro).await.unwrap();
    assert_eq!(bal(&db, "21", &[840, 978]).await, Decimal::new(3075, 2));
    let other = balance(&db.pool, "other", &code("2"), &[layer(978)], None)
        .await
        .unwrap();
    assert_eq!(other.value(), d(7));
}

#[tokio::test]
async fn as_of_balances_see_history() {
    let db = TestDb::with_chart().await;
    let before = Utc::now() - Duration::seconds(1);
    let first = post(&db.pool, &deposit(ALICE, "10")).await.unwrap();
    let second = post(&db.pool, &deposit(ALICE, "5")).await.unwrap();
    post(&db.pool, &deposit(BOB, "1")).await.unwrap();
    let at = |t| {
        let pool = db.pool.clone();
        async move {
            let a = balance(&pool, "jcard", &code(ALICE), &[layer(840)], Some(t))
                .await
                .unwrap();
            let c = balance(&pool, "jcard", &code("21"), &[layer(840)], Some(t))
                .await
                .unwrap();
            (a.value(), c.value())
        }
    };
    assert_eq!(at(before).await, (d(0), d(0)));
    assert_eq!(at(first.ts).await, (d(10), d(10)));
    assert!(second.ts >= first.ts);
    assert_eq!(at(second.ts).await.0, d(15));
    assert_eq!(at(Utc::now() + Duration::days(1)).await, (d(15), d(16)));
    assert_eq!(bal(&db, "21", &[840]).await, d(16));
}

#[tokio::test]
async fn statement_has_opening_and_running_balance() {
    let db = TestDb::with_chart().await;
    let opening = post(&db.pool, &deposit(ALICE, "100")).await.unwrap();
    // timestamps have microsecond precision: make sure the next post gets a later one
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let from = post(&db.pool, &deposit(BOB, "1")).await.unwrap().ts;
    assert!(from > opening.ts);
    let spend = |a: &str| {
        NewTransaction::new("jcard", format!("spend {a}"))
            .debit(&code(ALICE), amt(a), layer(840))
            .credit(&code(BANK), amt(a), layer(840))
    };
    post(&db.pool, &spend("10")).await.unwrap();
    post(&db.pool, &spend("2.5")).await.unwrap();
    post(&db.pool, &deposit(ALICE, "1")).await.unwrap();
    let to = Utc::now() + Duration::seconds(1);
    let s = statement(&db.pool, "jcard", &code(ALICE), &[layer(840)], from, to)
        .await
        .unwrap();
    assert_eq!(s.opening.value(), d(100));
    let running: Vec<String> = s.lines.iter().map(|l| l.balance.to_string()).collect();
    assert_eq!(running, vec!["90", "87.5", "88.5"]);
    assert_eq!(s.closing.value(), Decimal::new(885, 1));
    assert!(!s.truncated);
    // composite statement: the subtree's lines including Bob's deposit
    let s = statement(&db.pool, "jcard", &code("21"), &[layer(840)], from, to)
        .await
        .unwrap();
    assert_eq!(s.lines.len(), 4);
    assert_eq!(s.opening.value(), d(100));
    assert_eq!(s.closing.value(), Decimal::new(895, 1));
    assert!(
        statement(&db.pool, "jcard", &code(ALICE), &[layer(840)], to, from)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn check_finds_tampering() {
    let db = TestDb::with_chart().await;
    post(&db.pool, &deposit(ALICE, "10")).await.unwrap();
    let report = check(&db.pool).await.unwrap();
    assert_eq!(
        (report.transactions, report.entries, report.balances),
        (1, 2, 2)
    );
    assert!(report.is_ok());
    // simulate a corrupted cache (the application never does this)
    sqlx::query("UPDATE gl_balances SET balance = balance + 1 WHERE layer = 840 AND balance > 0")
        .execute(&db.pool)
        .await
        .unwrap();
    match check(&db.pool).await.unwrap().discrepancy {
        Some(Discrepancy::BalanceMismatch { account, .. }) => assert_eq!(account, BANK),
        other => panic!("expected BalanceMismatch, got {other:?}"),
    }
    sqlx::query("UPDATE gl_balances SET balance = balance - 1 WHERE layer = 840 AND balance > 0")
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(check(&db.pool).await.unwrap().is_ok());
    sqlx::query("UPDATE gl_entries SET amount = amount + 1 WHERE credit")
        .execute(&db.pool)
        .await
        .unwrap();
    match check(&db.pool).await.unwrap().discrepancy {
        Some(Discrepancy::Unbalanced { layer, net, .. }) => assert_eq!((layer, net), (840, d(-1))),
        other => panic!("expected Unbalanced, got {other:?}"),
    }
    sqlx::query("UPDATE gl_entries SET amount = amount - 1 WHERE credit")
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(check(&db.pool).await.unwrap().is_ok());
    // The high-volume tables carry no foreign keys (docs/PERFORMANCE.md: they cost the ledger a third
    // of its throughput): an entry for a missing account is stored, and `ledger check` names it.
    sqlx::query("UPDATE gl_entries SET account_id = -5 WHERE credit")
        .execute(&db.pool)
        .await
        .unwrap();
    match check(&db.pool).await.unwrap().discrepancy {
        Some(Discrepancy::Orphan { what }) => {
            assert!(what.contains("no such account -5"), "{what}")
        }
        other => panic!("expected Orphan, got {other:?}"),
    }
}

#[tokio::test]
async fn worked_example_from_the_docs() {
    let db = TestDb::with_chart().await;
    let alice = |db: &TestDb| {
        let pool = db.pool.clone();
        async move {
            let mut out = Vec::new();
            for layers in [vec![840], vec![840, 1840], vec![840, 1840, 2840]] {
                let ls: Vec<Layer> = layers.into_iter().map(layer).collect();
                out.push(
                    balance(&pool, "jcard", &code(ALICE), &ls, None)
                        .await
                        .unwrap()
                        .to_string(),
                );
            }
            out
        }
    };
    post(&db.pool, &deposit(ALICE, "100.00")).await.unwrap();
    assert_eq!(alice(&db).await, ["100.00", "100.00", "100.00"]);
    let line = NewTransaction::new("jcard", "credit line").credit(
        &code(ALICE),
        amt("500.00"),
        layer(2840),
    );
    post(&db.pool, &line).await.unwrap();
    assert_eq!(alice(&db).await, ["100.00", "100.00", "600.00"]);
    let hold = NewTransaction::new("jcard", "authorization")
        .debit(&code(ALICE), amt("30.00"), layer(1840))
        .credit(&code(PENDING), amt("30.00"), layer(1840));
    post(&db.pool, &hold).await.unwrap();
    assert_eq!(alice(&db).await, ["100.00", "70.00", "570.00"]);
    let completion = NewTransaction::new("jcard", "completion")
        .debit(&code(ALICE), amt("30.00"), layer(840))
        .credit(&code(BANK), amt("30.00"), layer(840))
        .credit(&code(ALICE), amt("30.00"), layer(1840))
        .debit(&code(PENDING), amt("30.00"), layer(1840));
    post(&db.pool, &completion).await.unwrap();
    assert_eq!(alice(&db).await, ["70.00", "70.00", "570.00"]);
    assert_eq!(bal(&db, BANK, &[840]).await, d(70));
    assert_eq!(bal(&db, "2", &[840]).await, d(70));
    assert_eq!(bal(&db, "1", &[840, 1840]).await, d(70));
}
