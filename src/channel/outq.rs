//! The outgoing queue of one connection: bounded, many producers, one writer that takes everything queued.
//!
//! A hand-rolled queue rather than `tokio::sync::mpsc` because an idle connection must cost almost nothing
//! (mpsc allocates a 32-slot block up front, ~11 KB for `IsoMsg`; 10,000 idle sessions would pay 110 MB).
//! Here an idle queue is an empty `VecDeque` and two `Notify`s; the writer swaps its drained deque in, so a
//! busy connection reuses the same allocation and never allocates per message.

use std::collections::VecDeque;
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
}

/// A bounded multi-producer, single-consumer queue of messages.
pub(crate) struct OutQueue {
    state: Mutex<State>,
    capacity: usize,
    item: Notify,
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
            }),
            capacity: capacity.max(1),
            item: Notify::new(),
            space: Notify::new(),
        }
    }

    /// Queue a message if there is room now.
    pub(crate) fn try_push(&self, msg: IsoMsg) -> Result<(), PushError> {
        {
            let mut s = self.state.lock();
            if s.closed {
                return Err(PushError::Closed(msg));
            }
            if s.queue.len() >= self.capacity {
                return Err(PushError::Full(msg));
            }
            s.queue.push_back(msg);
        }
        self.item.notify_one();
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

    /// Move everything queued into `into` (which must be empty); wait for something when nothing is
    /// queued. Returns false once the queue is closed and drained.
    pub(crate) async fn take_all(&self, into: &mut VecDeque<IsoMsg>) -> bool {
        loop {
            {
                let mut s = self.state.lock();
                if !s.queue.is_empty() {
                    std::mem::swap(&mut s.queue, into);
                    drop(s);
                    self.space.notify_waiters();
                    return true;
                }
                if s.closed {
                    return false;
                }
            }
            self.item.notified().await;
        }
    }

    /// Refuse new messages; the writer drains what is queued and stops.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
        self.item.notify_one();
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
