//! Posting: balance per layer, composite and layer refusals, rules, CanPost, atomicity, reversal.

use rust_decimal::Decimal;
use switchyard::ledger::journal::set_journal_status;
use switchyard::ledger::rules::{add_rule, NewRule, RuleKind};
use switchyard::ledger::transaction::find_transaction;
use switchyard::ledger::{
    balance, check, post, reverse, AccountCode, Amount, Layer, LedgerError, NewTransaction,
};

use crate::harness::TestDb;

pub fn code(s: &str) -> AccountCode {
    AccountCode::new(s).unwrap()
}

pub fn amt(s: &str) -> Amount {
    s.parse().unwrap()
}

pub fn layer(id: i16) -> Layer {
    Layer::from_id(id).unwrap()
}

pub const BANK: &str = "11.001.00840";
pub const PENDING: &str = "11.002.00840";
pub const ALICE: &str = "21.001.00840";
pub const BOB: &str = "21.002.00840";
pub const CAROL: &str = "21.003.00840";
pub const FEES: &str = "31.00840";

/// Deposit `a` into a cardholder account on 840 (debit bank, credit cardholder).
pub fn deposit(who: &str, a: &str) -> NewTransaction {
    NewTransaction::new("jcard", format!("deposit {a} to {who}"))
        .debit(&code(BANK), amt(a), layer(840))
        .credit(&code(who), amt(a), layer(840))
}

pub async fn bal(db: &TestDb, acct: &str, layers: &[i16]) -> Decimal {
    let layers: Vec<Layer> = layers.iter().map(|l| layer(*l)).collect();
    balance(&db.pool, "jcard", &code(acct), &layers, None)
        .await
        .unwrap()
        .value()
}

async fn txn_count(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM gl_transactions")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn balanced_post_moves_money_and_unbalanced_is_refused() {
    let db = TestDb::with_chart().await;
    post(&db.pool, &deposit(ALICE, "100.00")).await.unwrap();
    assert_eq!(bal(&db, ALICE, &[840]).await, Decimal::new(100, 0));
    assert_eq!(bal(&db, BANK, &[840]).await, Decimal::new(100, 0));

    let bad = NewTransaction::new("jcard", "unbalanced")
        .debit(&code(BANK), amt("10"), layer(840))
        .credit(&code(ALICE), amt("9.99"), layer(840));
    match post(&db.pool, &bad).await {
        Err(LedgerError::Unbalanced {
            layer: l,
            debits,
            credits,
            ..
        }) => {
            assert_eq!(l, layer(840));
            assert_eq!(
                (debits, credits),
                (Decimal::new(10, 0), Decimal::new(999, 2))
            );
        }
        other => panic!("expected Unbalanced, got {other:?}"),
    }
    // balanced on 840 but not on 1840
    let bad = deposit(ALICE, "1").debit(&code(ALICE), amt("1"), layer(1840));
    assert!(matches!(
        post(&db.pool, &bad).await,
        Err(LedgerError::Unbalanced { .. })
    ));
    assert_eq!(txn_count(&db).await, 1);
    assert_eq!(bal(&db, ALICE, &[840]).await, Decimal::new(100, 0));
}

#[tokio::test]
async fn single_entry_memo_layer_needs_no_balance() {
    let db = TestDb::with_chart().await;
    let credit_line =
        NewTransaction::new("jcard", "credit line").credit(&code(CAROL), amt("500"), layer(2840));
    post(&db.pool, &credit_line).await.unwrap();
    assert_eq!(bal(&db, CAROL, &[2840]).await, Decimal::new(500, 0));
    assert!(check(&db.pool).await.unwrap().is_ok());
}

