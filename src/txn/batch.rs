//! Smart batching of database work across concurrent transactions.
//!
//! A [`Batcher`] owns `lanes` background tasks (one unless [`Batcher::lanes`] says more). Callers
//! hand it an item and wait for that item's result; a free task takes every item queued at that
//! moment (up to `max`), runs the flush function once for all of them — one statement, one commit —
//! and answers each caller. While flushes are running, new items queue and go together in the next
//! one, so batches grow with load and a lone request is flushed at once: no timer, no added latency
//! when idle. With two lanes one batch can be sent while the other waits for its commit.
//!
//! This is how participants share PostgreSQL round trips (and synchronous commits) between concurrent
//! transactions and stay one file each: a participant calls a store function as before, and the
//! store function goes through a batcher (the jCard participants' `batched` module does).
//!
//! The task is spawned on the runtime of the first call and spawned again if that runtime is gone
//! (a batcher outlives a test's runtime). A flush that panics or is cancelled drops its callers'
//! answers: [`Batcher::call`] then returns [`BatchGone`] and the caller treats it as a failed
//! database call.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

/// The batcher's task ended before answering (it panicked, or its runtime shut down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the {0} batch was dropped before it answered")]
pub struct BatchGone(pub &'static str);

type Flush<I, O> = dyn Fn(Vec<I>) -> Pin<Box<dyn Future<Output = Vec<O>> + Send>> + Send + Sync;
type Job<I, O> = (I, oneshot::Sender<O>);

/// Batches items of type `I` into calls of a flush function answering one `O` per item, in order.
pub struct Batcher<I, O> {
    name: &'static str,
    max: usize,
    lanes: usize,
    own_thread: bool,
    flush: Arc<Flush<I, O>>,
    queue: Mutex<Option<mpsc::UnboundedSender<Job<I, O>>>>,
}

impl<I, O> fmt::Debug for Batcher<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batcher")
            .field("name", &self.name)
            .field("max", &self.max)
            .field("lanes", &self.lanes)
            .finish_non_exhaustive()
    }
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// A batcher called `name` (in errors) flushing at most `max` items at a time with `flush`,
    /// which must answer exactly one `O` per item, in the items' order.
    pub fn new<F, Fut>(name: &'static str, max: usize, flush: F) -> Batcher<I, O>
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<O>> + Send + 'static,
    {
        Batcher {
            name,
            max: max.max(1),
            lanes: 1,
            own_thread: false,
            flush: Arc::new(move |items| Box::pin(flush(items))),
            queue: Mutex::new(None),
        }
    }

    /// Flush up to `lanes` batches at once (at least one). Each lane holds its own resources (e.g. a
    /// database connection) while it flushes.
    pub fn lanes(mut self, lanes: usize) -> Batcher<I, O> {
        self.lanes = lanes.max(1);
        self
    }

    /// Run each lane on a thread of its own (a single-threaded runtime) instead of the caller's
    /// runtime: a flush on the critical path then never waits behind the caller's other tasks to
    /// be polled. Resources the flush opens (connections) belong to that thread's runtime.
    pub fn own_thread(mut self) -> Batcher<I, O> {
        self.own_thread = true;
        self
    }

    /// Run `item` in the next batch and return its result.
    pub async fn call(&self, item: I) -> Result<O, BatchGone> {
        let (tx, rx) = oneshot::channel();
        self.sender()
            .send((item, tx))
            .map_err(|_| BatchGone(self.name))?;
        rx.await.map_err(|_| BatchGone(self.name))
    }

    /// The queue of a running task, spawning one when there is none or it has ended.
    fn sender(&self) -> mpsc::UnboundedSender<Job<I, O>> {
        let mut guard = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = guard.as_ref().filter(|s| !s.is_closed()) {
            return s.clone();
        }
        let (s, r) = mpsc::unbounded_channel();
        let r = Arc::new(tokio::sync::Mutex::new(r));
        for lane in 0..self.lanes {
            let task = run(Arc::clone(&r), self.max, Arc::clone(&self.flush));
            if !self.own_thread {
                tokio::spawn(task);
                continue;
            }
            let spawned = std::thread::Builder::new()
                .name(format!("batch-{lane}-{}", self.name))
                .spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt.block_on(task),
                        // the queue's receiver drops with `task`: callers see BatchGone
                        Err(e) => tracing::error!(error = %e, "batch lane runtime not started"),
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "batch lane thread not started");
            }
        }
        *guard = Some(s.clone());
        s
    }
}

