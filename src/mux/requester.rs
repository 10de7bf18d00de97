//! `Requester`: anything that sends a request and waits for its matching response — a [`Mux`] or a
//! [`MuxPool`] — so that callers such as the `core.QueryHost` participant accept either.

use std::time::Duration;

use async_trait::async_trait;

use super::error::MuxError;
use super::pool::MuxPool;
use super::qmux::Mux;
use crate::iso::IsoMsg;

/// Request/response over a mux or a pool of muxes.
#[async_trait]
pub trait Requester: Send + Sync + 'static {
    /// Name used in logs and result texts.
    fn name(&self) -> &str;

    /// True if a request could be sent now (the channel, or some pool member's, is connected).
    fn is_ready(&self) -> bool;

    /// Send `msg` and wait up to `timeout` for its response; `Ok(None)` on timeout.
    async fn request(&self, msg: IsoMsg, timeout: Duration) -> Result<Option<IsoMsg>, MuxError>;
}

#[async_trait]
impl Requester for Mux {
    fn name(&self) -> &str {
        Mux::name(self)
    }

    fn is_ready(&self) -> bool {
        Mux::is_ready(self)
    }

    async fn request(&self, msg: IsoMsg, timeout: Duration) -> Result<Option<IsoMsg>, MuxError> {
        Mux::request(self, msg, timeout).await
    }
}

#[async_trait]
impl Requester for MuxPool {
    fn name(&self) -> &str {
        MuxPool::name(self)
    }

    fn is_ready(&self) -> bool {
        MuxPool::is_ready(self)
    }

    async fn request(&self, msg: IsoMsg, timeout: Duration) -> Result<Option<IsoMsg>, MuxError> {
        MuxPool::request(self, msg, timeout).await
    }
}
