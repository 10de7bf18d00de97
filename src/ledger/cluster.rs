//! `PrivateCluster`: a PostgreSQL cluster of our own under a directory (default `./var`), built from the
//! system binaries, listening only on a Unix socket, run as an unprivileged OS user when we are root.
//!
//! Layout under the root directory: `pg/` data directory (owned by the server's OS user, mode 0700),
//! `run/` socket directory and `run/postgres.log`. Used by `switchyard db ...` and by the test harness.

use std::ffi::CString;
use std::io::Read;
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;

/// The port number; with no TCP listener it only names the socket file (`.s.PGSQL.5432`).
pub const PORT: u16 = 5432;
/// The superuser role created by `initdb`.
pub const SUPERUSER: &str = "postgres";
/// Longest Unix socket path the kernel accepts (`sun_path` is 108 bytes with the NUL).
pub const MAX_SOCKET_PATH: usize = 107;
/// Longest a server start, stop or initdb may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// What went wrong with the private cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No PostgreSQL server binaries were found.
    #[error("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (or $PG_BIN): install them with `apt-get install postgresql`, or set DATABASE_URL to use another server")]
    BinariesNotFound,
    /// A file-system step failed.
    #[error("{context} {path}: {source}")]
    Io {
        /// The step.
        context: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The socket path would exceed the kernel's limit.
    #[error("socket path {path} is {len} bytes, over the {MAX_SOCKET_PATH}-byte limit: use a shorter directory")]
    SocketPathTooLong {
        /// The socket file's path.
        path: String,
        /// Its length.
        len: usize,
    },
    /// We are root and no unprivileged OS user exists to run the server.
    #[error("running as root, but neither the `postgres` nor the `nobody` OS user exists to run PostgreSQL (apt-get install postgresql creates `postgres`)")]
    NoServerUser,
    /// A directory on the way to the cluster cannot be entered by the server's OS user.
    #[error(
        "{path} is not traversable by OS user {user}: chmod o+x it, or choose another directory"
    )]
    NotTraversable {
        /// The directory.
        path: PathBuf,
        /// The server's OS user.
        user: String,
    },
    /// A PostgreSQL tool failed.
    #[error("{command} failed ({status}): {output}")]
    Command {
        /// The tool and arguments.
        command: String,
        /// Exit status or "timed out".
        status: String,
        /// Its stderr and stdout.
        output: String,
    },
    /// The cluster has not been initialized.
    #[error("no private cluster under {0}: run `switchyard db start`")]
    NotInitialized(PathBuf),
}

/// Whether the cluster runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterStatus {
    /// No data directory yet.
    NotInitialized,
    /// Initialized, not running.
    Stopped,
    /// Running with this postmaster pid.
    Running(u32),
}

#[derive(Clone, Debug)]
struct OsUser {
    name: String,
    uid: u32,
    gid: u32,
}

/// A private PostgreSQL cluster under a root directory.
#[derive(Debug)]
pub struct PrivateCluster {
    root: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<OsUser>,
    started_here: bool,
    stop_on_drop: bool,
}

/// The newest `/usr/lib/postgresql/N/bin` holding `initdb` and `pg_ctl`, or `$PG_BIN`.
pub fn find_binaries() -> Result<PathBuf, ClusterError> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("PG_BIN").map(PathBuf::from) {
        return if has_tools(&dir) {
            Ok(dir)
        } else {
            Err(ClusterError::BinariesNotFound)
        };
    }
    let entries =
        std::fs::read_dir("/usr/lib/postgresql").map_err(|_| ClusterError::BinariesNotFound)?;
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version: f64 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, bin)| bin)
        .ok_or(ClusterError::BinariesNotFound)
}

