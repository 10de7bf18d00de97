//! `kind: server` (jPOS QServer): listens, frames and unpacks requests, and queues each one as a
//! transaction context (`REQUEST` + `REPLY`) on a space queue for a transaction manager.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ipnet::IpNet;
use parking_lot::Mutex;
use serde::Deserialize;

use super::StartCx;
use crate::channel::server::BadMessage;
use crate::channel::{LengthPrefix, RequestSink, Server, ServerConfig, ServerTls};
use crate::deploy::component::{Component, KindError};
use crate::deploy::descriptor::Ref;
use crate::deploy::wire;

/// `kind: server` keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServerSpec {
    /// Always `server`.
    pub kind: String,
    /// Component name.
    pub name: String,
    /// `host:port` to listen on.
    pub listen: SocketAddr,
    /// Length prefix: ascii4, binary2, binary4, etx.
    pub framing: LengthPrefix,
    /// `none`, `tpdu` or fixed header bytes in hex.
    #[serde(default = "wire::default_header")]
    pub header: String,
    /// Largest frame in bytes.
    #[serde(default = "wire::default_max_frame")]
    pub max_frame: usize,
    /// Packager: built-in name or YAML path.
    pub spec: String,
    /// The space (a `kind: space` component) holding the queue.
    #[serde(default = "default_space")]
    pub space: String,
    /// Queue the requests go to (the txnmgr's `queue`).
    pub queue: String,
    /// Most concurrent sessions.
    #[serde(default = "default_max_sessions")]
    pub max_sessions: usize,
    /// Allowed peers (addresses or CIDR networks); empty allows all.
    #[serde(default)]
    pub allow: Vec<String>,
    /// TLS certificate and key.
    #[serde(default)]
    pub tls: Option<ServerTls>,
    /// Close sessions idle this long (ms).
    #[serde(default)]
    pub idle_timeout: Option<u64>,
    /// `drop` or `close` on a message that cannot be unpacked.
    #[serde(default)]
    pub on_bad_message: BadMessage,
    /// Replies queued per connection.
    #[serde(default = "default_reply_queue")]
    pub reply_queue: usize,
    /// Reply and write timeout (ms).
    #[serde(default = "default_reply_timeout")]
    pub reply_timeout: u64,
}

/// Default `space`.
pub fn default_space() -> String {
    "default".to_owned()
}

fn default_max_sessions() -> usize {
    1000
}

fn default_reply_queue() -> usize {
    256
}

fn default_reply_timeout() -> u64 {
    5000
}

impl ServerSpec {
    /// The space it queues to.
    pub fn refs(&self) -> Vec<Ref> {
        vec![Ref::new(
            "space",
            &super::space::ref_name(&self.space),
            "space",
        )]
    }

    fn config(&self, name: &str) -> Result<ServerConfig, KindError> {
        let framing = wire::framing(self.framing, &self.header, self.max_frame)?;
        let spec = wire::spec(&self.spec)?;
        if self.max_sessions == 0 {
            return Err(KindError::new("max-sessions", "must be at least 1"));
        }
        if self.reply_queue == 0 {
            return Err(KindError::new("reply-queue", "must be at least 1"));
        }
        let mut cfg = ServerConfig::new(self.listen, framing, spec);
        cfg.name = name.to_owned();
        cfg.max_sessions = self.max_sessions;
        cfg.allow = self
            .allow
            .iter()
            .map(|a| {
                a.parse::<IpNet>()
                    .or_else(|_| a.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        KindError::new(
                            "allow",
                            format!("{a:?}: expected an address or CIDR network"),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        cfg.tls = self.tls.clone();
        cfg.idle_timeout = self.idle_timeout.map(Duration::from_millis);
        cfg.on_bad_message = self.on_bad_message;
        cfg.reply_queue = self.reply_queue;
        cfg.reply_timeout = Duration::from_millis(self.reply_timeout);
        Ok(cfg)
    }

    /// Check everything that needs no I/O.
    pub fn validate(&self) -> Result<(), KindError> {
        super::space::check_context_space(&self.space, "space")?;
        self.config(&self.name).map(|_| ())
    }

    /// Bind and start serving.
    pub async fn start(&self, cx: &StartCx<'_>) -> Result<Arc<dyn Component>, KindError> {
        let cfg = self.config(&self.name)?;
        let space = super::space::lookup_space(cx, &self.space, "space")?.contexts("space")?;
        let sink = RequestSink::Txn {
            space: space.clone(),
            queue: self.queue.clone(),
        };
        let server = Server::start(cfg, sink)
            .await
            .map_err(|e| KindError::new("listen", e))?;
        Ok(Arc::new(ServerComponent {
            server: Mutex::new(Some(server)),
        }))
    }
}

/// A running server.
pub struct ServerComponent {
    server: Mutex<Option<Server>>,
}

#[async_trait]
impl Component for ServerComponent {
    fn ready(&self) -> bool {
        self.server.lock().is_some()
    }

    fn stop_accepting(&self) {
        if let Some(s) = self.server.lock().as_ref() {
            s.stop_accepting();
        }
    }

    fn reset_stats(&self) {
        if let Some(s) = self.server.lock().as_ref() {
            let st = s.stats();
            for c in [
                &st.accepted,
                &st.refused_peer,
                &st.refused_full,
                &st.requests,
                &st.replies,
                &st.bad_messages,
                &st.bad_frames,
            ] {
                c.store(0, Ordering::Relaxed);
            }
        }
    }

    async fn stop(&self, timeout: Duration) {
        let server = self.server.lock().take();
        if let Some(s) = server {
            s.shutdown(timeout).await;
        }
    }
}