#[tokio::test]
async fn composite_undeclared_layer_unknown_account_and_bad_amounts_are_refused() {
    let db = TestDb::with_chart().await;
    let to_composite = NewTransaction::new("jcard", "to composite")
        .debit(&code(BANK), amt("5"), layer(840))
        .credit(&code("21"), amt("5"), layer(840));
    match post(&db.pool, &to_composite).await {
        Err(LedgerError::CompositePosting { account, .. }) => assert_eq!(account, "21"),
        other => panic!("expected CompositePosting, got {other:?}"),
    }
    let wrong_layer = NewTransaction::new("jcard", "euro")
        .debit(&code(BANK), amt("5"), layer(978))
        .credit(&code(ALICE), amt("5"), layer(978));
    assert!(matches!(
        post(&db.pool, &wrong_layer).await,
        Err(LedgerError::UndeclaredLayer { .. })
    ));
    let unknown = deposit("21.999.00840", "5");
    assert!(
        matches!(post(&db.pool, &unknown).await, Err(LedgerError::AccountNotFound(a)) if a == "21.999.00840")
    );
    let zero = deposit(ALICE, "0");
    assert!(matches!(
        post(&db.pool, &zero).await,
        Err(LedgerError::Invalid { what: "amount", .. })
    ));
    let mut nojournal = deposit(ALICE, "1");
    nojournal.journal = "nope".into();
    assert!(matches!(
        post(&db.pool, &nojournal).await,
        Err(LedgerError::JournalNotFound(_))
    ));
    let empty = NewTransaction::new("jcard", "empty");
    assert!(matches!(
        post(&db.pool, &empty).await,
        Err(LedgerError::Invalid { .. })
    ));
    assert_eq!(txn_count(&db).await, 0);
}

#[tokio::test]
async fn min_balance_rule_counts_this_post_and_pending_layer() {
    let db = TestDb::with_chart().await;
    post(&db.pool, &deposit(ALICE, "100")).await.unwrap();
    // authorization hold of 70 on the pending layer: available 30
    let hold = NewTransaction::new("jcard", "auth hold")
        .debit(&code(ALICE), amt("70"), layer(1840))
        .credit(&code(PENDING), amt("70"), layer(1840));
    post(&db.pool, &hold).await.unwrap();
    // a purchase of 30.01 would leave available at -0.01
    let purchase = |a: &str| {
        NewTransaction::new("jcard", "purchase")
            .debit(&code(ALICE), amt(a), layer(840))
            .credit(&code(BANK), amt(a), layer(840))
    };
    match post(&db.pool, &purchase("30.01")).await {
        Err(LedgerError::RuleViolation {
            account, reason, ..
        }) => {
            assert_eq!(account, ALICE);
            assert!(reason.contains("-0.01"), "{reason}");
        }
        other => panic!("expected RuleViolation, got {other:?}"),
    }
    post(&db.pool, &purchase("30")).await.unwrap();
    assert_eq!(bal(&db, ALICE, &[840, 1840]).await, Decimal::ZERO);
    assert_eq!(bal(&db, ALICE, &[840]).await, Decimal::new(70, 0));
    // a deposit into the account is always fine
    post(&db.pool, &deposit(ALICE, "1")).await.unwrap();
    assert_eq!(txn_count(&db).await, 4);
}

#[tokio::test]
async fn max_balance_and_no_post_rules() {
    let db = TestDb::with_chart().await;
    let rule = |account: &str, kind, amount: Option<&str>| NewRule {
        journal: "jcard".into(),
        account: Some(code(account)),
        kind,
        layers: vec![layer(840)],
        amount: amount.map(|a| a.parse().unwrap()),
        description: String::new(),
    };
    add_rule(&db.pool, &rule(BOB, RuleKind::MaxBalance, Some("1000")))
        .await
        .unwrap();
    post(&db.pool, &deposit(BOB, "1000")).await.unwrap();
    assert!(matches!(
        post(&db.pool, &deposit(BOB, "0.01")).await,
        Err(LedgerError::RuleViolation { .. })
    ));
    add_rule(&db.pool, &rule(CAROL, RuleKind::NoPost, None))
        .await
        .unwrap();
    match post(&db.pool, &deposit(CAROL, "1")).await {
        Err(LedgerError::RuleViolation { rule, .. }) => assert!(rule.contains("no_post"), "{rule}"),
        other => panic!("expected RuleViolation, got {other:?}"),
    }
}

