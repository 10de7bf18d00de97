//! The mux (jPOS QMUX): sends requests over a channel and hands each response to the caller waiting for it.
//!
//! Waiters live in a `DashMap` from match key to a oneshot sender. A response is delivered only to the
//! waiter registered under its key; one arriving after its waiter timed out is counted as late and goes to
//! the unhandled destination, never to another waiter.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::MuxError;
use super::key::{match_key, MatchKey, DEFAULT_KEY_FIELDS};
use super::unhandled::Unhandled;
use crate::channel::ChannelAdaptor;
use crate::iso::IsoMsg;

/// Mux configuration; `MuxConfig::new` fills in the defaults.
#[derive(Clone)]
pub struct MuxConfig {
    /// Name used in logs and errors.
    pub name: String,
    /// Key fields (default DE 41, DE 11).
    pub key_fields: Vec<u8>,
    /// Where unmatched and late responses (and remote requests) go.
    pub unhandled: Unhandled,
    /// How many timed-out keys are remembered to recognise late responses.
    pub late_memory: usize,
}

impl MuxConfig {
    /// Defaults: key DE 41 + DE 11, unhandled discarded, 10,000 timed-out keys remembered.
    pub fn new(name: impl Into<String>) -> Self {
        MuxConfig {
            name: name.into(),
            key_fields: DEFAULT_KEY_FIELDS.to_vec(),
            unhandled: Unhandled::Discard,
            late_memory: 10_000,
        }
    }
}

/// Counters of a mux.
#[derive(Debug, Default)]
pub struct MuxStats {
    /// Requests sent.
    pub sent: AtomicU64,
    /// Responses delivered to their waiter.
    pub matched: AtomicU64,
    /// Requests that timed out.
    pub timeouts: AtomicU64,
    /// Responses that arrived after their request timed out.
    pub late: AtomicU64,
    /// Messages handed to the unhandled destination (late ones included).
    pub unhandled: AtomicU64,
    /// Unhandled messages discarded (no destination, or its queue full).
    pub discarded: AtomicU64,
}

/// Keys of requests that timed out, bounded, oldest forgotten first.
struct Expired {
    order: VecDeque<MatchKey>,
    set: HashSet<MatchKey>,
    cap: usize,
}

impl Expired {
    fn insert(&mut self, key: MatchKey) {
        if self.cap == 0 {
            return;
        }
        while self.order.len() >= self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        if self.set.insert(key.clone()) {
            self.order.push_back(key);
        }
    }

    fn take(&mut self, key: &MatchKey) -> bool {
        // The key stays in `order` until pushed out; a stale entry there only costs a slot.
        self.set.remove(key)
    }
}

struct Inner {
    name: String,
    key_fields: Vec<u8>,
    pending: DashMap<MatchKey, oneshot::Sender<IsoMsg>>,
    expired: Mutex<Expired>,
    out: mpsc::Sender<IsoMsg>,
    ready: watch::Receiver<bool>,
    unhandled: Unhandled,
    stats: MuxStats,
    shutdown: CancellationToken,
}

/// A running mux; clones share it. The receiver task stops when the incoming queue closes or on `close`.
#[derive(Clone)]
pub struct Mux {
    inner: Arc<Inner>,
}

/// Removes the pending entry if the request future is dropped before it completes.
struct PendingGuard<'a> {
    inner: &'a Inner,
    key: Option<MatchKey>,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.inner.pending.remove(&k);
        }
    }
}

impl Mux {
    /// Start a mux over a channel's out-queue, ready indicator and incoming queue.
    pub fn start(
        config: MuxConfig,
        out: mpsc::Sender<IsoMsg>,
        ready: watch::Receiver<bool>,
        incoming: mpsc::Receiver<IsoMsg>,
    ) -> Mux {
        let inner = Arc::new(Inner {
            name: config.name,
            key_fields: config.key_fields,
            pending: DashMap::new(),
            expired: Mutex::new(Expired {
                order: VecDeque::new(),
                set: HashSet::new(),
                cap: config.late_memory,
            }),
            out,
            ready,
            unhandled: config.unhandled,
            stats: MuxStats::default(),
            shutdown: CancellationToken::new(),
        });
        tokio::spawn(receive(inner.clone(), incoming));
        Mux { inner }
    }

