//! The Q2-style container: YAML deploy descriptors (`kind:` + `name:` + the kind's keys) in a
//! directory, deployed in filename order, hot-redeployed as files change.
//!
//! - `descriptor`: reading and parsing one file (with `env` substitution); `error`: `DeployError`.
//! - `kinds`: one file per kind (`logger`, `space`, `server`, `channel`, `mux`, `mux-pool`, `txnmgr`,
//!   `http`, `ledger`, `sim-host`); `wire`: framing/spec keys shared by the TCP kinds.
//! - `component`: the running-component trait; `container`: deploy, redeploy, undeploy, drain.
//! - `watch`: hot deploy with `notify`; `logging`, `metrics`, `health`: process-wide services.

pub mod component;
pub mod container;
pub mod descriptor;
pub mod env;
pub mod error;
pub mod health;
pub mod kinds;
pub mod logging;
pub mod metrics;
pub mod watch;
pub mod wire;

pub use component::{Component, KindError};
pub use container::{check_dir, descriptor_files, Container};
pub use descriptor::{Descriptor, Kind};
pub use error::DeployError;
pub use kinds::Services;

use std::sync::Arc;

use health::HealthBoard;

/// Services for a container in this process: health board, Prometheus recorder, reconfigurable logger
/// (the last two installed on first use, process-wide).
pub fn services() -> Services {
    Services {
        health: Arc::new(HealthBoard::default()),
        prometheus: metrics::prometheus(),
        logging: logging::init(),
        spaces: Arc::new(crate::space::SpaceRegistry::new()),
    }
}
