//! One server connection, served by one task: it reads frames, unpacks and dispatches the requests, and
//! writes every reply queued meanwhile as one batch with a single write.
//!
//! One task rather than a reader and a writer task: a reply that a synchronous listener queues while the
//! task dispatches costs no wake-up of another task, and all replies to the requests of one read go out in
//! one write. Replies queued by other tasks (the TransactionManager, a space consumer) wake the session
//! through its reply queue. While a batch is being written the session does not read; a peer that sends
//! without reading is closed once one write waits longer than the write timeout.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::Decoder;

use super::framing::{FrameCodec, Framing};
use super::reply::{Conn, ReplyHandle, Request};
use super::server::{BadMessage, RequestSink, ServerStats};
use crate::iso::{IsoMsg, Spec};

/// Room kept free in the read buffer before each read. Small, so that idle sessions stay cheap; the buffer
/// grows to the largest frame seen.
const READ_BUFFER: usize = 512;

/// A write buffer above this size is released after use instead of kept.
const KEEP_WRITE_BUFFER: usize = 64 * 1024;

/// What a session needs.
pub(crate) struct SessionCtx {
    pub(crate) conn: Arc<Conn>,
    pub(crate) framing: Arc<Framing>,
    pub(crate) spec: Arc<Spec>,
    pub(crate) sink: RequestSink,
    pub(crate) stats: Arc<ServerStats>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) write_timeout: Duration,
    pub(crate) on_bad_message: BadMessage,
}

/// Why the session stopped reading.
enum End {
    /// The peer closed, the idle timeout passed, or a framing/read error: write what is queued, then close.
    Reading,
    /// A write failed or timed out: close without writing more.
    Writing,
    /// The server shuts down (it closed the reply queue): what was queued is written; close.
    Shutdown,
}

/// What woke the session.
enum Event {
    Replies,
    Closed,
    Read(io::Result<usize>),
    Idle,
}

/// Run a session to its end; returns when the connection is closed.
pub(crate) async fn run<S>(ctx: SessionCtx, io: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut s = Session {
        reply: ReplyHandle::new(ctx.conn.clone()),
        codec: ctx.framing.codec(),
        ctx,
        io,
        rbuf: BytesMut::new(),
        wbuf: Vec::new(),
        batch: VecDeque::new(),
    };
    let end = s.serve().await;
    s.ctx.conn.queue.close();
    if !matches!(end, End::Writing) {
        // Replies queued before the close still go out, bounded by the write timeout.
        s.flush_replies().await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), s.io.shutdown()).await;
}

struct Session<S> {
    ctx: SessionCtx,
    io: S,
    codec: FrameCodec,
    reply: ReplyHandle,
    rbuf: BytesMut,
    wbuf: Vec<u8>,
    batch: VecDeque<IsoMsg>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    async fn serve(&mut self) -> End {
        let peer = self.ctx.conn.peer;
        let id = self.ctx.conn.id;
        let idle = self.ctx.idle_timeout;
        // The idle timer is re-armed lazily: reads only note the time; when it fires early it moves on.
        let mut last_read = tokio::time::Instant::now();
        let idle_sleep = tokio::time::sleep(idle.unwrap_or(Duration::ZERO));
        tokio::pin!(idle_sleep);
        loop {
            if self.rbuf.capacity() - self.rbuf.len() < READ_BUFFER {
                self.rbuf.reserve(READ_BUFFER);
            }
            let event = tokio::select! {
                biased;
                more = self.ctx.conn.queue.ready() => if more { Event::Replies } else { Event::Closed },
                r = self.io.read_buf(&mut self.rbuf) => Event::Read(r),
                _ = &mut idle_sleep, if idle.is_some() => Event::Idle,
            };
            // From here until the next wait, replies are collected and written by this task itself.
            self.ctx.conn.queue.stop_waiting();
            match event {
                Event::Closed => return End::Shutdown,
                Event::Replies => {}
                Event::Idle => {
                    let due = last_read + idle.unwrap_or_default();
                    if due <= tokio::time::Instant::now() {
                        tracing::info!(%peer, conn = id, "idle timeout, closing");
                        return End::Reading;
                    }
                    idle_sleep.as_mut().reset(due);
                }
                Event::Read(Ok(0)) => {
                    if self.rbuf.is_empty() {
                        tracing::debug!(%peer, conn = id, "peer closed");
                    } else {
                        tracing::debug!(%peer, conn = id, pending = self.rbuf.len(),
                            "peer closed in the middle of a frame");
                    }
                    return End::Reading;
                }
                Event::Read(Err(e)) => {
                    tracing::debug!(%peer, conn = id, error = %e, "read failed, closing");
                    return End::Reading;
                }
                Event::Read(Ok(_)) => {
                    super::spin::activity();
                    if idle.is_some() {
                        last_read = tokio::time::Instant::now();
                    }
                    if !self.dispatch_frames().await {
                        return End::Reading;
                    }
                }
            }
            if !self.flush_replies().await {
                return End::Writing;
            }
        }
    }

