//! Writing a checked batch: the rows about to be inserted, the invariant asserted on exactly those
//! rows, and the one statement that inserts transactions, entries and running balances.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::error::{db, LedgerError};
use super::journal::Journal;
use super::layer::Layer;
use super::transaction::NewTransaction;

/// (journal id, account id, layer, shard); unsharded accounts use shard 0 only.
pub(crate) type Key = (i64, i64, i16, i16);

/// The running state of one (journal, account, layer).
#[derive(Clone, Copy)]
pub(crate) struct Running {
    pub(crate) balance: Decimal,
    pub(crate) seq: i64,
    pub(crate) last_ts: DateTime<Utc>,
}

/// Column vectors of a batch, bound as arrays to `UNNEST` inserts.
#[derive(Default)]
pub(crate) struct Rows {
    txn_id: Vec<Uuid>,
    txn_journal: Vec<i64>,
    txn_date: Vec<chrono::NaiveDate>,
    txn_ts: Vec<DateTime<Utc>>,
    txn_detail: Vec<String>,
    txn_tags: Vec<String>,
    txn_reverses: Vec<Option<Uuid>>,
    e_txn: Vec<Uuid>,
    e_line: Vec<i16>,
    e_journal: Vec<i64>,
    e_account: Vec<i64>,
    e_layer: Vec<i16>,
    e_shard: Vec<i16>,
    e_credit: Vec<bool>,
    e_amount: Vec<Decimal>,
    e_detail: Vec<String>,
    e_ts: Vec<DateTime<Utc>>,
    e_seq: Vec<i64>,
    e_running: Vec<Decimal>,
}

/// One entry row, with its sequence number and running balance.
pub(crate) struct EntryOut {
    pub(crate) txn: Uuid,
    pub(crate) line: i16,
    pub(crate) key: Key,
    pub(crate) credit: bool,
    pub(crate) amount: Decimal,
    pub(crate) detail: String,
    pub(crate) ts: DateTime<Utc>,
    pub(crate) seq: i64,
    pub(crate) running: Decimal,
}

impl Rows {
    pub(crate) fn push_txn(&mut self, t: &NewTransaction, journal_id: i64, ts: DateTime<Utc>) {
        self.txn_id.push(t.id);
        self.txn_journal.push(journal_id);
        self.txn_date.push(t.post_date);
        self.txn_ts.push(ts);
        self.txn_detail.push(t.detail.clone());
        self.txn_tags.push(t.tags.join(","));
        self.txn_reverses.push(t.reverses);
    }

    pub(crate) fn push_entry(&mut self, r: EntryOut) {
        self.e_txn.push(r.txn);
        self.e_line.push(r.line);
        self.e_journal.push(r.key.0);
        self.e_account.push(r.key.1);
        self.e_layer.push(r.key.2);
        self.e_shard.push(r.key.3);
        self.e_credit.push(r.credit);
        self.e_amount.push(r.amount);
        self.e_detail.push(r.detail);
        self.e_ts.push(r.ts);
        self.e_seq.push(r.seq);
        self.e_running.push(r.running);
    }
}

/// Every transaction about to be written balances on each double-entry layer of its journal.
pub(crate) fn assert_balanced(rows: &Rows, journals: &[Journal]) -> Result<(), LedgerError> {
    let mut sums: HashMap<(Uuid, i16), Decimal> = HashMap::new();
    for i in 0..rows.e_txn.len() {
        let net = if rows.e_credit[i] {
            -rows.e_amount[i]
        } else {
            rows.e_amount[i]
        };
        *sums.entry((rows.e_txn[i], rows.e_layer[i])).or_default() += net;
        let journal = journals.iter().find(|j| j.id == rows.e_journal[i]);
        if journal.is_none() {
            return Err(LedgerError::Invariant(format!(
                "entry of {} names unknown journal {}",
                rows.e_txn[i], rows.e_journal[i]
            )));
        }
    }
    for i in 0..rows.e_txn.len() {
        let net = sums
            .get(&(rows.e_txn[i], rows.e_layer[i]))
            .copied()
            .unwrap_or_default();
        let double = journals
            .iter()
            .find(|j| j.id == rows.e_journal[i])
            .and_then(|j| {
                Layer::from_id(rows.e_layer[i])
                    .ok()
                    .and_then(|l| j.layer(l))
            })
            .is_some_and(|l| l.double_entry);
        if double && !net.is_zero() {
            return Err(LedgerError::Invariant(format!(
                "GL transaction {} is off by {net} on double-entry layer {}",
                rows.e_txn[i], rows.e_layer[i]
            )));
        }
    }
    Ok(())
}

