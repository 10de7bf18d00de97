//! Account statements: the entries of an account (or a composite's subtree) in a time range, with an
//! opening balance and a running balance after each line.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{Acquire, Postgres};
use uuid::Uuid;

use super::account::{find_account, AccountCode};
use super::amount::Amount;
use super::balance::{members_pattern, raw_net};
use super::error::{db, LedgerError};
use super::journal::find_journal;
use super::layer::{layer_ids, Layer};
use super::transaction::Side;

/// Most lines one statement returns; the rest is flagged `truncated`.
pub const MAX_STATEMENT_LINES: i64 = 100_000;

/// One line of a statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    /// The GL transaction.
    pub txn_id: Uuid,
    /// Entry line in that transaction.
    pub line: i16,
    /// When it was recorded.
    pub ts: DateTime<Utc>,
    /// Business date.
    pub post_date: NaiveDate,
    /// The final account (differs from the statement's account for a composite).
    pub account: AccountCode,
    /// The layer.
    pub layer: Layer,
    /// Debit or credit.
    pub side: Side,
    /// Entry amount.
    pub amount: Amount,
    /// Transaction detail, then entry detail if any.
    pub detail: String,
    /// Nature-signed balance over the statement's layers after this line.
    pub balance: Amount,
}

/// A statement of `account` over `layers` for `from <= ts < to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// The account.
    pub account: AccountCode,
    /// The journal's name.
    pub journal: String,
    /// Layers summed.
    pub layers: Vec<Layer>,
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End (exclusive).
    pub to: DateTime<Utc>,
    /// Balance just before `from`.
    pub opening: Amount,
    /// The lines in posting order.
    pub lines: Vec<StatementLine>,
    /// Balance after the last line (= opening if none).
    pub closing: Amount,
    /// True if more than `MAX_STATEMENT_LINES` matched; `closing` is then the balance after the last shown.
    pub truncated: bool,
}

type LineRow = (
    Uuid,
    i16,
    DateTime<Utc>,
    NaiveDate,
    String,
    i16,
    bool,
    Decimal,
    String,
    String,
);

/// The statement of `account` in `journal` over `layers` for `from <= ts < to`.
pub async fn statement<'c, A>(
    conn: A,
    journal: &str,
    account: &AccountCode,
    layers: &[Layer],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Statement, LedgerError>
where
    A: Acquire<'c, Database = Postgres>,
{
    if to < from {
        return Err(LedgerError::invalid(
            "statement range",
            format!("{to} is before {from}"),
        ));
    }
    let mut conn = conn.acquire().await.map_err(db("acquiring a connection"))?;
    let j = find_journal(&mut *conn, journal).await?;
    let a = find_account(&mut *conn, account).await?;
    // Timestamps are stored with microsecond precision: "before from" is "at or before from - 1µs".
    let before = from - Duration::microseconds(1);
    let opening_net = raw_net(&mut *conn, j.id, &a, layers, Some(before)).await?;
    let rows: Vec<LineRow> = sqlx::query_as(
        "SELECT e.txn_id, e.line, e.ts, t.post_date, a.code, e.layer, e.credit, e.amount, t.detail, e.detail \
         FROM gl_entries e JOIN gl_accounts a ON a.id = e.account_id \
         JOIN gl_transactions t ON t.id = e.txn_id \
         WHERE e.journal_id = $1 AND e.layer = ANY($2) AND a.kind = 'final' AND a.code LIKE $3 \
         AND e.ts >= $4 AND e.ts < $5 \
         ORDER BY e.ts, e.account_id, e.layer, e.shard, e.seq LIMIT $6",
    )
    .bind(j.id)
    .bind(layer_ids(layers))
    .bind(members_pattern(&a))
    .bind(from)
    .bind(to)
    .bind(MAX_STATEMENT_LINES + 1)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("reading statement entries"))?;
    let truncated = rows.len() as i64 > MAX_STATEMENT_LINES;
    let mut net = opening_net;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows.into_iter().take(MAX_STATEMENT_LINES as usize) {
        let side = if r.6 { Side::Credit } else { Side::Debit };
        net += side.net(r.7);
        let detail = if r.9.is_empty() {
            r.8
        } else {
            format!("{} / {}", r.8, r.9)
        };
        lines.push(StatementLine {
            txn_id: r.0,
            line: r.1,
            ts: r.2,
            post_date: r.3,
            account: AccountCode::new(r.4)?,
            layer: Layer::from_id(r.5)?,
            side,
            amount: Amount(r.7),
            detail,
            balance: Amount(a.nature.signed(net)),
        });
    }
    Ok(Statement {
        account: a.code.clone(),
        journal: j.name,
        layers: layers.to_vec(),
        from,
        to,
        opening: Amount(a.nature.signed(opening_net)),
        closing: Amount(a.nature.signed(net)),
        lines,
        truncated,
    })
}
