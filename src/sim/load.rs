//! Load clients: N concurrent synchronous clients (send, await the response, repeat) for a duration,
//! with a latency histogram. Each client owns its connection directly: no mux, no extra task hop.
//!
//! Thread per core: the connections are spread over `threads` OS threads, each running its own
//! single-threaded runtime, so a client's write, read and timer never cross threads. Latency is timed with
//! the TSC (`quanta`), counters are per client and published in steps, and each client patches the STAN
//! into a request it rebuilds once a second (DE 7 and DE 12 carry seconds): the generator should spend
//! its share of the machine on the wire, not on itself.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

use super::requests::RequestFactory;
use crate::channel::netmgmt::set_stan;
use crate::channel::spin::Spinner;
use crate::channel::Framing;
use crate::iso::{IsoMsg, Spec};

/// Round trips a client counts locally before adding them to the shared progress counter.
const PUBLISH_EVERY: u64 = 64;

/// How long a client keeps one request template before rebuilding it (fresh DE 7 / DE 12).
const REBUILD_EVERY: Duration = Duration::from_secs(1);

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
    /// OS threads the clients are spread over, each with a single-threaded runtime.
    pub threads: usize,
    /// How long to run.
    pub duration: Duration,
    /// Builds each request.
    pub requests: RequestFactory,
    /// How long to wait for one response (or a connection) before counting an error.
    pub response_timeout: Duration,
    /// Busy-poll each client thread for this long after its last read instead of parking at once
    /// (see `channel::spin`); `None`: park at once.
    pub spin: Option<Duration>,
}

/// Live counters, readable while the load runs (updated every few round trips per client).
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
    /// Counted responses by DE 39 (`-` when absent): a switch answering 1812 is fast, not good.
    pub result_codes: BTreeMap<String, u64>,
}

/// What one client (and then one thread, and the run) measured.
struct Tally {
    latencies: Histogram<u64>,
    result_codes: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latencies: histogram(),
            result_codes: BTreeMap::new(),
        }
    }

    /// Add `other` in; false if the histograms could not be merged.
    fn merge(&mut self, other: Tally) -> bool {
        for (code, n) in other.result_codes {
            *self.result_codes.entry(code).or_default() += n;
        }
        self.latencies.add(&other.latencies).is_ok()
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("1 µs .. 60 s at 3 digits are valid bounds")
}

