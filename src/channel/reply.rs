//! The request envelope a server hands on, and the reply handle that answers on the same connection.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::ChannelError;
use super::outq::{OutQueue, PushError};
use crate::iso::IsoMsg;

/// State of one server connection that replies need.
pub(crate) struct Conn {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    pub(crate) server: Arc<str>,
    pub(crate) queue: OutQueue,
    pub(crate) send_timeout: Duration,
}

/// Sends replies on the connection a request came from. Cheap to clone (one `Arc`); packing and framing
/// happen on the connection's writer task.
#[derive(Clone)]
pub struct ReplyHandle {
    conn: Arc<Conn>,
}

impl ReplyHandle {
    pub(crate) fn new(conn: Arc<Conn>) -> Self {
        ReplyHandle { conn }
    }

    /// Queue a reply, waiting up to the server's reply timeout for room in the connection's queue.
    pub async fn send(&self, msg: IsoMsg) -> Result<(), ChannelError> {
        let r = self.conn.queue.push(msg, self.conn.send_timeout).await;
        self.map(r)
    }

    /// Queue a reply if there is room now (for synchronous listeners).
    pub fn try_send(&self, msg: IsoMsg) -> Result<(), ChannelError> {
        let r = self.conn.queue.try_push(msg);
        self.map(r)
    }

    fn map(&self, r: Result<(), PushError>) -> Result<(), ChannelError> {
        match r {
            Ok(()) => Ok(()),
            Err(PushError::Closed(m)) => {
                tracing::debug!(peer = %self.conn.peer, msg = %m, "reply dropped: connection closed");
                Err(ChannelError::Closed(self.describe()))
            }
            Err(PushError::Full(m)) => {
                tracing::warn!(peer = %self.conn.peer, msg = %m, "reply dropped: queue full");
                Err(ChannelError::QueueFull {
                    what: self.describe(),
                    timeout_ms: self.conn.send_timeout.as_millis() as u64,
                })
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "server {} connection {} ({})",
            self.conn.server, self.conn.id, self.conn.peer
        )
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.conn.peer
    }

    /// The connection's id, unique within its server.
    pub fn connection_id(&self) -> u64 {
        self.conn.id
    }

    /// Replies queued and not yet written.
    pub fn queued(&self) -> usize {
        self.conn.queue.len()
    }

    /// True while the connection accepts replies.
    pub fn is_open(&self) -> bool {
        !self.conn.queue.is_closed()
    }
}

#[async_trait::async_trait]
impl crate::txn::ReplySink for ReplyHandle {
    async fn send(&self, response: IsoMsg) -> Result<(), crate::txn::ReplyError> {
        match ReplyHandle::send(self, response).await {
            Ok(()) => Ok(()),
            Err(ChannelError::Closed(_)) => Err(crate::txn::ReplyError::Closed),
            Err(e) => Err(crate::txn::ReplyError::Failed(e.to_string())),
        }
    }
}

impl fmt::Debug for ReplyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplyHandle({})", self.describe())
    }
}

/// A request received by a server, with the handle that answers it.
#[derive(Clone)]
pub struct Request {
    /// The unpacked message (header kept when the framing has one).
    pub msg: IsoMsg,
    /// Answers on the same connection.
    pub reply: ReplyHandle,
    /// When the frame was read.
    pub received: Instant,
}

impl fmt::Debug for Request {
    /// Masked: the message prints through its masked `Display`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Request({} from {})", self.msg, self.reply.peer())
    }
}
