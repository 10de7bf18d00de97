//! `jcard.CheckFields` in the default deploy over TCP: a field neither mandatory nor optional for the
//! transaction type is declined with 1803 (and logged, posting nothing), optional fields pass, and
//! `participant-config` narrows the optional list of one route key.

// Shared with the other test files, which use the rest of it.
#[allow(dead_code)]
mod common;

use common::deployed::Deployed;
use common::*;
use rust_decimal_macros::dec;
use switchyard::iso::IsoMsg;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn extra_fields_are_declined_with_1803() {
    let d = Deployed::start().await;
    let before = d.gl_count().await;
    let mut with_56 = req("2200", "001000", "1.00", ALICE);
    with_56.set(56, "2200000000000001202601010000000000001");
    assert_eq!(d.rc(&with_56).await, "1803");
    assert_eq!(d.gl_count().await, before, "an extra field posts nothing");
    let why: String = sqlx::query_scalar(
        "SELECT extended_result FROM jc_tranlog WHERE result_code = '1803' ORDER BY id LIMIT 1",
    )
    .fetch_one(&d.db.pool)
    .await
    .expect("logged");
    assert!(why.contains("56"), "{why}");
    let echo = IsoMsg::with_mti("2804")
        .expect("mti")
        .with(2, ALICE)
        .with(7, "1123120000")
        .with(11, "000000000902")
        .with(24, "831")
        .with(32, "000001")
        .with(41, "29110001        ");
    let r = d.send(&echo).await;
    assert_eq!((r.mti().as_str(), rc(&r)), ("2814", "1803"));
    assert!(!r.has(2), "the PAN is never echoed");
    // Optional fields: expiry, RRN, acquirer fee.
    let mut optional = req("2200", "001000", "1.00", ALICE);
    optional.set(14, "3012");
    optional.set(37, "SY0000000001");
    optional.set(46, "008402000000000010");
    assert_eq!(d.rc(&optional).await, "0000");
    assert_eq!(d.balance("21.0001.10", "840").await, dec!(998.90));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn participant_config_narrows_the_optional_fields() {
    let d = Deployed::start_with(|yaml| {
        yaml.replace(
            "participant-config:\n",
            "participant-config:\n  jcard.CheckFields:\n    optional: { \"200.00\": [2] }\n",
        )
    })
    .await;
    // DE 42 is no longer optional for a purchase; still for cash (200.01).
    assert_eq!(d.rc(&req("2200", "001000", "1.00", ALICE)).await, "1803");
    let mut no_mid = req("2200", "001000", "1.00", ALICE);
    no_mid.unset(42);
    // CheckTerminal needs DE 42: the purchase passes CheckFields and is declined later.
    assert_eq!(d.rc(&no_mid).await, "1802");
    assert_eq!(d.rc(&req("2200", "011000", "1.00", ALICE)).await, "0000");
    d.stop().await;
}
