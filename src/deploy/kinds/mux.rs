//! `kind: mux` (jPOS QMUX): request/response matching over a `channel`; participants look it up by name.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::channel::ChannelHandle;
use super::StartCx;
use crate::deploy::component::{Component, KindError};
use crate::deploy::descriptor::Ref;
use crate::mux::{Mux, MuxConfig, Unhandled};

/// `kind: mux` keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MuxSpec {
    /// Always `mux`.
    pub kind: String,
    /// Component name.
    pub name: String,
    /// The `channel` component to send through.
    pub channel: String,
    /// Match-key fields.
    #[serde(default = "default_key")]
    pub key: Vec<u8>,
    /// Timed-out keys remembered to recognise late responses.
    #[serde(default = "default_late_memory")]
    pub late_memory: usize,
    /// Capacity of the queue from the channel.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Where unmatched and late messages go; absent: logged and discarded.
    #[serde(default)]
    pub unhandled: Option<UnhandledSpec>,
}

/// `unhandled:` of a mux (jPOS QMUX's `unhandled` queue).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UnhandledSpec {
    /// A space component: `NAME`, `tspace:NAME` or `pg:NAME` (durable).
    pub space: String,
    /// Queue (key) in that space.
    pub queue: String,
    /// Messages waiting for the space before further ones are discarded (and counted).
    #[serde(default = "default_queue")]
    pub capacity: usize,
}

fn default_key() -> Vec<u8> {
    crate::mux::key::DEFAULT_KEY_FIELDS.to_vec()
}
fn default_late_memory() -> usize {
    10_000
}
fn default_queue() -> usize {
    1024
}

impl MuxSpec {
    /// The channel.
    pub fn refs(&self) -> Vec<Ref> {
        let mut refs = vec![Ref::new("channel", &self.channel, "channel")];
        if let Some(u) = &self.unhandled {
            refs.push(Ref::new(
                "space",
                &super::space::ref_name(&u.space),
                "unhandled.space",
            ));
        }
        refs
    }

    /// Check the key.
    pub fn validate(&self) -> Result<(), KindError> {
        if self.key.is_empty() || self.key.iter().any(|f| *f < 2) {
            return Err(KindError::new(
                "key",
                "expected a list of field numbers (2..)",
            ));
        }
        if let Some(u) = &self.unhandled {
            super::space::space_ref(&u.space, "unhandled.space")?;
            if u.queue.is_empty() {
                return Err(KindError::new("unhandled.queue", "must not be empty"));
            }
            if u.capacity == 0 {
                return Err(KindError::new("unhandled.capacity", "must be at least 1"));
            }
        }
        Ok(())
    }

    /// Start matching.
    pub fn start(&self, cx: &StartCx<'_>) -> Result<Arc<dyn Component>, KindError> {
        self.validate()?;
        let ch = cx.lookup::<ChannelHandle>("channel", &self.channel, "channel")?;
        let mut cfg = MuxConfig::new(self.name.clone());
        cfg.key_fields = self.key.clone();
        cfg.late_memory = self.late_memory;
        if let Some(u) = &self.unhandled {
            let space = super::space::lookup_space(cx, &u.space, "unhandled.space")?;
            cfg.unhandled = Unhandled::space(&self.name, space.messages(), &u.queue, u.capacity);
        }
        let mux = Mux::over(cfg, &ch.adaptor, ch.subscribe(self.queue));
        Ok(Arc::new(MuxComponent(Arc::new(mux))))
    }
}

/// A running mux.
pub struct MuxComponent(Arc<Mux>);

#[async_trait]
impl Component for MuxComponent {
    fn ready(&self) -> bool {
        self.0.is_ready()
    }

    fn handle(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        Some(self.0.clone())
    }

    async fn stop(&self, _timeout: Duration) {
        self.0.close();
    }
}
