//! Fixes found by the self-test author, one test each, against the default deploy over TCP with a
//! fresh fixture database: repeats route and answer as their original, a voided purchase cannot be
//! reversed into a second refund, completions and voids must match their original, DE 54 signs a zero
//! balance `C`, DE 4 exponents and zero amounts are refused, the 220.01/09/11 routes exist, the first
//! decline's code wins over `core.Unsupported`, a refund advice needs no DE 56, and 2814 carries no
//! approval code.

// Shared with the other test files, which use the rest of it.
#[allow(dead_code)]
mod common;

use common::deployed::Deployed;
use common::*;
use rust_decimal_macros::dec;
use switchyard::iso::IsoMsg;

/// `m` as a repeat (`mti`) with a new transmission time.
fn repeat(m: &IsoMsg, mti: &str, de7: &str) -> IsoMsg {
    let mut r = m.clone();
    r.set_mti(mti.parse().expect("mti"));
    r.set(7, de7);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_repeat_answers_as_its_original_and_posts_once() {
    let d = Deployed::start().await;
    let buy = req("2200", "001000", "10.00", ALICE);
    let first = d.send(&buy).await;
    assert_eq!(rc(&first), "0000");
    let before = d.gl_count().await;
    // A repeat carries a new DE 7 but the original's STAN and DE 12.
    let r = d.send(&repeat(&buy, "2201", "1124000001")).await;
    assert_eq!(r.mti().as_str(), "2210");
    assert_eq!((rc(&r), r.get_str(38)), ("0000", first.get_str(38)));
    assert_eq!(d.gl_count().await, before, "a repeat posts nothing");
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(990.00));
    // A repeat whose original never arrived is processed as the original.
    let lone = repeat(&req("2201", "001000", "5.00", ALICE), "2201", "1124000002");
    assert_eq!(d.rc(&lone).await, "0000");
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(985.00));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn completion_and_reversal_repeats_post_once() {
    let d = Deployed::start().await;
    let auth = req("2100", "002000", "30.00", ALICE);
    assert_eq!(d.rc(&auth).await, "0000");
    let mut comp = req("2220", "002000", "30.00", ALICE);
    comp.set(56, de56(&auth));
    assert_eq!(d.rc(&comp).await, "0000");
    let before = d.gl_count().await;
    let r = d.send(&repeat(&comp, "2221", "1124000003")).await;
    assert_eq!((r.mti().as_str(), rc(&r)), ("2230", "0000"));
    assert_eq!(d.gl_count().await, before);
    assert_eq!(d.balance("21.0001.20", "840").await, dec!(470.00));

    let buy = req("2200", "001000", "10.00", ALICE);
    assert_eq!(d.rc(&buy).await, "0000");
    let mut rev = req("2420", "001000", "10.00", ALICE);
    rev.set(56, de56(&buy));
    assert_eq!(d.rc(&rev).await, "0000");
    let before = d.gl_count().await;
    assert_eq!(d.rc(&repeat(&rev, "2421", "1124000004")).await, "0000");
    assert_eq!(d.gl_count().await, before);
    // A 2401 with no 2400 before it is processed as the reversal.
    let buy2 = req("2200", "001000", "5.00", ALICE);
    assert_eq!(d.rc(&buy2).await, "0000");
    let mut rev2 = req("2401", "001000", "5.00", ALICE);
    rev2.set(56, de56(&buy2));
    assert_eq!(d.rc(&rev2).await, "0000");
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(1000.00));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_voided_purchase_is_not_reversed_twice() {
    let d = Deployed::start().await;
    let buy = req("2200", "001000", "10.00", ALICE);
    assert_eq!(d.rc(&buy).await, "0000");
    let mut void = req("2200", "021000", "10.00", ALICE);
    void.set(56, de56(&buy));
    assert_eq!(d.rc(&void).await, "0000");
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(1000.00));
    let before = d.gl_count().await;
    let mut rev = req("2420", "001000", "10.00", ALICE);
    rev.set(56, de56(&buy));
    assert_eq!(d.rc(&rev).await, "1827", "original voided");
    assert_eq!(d.gl_count().await, before);
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(1000.00));
    // Reversing the void restores the purchase, which can then be reversed once.
    let mut rev_void = req("2420", "021000", "10.00", ALICE);
    rev_void.set(56, de56(&void));
    assert_eq!(d.rc(&rev_void).await, "0000");
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(990.00));
    let mut rev2 = req("2420", "001000", "10.00", ALICE);
    rev2.set(56, de56(&buy));
    assert_eq!(d.rc(&rev2).await, "0000");
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(1000.00));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_completion_must_match_its_authorization() {
    let d = Deployed::start().await;
    let auth = req("2100", "002000", "50.00", ALICE);
    assert_eq!(d.rc(&auth).await, "0000");
    let mut other_card = req("2220", "002000", "50.00", BOB);
    other_card.set(56, de56(&auth));
    assert_eq!(d.rc(&other_card).await, "1816");
    let mut other_account = req("2220", "001000", "50.00", ALICE);
    other_account.set(56, de56(&auth));
    assert_eq!(d.rc(&other_account).await, "1816");
    assert_eq!(d.balance("21.0002.20", "840").await, dec!(95.50));
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(1000.00));
    assert_eq!(d.balance("21.0001.20", "840,1840").await, dec!(450.00));
    // DE 3 account type 00 completes on the authorization's (checking) account.
    let mut comp = req("2220", "000000", "45.00", ALICE);
    comp.set(56, de56(&auth));
    assert_eq!(d.rc(&comp).await, "0000");
    assert_eq!(d.balance("21.0001.20", "840").await, dec!(455.00));
    assert_eq!(d.balance("21.0001.20", "840,1840").await, dec!(455.00));
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(1000.00));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_void_must_match_its_original() {
    let d = Deployed::start().await;
    let buy = req("2200", "001000", "20.00", ALICE);
    assert_eq!(d.rc(&buy).await, "0000");
    let before = d.gl_count().await;
    for (mti, pcode, amount, pan, want) in [
        ("2200", "021000", "20.00", BOB, "1816"),   // another card
        ("2200", "021000", "19.00", ALICE, "1010"), // another amount
        ("2200", "221000", "20.00", ALICE, "1816"), // a refund void naming a purchase
        ("2100", "021000", "20.00", ALICE, "1816"), // an authorization void naming a financial
    ] {
        let mut void = req(mti, pcode, amount, pan);
        void.set(56, de56(&buy));
        assert_eq!(d.rc(&void).await, want, "{mti} {pcode} {amount}");
    }
    assert_eq!(d.gl_count().await, before, "mismatched voids post nothing");
    let mut void = req("2200", "021000", "20.00", ALICE);
    void.set(56, de56(&buy));
    assert_eq!(d.rc(&void).await, "0000");
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(1000.00));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_zero_balance_is_signed_credit() {
    let d = Deployed::start().await;
    // Dave's credit account: accounting balance zero, the 300.00 credit line available.
    let r = d.send(&req("2100", "303000", "0.00", DAVE)).await;
    assert_eq!(rc(&r), "0000");
    assert_eq!(
        r.get_str(54),
        Some("30018402C00000000000030028402C000000030000")
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_amount_exponent_must_be_the_currency_minor_unit() {
    let d = Deployed::start().await;
    let mut exp3 = req("2200", "001000", "1.00", ALICE);
    exp3.set(4, "8403000000001000");
    assert_eq!(d.rc(&exp3).await, "1010");
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(1000.00));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_zero_amount_money_movement_is_invalid() {
    let d = Deployed::start().await;
    let before = d.gl_count().await;
    assert_eq!(d.rc(&req("2200", "001000", "0.00", ALICE)).await, "1010");
    assert_eq!(d.rc(&req("2100", "001000", "0.00", ALICE)).await, "1010");
    assert_eq!(d.rc(&req("2200", "200010", "0.00", ALICE)).await, "1010");
    assert_eq!(d.gl_count().await, before);
    // A balance inquiry carries 0.00 legitimately.
    assert_eq!(d.rc(&req("2100", "301000", "0.00", ALICE)).await, "0000");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cash_cashback_and_quasi_cash_authorizations_complete() {
    let d = Deployed::start().await;
    for pcode in ["011000", "091000", "111000"] {
        let auth = req("2100", pcode, "10.00", ALICE);
        assert_eq!(d.rc(&auth).await, "0000", "auth {pcode}");
        let mut comp = req("2220", pcode, "10.00", ALICE);
        comp.set(56, de56(&auth));
        assert_eq!(d.rc(&comp).await, "0000", "completion {pcode}");
    }
    // Cash 10.00 + 1.00 + 1.5% = 11.15; cashback and quasi-cash 10.00 each (debit-classic).
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(968.85));
    assert_eq!(d.balance("21.0001.10", "840,1840").await, dec!(968.85));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_decline_code_wins() {
    let d = Deployed::start().await;
    let mut no_pcode = req("2200", "001000", "1.00", ALICE);
    no_pcode.unset(3);
    assert_eq!(
        d.rc(&no_pcode).await,
        "1802",
        "missing field, not unsupported"
    );
    assert_eq!(d.rc(&req("2300", "000000", "1.00", ALICE)).await, "1015");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refund_advice_needs_no_original() {
    let d = Deployed::start().await;
    assert_eq!(d.rc(&req("2220", "200010", "5.00", ALICE)).await, "0000");
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(1005.00));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn network_management_has_no_approval_code() {
    let d = Deployed::start().await;
    let echo = IsoMsg::with_mti("2804")
        .expect("mti")
        .with(7, "1123120000")
        .with(11, "000000000901")
        .with(24, "831")
        .with(32, "000001")
        .with(41, "29110001        ");
    let r = d.send(&echo).await;
    assert_eq!((r.mti().as_str(), rc(&r)), ("2814", "0000"));
    assert!(!r.has(38), "2814 has no DE 38");
    d.stop().await;
}
