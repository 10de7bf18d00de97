//! `kind: mux-pool` (jPOS MUXPool): several muxes used as one, failover or round robin.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::StartCx;
use crate::deploy::component::{Component, KindError};
use crate::deploy::descriptor::Ref;
use crate::mux::{Mux, MuxPool, PoolStrategy};

/// `kind: mux-pool` keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MuxPoolSpec {
    /// Always `mux-pool`.
    pub kind: String,
    /// Component name.
    pub name: String,
    /// The `mux` components, in priority order.
    pub muxes: Vec<String>,
    /// `failover` or `round-robin`.
    #[serde(default)]
    pub strategy: PoolStrategy,
}

impl MuxPoolSpec {
    /// The muxes.
    pub fn refs(&self) -> Vec<Ref> {
        self.muxes
            .iter()
            .map(|m| Ref::new("mux", m, "muxes"))
            .collect()
    }

    /// Check the list.
    pub fn validate(&self) -> Result<(), KindError> {
        if self.muxes.is_empty() {
            return Err(KindError::new("muxes", "expected at least one mux"));
        }
        Ok(())
    }

    /// Build the pool.
    pub fn start(&self, cx: &StartCx<'_>) -> Result<Arc<dyn Component>, KindError> {
        self.validate()?;
        let mut muxes = Vec::new();
        for m in &self.muxes {
            let mux = cx.lookup::<Mux>("mux", m, "muxes")?;
            muxes.push((*mux).clone());
        }
        let pool = MuxPool::new(self.name.clone(), muxes, self.strategy);
        Ok(Arc::new(MuxPoolComponent(Arc::new(pool))))
    }
}

/// A deployed pool.
pub struct MuxPoolComponent(Arc<MuxPool>);

#[async_trait]
impl Component for MuxPoolComponent {
    fn ready(&self) -> bool {
        self.0.is_ready()
    }

    fn handle(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        Some(self.0.clone())
    }

    async fn stop(&self, _timeout: Duration) {}
}
