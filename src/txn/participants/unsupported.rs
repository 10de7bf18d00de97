//! `core.Unsupported`: votes abort with the "unsupported transaction" result, so that a request no
//! group handles still gets an answer from a `core.SendResponse` later in the chain.
//!
//! The default code is jPOS `CMF.UNSUPPORTED_TRANSACTION` (1061); `result-code: 1015` gives
//! `CMF.UNSUPPORTED_FUNCTION` instead.

use async_trait::async_trait;
use serde::Deserialize;

use crate::txn::keys::{EXTENDED_RESULT, RESULT_CODE};
use crate::txn::{Action, Context, Participant, ResultCode};

/// `participant-config` for `core.Unsupported`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct UnsupportedConfig {
    /// The CMF result code to answer with.
    pub result_code: u16,
}

impl Default for UnsupportedConfig {
    fn default() -> Self {
        UnsupportedConfig {
            result_code: ResultCode::UNSUPPORTED_TRANSACTION.0,
        }
    }
}

/// Always votes abort with its result code.
#[derive(Debug, Clone, Copy)]
pub struct Unsupported {
    code: ResultCode,
}

impl Unsupported {
    /// A participant answering with `cfg.result_code`; it must be a decline (1000..=9999).
    pub fn new(cfg: UnsupportedConfig) -> Result<Self, String> {
        if !(1000..=9999).contains(&cfg.result_code) {
            return Err(format!(
                "result-code {}: expected a decline code 1000..=9999",
                cfg.result_code
            ));
        }
        Ok(Unsupported {
            code: ResultCode(cfg.result_code),
        })
    }
}

#[async_trait]
impl Participant for Unsupported {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        ctx.put_persistent(&RESULT_CODE, self.code);
        ctx.put_persistent(&EXTENDED_RESULT, "unsupported transaction".to_owned());
        Action::ABORTED | Action::NO_JOIN | Action::READONLY
    }

    async fn prepare_for_abort(&self, _id: u64, ctx: &mut Context) -> Option<Action> {
        // Already aborting: the first decline's code (e.g. 1802 missing field) is the answer.
        if !ctx.has(&RESULT_CODE) {
            ctx.put_persistent(&RESULT_CODE, self.code);
            ctx.put_persistent(&EXTENDED_RESULT, "unsupported transaction".to_owned());
        }
        Some(Action::ABORTED | Action::NO_JOIN | Action::READONLY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn aborts_with_its_code() {
        let p = Unsupported::new(UnsupportedConfig::default()).expect("valid");
        let mut ctx = Context::new();
        assert!(!p.prepare(1, &mut ctx).await.is_prepared());
        assert_eq!(ctx.get(&RESULT_CODE), Some(&ResultCode(1061)));
        assert!(Unsupported::new(UnsupportedConfig { result_code: 0 }).is_err());
    }

    #[tokio::test]
    async fn an_earlier_decline_keeps_its_code() {
        let p = Unsupported::new(UnsupportedConfig { result_code: 1015 }).expect("valid");
        let mut ctx = Context::new();
        ctx.put(&RESULT_CODE, ResultCode(1802));
        assert!(p.prepare_for_abort(1, &mut ctx).await.is_some());
        assert_eq!(ctx.get(&RESULT_CODE), Some(&ResultCode(1802)));
        let mut fresh = Context::new();
        assert!(p.prepare_for_abort(1, &mut fresh).await.is_some());
        assert_eq!(fresh.get(&RESULT_CODE), Some(&ResultCode(1015)));
    }
}
