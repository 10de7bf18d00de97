//! `core.CheckFields`: mandatory / optional field lists with format checks (jPOS `CheckFields`).
//!
//! Missing mandatory field → 1802, a field that is neither mandatory nor optional → 1803, a present field
//! whose text does not match its format → 1830. The first failure sets `RESULT_CODE`; `EXTENDED_RESULT`
//! lists them all. The participant never joins (NO_JOIN | READONLY): it only votes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use async_trait::async_trait;
use serde::Deserialize;
use thiserror::Error;

use crate::txn::keys::{EXTENDED_RESULT, REQUEST, RESULT_CODE};
use crate::txn::message::FieldSource;
use crate::txn::{Action, Context, Participant, ResultCode};

/// Which characters a field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// `n`: digits.
    Numeric,
    /// `an`: letters and digits.
    Alnum,
    /// `ans`: any printable text.
    Printable,
}

/// A field format such as `n6` (exactly 6 digits), `n..12` (1 to 12 digits), `ans..40`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldFormat {
    class: Class,
    min: usize,
    max: usize,
}

/// A format string that does not parse.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("field format '{0}': expected n|an|ans followed by LEN or ..MAX (e.g. n6, ans..40)")]
pub struct FormatError(pub String);

impl FieldFormat {
    /// Parse `n6`, `n..12`, `an..15`, `ans..99`.
    pub fn parse(s: &str) -> Result<Self, FormatError> {
        let bad = || FormatError(s.to_owned());
        let (class, rest) = if let Some(r) = s.strip_prefix("ans") {
            (Class::Printable, r)
        } else if let Some(r) = s.strip_prefix("an") {
            (Class::Alnum, r)
        } else if let Some(r) = s.strip_prefix('n') {
            (Class::Numeric, r)
        } else {
            return Err(bad());
        };
        let (min, max) = match rest.strip_prefix("..") {
            Some(max) => (1, max.parse().map_err(|_| bad())?),
            None => {
                let n = rest.parse().map_err(|_| bad())?;
                (n, n)
            }
        };
        if max == 0 || min > max {
            return Err(bad());
        }
        Ok(FieldFormat { class, min, max })
    }

    /// True if `text` has this format.
    pub fn matches(&self, text: &str) -> bool {
        let len = text.chars().count();
        len >= self.min
            && len <= self.max
            && text.chars().all(|c| match self.class {
                Class::Numeric => c.is_ascii_digit(),
                Class::Alnum => c.is_ascii_alphanumeric(),
                Class::Printable => !c.is_control(),
            })
    }
}

/// `participant-config` for `core.CheckFields`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct CheckFieldsConfig {
    /// Fields that must be present.
    pub mandatory: Vec<u8>,
    /// Fields that may be present.
    pub optional: Vec<u8>,
    /// Formats by field number, overriding the CMF defaults.
    pub formats: BTreeMap<u8, String>,
    /// Accept fields outside both lists.
    pub allow_extra_fields: bool,
}

/// CMF formats checked unless overridden: processing code, STAN, local time, TID, MID, currency.
const CMF_FORMATS: &[(u8, &str)] = &[
    (3, "n6"),
    (7, "n10"),
    (11, "n..12"),
    (12, "n14"),
    (41, "ans..16"),
    (42, "ans..15"),
    (49, "n3"),
];

/// Checks the request's fields.
#[derive(Debug, Clone)]
pub struct CheckFields {
    mandatory: Vec<u8>,
    optional: Vec<u8>,
    formats: BTreeMap<u8, FieldFormat>,
    allow_extra: bool,
}

impl CheckFields {
    /// Build from configuration; bad format strings fail at deploy time.
    pub fn new(cfg: CheckFieldsConfig) -> Result<Self, FormatError> {
        let mut formats = BTreeMap::new();
        for (n, f) in CMF_FORMATS {
            formats.insert(*n, FieldFormat::parse(f)?);
        }
        for (n, f) in &cfg.formats {
            formats.insert(*n, FieldFormat::parse(f)?);
        }
        Ok(CheckFields {
            mandatory: cfg.mandatory,
            optional: cfg.optional,
            formats,
            allow_extra: cfg.allow_extra_fields,
        })
    }

    /// Check `msg`; the first failing code and a description of every failure, or `None` if it passes.
    pub fn check(&self, msg: &dyn FieldSource) -> Option<(ResultCode, String)> {
        let mut first = None;
        let mut text = String::new();
        let mut fail = |code: ResultCode, what: &str, fields: &[u8]| {
            if fields.is_empty() {
                return;
            }
            first.get_or_insert(code);
            if !text.is_empty() {
                text.push_str("; ");
            }
            text.push_str(what);
            for f in fields {
                let _ = write!(text, " {f}");
            }
        };
        let missing: Vec<u8> = self
            .mandatory
            .iter()
            .copied()
            .filter(|n| !msg.has_field(*n))
            .collect();
        let invalid: Vec<u8> = self
            .mandatory
            .iter()
            .chain(&self.optional)
            .copied()
            .filter(|n| msg.has_field(*n))
            .filter(|n| {
                self.formats
                    .get(n)
                    .is_some_and(|fmt| !msg.field_text(*n).is_some_and(|t| fmt.matches(t)))
            })
            .collect();
        let mut extra = Vec::new();
        if !self.allow_extra {
            msg.each_field(&mut |n| {
                if !self.mandatory.contains(&n) && !self.optional.contains(&n) {
                    extra.push(n);
                }
            });
        }
        fail(ResultCode::MISSING_FIELD, "missing field", &missing);
        fail(ResultCode::INVALID_FIELD, "invalid field", &invalid);
        fail(ResultCode::EXTRA_FIELD, "extra field", &extra);
        first.map(|code| (code, text))
    }
}

