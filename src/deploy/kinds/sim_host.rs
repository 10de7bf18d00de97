//! `kind: sim-host`: a host simulator listening on its own port (answers network management,
//! authorizations, financials and reversals), for tests and demos.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use serde::Deserialize;

use crate::channel::{LengthPrefix, RequestSink, Server, ServerConfig};
use crate::deploy::component::{Component, KindError};
use crate::deploy::wire;
use crate::sim::SimHost;

/// `kind: sim-host` keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SimHostSpec {
    /// Always `sim-host`.
    pub kind: String,
    /// Component name.
    pub name: String,
    /// `host:port` to listen on.
    pub listen: SocketAddr,
    /// Length prefix.
    pub framing: LengthPrefix,
    /// `none`, `tpdu` or hex header bytes.
    #[serde(default = "wire::default_header")]
    pub header: String,
    /// Largest frame in bytes.
    #[serde(default = "wire::default_max_frame")]
    pub max_frame: usize,
    /// Packager.
    pub spec: String,
    /// Response code for non-network requests (default: approved in the spec's DE 39 width).
    #[serde(default)]
    pub rc: Option<String>,
    /// Delay before every answer (ms).
    #[serde(default)]
    pub delay: u64,
    /// Most concurrent sessions.
    #[serde(default = "default_max_sessions")]
    pub max_sessions: usize,
}

fn default_max_sessions() -> usize {
    1000
}

impl SimHostSpec {
    fn build(&self) -> Result<(ServerConfig, Arc<SimHost>), KindError> {
        let framing = wire::framing(self.framing, &self.header, self.max_frame)?;
        let spec = wire::spec(&self.spec)?;
        let host = SimHost::new(
            spec.clone(),
            self.rc.clone(),
            Duration::from_millis(self.delay),
        )
        .map_err(|e| KindError::new("rc", e))?;
        let mut cfg = ServerConfig::new(self.listen, framing, spec);
        cfg.name = self.name.clone();
        cfg.max_sessions = self.max_sessions.max(1);
        Ok((cfg, Arc::new(host)))
    }

    /// Check everything that needs no I/O.
    pub fn validate(&self) -> Result<(), KindError> {
        self.build().map(|_| ())
    }

    /// Bind and answer.
    pub async fn start(&self) -> Result<Arc<dyn Component>, KindError> {
        let (cfg, host) = self.build()?;
        let server = Server::start(cfg, RequestSink::Listener(host.clone()))
            .await
            .map_err(|e| KindError::new("listen", e))?;
        Ok(Arc::new(SimHostComponent {
            server: Mutex::new(Some(server)),
            host,
        }))
    }
}

/// A running simulator.
pub struct SimHostComponent {
    server: Mutex<Option<Server>>,
    host: Arc<SimHost>,
}

#[async_trait]
impl Component for SimHostComponent {
    fn stop_accepting(&self) {
        if let Some(s) = self.server.lock().as_ref() {
            s.stop_accepting();
        }
    }

    fn reset_stats(&self) {
        self.host.stats().answered.store(0, Ordering::Relaxed);
        self.host.stats().ignored.store(0, Ordering::Relaxed);
    }

    async fn stop(&self, timeout: Duration) {
        let server = self.server.lock().take();
        if let Some(s) = server {
            s.shutdown(timeout).await;
        }
    }
}