/// Write the batch in one statement (one round trip): transactions, entries and the new running
/// balances, as three data-modifying parts of a single `INSERT`.
pub(crate) async fn write(
    tx: &mut Transaction<'_, Postgres>,
    out: &Rows,
    dirty: &BTreeSet<Key>,
    state: &HashMap<Key, Running>,
) -> Result<(), LedgerError> {
    let mut b_journal = Vec::with_capacity(dirty.len());
    let mut b_account = Vec::with_capacity(dirty.len());
    let mut b_layer = Vec::with_capacity(dirty.len());
    let mut b_shard = Vec::with_capacity(dirty.len());
    let mut b_balance = Vec::with_capacity(dirty.len());
    let mut b_seq = Vec::with_capacity(dirty.len());
    let mut b_ts = Vec::with_capacity(dirty.len());
    for k in dirty {
        let Some(r) = state.get(k) else { continue };
        b_journal.push(k.0);
        b_account.push(k.1);
        b_layer.push(k.2);
        b_shard.push(k.3);
        b_balance.push(r.balance);
        b_seq.push(r.seq);
        b_ts.push(r.last_ts);
    }
    sqlx::query(
        "WITH t AS (INSERT INTO gl_transactions (id, journal_id, post_date, ts, detail, tags, reverses) \
           SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::date[], $4::timestamptz[], $5::text[], \
           $6::text[], $7::uuid[])), \
         e AS (INSERT INTO gl_entries (txn_id, line, journal_id, account_id, layer, credit, amount, \
           detail, ts, seq, running, shard) \
           SELECT * FROM UNNEST($8::uuid[], $9::int2[], $10::int8[], $11::int8[], $12::int2[], \
           $13::bool[], $14::numeric[], $15::text[], $16::timestamptz[], $17::int8[], $18::numeric[], \
           $19::int2[])) \
         INSERT INTO gl_balances (journal_id, account_id, layer, shard, balance, seq, last_ts) \
         SELECT * FROM UNNEST($20::int8[], $21::int8[], $22::int2[], $23::int2[], $24::numeric[], \
           $25::int8[], $26::timestamptz[]) \
         ON CONFLICT (journal_id, account_id, layer, shard) DO UPDATE \
         SET balance = EXCLUDED.balance, seq = EXCLUDED.seq, last_ts = EXCLUDED.last_ts",
    )
    .bind(&out.txn_id)
    .bind(&out.txn_journal)
    .bind(&out.txn_date)
    .bind(&out.txn_ts)
    .bind(&out.txn_detail)
    .bind(&out.txn_tags)
    .bind(&out.txn_reverses)
    .bind(&out.e_txn)
    .bind(&out.e_line)
    .bind(&out.e_journal)
    .bind(&out.e_account)
    .bind(&out.e_layer)
    .bind(&out.e_credit)
    .bind(&out.e_amount)
    .bind(&out.e_detail)
    .bind(&out.e_ts)
    .bind(&out.e_seq)
    .bind(&out.e_running)
    .bind(&out.e_shard)
    .bind(&b_journal)
    .bind(&b_account)
    .bind(&b_layer)
    .bind(&b_shard)
    .bind(&b_balance)
    .bind(&b_seq)
    .bind(&b_ts)
    .execute(&mut **tx)
    .await
    .map_err(db("writing GL transactions, entries and running balances"))?;
    Ok(())
}