    /// Unpack and dispatch every complete frame in the read buffer; false when the connection must close.
    async fn dispatch_frames(&mut self) -> bool {
        let ctx = &self.ctx;
        let peer = ctx.conn.peer;
        // One clock read per read: frames that arrived together were received together.
        let received = Instant::now();
        let mut requests = 0;
        let mut open = true;
        loop {
            let frame = match self.codec.decode(&mut self.rbuf) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    ctx.stats.bad_frames.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%peer, conn = ctx.conn.id, error = %e, "framing error, closing");
                    open = false;
                    break;
                }
            };
            match ctx.framing.decode_msg(&ctx.spec, &frame) {
                Ok(msg) => {
                    requests += 1;
                    tracing::trace!(%peer, conn = ctx.conn.id, %msg, "request");
                    ctx.sink
                        .dispatch(Request {
                            msg,
                            reply: self.reply.clone(),
                            received,
                        })
                        .await;
                }
                Err(e) => {
                    ctx.stats.bad_messages.fetch_add(1, Ordering::Relaxed);
                    let close = ctx.on_bad_message == BadMessage::Close;
                    tracing::warn!(%peer, conn = ctx.conn.id, frame_len = frame.len(), error = %e,
                        action = if close { "close" } else { "drop" }, "unpack failed");
                    if close {
                        open = false;
                        break;
                    }
                }
            }
        }
        if requests > 0 {
            ctx.stats.requests.fetch_add(requests, Ordering::Relaxed);
        }
        open
    }

    /// Pack every queued reply into one buffer and write it; false when the write failed or timed out.
    async fn flush_replies(&mut self) -> bool {
        let ctx = &self.ctx;
        let peer = ctx.conn.peer;
        if ctx.conn.queue.take_now(&mut self.batch) == 0 {
            return true;
        }
        let n = self.batch.len() as u64;
        for msg in self.batch.drain(..) {
            if let Err(e) = ctx
                .framing
                .encode_msg(&ctx.spec, &msg, true, &mut self.wbuf)
            {
                tracing::warn!(%peer, conn = ctx.conn.id, %msg, error = %e, "reply not sent");
            } else {
                tracing::trace!(%peer, conn = ctx.conn.id, %msg, "reply");
            }
        }
        if self.wbuf.is_empty() {
            return true;
        }
        let written = write_all_within(&mut self.io, &self.wbuf, ctx.write_timeout).await;
        if self.wbuf.capacity() > KEEP_WRITE_BUFFER {
            self.wbuf = Vec::new();
        } else {
            self.wbuf.clear();
        }
        match written {
            Ok(()) => {
                ctx.stats.replies.fetch_add(n, Ordering::Relaxed);
                true
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                tracing::warn!(%peer, conn = ctx.conn.id, "write timed out, closing");
                false
            }
            Err(e) => {
                tracing::warn!(%peer, conn = ctx.conn.id, error = %e, "write failed, closing");
                false
            }
        }
    }
}

/// Write and flush all of `buf`, failing with `TimedOut` when that takes longer than `timeout`. The timer
/// is created only when the socket cannot take everything at once (the common case needs no clock read).
async fn write_all_within<W: AsyncWrite + Unpin>(
    io: &mut W,
    buf: &[u8],
    timeout: Duration,
) -> io::Result<()> {
    let mut pos = 0;
    let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;
    poll_fn(|cx| {
        while pos < buf.len() {
            match Pin::new(&mut *io).poll_write(cx, &buf[pos..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => pos += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => break,
            }
        }
        if pos == buf.len() {
            if let Poll::Ready(r) = Pin::new(&mut *io).poll_flush(cx) {
                return Poll::Ready(r);
            }
        }
        let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::ErrorKind::TimedOut.into())),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}
