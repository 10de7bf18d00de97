//! Busy-poll idle strategy for a single-threaded (current-thread) tokio runtime.
//!
//! A runtime with nothing to do parks its thread in `epoll_wait`; the next message then waits for the
//! kernel to wake the thread — and, on a virtual machine whose idle vCPU halts, for the hypervisor to
//! wake the vCPU. That costs tens of microseconds per message when traffic is a few synchronous
//! connections. A [`Spinner`] is a task that, for a short window after the last network activity,
//! keeps the runtime polling the I/O driver without blocking (each turn is one `epoll_wait` with a
//! zero timeout), so the next frame is read within a microsecond or two of arriving. When the window
//! passes with no activity it parks until the next one, so an idle switch uses no CPU.
//!
//! Spinning trades a whole core per spinning thread for latency: use it when the thread has a core
//! to itself (the load generator and host simulator on their own cores, a dedicated switch box), not
//! on a machine shared with the database. It is off unless asked for (`--spin` on `sim host` and
//! `sim clients`).
//!
//! Activity is noted per OS thread with [`activity`], which the server session, the client adaptor
//! and the load generator call when they read bytes; the spinner reads its own thread's count, so it
//! only runs on a current-thread runtime ([`Spinner::spawn`] refuses a multi-threaded one, whose
//! tasks move between threads).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::task::JoinHandle;

thread_local! {
    /// Reads noted on this thread since it started.
    static ACTIVITY: Cell<u64> = const { Cell::new(0) };
    /// The parked spinner of this thread's runtime, woken by the next [`activity`].
    static PARKED: Cell<Option<Waker>> = const { Cell::new(None) };
}

/// Note network activity on this thread: restarts the spin window of this thread's spinner (and wakes
/// it if it had parked). Costs a thread-local increment when no spinner is parked.
#[inline]
pub fn activity() {
    ACTIVITY.with(|a| a.set(a.get().wrapping_add(1)));
    PARKED.with(|p| {
        if let Some(w) = p.take() {
            w.wake();
        }
    });
}

fn activity_count() -> u64 {
    ACTIVITY.with(Cell::get)
}

/// Why a spinner could not start.
#[derive(Debug, thiserror::Error)]
pub enum SpinError {
    /// Not inside a tokio runtime.
    #[error("a spinner needs a tokio runtime to run on")]
    NoRuntime,
    /// Inside a multi-threaded runtime: activity is counted per thread, tasks move between threads.
    #[error("a spinner needs a current-thread runtime (one thread per runtime); this one is multi-threaded")]
    MultiThread,
}

/// What a spinner has done, readable from anywhere.
#[derive(Debug, Default)]
pub struct SpinStats {
    /// Polls of the I/O driver made by spinning.
    pub turns: AtomicU64,
    /// Times the window lapsed and the spinner parked.
    pub parks: AtomicU64,
    /// True while parked (waiting for activity).
    pub parked: AtomicBool,
}

/// A running spinner; dropping it leaves the task running until its runtime stops (or [`Spinner::stop`]).
#[derive(Debug)]
pub struct Spinner {
    task: JoinHandle<()>,
    stats: Arc<SpinStats>,
}

impl Spinner {
    /// Start spinning on the current runtime for `window` after each activity. Must be called from
    /// inside a current-thread runtime; one spinner per runtime (a second one on the same thread would
    /// take over the first's wake-up slot).
    pub fn spawn(window: Duration) -> Result<Spinner, SpinError> {
        let handle = Handle::try_current().map_err(|_| SpinError::NoRuntime)?;
        if handle.runtime_flavor() != RuntimeFlavor::CurrentThread {
            return Err(SpinError::MultiThread);
        }
        let stats = Arc::new(SpinStats::default());
        let task = handle.spawn(spin(window, stats.clone()));
        Ok(Spinner { task, stats })
    }

    /// Counters of this spinner.
    pub fn stats(&self) -> &Arc<SpinStats> {
        &self.stats
    }

    /// Stop spinning.
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn spin(window: Duration, stats: Arc<SpinStats>) {
    let clock = quanta::Clock::new();
    let mut seen = activity_count();
    let mut since = clock.now();
    loop {
        let now = activity_count();
        if now != seen {
            seen = now;
            since = clock.now();
        } else if clock.now().duration_since(since) >= window {
            stats.parks.fetch_add(1, Ordering::Relaxed);
            stats.parked.store(true, Ordering::Relaxed);
            Parked { seen }.await;
            stats.parked.store(false, Ordering::Relaxed);
            seen = activity_count();
            since = clock.now();
        }
        stats.turns.fetch_add(1, Ordering::Relaxed);
        // Lets every ready task run, then polls the I/O driver without blocking, then resumes here.
        tokio::task::yield_now().await;
    }
}

/// Pending until this thread notes activity after `seen`.
struct Parked {
    seen: u64,
}

impl Future for Parked {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if activity_count() != self.seen {
            return Poll::Ready(());
        }
        PARKED.with(|p| p.set(Some(cx.waker().clone())));
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn spins_after_activity_then_parks_until_the_next() {
        current_thread().block_on(async {
            // Long enough that a busy CI machine descheduling this thread cannot make it lapse early.
            let spinner =
                Spinner::spawn(Duration::from_millis(50)).expect("current-thread runtime");
            let stats = spinner.stats().clone();
            // With no activity the window lapses and the spinner parks.
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert!(
                stats.parked.load(Ordering::Relaxed),
                "parked after an idle window"
            );
            let parks = stats.parks.load(Ordering::Relaxed);
            let turns = stats.turns.load(Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(30)).await;
            assert_eq!(
                stats.turns.load(Ordering::Relaxed),
                turns,
                "a parked spinner does not turn"
            );

            // Activity wakes it; it spins (many turns within the window), then parks again.
            activity();
            tokio::time::sleep(Duration::from_millis(5)).await;
            assert!(
                !stats.parked.load(Ordering::Relaxed),
                "spinning inside the window"
            );
            assert!(
                stats.turns.load(Ordering::Relaxed) > turns + 10,
                "turned while spinning"
            );
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert!(
                stats.parked.load(Ordering::Relaxed),
                "parked again after the window"
            );
            assert_eq!(stats.parks.load(Ordering::Relaxed), parks + 1);
            spinner.stop();
        });
    }

    #[test]
    fn refuses_a_multi_threaded_runtime() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let err = rt.block_on(async { Spinner::spawn(Duration::from_micros(100)).unwrap_err() });
        assert!(matches!(err, SpinError::MultiThread), "{err}");
        assert!(matches!(
            Spinner::spawn(Duration::from_micros(100)).unwrap_err(),
            SpinError::NoRuntime
        ));
    }
}
