//! Requests that name or repeat another transaction must match it, against a real PostgreSQL and a real
//! TransactionManager: a reversal carries its original's card and at most its amount (less reverses the
//! difference), a retransmission key reused with other content is refused, an unknown merchant is not
//! an unknown terminal, and a currency the cardholder holds no account in is 1030. Each test checks
//! that a decline posts nothing and ends with a clean `ledger check`.

// Shared with tests/jcard.rs, which uses the rest of it.
#[allow(dead_code)]
mod common;

use common::*;
use rust_decimal_macros::dec;
use switchyard::iso::IsoMsg;

/// Erin (debit-classic, no purchase fee): savings 600.00, checking 300.00.
const ERIN: &str = "6009330000000108";

/// `m` as a repeat (4th MTI digit 1): same DE 7, 11, 12, 32, 41.
fn repeat_of(m: &IsoMsg) -> IsoMsg {
    let mut r = m.clone();
    let mti = format!("{}1", &m.mti().as_str()[..3]);
    r.set_mti(mti.parse().expect("mti"));
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reversal_with_another_card_is_declined() {
    let s = Switch::start().await;
    let buy = req("2200", "002000", "10.00", ERIN);
    assert_eq!(rc(&s.send(buy.clone()).await), "0000");
    assert_eq!(s.balance("21.0005.20", "840").await, dec!(290.00));
    let before = s.gl_count().await;
    // Alice's PAN naming Erin's purchase: no such original for this card.
    let mut rev = req("2420", "002000", "10.00", ALICE);
    rev.set(56, de56(&buy));
    assert_eq!(rc(&s.send(rev).await), "1816");
    // No PAN at all.
    let mut rev = req("2420", "002000", "10.00", ERIN);
    rev.unset(2);
    rev.set(56, de56(&buy));
    assert_eq!(rc(&s.send(rev).await), "1802");
    assert_eq!(s.gl_count().await, before, "a decline posts nothing");
    assert_eq!(s.balance("21.0005.20", "840").await, dec!(290.00));
    assert_eq!(s.balance("21.0001.20", "840").await, dec!(500.00));
    // Erin's own reversal still works afterwards.
    let mut rev = req("2420", "002000", "10.00", ERIN);
    rev.set(56, de56(&buy));
    assert_eq!(rc(&s.send(rev).await), "0000");
    assert_eq!(s.balance("21.0005.20", "840").await, dec!(300.00));
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn partial_reversal_gives_back_the_difference() {
    let s = Switch::start().await;
    let buy = req("2200", "002000", "10.00", ERIN);
    assert_eq!(rc(&s.send(buy.clone()).await), "0000");
    let before = s.gl_count().await;
    // More than the original, or another currency: 1010, nothing posted.
    let mut over = req("2420", "002000", "10.01", ERIN);
    over.set(56, de56(&buy));
    assert_eq!(rc(&s.send(over).await), "1010");
    let mut eur = req("2420", "002000", "10.00", ERIN);
    eur.set(4, "9782000000001000");
    eur.set(56, de56(&buy));
    assert_eq!(rc(&s.send(eur).await), "1010");
    assert_eq!(s.gl_count().await, before);
    assert_eq!(s.balance("21.0005.20", "840").await, dec!(290.00));
    // DE 4 = 3.00 of 10.00 stands: 7.00 comes back.
    let mut part = req("2420", "002000", "3.00", ERIN);
    part.set(56, de56(&buy));
    assert_eq!(rc(&s.send(part).await), "0000");
    assert_eq!(s.gl_count().await, before + 1);
    assert_eq!(s.balance("21.0005.20", "840").await, dec!(297.00));
    assert_eq!(s.balance("22.001.00840", "840").await, dec!(3.00));
    // A second reversal of the same original answers 0000 and posts nothing.
    let mut again = req("2420", "002000", "10.00", ERIN);
    again.set(56, de56(&buy));
    assert_eq!(rc(&s.send(again).await), "0000");
    assert_eq!(s.balance("21.0005.20", "840").await, dec!(297.00));

    // Bob (debit-premium, 1 % purchase fee): 50.00 costs 50.50; 20.00 stands, 30.00 comes back, the
    // fee stays.
    let buy = req("2200", "002000", "50.00", BOB);
    assert_eq!(rc(&s.send(buy.clone()).await), "0000");
    assert_eq!(s.balance("21.0002.20", "840").await, dec!(45.00));
    let mut part = req("2420", "002000", "20.00", BOB);
    part.set(56, de56(&buy));
    assert_eq!(rc(&s.send(part).await), "0000");
    assert_eq!(s.balance("21.0002.20", "840").await, dec!(75.00));
    assert_eq!(s.balance("31.002.00840", "840").await, dec!(0.50));

    // An authorization is not partially reversed (complete it for less instead): 1010, hold kept.
    let auth = req("2100", "002000", "40.00", ALICE);
    assert_eq!(rc(&s.send(auth.clone()).await), "0000");
    let before = s.gl_count().await;
    let mut part = req("2420", "002000", "10.00", ALICE);
    part.set(56, de56(&auth));
    assert_eq!(rc(&s.send(part).await), "1010");
    assert_eq!(s.gl_count().await, before);
    assert_eq!(s.balance("21.0001.20", "840,1840").await, dec!(460.00));
    let mut full = req("2420", "002000", "40.00", ALICE);
    full.set(56, de56(&auth));
    assert_eq!(rc(&s.send(full).await), "0000");
    assert_eq!(s.balance("21.0001.20", "840,1840").await, dec!(500.00));
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeat_with_other_content_is_declined() {
    let s = Switch::start().await;
    let buy = req("2200", "002000", "10.00", ALICE);
    let first = s.send(buy.clone()).await;
    assert_eq!(rc(&first), "0000");
    assert_eq!(s.balance("21.0001.20", "840").await, dec!(490.00));
    let before = s.gl_count().await;
    let mut amount = repeat_of(&buy);
    amount.set(4, "8402000000009900");
    let mut card = repeat_of(&buy);
    card.set(2, ERIN);
    let mut pcode = repeat_of(&buy);
    pcode.set(3, "001000");
    let mut class = buy.clone();
    class.set_mti("2100".parse().expect("mti"));
    for (what, m) in [
        ("amount", amount),
        ("card", card),
        ("pcode", pcode),
        ("MTI", class),
    ] {
        let r = s.send(m).await;
        assert_eq!(rc(&r), "9113", "{what}");
        assert!(r.get_str(38).is_none(), "{what}: no approval code");
    }
    assert_eq!(s.gl_count().await, before, "nothing posted");
    assert_eq!(s.balance("21.0001.20", "840").await, dec!(490.00));
    assert_eq!(s.balance("21.0001.10", "840").await, dec!(1000.00));
    assert_eq!(s.balance("21.0005.20", "840").await, dec!(300.00));
    // The identical repeat still gets the first answer.
    let r = s.send(repeat_of(&buy)).await;
    assert_eq!(rc(&r), "0000");
    assert_eq!(r.get_str(38), first.get_str(38));
    assert_eq!(s.gl_count().await, before);
    // A declined first (unknown terminal) is repeated with its own answer, not 9113.
    let mut bad = req("2200", "002000", "1.00", ALICE);
    bad.set(41, "29110099        ");
    assert_eq!(rc(&s.send(bad.clone()).await), "1819");
    assert_eq!(rc(&s.send(repeat_of(&bad)).await), "1819");
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_merchant_is_not_an_unknown_terminal() {
    let s = Switch::start().await;
    let mut m = req("2200", "002000", "1.00", ALICE);
    m.set(42, "009999");
    assert_eq!(rc(&s.send(m).await), "1821");
    let mut m = req("2200", "002000", "1.00", ALICE);
    m.set(41, "29110099        ");
    assert_eq!(rc(&s.send(m).await), "1819");
    // Merchant 001002 exists (inactive) under acquirer 000001: its state decides, 1821.
    let mut m = req("2200", "002000", "1.00", ALICE);
    m.set(41, "29120001        ");
    m.set(42, "001002");
    assert_eq!(rc(&s.send(m).await), "1821");
    assert_eq!(s.balance("21.0001.20", "840").await, dec!(500.00));
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn currency_without_an_account_is_1030() {
    let s = Switch::start().await;
    let before = s.gl_count().await;
    let mut m = req("2200", "002000", "10.00", ALICE);
    m.set(4, "9782000000001000");
    assert_eq!(rc(&s.send(m).await), "1030");
    let mut m = req("2200", "000000", "10.00", ALICE);
    m.set(4, "9782000000001000");
    assert_eq!(rc(&s.send(m).await), "1030");
    // USD held, type 50 not: still 1014.
    assert_eq!(
        rc(&s.send(req("2200", "005000", "1.00", ALICE)).await),
        "1014"
    );
    assert_eq!(s.gl_count().await, before);
    assert_eq!(s.balance("21.0001.20", "840").await, dec!(500.00));
    s.ledger_check().await;
}
