//! `jcard.Deposit`: a deposit or payment (DE 3 code 21) into the "to" account: Dr acquirer, Cr
//! cardholder on the accounting layer (a payment to a credit account lowers what is owed); fees, if
//! any, are taken from the cardholder in the same GL transaction.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass};
use crate::money::{credit_txn, debit_parts, decline, failed, post_vote, rc};
use crate::Jcard;

/// Posts deposits.
#[derive(Debug)]
pub struct Deposit(pub Arc<Jcard>);

#[async_trait]
impl Participant for Deposit {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
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
            Err(e) => return failed(ctx, "jcard.Deposit", &e),
        };
        match credit_txn(&parts, "Deposit", 0) {
            Ok(t) => post_vote(&self.0, ctx, "jcard.Deposit", t.tag("deposit")).await,
            Err(e) => failed(ctx, "jcard.Deposit", &e),
        }
    }
}
