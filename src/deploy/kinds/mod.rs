//! One file per descriptor kind: its serde keys, its checks and how it starts. `StartCx` is what a
//! kind gets to start with: the participant registry, the deployed components and shared services.

pub mod channel;
pub mod http;
pub mod ledger;
pub mod logger;
pub mod mux;
pub mod mux_pool;
pub mod server;
pub mod sim_host;
pub mod space;
pub mod txnmgr;

use std::any::Any;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;

use super::component::KindError;
use super::health::HealthBoard;
use super::logging::LogControl;
use crate::iso::IsoMsg;
use crate::space::SpaceRegistry;
use crate::txn::registry::{ParticipantRegistry, Resources};

/// Process-wide services the container hands to kinds.
#[derive(Clone)]
pub struct Services {
    /// Readiness of every component.
    pub health: Arc<HealthBoard>,
    /// The Prometheus recorder's handle, when installed.
    pub prometheus: Option<PrometheusHandle>,
    /// The reconfigurable logger, when installed.
    pub logging: Option<Arc<LogControl>>,
    /// Message spaces by address (`tspace:NAME`; `pg:NAME` once a `type: pg` space is deployed).
    pub spaces: Arc<SpaceRegistry<IsoMsg>>,
}

/// What a kind starts with.
pub struct StartCx<'a> {
    /// Participant and selector factories.
    pub registry: &'a ParticipantRegistry,
    /// Deployed components by kind and name.
    pub resources: &'a dyn Resources,
    /// Shared services.
    pub services: &'a Services,
}

impl StartCx<'_> {
    /// The deployed `kind` named `name` (referenced by `key`), downcast to `T`.
    pub fn lookup<T: Any + Send + Sync>(
        &self,
        kind: &str,
        name: &str,
        key: &str,
    ) -> Result<Arc<T>, KindError> {
        self.resources
            .lookup(kind, name)
            .and_then(|a| a.downcast::<T>().ok())
            .ok_or_else(|| KindError::new(key, format!("{kind} '{name}' is not deployed")))
    }
}
