//! Space listeners: callbacks told about every value written under a key (jPOS `SpaceListener`).
//!
//! A listener runs on the writer's task after the space lock is released, so it must be quick; to hand
//! work elsewhere, `try_send` into a bounded channel from the callback.

/// Identifies a registered listener so that it can be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(pub(crate) u64);

/// Told about each value written under the key it was registered for.
pub trait SpaceListener<V>: Send + Sync {
    /// Called after `value` was written under `key`; the value remains in the space.
    fn notify(&self, key: &str, value: &V);
}

impl<V, F> SpaceListener<V> for F
where
    F: Fn(&str, &V) + Send + Sync,
{
    fn notify(&self, key: &str, value: &V) {
        self(key, value)
    }
}
