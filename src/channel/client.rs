//! The client channel adaptor (jPOS ChannelAdaptor): keeps one outgoing connection up, reconnecting with
//! bounded exponential backoff; publishes readiness; moves messages between bounded in/out queues and the
//! socket; sends a dialect echo when the line is idle; closes gracefully.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::error::ChannelError;
use super::framing::Framing;
use super::netmgmt::Dialect;
use super::tls::ClientTls;
use crate::iso::{IsoMsg, Spec};

/// Client adaptor configuration; `ClientConfig::new` fills in the defaults.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Name used in logs and errors.
    pub name: String,
    /// `host:port` to connect to (resolved on every attempt).
    pub target: String,
    /// Framing.
    pub framing: Framing,
    /// Packager.
    pub spec: Arc<Spec>,
    /// How long one connection attempt (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// First delay before reconnecting; doubled on every failed attempt.
    pub reconnect_min: Duration,
    /// Largest delay between attempts.
    pub reconnect_max: Duration,
    /// Send an echo after this long without traffic; `None` disables keep-alive.
    pub keep_alive: Option<Duration>,
    /// Capacity of the incoming queue.
    pub in_queue: usize,
    /// Capacity of the outgoing queue.
    pub out_queue: usize,
    /// How long `send` (and handing a received message to a full in-queue) may wait.
    pub queue_timeout: Duration,
    /// How long one socket write may take.
    pub write_timeout: Duration,
    /// TLS settings; `None` for plain TCP.
    pub tls: Option<ClientTls>,
}

impl ClientConfig {
    /// Defaults: 5 s connect timeout, backoff 100 ms doubling to 10 s, no keep-alive, queues of 1,024.
    pub fn new(target: impl Into<String>, framing: Framing, spec: Arc<Spec>) -> Self {
        ClientConfig {
            name: "channel".into(),
            target: target.into(),
            framing,
            spec,
            connect_timeout: Duration::from_secs(5),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(10),
            keep_alive: None,
            in_queue: 1024,
            out_queue: 1024,
            queue_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            tls: None,
        }
    }
}

/// Counters of a client adaptor.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// Successful connections.
    pub connects: AtomicU64,
    /// Messages written.
    pub sent: AtomicU64,
    /// Messages received and queued.
    pub received: AtomicU64,
    /// Echo requests sent on idle.
    pub echoes: AtomicU64,
    /// Received messages dropped (unpack error or full in-queue).
    pub dropped: AtomicU64,
}

/// A running client adaptor. Received messages come out of the receiver returned by `start`.
pub struct ChannelAdaptor {
    name: Arc<str>,
    out: mpsc::Sender<IsoMsg>,
    ready: watch::Receiver<bool>,
    stats: Arc<ClientStats>,
    queue_timeout: Duration,
    shutdown: CancellationToken,
    task: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl ChannelAdaptor {
    /// Start connecting in the background; returns the adaptor and its incoming queue.
    pub fn start(
        config: ClientConfig,
    ) -> Result<(ChannelAdaptor, mpsc::Receiver<IsoMsg>), ChannelError> {
        if config.in_queue == 0 || config.out_queue == 0 {
            return Err(ChannelError::Config(format!(
                "channel {}: queue capacities must be at least 1",
                config.name
            )));
        }
        let tls = config.tls.as_ref().map(ClientTls::connector).transpose()?;
        let (out_tx, out_rx) = mpsc::channel(config.out_queue);
        let (in_tx, in_rx) = mpsc::channel(config.in_queue);
        let (ready_tx, ready_rx) = watch::channel(false);
        let stats = Arc::new(ClientStats::default());
        let shutdown = CancellationToken::new();
        let name: Arc<str> = Arc::from(config.name.as_str());
        let queue_timeout = config.queue_timeout;
        let worker = Worker {
            dialect: Dialect::of(&config.spec),
            config,
            tls,
            name: name.clone(),
            in_tx,
            ready: ready_tx,
            stats: stats.clone(),
            shutdown: shutdown.clone(),
            echo_stan: AtomicU64::new(echo_seed()),
        };
        let task = tokio::spawn(worker.run(out_rx));
        Ok((
            ChannelAdaptor {
                name,
                out: out_tx,
                ready: ready_rx,
                stats,
                queue_timeout,
                shutdown,
                task: parking_lot::Mutex::new(Some(task)),
            },
            in_rx,
        ))
    }

    /// The adaptor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queue a message for sending, waiting up to the queue timeout for room. Messages queued while
    /// disconnected are sent once connected.
    pub async fn send(&self, msg: IsoMsg) -> Result<(), ChannelError> {
        match self.out.send_timeout(msg, self.queue_timeout).await {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => Err(ChannelError::QueueFull {
                what: format!("channel {} out-queue", self.name),
                timeout_ms: self.queue_timeout.as_millis() as u64,
            }),
            Err(mpsc::error::SendTimeoutError::Closed(_)) => {
                Err(ChannelError::Closed(format!("channel {}", self.name)))
            }
        }
    }

    /// A sender into the out-queue (what a mux holds).
    pub fn sender(&self) -> mpsc::Sender<IsoMsg> {
        self.out.clone()
    }

    /// The ready indicator: `true` while connected.
    pub fn ready(&self) -> watch::Receiver<bool> {
        self.ready.clone()
    }

    /// True while connected.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Wait up to `timeout` until connected; true if it is.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut rx = self.ready.clone();
        let ok = matches!(
            tokio::time::timeout(timeout, rx.wait_for(|r| *r)).await,
            Ok(Ok(_))
        );
        ok
    }

