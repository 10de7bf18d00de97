//! `Component`: what a started descriptor is to the container (readiness, a handle others look up,
//! drain and stop), and `KindError`, the error a kind reports about one of its keys.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

/// A running component.
#[async_trait]
pub trait Component: Send + Sync {
    /// True when the component can do its job (listening, connected ...); reported by `/health`.
    fn ready(&self) -> bool {
        true
    }

    /// The shared handle other components look up by this component's kind and name.
    fn handle(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        None
    }

    /// Stop taking new work (a server stops accepting connections); called before draining.
    fn stop_accepting(&self) {}

    /// Work still queued or in flight (a transaction manager's queue plus in-flight transactions).
    fn pending(&self) -> usize {
        0
    }

    /// Reset counters that can be reset (SIGHUP).
    fn reset_stats(&self) {}

    /// Reopen files (SIGHUP).
    fn reopen(&self) {}

    /// Stop, waiting up to `timeout` for in-flight work; called once.
    async fn stop(&self, timeout: Duration);
}

/// A kind's complaint about one of its keys; the container adds file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindError {
    /// Dotted key path (`listen`, `participant-config.core.CheckFields`).
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl KindError {
    /// An error about `key`.
    pub fn new(key: impl Into<String>, message: impl std::fmt::Display) -> Self {
        KindError {
            key: key.into(),
            message: message.to_string(),
        }
    }
}
