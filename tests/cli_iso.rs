//! The `switchyard iso` and `bench codec` commands, driven through the real binary.

use std::io::Write;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
}

fn vector(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/vectors/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .trim()
    .to_owned()
}

fn run(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn unpack_then_pack_gives_the_same_bytes_for_every_vector() {
    for (spec, path) in [
        ("iso87ascii", "jpos/0200_purchase.hex"),
        ("iso87ascii", "jpos/0420_reversal_f90.hex"),
        ("iso87ascii", "jpos/0800_f70_secondary_bitmap.hex"),
        ("cmf", "jpos-cmf/0100_verification_f49_f113.hex"),
        ("cmf", "jpos-cmf/0200_purchase_chip_pin.hex"),
        ("iso87binary", "jpos-iso87binary/0200_purchase.hex"),
        ("iso93ascii", "jpos-iso93ascii/1804_echo_f24_831.hex"),
    ] {
        let hex = vector(path);
        let (ok, json, err) = run(&["iso", "unpack", "--spec", spec, &hex], None);
        assert!(ok, "{path}: {err}");
        let (ok, packed, err) = run(&["iso", "pack", "--spec", spec], Some(&json));
        assert!(ok, "{path}: {err}");
        assert_eq!(packed.trim(), hex, "{path}");
    }
}

#[test]
fn unpack_from_a_raw_file_and_the_f55_fixture_spec() {
    let hex = vector("jpos/0200_purchase_f55_binary.hex");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("msg.bin");
    std::fs::write(&file, switchyard::iso::encoding::hex_decode(&hex).unwrap()).unwrap();
    let spec = format!(
        "{}/tests/fixtures/iso87ascii_f55_binary.yml",
        env!("CARGO_MANIFEST_DIR")
    );
    let (ok, json, err) = run(
        &[
            "iso",
            "unpack",
            "--spec",
            &spec,
            "--file",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["0"], "0200");
    assert_eq!(v["2"], "4111111111111111");
    assert!(v["55"]
        .as_str()
        .unwrap()
        .starts_with("9F2608A1B2C3D4E5F60718"));
}

#[test]
fn cmf_composites_are_objects_in_json() {
    let hex = vector("jpos-cmf/0100_auth_fuel_preauth.hex");
    let (ok, json, err) = run(&["iso", "unpack", "--spec", "cmf", &hex], None);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["43"]["2"], "ACME FUEL 42");
    assert_eq!(v["43"]["4"], "SAN FRANCISCO");
    assert_eq!(v["49"]["4"], "94105     ");
    assert_eq!(v["22"], "10000010020000000401000002000000");
}

#[test]
fn dump_names_fields_and_masks_card_data() {
    let hex = vector("jpos-cmf/0200_purchase_chip_pin.hex");
    let (ok, out, err) = run(&["iso", "dump", "--spec", "cmf", &hex], None);
    assert!(ok, "{err}");
    assert!(!out.contains("4111111111111111"), "{out}");
    assert!(out.contains("411111******1111"), "{out}");
    assert!(out.contains("[WIPED]"), "PIN block must be wiped: {out}");
    assert!(out.contains("43.4"), "{out}");
    let pan_line = out
        .lines()
        .find(|l| l.trim_start().starts_with("2 "))
        .unwrap();
    assert!(pan_line.to_lowercase().contains("account"), "{pan_line}");
}

#[test]
fn errors_are_one_line_naming_field_and_offset() {
    let hex = vector("jpos/0200_purchase.hex");
    let cut = &hex[..300];
    let (ok, _, err) = run(&["iso", "unpack", "--spec", "iso87ascii", cut], None);
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "error: field 42 at byte 146: truncated, needs 15 bytes, 4 left"
    );
    assert_eq!(err.trim().lines().count(), 1);

    let (ok, _, err) = run(&["iso", "unpack", "--spec", "iso87ascii", "02G0"], None);
    assert!(!ok);
    assert!(err.contains("bad hex at character 2"), "{err}");

    let (ok, _, err) = run(&["iso", "unpack", "--spec", "nosuchspec", &hex], None);
    assert!(!ok);
    assert!(err.contains("unknown spec \"nosuchspec\""), "{err}");

    let (ok, _, err) = run(
        &["iso", "pack", "--spec", "iso87ascii"],
        Some(r#"{"0":"0200","2":"41111111111111111111"}"#),
    );
    assert!(!ok);
    assert_eq!(err.trim(), "error: field 2: length 20 > max 19");
}

#[test]
fn bench_codec_prints_json_last_line() {
    let hex = vector("jpos/0800_echo.hex");
    let (ok, out, err) = run(
        &[
            "bench",
            "codec",
            "--spec",
            "iso87ascii",
            "--hex",
            &hex,
            "--seconds",
            "0.2",
        ],
        None,
    );
    assert!(ok, "{err}");
    let last = out.trim().lines().last().unwrap();
    let v: serde_json::Value = serde_json::from_str(last).unwrap();
    assert!(v["pack_per_sec"].as_u64().unwrap() > 0);
    assert!(v["unpack_per_sec"].as_u64().unwrap() > 0);
    assert_eq!(v["bytes"], 44);
}
