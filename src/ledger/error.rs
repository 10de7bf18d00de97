//! `LedgerError`: what failed in the ledger, and where.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::layer::Layer;

/// Everything the ledger library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A database call failed; `context` names the step.
    #[error("database error while {context}: {source}")]
    Database {
        /// The ledger step that was running.
        context: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Applying the embedded migrations failed.
    #[error("applying ledger migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// No journal has this name.
    #[error("journal {0:?} not found")]
    JournalNotFound(String),
    /// No account has this code.
    #[error("account {0} not found")]
    AccountNotFound(String),
    /// No GL transaction has this id.
    #[error("GL transaction {0} not found")]
    TransactionNotFound(Uuid),
    /// A GL transaction with this id was already posted.
    #[error("GL transaction {0} already exists")]
    DuplicateTransaction(Uuid),
    /// The entries do not balance on a double-entry layer of the journal.
    #[error("GL transaction {txn} does not balance on layer {layer} of journal {journal:?}: debits {debits} != credits {credits}")]
    Unbalanced {
        /// The rejected transaction.
        txn: Uuid,
        /// The journal's name.
        journal: String,
        /// The layer that does not balance.
        layer: Layer,
        /// Sum of debits on that layer.
        debits: Decimal,
        /// Sum of credits on that layer.
        credits: Decimal,
    },
    /// An entry names a composite account; only final accounts take entries.
    #[error("GL transaction {txn}: account {account} is composite; post to its final accounts")]
    CompositePosting {
        /// The rejected transaction.
        txn: Uuid,
        /// The composite account's code.
        account: String,
    },
    /// An entry uses a layer the journal does not declare.
    #[error("GL transaction {txn}: layer {layer} is not declared by journal {journal:?}")]
    UndeclaredLayer {
        /// The rejected transaction.
        txn: Uuid,
        /// The journal's name.
        journal: String,
        /// The undeclared layer.
        layer: Layer,
    },
    /// The journal is closed or the post date falls outside what it accepts (miniGL CanPost).
    #[error("journal {journal:?} refuses post date {date}: {reason}")]
    CannotPost {
        /// The journal's name.
        journal: String,
        /// The transaction's post date.
        date: NaiveDate,
        /// Why.
        reason: String,
    },
    /// A posting rule refused the transaction.
    #[error("GL transaction {txn}: rule {rule} refused account {account}: {reason}")]
    RuleViolation {
        /// The rejected transaction.
        txn: Uuid,
        /// The rule's id and kind, e.g. `#3 min_balance`.
        rule: String,
        /// The account the rule refused.
        account: String,
        /// Why, with the numbers.
        reason: String,
    },
    /// The transaction was already reversed.
    #[error("GL transaction {original} was already reversed by {reversal}")]
    AlreadyReversed {
        /// The transaction asked to be reversed.
        original: Uuid,
        /// The transaction that reversed it.
        reversal: Uuid,
    },
    /// A value given by the caller is malformed.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was malformed (account code, layer, amount ...).
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A ledger invariant failed right before money moved; the DB transaction was not committed.
    #[error("ledger invariant violated (bug, nothing was written): {0}")]
    Invariant(String),
    /// A wait ran out of time.
    #[error("timed out after {millis} ms while {context}; the outcome of a post is unknown, look it up by transaction id")]
    Timeout {
        /// What was waited for.
        context: &'static str,
        /// The limit.
        millis: u64,
    },
    /// The group commit holding this post failed as a whole (nothing of it was committed).
    #[error("group commit failed, post not committed: {reason}")]
    GroupCommitFailed {
        /// The batch's error.
        reason: String,
        /// True if the database could not be reached.
        connection: bool,
    },
    /// The group-commit poster was shut down.
    #[error("group-commit poster is shut down")]
    PosterClosed,
}

impl LedgerError {
    /// An `Invalid` error.
    pub fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        LedgerError::Invalid {
            what,
            reason: reason.into(),
        }
    }

    /// True if the error says the database could not be reached (as opposed to a refused post).
    pub fn is_connection(&self) -> bool {
        match self {
            LedgerError::Database { source, .. } => is_unreachable(source),
            LedgerError::Timeout { .. } => true,
            LedgerError::GroupCommitFailed { connection, .. } => *connection,
            _ => false,
        }
    }
}

/// True if `e` says the database could not be reached (I/O, pool exhausted or closed, TLS), as
/// opposed to a statement the server refused.
pub fn is_unreachable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_)
    )
}

/// Map a `sqlx::Error` to `LedgerError::Database` naming the step.
pub(crate) fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> LedgerError {
    move |source| LedgerError::Database { context, source }
}
