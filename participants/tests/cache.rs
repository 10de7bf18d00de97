//! The reference-data cache end to end, against a real PostgreSQL and a real TransactionManager:
//! with a TTL, a change to an acquirer's or terminal's status, a fee or a velocity limit is not seen
//! until the TTL passes (so the participants really read through the cache); with a TTL of zero it
//! is seen at once; a terminal loaded while the switch runs is accepted at once either way (lookups
//! that find nothing are not cached).

// Shared with tests/jcard.rs, which uses the rest of it.
#[allow(dead_code)]
mod common;

use std::time::Duration;

use common::*;
use rust_decimal_macros::dec;

/// Ivan (debit-fees: purchase fee 0.25 flat): savings 200.00.
const IVAN: &str = "6009330000000140";

/// Longer than any test runs: whatever is cached stays cached.
const LONG: Duration = Duration::from_secs(600);

async fn exec(s: &Switch, sql: &str) {
    sqlx::query(sql).execute(&s.db.pool).await.expect(sql);
}

async fn purchase(s: &Switch, pan: &str, amount: &str) -> String {
    rc(&s.send(req("2200", "002000", amount, pan)).await).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_changes_take_effect_after_the_ttl_only() {
    for (ttl, terminal_off, acquirer_off) in
        [(LONG, "0000", "0000"), (Duration::ZERO, "1820", "1823")]
    {
        let s = Switch::start_with_cache_ttl(ttl).await;
        assert_eq!(purchase(&s, ALICE, "1.00").await, "0000", "ttl {ttl:?}");
        exec(
            &s,
            "UPDATE jc_terminals SET active = false WHERE terminal_id = '29110001'",
        )
        .await;
        assert_eq!(
            purchase(&s, ALICE, "1.00").await,
            terminal_off,
            "ttl {ttl:?}"
        );
        exec(
            &s,
            "UPDATE jc_terminals SET active = true WHERE terminal_id = '29110001'",
        )
        .await;
        exec(
            &s,
            "UPDATE jc_acquirers SET active = false WHERE institution_id = '000001'",
        )
        .await;
        assert_eq!(
            purchase(&s, ALICE, "1.00").await,
            acquirer_off,
            "ttl {ttl:?}"
        );
        s.ledger_check().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_terminal_loaded_while_running_is_accepted_at_once() {
    let s = Switch::start_with_cache_ttl(LONG).await;
    let mut m = req("2200", "002000", "1.00", ALICE);
    m.set(41, "29110077        ");
    assert_eq!(rc(&s.send(m).await), "1819");
    exec(
        &s,
        "INSERT INTO jc_terminals (merchant_id, terminal_id) \
         SELECT m.id, '29110077' FROM jc_merchants m JOIN jc_acquirers a ON a.id = m.acquirer_id \
         WHERE a.institution_id = '000001' AND m.merchant_id = '001001'",
    )
    .await;
    let mut m = req("2200", "002000", "1.00", ALICE);
    m.set(41, "29110077        ");
    assert_eq!(rc(&s.send(m).await), "0000");
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fee_changes_take_effect_after_the_ttl_only() {
    for (ttl, second_fee) in [(LONG, dec!(0.25)), (Duration::ZERO, dec!(0.50))] {
        let s = Switch::start_with_cache_ttl(ttl).await;
        assert_eq!(purchase(&s, IVAN, "10.00").await, "0000");
        assert_eq!(s.balance("21.0009.20", "840").await, dec!(189.75));
        exec(
            &s,
            "UPDATE jc_fees SET amount = 0.50 WHERE kind = 'Purchase.flat.840' \
             AND product_id = (SELECT id FROM jc_card_products WHERE name = 'debit-fees')",
        )
        .await;
        assert_eq!(purchase(&s, IVAN, "10.00").await, "0000");
        let expected = dec!(189.75) - dec!(10.00) - second_fee;
        assert_eq!(
            s.balance("21.0009.20", "840").await,
            expected,
            "ttl {ttl:?}"
        );
        s.ledger_check().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn velocity_limit_changes_take_effect_after_the_ttl_only() {
    for (ttl, second) in [(LONG, "0000"), (Duration::ZERO, "1023")] {
        let s = Switch::start_with_cache_ttl(ttl).await;
        assert_eq!(purchase(&s, CAROL, "1.00").await, "0000");
        exec(
            &s,
            "UPDATE jc_velocity_limits SET max_count = 1 WHERE name = 'purchases-hourly'",
        )
        .await;
        assert_eq!(purchase(&s, CAROL, "1.00").await, second, "ttl {ttl:?}");
        let spent = if second == "0000" {
            dec!(2.00)
        } else {
            dec!(1.00)
        };
        assert_eq!(
            s.balance("21.0003.20", "840").await,
            dec!(250.00) - spent,
            "ttl {ttl:?}"
        );
        s.ledger_check().await;
    }
}
