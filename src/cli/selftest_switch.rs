//! The switch `switchyard selftest` starts when given no target: a private PostgreSQL cluster (in
//! `--var` or a temp dir) with a fresh `selftest` database, the fixtures loaded with a per-run PAN key,
//! and `switchyard run` on the default deploy with free ports, its log in a file. `stop` sends
//! SIGTERM (the switch drains and exits 0) and stops the cluster unless asked to keep it.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::ledger::cluster::PrivateCluster;
use crate::ledger::{connect, migrate};

/// The database the self-test switch uses inside its cluster.
pub const DATABASE: &str = "selftest";
/// How long the switch may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long it may take to drain and exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What to start.
#[derive(Debug, Clone)]
pub struct LocalSwitchConfig {
    /// The deploy directory.
    pub deploy: PathBuf,
    /// The fixtures file.
    pub fixtures: PathBuf,
    /// Cluster directory (default: a temp dir).
    pub var: Option<PathBuf>,
    /// Leave the cluster running after `stop`.
    pub keep_db: bool,
    /// The switch's log file (default: VAR/switchyard.log).
    pub log: Option<PathBuf>,
}

/// A running self-test switch.
pub struct LocalSwitch {
    child: Child,
    cluster: PrivateCluster,
    port: u16,
    url: String,
    log: PathBuf,
    keep_db: bool,
    // Dropped last: removes the temp dir after the cluster is stopped.
    _temp: Option<tempfile::TempDir>,
}

fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl LocalSwitch {
    /// Start PostgreSQL, load fixtures, start the switch and wait until it listens.
    pub fn start(cfg: &LocalSwitchConfig) -> anyhow::Result<LocalSwitch> {
        let exe = std::env::current_exe().context("locating the switchyard binary")?;
        let deploy = std::fs::canonicalize(&cfg.deploy)
            .with_context(|| format!("deploy directory {}", cfg.deploy.display()))?;
        let fixtures = std::fs::canonicalize(&cfg.fixtures)
            .with_context(|| format!("fixtures {}", cfg.fixtures.display()))?;
        let (temp, var) = match &cfg.var {
            Some(v) => (None, v.clone()),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("switchyard-selftest-")
                    .tempdir()
                    .context("creating a temp dir")?;
                let v = t.path().to_path_buf();
                (Some(t), v)
            }
        };
        let mut cluster = PrivateCluster::new(&var)
            .with_context(|| format!("PostgreSQL cluster under {}", var.display()))?;
        eprintln!(
            "selftest: starting PostgreSQL under {}",
            cluster.root().display()
        );
        cluster.start()?;
        let url = cluster.url(DATABASE);
        super::block_on(async {
            let admin = connect(cluster.connect_options("postgres"), 1).await?;
            // A fresh database for every run: balances in the cases start from the fixtures.
            sqlx::query(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
                .execute(&admin)
                .await
                .context("dropping the previous self-test database")?;
            crate::ledger::create_database(&admin, DATABASE).await?;
            admin.close().await;
            let pool = connect(cluster.connect_options(DATABASE), 2).await?;
            migrate(&pool).await?;
            pool.close().await;
            anyhow::Ok(())
        })??;
        let pan_key = hex::encode(uuid::Uuid::new_v4().as_bytes());
        let loaded = Command::new(&exe)
            .args(["fixtures", "load"])
            .arg(&fixtures)
            .env("DATABASE_URL", &url)
            .env("SWITCHYARD_PAN_KEY", &pan_key)
            .output()
            .context("running `switchyard fixtures load`")?;
        if !loaded.status.success() {
            bail!(
                "loading fixtures {} failed: {}",
                fixtures.display(),
                String::from_utf8_lossy(&loaded.stderr).trim()
            );
        }
        eprintln!(
            "selftest: {}",
            String::from_utf8_lossy(&loaded.stdout).trim()
        );
        let (port, http) = (free_port()?, free_port()?);
        let log = cfg
            .log
            .clone()
            .unwrap_or_else(|| cluster.root().join("switchyard.log"));
        let out = File::create(&log).with_context(|| format!("log file {}", log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(&exe)
            .args(["run", "--deploy"])
            .arg(&deploy)
            .current_dir(cluster.root())
            .env("DATABASE_URL", &url)
            .env("SWITCHYARD_PAN_KEY", &pan_key)
            .env("SWITCHYARD_PORT", port.to_string())
            .env("SWITCHYARD_HTTP_PORT", http.to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .context("starting `switchyard run`")?;
        let mut sw = LocalSwitch {
            child,
            cluster,
            port,
            url,
            log,
            keep_db: cfg.keep_db,
            _temp: temp,
        };
        sw.wait_listening()?;
        eprintln!(
            "selftest: switch listening on 127.0.0.1:{port} (log {})",
            sw.log.display()
        );
        Ok(sw)
    }

    fn wait_listening(&mut self) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the switch exited during start-up ({status}); its log ({}):\n{}",
                    self.log.display(),
                    tail(&self.log, 20)
                );
            }
            if start.elapsed() > START_TIMEOUT {
                let _ = self.child.kill();
                bail!(
                    "the switch did not listen on 127.0.0.1:{} within {START_TIMEOUT:?}; its log:\n{}",
                    self.port,
                    tail(&self.log, 20)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `127.0.0.1:PORT` of the switch's CMF server.
    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// URL of the switch's database.
    pub fn database_url(&self) -> String {
        self.url.clone()
    }

    /// Stop the switch (SIGTERM, then SIGKILL after a grace period) and, unless kept, the cluster.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let pid = libc::pid_t::try_from(self.child.id()).context("switch pid")?;
        // SAFETY: kill(2) on the child we spawned; no memory is involved.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait()? {
                break Some(s);
            }
            if start.elapsed() > STOP_TIMEOUT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if !self.keep_db {
            self.cluster.stop()?;
        }
        match status {
            Some(s) if s.success() => Ok(()),
            Some(s) => bail!(
                "the switch exited with {s} on SIGTERM; log {}",
                self.log.display()
            ),
            None => bail!("the switch did not stop within {STOP_TIMEOUT:?} of SIGTERM"),
        }
    }
}

impl Drop for LocalSwitch {
    fn drop(&mut self) {
        // Only reached without `stop` (an error path): never leave a switch or a server behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            if !self.keep_db {
                let _ = self.cluster.stop();
            }
        }
    }
}
