//! `jcard.Settlement` against the default deploy over TCP: a terminal's batch close (2540) compared
//! with the tranlog — in balance (5000) and out of balance (5001), checkpoint versus final close,
//! rows marked settled once, a repeated close answering the same and marking nothing, the next batch
//! counting only what came after, and malformed requests declined.

// Shared with the other test files, which use the rest of it.
#[allow(dead_code)]
mod common;

use common::deployed::Deployed;
use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use switchyard::iso::amount::Currency;
use switchyard::iso::{IsoMsg, Spec};
use switchyard_participants::participants::{Total, Totals};

const TID: &str = "29110002        ";

/// `m` from the settlement test terminal.
fn at_tid(mut m: IsoMsg) -> IsoMsg {
    m.set(41, TID);
    m
}

fn total(count: u64, amount: Decimal) -> Total {
    Total { count, amount }
}

/// A 2540 closing (`500`) or checkpointing (`501`) `batch` with `totals`.
fn close(function: &str, batch: &str, totals: &Totals) -> IsoMsg {
    let stan = next_stan();
    let usd = Currency::from_code(840).expect("USD");
    let de74 = Spec::builtin("cmf")
        .expect("cmf")
        .pack_composite(74, &totals.de74(usd))
        .expect("DE 74");
    let net = (totals.net().abs() * Decimal::ONE_HUNDRED).trunc();
    IsoMsg::with_mti("2540")
        .expect("mti")
        .with(7, format!("1123{:06}", stan % 1_000_000))
        .with(11, format!("{stan:012}"))
        .with(12, format!("20261123{:06}", stan % 1_000_000))
        .with(24, function)
        .with(32, "000001")
        .with(41, TID)
        .with(42, "001001")
        .with(68, batch)
        .with(74, de74)
        .with(97, format!("8402{net:0>17}"))
}