/// Run the load on its own threads and report; `progress` is updated as it goes. Blocks until done.
pub fn run(config: &LoadConfig, progress: Arc<LoadProgress>) -> std::io::Result<LoadReport> {
    let connections = config.connections.max(1);
    let threads = config.threads.clamp(1, connections);
    let config = Arc::new(config.clone());
    let clock = quanta::Clock::new();
    let start = clock.now();
    let deadline = start + config.duration;
    let mut workers = Vec::with_capacity(threads);
    for t in 0..threads {
        // Client i runs on thread i % threads.
        let mine: Vec<usize> = (t..connections).step_by(threads).collect();
        let config = config.clone();
        let progress = progress.clone();
        let clock = clock.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = std::thread::Builder::new()
            .name(format!("load-{t}"))
            .spawn(move || {
                rt.block_on(async move {
                    let spinner = match config.spin {
                        Some(window) => match Spinner::spawn(window) {
                            Ok(s) => Some(s),
                            Err(e) => {
                                tracing::warn!(error = %e, "not spinning");
                                None
                            }
                        },
                        None => None,
                    };
                    let clients: Vec<_> = mine
                        .into_iter()
                        .map(|i| {
                            let client = Client {
                                config: config.clone(),
                                progress: progress.clone(),
                                clock: clock.clone(),
                                index: i as u64,
                                deadline,
                            };
                            tokio::spawn(client.run())
                        })
                        .collect();
                    let mut total = Tally::new();
                    for c in clients {
                        match c.await {
                            Ok(t) => {
                                if !total.merge(t) {
                                    progress.errors.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            Err(_) => {
                                progress.errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    if let Some(s) = spinner {
                        s.stop();
                    }
                    total
                })
            })?;
        workers.push(handle);
    }
    let mut total = Tally::new();
    for w in workers {
        match w.join() {
            Ok(t) => {
                if !total.merge(t) {
                    progress.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {
                progress.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let elapsed = clock.now().duration_since(start).as_secs_f64().max(1e-9);
    let round_trips = progress.round_trips.load(Ordering::Relaxed);
    Ok(LoadReport {
        round_trips,
        per_sec: (round_trips as f64 / elapsed * 10.0).round() / 10.0,
        p50_us: total.latencies.value_at_quantile(0.50),
        p99_us: total.latencies.value_at_quantile(0.99),
        p999_us: total.latencies.value_at_quantile(0.999),
        errors: progress.errors.load(Ordering::Relaxed),
        result_codes: total.result_codes,
    })
}

/// One synchronous client.
struct Client {
    config: Arc<LoadConfig>,
    progress: Arc<LoadProgress>,
    clock: quanta::Clock,
    /// Its index among all clients: STANs are `index + k * connections`, unique across clients.
    index: u64,
    deadline: quanta::Instant,
}

/// Why one connection's loop stopped.
enum Stop {
    /// The run is over.
    Done,
    /// Connection lost or a response missing: reconnect.
    Reconnect,
    /// The request cannot be packed: nothing to do.
    Fatal,
}

impl Client {
    async fn run(self) -> Tally {
        let mut tally = Tally::new();
        let mut counted = 0u64;
        let mut stan = self.index;
        while self.clock.now() < self.deadline {
            let tcp = match tokio::time::timeout(
                self.config.response_timeout,
                TcpStream::connect(self.config.target),
            )
            .await
            {
                Ok(Ok(s)) => s,
                _ => {
                    self.progress.errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let stop = self
                .exchange(tcp, &mut stan, &mut tally, &mut counted)
                .await;
            self.progress
                .round_trips
                .fetch_add(std::mem::take(&mut counted), Ordering::Relaxed);
            match stop {
                Stop::Done | Stop::Fatal => break,
                Stop::Reconnect => {
                    self.progress.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        self.progress
            .round_trips
            .fetch_add(counted, Ordering::Relaxed);
        tally
    }

    /// Send, await the response, repeat, until the deadline or a failure.
    async fn exchange(
        &self,
        mut tcp: TcpStream,
        stan: &mut u64,
        tally: &mut Tally,
        counted: &mut u64,
    ) -> Stop {
        let config = &*self.config;
        let spec = &*config.spec;
        let expect_mti = config.requests.mti().response();
        let mut codec = config.framing.codec();
        let mut rbuf = BytesMut::with_capacity(1024);
        let mut wbuf = Vec::with_capacity(512);
        let mut template: Option<(IsoMsg, quanta::Instant)> = None;
        // One timer per connection, pushed forward as requests go (pushing a tokio timer later is cheap;
        // it is re-armed only when it fires early). Pushed every 100 ms at most, with 100 ms to spare, so a
        // missing response is noticed after `response_timeout` plus at most 100 ms.
        let slack = Duration::from_millis(100);
        let mut armed_at = self.clock.now();
        let timeout = tokio::time::sleep(config.response_timeout + slack);
        tokio::pin!(timeout);
        loop {
            let t0 = self.clock.now();
            if t0 >= self.deadline {
                return Stop::Done;
            }
            if t0.duration_since(armed_at) >= slack {
                timeout
                    .as_mut()
                    .reset(tokio::time::Instant::now() + config.response_timeout + slack);
                armed_at = t0;
            }
            let msg = match &mut template {
                Some((m, built)) if t0.duration_since(*built) < REBUILD_EVERY => m,
                _ => &mut template.insert((config.requests.build(*stan), t0)).0,
            };
            set_stan(spec, msg, *stan);
            *stan += config.connections.max(1) as u64;
            wbuf.clear();
            if let Err(e) = config.framing.encode_msg(spec, msg, false, &mut wbuf) {
                tracing::error!(error = %e, "cannot pack the test request");
                return Stop::Fatal;
            }
            if tcp.write_all(&wbuf).await.is_err() {
                return Stop::Reconnect;
            }
            let frame = loop {
                match codec.decode(&mut rbuf) {
                    Ok(Some(f)) => break f,
                    Ok(None) => {}
                    Err(_) => return Stop::Reconnect,
                }
                if rbuf.capacity() - rbuf.len() < 256 {
                    rbuf.reserve(1024);
                }
                tokio::select! {
                    biased;
                    r = tcp.read_buf(&mut rbuf) => match r {
                        Ok(0) | Err(_) => return Stop::Reconnect,
                        Ok(_) => crate::channel::spin::activity(),
                    },
                    _ = &mut timeout => return Stop::Reconnect,
                }
            };
            let answered = match config.framing.decode_msg(spec, &frame) {
                Ok(resp) if resp.mti() == expect_mti && resp.get(11) == msg.get(11) => Some(resp),
                _ => None,
            };
            if let Some(resp) = answered {
                let us = self.clock.now().duration_since(t0).as_micros() as u64;
                let _ = tally.latencies.record(us.max(1));
                let code = resp.get_str(39).unwrap_or("-");
                match tally.result_codes.get_mut(code) {
                    Some(n) => *n += 1,
                    None => {
                        tally.result_codes.insert(code.to_owned(), 1);
                    }
                }
                *counted += 1;
                if *counted >= PUBLISH_EVERY {
                    self.progress
                        .round_trips
                        .fetch_add(std::mem::take(counted), Ordering::Relaxed);
                }
            } else {
                self.progress.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
