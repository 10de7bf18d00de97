//! The server (jPOS QServer): accepts connections, bounds sessions, checks allowed addresses, optionally
//! speaks TLS, and hands every request with a reply handle to a space queue or a listener.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::error::ChannelError;
use super::framing::Framing;
use super::outq::OutQueue;
use super::reply::{Conn, Request};
use super::session::{self, SessionCtx};
use super::tls::ServerTls;
use crate::iso::Spec;
use crate::space::Space;
use crate::txn::{Context, ReplySink, REPLY, REQUEST};

/// What to do with a frame whose message cannot be unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BadMessage {
    /// Log it and go on reading.
    #[default]
    Drop,
    /// Log it and close that connection.
    Close,
}

/// Receives requests synchronously on the connection's reader task (jPOS ISORequestListener); must not
/// block: answer with `ReplyHandle::try_send`, or spawn for slow work.
pub trait RequestListener: Send + Sync + 'static {
    /// Handle one request.
    fn on_request(&self, req: Request);
}

/// Where a server hands its requests.
#[derive(Clone)]
pub enum RequestSink {
    /// `out` to this queue of a space (the TransactionManager's input, usually).
    Space {
        /// The space.
        space: Arc<dyn Space<Request>>,
        /// Queue name.
        queue: String,
    },
    /// `out` a transaction context to this queue of a space: the TransactionManager's input, with the
    /// message under `REQUEST` and the reply handle under `REPLY`.
    Txn {
        /// The space.
        space: Arc<dyn Space<Context>>,
        /// Queue name (the manager's `queue`).
        queue: String,
    },
    /// Call a listener.
    Listener(Arc<dyn RequestListener>),
}

impl RequestSink {
    /// Hand `req` on. A space that fails drops the request: logged and counted in `space_errors_total`.
    pub(crate) async fn dispatch(&self, req: Request) {
        let r = match self {
            RequestSink::Space { space, queue } => space.out(queue, req, None).await,
            RequestSink::Txn { space, queue } => {
                let mut ctx = Context::new();
                ctx.put(&REQUEST, req.msg);
                ctx.put(&REPLY, Arc::new(req.reply) as Arc<dyn ReplySink>);
                space.out(queue, ctx, None).await
            }
            RequestSink::Listener(l) => {
                l.on_request(req);
                Ok(())
            }
        };
        if let Err(e) = r {
            e.report("server", "queue a request (dropped)");
        }
    }
}

/// Server configuration; `ServerConfig::new` fills in the defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Name used in logs and errors.
    pub name: String,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Framing of every connection.
    pub framing: Framing,
    /// Packager.
    pub spec: Arc<Spec>,
    /// Most concurrent sessions; further connections are closed at once.
    pub max_sessions: usize,
    /// Allowed peer addresses/networks; empty allows every peer.
    pub allow: Vec<IpNet>,
    /// TLS certificate and key; `None` for plain TCP.
    pub tls: Option<ServerTls>,
    /// Close a session that sent nothing for this long.
    pub idle_timeout: Option<Duration>,
    /// What to do with a message that cannot be unpacked.
    pub on_bad_message: BadMessage,
    /// Replies queued per connection before `ReplyHandle::send` waits.
    pub reply_queue: usize,
    /// How long `ReplyHandle::send` and one socket write may wait.
    pub reply_timeout: Duration,
    /// How long a TLS handshake may take.
    pub handshake_timeout: Duration,
}

