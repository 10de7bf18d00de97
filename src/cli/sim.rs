//! `switchyard sim ...`: the host simulator, load clients and an idle-connection holder for memory tests.

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use crate::channel::spin::Spinner;
use crate::channel::{Framing, Header, LengthPrefix, RequestSink, Server, ServerConfig};
use crate::iso::{Mti, Spec};
use crate::sim::{idle, load, LoadConfig, LoadProgress, RequestFactory, SimHost};

/// Simulator commands.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Answer requests like a host: network management, authorizations, financials, reversals.
    Host(HostArgs),
    /// Run N synchronous load clients against a server and report round trips and latency.
    Clients(ClientsArgs),
    /// Open N idle connections and hold them (memory measurements); prints the server's RSS if given its pid.
    Idle(IdleArgs),
}

/// Framing options shared by the commands.
#[derive(Debug, Args)]
pub struct FramingArgs {
    /// Framing: ascii4, binary2, binary4 or etx.
    #[arg(long, default_value = "ascii4")]
    framing: LengthPrefixArg,
    /// Frames carry a 5-byte TPDU (swapped on replies).
    #[arg(long)]
    tpdu: bool,
    /// Fixed header bytes (hex) before every message.
    #[arg(long, value_name = "HEX", conflicts_with = "tpdu")]
    header: Option<String>,
    /// Largest frame accepted, in bytes.
    #[arg(long, default_value_t = crate::channel::framing::DEFAULT_MAX_FRAME)]
    max_frame: usize,
    /// Spec: a built-in name or a YAML file.
    #[arg(long, default_value = "iso87ascii")]
    spec: String,
}

#[derive(Debug, Clone)]
struct LengthPrefixArg(LengthPrefix);

impl std::str::FromStr for LengthPrefixArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse().map(LengthPrefixArg).map_err(|e| e.to_string())
    }
}

impl FramingArgs {
    fn framing(&self) -> anyhow::Result<Framing> {
        let header = match (&self.header, self.tpdu) {
            (Some(h), _) => Header::Fixed(
                hex::decode(h)
                    .with_context(|| format!("--header {h:?} is not hex"))?
                    .into(),
            ),
            (None, true) => Header::Tpdu,
            (None, false) => Header::None,
        };
        Ok(Framing::new(self.framing.0)
            .with_header(header)
            .with_max_frame(self.max_frame))
    }

    fn spec(&self) -> anyhow::Result<Arc<Spec>> {
        Spec::load(&self.spec).with_context(|| format!("--spec {}", self.spec))
    }
}

/// `sim host` options.
#[derive(Debug, Args)]
pub struct HostArgs {
    /// Address to listen on (port 0 picks one; the bound address is printed first on stdout).
    #[arg(long, default_value = "127.0.0.1:8583")]
    listen: SocketAddr,
    #[command(flatten)]
    framing: FramingArgs,
    /// Response code for non-network requests (default: approved, sized to the spec's DE 39).
    #[arg(long)]
    rc: Option<String>,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    delay: u64,
    /// Most concurrent sessions.
    #[arg(long, default_value_t = 20_000)]
    max_sessions: usize,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Busy-poll for this long after the last read before parking the thread, e.g. 200us: lower
    /// latency for a whole core (see docs/channels.md, "Spinning"). Needs `--threads 1`.
    #[arg(long, value_parser = parse_duration)]
    spin: Option<Duration>,
}