fn lookup_user(name: &str) -> Option<OsUser> {
    let cname = CString::new(name).ok()?;
    // SAFETY: getpwnam returns NULL or a pointer to static storage valid until the next call; we copy
    // the two integers out immediately and never keep the pointer.
    let pw = unsafe { libc::getpwnam(cname.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    // SAFETY: pw is non-null and points to a valid passwd struct (see above).
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Some(OsUser {
        name: name.to_string(),
        uid,
        gid,
    })
}

fn io<'a>(
    context: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> ClusterError + 'a {
    move |source| ClusterError::Io {
        context,
        path: path.to_path_buf(),
        source,
    }
}

impl PrivateCluster {
    /// A cluster rooted at `root` (created if missing; made absolute). Nothing is started.
    pub fn new(root: impl AsRef<Path>) -> Result<PrivateCluster, ClusterError> {
        let root = root.as_ref();
        std::fs::create_dir_all(root).map_err(io("creating", root))?;
        let root = std::fs::canonicalize(root).map_err(io("resolving", root))?;
        let bin_dir = find_binaries()?;
        // SAFETY: geteuid has no preconditions.
        let run_as = if unsafe { libc::geteuid() } == 0 {
            Some(
                lookup_user("postgres")
                    .or_else(|| lookup_user("nobody"))
                    .ok_or(ClusterError::NoServerUser)?,
            )
        } else {
            None
        };
        let cluster = PrivateCluster {
            root,
            bin_dir,
            run_as,
            started_here: false,
            stop_on_drop: false,
        };
        let socket = cluster.socket_dir().join(format!(".s.PGSQL.{PORT}"));
        let len = socket.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(ClusterError::SocketPathTooLong {
                path: socket.display().to_string(),
                len,
            });
        }
        Ok(cluster)
    }

    /// Stop the server when this value is dropped, if this value started it (the test harness does).
    pub fn stop_on_drop(mut self, yes: bool) -> Self {
        self.stop_on_drop = yes;
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("pg")
    }

    /// The directory holding the Unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// The server log.
    pub fn log_file(&self) -> PathBuf {
        self.socket_dir().join("postgres.log")
    }

    /// The directory of the PostgreSQL binaries used (e.g. for `pgbench`).
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// A libpq/sqlx URL for `database` (socket directory in the `host` parameter).
    pub fn url(&self, database: &str) -> String {
        let mut host = String::new();
        for b in self.socket_dir().to_string_lossy().bytes() {
            if b.is_ascii_alphanumeric() || b"/._-".contains(&b) {
                host.push(b as char);
            } else {
                host.push_str(&format!("%{b:02X}"));
            }
        }
        format!("postgres://{SUPERUSER}@localhost:{PORT}/{database}?host={host}")
    }

    /// sqlx connect options for `database`.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(self.socket_dir())
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
    }

    /// Whether the cluster is initialized and running.
    pub fn status(&self) -> Result<ClusterStatus, ClusterError> {
        if !self.data_dir().join("PG_VERSION").is_file() {
            return Ok(ClusterStatus::NotInitialized);
        }
        let data = self.data_dir();
        let out = self.run(
            "pg_ctl",
            &["-D".as_ref(), data.as_os_str(), "status".as_ref()],
            true,
        )?;
        match out.0 {
            Some(0) => {
                let pid = out
                    .1
                    .split("PID: ")
                    .nth(1)
                    .and_then(|s| s.split(')').next())
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0);
                Ok(ClusterStatus::Running(pid))
            }
            _ => Ok(ClusterStatus::Stopped),
        }
    }

    fn prepare_dirs(&self) -> Result<(), ClusterError> {
        let data = self.data_dir();
        let run = self.socket_dir();
        for d in [&data, &run] {
            std::fs::create_dir_all(d).map_err(io("creating", d))?;
        }
        let set_mode = |p: &Path, mode| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
                .map_err(io("chmod", p))
        };
        set_mode(&data, 0o700)?;
        set_mode(&run, 0o755)?;
        if let Some(user) = &self.run_as {
            set_mode(&self.root, 0o755)?;
            for d in [&data, &run] {
                chown(d, Some(user.uid), Some(user.gid)).map_err(io("chown", d))?;
            }
            let mut dir = self.root.parent();
            while let Some(d) = dir {
                let mode = std::fs::metadata(d)
                    .map_err(io("inspecting", d))?
                    .permissions()
                    .mode();
                if mode & 0o001 == 0 {
                    return Err(ClusterError::NotTraversable {
                        path: d.to_path_buf(),
                        user: user.name.clone(),
                    });
                }
                dir = d.parent();
            }
        }
        Ok(())
    }

    /// Create the cluster if it does not exist; true if it was created now.
    pub fn init(&self) -> Result<bool, ClusterError> {
        if self.data_dir().join("PG_VERSION").is_file() {
            return Ok(false);
        }
        self.prepare_dirs()?;
        let data = self.data_dir();
        self.run_ok(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
            ],
        )?;
        let socket_dir = self.socket_dir().to_string_lossy().replace('\'', "''");
        let conf = format!(
            "\n# switchyard private cluster: Unix socket only, durable commits\n\
             listen_addresses = ''\nunix_socket_directories = '{socket_dir}'\nport = {PORT}\n\
             max_connections = 200\nshared_buffers = 256MB\nfsync = on\nsynchronous_commit = on\n"
        );
        let conf_path = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path).map_err(io("reading", &conf_path))?;
        text.push_str(&conf);
        std::fs::write(&conf_path, text).map_err(io("writing", &conf_path))?;
        Ok(true)
    }

    /// Initialize if needed and start the server (a no-op if it already runs).
    pub fn start(&mut self) -> Result<(), ClusterError> {
        self.init()?;
        if let ClusterStatus::Running(_) = self.status()? {
            return Ok(());
        }
        self.prepare_dirs()?;
        let data = self.data_dir();
        let log = self.log_file();
        self.run_ok(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "start".as_ref(),
            ],
        )?;
        self.started_here = true;
        Ok(())
    }

    /// Stop the server (fast shutdown: active sessions are disconnected); a no-op if it is not running.
    pub fn stop(&mut self) -> Result<(), ClusterError> {
        if !matches!(self.status()?, ClusterStatus::Running(_)) {
            return Ok(());
        }
        let data = self.data_dir();
        self.run_ok(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "stop".as_ref(),
            ],
        )?;
        self.started_here = false;
        Ok(())
    }

    fn run_ok(&self, tool: &str, args: &[&std::ffi::OsStr]) -> Result<String, ClusterError> {
        let (code, output) = self.run(tool, args, false)?;
        match code {
            Some(0) => Ok(output),
            other => Err(ClusterError::Command {
                command: format!(
                    "{tool} {}",
                    args.iter()
                        .map(|a| a.to_string_lossy())
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                status: other.map_or("killed".to_string(), |c| format!("exit {c}")),
                output: output.trim().to_string(),
            }),
        }
    }

    /// Run a PostgreSQL tool as the server's OS user, bounded by `COMMAND_TIMEOUT`.
    fn run(
        &self,
        tool: &str,
        args: &[&std::ffi::OsStr],
        quiet: bool,
    ) -> Result<(Option<i32>, String), ClusterError> {
        let path = self.bin_dir.join(tool);
        let mut cmd = Command::new(&path);
        cmd.args(args)
            .current_dir(&self.root)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if quiet { Stdio::null() } else { Stdio::piped() });
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid)
                .gid(user.gid)
                .env("HOME", &self.root)
                .env("USER", &user.name);
        }
        let mut child = cmd.spawn().map_err(io("running", &path))?;
        let readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|mut r| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = r.read_to_string(&mut s);
                s
            })
        })
        .collect();
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        let status = loop {
            match child.try_wait().map_err(io("waiting for", &path))? {
                Some(status) => break Some(status),
                None if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let output: String = readers.into_iter().filter_map(|h| h.join().ok()).collect();
        match status {
            Some(s) => Ok((s.code(), output)),
            None => Err(ClusterError::Command {
                command: tool.to_string(),
                status: format!("timed out after {} s", COMMAND_TIMEOUT.as_secs()),
                output,
            }),
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if self.stop_on_drop && self.started_here {
            if let Err(e) = self.stop() {
                eprintln!(
                    "stopping private PostgreSQL under {}: {e}",
                    self.root.display()
                );
            }
        }
    }
}
