//! `acme.FraudScore`: the example custom participant. Declines (CMF 1002, suspected fraud) any request
//! whose amount (DE 4, last 12 digits) is above `max-amount` minor units; otherwise votes PREPARED.

use async_trait::async_trait;
use serde::Deserialize;
use switchyard::txn::{
    Action, Context, Participant, ParticipantRegistry, ResultCode, EXTENDED_RESULT, REQUEST,
    RESULT_CODE,
};

/// `participant-config` for `acme.FraudScore`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct FraudScoreConfig {
    /// Largest amount (minor units) accepted without a decline.
    pub max_amount: u64,
}

impl Default for FraudScoreConfig {
    fn default() -> Self {
        FraudScoreConfig {
            max_amount: 100_000,
        }
    }
}

/// CMF 1002: suspected fraud.
pub const SUSPECTED_FRAUD: ResultCode = ResultCode(1002);

/// Declines large amounts.
#[derive(Debug, Clone, Copy)]
pub struct FraudScore {
    max_amount: u64,
}

impl FraudScore {
    /// Build from configuration; `max-amount: 0` is rejected at deploy time.
    pub fn new(cfg: FraudScoreConfig) -> Result<Self, String> {
        if cfg.max_amount == 0 {
            return Err("max-amount: must be at least 1".to_owned());
        }
        Ok(FraudScore {
            max_amount: cfg.max_amount,
        })
    }
}

#[async_trait]
impl Participant for FraudScore {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        let amount = ctx
            .get(&REQUEST)
            .and_then(|r| r.get_str(4))
            .map(|de4| &de4[de4.len().saturating_sub(12)..])
            .and_then(|a| a.parse::<u64>().ok())
            .unwrap_or(0);
        if amount > self.max_amount {
            ctx.put_persistent(&RESULT_CODE, SUSPECTED_FRAUD);
            ctx.put_persistent(&EXTENDED_RESULT, format!("amount {amount} above limit"));
            return Action::ABORTED | Action::NO_JOIN | Action::READONLY;
        }
        Action::PREPARED | Action::NO_JOIN | Action::READONLY
    }
}

/// The one registration line: type name → factory from the typed config.
pub fn register(registry: &mut ParticipantRegistry) {
    registry.register_with_config("acme.FraudScore", FraudScore::new);
}
