//! `jcard.Authorization`: a hold on the pending layer (currency + 1000): Dr cardholder amount + fees,
//! Cr acquirer amount, Cr fee accounts. Available balance drops, accounting balance does not; a
//! completion (220) later releases the hold and posts the completed amount.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::ledger::Layer;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass};
use crate::keys::TXN_TYPE;
use crate::money::{debit_parts, debit_txn, decline, failed, post_vote, rc};
use crate::Jcard;

/// Posts authorization holds.
#[derive(Debug)]
pub struct Authorization(pub Arc<Jcard>);

#[async_trait]
impl Participant for Authorization {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let Some(tt) = ctx.get(&TXN_TYPE).cloned() else {
            return pass();
        };
        if !tt.is_debit() {
            return decline(
                ctx,
                rc::UNSUPPORTED_FUNCTION,
                "not an authorization of a debit",
            );
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
            Err(e) => return failed(ctx, "jcard.Authorization", &e),
        };
        match debit_txn(&parts, tt.name(), Layer::PENDING) {
            Ok(t) => post_vote(&self.0, ctx, "jcard.Authorization", t.tag("authorization")).await,
            Err(e) => failed(ctx, "jcard.Authorization", &e),
        }
    }
}
