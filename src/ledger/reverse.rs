//! Reversal: post the offsetting GL transaction, referencing the original; at most once.

use sqlx::{Acquire, Postgres};
use uuid::Uuid;

use super::error::{db, LedgerError};
use super::post::post;
use super::transaction::{find_transaction, NewEntry, NewTransaction, Posted};

/// Post the reversal of `original`: same journal, accounts, layers and amounts, sides swapped.
///
/// Refused with `AlreadyReversed` if it was reversed before (checked under a row lock on the original,
/// and by the UNIQUE `reverses` column).
pub async fn reverse<'c, A>(
    conn: A,
    original: Uuid,
    detail: Option<&str>,
) -> Result<Posted, LedgerError>
where
    A: Acquire<'c, Database = Postgres>,
{
    let mut conn = conn.acquire().await.map_err(db("acquiring a connection"))?;
    let orig = find_transaction(&mut *conn, original).await?;
    if let Some(by) = orig.reversed_by {
        return Err(LedgerError::AlreadyReversed {
            original,
            reversal: by,
        });
    }
    let mut txn = NewTransaction::new(
        orig.journal.clone(),
        detail
            .map(String::from)
            .unwrap_or_else(|| format!("reversal of {original}")),
    );
    txn.tags = orig.tags.clone();
    txn.reverses = Some(original);
    txn.entries = orig
        .entries
        .iter()
        .map(|e| NewEntry {
            account: e.account.clone(),
            side: e.side.opposite(),
            amount: e.amount,
            layer: e.layer,
            detail: e.detail.clone(),
        })
        .collect();
    post(&mut *conn, &txn).await
}