#[tokio::test]
async fn closed_or_locked_journal_refuses_posts() {
    let db = TestDb::with_chart().await;
    set_journal_status(&db.pool, "jcard", true, None)
        .await
        .unwrap();
    assert!(matches!(
        post(&db.pool, &deposit(ALICE, "1")).await,
        Err(LedgerError::CannotPost { .. })
    ));
    let today = chrono::Utc::now().date_naive();
    set_journal_status(&db.pool, "jcard", false, Some(today))
        .await
        .unwrap();
    assert!(matches!(
        post(&db.pool, &deposit(ALICE, "1")).await,
        Err(LedgerError::CannotPost { .. })
    ));
    let tomorrow = deposit(ALICE, "1").dated(today.succ_opt().unwrap());
    post(&db.pool, &tomorrow).await.unwrap();
}

#[tokio::test]
async fn post_joins_the_callers_transaction() {
    let db = TestDb::with_chart().await;
    let mut tx = db.pool.begin().await.unwrap();
    let posted = post(&mut *tx, &deposit(ALICE, "5")).await.unwrap();
    sqlx::query("SELECT 1").execute(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(txn_count(&db).await, 0);
    assert!(find_transaction(&db.pool, posted.id).await.is_err());

    let mut tx = db.pool.begin().await.unwrap();
    post(&mut *tx, &deposit(ALICE, "5")).await.unwrap();
    // a refused post inside leaves the caller's transaction usable
    assert!(post(&mut *tx, &deposit("21", "5")).await.is_err());
    post(&mut *tx, &deposit(BOB, "6")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(txn_count(&db).await, 2);
    assert!(check(&db.pool).await.unwrap().is_ok());
}

#[tokio::test]
async fn reversal_offsets_once() {
    let db = TestDb::with_chart().await;
    post(&db.pool, &deposit(ALICE, "100")).await.unwrap();
    let purchase = NewTransaction::new("jcard", "purchase with fee")
        .debit(&code(ALICE), amt("10.50"), layer(840))
        .credit(&code(BANK), amt("10"), layer(840))
        .credit(&code(FEES), amt("0.50"), layer(840))
        .tag("purchase");
    let p = post(&db.pool, &purchase).await.unwrap();
    assert_eq!(bal(&db, ALICE, &[840]).await, Decimal::new(8950, 2));
    let r = reverse(&db.pool, p.id, None).await.unwrap();
    assert_eq!(bal(&db, ALICE, &[840]).await, Decimal::new(100, 0));
    assert_eq!(bal(&db, FEES, &[840]).await, Decimal::ZERO);
    let orig = find_transaction(&db.pool, p.id).await.unwrap();
    assert_eq!(orig.reversed_by, Some(r.id));
    let rev = find_transaction(&db.pool, r.id).await.unwrap();
    assert_eq!(rev.reverses, Some(p.id));
    assert_eq!(rev.tags, vec!["purchase".to_string()]);
    assert_eq!(rev.entries.len(), 3);
    match reverse(&db.pool, p.id, None).await {
        Err(LedgerError::AlreadyReversed { original, reversal }) => {
            assert_eq!((original, reversal), (p.id, r.id))
        }
        other => panic!("expected AlreadyReversed, got {other:?}"),
    }
    // the same refusal when racing past the pre-check: post a hand-made second reversal
    let mut again = NewTransaction::new("jcard", "second reversal")
        .debit(&code(BANK), amt("1"), layer(840))
        .credit(&code(ALICE), amt("1"), layer(840));
    again.reverses = Some(p.id);
    assert!(matches!(
        post(&db.pool, &again).await,
        Err(LedgerError::AlreadyReversed { .. })
    ));
    assert!(matches!(
        reverse(&db.pool, uuid::Uuid::new_v4(), None).await,
        Err(LedgerError::TransactionNotFound(_))
    ));
    assert!(check(&db.pool).await.unwrap().is_ok());
}

#[tokio::test]
async fn duplicate_transaction_id_is_refused() {
    let db = TestDb::with_chart().await;
    let t = deposit(ALICE, "3");
    post(&db.pool, &t).await.unwrap();
    assert!(
        matches!(post(&db.pool, &t).await, Err(LedgerError::DuplicateTransaction(id)) if id == t.id)
    );
    assert_eq!(bal(&db, ALICE, &[840]).await, Decimal::new(3, 0));
}
