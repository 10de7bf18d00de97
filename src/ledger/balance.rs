//! Balances over a set of layers, current or as of a time, for final and composite accounts.
//!
//! Current balances read `gl_balances` (one row per journal, final account and layer), so the cost does
//! not grow with history. As-of balances take, per (account, layer), the running balance stored on the
//! last entry at or before the instant — one index probe each (`gl_entries_account_ts`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{Acquire, PgExecutor, Postgres};

use super::account::{find_account, Account, AccountCode, AccountKind};
use super::amount::Amount;
use super::error::{db, LedgerError};
use super::journal::find_journal;
use super::layer::{layer_ids, Layer};

/// The LIKE pattern selecting the final accounts that make up `account`'s balance.
pub(crate) fn members_pattern(account: &Account) -> String {
    match account.kind {
        AccountKind::Final => account.code.as_str().to_string(),
        AccountKind::Composite => account.code.subtree_pattern(),
    }
}

/// Balance of `account` in `journal` over `layers`, now or as of `as_of` (inclusive).
///
/// Debits − credits of the account (of every final account under it, if composite), negated for a
/// credit-natured account.
pub async fn balance<'c, A>(
    conn: A,
    journal: &str,
    account: &AccountCode,
    layers: &[Layer],
    as_of: Option<DateTime<Utc>>,
) -> Result<Amount, LedgerError>
where
    A: Acquire<'c, Database = Postgres>,
{
    let mut conn = conn.acquire().await.map_err(db("acquiring a connection"))?;
    let j = find_journal(&mut *conn, journal).await?;
    let a = find_account(&mut *conn, account).await?;
    let net = raw_net(&mut *conn, j.id, &a, layers, as_of).await?;
    Ok(Amount(a.nature.signed(net)))
}

/// Debits − credits (not nature-signed) of `account`'s members over `layers`.
pub(crate) async fn raw_net<'e, E: PgExecutor<'e>>(
    exec: E,
    journal_id: i64,
    account: &Account,
    layers: &[Layer],
    as_of: Option<DateTime<Utc>>,
) -> Result<Decimal, LedgerError> {
    let pattern = members_pattern(account);
    let ids = layer_ids(layers);
    let net: Option<Decimal> = match as_of {
        None => sqlx::query_scalar(
            "SELECT SUM(b.balance) FROM gl_balances b JOIN gl_accounts a ON a.id = b.account_id \
             WHERE b.journal_id = $1 AND b.layer = ANY($2) AND a.kind = 'final' AND a.code LIKE $3",
        )
        .bind(journal_id)
        .bind(&ids)
        .bind(&pattern)
        .fetch_one(exec)
        .await
        .map_err(db("summing running balances"))?,
        Some(t) => sqlx::query_scalar(
            "SELECT SUM(x.running) FROM gl_balances b JOIN gl_accounts a ON a.id = b.account_id \
             CROSS JOIN LATERAL (SELECT e.running FROM gl_entries e \
               WHERE e.journal_id = b.journal_id AND e.account_id = b.account_id AND e.layer = b.layer \
               AND e.shard = b.shard AND e.ts <= $4 ORDER BY e.ts DESC, e.seq DESC LIMIT 1) x \
             WHERE b.journal_id = $1 AND b.layer = ANY($2) AND a.kind = 'final' AND a.code LIKE $3",
        )
        .bind(journal_id)
        .bind(&ids)
        .bind(&pattern)
        .bind(t)
        .fetch_one(exec)
        .await
        .map_err(db("reading as-of balances"))?,
    };
    Ok(net.unwrap_or_default())
}

/// Current raw nets (debits − credits) of every final account in `journal`, per layer.
pub async fn all_nets<'e, E: PgExecutor<'e>>(
    exec: E,
    journal_id: i64,
) -> Result<HashMap<(i64, Layer), Decimal>, LedgerError> {
    let rows: Vec<(i64, i16, Decimal)> = sqlx::query_as(
        "SELECT account_id, layer, SUM(balance) FROM gl_balances WHERE journal_id = $1 \
             GROUP BY account_id, layer",
    )
    .bind(journal_id)
    .fetch_all(exec)
    .await
    .map_err(db("reading running balances"))?;
    rows.into_iter()
        .map(|(a, l, b)| Ok(((a, Layer::from_id(l)?), b)))
        .collect()
}

/// Roll raw nets up to `account` (itself if final, its final descendants if composite), nature-signed.
pub fn rolled_up(
    account: &Account,
    accounts: &[Account],
    nets: &HashMap<(i64, Layer), Decimal>,
    layers: &[Layer],
) -> Amount {
    let sum_of = |id: i64| -> Decimal { layers.iter().filter_map(|l| nets.get(&(id, *l))).sum() };
    let net: Decimal = match account.kind {
        AccountKind::Final => sum_of(account.id),
        AccountKind::Composite => accounts
            .iter()
            .filter(|a| a.kind == AccountKind::Final && a.code.is_under(&account.code))
            .map(|a| sum_of(a.id))
            .sum(),
    };
    Amount(account.nature.signed(net))
}
