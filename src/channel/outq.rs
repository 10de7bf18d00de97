//! The outgoing queue of one connection: bounded, many producers, one consumer (the session task) that
//! takes everything queued at once.
//!
//! A hand-rolled queue rather than `tokio::sync::mpsc` because an idle connection must cost almost nothing
//! (mpsc allocates a 32-slot block up front, ~11 KB for `IsoMsg`; 10,000 idle sessions would pay 110 MB).
//! Here an idle queue is an empty `VecDeque`, a waker slot and one `Notify` for producers waiting for room;
//! the session swaps its drained deque in, so a busy connection reuses the same allocation and never
//! allocates per message.
//!
//! The consumer's waker is registered only while the session waits (`ready`), and set aside
//! (`stop_waiting`) before the session dispatches requests itself: a reply a synchronous listener queues
//! from inside the session task then costs no wake-up and is written with the rest of its batch.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::iso::IsoMsg;

/// Why a message could not be queued; the message is handed back.
#[derive(Debug)]
pub(crate) enum PushError {
    /// The queue stayed full until the timeout (or was full, for `try_push`).
    Full(IsoMsg),
    /// The connection is closing or closed.
    Closed(IsoMsg),
}

struct State {
    queue: VecDeque<IsoMsg>,
    closed: bool,
    /// The consumer's waker, kept between waits (cloning and dropping a waker per wait costs atomics).
    waker: Option<Waker>,
    /// True while the consumer waits: only then does a push wake it.
    waiting: bool,
}

impl State {
    /// Wake the consumer if it waits. Under the lock: waking only schedules the task.
    fn wake(&mut self) {
        if self.waiting {
            self.waiting = false;
            if let Some(w) = &self.waker {
                w.wake_by_ref();
            }
        }
    }
}

/// A bounded multi-producer, single-consumer queue of messages.
pub(crate) struct OutQueue {
    state: Mutex<State>,
    capacity: usize,
    space: Notify,
}

// The refused message is handed back in the error rather than boxed: boxing would allocate per reply.
#[allow(clippy::result_large_err)]
impl OutQueue {
    /// A queue holding at most `capacity` messages.
    pub(crate) fn new(capacity: usize) -> Self {
        OutQueue {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                closed: false,
                waker: None,
                waiting: false,
            }),
            capacity: capacity.max(1),
            space: Notify::new(),
        }
    }

    /// Queue a message if there is room now.
    pub(crate) fn try_push(&self, msg: IsoMsg) -> Result<(), PushError> {
        let mut s = self.state.lock();
        if s.closed {
            return Err(PushError::Closed(msg));
        }
        if s.queue.len() >= self.capacity {
            return Err(PushError::Full(msg));
        }
        s.queue.push_back(msg);
        s.wake();
        Ok(())
    }

    /// Queue a message, waiting up to `timeout` for room.
    pub(crate) async fn push(&self, mut msg: IsoMsg, timeout: Duration) -> Result<(), PushError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_push(msg) {
                Err(PushError::Full(m)) => msg = m,
                other => return other,
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(PushError::Full(msg));
            }
        }
    }

    /// Ready with `true` once something is queued, with `false` once the queue is closed and drained.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut s = self.state.lock();
        if !s.queue.is_empty() {
            return Poll::Ready(true);
        }
        if s.closed {
            return Poll::Ready(false);
        }
        match &s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.waker = Some(cx.waker().clone()),
        }
        s.waiting = true;
        Poll::Pending
    }

    /// Wait until something is queued (`true`) or the queue is closed and drained (`false`).
    pub(crate) async fn ready(&self) -> bool {
        poll_fn(|cx| self.poll_ready(cx)).await
    }

    /// Stop waking the consumer: it is running and takes what is queued before it waits again.
    pub(crate) fn stop_waiting(&self) {
        self.state.lock().waiting = false;
    }

    /// Move everything queued into `into` (which must be empty) without waiting; returns how many.
    pub(crate) fn take_now(&self, into: &mut VecDeque<IsoMsg>) -> usize {
        let mut s = self.state.lock();
        if s.queue.is_empty() {
            return 0;
        }
        let was_full = s.queue.len() >= self.capacity;
        std::mem::swap(&mut s.queue, into);
        drop(s);
        // Producers wait only on a full queue.
        if was_full {
            self.space.notify_waiters();
        }
        into.len()
    }

    /// Move everything queued into `into` (which must be empty); wait for something when nothing is
    /// queued. Returns false once the queue is closed and drained.
    #[cfg(test)]
    pub(crate) async fn take_all(&self, into: &mut VecDeque<IsoMsg>) -> bool {
        loop {
            if !self.ready().await {
                return false;
            }
            if self.take_now(into) > 0 {
                return true;
            }
        }
    }

    /// Refuse new messages; the consumer drains what is queued and stops.
    pub(crate) fn close(&self) {
        {
            let mut s = self.state.lock();
            s.closed = true;
            s.wake();
        }
        self.space.notify_waiters();
    }

    /// True once `close` was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// Number of queued messages.
    pub(crate) fn len(&self) -> usize {
        self.state.lock().queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> IsoMsg {
        IsoMsg::with_mti("0810").unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn bounded_with_timeout_then_drains() {
        let q = OutQueue::new(2);
        q.try_push(msg()).unwrap();
        q.push(msg(), Duration::from_secs(1)).await.unwrap();
        assert!(matches!(q.try_push(msg()), Err(PushError::Full(_))));
        assert!(matches!(
            q.push(msg(), Duration::from_secs(1)).await,
            Err(PushError::Full(_))
        ));
        let mut batch = VecDeque::new();
        assert!(q.take_all(&mut batch).await);
        assert_eq!(batch.len(), 2);
        q.close();
        assert!(matches!(q.try_push(msg()), Err(PushError::Closed(_))));
        batch.clear();
        assert!(!q.take_all(&mut batch).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_wakes_the_waiting_sender() {
        let q = std::sync::Arc::new(OutQueue::new(1));
        q.try_push(msg()).unwrap();
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.push(msg(), Duration::from_secs(60)).await });
        tokio::task::yield_now().await;
        let mut batch = VecDeque::new();
        assert!(q.take_all(&mut batch).await);
        assert!(waiter.await.unwrap().is_ok());
        assert_eq!(q.len(), 1);
    }
}
