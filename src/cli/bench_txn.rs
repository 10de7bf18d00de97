//! `switchyard bench txn`: transaction manager throughput with trivial participants.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use clap::Args;
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::space::{Space, TSpace};
use crate::txn::{
    Action, Chain, Context, Key, Outcome, Participant, TransactionManager, TxnConfig,
};

/// Options of `bench txn`.
#[derive(Debug, Args)]
pub struct TxnBench {
    /// Participants in the chain (each just votes PREPARED).
    #[arg(long, default_value_t = 5)]
    participants: usize,
    /// Transactions kept in flight by the load generator.
    #[arg(long, default_value_t = 128)]
    in_flight: usize,
    /// Measured seconds (after a short warm-up).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Manager worker sessions (default: min(in-flight, 4)).
    #[arg(long)]
    sessions: Option<usize>,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Print only the JSON summary line.
    #[arg(long)]
    json: bool,
}

/// Run `bench txn`.
pub fn run(args: TxnBench) -> anyhow::Result<()> {
    let TxnBench {
        participants,
        in_flight,
        seconds,
        sessions,
        threads,
        json,
    } = args;

    anyhow::ensure!(
        in_flight > 0 && threads > 0,
        "--in-flight and --threads must be at least 1"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("building the runtime")?;
    let sessions = sessions.unwrap_or(in_flight.min(4)).max(1);
    let r = rt.block_on(bench_txn(
        participants,
        in_flight,
        sessions,
        Duration::from_secs(seconds),
    ))?;
    // Write errors (e.g. a closed pipe) are reported, not panicked on.
    let mut out = std::io::stdout().lock();
    if !json {
        writeln!(
            out,
            "txn: {} participants, {} in flight, {} sessions, {} threads: {:.0} tps, p50 {} us, p99 {} us",
            participants, in_flight, sessions, threads, r.tps, r.p50_us, r.p99_us
        )?;
    }
    let summary = serde_json::json!({
        "tps": r.tps.round(),
        "p50_us": r.p50_us,
        "p99_us": r.p99_us,
        "participants": participants,
        "in_flight": in_flight,
    });
    writeln!(out, "{summary}")?;
    Ok(())
}

struct Report {
    tps: f64,
    p50_us: u64,
    p99_us: u64,
}

/// A participant that only votes PREPARED.
struct Nop;

#[async_trait]
impl Participant for Nop {
    async fn prepare(&self, _id: u64, _ctx: &mut Context) -> Action {
        Action::PREPARED
    }
}

/// When the load generator queued the transaction.
const STARTED: Key<quanta::Instant> = Key::new("bench.started");
/// The generator's in-flight slot, released when the finished context is dropped.
const SLOT: Key<OwnedSemaphorePermit> = Key::new("bench.slot");

/// Counts completions and records latency while `measuring` is set.
struct Meter {
    done: AtomicU64,
    measuring: AtomicBool,
    latency: Mutex<Histogram<u64>>,
}

impl Meter {
    fn finished(&self, ctx: &Context) {
        if !self.measuring.load(Ordering::Relaxed) {
            return;
        }
        self.done.fetch_add(1, Ordering::Relaxed);
        if let Some(started) = ctx.get(&STARTED) {
            let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let _ = self.latency.lock().record(us.max(1));
        }
    }
}

async fn bench_txn(
    participants: usize,
    in_flight: usize,
    sessions: usize,
    measure: Duration,
) -> anyhow::Result<Report> {
    let chain = Chain::new(
        (0..participants)
            .map(|i| (format!("nop{i}"), Arc::new(Nop) as Arc<dyn Participant>))
            .collect(),
        vec![],
    )?;
    let meter = Arc::new(Meter {
        done: AtomicU64::new(0),
        measuring: AtomicBool::new(false),
        latency: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?),
    });
    let m = Arc::clone(&meter);
    let listener = move |_: u64, _: Outcome, ctx: &Context| m.finished(ctx);
    let cfg = TxnConfig {
        sessions,
        max_active: in_flight.max(sessions),
        ..TxnConfig::default()
    };
    let queue = cfg.queue.clone();
    let space: Arc<TSpace<Context>> = Arc::new(TSpace::new());
    let mgr =
        TransactionManager::builder(cfg, Arc::clone(&space) as Arc<dyn Space<Context>>, chain)
            .status_listener(Arc::new(listener))
            .start()
            .await?;

    let slots = Arc::new(Semaphore::new(in_flight));
    let running = Arc::new(AtomicBool::new(true));
    let generator = tokio::spawn({
        let (slots, running, space) =
            (Arc::clone(&slots), Arc::clone(&running), Arc::clone(&space));
        async move {
            while running.load(Ordering::Relaxed) {
                // Closing the semaphore when measuring ends is what ends this wait.
                let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                    break;
                };
                let mut ctx = Context::new();
                ctx.put(&STARTED, quanta::Instant::now());
                ctx.put(&SLOT, slot);
                space.out(&queue, ctx, None);
            }
        }
    });

    tokio::time::sleep(Duration::from_millis(500)).await;
    meter.measuring.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(measure).await;
    meter.measuring.store(false, Ordering::Relaxed);
    let elapsed = t0.elapsed();
    running.store(false, Ordering::Relaxed);
    slots.close();
    let _ = tokio::time::timeout(Duration::from_secs(10), generator).await;
    mgr.stop(Duration::from_secs(10)).await?;

    let done = meter.done.load(Ordering::Relaxed);
    let h = meter.latency.lock();
    Ok(Report {
        tps: done as f64 / elapsed.as_secs_f64(),
        p50_us: h.value_at_quantile(0.5),
        p99_us: h.value_at_quantile(0.99),
    })
}
