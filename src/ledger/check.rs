//! `check`: audit the whole ledger — every GL transaction balanced on each double-entry layer of its
//! journal, entries only on declared layers and final accounts, and every cached running balance equal
//! to the sum of its entries. Full scans, by design: this is the auditor, not the hot path.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::error::{db, LedgerError};

/// The first problem `check` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discrepancy {
    /// A transaction does not balance on a double-entry layer.
    Unbalanced {
        /// The transaction.
        txn: Uuid,
        /// The layer.
        layer: i16,
        /// Debits − credits (non-zero).
        net: Decimal,
    },
    /// An entry sits on a layer its journal does not declare.
    UndeclaredLayer {
        /// The transaction.
        txn: Uuid,
        /// The layer.
        layer: i16,
    },
    /// An entry sits on a composite account.
    CompositeEntry {
        /// The transaction.
        txn: Uuid,
        /// The account's code.
        account: String,
    },
    /// A row refers to something that does not exist (the big tables carry no foreign keys).
    Orphan {
        /// What refers to what.
        what: String,
    },
    /// A cached running balance differs from the sum of its entries.
    BalanceMismatch {
        /// The journal's name.
        journal: String,
        /// The account's code.
        account: String,
        /// The layer.
        layer: i16,
        /// Cached balance (None: no cache row).
        cached: Option<Decimal>,
        /// Sum of entries (None: no entries).
        entries: Option<Decimal>,
        /// Cached entry count.
        cached_seq: Option<i64>,
        /// Entry count.
        entry_count: Option<i64>,
    },
    /// The last entry's stored running balance differs from the cache.
    RunningMismatch {
        /// The journal's name.
        journal: String,
        /// The account's code.
        account: String,
        /// The layer.
        layer: i16,
        /// Running balance stored on the last entry.
        running: Decimal,
        /// Cached balance.
        cached: Decimal,
    },
}

impl std::fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Discrepancy::Unbalanced { txn, layer, net } => {
                write!(f, "GL transaction {txn} is off by {net} on double-entry layer {layer}")
            }
            Discrepancy::UndeclaredLayer { txn, layer } => {
                write!(f, "GL transaction {txn} has an entry on undeclared layer {layer}")
            }
            Discrepancy::CompositeEntry { txn, account } => {
                write!(f, "GL transaction {txn} has an entry on composite account {account}")
            }
            Discrepancy::Orphan { what } => write!(f, "dangling reference: {what}"),
            Discrepancy::BalanceMismatch { journal, account, layer, cached, entries, cached_seq, entry_count } => write!(
                f,
                "journal {journal} account {account} layer {layer}: cached balance {cached:?} (seq {cached_seq:?}) \
                 != sum of entries {entries:?} (count {entry_count:?})"
            ),
            Discrepancy::RunningMismatch { journal, account, layer, running, cached } => write!(
                f,
                "journal {journal} account {account} layer {layer}: last entry's running balance {running} \
                 != cached balance {cached}"
            ),
        }
    }
}

/// What `check` looked at and the first problem, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// GL transactions in the ledger.
    pub transactions: i64,
    /// Entries in the ledger.
    pub entries: i64,
    /// Cached running balances.
    pub balances: i64,
    /// The first problem found; `None` = the ledger is sound.
    pub discrepancy: Option<Discrepancy>,
}

impl CheckReport {
    /// True if no problem was found.
    pub fn is_ok(&self) -> bool {
        self.discrepancy.is_none()
    }
}

type MismatchRow = (
    String,
    String,
    i16,
    Option<Decimal>,
    Option<Decimal>,
    Option<i64>,
    Option<i64>,
);

