//! `JcardError`: what failed in the jCard participants, fixtures and stores, and where.

use switchyard::ledger::LedgerError;

/// Everything the jCard crate can fail with.
#[derive(Debug, thiserror::Error)]
pub enum JcardError {
    /// A database call failed; `context` names the step.
    #[error("database error while {context}: {source}")]
    Database {
        /// The step that was running.
        context: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The ledger refused or failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A fixture entity is invalid or refers to something missing.
    #[error("fixture {entity} {key:?}: {reason}")]
    Fixture {
        /// Entity kind (`card`, `product`, ...).
        entity: &'static str,
        /// Its key (name, token, code ...).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A participant's YAML configuration is invalid.
    #[error("participant {participant} configuration: {reason}")]
    Config {
        /// The participant's registered name.
        participant: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A batch of database work failed as a whole on a lost connection (each caller gets this).
    #[error("database unreachable while {context}: {reason}")]
    Unreachable {
        /// The step that was running.
        context: &'static str,
        /// The driver's error.
        reason: String,
    },
    /// Something that cannot happen did (a bug): said rather than panicking.
    #[error("internal error: {0}")]
    Invariant(String),
    /// Reading or parsing a file failed.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl JcardError {
    /// A fixture error for `entity` `key`.
    pub fn fixture(
        entity: &'static str,
        key: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        JcardError::Fixture {
            entity,
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl JcardError {
    /// True when the database could not be reached (rather than refusing this one request).
    pub fn is_connection(&self) -> bool {
        match self {
            JcardError::Database { source, .. } => switchyard::ledger::is_unreachable(source),
            JcardError::Unreachable { .. } => true,
            JcardError::Ledger(e) => e.is_connection(),
            _ => false,
        }
    }
}

/// `map_err` helper: wrap a sqlx error with the step it happened in.
pub fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> JcardError {
    move |source| JcardError::Database { context, source }
}
