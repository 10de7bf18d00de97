//! Muxes: request/response matching over a channel (jPOS QMUX) and pools of them (jPOS MUXPool).
//!
//! - `key`: match keys (MTI pairing + key fields).
//! - `qmux`: the `Mux` with its pending waiters and late-response accounting.
//! - `pool`: `MuxPool`, round robin or failover across muxes by readiness.
//! - `requester`: `Requester`, the trait both implement (what `core.QueryHost` sends through).
//! - `unhandled`: where unmatched messages go.
//! - `error`: `MuxError`.

pub mod error;
pub mod key;
pub mod pool;
pub mod qmux;
pub mod requester;
pub mod unhandled;

pub use error::MuxError;
pub use key::{match_key, MatchKey};
pub use pool::{MuxPool, PoolStrategy};
pub use qmux::{Mux, MuxConfig, MuxStats};
pub use requester::Requester;
pub use unhandled::Unhandled;