    /// Counters.
    pub fn stats(&self) -> &Arc<ClientStats> {
        &self.stats
    }

    /// Stop: write what is queued (when connected), close the socket, and wait up to `timeout`.
    pub async fn close(&self, timeout: Duration) {
        self.shutdown.cancel();
        let task = self.task.lock().take();
        if let Some(task) = task {
            if tokio::time::timeout(timeout, task).await.is_err() {
                tracing::warn!(channel = %self.name, "close timed out");
            }
        }
    }
}

impl Drop for ChannelAdaptor {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn echo_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::from(d.subsec_micros()))
}

/// Why a session ended.
enum End {
    /// The connection was lost; reconnect.
    Lost,
    /// The adaptor is closing.
    Shutdown,
}

struct Worker {
    config: ClientConfig,
    dialect: Dialect,
    tls: Option<(
        tokio_rustls::TlsConnector,
        tokio_rustls::rustls::pki_types::ServerName<'static>,
    )>,
    name: Arc<str>,
    in_tx: mpsc::Sender<IsoMsg>,
    ready: watch::Sender<bool>,
    stats: Arc<ClientStats>,
    shutdown: CancellationToken,
    echo_stan: AtomicU64,
}

impl Worker {
    async fn run(self, mut out_rx: mpsc::Receiver<IsoMsg>) {
        let mut backoff = self.config.reconnect_min;
        loop {
            // Not raced against shutdown here: a connected session flushes its queue before it ends.
            let attempt = self.connect_and_serve(&mut out_rx).await;
            self.ready.send_replace(false);
            match attempt {
                Ok(End::Shutdown) => break,
                Ok(End::Lost) => backoff = self.config.reconnect_min,
                Err(e) => {
                    tracing::warn!(channel = %self.name, target = %self.config.target, error = %e,
                        retry_ms = backoff.as_millis() as u64, "connect failed");
                }
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.config.reconnect_max);
        }
        self.ready.send_replace(false);
        tracing::info!(channel = %self.name, "closed");
    }