/// `sim clients` options.
#[derive(Debug, Args)]
pub struct ClientsArgs {
    /// Server to load.
    #[arg(long)]
    target: SocketAddr,
    #[command(flatten)]
    framing: FramingArgs,
    /// Concurrent connections (one synchronous client each).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// How long to run, e.g. 5s, 500ms, 1m.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    duration: Duration,
    /// What to send: 0800, 2804, 0100, 0200, 2100, 2200, 0400 ...
    #[arg(long, default_value = "0800")]
    mti: String,
    /// Response timeout, e.g. 5s.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print the summary as one JSON line last.
    #[arg(long)]
    json: bool,
    /// Allow a target outside 127.0.0.0/8 and ::1.
    #[arg(long)]
    allow_remote: bool,
    /// Client threads, each a single-threaded runtime with its share of the connections (default: one
    /// per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Busy-poll each client thread for this long after its last read before parking it, e.g. 200us
    /// (a whole core per thread while it spins; see docs/channels.md, "Spinning").
    #[arg(long, value_parser = parse_duration)]
    spin: Option<Duration>,
}

/// `sim idle` options.
#[derive(Debug, Args)]
pub struct IdleArgs {
    /// Server to connect to.
    #[arg(long)]
    target: SocketAddr,
    /// Connections to open.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// How long to hold them, e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    hold: Duration,
    /// Pid of the server: its RSS is printed before and after opening the connections.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Allow a target outside 127.0.0.0/8 and ::1.
    #[arg(long)]
    allow_remote: bool,
}

