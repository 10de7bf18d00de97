//! `jcard.Authorization`: a hold on the pending layer (currency + 1000): Dr cardholder amount + fees,
//! Cr acquirer amount, Cr fee accounts. Available balance drops, accounting balance does not; a
//! completion (220) later releases the hold and posts the completed amount.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::ledger::Layer;
use switchyard::txn::{Action, Context, Participant};

use super::post_debit;
use crate::money::compensate;
use crate::Jcard;

/// Posts authorization holds.
#[derive(Debug)]
pub struct Authorization(pub Arc<Jcard>);

#[async_trait]
impl Participant for Authorization {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        post_debit(
            &self.0,
            ctx,
            "jcard.Authorization",
            Layer::PENDING,
            "authorization",
            "not an authorization of a debit",
        )
        .await
    }

    /// The post was committed in `prepare` (group commit): offset it.
    async fn abort(&self, _id: u64, ctx: &mut Context) {
        compensate(&self.0, ctx, "jcard.Authorization").await;
    }
}