    async fn connect_and_serve(
        &self,
        out_rx: &mut mpsc::Receiver<IsoMsg>,
    ) -> Result<End, ChannelError> {
        let target = &self.config.target;
        let timeout = self.config.connect_timeout;
        let connect = tokio::time::timeout(timeout, TcpStream::connect(target.as_str()));
        let tcp = tokio::select! {
            _ = self.shutdown.cancelled() => return Ok(End::Shutdown),
            c = connect => c,
        }
        .map_err(|_| ChannelError::ConnectTimeout(format!("channel {}", self.name)))??;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => {
                self.connected();
                let (r, w) = tcp.into_split();
                Ok(self.serve(r, w, out_rx).await)
            }
            Some((connector, server_name)) => {
                let handshake =
                    tokio::time::timeout(timeout, connector.connect(server_name.clone(), tcp));
                let stream = tokio::select! {
                    _ = self.shutdown.cancelled() => return Ok(End::Shutdown),
                    h = handshake => h,
                }
                .map_err(|_| {
                    ChannelError::ConnectTimeout(format!("channel {} (TLS)", self.name))
                })??;
                self.connected();
                let (r, w) = tokio::io::split(stream);
                Ok(self.serve(r, w, out_rx).await)
            }
        }
    }

    fn connected(&self) {
        self.stats.connects.fetch_add(1, Ordering::Relaxed);
        tracing::info!(channel = %self.name, target = %self.config.target, "connected");
        self.ready.send_replace(true);
    }

    async fn serve<R, W>(&self, r: R, mut w: W, out_rx: &mut mpsc::Receiver<IsoMsg>) -> End
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let cfg = &self.config;
        let mut frames = FramedRead::with_capacity(r, cfg.framing.codec(), 4096);
        let mut buf: Vec<u8> = Vec::new();
        let idle = cfg.keep_alive.unwrap_or(Duration::from_secs(86_400));
        let keep_alive = tokio::time::sleep(idle);
        tokio::pin!(keep_alive);
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => {
                    while let Ok(m) = out_rx.try_recv() {
                        self.encode(&m, &mut buf);
                    }
                    let _ = self.write(&mut w, &mut buf).await;
                    let _ = tokio::time::timeout(Duration::from_secs(1), w.shutdown()).await;
                    return End::Shutdown;
                }
                f = frames.next() => {
                    match f {
                        None => {
                            tracing::warn!(channel = %self.name, "connection closed by peer");
                            return End::Lost;
                        }
                        Some(Err(e)) => {
                            tracing::warn!(channel = %self.name, error = %e, "framing error, reconnecting");
                            return End::Lost;
                        }
                        Some(Ok(frame)) => {
                            super::spin::activity();
                            self.received(&frame).await
                        }
                    }
                    keep_alive.as_mut().reset(tokio::time::Instant::now() + idle);
                }
                m = out_rx.recv() => {
                    let Some(m) = m else {
                        return End::Shutdown;
                    };
                    self.encode(&m, &mut buf);
                    let mut n = 1;
                    while n < 1024 {
                        match out_rx.try_recv() {
                            Ok(m) => {
                                self.encode(&m, &mut buf);
                                n += 1;
                            }
                            Err(_) => break,
                        }
                    }
                    if self.write(&mut w, &mut buf).await.is_err() {
                        return End::Lost;
                    }
                    keep_alive.as_mut().reset(tokio::time::Instant::now() + idle);
                }
                _ = &mut keep_alive, if cfg.keep_alive.is_some() => {
                    let stan = self.echo_stan.fetch_add(1, Ordering::Relaxed);
                    let echo = self.dialect.echo(&cfg.spec, stan);
                    tracing::debug!(channel = %self.name, msg = %echo, "keep-alive");
                    self.stats.echoes.fetch_add(1, Ordering::Relaxed);
                    self.encode(&echo, &mut buf);
                    if self.write(&mut w, &mut buf).await.is_err() {
                        return End::Lost;
                    }
                    keep_alive.as_mut().reset(tokio::time::Instant::now() + idle);
                }
            }
        }
    }

    fn encode(&self, msg: &IsoMsg, buf: &mut Vec<u8>) {
        if let Err(e) = self
            .config
            .framing
            .encode_msg(&self.config.spec, msg, false, buf)
        {
            tracing::warn!(channel = %self.name, %msg, error = %e, "not sent");
        } else {
            self.stats.sent.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(channel = %self.name, %msg, "send");
        }
    }

    async fn write<W: AsyncWrite + Unpin>(
        &self,
        w: &mut W,
        buf: &mut Vec<u8>,
    ) -> Result<(), ChannelError> {
        if buf.is_empty() {
            return Ok(());
        }
        let r = tokio::time::timeout(self.config.write_timeout, async {
            w.write_all(buf).await?;
            w.flush().await
        })
        .await;
        buf.clear();
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!(channel = %self.name, error = %e, "write failed, reconnecting");
                Err(e.into())
            }
            Err(_) => {
                tracing::warn!(channel = %self.name, "write timed out, reconnecting");
                Err(ChannelError::Closed(format!(
                    "channel {} (write timeout)",
                    self.name
                )))
            }
        }
    }

    async fn received(&self, frame: &[u8]) {
        let msg = match self.config.framing.decode_msg(&self.config.spec, frame) {
            Ok(m) => m,
            Err(e) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(channel = %self.name, frame_len = frame.len(), error = %e, "unpack failed, dropped");
                return;
            }
        };
        if self.config.keep_alive.is_some() && self.dialect.is_echo_response(&msg) {
            tracing::debug!(channel = %self.name, %msg, "keep-alive answered");
            return;
        }
        tracing::trace!(channel = %self.name, %msg, "received");
        match self
            .in_tx
            .send_timeout(msg, self.config.queue_timeout)
            .await
        {
            Ok(()) => {
                self.stats.received.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                let msg = match e {
                    mpsc::error::SendTimeoutError::Timeout(m)
                    | mpsc::error::SendTimeoutError::Closed(m) => m,
                };
                tracing::warn!(channel = %self.name, %msg, "in-queue full or closed, dropped");
            }
        }
    }
}
