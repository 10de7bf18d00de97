//! Transaction manager (jPOS `TransactionManager`): participants, groups and selectors, the context,
//! PAUSE/RETRY, metrics, crash recovery, and `batch` (participants sharing database round trips).
//!
//! Flow: a request context is `out` to the manager's space queue → a worker takes it (bounded by
//! `max-active`) → `prepare` runs along the chain, selectors splicing in groups → every joined participant
//! gets `commit` (all prepared) or `abort`, in prepare order → status listeners and metrics.

pub mod action;
pub mod batch;
pub mod chain;
pub mod config;
pub mod context;
pub mod filestore;
pub mod keys;
pub mod manager;
pub mod message;
mod metrics;
pub mod participant;
pub mod participants;
pub mod pause;
pub mod pgstore;
pub mod profiler;
pub mod recovery;
pub mod registry;
mod run;
pub mod selector;
pub mod status;

pub use action::Action;
pub use batch::{BatchGone, Batcher};
pub use chain::{Chain, ChainError, Named, NamedGroup};
pub use config::TxnConfig;
pub use context::{Context, Key};
pub use filestore::FileStore;
pub use keys::{
    ReplyError, ReplySink, ResultCode, EXTENDED_RESULT, REPLY, REQUEST, RESPONSE, RESULT_CODE,
};
pub use manager::{ManagerBuilder, TransactionManager, TxnError};
pub use message::{FieldSource, TextMessage};
pub use participant::{GroupSelector, Participant};
pub use pause::ResumeHandle;
pub use pgstore::PgStore;
pub use recovery::{RecoveryError, RecoveryStore};
pub use registry::{BuildError, FactoryInput, ParticipantRegistry, Resources};
pub use run::MAX_STEPS;
pub use selector::MtiPcodeSelector;
pub use status::{Outcome, StatusListener};

use std::sync::Arc;

use crate::space::{Scheme, SpaceAddr};

/// Open the recovery store at `addr`: `file:PATH`, or `pg:NAME` on `db` (the ledger's database).
pub fn open_recovery_store_on(
    addr: &str,
    db: Option<&sqlx::PgPool>,
) -> Result<Arc<dyn RecoveryStore>, RecoveryError> {
    let parsed = SpaceAddr::parse(addr).map_err(|_| RecoveryError::Unsupported(addr.to_owned()))?;
    match (parsed.scheme, db) {
        (Scheme::File, _) => Ok(Arc::new(FileStore::open(&parsed.name)?)),
        (Scheme::Pg, Some(pool)) => Ok(Arc::new(PgStore::new(pool.clone(), &parsed.name))),
        _ => Err(RecoveryError::Unsupported(addr.to_owned())),
    }
}

/// Open the recovery store at `addr` (`file:PATH`; `pg:` needs [`open_recovery_store_on`]).
pub fn open_recovery_store(addr: &str) -> Result<Arc<dyn RecoveryStore>, RecoveryError> {
    open_recovery_store_on(addr, None)
}

#[cfg(test)]
mod testkit;

#[cfg(test)]
mod manager_tests;

#[cfg(test)]
mod recovery_tests;
