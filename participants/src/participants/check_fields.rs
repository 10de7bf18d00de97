//! `jcard.CheckFields`: the fields each transaction type must carry (mandatory) and may carry
//! (optional), by routing key (`200.00`, longest prefix wins, like the selector). A missing mandatory
//! field declines with 1802 naming it; a field that is neither mandatory nor optional for the type
//! declines with 1803 (extra field) naming it. The lists follow the jPOS CMF message tables (see
//! docs/jcard.md); a key without an optional list is not checked for extra fields.
//!
//! Config: `{ mandatory: { "200": [3, 4, 7, 11, 12, 32, 41] }, optional: { "200": [2, 14, 35] } }`
//! replaces the built-in entry for each key it names; `allow-extra-fields: true` turns the 1803 check
//! off.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Deserialize;
use switchyard::txn::selector::routing_key;
use switchyard::txn::{Action, Context, Participant};

use super::request;
use crate::money::{decline, rc};

/// CheckFields configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckFieldsConfig {
    /// Route key → mandatory fields; merged over the defaults.
    #[serde(default)]
    pub mandatory: BTreeMap<String, Vec<u8>>,
    /// Route key → optional fields; merged over the defaults.
    #[serde(default)]
    pub optional: BTreeMap<String, Vec<u8>>,
    /// Accept fields that are neither mandatory nor optional (no 1803), as `core.CheckFields` does.
    #[serde(default)]
    pub allow_extra_fields: bool,
}

/// Checks mandatory and extra fields.
#[derive(Debug, Clone)]
pub struct CheckFields {
    /// Mandatory fields, sorted longest key first.
    mandatory: Vec<(String, Vec<u8>)>,
    /// Optional fields, sorted longest key first.
    optional: Vec<(String, Vec<u8>)>,
    /// No extra-field check.
    allow_extra: bool,
}

const CARD: &[u8] = &[3, 4, 7, 11, 12, 32, 41];
const ORIGINAL: &[u8] = &[3, 4, 7, 11, 12, 32, 41, 56];
const SETTLEMENT: &[u8] = &[7, 11, 12, 24, 32, 41, 42, 68, 74, 97];
const NETWORK: &[u8] = &[7, 11, 24];

/// What a card request (100, 200, 220) may carry besides its mandatory fields: the CMF tables'
/// request fields (PAN or track 2, dates, POS data, function and reason codes, MCC, original
/// amounts, RRN, merchant, acquirer fees, currency, PIN and chip data, transport and display data,
/// handback data) plus jCard's account identifications (102/103) and private data (113).
const CARD_OPTIONAL: &[u8] = &[
    2, 13, 14, 21, 22, 23, 24, 25, 26, 27, 30, 33, 35, 36, 37, 42, 43, 45, 46, 49, 52, 53, 55, 59,
    63, 68, 102, 103, 111, 113,
];
/// Fields of a message that names an original (void, completion, reversal, refund): the card
/// request's, plus DE 56 and the original's approval and result codes (38, 39).
const NAMING_OPTIONAL: &[u8] = &[
    2, 13, 14, 21, 22, 23, 24, 25, 26, 27, 30, 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 49, 52, 53,
    55, 56, 59, 63, 68, 102, 103, 111, 113,
];
const NETWORK_OPTIONAL: &[u8] = &[
    12, 25, 32, 33, 39, 41, 42, 53, 59, 63, 70, 96, 100, 111, 113,
];
const SETTLEMENT_OPTIONAL: &[u8] = &[13, 28, 29, 50, 59, 63, 111, 113];

fn table(pairs: &[(&[&str], &[u8])]) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for (keys, fields) in pairs {
        for k in *keys {
            m.insert((*k).to_owned(), fields.to_vec());
        }
    }
    m
}

fn default_mandatory() -> BTreeMap<String, Vec<u8>> {
    table(&[
        (&["100", "200", "220", "200.40", "220.20"], CARD),
        (
            &["100.02", "100.22", "200.02", "200.22", "220", "400", "420"],
            ORIGINAL,
        ),
        (&["800", "804"], NETWORK),
        (&["540"], SETTLEMENT),
    ])
}

fn default_optional() -> BTreeMap<String, Vec<u8>> {
    table(&[
        (&["100", "200", "200.40"], CARD_OPTIONAL),
        (
            &[
                "100.02", "100.20", "100.22", "200.02", "200.20", "200.22", "220", "400", "420",
            ],
            NAMING_OPTIONAL,
        ),
        (&["800", "804"], NETWORK_OPTIONAL),
        (&["540"], SETTLEMENT_OPTIONAL),
    ])
}

fn sorted(m: BTreeMap<String, Vec<u8>>) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = m.into_iter().collect();
    v.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    v
}

