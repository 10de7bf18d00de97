//! jCard participants against a real PostgreSQL and a real TransactionManager: every transaction type's
//! approve and decline paths, fees, NSF, credit line, velocity, completion, void, reversal, repeats and
//! concurrency on one card. Each test ends with a clean `ledger check`.

mod common;

use common::*;
use rust_decimal_macros::dec;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purchase_approves_posts_and_declines_nsf() {
    let s = Switch::start().await;
    // debit-premium charges Purchase.%.840 1: 94.00 costs 94.94 of Bob's 95.50
    let r = s.send(req("2200", "002000", "94.00", BOB)).await;
    assert_eq!(rc(&r), "0000");
    assert_eq!(r.mti().as_str(), "2210");
    assert!(r.get_str(38).is_some(), "approval code");
    assert_eq!(s.balance("21.0002.20", "840").await, dec!(0.56));
    assert_eq!(s.balance("22.001.00840", "840").await, dec!(94.00));
    assert_eq!(s.balance("31.002.00840", "840").await, dec!(0.94));
    let before = s.gl_count().await;
    // 0.56 + a 0.01 fee exceeds 0.56: amount + fees over available is NSF
    let r = s.send(req("2200", "002000", "0.56", BOB)).await;
    assert_eq!(rc(&r), "1016");
    assert!(r.get_str(38).is_none());
    assert_eq!(s.gl_count().await, before, "a decline posts nothing");
    assert_eq!(s.balance("21.0002.20", "840").await, dec!(0.56));
    let logged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jc_tranlog WHERE result_code = '1016'")
            .fetch_one(&s.db.pool)
            .await
            .expect("count");
    assert_eq!(logged, 1, "declines are logged");
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cash_with_flat_and_percentage_fees() {
    let s = Switch::start().await;
    // debit-classic: CashAdvance.flat.840 1.00 + CashAdvance.%.840 1.5 → 100.00 costs 102.50
    let r = s.send(req("2200", "011000", "100.00", ALICE)).await;
    assert_eq!(rc(&r), "0000");
    assert_eq!(s.balance("21.0001.10", "840").await, dec!(897.50));
    assert_eq!(s.balance("31.001.00840", "840").await, dec!(2.50));
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn card_and_terminal_checks() {
    let s = Switch::start().await;
    assert_eq!(
        rc(&s.send(req("2200", "000000", "1.00", EXPIRED)).await),
        "1001"
    );
    assert_eq!(
        rc(&s.send(req("2200", "000000", "1.00", LOST)).await),
        "1032"
    );
    assert_eq!(
        rc(&s
            .send(req("2200", "000000", "1.00", "6009330000000017"))
            .await),
        "1011"
    );
    let mut m = req("2200", "000000", "1.00", ALICE);
    m.set(41, "29119999        ");
    assert_eq!(rc(&s.send(m).await), "1820");
    let mut m = req("2200", "000000", "1.00", ALICE);
    m.unset(11);
    assert_eq!(rc(&s.send(m).await), "1802");
    assert_eq!(
        rc(&s.send(req("2200", "005000", "1.00", ALICE)).await),
        "1014"
    );
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn credit_line_and_balance_inquiry() {
    let s = Switch::start().await;
    let r = s.send(req("2200", "003000", "250.00", DAVE)).await;
    assert_eq!(rc(&r), "0000");
    assert_eq!(s.balance("21.0004.30", "840").await, dec!(-250.00));
    assert_eq!(s.balance("21.0004.30", "840,1840,2840").await, dec!(50.00));
    assert_eq!(
        rc(&s.send(req("2200", "003000", "50.01", DAVE)).await),
        "1016"
    );
    let r = s.send(req("2100", "303000", "0.00", DAVE)).await;
    assert_eq!(rc(&r), "0000");
    assert_eq!(
        r.get_str(54),
        Some("30018402D00000002500030028402C000000005000")
    );
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn authorization_partial_completion_and_repeat() {
    let s = Switch::start().await;
    let auth = req("2100", "002000", "100.00", ALICE);
    assert_eq!(rc(&s.send(auth.clone()).await), "0000");
    assert_eq!(s.balance("21.0001.20", "840").await, dec!(500.00));
    assert_eq!(s.balance("21.0001.20", "840,1840").await, dec!(400.00));
    let mut comp = req("2220", "002000", "60.00", ALICE);
    comp.set(56, de56(&auth));
    assert_eq!(rc(&s.send(comp.clone()).await), "0000");
    assert_eq!(s.balance("21.0001.20", "840").await, dec!(440.00));
    assert_eq!(s.balance("21.0001.20", "840,1840").await, dec!(440.00));
    // The same completion again (same key) answers the same and posts nothing.
    let before = s.gl_count().await;
    let mut again = comp.clone();
    again.set_mti("2221".parse().expect("mti"));
    assert_eq!(rc(&s.send(again).await), "0000");
    assert_eq!(s.gl_count().await, before);
    // A second completion (new key) is refused.
    let mut second = req("2220", "002000", "10.00", ALICE);
    second.set(56, de56(&auth));
    assert_eq!(rc(&s.send(second).await), "1825");
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn auth_void_reverse_void_then_completion() {
    let s = Switch::start().await;
    let auth = req("2100", "002000", "40.00", ALICE);
    assert_eq!(rc(&s.send(auth.clone()).await), "0000");
    let mut void = req("2100", "022000", "40.00", ALICE);
    void.set(56, de56(&auth));
    assert_eq!(rc(&s.send(void.clone()).await), "0000");
    assert_eq!(s.balance("21.0001.20", "840,1840").await, dec!(500.00));
    let mut comp_voided = req("2220", "002000", "40.00", ALICE);
    comp_voided.set(56, de56(&auth));
    assert_eq!(rc(&s.send(comp_voided).await), "1827");
    let mut rev = req("2420", "022000", "40.00", ALICE);
    rev.set(56, de56(&void));
    assert_eq!(rc(&s.send(rev).await), "0000");
    assert_eq!(s.balance("21.0001.20", "840,1840").await, dec!(460.00));
    let mut comp = req("2220", "002000", "40.00", ALICE);
    comp.set(56, de56(&auth));
    assert_eq!(rc(&s.send(comp).await), "0000");
    assert_eq!(s.balance("21.0001.20", "840").await, dec!(460.00));
    assert_eq!(s.balance("21.0001.20", "840,1840").await, dec!(460.00));
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reversal_repeat_and_reversal_before_original() {
    let s = Switch::start().await;
    let buy = req("2200", "001000", "10.00", ALICE);
    assert_eq!(rc(&s.send(buy.clone()).await), "0000");
    let mut rev = req("2420", "001000", "10.00", ALICE);
    rev.set(56, de56(&buy));
    assert_eq!(rc(&s.send(rev).await), "0000");
    assert_eq!(s.balance("21.0001.10", "840").await, dec!(1000.00));
    let before = s.gl_count().await;
    let mut rev2 = req("2420", "001000", "10.00", ALICE);
    rev2.set(56, de56(&buy));
    assert_eq!(
        rc(&s.send(rev2).await),
        "0000",
        "repeat reversal answers the same"
    );
    assert_eq!(s.gl_count().await, before);
    // Reversal first, original later: the original is declined.
    let late = req("2200", "001000", "20.00", ALICE);
    let mut early = req("2420", "001000", "20.00", ALICE);
    early.set(56, de56(&late));
    assert_eq!(rc(&s.send(early).await), "1816");
    assert_eq!(rc(&s.send(late).await), "1824");
    assert_eq!(s.balance("21.0001.10", "840").await, dec!(1000.00));
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refund_deposit_transfer_and_velocity() {
    let s = Switch::start().await;
    assert_eq!(
        rc(&s.send(req("2200", "200010", "5.00", ALICE)).await),
        "0000"
    );
    assert_eq!(s.balance("21.0001.10", "840").await, dec!(1005.00));
    assert_eq!(
        rc(&s.send(req("2200", "210020", "7.00", ALICE)).await),
        "0000"
    );
    assert_eq!(s.balance("21.0001.20", "840").await, dec!(507.00));
    // Transfer.flat.840 0.50
    assert_eq!(
        rc(&s.send(req("2200", "401020", "100.00", ALICE)).await),
        "0000"
    );
    assert_eq!(s.balance("21.0001.10", "840").await, dec!(904.50));
    assert_eq!(s.balance("21.0001.20", "840").await, dec!(607.00));
    assert_eq!(
        rc(&s.send(req("2200", "401020", "904.01", ALICE)).await),
        "1016"
    );
    // velocity-test: 3 purchases per hour, 100.00 max
    for _ in 0..3 {
        assert_eq!(
            rc(&s.send(req("2200", "002000", "10.00", CAROL)).await),
            "0000"
        );
    }
    assert_eq!(
        rc(&s.send(req("2200", "002000", "10.00", CAROL)).await),
        "1023"
    );
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retransmissions_racing_post_once() {
    let s = Switch::start().await;
    let m = req("2200", "002000", "1.00", BOB);
    let before = s.gl_count().await;
    let answers = futures::future::join_all((0..8).map(|_| s.send(m.clone()))).await;
    for a in &answers {
        assert_eq!(rc(a), "0000");
        assert_eq!(a.get_str(38), answers[0].get_str(38));
    }
    assert_eq!(s.gl_count().await, before + 1);
    assert_eq!(s.balance("21.0002.20", "840").await, dec!(94.49));
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_parallel_purchases_never_overdraw() {
    let s = Switch::start().await;
    // Bob's checking holds 95.50 (debit-premium: 1% fee, so each 1.00 costs 1.01).
    let reqs: Vec<_> = (0..100)
        .map(|_| req("2200", "002000", "1.00", BOB))
        .collect();
    let answers = futures::future::join_all(reqs.into_iter().map(|m| s.send(m))).await;
    let ok = answers.iter().filter(|a| rc(a) == "0000").count();
    assert!(answers.iter().all(|a| rc(a) == "0000" || rc(a) == "1016"));
    // each costs 1.01: 94 fit in 95.50
    assert_eq!(ok, 94);
    assert_eq!(
        s.balance("21.0002.20", "840").await,
        dec!(95.50) - dec!(1.01) * rust_decimal::Decimal::from(94)
    );
    s.ledger_check().await;
}
