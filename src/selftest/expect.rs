//! Expectations on response fields, jPOS clientsimulator style: a literal, `*M` (must be present),
//! `*E` (must echo the request's value), `*A` (must be absent), or `/REGEX/` (must match, anchored by
//! the author with `^...$` when meant).
//!
//! Messages are compared in their flattened JSON form: `"0"` is the MTI, `"39"` a field, `"74.6"` a
//! subfield of a composite field; binary fields are uppercase hex.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;

use crate::iso::{json, IsoMsg, Spec};

/// One expectation.
#[derive(Debug, Clone)]
pub enum Expect {
    /// Exactly this text.
    Literal(String),
    /// Present, any value.
    Present,
    /// Equal to the request's value of the same field.
    Echo,
    /// Not present.
    Absent,
    /// Present and matching.
    Matches(Regex),
}

impl Expect {
    /// Parse an (already expanded) expectation.
    pub fn parse(text: &str) -> Result<Expect, String> {
        Ok(match text {
            "*M" => Expect::Present,
            "*E" => Expect::Echo,
            "*A" => Expect::Absent,
            t if t.len() >= 2 && t.starts_with('/') && t.ends_with('/') => {
                let re = &t[1..t.len() - 1];
                Expect::Matches(Regex::new(re).map_err(|e| format!("regex {t}: {e}"))?)
            }
            t => Expect::Literal(t.to_owned()),
        })
    }
}

/// A message as field path → text.
pub type Flat = BTreeMap<String, String>;

fn flatten_into(prefix: &str, v: &Value, out: &mut Flat) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_into(&path, v, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

/// The flattened JSON form of `msg` (clear values: for comparison, never for printing).
pub fn flatten(spec: &Spec, msg: &IsoMsg) -> Result<Flat, String> {
    let v = json::to_json(spec, msg).map_err(|e| e.to_string())?;
    let mut out = Flat::new();
    flatten_into("", &v, &mut out);
    Ok(out)
}

/// True if some key is `path` or lies under it (a composite field is present if any subfield is).
fn present(msg: &Flat, path: &str) -> bool {
    msg.contains_key(path) || {
        let sub = format!("{path}.");
        msg.keys().any(|k| k.starts_with(&sub))
    }
}

/// Why a field did not meet its expectation; `None` when it did. `sensitive` values are not shown.
pub fn check(
    path: &str,
    want: &Expect,
    request: &Flat,
    response: &Flat,
    sensitive: bool,
) -> Option<String> {
    let got = response.get(path);
    let show = |v: &str| {
        if sensitive {
            "<hidden>".to_owned()
        } else {
            v.to_owned()
        }
    };
    let label = if path == "0" {
        "MTI".to_owned()
    } else {
        format!("field {path}")
    };
    match want {
        Expect::Present => {
            (!present(response, path)).then(|| format!("{label}: expected present, absent"))
        }
        Expect::Absent => present(response, path).then(|| {
            format!(
                "{label}: expected absent, got {}",
                show(got.map_or("(composite)", |s| s))
            )
        }),
        Expect::Literal(v) => match got {
            Some(g) if g == v => None,
            Some(g) => Some(format!("{label}: expected {}, got {}", show(v), show(g))),
            None => Some(format!("{label}: expected {}, absent", show(v))),
        },
        Expect::Echo => match (request.get(path), got) {
            (Some(r), Some(g)) if r == g => None,
            (Some(r), Some(g)) => Some(format!(
                "{label}: expected echo {}, got {}",
                show(r),
                show(g)
            )),
            (Some(r), None) => Some(format!("{label}: expected echo {}, absent", show(r))),
            (None, _) => Some(format!("{label}: *E but the request has no such field")),
        },
        Expect::Matches(re) => match got {
            Some(g) if re.is_match(g) => None,
            Some(g) => Some(format!(
                "{label}: expected /{}/, got {}",
                re.as_str(),
                show(g)
            )),
            None => Some(format!("{label}: expected /{}/, absent", re.as_str())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(pairs: &[(&str, &str)]) -> Flat {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_kind_of_expectation() {
        let req = flat(&[("0", "2100"), ("11", "000000000007"), ("4", "000000001000")]);
        let resp = flat(&[
            ("0", "2110"),
            ("11", "000000000007"),
            ("39", "0000"),
            ("38", "123456"),
            ("74.1", "0000000003"),
        ]);
        let ok = |p: &str, e: &str| check(p, &Expect::parse(e).expect("parse"), &req, &resp, false);
        assert_eq!(ok("0", "2110"), None);
        assert_eq!(ok("39", "0000"), None);
        assert_eq!(ok("11", "*E"), None);
        assert_eq!(ok("38", "*M"), None);
        assert_eq!(
            ok("74", "*M"),
            None,
            "a composite is present through its subfields"
        );
        assert_eq!(ok("54", "*A"), None);
        assert_eq!(ok("38", "/^[0-9]{6}$/"), None);
        assert_eq!(
            ok("39", "1016").as_deref(),
            Some("field 39: expected 1016, got 0000")
        );
        assert_eq!(
            ok("0", "2130").as_deref(),
            Some("MTI: expected 2130, got 2110")
        );
        assert_eq!(
            ok("4", "*E").as_deref(),
            Some("field 4: expected echo 000000001000, absent")
        );
        assert_eq!(
            ok("54", "*M").as_deref(),
            Some("field 54: expected present, absent")
        );
        assert_eq!(
            ok("38", "*A").as_deref(),
            Some("field 38: expected absent, got 123456")
        );
        assert!(ok("38", "/^X/").expect("fails").contains("expected /^X/"));
        assert!(ok("12", "*E")
            .expect("fails")
            .contains("request has no such field"));
        let hidden = check("38", &Expect::Literal("1".into()), &req, &resp, true).expect("fails");
        assert!(!hidden.contains("123456"), "{hidden}");
        assert!(Expect::parse("/(/").is_err());
    }
}
