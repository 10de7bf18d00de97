//! `jcard.CheckPreviousReverse`: a reversal may arrive before the transaction it reverses (the
//! acquirer timed out and the original was delayed). When a reversal naming this request in its DE 56
//! (MTI + STAN + local time + acquirer) is already logged, the late original is declined with 1824 and
//! moves no money.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass, request};
use crate::keys::TXN_TYPE;
use crate::money::{decline, failed, rc};
use crate::Jcard;

/// Declines originals already reversed.
#[derive(Debug)]
pub struct CheckPreviousReverse(pub Arc<Jcard>);

#[async_trait]
impl Participant for CheckPreviousReverse {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let (Some(req), Some(tt)) = (request(ctx), ctx.get(&TXN_TYPE).cloned()) else {
            return pass();
        };
        let f = |n: u8| req.get_str(n).unwrap_or("");
        let key = format!("{}{}{}{}", tt.mti, f(11), f(12), f(32));
        let found = self.0.batches.reversed_before(key).await;
        match found {
            Ok(true) => decline(ctx, rc::PREVIOUSLY_REVERSED, "reversed before it arrived"),
            Ok(false) => pass(),
            Err(e) => failed(ctx, "jcard.CheckPreviousReverse", &e),
        }
    }
}
