//! Fixture loading: idempotent (a reload posts and adds nothing), validated (errors name the entity
//! and key), PANs never stored in clear.

// Shared with tests/jcard.rs, which uses the rest of it.
#[allow(dead_code)]
mod common;

use switchyard_participants::fixtures::{load, Fixtures};
use switchyard_participants::PanKey;

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../selftest/fixtures/jcard.yml"
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_is_idempotent_and_pans_are_hashed() {
    let s = common::Switch::start().await;
    let count = |sql: &'static str| {
        let pool = s.db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    };
    let gl = count("SELECT count(*) FROM gl_transactions").await;
    let rules = count("SELECT count(*) FROM gl_rules").await;
    let cards = count("SELECT count(*) FROM jc_cards").await;
    let fx = Fixtures::from_file(std::path::Path::new(FILE)).expect("parse");
    let sum = load(&s.db.pool, &PanKey::new(b"test-key".to_vec()), &fx)
        .await
        .expect("reload");
    assert_eq!(sum.posted, 0);
    assert_eq!(count("SELECT count(*) FROM gl_transactions").await, gl);
    assert_eq!(count("SELECT count(*) FROM gl_rules").await, rules);
    assert_eq!(count("SELECT count(*) FROM jc_cards").await, cards);
    assert_eq!(
        s.balance("21.0001.10", "840").await,
        rust_decimal::Decimal::new(100_000, 2)
    );
    let clear = count(
        "SELECT count(*) FROM jc_cards WHERE pan_hash LIKE '%6009330000000025%' OR token LIKE '%6009330000000025%'",
    )
    .await;
    assert_eq!(clear, 0);
    s.ledger_check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_fixtures_name_entity_and_key() {
    let s = common::Switch::start().await;
    let key = PanKey::new(b"test-key".to_vec());
    let bad_card = Fixtures::from_yaml(
        "cards: [{pan: \"6009330000000026\", token: t-bad, expiry: \"3012\", product: debit-classic, cardholder: alice}]",
    )
    .expect("parse");
    let e = load(&s.db.pool, &key, &bad_card).await.expect_err("Luhn");
    assert_eq!(
        e.to_string(),
        "fixture card \"t-bad\": PAN fails the Luhn check"
    );
    let bad_ref = Fixtures::from_yaml(
        "cards: [{pan: \"6009330000000025\", token: t-ref, expiry: \"3012\", product: nope, cardholder: alice}]",
    )
    .expect("parse");
    let e = load(&s.db.pool, &key, &bad_ref)
        .await
        .expect_err("unknown product");
    assert!(e.to_string().contains("card \"t-ref\""), "{e}");
    assert!(Fixtures::from_yaml("cards: [{pan: x, oops: 1}]").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_jcard_participant_registers_and_builds() {
    let s = common::Switch::start().await;
    let env = switchyard_participants::Jcard::new(s.db.pool.clone(), PanKey::new(b"k".to_vec()));
    let mut reg = switchyard::txn::ParticipantRegistry::with_builtins();
    switchyard_participants::register_jcard(&mut reg, &env);
    let none = serde_yaml::Value::Null;
    for name in switchyard_participants::NAMES {
        let input = switchyard::txn::registry::FactoryInput::new(
            name,
            &none,
            &switchyard::txn::registry::NoResources,
        );
        assert!(reg.create(&input).is_ok(), "{name}");
    }
    let bad: serde_yaml::Value = serde_yaml::from_str("{oops: 1}").expect("yaml");
    let input = switchyard::txn::registry::FactoryInput::new(
        "jcard.CheckCard",
        &bad,
        &switchyard::txn::registry::NoResources,
    );
    let e = reg.create(&input).err().expect("config refused");
    assert!(e.to_string().contains("jcard.CheckCard"), "{e}");
}
