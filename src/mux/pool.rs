//! A pool of muxes (jPOS MUXPool): round robin or primary-first failover over the ones that are ready.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::error::MuxError;
use super::qmux::Mux;
use crate::iso::IsoMsg;

/// How a pool picks a mux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PoolStrategy {
    /// The first ready mux in configured order (jPOS PRIMARY_SECONDARY).
    #[default]
    Failover,
    /// Rotate over the ready muxes.
    RoundRobin,
}

/// Several muxes used as one.
pub struct MuxPool {
    name: String,
    muxes: Vec<Mux>,
    strategy: PoolStrategy,
    next: AtomicUsize,
}

impl MuxPool {
    /// A pool over `muxes` in priority order.
    pub fn new(name: impl Into<String>, muxes: Vec<Mux>, strategy: PoolStrategy) -> Self {
        MuxPool {
            name: name.into(),
            muxes,
            strategy,
            next: AtomicUsize::new(0),
        }
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True if any mux is ready.
    pub fn is_ready(&self) -> bool {
        self.muxes.iter().any(Mux::is_ready)
    }

    /// The mux the next request would use.
    pub fn pick(&self) -> Option<&Mux> {
        let n = self.muxes.len();
        if n == 0 {
            return None;
        }
        let start = match self.strategy {
            PoolStrategy::Failover => 0,
            PoolStrategy::RoundRobin => self.next.fetch_add(1, Ordering::Relaxed) % n,
        };
        (0..n)
            .map(|i| &self.muxes[(start + i) % n])
            .find(|m| m.is_ready())
    }

    /// Send through a ready mux and wait up to `timeout`; `Ok(None)` on timeout.
    pub async fn request(
        &self,
        msg: IsoMsg,
        timeout: Duration,
    ) -> Result<Option<IsoMsg>, MuxError> {
        match self.pick() {
            Some(m) => m.request(msg, timeout).await,
            None => Err(MuxError::NoneReady {
                pool: self.name.clone(),
            }),
        }
    }
}