/// Audit the ledger in one repeatable-read snapshot, so posts running meanwhile cannot confuse it.
pub async fn check(pool: &PgPool) -> Result<CheckReport, LedgerError> {
    let mut tx = pool.begin().await.map_err(db("beginning the check"))?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(db("starting the check's snapshot"))?;
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM gl_transactions), (SELECT COUNT(*) FROM gl_entries), \
         (SELECT COUNT(*) FROM gl_balances)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(db("counting ledger rows"))?;
    let mut report = CheckReport {
        transactions: counts.0,
        entries: counts.1,
        balances: counts.2,
        discrepancy: None,
    };
    let unbalanced: Option<(Uuid, i16, Decimal)> = sqlx::query_as(
        "SELECT e.txn_id, e.layer, SUM(CASE WHEN e.credit THEN -e.amount ELSE e.amount END) \
         FROM gl_entries e JOIN gl_journal_layers l \
           ON l.journal_id = e.journal_id AND l.layer = e.layer AND l.double_entry \
         GROUP BY e.txn_id, e.layer \
         HAVING SUM(CASE WHEN e.credit THEN -e.amount ELSE e.amount END) <> 0 \
         ORDER BY e.txn_id, e.layer LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(db("checking that transactions balance"))?;
    if let Some((txn, layer, net)) = unbalanced {
        report.discrepancy = Some(Discrepancy::Unbalanced { txn, layer, net });
        return Ok(report);
    }
    let undeclared: Option<(Uuid, i16)> = sqlx::query_as(
        "SELECT e.txn_id, e.layer FROM gl_entries e LEFT JOIN gl_journal_layers l \
           ON l.journal_id = e.journal_id AND l.layer = e.layer \
         WHERE l.layer IS NULL ORDER BY e.txn_id LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(db("checking entry layers"))?;
    if let Some((txn, layer)) = undeclared {
        report.discrepancy = Some(Discrepancy::UndeclaredLayer { txn, layer });
        return Ok(report);
    }
    let composite: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT e.txn_id, a.code FROM gl_entries e JOIN gl_accounts a ON a.id = e.account_id \
         WHERE a.kind <> 'final' ORDER BY e.txn_id LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(db("checking entry accounts"))?;
    if let Some((txn, account)) = composite {
        report.discrepancy = Some(Discrepancy::CompositeEntry { txn, account });
        return Ok(report);
    }
    let orphan: Option<String> = sqlx::query_scalar(
        "(SELECT 'entry ' || e.txn_id::text || '/' || e.line::text || ': ' || \
           CASE WHEN t.id IS NULL THEN 'no such transaction' \
                WHEN t.journal_id <> e.journal_id THEN 'journal differs from its transaction''s' \
                WHEN a.id IS NULL THEN 'no such account ' || e.account_id::text \
                ELSE 'no such journal ' || e.journal_id::text END \
         FROM gl_entries e LEFT JOIN gl_transactions t ON t.id = e.txn_id \
         LEFT JOIN gl_accounts a ON a.id = e.account_id LEFT JOIN gl_journals j ON j.id = e.journal_id \
         WHERE t.id IS NULL OR t.journal_id <> e.journal_id OR a.id IS NULL OR j.id IS NULL LIMIT 1) \
         UNION ALL \
         (SELECT 'transaction ' || t.id::text || ': ' || \
           CASE WHEN j.id IS NULL THEN 'no such journal ' || t.journal_id::text ELSE 'no entries' END \
         FROM gl_transactions t LEFT JOIN gl_journals j ON j.id = t.journal_id \
         WHERE j.id IS NULL OR NOT EXISTS (SELECT 1 FROM gl_entries e WHERE e.txn_id = t.id) LIMIT 1) \
         UNION ALL \
         (SELECT 'running balance of account ' || b.account_id::text || ' in journal ' || b.journal_id::text \
           || ': no such account or journal' \
         FROM gl_balances b LEFT JOIN gl_accounts a ON a.id = b.account_id \
         LEFT JOIN gl_journals j ON j.id = b.journal_id WHERE a.id IS NULL OR j.id IS NULL LIMIT 1) \
         LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(db("checking references"))?;
    if let Some(what) = orphan {
        report.discrepancy = Some(Discrepancy::Orphan { what });
        return Ok(report);
    }
    let mismatch: Option<MismatchRow> = sqlx::query_as(
        "SELECT j.name, a.code, m.layer, m.balance, m.net, m.seq, m.n FROM ( \
           SELECT COALESCE(b.journal_id, s.journal_id) AS journal_id, \
                  COALESCE(b.account_id, s.account_id) AS account_id, \
                  COALESCE(b.layer, s.layer) AS layer, b.balance, s.net, b.seq, s.n \
           FROM gl_balances b FULL OUTER JOIN ( \
             SELECT journal_id, account_id, layer, shard, \
                    SUM(CASE WHEN credit THEN -amount ELSE amount END) AS net, COUNT(*) AS n \
             FROM gl_entries GROUP BY journal_id, account_id, layer, shard) s \
           ON s.journal_id = b.journal_id AND s.account_id = b.account_id AND s.layer = b.layer \
              AND s.shard = b.shard \
           WHERE COALESCE(b.balance, 0) IS DISTINCT FROM COALESCE(s.net, 0) \
              OR COALESCE(b.seq, 0) IS DISTINCT FROM COALESCE(s.n, 0)) m \
         JOIN gl_journals j ON j.id = m.journal_id JOIN gl_accounts a ON a.id = m.account_id \
         ORDER BY j.name, a.code, m.layer LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(db("comparing running balances with entries"))?;
    if let Some(r) = mismatch {
        report.discrepancy = Some(Discrepancy::BalanceMismatch {
            journal: r.0,
            account: r.1,
            layer: r.2,
            cached: r.3,
            entries: r.4,
            cached_seq: r.5,
            entry_count: r.6,
        });
        return Ok(report);
    }
    let running: Option<(String, String, i16, Decimal, Decimal)> = sqlx::query_as(
        "SELECT j.name, a.code, b.layer, e.running, b.balance FROM gl_balances b \
         JOIN gl_entries e ON e.journal_id = b.journal_id AND e.account_id = b.account_id \
           AND e.layer = b.layer AND e.shard = b.shard AND e.seq = b.seq \
         JOIN gl_journals j ON j.id = b.journal_id JOIN gl_accounts a ON a.id = b.account_id \
         WHERE e.running <> b.balance ORDER BY j.name, a.code, b.layer LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(db("comparing running balances with last entries"))?;
    if let Some(r) = running {
        report.discrepancy = Some(Discrepancy::RunningMismatch {
            journal: r.0,
            account: r.1,
            layer: r.2,
            running: r.3,
            cached: r.4,
        });
    }
    tx.commit().await.map_err(db("ending the check"))?;
    Ok(report)
}