type Queue<I, O> = Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Job<I, O>>>>;

/// One lane: wait for an item, take what else is queued, flush, answer; until every sender is gone.
/// The lanes take turns at the queue (its lock is held only while taking items).
async fn run<I, O>(queue: Queue<I, O>, max: usize, flush: Arc<Flush<I, O>>)
where
    I: Send + 'static,
    O: Send + 'static,
{
    let mut jobs: Vec<Job<I, O>> = Vec::with_capacity(max);
    loop {
        let taken = queue.lock().await.recv_many(&mut jobs, max).await;
        if taken == 0 {
            return;
        }
        let (items, answers): (Vec<I>, Vec<oneshot::Sender<O>>) = jobs.drain(..).unzip();
        let n = items.len();
        let results = flush(items).await;
        if results.len() != n {
            tracing::error!(
                items = n,
                results = results.len(),
                "a batch flush answered the wrong number of results; its callers see a failure"
            );
            continue;
        }
        for (answer, result) in answers.into_iter().zip(results) {
            // the caller may have given up (its transaction timed out); nothing to do then
            let _ = answer.send(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_calls_share_flushes_and_each_gets_its_own_answer() {
        let flushes = Arc::new(AtomicUsize::new(0));
        let f = Arc::clone(&flushes);
        let b = Arc::new(Batcher::new("double", 64, move |items: Vec<u32>| {
            let f = Arc::clone(&f);
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                items.into_iter().map(|i| i * 2).collect::<Vec<u32>>()
            }
        }));
        let calls: Vec<_> = (0..100u32)
            .map(|i| {
                let b = Arc::clone(&b);
                tokio::spawn(async move { (i, b.call(i).await) })
            })
            .collect();
        for c in calls {
            let (i, r) = c.await.expect("joins");
            assert_eq!(r, Ok(i * 2));
        }
        let n = flushes.load(Ordering::SeqCst);
        assert!(
            n < 100,
            "100 concurrent calls took {n} flushes: nothing was batched"
        );
        assert!(
            n >= 2,
            "at most 64 per flush, so 100 calls need two flushes or more"
        );
    }

    #[tokio::test]
    async fn two_lanes_flush_two_batches_at_once() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (r, m) = (Arc::clone(&running), Arc::clone(&most));
        let b = Arc::new(
            Batcher::new("slow", 1, move |items: Vec<u8>| {
                let (r, m) = (Arc::clone(&r), Arc::clone(&m));
                async move {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    m.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    r.fetch_sub(1, Ordering::SeqCst);
                    items
                }
            })
            .lanes(2),
        );
        let calls: Vec<_> = (0..4u8)
            .map(|i| {
                let b = Arc::clone(&b);
                tokio::spawn(async move { b.call(i).await })
            })
            .collect();
        for (i, c) in calls.into_iter().enumerate() {
            assert_eq!(c.await.expect("joins"), Ok(i as u8));
        }
        assert_eq!(
            most.load(Ordering::SeqCst),
            2,
            "two lanes, two flushes at a time"
        );
    }

    #[tokio::test]
    async fn a_lane_of_its_own_runs_on_its_own_thread() {
        let b = Batcher::new("where", 8, |items: Vec<u8>| async move {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            items.into_iter().map(|_| name.clone()).collect::<Vec<_>>()
        })
        .own_thread();
        assert_eq!(b.call(1).await, Ok("batch-0-where".to_owned()));
    }

    #[tokio::test]
    async fn a_lone_call_is_flushed_at_once() {
        let b = Batcher::new("echo", 8, |items: Vec<u8>| async move { items });
        let t = std::time::Instant::now();
        assert_eq!(b.call(7).await, Ok(7));
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_flush_answering_the_wrong_count_fails_its_callers_not_the_batcher() {
        let b = Batcher::new("short", 8, |items: Vec<u8>| async move {
            if items.contains(&0) {
                Vec::new()
            } else {
                items
            }
        });
        assert_eq!(b.call(0).await, Err(BatchGone("short")));
        assert_eq!(b.call(5).await, Ok(5));
    }

    #[test]
    fn a_batcher_outlives_the_runtime_it_started_on() {
        let b = Batcher::new("echo", 8, |items: Vec<u8>| async move { items });
        for i in 0..3u8 {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            assert_eq!(rt.block_on(b.call(i)), Ok(i));
        }
    }
}
