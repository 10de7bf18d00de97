//! GL transactions as posted (`GlTransaction`, `Entry`) and as requested (`NewTransaction`, `NewEntry`).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{Acquire, Postgres};
use uuid::Uuid;

use super::account::AccountCode;
use super::amount::Amount;
use super::error::{db, LedgerError};
use super::layer::Layer;

/// Most entries one GL transaction may have (`line` is a `smallint`).
pub const MAX_ENTRIES: usize = 1000;
/// Longest tag accepted.
pub const MAX_TAG_LEN: usize = 64;

/// Debit or credit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Debit: raises a debit-natured account's balance.
    Debit,
    /// Credit: raises a credit-natured account's balance.
    Credit,
}

impl Side {
    /// The other side (what a reversal posts).
    pub fn opposite(self) -> Side {
        match self {
            Side::Debit => Side::Credit,
            Side::Credit => Side::Debit,
        }
    }

    /// The amount as a raw net (debits − credits) contribution.
    pub fn net(self, amount: Decimal) -> Decimal {
        match self {
            Side::Debit => amount,
            Side::Credit => -amount,
        }
    }
}

/// One entry of a transaction to post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry {
    /// A final account.
    pub account: AccountCode,
    /// Debit or credit.
    pub side: Side,
    /// Strictly positive.
    pub amount: Amount,
    /// The layer posted.
    pub layer: Layer,
    /// Free text.
    #[serde(default)]
    pub detail: String,
}

/// A GL transaction to post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTransaction {
    /// Chosen by the caller (default: `new_transaction_id()`) so an unknown outcome can be looked up.
    pub id: Uuid,
    /// The journal's name.
    pub journal: String,
    /// Business date.
    pub post_date: NaiveDate,
    /// Free text.
    pub detail: String,
    /// Tags (no commas).
    pub tags: Vec<String>,
    /// The entries, at least one.
    pub entries: Vec<NewEntry>,
    /// The transaction this one reverses.
    pub reverses: Option<Uuid>,
}

/// A time-ordered UUID (version 7 layout: 48-bit Unix milliseconds, then random bits), so the
/// transaction and entry primary-key indexes grow at their right edge instead of at random pages.
pub fn new_transaction_id() -> Uuid {
    let mut bytes = *Uuid::new_v4().as_bytes();
    let millis = Utc::now().timestamp_millis().max(0) as u64;
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    Uuid::from_bytes(bytes)
}

impl NewTransaction {
    /// An empty transaction in `journal` dated today (UTC) with a fresh time-ordered id.
    pub fn new(journal: impl Into<String>, detail: impl Into<String>) -> NewTransaction {
        NewTransaction {
            id: new_transaction_id(),
            journal: journal.into(),
            post_date: Utc::now().date_naive(),
            detail: detail.into(),
            tags: Vec::new(),
            entries: Vec::new(),
            reverses: None,
        }
    }

    /// Add an entry.
    pub fn entry(
        mut self,
        account: &AccountCode,
        side: Side,
        amount: Amount,
        layer: Layer,
    ) -> Self {
        self.entries.push(NewEntry {
            account: account.clone(),
            side,
            amount,
            layer,
            detail: String::new(),
        });
        self
    }

    /// Add a debit entry.
    pub fn debit(self, account: &AccountCode, amount: Amount, layer: Layer) -> Self {
        self.entry(account, Side::Debit, amount, layer)
    }

    /// Add a credit entry.
    pub fn credit(self, account: &AccountCode, amount: Amount, layer: Layer) -> Self {
        self.entry(account, Side::Credit, amount, layer)
    }

    /// Set the post date.
    pub fn dated(mut self, post_date: NaiveDate) -> Self {
        self.post_date = post_date;
        self
    }