/// Parse `5s`, `250ms`, `200us`, `2m`, `1h` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit (us, ms, s, m, h)"))?;
    let secs = match unit {
        "us" | "µs" => n / 1_000_000.0,
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        other => return Err(format!("{s:?}: unknown unit {other:?} (us, ms, s, m, h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?}: not a valid duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn runtime(threads: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    rt.context("starting the async runtime")
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) fn check_local(target: SocketAddr, allow_remote: bool) -> anyhow::Result<()> {
    let local = match target.ip().to_canonical() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => ip.is_loopback(),
    };
    if !local && !allow_remote {
        bail!("target {target} is not on this machine (127.0.0.0/8 or ::1); pass --allow-remote to load a remote host");
    }
    Ok(())
}

/// Run a `sim` command.
pub fn run(cmd: SimCommand) -> anyhow::Result<()> {
    init_logging();
    match cmd {
        SimCommand::Host(a) => host(a),
        SimCommand::Clients(a) => clients(a),
        SimCommand::Idle(a) => idle_cmd(a),
    }
}

fn host(a: HostArgs) -> anyhow::Result<()> {
    let framing = a.framing.framing()?;
    let spec = a.framing.spec()?;
    let sim = SimHost::new(spec.clone(), a.rc.clone(), Duration::from_millis(a.delay))?;
    // Each session holds a descriptor; ask for what max-sessions needs.
    let _ = idle::raise_nofile(a.max_sessions as u64 + 256);
    let spin = a.spin.filter(|d| !d.is_zero());
    if spin.is_some() && a.threads != Some(1) {
        bail!("--spin needs --threads 1 (a spinner keeps one single-threaded runtime polling)");
    }
    let rt = runtime(a.threads)?;
    rt.block_on(async move {
        let _spinner = match spin {
            Some(window) => Some(Spinner::spawn(window).context("--spin")?),
            None => None,
        };
        let mut cfg = ServerConfig::new(a.listen, framing, spec);
        cfg.name = "sim-host".into();
        cfg.max_sessions = a.max_sessions;
        let server = Server::start(cfg, RequestSink::Listener(Arc::new(sim)))
            .await
            .with_context(|| format!("starting the host simulator on {}", a.listen))?;
        println!("listening on {}", server.local_addr());
        shutdown_signal().await;
        eprintln!(
            "stopping: {} requests, {} replies",
            server.stats().requests.load(Ordering::Relaxed),
            server.stats().replies.load(Ordering::Relaxed)
        );
        server.shutdown(Duration::from_secs(5)).await;
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn clients(a: ClientsArgs) -> anyhow::Result<()> {
    check_local(a.target, a.allow_remote)?;
    if a.connections == 0 {
        bail!("--connections must be at least 1");
    }
    let framing = a.framing.framing()?;
    let spec = a.framing.spec()?;
    let mti: Mti = a
        .mti
        .parse()
        .with_context(|| format!("--mti {:?}", a.mti))?;
    let _ = idle::raise_nofile(a.connections as u64 + 256);
    let threads = a.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let config = LoadConfig {
        target: a.target,
        framing,
        requests: RequestFactory::new(spec.clone(), mti, "SIM00001", "SIMMERCHANT0001"),
        spec,
        connections: a.connections,
        threads,
        duration: a.duration,
        response_timeout: a.timeout,
        spin: a.spin.filter(|d| !d.is_zero()),
    };
    let progress = Arc::new(LoadProgress::default());
    let bar = progress_bar(a.duration);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = {
        let progress = progress.clone();
        let bar = bar.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let rt = progress.round_trips.load(Ordering::Relaxed);
                let secs = start.elapsed().as_secs_f64().max(1e-3);
                bar.set_position(start.elapsed().as_millis() as u64);
                bar.set_message(format!(
                    "{rt} round trips, {:.0}/s, {} errors",
                    rt as f64 / secs,
                    progress.errors.load(Ordering::Relaxed)
                ));
            }
        })
    };
    let report = load::run(&config, progress.clone()).context("starting the load threads");
    done.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    let report = report?;
    bar.finish_and_clear();
    println!(
        "{} round trips in {:?} over {} connections ({} {} {}): {:.0}/s",
        report.round_trips,
        a.duration,
        a.connections,
        mti,
        a.framing.framing.0,
        a.framing.spec,
        report.per_sec
    );
    println!(
        "latency µs: p50 {}  p99 {}  p99.9 {}",
        report.p50_us, report.p99_us, report.p999_us
    );
    println!("errors: {}", report.errors);
    let codes: Vec<String> = report
        .result_codes
        .iter()
        .map(|(code, n)| format!("{code} × {n}"))
        .collect();
    println!("result codes (DE 39): {}", codes.join(", "));
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

fn progress_bar(duration: Duration) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(duration.as_millis() as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

fn idle_cmd(a: IdleArgs) -> anyhow::Result<()> {
    check_local(a.target, a.allow_remote)?;
    let limit = idle::raise_nofile(a.connections as u64 + 256)?;
    if (limit as usize) < a.connections + 16 {
        bail!(
            "open-files limit is {limit}, too low for {} connections",
            a.connections
        );
    }
    let before = a.server_pid.and_then(idle::rss_kib);
    let rt = runtime(Some(1))?;
    rt.block_on(async {
        let (open, failed) =
            idle::open_idle(a.target, a.connections, 256, Duration::from_secs(10)).await;
        println!("{} connections open, {failed} failed", open.len());
        // Let the server finish setting up every session before measuring.
        tokio::time::sleep(a.hold.min(Duration::from_secs(2))).await;
        if let (Some(pid), Some(before)) = (a.server_pid, before) {
            match idle::rss_kib(pid) {
                Some(after) => println!(
                    "server pid {pid} RSS: {:.1} MiB before, {:.1} MiB with {} idle connections ({:.1} KiB each)",
                    before as f64 / 1024.0,
                    after as f64 / 1024.0,
                    open.len(),
                    after.saturating_sub(before) as f64 / open.len().max(1) as f64
                ),
                None => println!("server pid {pid}: RSS not readable"),
            }
        }
        tokio::time::sleep(a.hold.saturating_sub(Duration::from_secs(2))).await;
        drop(open);
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("200us"), Ok(Duration::from_micros(200)));
        assert_eq!(parse_duration("50µs"), Ok(Duration::from_micros(50)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn refuses_remote_targets() {
        assert!(check_local("127.0.0.1:1".parse().unwrap(), false).is_ok());
        assert!(check_local("127.9.9.9:1".parse().unwrap(), false).is_ok());
        assert!(check_local("[::1]:1".parse().unwrap(), false).is_ok());
        assert!(check_local("10.0.0.1:1".parse().unwrap(), false).is_err());
        assert!(check_local("10.0.0.1:1".parse().unwrap(), true).is_ok());
    }
}
