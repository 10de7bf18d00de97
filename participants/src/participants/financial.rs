//! `jcard.Financial`: purchase (00), cash (01), cashback (09) and quasi-cash (11) on the accounting
//! layer: Dr cardholder amount + fees, Cr acquirer amount, Cr fee accounts — one GL transaction. The
//! ledger's min-balance rule under the account lock decides NSF (1016), so concurrent purchases on one
//! card never overdraw it.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass};
use crate::keys::TXN_TYPE;
use crate::money::{debit_parts, debit_txn, decline, failed, post_vote, rc};
use crate::Jcard;

/// Posts financial debits.
#[derive(Debug)]
pub struct Financial(pub Arc<Jcard>);

#[async_trait]
impl Participant for Financial {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let Some(tt) = ctx.get(&TXN_TYPE).cloned() else {
            return pass();
        };
        if !tt.is_debit() {
            return decline(ctx, rc::UNSUPPORTED_FUNCTION, "not a financial debit");
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
            Err(e) => return failed(ctx, "jcard.Financial", &e),
        };
        match debit_txn(&parts, tt.name(), 0) {
            Ok(t) => post_vote(&self.0, ctx, "jcard.Financial", t.tag("financial")).await,
            Err(e) => failed(ctx, "jcard.Financial", &e),
        }
    }
}
