//! Spaces: named in-memory (and later durable) queues with jPOS Space semantics.
//!
//! A space maps keys (queue names) to FIFO lists of values. Producers `out` values; consumers `in_` them,
//! waiting (asynchronously, without polling) up to a timeout. This trait is the contract that the
//! transaction manager, servers and muxes program against; `tspace` is the in-memory implementation,
//! `registry` finds spaces by address (`tspace:NAME`, later `pg:NAME`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub mod addr;
pub mod lease;
pub mod listener;
pub mod pg;
pub mod registry;
pub mod tspace;

pub use addr::{AddrError, Scheme, SpaceAddr};
pub use listener::{ListenerId, SpaceListener};
pub use registry::{RegistryError, SpaceFactory, SpaceRegistry};
pub use tspace::TSpace;

/// jPOS Space operations over string keys and values of type `V`.
///
/// Every wait takes an explicit timeout. `lease` on `out`/`push`/`put` makes the entry expire: an expired
/// entry is never returned and is dropped lazily or by a sweeper.
#[async_trait]
pub trait Space<V: Clone + Send + Sync + 'static>: Send + Sync {
    /// Append `value` to the list under `key` (FIFO tail), optionally expiring after `lease`.
    fn out(&self, key: &str, value: V, lease: Option<Duration>);
    /// Put `value` at the head of the list under `key`.
    fn push(&self, key: &str, value: V, lease: Option<Duration>);
    /// Replace every value under `key` with `value`.
    fn put(&self, key: &str, value: V, lease: Option<Duration>);
    /// Take the first value under `key`, waiting up to `timeout`; `None` on timeout.
    async fn in_(&self, key: &str, timeout: Duration) -> Option<V>;
    /// Read (without taking) the first value under `key`, waiting up to `timeout`.
    async fn rd(&self, key: &str, timeout: Duration) -> Option<V>;
    /// Take the first value under `key` if there is one, without waiting.
    fn inp(&self, key: &str) -> Option<V>;
    /// Read the first value under `key` if there is one, without waiting.
    fn rdp(&self, key: &str) -> Option<V>;
    /// Wait up to `timeout` until `key` has no values; true if it became (or was) empty.
    async fn nrd(&self, key: &str, timeout: Duration) -> bool;
    /// Number of live (unexpired) values under `key`.
    fn size(&self, key: &str) -> usize;
    /// Call `listener` after every `out`/`push`/`put` under `key` (the value stays in the space).
    fn add_listener(&self, key: &str, listener: Arc<dyn SpaceListener<V>>) -> ListenerId;
    /// Remove a listener added with [`Space::add_listener`]; false if it was not registered.
    fn remove_listener(&self, key: &str, id: ListenerId) -> bool;
}
