//! `jcard.Refund`: money back to the cardholder (DE 3 code 20): Dr acquirer, Cr cardholder — on the
//! accounting layer for a 200, the pending layer for a 100 (refund authorization). Fees, if the
//! product charges `Refund.*`, are taken from the cardholder in the same GL transaction.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::ledger::Layer;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass};
use crate::keys::TXN_TYPE;
use crate::money::{credit_txn, debit_parts, decline, failed, post_vote, rc};
use crate::txntype::MsgClass;
use crate::Jcard;

/// Posts refunds.
#[derive(Debug)]
pub struct Refund(pub Arc<Jcard>);

#[async_trait]
impl Participant for Refund {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let Some(tt) = ctx.get(&TXN_TYPE).cloned() else {
            return pass();
        };
        let offset = if tt.class == MsgClass::Authorization {
            Layer::PENDING
        } else {
            Layer::ACCOUNTING
        };
        let parts = match debit_parts(ctx) {
            Ok(Some(p)) => p,
            Ok(None) => {
                return decline(
                    ctx,
                    rc::SYSTEM_ERROR,
                    "card, account or acquirer not checked",
                )
            }
            Err(e) => return failed(ctx, "jcard.Refund", &e),
        };
        match credit_txn(&parts, "Refund", offset) {
            Ok(t) => post_vote(&self.0, ctx, "jcard.Refund", t.tag("refund")).await,
            Err(e) => failed(ctx, "jcard.Refund", &e),
        }
    }
}