impl ServerConfig {
    /// A plain-TCP server config with defaults: 1,000 sessions, any peer, no idle timeout, drop bad messages.
    pub fn new(listen: SocketAddr, framing: Framing, spec: Arc<Spec>) -> Self {
        ServerConfig {
            name: "server".into(),
            listen,
            framing,
            spec,
            max_sessions: 1000,
            allow: Vec::new(),
            tls: None,
            idle_timeout: None,
            on_bad_message: BadMessage::Drop,
            reply_queue: 256,
            reply_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Counters of a running server.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Connections accepted into a session.
    pub accepted: AtomicU64,
    /// Connections refused: peer not allowed.
    pub refused_peer: AtomicU64,
    /// Connections refused: max sessions reached.
    pub refused_full: AtomicU64,
    /// Sessions open now.
    pub active: AtomicUsize,
    /// Requests unpacked and dispatched.
    pub requests: AtomicU64,
    /// Replies written.
    pub replies: AtomicU64,
    /// Frames that could not be unpacked.
    pub bad_messages: AtomicU64,
    /// Framing errors (oversized or malformed length), each closing its connection.
    pub bad_frames: AtomicU64,
}

/// A running server; dropping it stops accepting and closes every session.
pub struct Server {
    local_addr: SocketAddr,
    name: String,
    stats: Arc<ServerStats>,
    shutdown: CancellationToken,
    accepting: CancellationToken,
    live: Arc<LiveSessions>,
    tasks: TaskTracker,
}

/// The reply queues of open sessions. Shutdown closes them all, which wakes every session: a session then
/// writes what was queued and closes. (Cheaper than each session polling a cancellation token every time
/// it wakes up.)
#[derive(Default)]
struct LiveSessions {
    state: Mutex<LiveState>,
}

#[derive(Default)]
struct LiveState {
    closing: bool,
    conns: HashMap<u64, Arc<Conn>>,
}

impl LiveSessions {
    /// Track a new session; its queue is closed at once when the server is shutting down.
    fn add(&self, conn: &Arc<Conn>) {
        let mut s = self.state.lock();
        if s.closing {
            conn.queue.close();
        } else {
            s.conns.insert(conn.id, conn.clone());
        }
    }

    fn remove(&self, id: u64) {
        self.state.lock().conns.remove(&id);
    }

    /// Close every session's reply queue, and those of sessions added later.
    fn close_all(&self) {
        let conns = {
            let mut s = self.state.lock();
            s.closing = true;
            std::mem::take(&mut s.conns)
        };
        for conn in conns.values() {
            conn.queue.close();
        }
    }
}

impl Server {
    /// Bind and start accepting.
    pub async fn start(config: ServerConfig, sink: RequestSink) -> Result<Server, ChannelError> {
        let acceptor = config.tls.as_ref().map(ServerTls::acceptor).transpose()?;
        if config.max_sessions == 0 {
            return Err(ChannelError::Config(format!(
                "server {}: max sessions must be at least 1",
                config.name
            )));
        }
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ChannelError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr()?;
        let stats = Arc::new(ServerStats::default());
        let shutdown = CancellationToken::new();
        let accepting = shutdown.child_token();
        let tasks = TaskTracker::new();
        let live = Arc::new(LiveSessions::default());
        tracing::info!(server = %config.name, %local_addr, framing = %config.framing,
            spec = %config.spec.name, tls = acceptor.is_some(), "listening");
        let name = config.name.clone();
        let acceptor_loop = Acceptor {
            name: Arc::from(config.name.as_str()),
            framing: Arc::new(config.framing.clone()),
            sessions: Arc::new(Semaphore::new(config.max_sessions)),
            config,
            sink,
            stats: stats.clone(),
            accepting: accepting.clone(),
            live: live.clone(),
            tasks: tasks.clone(),
            tls: acceptor,
            next_id: AtomicU64::new(1),
        };
        tasks.spawn(acceptor_loop.run(listener));
        Ok(Server {
            local_addr,
            name,
            stats,
            shutdown,
            accepting,
            live,
            tasks,
        })
    }

    /// Stop accepting new connections; open sessions go on (graceful drain before `shutdown`).
    pub fn stop_accepting(&self) {
        self.accepting.cancel();
    }

    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Counters.
    pub fn stats(&self) -> &Arc<ServerStats> {
        &self.stats
    }

    /// Sessions open now.
    pub fn sessions(&self) -> usize {
        self.stats.active.load(Ordering::Relaxed)
    }

    /// Stop accepting, close every session (queued replies are still written) and wait up to `timeout`.
    pub async fn shutdown(self, timeout: Duration) {
        self.shutdown.cancel();
        self.live.close_all();
        self.tasks.close();
        if tokio::time::timeout(timeout, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(server = %self.name, "sessions still open after shutdown timeout");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.live.close_all();
    }
}

struct Acceptor {
    name: Arc<str>,
    config: ServerConfig,
    framing: Arc<Framing>,
    sink: RequestSink,
    stats: Arc<ServerStats>,
    sessions: Arc<Semaphore>,
    accepting: CancellationToken,
    live: Arc<LiveSessions>,
    tasks: TaskTracker,
    tls: Option<TlsAcceptor>,
    next_id: AtomicU64,
}

impl Acceptor {
    async fn run(self, listener: TcpListener) {
        loop {
            let accepted = tokio::select! {
                _ = self.accepting.cancelled() => {
                    tracing::info!(server = %self.name, "no longer accepting connections");
                    return;
                }
                a = listener.accept() => a,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: back off briefly instead of spinning.
                    tracing::warn!(server = %self.name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if !self.allowed(peer) {
                self.stats.refused_peer.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(server = %self.name, %peer, "peer not in allowed list, closing");
                continue;
            }
            let Ok(permit) = self.sessions.clone().try_acquire_owned() else {
                self.stats.refused_full.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(server = %self.name, %peer, max = self.config.max_sessions,
                    "max sessions reached, closing");
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let ctx = self.session_ctx(id, peer);
            let live = self.live.clone();
            live.add(&ctx.conn);
            let tls = self.tls.clone();
            let handshake = self.config.handshake_timeout;
            let stats = self.stats.clone();
            let name = self.name.clone();
            stats.accepted.fetch_add(1, Ordering::Relaxed);
            stats.active.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(server = %name, %peer, conn = id, "session open");
            self.tasks.spawn(async move {
                serve(ctx, tcp, tls, handshake).await;
                live.remove(id);
                stats.active.fetch_sub(1, Ordering::Relaxed);
                drop(permit);
                tracing::debug!(server = %name, %peer, conn = id, "session closed");
            });
        }
    }

    fn allowed(&self, peer: SocketAddr) -> bool {
        let ip = peer.ip().to_canonical();
        self.config.allow.is_empty() || self.config.allow.iter().any(|n| n.contains(&ip))
    }

    fn session_ctx(&self, id: u64, peer: SocketAddr) -> SessionCtx {
        SessionCtx {
            conn: Arc::new(Conn {
                id,
                peer,
                server: self.name.clone(),
                queue: OutQueue::new(self.config.reply_queue),
                send_timeout: self.config.reply_timeout,
            }),
            framing: self.framing.clone(),
            spec: self.config.spec.clone(),
            sink: self.sink.clone(),
            stats: self.stats.clone(),
            idle_timeout: self.config.idle_timeout,
            write_timeout: self.config.reply_timeout,
            on_bad_message: self.config.on_bad_message,
        }
    }
}

async fn serve(ctx: SessionCtx, tcp: TcpStream, tls: Option<TlsAcceptor>, handshake: Duration) {
    match tls {
        None => session::run(ctx, tcp).await,
        // Boxed: a TLS stream (and its handshake) is large, and every plain session would otherwise carry
        // room for one in its task (~2 KiB each, as measured with 10,000 idle sessions).
        Some(acceptor) => Box::pin(serve_tls(ctx, tcp, acceptor, handshake)).await,
    }
}

async fn serve_tls(ctx: SessionCtx, tcp: TcpStream, acceptor: TlsAcceptor, handshake: Duration) {
    let peer = ctx.conn.peer;
    match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => session::run(ctx, stream).await,
        Ok(Err(e)) => tracing::warn!(%peer, error = %e, "TLS handshake failed"),
        Err(_) => tracing::warn!(%peer, "TLS handshake timed out"),
    }
}