    /// Start a mux over a client channel adaptor and its incoming queue.
    pub fn over(
        config: MuxConfig,
        channel: &ChannelAdaptor,
        incoming: mpsc::Receiver<IsoMsg>,
    ) -> Mux {
        Mux::start(config, channel.sender(), channel.ready(), incoming)
    }

    /// The mux's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// True while the channel is connected.
    pub fn is_ready(&self) -> bool {
        *self.inner.ready.borrow()
    }

    /// Counters.
    pub fn stats(&self) -> &MuxStats {
        &self.inner.stats
    }

    /// Requests waiting for a response now.
    pub fn pending(&self) -> usize {
        self.inner.pending.len()
    }

    /// Send `msg` and wait up to `timeout` for its response; `Ok(None)` on timeout.
    pub async fn request(
        &self,
        msg: IsoMsg,
        timeout: Duration,
    ) -> Result<Option<IsoMsg>, MuxError> {
        let inner = &*self.inner;
        if !self.is_ready() {
            return Err(MuxError::NotReady {
                mux: inner.name.clone(),
            });
        }
        let deadline = Instant::now() + timeout;
        let key = match_key(&msg, &inner.key_fields).ok_or_else(|| MuxError::MissingKey {
            mux: inner.name.clone(),
            mti: msg.mti().to_string(),
            fields: inner.key_fields.clone(),
        })?;
        let (tx, mut rx) = oneshot::channel();
        match inner.pending.entry(key.clone()) {
            dashmap::Entry::Occupied(_) => {
                return Err(MuxError::DuplicateKey {
                    mux: inner.name.clone(),
                    key: String::from_utf8_lossy(&key).into_owned(),
                })
            }
            dashmap::Entry::Vacant(v) => {
                v.insert(tx);
            }
        }
        let mut guard = PendingGuard {
            inner,
            key: Some(key),
        };
        match tokio::time::timeout_at(deadline, inner.out.send(msg)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                return Err(MuxError::Closed {
                    mux: inner.name.clone(),
                })
            }
            Err(_) => {
                return Err(MuxError::QueueFull {
                    mux: inner.name.clone(),
                })
            }
        }
        inner.stats.sent.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout_at(deadline, &mut rx).await {
            Ok(Ok(resp)) => {
                guard.key = None;
                Ok(Some(resp))
            }
            Ok(Err(_)) => Err(MuxError::Closed {
                mux: inner.name.clone(),
            }),
            Err(_) => {
                let Some(key) = guard.key.take() else {
                    return Ok(None);
                };
                if inner.pending.remove(&key).is_some() {
                    inner.stats.timeouts.fetch_add(1, Ordering::Relaxed);
                    inner.expired.lock().insert(key);
                    Ok(None)
                } else {
                    // The receiver took the waiter just now: the response is in the oneshot.
                    Ok(rx.try_recv().ok())
                }
            }
        }
    }

    /// Stop the receiver task; pending requests complete with `MuxError::Closed`.
    pub fn close(&self) {
        self.inner.shutdown.cancel();
    }
}

async fn receive(inner: Arc<Inner>, mut incoming: mpsc::Receiver<IsoMsg>) {
    loop {
        let msg = tokio::select! {
            _ = inner.shutdown.cancelled() => break,
            m = incoming.recv() => match m {
                Some(m) => m,
                None => break,
            },
        };
        dispatch(&inner, msg);
    }
    // Wake every waiter with "closed" rather than letting them run into their timeouts.
    inner.pending.clear();
    tracing::debug!(mux = %inner.name, "receiver stopped");
}

fn dispatch(inner: &Inner, msg: IsoMsg) {
    let key = if msg.mti().is_response() {
        match_key(&msg, &inner.key_fields)
    } else {
        None
    };
    let mut late = false;
    let msg = match key {
        Some(key) => match inner.pending.remove(&key) {
            Some((_, waiter)) => match waiter.send(msg) {
                Ok(()) => {
                    inner.stats.matched.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(msg) => {
                    late = true;
                    msg
                }
            },
            None => {
                late = inner.expired.lock().take(&key);
                msg
            }
        },
        None => msg,
    };
    if late {
        inner.stats.late.fetch_add(1, Ordering::Relaxed);
    }
    tracing::debug!(mux = %inner.name, %msg, late, "unhandled");
    inner.stats.unhandled.fetch_add(1, Ordering::Relaxed);
    if !inner.unhandled.put(msg) {
        inner.stats.discarded.fetch_add(1, Ordering::Relaxed);
    }
}