fn lookup<'a>(table: &'a [(String, Vec<u8>)], key: &str) -> Option<&'a [u8]> {
    table
        .iter()
        .find(|(k, _)| key.starts_with(k.as_str()))
        .map(|(_, v)| &v[..])
}

impl CheckFields {
    /// A checker with the defaults overridden by `cfg`.
    pub fn new(cfg: CheckFieldsConfig) -> CheckFields {
        let mut mandatory = default_mandatory();
        mandatory.extend(cfg.mandatory);
        let mut optional = default_optional();
        optional.extend(cfg.optional);
        CheckFields {
            mandatory: sorted(mandatory),
            optional: sorted(optional),
            allow_extra: cfg.allow_extra_fields,
        }
    }

    /// The mandatory fields for routing key `key`.
    pub fn mandatory(&self, key: &str) -> &[u8] {
        lookup(&self.mandatory, key).unwrap_or_default()
    }

    /// The optional fields for routing key `key`; `None` when extra fields are not checked.
    pub fn optional(&self, key: &str) -> Option<&[u8]> {
        lookup(&self.optional, key)
    }

    /// The fields of `present` that routing key `key` neither requires nor allows.
    pub fn extra(&self, key: &str, present: impl Iterator<Item = u8>) -> Vec<u8> {
        let Some(optional) = self.optional(key).filter(|_| !self.allow_extra) else {
            return Vec::new();
        };
        let mandatory = self.mandatory(key);
        present
            .filter(|f| *f > 1 && !mandatory.contains(f) && !optional.contains(f))
            .collect()
    }
}

fn list(fields: &[u8]) -> String {
    fields
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl Participant for CheckFields {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        let Some(req) = request(ctx) else {
            return decline(
                ctx,
                switchyard::txn::ResultCode::INVALID_REQUEST,
                "no request",
            );
        };
        let mut buf = [0u8; 6];
        let key = routing_key(&*req, &mut buf).unwrap_or("").to_owned();
        let missing: Vec<u8> = self
            .mandatory(&key)
            .iter()
            .copied()
            .filter(|f| !req.has(*f))
            .collect();
        if !missing.is_empty() {
            return decline(
                ctx,
                rc::MISSING_FIELD,
                format!("missing field(s) {}", list(&missing)),
            );
        }
        let needs_card = ["100", "200", "220"].iter().any(|p| key.starts_with(p));
        if needs_card && !req.has(2) && !req.has(35) {
            return decline(ctx, rc::MISSING_FIELD, "missing field 2 (or 35)");
        }
        let extra = self.extra(&key, req.field_numbers());
        if !extra.is_empty() {
            return decline(
                ctx,
                rc::EXTRA_FIELD,
                format!("extra field(s) {} for {key}", list(&extra)),
            );
        }
        Action::PREPARED | Action::NO_JOIN | Action::READONLY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_and_overrides() {
        let c = CheckFields::new(CheckFieldsConfig {
            mandatory: [("200.01".to_owned(), vec![3])].into_iter().collect(),
            optional: [("200.01".to_owned(), vec![2])].into_iter().collect(),
            allow_extra_fields: false,
        });
        assert_eq!(c.mandatory("200.01"), &[3]);
        assert_eq!(c.mandatory("200.02"), ORIGINAL);
        assert_eq!(c.mandatory("200.00"), CARD);
        assert_eq!(
            c.mandatory("220.20"),
            CARD,
            "a refund advice names no original"
        );
        assert_eq!(c.mandatory("420.00"), ORIGINAL);
        assert!(c.mandatory("999").is_empty());
        assert_eq!(c.optional("200.01"), Some(&[2u8][..]));
        assert!(c.optional("999").is_none());
    }

    #[test]
    fn extra_fields_are_neither_mandatory_nor_optional() {
        let c = CheckFields::new(CheckFieldsConfig::default());
        let purchase = [2u8, 3, 4, 7, 11, 12, 14, 32, 37, 41, 42];
        assert!(c.extra("200.00", purchase.iter().copied()).is_empty());
        let with_56 = [2u8, 3, 4, 7, 11, 12, 32, 41, 56, 74];
        assert_eq!(c.extra("200.00", with_56.iter().copied()), vec![56, 74]);
        assert!(c.extra("200.02", with_56[..9].iter().copied()).is_empty());
        assert_eq!(c.extra("804", [7u8, 11, 24, 2].into_iter()), vec![2]);
        assert!(
            c.extra("999", [2u8, 90].into_iter()).is_empty(),
            "no list, no check"
        );
        let lenient = CheckFields::new(CheckFieldsConfig {
            allow_extra_fields: true,
            ..CheckFieldsConfig::default()
        });
        assert!(lenient.extra("200.00", with_56.iter().copied()).is_empty());
    }
}
