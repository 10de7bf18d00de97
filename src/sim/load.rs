//! Load clients: N concurrent synchronous clients (send, await the response, repeat) for a duration,
//! with a latency histogram. Each client owns its connection directly: no mux, no extra task hop.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use hdrhistogram::Histogram;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

use super::requests::RequestFactory;
use crate::channel::Framing;
use crate::iso::Spec;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Server to load.
    pub target: SocketAddr,
    /// Framing.
    pub framing: Framing,
    /// Packager.
    pub spec: Arc<Spec>,
    /// Concurrent clients, one connection each.
    pub connections: usize,
    /// How long to run.
    pub duration: Duration,
    /// Builds each request.
    pub requests: RequestFactory,
    /// How long to wait for one response (or a connection) before counting an error.
    pub response_timeout: Duration,
}

/// Live counters, readable while the load runs.
#[derive(Debug, Default)]
pub struct LoadProgress {
    /// Completed round trips.
    pub round_trips: AtomicU64,
    /// Errors (connect, write, timeout, bad or mismatched response).
    pub errors: AtomicU64,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LoadReport {
    /// Completed round trips.
    pub round_trips: u64,
    /// Round trips per second.
    pub per_sec: f64,
    /// Median latency, µs.
    pub p50_us: u64,
    /// 99th percentile latency, µs.
    pub p99_us: u64,
    /// 99.9th percentile latency, µs.
    pub p999_us: u64,
    /// Errors.
    pub errors: u64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("1 µs .. 60 s at 3 digits are valid bounds")
}

/// Run the load and report; `progress` is updated as it goes.
pub async fn run(config: &LoadConfig, progress: Arc<LoadProgress>) -> LoadReport {
    let config = Arc::new(config.clone());
    let stan = Arc::new(AtomicU64::new(1));
    let start = Instant::now();
    let deadline = start + config.duration;
    let mut clients = Vec::with_capacity(config.connections);
    for _ in 0..config.connections.max(1) {
        clients.push(tokio::spawn(client(
            config.clone(),
            stan.clone(),
            progress.clone(),
            deadline,
        )));
    }
    let mut total = histogram();
    for c in clients {
        match c.await {
            Ok(h) => {
                if total.add(&h).is_err() {
                    progress.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {
                progress.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    let round_trips = progress.round_trips.load(Ordering::Relaxed);
    LoadReport {
        round_trips,
        per_sec: (round_trips as f64 / elapsed * 10.0).round() / 10.0,
        p50_us: total.value_at_quantile(0.50),
        p99_us: total.value_at_quantile(0.99),
        p999_us: total.value_at_quantile(0.999),
        errors: progress.errors.load(Ordering::Relaxed),
    }
}

async fn client(
    config: Arc<LoadConfig>,
    stan: Arc<AtomicU64>,
    progress: Arc<LoadProgress>,
    deadline: Instant,
) -> Histogram<u64> {
    let mut hist = histogram();
    let spec = &*config.spec;
    let mut buf = Vec::with_capacity(512);
    let expect_mti = config.requests.mti().response();
    'connect: while Instant::now() < deadline {
        let tcp =
            match tokio::time::timeout(config.response_timeout, TcpStream::connect(config.target))
                .await
            {
                Ok(Ok(s)) => s,
                _ => {
                    progress.errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
        let _ = tcp.set_nodelay(true);
        let (r, mut w) = tcp.into_split();
        let mut frames = FramedRead::with_capacity(r, config.framing.codec(), 1024);
        loop {
            let t0 = Instant::now();
            if t0 >= deadline {
                break 'connect;
            }
            let n = stan.fetch_add(1, Ordering::Relaxed);
            let msg = config.requests.build(n);
            buf.clear();
            if let Err(e) = config.framing.encode_msg(spec, &msg, false, &mut buf) {
                tracing::error!(error = %e, "cannot pack the test request");
                progress.errors.fetch_add(1, Ordering::Relaxed);
                break 'connect;
            }
            if w.write_all(&buf).await.is_err() {
                progress.errors.fetch_add(1, Ordering::Relaxed);
                continue 'connect;
            }
            let frame = match tokio::time::timeout(config.response_timeout, frames.next()).await {
                Ok(Some(Ok(f))) => f,
                _ => {
                    progress.errors.fetch_add(1, Ordering::Relaxed);
                    continue 'connect;
                }
            };
            let ok = match config.framing.decode_msg(spec, &frame) {
                Ok(resp) => resp.mti() == expect_mti && resp.get(11) == msg.get(11),
                Err(_) => false,
            };
            if ok {
                let us = t0.elapsed().as_micros() as u64;
                let _ = hist.record(us.max(1));
                progress.round_trips.fetch_add(1, Ordering::Relaxed);
            } else {
                progress.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    hist
}
