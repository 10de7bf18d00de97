//! `kind: channel` (jPOS ChannelAdaptor): keeps an outgoing connection up; a `mux` subscribes to what
//! it receives.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::channel::{ChannelAdaptor, ClientConfig, ClientTls, LengthPrefix};
use crate::deploy::component::{Component, KindError};
use crate::deploy::wire;
use crate::iso::IsoMsg;

/// `kind: channel` keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ChannelSpec {
    /// Always `channel`.
    pub kind: String,
    /// Component name (what a `mux` names in `channel:`).
    pub name: String,
    /// `host:port` to connect to.
    pub target: String,
    /// Length prefix: ascii4, binary2, binary4, etx.
    pub framing: LengthPrefix,
    /// `none`, `tpdu` or fixed header bytes in hex.
    #[serde(default = "wire::default_header")]
    pub header: String,
    /// Largest frame in bytes.
    #[serde(default = "wire::default_max_frame")]
    pub max_frame: usize,
    /// Packager.
    pub spec: String,
    /// Connect timeout (ms).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: u64,
    /// First reconnect delay (ms), doubled per failure.
    #[serde(default = "default_reconnect_min")]
    pub reconnect_min: u64,
    /// Largest reconnect delay (ms).
    #[serde(default = "default_reconnect_max")]
    pub reconnect_max: u64,
    /// Echo after this long idle (ms); absent disables keep-alive.
    #[serde(default)]
    pub keep_alive: Option<u64>,
    /// Capacity of the in and out queues.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Queue and write timeout (ms).
    #[serde(default = "default_connect_timeout")]
    pub queue_timeout: u64,
    /// TLS trust settings.
    #[serde(default)]
    pub tls: Option<ClientTls>,
}

fn default_connect_timeout() -> u64 {
    5000
}
fn default_reconnect_min() -> u64 {
    100
}
fn default_reconnect_max() -> u64 {
    10_000
}
fn default_queue() -> usize {
    1024
}

/// The handle a mux looks up: the adaptor and the slot its received messages go to.
pub struct ChannelHandle {
    /// The adaptor.
    pub adaptor: ChannelAdaptor,
    subscriber: Mutex<Option<mpsc::Sender<IsoMsg>>>,
}

impl ChannelHandle {
    /// Receive what the channel receives from now on (replacing any earlier subscriber).
    pub fn subscribe(&self, capacity: usize) -> mpsc::Receiver<IsoMsg> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        *self.subscriber.lock() = Some(tx);
        rx
    }
}

impl ChannelSpec {
    fn config(&self) -> Result<ClientConfig, KindError> {
        let framing = wire::framing(self.framing, &self.header, self.max_frame)?;
        let spec = wire::spec(&self.spec)?;
        if self.queue == 0 {
            return Err(KindError::new("queue", "must be at least 1"));
        }
        let mut c = ClientConfig::new(self.target.clone(), framing, spec);
        c.name = self.name.clone();
        c.connect_timeout = Duration::from_millis(self.connect_timeout);
        c.reconnect_min = Duration::from_millis(self.reconnect_min);
        c.reconnect_max = Duration::from_millis(self.reconnect_max.max(self.reconnect_min));
        c.keep_alive = self.keep_alive.map(Duration::from_millis);
        c.in_queue = self.queue;
        c.out_queue = self.queue;
        c.queue_timeout = Duration::from_millis(self.queue_timeout);
        c.write_timeout = Duration::from_millis(self.queue_timeout);
        c.tls = self.tls.clone();
        Ok(c)
    }

    /// Check everything that needs no I/O.
    pub fn validate(&self) -> Result<(), KindError> {
        self.config().map(|_| ())
    }

    /// Start connecting.
    pub fn start(&self) -> Result<Arc<dyn Component>, KindError> {
        let (adaptor, mut incoming) =
            ChannelAdaptor::start(self.config()?).map_err(|e| KindError::new("target", e))?;
        let handle = Arc::new(ChannelHandle {
            adaptor,
            subscriber: Mutex::new(None),
        });
        let weak = Arc::downgrade(&handle);
        let name = self.name.clone();
        tokio::spawn(async move {
            while let Some(msg) = incoming.recv().await {
                let Some(h) = weak.upgrade() else { break };
                let tx = h.subscriber.lock().clone();
                match tx {
                    Some(tx) => {
                        if tx.try_send(msg).is_err() {
                            tracing::warn!(channel = %name, "mux queue full or gone; message dropped");
                        }
                    }
                    None => tracing::debug!(channel = %name, %msg, "no mux subscribed; dropped"),
                }
            }
        });
        Ok(Arc::new(ChannelComponent(handle)))
    }
}

/// A running channel.
pub struct ChannelComponent(Arc<ChannelHandle>);

#[async_trait]
impl Component for ChannelComponent {
    fn ready(&self) -> bool {
        self.0.adaptor.is_ready()
    }

    fn handle(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        Some(self.0.clone())
    }

    async fn stop(&self, timeout: Duration) {
        self.0.adaptor.close(timeout).await;
    }
}
