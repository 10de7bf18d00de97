//! The participants, one file each, and `build`, which creates one by registered name from its YAML
//! configuration.

mod authorization;
mod balance_inquiry;
mod check_acquirer;
mod check_card;
mod check_fields;
mod check_previous_reverse;
mod check_terminal;
mod check_velocity;
mod completion;
mod create_tranlog;
mod deposit;
mod fees;
mod financial;
mod log_it;
mod prepare_context;
mod prepare_response;
mod refund;
mod reversal;
mod select_account;
mod settlement;
mod transfer;
mod void;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use switchyard::iso::IsoMsg;
use switchyard::txn::{Action, Context, Participant, REQUEST};

pub use authorization::Authorization;
pub use balance_inquiry::BalanceInquiry;
pub use check_acquirer::CheckAcquirer;
pub use check_card::CheckCard;
pub use check_fields::{CheckFields, CheckFieldsConfig};
pub use check_previous_reverse::CheckPreviousReverse;
pub use check_terminal::CheckTerminal;
pub use check_velocity::CheckVelocity;
pub use completion::Completion;
pub use create_tranlog::{CreateTranLog, CreateTranLogConfig};
pub use deposit::Deposit;
pub use fees::Fees;
pub use financial::Financial;
pub use log_it::LogIt;
pub use prepare_context::PrepareContext;
pub use prepare_response::PrepareResponse;
pub use refund::Refund;
pub use reversal::Reversal;
pub use select_account::SelectAccount;
pub use settlement::{Settlement, Total, Totals};
pub use transfer::Transfer;
pub use void::Void;

use crate::error::JcardError;
use crate::keys::RETRANSMISSION;
use crate::Jcard;

/// Deserialize a participant's config (`Null` → default), naming the participant on error.
fn config<C: DeserializeOwned + Default>(
    name: &'static str,
    cfg: &serde_yaml::Value,
) -> Result<C, JcardError> {
    if cfg.is_null() {
        return Ok(C::default());
    }
    serde_yaml::from_value(cfg.clone()).map_err(|e| JcardError::Config {
        participant: name,
        reason: e.to_string(),
    })
}

/// Refuse any configuration for participants that take none.
fn no_config(name: &'static str, cfg: &serde_yaml::Value) -> Result<(), JcardError> {
    if cfg.is_null() || cfg.as_mapping().is_some_and(|m| m.is_empty()) {
        Ok(())
    } else {
        Err(JcardError::Config {
            participant: name,
            reason: "takes no configuration".to_owned(),
        })
    }
}

/// Create participant `name` (one of [`crate::NAMES`]) from `cfg`.
pub fn build(
    env: &Arc<Jcard>,
    name: &'static str,
    cfg: &serde_yaml::Value,
) -> Result<Arc<dyn Participant>, JcardError> {
    let e = Arc::clone(env);
    let p: Arc<dyn Participant> = match name {
        "jcard.CheckFields" => Arc::new(CheckFields::new(config(name, cfg)?)),
        "jcard.CreateTranLog" => Arc::new(CreateTranLog::new(e, config(name, cfg)?)),
        other => {
            no_config(name, cfg)?;
            match other {
                "jcard.PrepareContext" => Arc::new(PrepareContext),
                "jcard.CheckCard" => Arc::new(CheckCard(e)),
                "jcard.CheckTerminal" => Arc::new(CheckTerminal(e)),
                "jcard.CheckAcquirer" => Arc::new(CheckAcquirer(e)),
                "jcard.SelectAccount" => Arc::new(SelectAccount(e)),
                "jcard.CheckPreviousReverse" => Arc::new(CheckPreviousReverse(e)),
                "jcard.CheckVelocity" => Arc::new(CheckVelocity(e)),
                "jcard.Fees" => Arc::new(Fees(e)),
                "jcard.Authorization" => Arc::new(Authorization(e)),
                "jcard.Financial" => Arc::new(Financial(e)),
                "jcard.Completion" => Arc::new(Completion(e)),
                "jcard.Void" => Arc::new(Void(e)),
                "jcard.Reversal" => Arc::new(Reversal(e)),
                "jcard.Refund" => Arc::new(Refund(e)),
                "jcard.Deposit" => Arc::new(Deposit(e)),
                "jcard.Transfer" => Arc::new(Transfer(e)),
                "jcard.BalanceInquiry" => Arc::new(BalanceInquiry(e)),
                "jcard.Settlement" => Arc::new(Settlement(e)),
                "jcard.PrepareResponse" => Arc::new(PrepareResponse),
                "jcard.LogIt" => Arc::new(LogIt(e)),
                _ => {
                    return Err(JcardError::Config {
                        participant: name,
                        reason: "not a jcard participant".to_owned(),
                    })
                }
            }
        }
    };
    Ok(p)
}

/// The vote of a participant with nothing to do here.
/// The shared body of Authorization (pending layer) and Financial (accounting layer): a debit of the
/// cardholder for amount + fees, posted on `layer_offset` over the currency, tagged `tag`, in the
/// next group commit together with the tranlog row's approval (so the caller's `abort` must call
/// `money::compensate`).
pub(crate) async fn post_debit(
    env: &Arc<Jcard>,
    ctx: &mut Context,
    participant: &str,
    layer_offset: i16,
    tag: &str,
    not_a_debit: &str,
) -> Action {
    use crate::keys::{APPROVAL_CODE, TRANLOG_ID, TXN_TYPE};
    use crate::money::{debit_parts, debit_txn, decline, failed, group_vote, rc};
    if is_retransmission(ctx) {
        return pass();
    }
    let Some(tt) = ctx.get(&TXN_TYPE).cloned() else {
        return pass();
    };
    if !tt.is_debit() {
        return decline(ctx, rc::UNSUPPORTED_FUNCTION, not_a_debit);
    }
    let parts = match debit_parts(ctx) {
        Ok(Some(p)) => p,
        Ok(None) => {
            return decline(
                ctx,
                rc::SYSTEM_ERROR,
                "card, account or acquirer not checked",
            )
        }
        Err(e) => return failed(ctx, participant, &e),
    };
    let t = match debit_txn(&parts, tt.name(), layer_offset) {
        Ok(t) => t.tag(tag),
        Err(e) => return failed(ctx, participant, &e),
    };
    let tranlog = ctx.get(&TRANLOG_ID).copied().map(|id| {
        if ctx.get(&APPROVAL_CODE).is_none() {
            ctx.put(&APPROVAL_CODE, log_it::approval_code(id));
        }
        (id, log_it::finish_of(ctx, true))
    });
    group_vote(env, ctx, participant, t, tranlog).await
}

pub(crate) fn pass() -> Action {
    Action::PREPARED | Action::NO_JOIN | Action::READONLY
}

/// The request, or `None`.
pub(crate) fn request(ctx: &Context) -> Option<Arc<IsoMsg>> {
    ctx.get_arc(&REQUEST)
}

/// True when this request repeats one already answered (nothing may move again).
pub(crate) fn is_retransmission(ctx: &Context) -> bool {
    ctx.has(&RETRANSMISSION)
}
