//! `jcard.Financial`: purchase (00), cash (01), cashback (09) and quasi-cash (11) on the accounting
//! layer: Dr cardholder amount + fees, Cr acquirer amount, Cr fee accounts — one GL transaction. The
//! ledger's min-balance rule under the account lock decides NSF (1016), so concurrent purchases on one
//! card never overdraw it.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant};

use super::post_debit;
use crate::money::compensate;
use crate::Jcard;

/// Posts financial debits.
#[derive(Debug)]
pub struct Financial(pub Arc<Jcard>);

#[async_trait]
impl Participant for Financial {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        post_debit(
            &self.0,
            ctx,
            "jcard.Financial",
            0,
            "financial",
            "not a financial debit",
        )
        .await
    }

    /// The post was committed in `prepare` (group commit): offset it.
    async fn abort(&self, _id: u64, ctx: &mut Context) {
        compensate(&self.0, ctx, "jcard.Financial").await;
    }
}
