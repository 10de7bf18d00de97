//! `switchyard run [--deploy DIR]`: the Q2-style container in the foreground, with hot deploy and
//! signals: TERM/INT drain and exit 0 (a second one exits at once), HUP reopens logs and resets stats.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use super::sim::parse_duration;
use crate::deploy::{self, watch, Container};
use crate::txn::ParticipantRegistry;

/// `run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The deploy directory.
    #[arg(long, default_value = "deploy")]
    deploy: PathBuf,
    /// How long TERM/INT wait for in-flight transactions, e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    drain: Duration,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

impl RunArgs {
    /// The deploy directory.
    pub fn deploy_dir(&self) -> &std::path::Path {
        &self.deploy
    }
}

/// Exit status after a second TERM/INT during the drain.
const HARD_EXIT: i32 = 130;

/// Deploy, watch, and wait for a signal.
pub fn run(args: RunArgs, registry: ParticipantRegistry) -> anyhow::Result<()> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(serve(args, registry))
}

async fn serve(args: RunArgs, registry: ParticipantRegistry) -> anyhow::Result<()> {
    // Signals first, so a TERM during start-up is a graceful stop rather than the default kill.
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let services = deploy::services();
    let logging = services.logging.clone();
    let container = Arc::new(Container::new(&args.deploy, Arc::new(registry), services));
    container
        .deploy_all()
        .await
        .with_context(|| format!("deploying {}", args.deploy.display()))?;
    tracing::info!(deploy = %args.deploy.display(), components = ?container.names().await, "switchyard running");
    let stop = CancellationToken::new();
    let watcher = watch::spawn(container.clone(), stop.clone());
    let which = loop {
        tokio::select! {
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
            _ = hup.recv() => {
                if let Some(l) = &logging {
                    l.reopen();
                }
                container.hangup().await;
            }
        }
    };
    tracing::info!(
        signal = which,
        drain_ms = args.drain.as_millis() as u64,
        "stopping: draining in-flight work"
    );
    stop.cancel();
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        eprintln!("second signal: exiting now");
        std::process::exit(HARD_EXIT);
    });
    let _ = tokio::time::timeout(Duration::from_secs(1), watcher).await;
    container.shutdown(args.drain).await;
    tracing::info!("stopped");
    Ok(())
}
