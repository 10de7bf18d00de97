//! Mux errors: each names the mux (or pool) and what went wrong.

use thiserror::Error;

/// Why a mux request could not be made. A timeout is not an error: `request` returns `Ok(None)`.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MuxError {
    /// The mux's channel is not connected.
    #[error("mux {mux}: channel not ready")]
    NotReady {
        /// Mux name.
        mux: String,
    },
    /// No mux of the pool is ready.
    #[error("mux pool {pool}: no channel ready")]
    NoneReady {
        /// Pool name.
        pool: String,
    },
    /// The request lacks every key field, so its response could not be matched.
    #[error("mux {mux}: {mti} request has none of the key fields {fields:?}")]
    MissingKey {
        /// Mux name.
        mux: String,
        /// Request MTI.
        mti: String,
        /// Configured key fields.
        fields: Vec<u8>,
    },
    /// A request with the same key is already waiting for its response.
    #[error("mux {mux}: a request with key {key} is already pending")]
    DuplicateKey {
        /// Mux name.
        mux: String,
        /// The match key (MTI pair and key field values).
        key: String,
    },
    /// The channel's out-queue stayed full until the timeout.
    #[error("mux {mux}: channel out-queue full")]
    QueueFull {
        /// Mux name.
        mux: String,
    },
    /// The mux or its channel is closed.
    #[error("mux {mux}: closed")]
    Closed {
        /// Mux name.
        mux: String,
    },
}
