//! `switchyard txn ...`: transaction-manager tools. `recovery-probe` (hidden) is the child process the
//! crash-recovery test kills with SIGKILL and restarts.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use clap::Subcommand;
use parking_lot::Mutex;

use crate::space::TSpace;
use crate::txn::{
    open_recovery_store_on, Action, Chain, Context, Key, Outcome, Participant, TransactionManager,
    TxnConfig,
};

/// Transaction manager commands.
#[derive(Debug, Subcommand)]
pub enum TxnCommand {
    /// Run a manager with recording participants against a recovery store (used by the crash test).
    #[command(hide = true)]
    RecoveryProbe {
        /// Recovery store address, e.g. `file:/tmp/txn.log` (a bare path means `file:`) or `pg:NAME`.
        #[arg(long)]
        store: String,
        /// Database of a `pg:` store (migrated on start).
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
        /// Event log the participants append to (`P|C|A id name run recovered`).
        #[arg(long)]
        count_file: PathBuf,
        /// New transactions to run after recovery.
        #[arg(long, default_value_t = 100)]
        count: u64,
        /// Run number written into the event log.
        #[arg(long, default_value_t = 1)]
        run: u32,
        /// Delay inside each prepare, in milliseconds, to keep transactions in flight.
        #[arg(long, default_value_t = 1)]
        delay_ms: u64,
    },
}

/// Run a `txn` command.
pub fn run(cmd: TxnCommand) -> anyhow::Result<()> {
    match cmd {
        TxnCommand::RecoveryProbe {
            store,
            database_url,
            count_file,
            count,
            run,
            delay_ms,
        } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(probe(
                &store,
                database_url.as_deref(),
                &count_file,
                count,
                run,
                Duration::from_millis(delay_ms),
            ))
        }
    }
}

/// Which request this is (persistent, so recovery sees it).
const TAG: Key<u64> = Key::new("TAG");

/// Appends one fsync'd line per event; remembers terminal events so recovery replays stay idempotent.
struct EventLog {
    file: Mutex<File>,
    finished: Mutex<HashSet<(u64, String)>>,
    run: u32,
}

impl EventLog {
    fn open(path: &Path, run: u32) -> anyhow::Result<Self> {
        let mut finished = HashSet::new();
        if let Ok(f) = File::open(path) {
            for line in BufReader::new(f).lines() {
                let line = line?;
                let parts: Vec<&str> = line.split(' ').collect();
                if let [kind, id, name, ..] = parts[..] {
                    if kind == "C" || kind == "A" {
                        finished.insert((id.parse()?, name.to_owned()));
                    }
                }
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(EventLog {
            file: Mutex::new(file),
            finished: Mutex::new(finished),
            run,
        })
    }

    fn write(&self, kind: &str, id: u64, name: &str, recovered: bool) {
        if kind != "P" && !self.finished.lock().insert((id, name.to_owned())) {
            return; // already finished before a crash: the idempotent replay does nothing
        }
        let line = format!("{kind} {id} {name} {} {}\n", self.run, u8::from(recovered));
        let mut f = self.file.lock();
        if let Err(e) = f.write_all(line.as_bytes()).and_then(|()| f.sync_data()) {
            tracing::error!(error = %e, "event log write failed");
        }
    }
}

/// Records every call; `b` votes abort for every fourth request.
struct Recorder {
    name: &'static str,
    log: Arc<EventLog>,
    delay: Duration,
}

#[async_trait]
impl Participant for Recorder {
    async fn prepare(&self, id: u64, ctx: &mut Context) -> Action {
        self.log.write("P", id, self.name, false);
        tokio::time::sleep(self.delay).await;
        let tag = ctx.get(&TAG).copied().unwrap_or(0);
        if self.name == "b" && tag % 4 == 0 {
            Action::ABORTED
        } else {
            Action::PREPARED
        }
    }

    async fn commit(&self, id: u64, ctx: &mut Context) {
        self.log.write("C", id, self.name, ctx.is_recovered());
    }

    async fn abort(&self, id: u64, ctx: &mut Context) {
        self.log.write("A", id, self.name, ctx.is_recovered());
    }
}

async fn probe(
    store: &str,
    database_url: Option<&str>,
    count_file: &Path,
    count: u64,
    run: u32,
    delay: Duration,
) -> anyhow::Result<()> {
    let addr = if store.contains(':') {
        store.to_owned()
    } else {
        format!("file:{store}")
    };
    let pool = match (addr.starts_with("pg:"), database_url) {
        (true, Some(url)) => {
            let pool = crate::ledger::connect(url.parse().context("--database-url")?, 4).await?;
            crate::ledger::migrate(&pool).await?;
            Some(pool)
        }
        (true, None) => anyhow::bail!("{addr}: a pg: store needs --database-url (or DATABASE_URL)"),
        (false, _) => None,
    };
    let store =
        open_recovery_store_on(&addr, pool.as_ref()).with_context(|| format!("opening {addr}"))?;
    let log = Arc::new(EventLog::open(count_file, run)?);
    let parts: Vec<(String, Arc<dyn Participant>)> = ["a", "b"]
        .into_iter()
        .map(|n| {
            let p: Arc<dyn Participant> = Arc::new(Recorder {
                name: n,
                log: Arc::clone(&log),
                delay,
            });
            (n.to_owned(), p)
        })
        .collect();
    let chain = Chain::new(parts, vec![])?;
    let finished = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&finished);
    let listener = move |_: u64, _: Outcome, ctx: &Context| {
        if !ctx.is_recovered() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    };
    let cfg = TxnConfig {
        sessions: 8,
        max_active: 16,
        ..TxnConfig::default()
    };
    let space = Arc::new(TSpace::<Context>::new());
    let mgr = TransactionManager::builder(cfg, space, chain)
        .recovery(store)
        .status_listener(Arc::new(listener))
        .start()
        .await?;
    for tag in 0..count {
        let mut ctx = Context::new();
        ctx.put_persistent(&TAG, tag);
        mgr.queue(ctx).await?;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while finished.load(Ordering::SeqCst) < count {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "probe did not finish in time"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    mgr.stop(Duration::from_secs(30)).await?;
    println!("done");
    Ok(())
}
