//! Channel errors: each names the peer or endpoint and what went wrong there.

use std::net::SocketAddr;

use thiserror::Error;

use crate::iso::IsoError;

/// What went wrong on a channel, a server or a client adaptor.
#[derive(Debug, Error)]
pub enum ChannelError {
    /// Reading or writing the socket failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A length prefix announced more than the configured maximum frame size.
    #[error("framing {framing}: frame of {len} bytes exceeds max {max}")]
    FrameTooLarge {
        /// Framing name.
        framing: &'static str,
        /// Announced length.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// A length prefix could not be read.
    #[error("framing {framing}: bad length prefix {prefix:02X?}")]
    BadLengthPrefix {
        /// Framing name.
        framing: &'static str,
        /// The prefix bytes as received.
        prefix: Vec<u8>,
    },
    /// A frame is shorter than the header it must carry.
    #[error("framing {framing}: frame of {len} bytes is shorter than its {header}-byte header")]
    ShortFrame {
        /// Framing name.
        framing: &'static str,
        /// Frame length.
        len: usize,
        /// Header length.
        header: usize,
    },
    /// A framing name or option is not known.
    #[error("unknown framing {0:?} (known: ascii4, binary2, binary4, etx)")]
    UnknownFraming(String),
    /// A message could not be packed or unpacked.
    #[error("{peer}: {source}")]
    Codec {
        /// Peer address or channel name.
        peer: String,
        /// The codec error (field, offset, reason).
        source: IsoError,
    },
    /// The connection (or channel) is closed.
    #[error("{0}: channel closed")]
    Closed(String),
    /// The channel is not connected.
    #[error("{0}: not connected")]
    NotConnected(String),
    /// A queue stayed full past the timeout.
    #[error("{what}: queue full for {timeout_ms} ms")]
    QueueFull {
        /// Which queue.
        what: String,
        /// How long the sender waited.
        timeout_ms: u64,
    },
    /// Connecting timed out.
    #[error("{0}: connect timed out")]
    ConnectTimeout(String),
    /// Binding the listen address failed.
    #[error("bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// TLS material could not be loaded or a TLS config could not be built.
    #[error("TLS: {0}")]
    Tls(String),
    /// A configuration value is invalid.
    #[error("config: {0}")]
    Config(String),
}
