//! One server connection: a reader task that frames, unpacks and dispatches requests, and a writer task
//! that packs every queued reply into one buffer and writes it with a single call.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::framing::Framing;
use super::reply::{Conn, ReplyHandle, Request};
use super::server::{BadMessage, RequestSink, ServerStats};
use crate::iso::{IsoMsg, Spec};

/// Initial read buffer: small, so that idle sessions stay cheap; it grows to the largest frame seen.
const READ_BUFFER: usize = 512;

/// A write buffer above this size is released after use instead of kept.
const KEEP_WRITE_BUFFER: usize = 64 * 1024;

/// What both tasks of a session share.
pub(crate) struct SessionCtx {
    pub(crate) conn: Arc<Conn>,
    pub(crate) framing: Arc<Framing>,
    pub(crate) spec: Arc<Spec>,
    pub(crate) sink: RequestSink,
    pub(crate) stats: Arc<ServerStats>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) write_timeout: Duration,
    pub(crate) on_bad_message: BadMessage,
    pub(crate) cancel: CancellationToken,
}

/// Run a session to its end: reader inline, writer as its own task; returns when both are done.
pub(crate) async fn run<R, W>(ctx: SessionCtx, reader: R, writer: W)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let ctx = Arc::new(ctx);
    let w = tokio::spawn(write_loop(ctx.clone(), writer));
    read_loop(&ctx, reader).await;
    ctx.conn.queue.close();
    // The writer drains what is queued, bounded by its write timeout per batch.
    let drain = ctx.write_timeout + Duration::from_secs(1);
    match tokio::time::timeout(drain, w).await {
        Ok(_) => {}
        Err(_) => ctx.cancel.cancel(),
    }
}

async fn read_loop<R: AsyncRead + Unpin>(ctx: &SessionCtx, reader: R) {
    let peer = ctx.conn.peer;
    let mut frames = FramedRead::with_capacity(reader, ctx.framing.codec(), READ_BUFFER);
    let reply = ReplyHandle::new(ctx.conn.clone());
    loop {
        let next = tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => return,
            n = next_frame(&mut frames, ctx.idle_timeout) => n,
        };
        let frame = match next {
            None => {
                tracing::info!(%peer, conn = ctx.conn.id, "idle timeout, closing");
                return;
            }
            Some(None) => {
                tracing::debug!(%peer, conn = ctx.conn.id, "peer closed");
                return;
            }
            Some(Some(Err(e))) => {
                ctx.stats.bad_frames.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%peer, conn = ctx.conn.id, error = %e, "framing error, closing");
                return;
            }
            Some(Some(Ok(frame))) => frame,
        };
        match ctx.framing.decode_msg(&ctx.spec, &frame) {
            Ok(msg) => {
                ctx.stats.requests.fetch_add(1, Ordering::Relaxed);
                tracing::trace!(%peer, conn = ctx.conn.id, %msg, "request");
                ctx.sink
                    .dispatch(Request {
                        msg,
                        reply: reply.clone(),
                        received: Instant::now(),
                    })
                    .await;
            }
            Err(e) => {
                ctx.stats.bad_messages.fetch_add(1, Ordering::Relaxed);
                let close = ctx.on_bad_message == BadMessage::Close;
                tracing::warn!(%peer, conn = ctx.conn.id, frame_len = frame.len(), error = %e,
                    action = if close { "close" } else { "drop" }, "unpack failed");
                if close {
                    return;
                }
            }
        }
    }
}

/// The next frame; `None` when the idle timeout passed first.
async fn next_frame<S: futures::Stream + Unpin>(
    frames: &mut S,
    idle: Option<Duration>,
) -> Option<Option<S::Item>> {
    match idle {
        Some(t) => tokio::time::timeout(t, frames.next()).await.ok(),
        None => Some(frames.next().await),
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(ctx: Arc<SessionCtx>, mut writer: W) {
    let peer = ctx.conn.peer;
    let mut batch: VecDeque<IsoMsg> = VecDeque::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut last_round = false;
    while !last_round {
        let more = tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => {
                // Shutting down: refuse new replies, write what is queued, then stop.
                ctx.conn.queue.close();
                ctx.conn.queue.take_now(&mut batch);
                last_round = true;
                true
            }
            more = ctx.conn.queue.take_all(&mut batch) => more,
        };
        if !more {
            break;
        }
        let n = batch.len() as u64;
        for msg in batch.drain(..) {
            if let Err(e) = ctx.framing.encode_msg(&ctx.spec, &msg, true, &mut buf) {
                tracing::warn!(%peer, conn = ctx.conn.id, %msg, error = %e, "reply not sent");
            } else {
                tracing::trace!(%peer, conn = ctx.conn.id, %msg, "reply");
            }
        }
        if buf.is_empty() {
            continue;
        }
        let written = tokio::time::timeout(ctx.write_timeout, async {
            writer.write_all(&buf).await?;
            writer.flush().await
        })
        .await;
        match written {
            Ok(Ok(())) => {
                ctx.stats.replies.fetch_add(n, Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                tracing::warn!(%peer, conn = ctx.conn.id, error = %e, "write failed, closing");
                break;
            }
            Err(_) => {
                tracing::warn!(%peer, conn = ctx.conn.id, "write timed out, closing");
                break;
            }
        }
        if buf.capacity() > KEEP_WRITE_BUFFER {
            buf = Vec::new();
        } else {
            buf.clear();
        }
    }
    ctx.conn.queue.close();
    ctx.cancel.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(1), writer.shutdown()).await;
}
