//! `switchyard run` and `switchyard deploy check` as real processes over 127.0.0.1: CMF echo over
//! binary2, hot deploy / redeploy / undeploy, a bad edit leaving the old component serving, SIGTERM
//! draining in-flight transactions, `/metrics` and `/health`.

// Shared test helpers; each test binary uses part of them.
#[allow(dead_code)]
mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchyard::iso::IsoMsg;

use common::{CmfClient, BIN};
const DEADLINE: Duration = Duration::from_secs(15);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).expect("write descriptor");
}

fn base_dir(port: u16, http: u16, txn_extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write(
        d,
        "00_logger.yml",
        "kind: logger\nname: logger\nlevel: info\n",
    );
    write(d, "10_space.yml", "kind: space\nname: default\n");
    write(
        d,
        "20_server.yml",
        &format!("kind: server\nname: cmf\nlisten: 127.0.0.1:{port}\nframing: binary2\nspec: cmf\nqueue: txnmgr.in\n"),
    );
    write(
        d,
        "30_txnmgr.yml",
        &format!(
            "kind: txnmgr\nname: txnmgr\nqueue: txnmgr.in\nsessions: 2\n{txn_extra}groups:\n  netmgmt: [core.NetMgmt]\n  unsupported: [core.Unsupported]\n  sendresponse: [core.SendResponse]\nselector:\n  kind: mti-pcode\n  routes:\n    \"804\": [netmgmt, sendresponse]\n    \"800\": [netmgmt, sendresponse]\n    default: [unsupported, sendresponse]\n"
        ),
    );
    write(
        d,
        "40_http.yml",
        &format!("kind: http\nname: http\nlisten: 127.0.0.1:{http}\n"),
    );
    dir
}

struct Switch {
    child: Child,
    err_path: std::path::PathBuf,
}

impl Switch {
    fn start(dir: &Path, port: u16) -> Switch {
        let err_path = dir.with_extension("stderr");
        let err = std::fs::File::create(&err_path).expect("stderr file");
        let child = Command::new(BIN)
            .args(["run", "--deploy"])
            .arg(dir)
            .args(["--drain", "10s"])
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn switchyard");
        wait_until("the server port", || listening(port));
        Switch { child, err_path }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err_path).unwrap_or_default()
    }

    fn signal(&self, sig: i32) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(start.elapsed() < DEADLINE, "switchyard did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn echo(stan: u32) -> IsoMsg {
    IsoMsg::with_mti("2804")
        .expect("mti")
        .with(7, "1123120000")
        .with(11, format!("{stan:012}"))
        .with(24, "831")
        .with(41, "TERM0001")
}

fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).expect("http connect");
    tcp.set_read_timeout(Some(DEADLINE)).expect("timeout");
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut text = String::new();
    tcp.read_to_string(&mut text).expect("response");
    let code = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, text)
}

#[test]
fn echo_unsupported_metrics_health_and_clean_sigterm() {
    let (port, http) = (free_port(), free_port());
    let dir = base_dir(port, http, "");
    let mut sw = Switch::start(dir.path(), port);
    let mut c = CmfClient::connect(port, DEADLINE);
    c.send(&echo(1));
    let r = c.recv();
    assert_eq!(r.mti().as_str(), "2814");
    assert_eq!(r.get_str(39), Some("0000"));
    assert_eq!(r.get_str(11), Some("000000000001"));
    c.send(
        &IsoMsg::with_mti("2200")
            .expect("mti")
            .with(3, "000000")
            .with(11, "000000000002"),
    );
    let r = c.recv();
    assert_eq!(r.mti().as_str(), "2210");
    assert_eq!(r.get_str(39), Some("1061"), "unsupported transaction");

    wait_until("http", || listening(http));
    let (code, body) = http_get(http, "/metrics");
    assert_eq!(code, 200);
    assert!(
        body.contains("txn_total{manager=\"txnmgr\",outcome=\"committed\"}"),
        "{body}"
    );
    let (code, body) = http_get(http, "/health");
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("\"cmf\":{\"kind\":\"server\",\"ready\":true}"),
        "{body}"
    );

    sw.signal(libc::SIGTERM);
    assert_eq!(sw.wait().code(), Some(0), "{}", sw.stderr());
}

#[test]
fn hot_deploy_redeploy_undeploy_and_bad_edit() {
    let (port, http) = (free_port(), free_port());
    let dir = base_dir(port, http, "");
    let sw = Switch::start(dir.path(), port);
    let (p2, p3) = (free_port(), free_port());
    let second = |p: u16| {
        format!("kind: server\nname: second\nlisten: 127.0.0.1:{p}\nframing: binary2\nspec: cmf\nqueue: txnmgr.in\n")
    };
    write(dir.path(), "25_second.yml", &second(p2));
    wait_until("second server deployed", || listening(p2));
    let mut c = CmfClient::connect(p2, DEADLINE);
    c.send(&echo(7));
    assert_eq!(c.recv().get_str(39), Some("0000"));
    drop(c);

    // Changed: redeployed on the new port.
    write(dir.path(), "25_second.yml", &second(p3));
    wait_until("second server moved", || listening(p3) && !listening(p2));

    // A bad edit: logged with file:line, the running one keeps serving.
    write(
        dir.path(),
        "25_second.yml",
        &format!("{}lisen: oops\n", second(p3)),
    );
    wait_until("error logged", || {
        sw.stderr().contains("25_second.yml:7: key 'lisen'")
    });
    let mut c = CmfClient::connect(p3, DEADLINE);
    c.send(&echo(8));
    assert_eq!(c.recv().get_str(39), Some("0000"));
    drop(c);

    // Renamed to .off: undeployed.
    std::fs::rename(
        dir.path().join("25_second.yml"),
        dir.path().join("25_second.yml.off"),
    )
    .expect("rename");
    wait_until("second server gone", || !listening(p3));
    assert!(listening(port), "the first server is untouched");
}

