//! `jcard.CheckTerminal`: the merchant DE 42 must be registered under acquirer DE 32 and active
//! (1821), and the terminal DE 41 known under that merchant (1819) and active (1820).

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass, request};
use crate::money::{decline, failed, rc};
use crate::store::{merchant_known, terminal_status};
use crate::Jcard;

/// Checks the terminal.
#[derive(Debug)]
pub struct CheckTerminal(pub Arc<Jcard>);

#[async_trait]
impl Participant for CheckTerminal {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let Some(req) = request(ctx) else {
            return pass();
        };
        let acq = req.get_str(32).unwrap_or("");
        // DE 41 is fixed length (ans16 in CMF): terminals are stored without the padding.
        let tid = req.get_str(41).unwrap_or("").trim_end();
        let Some(mid) = req.get_str(42).map(str::trim_end) else {
            return decline(ctx, rc::MISSING_FIELD, "missing field 42");
        };
        match terminal_status(&self.0.pool, acq, mid, tid).await {
            Ok(Some((true, true))) => pass(),
            Ok(Some((false, _))) => decline(ctx, rc::INVALID_MERCHANT, "merchant not active"),
            Ok(Some((true, false))) => decline(
                ctx,
                rc::INACTIVE_TERMINAL,
                format!("terminal {tid} not active"),
            ),
            Ok(None) => match merchant_known(&self.0.pool, acq, mid).await {
                Ok(true) => decline(ctx, rc::INVALID_TERMINAL, format!("unknown terminal {tid}")),
                Ok(false) => decline(ctx, rc::INVALID_MERCHANT, format!("unknown merchant {mid}")),
                Err(e) => failed(ctx, "jcard.CheckTerminal", &e),
            },
            Err(e) => failed(ctx, "jcard.CheckTerminal", &e),
        }
    }
}
