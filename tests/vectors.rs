//! Byte vectors packed by jPOS: every one must unpack to exactly its listed fields and pack back to
//! exactly its bytes. The vectors are copied from `shared/vectors/` into `tests/vectors/`; any further
//! folder that appears under `../shared/vectors/` is checked too when it has a known packager.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use switchyard::iso::encoding::{hex_decode, hex_string, latin1_to_string};
use switchyard::iso::Spec;

/// The spec a vector folder was packed with (the f55 vector uses a test fixture spec).
fn spec_for(folder: &str, name: &str) -> Option<Spec> {
    let root = env!("CARGO_MANIFEST_DIR");
    let spec = match (folder, name) {
        ("jpos", "0200_purchase_f55_binary") => {
            return Some(
                (*Spec::load(&format!("{root}/tests/fixtures/iso87ascii_f55_binary.yml")).unwrap())
                    .clone(),
            )
        }
        ("jpos", _) => "iso87ascii",
        ("jpos-cmf", _) => "cmf",
        ("jpos-iso87binary", _) => "iso87binary",
        ("jpos-iso93ascii", _) => "iso93ascii",
        ("jpos-iso93binary", _) => "iso93binary",
        _ => return None,
    };
    Some((*Spec::builtin(spec).unwrap()).clone())
}

fn parse_tsv(path: &Path) -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut it = l.splitn(3, '\t');
            let f = it.next().unwrap().to_owned();
            let kind = it.next().unwrap().to_owned();
            let value = it.next().unwrap_or("").to_owned();
            (f, (kind, value))
        })
        .collect()
}

fn check_folder(dir: &Path) -> usize {
    let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
    let mut checked = 0;
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hex"))
        .collect();
    names.sort();
    for hex_path in names {
        let name = hex_path.file_stem().unwrap().to_string_lossy().into_owned();
        let Some(spec) = spec_for(&folder, &name) else {
            continue;
        };
        let wire = hex_decode(std::fs::read_to_string(&hex_path).unwrap().trim()).unwrap();
        let expected = parse_tsv(&dir.join(format!("{name}.fields.tsv")));
        let msg = spec
            .unpack(&wire)
            .unwrap_or_else(|e| panic!("{folder}/{name}: unpack: {e}"));

        // Every listed field, and nothing else.
        let mut seen = Vec::new();
        for (key, (kind, value)) in &expected {
            let mut parts = key.split('.');
            let f: u8 = parts.next().unwrap().parse().unwrap();
            let sub: Option<u16> = parts.next().map(|s| s.parse().unwrap());
            let actual: Vec<u8> = match (f, sub) {
                (0, _) => msg.mti().as_bytes().to_vec(),
                (f, None) => {
                    seen.push(f);
                    msg.get(f)
                        .unwrap_or_else(|| panic!("{folder}/{name}: field {f} missing"))
                        .to_vec()
                }
                (f, Some(s)) => {
                    let subs = spec.unpack_composite(f, msg.get(f).unwrap()).unwrap();
                    subs.into_iter()
                        .find(|(n, _)| *n == s)
                        .unwrap_or_else(|| panic!("{folder}/{name}: subfield {key} missing"))
                        .1
                }
            };
            let shown = if kind == "b" {
                hex_string(&actual)
            } else {
                latin1_to_string(&actual)
            };
            assert_eq!(&shown, value, "{folder}/{name}: field {key}");
        }
        seen.sort_unstable();
        let present: Vec<u8> = msg.field_numbers().collect();
        assert_eq!(present, seen, "{folder}/{name}: unexpected extra fields");

        // Pack back byte for byte, and through the JSON form too.
        let packed = spec.pack(&msg).unwrap();
        assert_eq!(
            hex_string(&packed),
            hex_string(&wire),
            "{folder}/{name}: repack"
        );
        let json = switchyard::iso::json::to_json(&spec, &msg).unwrap();
        let again = switchyard::iso::json::from_json(&spec, &json).unwrap();
        assert_eq!(
            hex_string(&spec.pack(&again).unwrap()),
            hex_string(&wire),
            "{folder}/{name}: via JSON"
        );
        checked += 1;
    }
    checked
}

#[test]
fn jpos_iso87_ascii_vectors_round_trip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    assert_eq!(check_folder(&root.join("jpos")), 7);
}

#[test]
fn jpos_cmf_vectors_round_trip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    assert_eq!(check_folder(&root.join("jpos-cmf")), 13);
}

#[test]
fn jpos_iso87_binary_vectors_round_trip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    assert_eq!(check_folder(&root.join("jpos-iso87binary")), 4);
}

#[test]
fn jpos_iso93_ascii_vectors_round_trip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    assert_eq!(check_folder(&root.join("jpos-iso93ascii")), 4);
}

/// Folders added to `shared/vectors/` after this copy was taken are checked as well.
#[test]
fn shared_vector_folders_when_present() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors");
    let Ok(entries) = std::fs::read_dir(&shared) else {
        return;
    };
    for e in entries {
        let dir = e.unwrap().path();
        if dir.is_dir() {
            check_folder(&dir);
        }
    }
}
