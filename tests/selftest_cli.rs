//! `switchyard selftest --target` end to end through the real binary against a real `sim host` over
//! TCP: result lines, captures across cases, masked output, the last line, the exit status and JUnit.
//! (The full suite against the default deploy runs in `.ci/test`.)

// Shared test helpers; each test binary uses part of them.
#[allow(dead_code)]
mod common;

use std::process::Command;

use common::{start_host, BIN};

const PAN: &str = "6009330000000025";

const CASES: &str = r#"
vars: {pan: "6009330000000025"}
cases:
  - description: Echo
    request: {"0": "2804", "7": "${now:MMddHHmmss}", "11": "${stan}", "24": "831"}
    expect: {"0": "2814", "39": "0000", "11": "*E", "7": "*E", "2": "*A"}
    capture: {echo_stan: "11", echo_time: "request.7"}
  - description: Purchase expected to be declined
    request: {"0": "2100", "2": "${pan}", "3": "000000", "4": "840200000001000", "11": "${stan}", "41": "29110001"}
    expect: {"0": "2110", "39": "1016", "4": "*E"}
  - description: Captured values reach a later request
    request: {"0": "2804", "7": "${echo_time}", "11": "${stan}", "24": "831", "37": "${echo_stan}"}
    expect: {"39": "/^0{4}$/", "7": "${echo_time}", "37": "*E"}
  - description: Balance without a database
    balance: [{account: "21.0001.10", layers: [840], amount: "1.00"}]
"#;

#[test]
fn runner_reports_ok_fail_captures_and_junit() {
    let (_host, addr) = start_host(&["--framing", "binary2", "--spec", "cmf"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = dir.path().join("cases");
    std::fs::create_dir(&cases).expect("mkdir");
    std::fs::write(cases.join("010_demo.yml"), CASES).expect("write");
    let junit = dir.path().join("junit.xml");
    let out = Command::new(BIN)
        .args(["selftest", "--target", &addr, "--cases"])
        .arg(&cases)
        .arg("--junit")
        .arg(&junit)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run selftest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "a failing case fails the run: {stdout}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("1: Echo [OK] ") && l.ends_with("ms")),
        "{stdout}"
    );
    assert!(
        lines.contains(
            &"2: Purchase expected to be declined [FAIL] field 39: expected 1016, got 0000"
        ),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("3: Captured values reach a later request [OK]")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("4: Balance without a database [FAIL]")
                && l.contains("no database")),
        "{stdout}"
    );
    assert!(
        stdout.contains("600933******0025"),
        "masked request shown: {stdout}"
    );
    assert!(
        !stdout.contains(PAN),
        "no clear PAN in the output: {stdout}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("2 passed, 2 failed"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(
        xml.contains(r#"tests="4""#) && xml.contains(r#"failures="2""#),
        "{xml}"
    );

    // A filter that leaves out the case carrying the file's `vars:` still sees the variables.
    let out = Command::new(BIN)
        .args([
            "selftest", "--target", &addr, "--filter", "declined", "--cases",
        ])
        .arg(&cases)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run filtered selftest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "1: Purchase expected to be declined [FAIL] field 39: expected 1016, got 0000"
        ),
        "the variable ${{pan}} was expanded: {stdout}"
    );
    assert_eq!(
        stdout.lines().last(),
        Some("0 passed, 1 failed"),
        "{stdout}"
    );
}

#[test]
fn bad_case_files_and_remote_targets_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("010_bad.yml"),
        "- description: x\n  expekt: {}\n",
    )
    .expect("write");
    let out = Command::new(BIN)
        .args(["selftest", "--target", "127.0.0.1:1", "--cases"])
        .arg(dir.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("010_bad.yml") && err.contains("expekt"),
        "{err}"
    );

    let out = Command::new(BIN)
        .args(["selftest", "--target", "192.0.2.1:8000", "--cases"])
        .arg(dir.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--allow-remote"), "{err}");
}
