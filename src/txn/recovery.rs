//! Recovery records and the store trait they are written to.
//!
//! Protocol (per transaction, only when a store is configured):
//! 1. `Snapshot{Preparing, members}` before the first prepare and after every group selection, listing the
//!    participants joined so far plus every one still to come: a crash mid-prepare aborts all of them.
//! 2. `Snapshot{Committing, members}` with exactly the joined participants, before the first commit.
//! 3. `Done` after the last commit/abort.
//!
//! After a crash, `Committing` snapshots are committed and `Preparing` ones aborted, each once, then marked
//! `Done`. Participants see `Context::is_recovered()` and must be idempotent for the crash window between
//! their own commit and the `Done` record (a ledger does this with the transaction id as a unique key).
//! Ids are reserved in blocks (`HighWater`) before use, so no id is ever handed out twice.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where a transaction stood when its snapshot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TxnState {
    /// Still preparing: recovery aborts it.
    Preparing,
    /// Every participant prepared: recovery commits it.
    Committing,
}

/// A durable snapshot of one transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Transaction id.
    pub id: u64,
    /// Where it stood.
    pub state: TxnState,
    /// Participant labels (`group#pos`) to commit or abort.
    pub members: Vec<String>,
    /// The context's persistent entries.
    pub entries: serde_json::Map<String, serde_json::Value>,
}

/// One record in the recovery log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub enum Record {
    /// Latest state of a transaction.
    Snapshot(Snapshot),
    /// The transaction finished; forget it.
    Done {
        /// Transaction id.
        id: u64,
    },
    /// Ids below `next_id` may have been used.
    HighWater {
        /// First id that was never handed out.
        next_id: u64,
    },
}

/// What a store holds after a restart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecoveredState {
    /// First id that may be used.
    pub next_id: u64,
    /// Unfinished transactions, by ascending id.
    pub unfinished: Vec<Snapshot>,
}

impl RecoveredState {
    /// Fold a sequence of records into the state they describe.
    pub fn replay(records: impl IntoIterator<Item = Record>) -> Self {
        let mut open = std::collections::BTreeMap::new();
        let mut next_id = 1;
        for r in records {
            match r {
                Record::Snapshot(s) => {
                    next_id = next_id.max(s.id + 1);
                    open.insert(s.id, s);
                }
                Record::Done { id } => {
                    next_id = next_id.max(id + 1);
                    open.remove(&id);
                }
                Record::HighWater { next_id: n } => next_id = next_id.max(n),
            }
        }
        RecoveredState {
            next_id,
            unfinished: open.into_values().collect(),
        }
    }
}

/// A recovery store failure.
#[derive(Debug, Error)]
pub enum RecoveryError {
    /// Reading or writing the store failed.
    #[error("recovery store {store}: {source}")]
    Io {
        /// Which store.
        store: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A record in the middle of the log does not parse.
    #[error("recovery store {store}: line {line} is corrupt: {reason}")]
    Corrupt {
        /// Which store.
        store: String,
        /// 1-based line number.
        line: usize,
        /// Why.
        reason: String,
    },
    /// The store's writer is gone (it failed earlier or was closed).
    #[error("recovery store {0} is closed")]
    Closed(String),
    /// The database holding a `pg:` store failed.
    #[error("recovery store {store}: database error: {source}")]
    Database {
        /// Which store.
        store: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The address names a scheme no store serves (or `pg:` without a database).
    #[error("no recovery store for '{0}' (expected file:PATH, or pg:NAME with a database)")]
    Unsupported(String),
}

/// Durable storage for recovery records (`file:` or `pg:`).
#[async_trait]
pub trait RecoveryStore: Send + Sync {
    /// Everything recorded so far.
    async fn load(&self) -> Result<RecoveredState, RecoveryError>;
    /// Append `record`; returns once it is durable.
    async fn append(&self, record: Record) -> Result<(), RecoveryError>;
    /// Replace the log with just the id high-water mark (nothing is in flight).
    async fn compact(&self, next_id: u64) -> Result<(), RecoveryError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: u64, state: TxnState) -> Record {
        Record::Snapshot(Snapshot {
            id,
            state,
            members: vec!["main#0".into()],
            entries: Default::default(),
        })
    }

    #[test]
    fn replay_keeps_latest_unfinished_snapshots() {
        let state = RecoveredState::replay([
            Record::HighWater { next_id: 1000 },
            snap(1, TxnState::Preparing),
            snap(2, TxnState::Preparing),
            snap(1, TxnState::Committing),
            snap(3, TxnState::Preparing),
            Record::Done { id: 2 },
        ]);
        assert_eq!(state.next_id, 1000);
        let got: Vec<_> = state.unfinished.iter().map(|s| (s.id, s.state)).collect();
        assert_eq!(got, [(1, TxnState::Committing), (3, TxnState::Preparing)]);
    }

    #[test]
    fn records_round_trip_as_json() {
        let r = snap(5, TxnState::Committing);
        let line = serde_json::to_string(&r).expect("serializes");
        assert_eq!(serde_json::from_str::<Record>(&line).ok(), Some(r));
    }
}
