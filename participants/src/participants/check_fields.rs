//! `jcard.CheckFields`: mandatory fields per transaction type (routing key `200.00`, longest prefix
//! wins, like the selector). A missing field declines with 1802 naming it.
//!
//! Config: `{ mandatory: { "200": [3, 4, 7, 11, 12, 32, 41], "200.02": [..., 56] } }` replaces the
//! built-in table entry for each key it names.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Deserialize;
use switchyard::txn::selector::routing_key;
use switchyard::txn::{Action, Context, Participant};

use super::request;
use crate::money::{decline, rc};

/// CheckFields configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckFieldsConfig {
    /// Route key → mandatory fields; merged over the defaults.
    #[serde(default)]
    pub mandatory: BTreeMap<String, Vec<u8>>,
}

/// Checks mandatory fields.
#[derive(Debug, Clone)]
pub struct CheckFields {
    /// Sorted longest key first.
    table: Vec<(String, Vec<u8>)>,
}

const CARD: &[u8] = &[3, 4, 7, 11, 12, 32, 41];
const ORIGINAL: &[u8] = &[3, 4, 7, 11, 12, 32, 41, 56];

fn defaults() -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for k in ["100", "200", "220"] {
        m.insert(k.to_owned(), CARD.to_vec());
    }
    for k in ["100.02", "100.22", "200.02", "220", "400", "420"] {
        m.insert(k.to_owned(), ORIGINAL.to_vec());
    }
    m.insert("200.40".to_owned(), CARD.to_vec());
    m.insert("804".to_owned(), vec![7, 11, 24]);
    m.insert("540".to_owned(), vec![7, 11, 41]);
    m
}

impl CheckFields {
    /// A checker with the defaults overridden by `cfg`.
    pub fn new(cfg: CheckFieldsConfig) -> CheckFields {
        let mut m = defaults();
        m.extend(cfg.mandatory);
        let mut table: Vec<_> = m.into_iter().collect();
        table.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        CheckFields { table }
    }

    /// The mandatory fields for routing key `key`.
    pub fn mandatory(&self, key: &str) -> &[u8] {
        self.table
            .iter()
            .find(|(k, _)| key.starts_with(k.as_str()))
            .map_or(&[][..], |(_, v)| &v[..])
    }
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
        let missing: Vec<String> = self
            .mandatory(&key)
            .iter()
            .filter(|f| !req.has(**f))
            .map(|f| f.to_string())
            .collect();
        if !missing.is_empty() {
            return decline(
                ctx,
                rc::MISSING_FIELD,
                format!("missing field(s) {}", missing.join(", ")),
            );
        }
        let needs_card = ["100", "200", "220"].iter().any(|p| key.starts_with(p));
        if needs_card && !req.has(2) && !req.has(35) {
            return decline(ctx, rc::MISSING_FIELD, "missing field 2 (or 35)");
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
        });
        assert_eq!(c.mandatory("200.01"), &[3]);
        assert_eq!(c.mandatory("200.02"), ORIGINAL);
        assert_eq!(c.mandatory("200.00"), CARD);
        assert_eq!(c.mandatory("420.00"), ORIGINAL);
        assert!(c.mandatory("999").is_empty());
    }
}
