//! `jcard.CheckAcquirer`: the acquirer named by DE 32 must exist and be active (else 1823); its
//! transaction and fee accounts are what money participants credit. Found acquirers come through the
//! reference-data cache (`cache`): a status change takes effect within its TTL, a new acquirer at once.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass, request};
use crate::keys::ACQUIRER;
use crate::money::{decline, failed, rc};
use crate::store::find_acquirer;
use crate::Jcard;

/// Checks the acquirer.
#[derive(Debug)]
pub struct CheckAcquirer(pub Arc<Jcard>);

#[async_trait]
impl Participant for CheckAcquirer {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let Some(req) = request(ctx) else {
            return pass();
        };
        let Some(acq) = req.get_str(32) else {
            return decline(ctx, rc::MISSING_FIELD, "missing field 32");
        };
        let env = &self.0;
        let found = env
            .cache
            .acquirers
            .get_or_load(acq.to_owned(), find_acquirer(&env.pool, acq))
            .await;
        match found {
            Ok(Some((info, true))) => {
                ctx.put(&ACQUIRER, info);
                pass()
            }
            Ok(Some((_, false))) => decline(ctx, rc::INVALID_ACQUIRER, "acquirer not active"),
            Ok(None) => decline(ctx, rc::INVALID_ACQUIRER, format!("unknown acquirer {acq}")),
            Err(e) => failed(ctx, "jcard.CheckAcquirer", &e),
        }
    }
}
