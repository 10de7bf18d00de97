//! Switchyard: an ISO-8583 transaction switch framework in the style of jPOS.
//!
//! The message flow is visible in the module tree:
//! `iso` (codec) → `channel` (framing, server, client) → `mux` → `space` (queues) → `txn` (transaction
//! manager and participants) → `ledger` (layered double-entry accounts). `deploy` wires components from
//! YAML descriptors; `gateway` bridges HTTP to ISO; `cli` holds the command-line front end.

pub mod channel;
pub mod cli;
pub mod deploy;
pub mod iso;
pub mod ledger;
pub mod mux;
pub mod selftest;
pub mod sim;
pub mod space;
pub mod txn;