    /// Add a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Checks that need no database: entries present, amounts positive, tags well-formed.
    pub fn validate(&self) -> Result<(), LedgerError> {
        if self.entries.is_empty() {
            return Err(LedgerError::invalid(
                "transaction",
                format!("{} has no entries", self.id),
            ));
        }
        if self.entries.len() > MAX_ENTRIES {
            return Err(LedgerError::invalid(
                "transaction",
                format!(
                    "{} has {} entries, more than {MAX_ENTRIES}",
                    self.id,
                    self.entries.len()
                ),
            ));
        }
        if let Some((i, e)) = self
            .entries
            .iter()
            .enumerate()
            .find(|(_, e)| !e.amount.is_positive())
        {
            return Err(LedgerError::invalid(
                "amount",
                format!("{} entry {i}: {} must be > 0", self.id, e.amount),
            ));
        }
        if let Some(t) = self
            .tags
            .iter()
            .find(|t| t.is_empty() || t.len() > MAX_TAG_LEN || t.contains(','))
        {
            return Err(LedgerError::invalid(
                "tag",
                format!("{t:?}: 1..={MAX_TAG_LEN} characters, no commas"),
            ));
        }
        Ok(())
    }
}

/// What a successful post returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Posted {
    /// The transaction's id.
    pub id: Uuid,
    /// When the ledger recorded it (the `as_of` axis).
    pub ts: DateTime<Utc>,
}

/// A posted entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Position in its transaction.
    pub line: i16,
    /// The final account.
    pub account: AccountCode,
    /// Debit or credit.
    pub side: Side,
    /// Strictly positive.
    pub amount: Amount,
    /// The layer.
    pub layer: Layer,
    /// Free text.
    pub detail: String,
}

/// A posted GL transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GlTransaction {
    /// Its id.
    pub id: Uuid,
    /// The journal's name.
    pub journal: String,
    /// Business date.
    pub post_date: NaiveDate,
    /// When it was recorded.
    pub ts: DateTime<Utc>,
    /// Free text.
    pub detail: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The transaction it reverses.
    pub reverses: Option<Uuid>,
    /// The transaction that reversed it, if any.
    pub reversed_by: Option<Uuid>,
    /// Its entries in line order.
    pub entries: Vec<Entry>,
}

/// Split stored comma-separated tags.
pub(crate) fn split_tags(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

type TxnRow = (
    String,
    NaiveDate,
    DateTime<Utc>,
    String,
    String,
    Option<Uuid>,
    Option<Uuid>,
);
type EntryRow = (i16, String, bool, Decimal, i16, String);

/// Read a posted transaction with its entries.
pub async fn find_transaction<'c, A>(conn: A, id: Uuid) -> Result<GlTransaction, LedgerError>
where
    A: Acquire<'c, Database = Postgres>,
{
    let mut conn = conn.acquire().await.map_err(db("acquiring a connection"))?;
    let row: Option<TxnRow> = sqlx::query_as(
        "SELECT j.name, t.post_date, t.ts, t.detail, t.tags, t.reverses, r.id \
         FROM gl_transactions t JOIN gl_journals j ON j.id = t.journal_id \
         LEFT JOIN gl_transactions r ON r.reverses = t.id WHERE t.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("reading a GL transaction"))?;
    let Some(t) = row else {
        return Err(LedgerError::TransactionNotFound(id));
    };
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT e.line, a.code, e.credit, e.amount, e.layer, e.detail \
         FROM gl_entries e JOIN gl_accounts a ON a.id = e.account_id \
         WHERE e.txn_id = $1 ORDER BY e.line",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("reading GL entries"))?;
    let entries = rows
        .into_iter()
        .map(|r| {
            Ok(Entry {
                line: r.0,
                account: AccountCode::new(r.1)?,
                side: if r.2 { Side::Credit } else { Side::Debit },
                amount: Amount(r.3),
                layer: Layer::from_id(r.4)?,
                detail: r.5,
            })
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    Ok(GlTransaction {
        id,
        journal: t.0,
        post_date: t.1,
        ts: t.2,
        detail: t.3,
        tags: split_tags(&t.4),
        reverses: t.5,
        reversed_by: t.6,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_7_and_time_ordered() {
        let a = new_transaction_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_transaction_id();
        assert_eq!(a.get_version_num(), 7);
        assert!(a < b);
    }
}
