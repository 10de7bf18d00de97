//! Idle connections for memory measurements: open many connections and hold them; read a process's RSS;
//! raise the open-files limit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Raise the soft RLIMIT_NOFILE towards `want` (capped by the hard limit); returns the new soft limit.
pub fn raise_nofile(want: u64) -> std::io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let target = want.min(lim.rlim_max);
    if target > lim.rlim_cur {
        lim.rlim_cur = target;
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(lim.rlim_cur)
}

/// Resident set size of a process in KiB, from `/proc/PID/status` (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Open `n` connections to `target`, at most `parallel` at a time; returns the ones that opened and the
/// number of failures.
pub async fn open_idle(
    target: SocketAddr,
    n: usize,
    parallel: usize,
    connect_timeout: Duration,
) -> (Vec<TcpStream>, usize) {
    let gate = Arc::new(Semaphore::new(parallel.max(1)));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            tokio::time::timeout(connect_timeout, TcpStream::connect(target))
                .await
                .ok()?
                .ok()
        }));
    }
    let mut open = Vec::with_capacity(n);
    let mut failed = 0;
    for t in tasks {
        match t.await {
            Ok(Some(s)) => open.push(s),
            _ => failed += 1,
        }
    }
    (open, failed)
}