async fn settled(d: &Deployed) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jc_tranlog WHERE settlement_id IS NOT NULL")
        .fetch_one(&d.db.pool)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_close_in_and_out_of_balance() {
    let d = Deployed::start().await;
    // Another terminal's purchase never counts here.
    assert_eq!(d.rc(&req("2200", "001000", "99.00", ALICE)).await, "0000");
    let send = |m: IsoMsg| {
        let d = &d;
        async move { d.rc(&at_tid(m)).await }
    };
    let buy = at_tid(req("2200", "001000", "10.00", ALICE));
    assert_eq!(d.rc(&buy).await, "0000");
    let reversed = at_tid(req("2200", "001000", "20.00", ALICE));
    assert_eq!(d.rc(&reversed).await, "0000");
    let mut rev = req("2420", "001000", "20.00", ALICE);
    rev.set(56, de56(&reversed));
    assert_eq!(send(rev).await, "0000");
    let voided = at_tid(req("2200", "001000", "5.00", ALICE));
    assert_eq!(d.rc(&voided).await, "0000");
    let mut void = req("2200", "021000", "5.00", ALICE);
    void.set(56, de56(&voided));
    assert_eq!(send(void).await, "0000");
    assert_eq!(send(req("2200", "200010", "3.00", ALICE)).await, "0000");
    assert_eq!(send(req("2200", "210010", "7.00", ALICE)).await, "0000");
    let auth = at_tid(req("2100", "001000", "50.00", ALICE));
    assert_eq!(d.rc(&auth).await, "0000");
    let mut comp = req("2220", "001000", "40.00", ALICE);
    comp.set(56, de56(&auth));
    assert_eq!(send(comp).await, "0000");
    assert_eq!(send(req("2200", "002000", "900.00", BOB)).await, "1016");
    assert_eq!(send(req("2100", "301000", "0.00", ALICE)).await, "0000");

    let ours = Totals {
        credits: total(2, dec!(10.00)),
        debits: total(4, dec!(75.00)),
        debit_reversals: total(2, dec!(25.00)),
        ..Totals::default()
    };
    assert_eq!(ours.net(), dec!(40.00));
    // A checkpoint compares only.
    let mut wrong = ours;
    wrong.debits = total(3, dec!(65.00));
    assert_eq!(d.rc(&close("501", "000001", &wrong)).await, "5001");
    assert_eq!(d.rc(&close("501", "000001", &ours)).await, "5000");
    assert_eq!(settled(&d).await, 0, "a checkpoint closes nothing");

    let first = close("500", "000001", &ours);
    let r = d.send(&first).await;
    assert_eq!((r.mti().as_str(), rc(&r)), ("2550", "5000"));
    assert_eq!(r.get_str(68).map(str::trim_end), Some("000001"));
    assert_eq!(
        (r.get(74), r.get_str(97)),
        (first.get(74), first.get_str(97))
    );
    assert!(!r.has(38), "no approval code on 2550");
    let marked = settled(&d).await;
    let unsettled_here: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jc_tranlog WHERE tid = '29110002' AND settlement_id IS NULL",
    )
    .fetch_one(&d.db.pool)
    .await
    .expect("count");
    assert_eq!(unsettled_here, 0, "every row of the terminal is settled");
    let other: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jc_tranlog WHERE tid = '29110001' AND settlement_id IS NOT NULL",
    )
    .fetch_one(&d.db.pool)
    .await
    .expect("count");
    assert_eq!(other, 0, "another terminal's rows stay open");

    // The same batch closed again (new STAN, even with other totals): same answer, nothing marked.
    assert_eq!(d.rc(&close("500", "000001", &wrong)).await, "5000");
    assert_eq!(
        d.rc(&first).await,
        "5000",
        "a retransmission answers the same"
    );
    let mut repeat = first.clone();
    repeat.set_mti("2541".parse().expect("mti"));
    repeat.set(7, "1124000009");
    assert_eq!(d.rc(&repeat).await, "5000", "a repeat answers the same");
    assert_eq!(settled(&d).await, marked);

    // The next batch counts only what came after; wrong totals are out of balance but close.
    assert_eq!(send(req("2200", "001000", "1.00", ALICE)).await, "0000");
    let next = Totals {
        debits: total(1, dec!(1.00)),
        ..Totals::default()
    };
    assert_eq!(d.rc(&close("500", "000002", &next)).await, "5000");
    assert_eq!(send(req("2200", "001000", "2.00", ALICE)).await, "0000");
    assert_eq!(d.rc(&close("500", "000003", &next)).await, "5001");
    let reason: String = sqlx::query_scalar(
        "SELECT extended_result FROM jc_tranlog WHERE batch = '000003' AND txn_type = 'Settlement'",
    )
    .fetch_one(&d.db.pool)
    .await
    .expect("reason");
    assert!(reason.contains("debits 1/2.00"), "{reason}");
    assert_eq!(
        d.rc(&close("500", "000004", &Totals::default())).await,
        "5000",
        "batch 000003 was closed although out of balance"
    );
    // 1000 − 99 − 10 (20 reversed, 5 voided) + 3 refund + 7 deposit − 40 completed − 1 − 2.
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(858.00));
    assert_eq!(d.balance("21.0001.10", "840,1840").await, dec!(858.00));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_closes_are_declined() {
    let d = Deployed::start().await;
    let mut no_net = close("500", "000001", &Totals::default());
    no_net.unset(97);
    assert_eq!(d.rc(&no_net).await, "1802");
    assert_eq!(
        d.rc(&close("502", "000001", &Totals::default())).await,
        "1830"
    );
    let mut exp3 = close("500", "000001", &Totals::default());
    exp3.set(97, "840300000000000000000");
    assert_eq!(d.rc(&exp3).await, "1830");
    let mut extra = close("500", "000001", &Totals::default());
    extra.set(2, ALICE);
    assert_eq!(d.rc(&extra).await, "1803");
    assert_eq!(settled(&d).await, 0);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_closes_of_one_batch_settle_once() {
    let d = Deployed::start().await;
    assert_eq!(
        d.rc(&at_tid(req("2200", "001000", "4.00", ALICE))).await,
        "0000"
    );
    let totals = Totals {
        debits: total(1, dec!(4.00)),
        ..Totals::default()
    };
    let closes: Vec<IsoMsg> = (0..6).map(|_| close("500", "000007", &totals)).collect();
    let answers = futures::future::join_all(closes.iter().map(|m| d.rc(m))).await;
    assert!(answers.iter().all(|a| a == "5000"), "{answers:?}");
    let closers: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT settlement_id) FROM jc_tranlog WHERE settlement_id IS NOT NULL",
    )
    .fetch_one(&d.db.pool)
    .await
    .expect("count");
    assert_eq!(
        closers, 1,
        "one close settled the batch; the others answered its code"
    );
    d.stop().await;
}