#[async_trait]
impl Participant for CheckFields {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        let outcome = match ctx.get(&REQUEST) {
            None => Some((
                ResultCode::INVALID_REQUEST,
                "no request in context".to_owned(),
            )),
            Some(req) => self.check(req),
        };
        match outcome {
            None => Action::PREPARED | Action::NO_JOIN | Action::READONLY,
            Some((code, text)) => {
                if !ctx.has(&RESULT_CODE) {
                    ctx.put_persistent(&RESULT_CODE, code);
                }
                ctx.put_persistent(&EXTENDED_RESULT, text);
                Action::ABORTED | Action::NO_JOIN | Action::READONLY
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso::IsoMsg;
    use crate::txn::TextMessage;

    fn checker() -> CheckFields {
        CheckFields::new(CheckFieldsConfig {
            mandatory: vec![3, 4, 11, 41],
            optional: vec![14, 22],
            formats: BTreeMap::from([(4, "n12".to_owned())]),
            allow_extra_fields: false,
        })
        .expect("valid config")
    }

    const GOOD: &[(u8, &str)] = &[
        (3, "000000"),
        (4, "000000001000"),
        (11, "000000000001"),
        (41, "TERM0001"),
    ];

    #[test]
    fn table() {
        let with = |extra: &[(u8, &str)], without: &[u8]| {
            let mut fields: Vec<(u8, &str)> = GOOD
                .iter()
                .copied()
                .filter(|(n, _)| !without.contains(n))
                .collect();
            fields.extend_from_slice(extra);
            TextMessage::new("2100", &fields)
        };
        type Want = Option<(ResultCode, &'static str)>;
        let cases: Vec<(&str, TextMessage, Want)> = vec![
            ("all mandatory", with(&[], &[]), None),
            ("plus optional", with(&[(14, "2912")], &[]), None),
            (
                "missing",
                with(&[], &[4, 41]),
                Some((ResultCode::MISSING_FIELD, "missing field 4 41")),
            ),
            (
                "extra",
                with(&[(60, "x"), (61, "y")], &[]),
                Some((ResultCode::EXTRA_FIELD, "extra field 60 61")),
            ),
            (
                "bad pcode",
                with(&[(3, "12AB56")], &[]),
                Some((ResultCode::INVALID_FIELD, "invalid field 3")),
            ),
            (
                "bad amount",
                with(&[(4, "12")], &[]),
                Some((ResultCode::INVALID_FIELD, "invalid field 4")),
            ),
            (
                "missing wins over extra, all listed",
                with(&[(60, "x")], &[11]),
                Some((
                    ResultCode::MISSING_FIELD,
                    "missing field 11; extra field 60",
                )),
            ),
        ];
        let c = checker();
        for (desc, msg, want) in cases {
            let got = c.check(&msg);
            assert_eq!(
                got.as_ref().map(|(rc, t)| (*rc, t.as_str())),
                want,
                "{desc}"
            );
        }
    }

    #[tokio::test]
    async fn prepare_sets_result_and_never_joins() {
        let c = checker();
        let mut ctx = Context::new();
        let a = c.prepare(1, &mut ctx).await;
        assert_eq!(a, Action::ABORTED | Action::NO_JOIN | Action::READONLY);
        assert_eq!(ctx.get(&RESULT_CODE), Some(&ResultCode::INVALID_REQUEST));

        let mut ctx = Context::new();
        let req = GOOD
            .iter()
            .fold(IsoMsg::with_mti("2100").expect("mti"), |m, (n, v)| {
                m.with(*n, v)
            });
        ctx.put(&REQUEST, req);
        assert_eq!(
            c.prepare(1, &mut ctx).await,
            Action::PREPARED | Action::NO_JOIN | Action::READONLY
        );
        assert!(!ctx.has(&RESULT_CODE));
    }

    #[test]
    fn formats_parse_and_match() {
        let cases = [
            ("n6", "123456", true),
            ("n6", "12345", false),
            ("n..3", "12", true),
            ("n..3", "", false),
            ("an..4", "ab1", true),
            ("an..4", "a b", false),
            ("ans..5", "a b!", true),
        ];
        for (f, text, ok) in cases {
            assert_eq!(
                FieldFormat::parse(f).map(|x| x.matches(text)),
                Ok(ok),
                "{f} {text:?}"
            );
        }
        for bad in ["x6", "n", "n..", "n0", "n..0", "nabc"] {
            assert!(FieldFormat::parse(bad).is_err(), "{bad}");
        }
    }
}
