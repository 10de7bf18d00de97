//! Context keys the jCard participants share, and the entity views they hold.

use std::sync::Arc;

use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};
use switchyard::iso::amount::Amount;
use switchyard::txn::Key;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::txntype::TxnType;

/// A card as CheckCard found it (no PAN: hash, token and last 4 stay in the database).
#[derive(Debug, Clone)]
pub struct CardInfo {
    /// `jc_cards.id`.
    pub id: i64,
    /// Card token.
    pub token: String,
    /// Cardholder id.
    pub cardholder_id: i64,
    /// Product id.
    pub product_id: i64,
    /// The product's fee account.
    pub fee_account: String,
    /// The issuer's journal name.
    pub journal: String,
    /// Masked PAN, for the tranlog.
    pub masked_pan: String,
    /// The cardholder's accounts (ordered by currency, then type), read with the card.
    pub accounts: Vec<CardAccount>,
}

/// The acquirer (DE 32) as CheckAcquirer found it.
#[derive(Debug, Clone)]
pub struct AcquirerInfo {
    /// `jc_acquirers.id`.
    pub id: i64,
    /// Account credited with the transaction amounts (settlement due to the acquirer).
    pub transaction_account: String,
    /// Account credited with the acquirer's fees (DE 46).
    pub fee_account: String,
}

/// A cardholder account picked from a DE 3 account type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardAccount {
    /// CMF account type (`10`, `20`, `30` ...).
    pub account_type: String,
    /// ISO 4217 numeric currency.
    pub currency: u16,
    /// The GL account code.
    pub code: String,
    /// True for credit accounts (the credit line layer counts as available).
    pub credit: bool,
}

/// The DB transaction a money participant posted in; LogIt commits it together with the tranlog row.
pub struct DbTx(pub Mutex<Option<Transaction<'static, Postgres>>>);

/// The original transaction a void, completion or reversal names (DE 56).
#[derive(Debug, Clone)]
pub struct Original {
    /// `jc_tranlog.id`.
    pub id: i64,
    /// The original's normalized MTI.
    pub mti: String,
    /// Its DE 3.
    pub pcode: String,
    /// Its amount.
    pub amount: Option<Decimal>,
    /// Its issuer fees.
    pub fee_amount: Option<Decimal>,
    /// Its acquirer fee.
    pub acquirer_fee: Option<Decimal>,
    /// Its currency.
    pub currency: Option<i16>,
    /// Its GL transaction.
    pub gl_txn: Option<Uuid>,
    /// Its result code.
    pub result_code: Option<String>,
    /// Its card.
    pub card_id: Option<i64>,
    /// Its account.
    pub account: Option<String>,
    /// Already reversed.
    pub reversed: bool,
    /// Already voided.
    pub voided: bool,
    /// Already completed.
    pub completed: bool,
    /// The transaction the original itself names (a void's or completion's original).
    pub original_id: Option<i64>,
}

/// The parsed transaction type.
pub const TXN_TYPE: Key<TxnType> = Key::new("jcard.TXN_TYPE");
/// DE 4 parsed.
pub const AMOUNT: Key<Amount> = Key::new("jcard.AMOUNT");
/// The acquirer fee from DE 46 (in the transaction currency).
pub const ACQUIRER_FEE: Key<Decimal> = Key::new("jcard.ACQUIRER_FEE");
/// The issuer fees the Fees participant computed.
pub const FEES: Key<Decimal> = Key::new("jcard.FEES");
/// The tranlog row of this transaction.
pub const TRANLOG_ID: Key<i64> = Key::new("jcard.TRANLOG_ID");
/// When the transaction started (for the tranlog duration).
pub const STARTED: Key<std::time::Instant> = Key::new("jcard.STARTED");
/// Set when the request repeats one already answered: the tranlog id of the first one.
pub const RETRANSMISSION: Key<i64> = Key::new("jcard.RETRANSMISSION");
/// The card.
pub const CARD: Key<CardInfo> = Key::new("jcard.CARD");
/// The acquirer.
pub const ACQUIRER: Key<AcquirerInfo> = Key::new("jcard.ACQUIRER");
/// The account the money moves from (or the only one).
pub const ACCOUNT: Key<CardAccount> = Key::new("jcard.ACCOUNT");
/// The account the money moves to (transfers).
pub const ACCOUNT2: Key<CardAccount> = Key::new("jcard.ACCOUNT2");
/// The DB transaction holding the GL post, committed by LogIt.
pub const DB_TX: Key<Arc<DbTx>> = Key::new("jcard.DB_TX");
/// The GL transaction posted for this transaction.
pub const GL_TXN: Key<Uuid> = Key::new("jcard.GL_TXN");
/// Set when the post was committed already, with the tranlog row's approval, by a group commit in
/// `prepare` (Authorization, Financial): an abort must then offset it (`money::compensate`).
pub const GROUP_COMMITTED: Key<bool> = Key::new("jcard.GROUP_COMMITTED");
/// What the group commit wrote in the tranlog row; LogIt writes again only what differs.
pub const GROUP_FINISH: Key<crate::store::Finish> = Key::new("jcard.GROUP_FINISH");
/// The original a void, completion or reversal names.
pub const ORIGINAL: Key<Original> = Key::new("jcard.ORIGINAL");
/// DE 54 to answer (balances).
pub const ADDITIONAL_AMOUNTS: Key<String> = Key::new("jcard.ADDITIONAL_AMOUNTS");
/// DE 38 to answer.
pub const APPROVAL_CODE: Key<String> = Key::new("jcard.APPROVAL_CODE");
/// What to mark on the original when this transaction commits: `reversed`, `voided`, `completed`.
pub const ORIGINAL_MARK: Key<&'static str> = Key::new("jcard.ORIGINAL_MARK");
/// The response being built, which `core.SendResponse` sends.
pub use switchyard::txn::RESPONSE;
