//! House rule: every Rust source file starts with a `//!` doc saying what it is for.

use std::path::Path;

fn walk(dir: &Path, missing: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let path = e.unwrap().path();
        if path.is_dir() {
            walk(&path, missing);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if !first.starts_with("//!") {
                missing.push(path.display().to_string());
            }
        }
    }
}

#[test]
fn every_source_file_starts_with_a_module_doc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    for dir in [
        "src",
        "participants/src",
        "tests",
        "benches",
        "fuzz/fuzz_targets",
    ] {
        walk(&root.join(dir), &mut missing);
    }
    assert!(missing.is_empty(), "files without a //! doc: {missing:#?}");
}