#[test]
fn sigterm_drains_in_flight_transactions() {
    let (port, http) = (free_port(), free_port());
    let dir = base_dir(
        port,
        http,
        "participants: [core.Delay]\nparticipant-config:\n  core.Delay: { prepare-delay: 300 }\n",
    );
    let mut sw = Switch::start(dir.path(), port);
    let mut c = CmfClient::connect(port, DEADLINE);
    let n = 8;
    for i in 0..n {
        c.send(&echo(100 + i));
    }
    // Two sessions, 300 ms each: the last answers need ~1.2 s; signal while most are in flight.
    std::thread::sleep(Duration::from_millis(200));
    sw.signal(libc::SIGTERM);
    let mut stans: Vec<String> = (0..n)
        .map(|_| {
            let r = c.recv();
            assert_eq!(r.get_str(39), Some("0000"));
            r.get_string(11).unwrap_or_default()
        })
        .collect();
    stans.sort();
    assert_eq!(stans.len(), n as usize);
    assert_eq!(stans[0], format!("{:012}", 100));
    assert_eq!(sw.wait().code(), Some(0), "{}", sw.stderr());
    assert!(!listening(port));
}

#[test]
fn deploy_check_good_and_bad() {
    let ok = Command::new(BIN)
        .args(["deploy", "check"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy"))
        .output()
        .expect("run");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let dir = base_dir(free_port(), free_port(), "");
    write(dir.path(), "20_server.yml", "kind: server\nname: cmf\nlisten: 127.0.0.1:1\nframing: binary2\nspec: cmf\nspace: nowhere\nqueue: q\n");
    write(
        dir.path(),
        "50_bad.yml",
        "kind: channel\nname: up\ntarget: 127.0.0.1:1\nframing: binary3\nspec: cmf\n",
    );
    let bad = Command::new(BIN)
        .args(["deploy", "check"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("20_server.yml:6: key 'space': space 'nowhere' is not deployed"),
        "{err}"
    );
    assert!(err.contains("50_bad.yml:4"), "{err}");
}

#[test]
fn the_shipped_deploy_dir_runs_with_the_private_ledger_cluster() {
    let (port, http) = (free_port(), free_port());
    let work = tempfile::tempdir().expect("tempdir");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let err_path = work.path().join("stderr");
    let err = std::fs::File::create(&err_path).expect("stderr file");
    let child = Command::new(BIN)
        .args(["run", "--deploy"])
        .arg(&shipped)
        .current_dir(work.path())
        .env("SWITCHYARD_PORT", port.to_string())
        .env("SWITCHYARD_HTTP_PORT", http.to_string())
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("spawn switchyard");
    let mut sw = Switch { child, err_path };
    let start = Instant::now();
    while !listening(http) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not up: {}",
            sw.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut c = CmfClient::connect(port, DEADLINE);
    c.send(&echo(42));
    let r = c.recv();
    assert_eq!((r.mti().as_str(), r.get_str(39)), ("2814", Some("0000")));
    let (code, body) = http_get(http, "/health");
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("\"ledger\":{\"kind\":\"ledger\",\"ready\":true}"),
        "{body}"
    );
    let (code, body) = http_get(http, "/ledger/accounts");
    assert_eq!(code, 200, "{body}");
    sw.signal(libc::SIGTERM);
    assert_eq!(sw.wait().code(), Some(0), "{}", sw.stderr());
    assert!(
        !work.path().join("var/pg/postmaster.pid").exists(),
        "the private cluster this run started is stopped"
    );
}

#[test]
fn json_log_file_is_reopened_on_sighup() {
    let (port, http) = (free_port(), free_port());
    let dir = base_dir(port, http, "");
    let log = dir.path().join("logs").join("switchyard.log");
    write(
        dir.path(),
        "00_logger.yml",
        &format!(
            "kind: logger\nname: logger\nformat: json\nlevel: info\nfile: {}\n",
            log.display()
        ),
    );
    let sw = Switch::start(dir.path(), port);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    wait_until("json lines in the log file", || {
        read(&log).lines().any(|l| {
            l.starts_with('{') && l.contains("\"level\":\"INFO\"") && l.contains("deployed")
        })
    });
    let rotated = log.with_extension("log.1");
    std::fs::rename(&log, &rotated).expect("rotate");
    sw.signal(libc::SIGHUP);
    wait_until("a fresh log file after SIGHUP", || {
        read(&log).contains("SIGHUP")
    });
    assert!(!read(&rotated).contains("SIGHUP"));
    assert!(listening(port), "SIGHUP does not stop the switch");
}
