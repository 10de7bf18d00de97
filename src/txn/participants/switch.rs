//! `core.Switch`: the MTI / processing-code selector as a configurable participant.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::txn::selector::{MtiPcodeSelector, SelectorError};

/// `selector: { kind: mti-pcode, routes: {...} }` — route key → group names (`default` is the fallback).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchConfig {
    /// Route key (`"200.00"`, `"420"`, `default`) → groups to run, in order.
    pub routes: BTreeMap<String, Vec<String>>,
}

impl SwitchConfig {
    /// Build the selector; bad route keys fail here (unknown groups fail when the chain is built).
    pub fn build(self) -> Result<MtiPcodeSelector, SelectorError> {
        MtiPcodeSelector::new(self.routes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_from_yaml_shaped_config() {
        let cfg: SwitchConfig = serde_json::from_value(serde_json::json!({
            "routes": {"200.00": ["financial", "sendresponse"], "default": ["sendresponse"]}
        }))
        .expect("parses");
        let sel = cfg.build().expect("valid");
        assert_eq!(
            sel.route("200.00"),
            ["financial".to_owned(), "sendresponse".to_owned()]
        );
        assert_eq!(sel.route("804"), ["sendresponse".to_owned()]);
        let bad: Result<SwitchConfig, _> = serde_json::from_value(serde_json::json!({"route": {}}));
        assert!(bad.is_err(), "unknown keys are rejected");
    }
}
