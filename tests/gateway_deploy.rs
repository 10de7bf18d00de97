//! The shipped example `docs/examples/gateway` (server → txnmgr → `core.QueryHost` → mux-pool → mux →
//! channel → sim-host, answered by `core.SendResponse`) run by the real `switchyard run` binary over
//! 127.0.0.1: an authorization answered by the host end to end, an echo answered locally, and a host
//! slower than the QueryHost timeout declined with 9111.

// Shared test helpers; each test binary uses part of them.
#[allow(dead_code)]
mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchyard::iso::{IsoMsg, Spec};
use switchyard::sim::RequestFactory;

use common::{CmfClient, BIN};
const DEADLINE: Duration = Duration::from_secs(20);

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/gateway")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Gateway {
    child: Child,
    port: u16,
    _err: tempfile::NamedTempFile,
}

impl Gateway {
    /// Run the example with the host answering after `delay_ms` and QueryHost waiting `timeout_ms`.
    fn start(delay_ms: u64, timeout_ms: u64) -> Gateway {
        Gateway::start_in(&example(), delay_ms, timeout_ms)
    }

    /// Run the deploy directory `dir` (a copy of the example).
    fn start_in(dir: &Path, delay_ms: u64, timeout_ms: u64) -> Gateway {
        let (port, host_port) = (free_port(), free_port());
        let err = tempfile::NamedTempFile::new().expect("stderr file");
        let child = Command::new(BIN)
            .args(["run", "--deploy"])
            .arg(dir)
            .env("GATEWAY_PORT", port.to_string())
            .env("GATEWAY_HOST_PORT", host_port.to_string())
            .env("GATEWAY_HOST_DELAY", delay_ms.to_string())
            .env("GATEWAY_TIMEOUT", timeout_ms.to_string())
            .env("SWITCHYARD_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(err.reopen().expect("reopen"))
            .spawn()
            .expect("spawn switchyard");
        let mut gw = Gateway {
            child,
            port,
            _err: err,
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = gw.child.try_wait() {
                panic!("switchyard exited early ({status}): {}", gw.stderr());
            }
            assert!(start.elapsed() < DEADLINE, "gateway port never opened");
            std::thread::sleep(Duration::from_millis(50));
        }
        gw
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self._err.path()).unwrap_or_default()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request(mti: &str, stan: u64) -> IsoMsg {
    RequestFactory::new(
        Spec::builtin("cmf").expect("cmf"),
        mti.parse().expect("mti"),
        "TERM0001",
        "MERCHANT",
    )
    .build(stan)
}

/// Send until the gateway's channel to the host is connected (a 1833 decline means "not yet").
fn first_answer(c: &mut CmfClient, stan: u64) -> IsoMsg {
    let start = Instant::now();
    loop {
        let resp = c.call(&request("2100", stan));
        if resp.get_str(39) != Some("1833") {
            return resp;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "channel to the host never came up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_example_deploy_checks() {
    let out = Command::new(BIN)
        .args(["deploy", "check"])
        .arg(example())
        .output()
        .expect("run deploy check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn gateway_forwards_to_the_host_and_answers() {
    let gw = Gateway::start(0, 5000);
    let mut c = CmfClient::connect(gw.port, DEADLINE);
    let resp = first_answer(&mut c, 1);
    assert_eq!(resp.mti().as_str(), "2110", "{}", gw.stderr());
    assert_eq!(resp.get_str(39), Some("0000"));
    assert_eq!(resp.get_str(11), Some("000000000001"));
    // DE 38 comes from the sim host (derived from the STAN): the answer really went through it.
    assert_eq!(resp.get_str(38), Some("000001"));
    assert!(!resp.has(2), "no PAN in the answer");
    for stan in 2..=20 {
        let resp = c.call(&request("2200", stan));
        assert_eq!(resp.mti().as_str(), "2210");
        assert_eq!(resp.get_str(39), Some("0000"));
        assert_eq!(resp.get_str(38), Some(format!("{stan:06}").as_str()));
    }
    let echo = c.call(&request("2804", 99));
    assert_eq!(
        (echo.mti().as_str(), echo.get_str(39)),
        ("2814", Some("0000")),
        "network management answered locally"
    );
    let log = gw.stderr();
    assert!(
        log.contains("host answered"),
        "debug log has QueryHost's lines: {log}"
    );
    assert!(
        !log.contains("4761739001010010"),
        "the PAN never appears in the log"
    );
}

#[test]
fn a_slow_host_is_declined_with_issuer_timeout() {
    let gw = Gateway::start(1500, 200);
    let mut c = CmfClient::connect(gw.port, DEADLINE);
    let resp = first_answer(&mut c, 1);
    assert_eq!(resp.mti().as_str(), "2110", "{}", gw.stderr());
    assert_eq!(resp.get_str(39), Some("9111"));
    assert!(!resp.has(38), "no approval code without the host's answer");
    let started = Instant::now();
    let resp = c.call(&request("2100", 2));
    let took = started.elapsed();
    assert_eq!(resp.get_str(39), Some("9111"));
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_millis(1400),
        "declined after the 200 ms timeout, not the 1500 ms host delay: {took:?}"
    );
}

#[test]
fn redeploying_the_mux_redeploys_the_txnmgr_that_looked_it_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(example()).expect("example dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name");
        std::fs::copy(&path, dir.path().join(name)).expect("copy");
    }
    let gw = Gateway::start_in(dir.path(), 0, 5000);
    let mut c = CmfClient::connect(gw.port, DEADLINE);
    assert_eq!(first_answer(&mut c, 1).get_str(39), Some("0000"));
    let deployed = |log: &str| log.matches("name=gateway").count();
    let before = deployed(&gw.stderr());
    // An edit of the mux redeploys it, the pool that refers to it, and the txnmgr whose QueryHost
    // looked the pool up — otherwise QueryHost would keep the closed old pool.
    let mux = dir.path().join("40_mux.yml");
    let mut text = std::fs::read_to_string(&mux).expect("read");
    text.push_str("# edited\n");
    std::fs::write(&mux, text).expect("write");
    let start = Instant::now();
    while deployed(&gw.stderr()) < before + 2 {
        assert!(
            start.elapsed() < DEADLINE,
            "txnmgr not redeployed: {}",
            gw.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut c = CmfClient::connect(gw.port, DEADLINE);
    let resp = first_answer(&mut c, 2);
    assert_eq!(resp.get_str(39), Some("0000"), "{}", gw.stderr());
    assert_eq!(resp.get_str(38), Some("000002"), "answered by the host");
}
