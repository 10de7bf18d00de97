//! Spaces: named queues with jPOS Space semantics, in memory (`tspace:`) or in PostgreSQL (`pg:`).
//!
//! A space maps keys (queue names) to FIFO lists of values. Producers `out` values; consumers `in_` them,
//! waiting (asynchronously, without polling) up to a timeout. This trait is the contract that the
//! transaction manager, servers and muxes program against; `tspace` is the in-memory implementation,
//! `pg` the durable one, `registry` finds spaces by address (`tspace:NAME`, `pg:NAME`).
//!
//! Every operation is async and fallible (a database can be down) and returns a [`SpaceFuture`]: `TSpace`
//! answers with a ready value (no allocation, no error), so the trait costs its hot path nothing.

use std::sync::Arc;
use std::time::Duration;

pub mod addr;
pub mod error;
pub mod future;
pub mod lease;
pub mod listener;
pub mod pg;
pub mod registry;
pub mod tspace;

pub use addr::{AddrError, Scheme, SpaceAddr};
pub use error::SpaceError;
pub use future::{SpaceFuture, SpaceResult};
pub use listener::{ListenerId, SpaceListener};
pub use registry::{RegistryError, SpaceFactory, SpaceRegistry};
pub use tspace::TSpace;

/// jPOS Space operations over string keys and values of type `V`.
///
/// Every wait takes an explicit timeout. `lease` on `out`/`push`/`put` makes the entry expire: an expired
/// entry is never returned and is dropped lazily or by a sweeper. A failed operation (only possible for a
/// database-backed space) returns a [`SpaceError`]; a failed write did not store the value.
pub trait Space<V: Clone + Send + Sync + 'static>: Send + Sync {
    /// Append `value` to the list under `key` (FIFO tail), optionally expiring after `lease`.
    fn out<'a>(&'a self, key: &'a str, value: V, lease: Option<Duration>) -> SpaceFuture<'a, ()>;
    /// Put `value` at the head of the list under `key`.
    fn push<'a>(&'a self, key: &'a str, value: V, lease: Option<Duration>) -> SpaceFuture<'a, ()>;
    /// Replace every value under `key` with `value`.
    fn put<'a>(&'a self, key: &'a str, value: V, lease: Option<Duration>) -> SpaceFuture<'a, ()>;
    /// Take the first value under `key`, waiting up to `timeout`; `None` on timeout.
    fn in_<'a>(&'a self, key: &'a str, timeout: Duration) -> SpaceFuture<'a, Option<V>>;
    /// Read (without taking) the first value under `key`, waiting up to `timeout`.
    fn rd<'a>(&'a self, key: &'a str, timeout: Duration) -> SpaceFuture<'a, Option<V>>;
    /// Take the first value under `key` if there is one, without waiting.
    fn inp<'a>(&'a self, key: &'a str) -> SpaceFuture<'a, Option<V>>;
    /// Read the first value under `key` if there is one, without waiting.
    fn rdp<'a>(&'a self, key: &'a str) -> SpaceFuture<'a, Option<V>>;
    /// Wait up to `timeout` until `key` has no values; true if it became (or was) empty.
    fn nrd<'a>(&'a self, key: &'a str, timeout: Duration) -> SpaceFuture<'a, bool>;
    /// Number of live (unexpired) values under `key`.
    fn size<'a>(&'a self, key: &'a str) -> SpaceFuture<'a, usize>;
    /// Call `listener` after every `out`/`push`/`put` under `key` (the value stays in the space).
    fn add_listener(
        &self,
        key: &str,
        listener: Arc<dyn SpaceListener<V>>,
    ) -> Result<ListenerId, SpaceError>;
    /// Remove a listener added with [`Space::add_listener`]; false if it was not registered.
    fn remove_listener(&self, key: &str, id: ListenerId) -> bool;
}
