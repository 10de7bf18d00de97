//! `switchyard sim host` + `sim clients` end to end through the real binary, summary parsed from `--json`.

// Shared test helpers; each test binary uses part of them.
#[allow(dead_code)]
mod common;

use std::process::Command;
use std::time::Duration;

use common::{start_host, BIN};

fn run_clients(addr: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN)
        .args([
            "sim",
            "clients",
            "--target",
            addr,
            "--duration",
            "1s",
            "--json",
        ])
        .args(args)
        .output()
        .expect("run sim clients");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "clients failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().expect("no output");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line {last:?}: {e}"))
}

#[test]
fn echo_over_ascii4_iso87() {
    let (_host, addr) = start_host(&["--framing", "ascii4", "--spec", "iso87ascii"]);
    let s = run_clients(
        &addr,
        &[
            "--framing",
            "ascii4",
            "--spec",
            "iso87ascii",
            "--connections",
            "4",
        ],
    );
    for k in [
        "round_trips",
        "per_sec",
        "p50_us",
        "p99_us",
        "p999_us",
        "errors",
    ] {
        assert!(s.get(k).is_some(), "missing {k}: {s}");
    }
    assert!(s["round_trips"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["errors"].as_u64(), Some(0), "{s}");
    assert!(s["p50_us"].as_u64().unwrap() <= s["p99_us"].as_u64().unwrap());
    // every counted response is tallied by its DE 39: all approved ("00") here
    assert_eq!(
        s["result_codes"]["00"].as_u64(),
        s["round_trips"].as_u64(),
        "{s}"
    );
}

#[test]
fn declines_are_tallied_by_result_code() {
    let (_host, addr) = start_host(&["--framing", "binary2", "--spec", "cmf", "--rc", "1812"]);
    let s = run_clients(
        &addr,
        &["--framing", "binary2", "--spec", "cmf", "--mti", "2100"],
    );
    let n = s["round_trips"].as_u64().unwrap();
    assert!(n > 0, "{s}");
    assert_eq!(s["result_codes"]["1812"].as_u64(), Some(n), "{s}");
    assert!(s["result_codes"].get("0000").is_none(), "{s}");
}

#[test]
fn cmf_authorizations_over_binary2_with_tpdu() {
    let (_host, addr) = start_host(&["--framing", "binary2", "--tpdu", "--spec", "cmf"]);
    for mti in ["2100", "2804", "2200", "2420"] {
        let s = run_clients(
            &addr,
            &[
                "--framing",
                "binary2",
                "--tpdu",
                "--spec",
                "cmf",
                "--connections",
                "2",
                "--mti",
                mti,
            ],
        );
        assert!(s["round_trips"].as_u64().unwrap() > 0, "{mti}: {s}");
        assert_eq!(s["errors"].as_u64(), Some(0), "{mti}: {s}");
    }
}

#[test]
fn a_mismatched_spec_counts_errors() {
    // The host speaks iso87ascii; a client packing iso87binary gets no valid answer.
    let (_host, addr) = start_host(&["--framing", "binary2", "--spec", "iso87ascii"]);
    let s = run_clients(
        &addr,
        &[
            "--framing",
            "binary2",
            "--spec",
            "iso87binary",
            "--timeout",
            "200ms",
        ],
    );
    assert_eq!(s["round_trips"].as_u64(), Some(0), "{s}");
    assert!(s["errors"].as_u64().unwrap() > 0, "{s}");
}

#[test]
fn clients_refuse_remote_targets() {
    let out = Command::new(BIN)
        .args([
            "sim",
            "clients",
            "--target",
            "192.0.2.1:8583",
            "--duration",
            "1s",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
}

#[test]
fn host_rejects_a_response_code_of_the_wrong_width() {
    let out = Command::new(BIN)
        .args([
            "sim",
            "host",
            "--listen",
            "127.0.0.1:0",
            "--spec",
            "cmf",
            "--rc",
            "05",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DE 39"));
}

#[test]
fn idle_holds_connections_and_reports_the_server_rss() {
    let (host, addr) = start_host(&[]);
    let pid = host.0.id().to_string();
    let out = Command::new(BIN)
        .args([
            "sim",
            "idle",
            "--target",
            &addr,
            "--connections",
            "50",
            "--hold",
            "1s",
        ])
        .args(["--server-pid", &pid])
        .output()
        .expect("run sim idle");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("50 connections open, 0 failed"), "{stdout}");
    assert!(stdout.contains("RSS"), "{stdout}");
}

/// CPU time (user + system, in clock ticks) a process has used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime")
}

#[test]
fn spinning_host_and_clients_answer_then_the_host_goes_idle() {
    let (host, addr) = start_host(&["--spin", "200us"]);
    let s = run_clients(
        &addr,
        &["--connections", "4", "--threads", "1", "--spin", "200us"],
    );
    assert!(s["round_trips"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["errors"].as_u64(), Some(0), "{s}");
    assert_eq!(
        s["result_codes"]["00"].as_u64(),
        s["round_trips"].as_u64(),
        "{s}"
    );
    // With no traffic the spinner parks: a host still spinning would burn ~100 ticks a second.
    std::thread::sleep(Duration::from_millis(200));
    let before = cpu_ticks(host.0.id());
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(host.0.id()) - before;
    assert!(used < 30, "idle spinning host used {used} ticks in 1 s");
}

#[test]
fn spin_needs_a_single_threaded_host() {
    let out = Command::new(BIN)
        .args(["sim", "host", "--listen", "127.0.0.1:0", "--threads", "2"])
        .args(["--spin", "100us"])
        .output()
        .expect("run sim host");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--spin needs --threads 1"), "{err}");
}
