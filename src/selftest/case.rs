//! The self-test case format: YAML files in a cases directory, read in filename order.
//!
//! A file is either a list of cases or a mapping with `vars:` (variables for every later case) and
//! `cases:`. A case is a description, a request in the message's JSON form (`"0"` the MTI; composite
//! fields as nested maps), per-field expectations, captures, an optional timeout and balance
//! assertions. See `docs/selftest.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::error::SelftestError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    #[serde(default)]
    vars: BTreeMap<String, Scalar>,
    #[serde(default)]
    cases: Vec<Case>,
}

/// A field value in a request: text, or the subfields of a composite field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "serde_yaml::Value")]
pub enum Value {
    /// Text.
    Text(String),
    /// Subfields by number.
    Composite(BTreeMap<String, Value>),
}

impl TryFrom<serde_yaml::Value> for Value {
    type Error = String;

    fn try_from(v: serde_yaml::Value) -> Result<Self, String> {
        match v {
            serde_yaml::Value::Mapping(m) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    let key = Scalar::try_from(k)?.0;
                    out.insert(key, Value::try_from(v)?);
                }
                Ok(Value::Composite(out))
            }
            other => Ok(Value::Text(Scalar::try_from(other)?.0)),
        }
    }
}

/// A YAML scalar taken as its text. Quote values with leading zeros (`"0000"`): YAML reads an
/// unquoted `0000` as the number 0.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "serde_yaml::Value")]
pub struct Scalar(pub String);

impl TryFrom<serde_yaml::Value> for Scalar {
    type Error = String;

    fn try_from(v: serde_yaml::Value) -> Result<Self, String> {
        match v {
            serde_yaml::Value::String(s) => Ok(Scalar(s)),
            serde_yaml::Value::Number(n) => Ok(Scalar(n.to_string())),
            serde_yaml::Value::Bool(b) => Ok(Scalar(b.to_string())),
            other => Err(format!("expected text, got {other:?}")),
        }
    }
}

/// A balance assertion checked through the ledger after the response.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BalanceCheck {
    /// Account code, e.g. `21.0001.10`.
    pub account: String,
    /// Layers to add up, e.g. `[840, 1840]`.
    pub layers: Vec<i16>,
    /// Expected balance, a decimal string (may use variables).
    pub amount: Scalar,
    /// Journal (default: the runner's `--journal`).
    #[serde(default)]
    pub journal: Option<String>,
}

/// One self-test case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Case {
    /// What the case shows, printed on its result line.
    pub description: String,
    /// The request in JSON form: `"0"` MTI, field number → value. Absent: only `balance` is checked.
    #[serde(default)]
    pub request: Option<BTreeMap<String, Value>>,
    /// Expectations on the response, by field path (`"39"`, `"0"`, `"74.6"`).
    #[serde(default)]
    pub expect: BTreeMap<String, Scalar>,
    /// Variables to set from this exchange: name → field path of the response, or `request.PATH`.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// How long to wait for the response, e.g. `5s` (default: the runner's).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Balances to check after the exchange.
    #[serde(default)]
    pub balance: Vec<BalanceCheck>,
}

/// A case with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    /// The file.
    pub file: PathBuf,
    /// The case.
    pub case: Case,
    /// `vars:` of its file that take effect before it (only on a file's first case).
    pub vars: BTreeMap<String, Scalar>,
}

impl LoadedCase {
    /// The case's timeout, or `default`.
    pub fn timeout(&self, default: Duration) -> Result<Duration, SelftestError> {
        match &self.case.timeout {
            None => Ok(default),
            Some(t) => parse_duration(t).map_err(|reason| SelftestError::Case {
                file: self.file.clone(),
                description: self.case.description.clone(),
                reason: format!("timeout: {reason}"),
            }),
        }
    }
}

/// `500ms`, `5s`, `1m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a whole number and a unit (ms, s, m)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        other => Err(format!("{s:?}: unknown unit {other:?} (ms, s, m)")),
    }
}

