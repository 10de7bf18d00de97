//! `jcard.PrepareResponse`: builds `RESPONSE` on both paths (an abort participant too): the request's
//! response MTI, its non-card fields echoed, DE 39 from `RESULT_CODE` (0000 when approved), DE 38 the
//! approval code (authorizations, financials, completions and reversals only — not 2814 or 2550),
//! DE 54 the balances. A retransmission gets the first transmission's DE 38/39/54.
//! Card data (DE 2, 35, 45, 52, 55) is never echoed.

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant, ResultCode, RESULT_CODE};

use super::request;
use crate::keys::{ADDITIONAL_AMOUNTS, APPROVAL_CODE, RESPONSE, TRANLOG_ID, TXN_TYPE};
use crate::txntype::MsgClass;

/// Builds the response.
#[derive(Debug, Default, Clone, Copy)]
pub struct PrepareResponse;

/// Fields copied from the request (68, 74, 97: a settlement's batch and totals).
pub const ECHO: &[u8] = &[
    3, 4, 7, 11, 12, 24, 32, 37, 41, 42, 56, 68, 74, 97, 102, 103,
];

/// True when the response carries an approval code: authorizations, financials, completions and
/// reversals; never network management (2814) or settlement (2550).
fn takes_approval_code(ctx: &Context) -> bool {
    ctx.get(&TXN_TYPE).is_some_and(|t| {
        matches!(
            t.class,
            MsgClass::Authorization
                | MsgClass::Financial
                | MsgClass::Completion
                | MsgClass::Reversal
        )
    })
}

fn build(ctx: &mut Context, approved_path: bool) {
    let Some(req) = request(ctx) else {
        return;
    };
    let mut resp = req.response_with(ECHO);
    let rc = ctx.get(&RESULT_CODE).copied().unwrap_or(if approved_path {
        ResultCode::APPROVED
    } else {
        ResultCode::SYSTEM_ERROR
    });
    resp.set(39, rc.as_de39());
    if rc.is_approved() && takes_approval_code(ctx) {
        if let Some(code) = ctx.get(&APPROVAL_CODE).cloned().or_else(|| {
            ctx.get(&TRANLOG_ID)
                .map(|id| format!("{:06}", id.rem_euclid(1_000_000)))
        }) {
            resp.set(38, &code);
            ctx.put(&APPROVAL_CODE, code);
        }
    }
    if let Some(de54) = ctx.get(&ADDITIONAL_AMOUNTS) {
        resp.set(54, de54);
    }
    ctx.put(&RESPONSE, resp);
}

#[async_trait]
impl Participant for PrepareResponse {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        build(ctx, true);
        Action::PREPARED | Action::READONLY
    }

    async fn commit(&self, _id: u64, ctx: &mut Context) {
        // RESULT_CODE may have been set by a retransmission's lookup after prepare; rebuild.
        build(ctx, true);
    }

    async fn prepare_for_abort(&self, _id: u64, ctx: &mut Context) -> Option<Action> {
        build(ctx, false);
        Some(Action::PREPARED | Action::NO_JOIN | Action::READONLY)
    }
}
