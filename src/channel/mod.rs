//! Channels: framing ISO-8583 messages on TCP (optionally TLS), the server that accepts them and the
//! client adaptor that keeps an outgoing connection up.
//!
//! - `framing`: length prefixes (`ascii4`, `binary2`, `binary4`, `etx`), headers (TPDU, fixed), limits.
//! - `server`: accept loop, sessions bound, allowed peers, TLS; requests to a space queue or a listener.
//! - `session`: one server connection's task (read, dispatch, batched write of queued replies).
//! - `reply`: the `Request` envelope and the `ReplyHandle` that answers on the same connection.
//! - `outq`: the per-connection bounded reply queue.
//! - `client`: the `ChannelAdaptor` (reconnect, readiness, keep-alive, in/out queues).
//! - `netmgmt`: network-management (echo, sign-on) conventions per dialect.
//! - `tls`: rustls configs from PEM files.
//! - `spin`: the busy-poll idle strategy for current-thread runtimes (spin briefly before parking).

pub mod client;
pub mod error;
pub mod framing;
pub mod netmgmt;
mod outq;
pub mod reply;
pub mod server;
mod session;
pub mod spin;
pub mod tls;

pub use client::{ChannelAdaptor, ClientConfig, ClientStats};
pub use error::ChannelError;
pub use framing::{FrameCodec, FrameError, Framing, Header, LengthPrefix};
pub use netmgmt::{Dialect, NetMgmt};
pub use reply::{ReplyHandle, Request};
pub use server::{BadMessage, RequestListener, RequestSink, Server, ServerConfig, ServerStats};
pub use tls::{ClientTls, ServerTls};
