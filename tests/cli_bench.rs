//! `switchyard bench txn --json` prints a JSON summary as its last line (the contract CI scripts rely on).

use std::process::Command;

#[test]
fn bench_txn_json_summary_is_the_last_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args([
            "bench",
            "txn",
            "--participants",
            "3",
            "--in-flight",
            "4",
            "--seconds",
            "1",
            "--json",
        ])
        .output()
        .expect("bench runs");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let last = stdout.lines().last().expect("some output");
    let v: serde_json::Value = serde_json::from_str(last).expect("last line is JSON");
    assert!(v["tps"].as_f64().is_some_and(|t| t > 0.0), "{v}");
    assert!(v["p99_us"].as_u64().is_some(), "{v}");
    assert_eq!(v["participants"], 3);
    assert_eq!(v["in_flight"], 4);
}