/// Every `*.yml` / `*.yaml` file of `dir`, in filename order.
pub fn case_files(dir: &Path) -> Result<Vec<PathBuf>, SelftestError> {
    let read = std::fs::read_dir(dir).map_err(|source| SelftestError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Parse one case file; `pending` are `vars:` of earlier files not yet attached to a case (a file
/// may hold only variables). They and this file's `vars:` take effect before its first case.
pub fn parse_file_with(
    file: &Path,
    text: &str,
    pending: &mut BTreeMap<String, Scalar>,
) -> Result<Vec<LoadedCase>, SelftestError> {
    let parse_err = |e: serde_yaml::Error| SelftestError::Parse {
        file: file.to_path_buf(),
        reason: e.to_string(),
    };
    // A list and a mapping are told apart first, so that errors name the offending key and line.
    let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(parse_err)?;
    let cases: Vec<Case> = if doc.is_sequence() {
        serde_yaml::from_str(text).map_err(parse_err)?
    } else {
        let s: SuiteFile = serde_yaml::from_str(text).map_err(parse_err)?;
        pending.extend(s.vars);
        s.cases
    };
    let mut out = Vec::with_capacity(cases.len());
    for case in cases {
        out.push(LoadedCase {
            file: file.to_path_buf(),
            case,
            vars: std::mem::take(pending),
        });
    }
    Ok(out)
}

/// Parse one case file on its own.
pub fn parse_file(file: &Path, text: &str) -> Result<Vec<LoadedCase>, SelftestError> {
    parse_file_with(file, text, &mut BTreeMap::new())
}

/// Every case of every file of `dir`, in order.
pub fn load_dir(dir: &Path) -> Result<Vec<LoadedCase>, SelftestError> {
    let mut all = Vec::new();
    let mut pending = BTreeMap::new();
    for f in case_files(dir)? {
        let text = std::fs::read_to_string(&f).map_err(|source| SelftestError::Io {
            path: f.clone(),
            source,
        })?;
        all.extend(parse_file_with(&f, &text, &mut pending)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_file_forms_parse() {
        let list = "- description: echo\n  request: {\"0\": \"2804\", \"24\": 831}\n  expect: {\"39\": \"0000\"}\n";
        let cases = parse_file(Path::new("a.yml"), list).expect("list");
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].case.expect["39"], Scalar("0000".into()));
        let req = cases[0].case.request.as_ref().expect("request");
        assert_eq!(req["24"], Value::Text("831".into()));

        let suite = "vars: {pan: \"6009330000000025\"}\ncases:\n  - description: one\n    request:\n      \"0\": \"2100\"\n      \"43\": {\"2\": \"Store\"}\n  - description: two\n    balance: [{account: \"21.0001.10\", layers: [840], amount: \"1.00\"}]\n";
        let cases = parse_file(Path::new("b.yml"), suite).expect("suite");
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].vars["pan"].0, "6009330000000025");
        assert!(cases[1].vars.is_empty());
        assert!(matches!(
            cases[0].case.request.as_ref().expect("request")["43"],
            Value::Composite(_)
        ));
        assert_eq!(cases[1].case.balance[0].layers, vec![840]);
    }

    #[test]
    fn a_vars_only_file_feeds_the_next_files_first_case() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("000_vars.yml"), "vars: {acq: \"000001\"}\n")
            .expect("write");
        std::fs::write(
            dir.path().join("010_a.yml"),
            "- description: a\n- description: b\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("notes.txt"), "ignored").expect("write");
        let cases = load_dir(dir.path()).expect("load");
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].vars["acq"].0, "000001");
        assert!(cases[1].vars.is_empty());
    }

    #[test]
    fn unknown_keys_and_bad_timeouts_are_errors() {
        let bad = "- description: x\n  expekt: {}\n";
        let e = parse_file(Path::new("c.yml"), bad).expect_err("unknown key");
        assert!(e.to_string().contains("c.yml"), "{e}");
        let cases = parse_file(
            Path::new("d.yml"),
            "- description: x\n  timeout: 5 parsecs\n",
        )
        .expect("parses");
        assert!(cases[0].timeout(Duration::from_secs(1)).is_err());
        let ok =
            parse_file(Path::new("e.yml"), "- description: x\n  timeout: 250ms\n").expect("parses");
        assert_eq!(
            ok[0].timeout(Duration::from_secs(1)).expect("ok"),
            Duration::from_millis(250)
        );
    }
}
