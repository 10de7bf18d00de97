//! `jcard.CheckTerminal`: the merchant DE 42 must be registered under acquirer DE 32 and active
//! (1821), and the terminal DE 41 known under that merchant (1819) and active (1820). Found terminals
//! and merchants come through the reference-data cache (`cache`): a status change takes effect within
//! its TTL, a new terminal or merchant at once.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass, request};
use crate::cache::{MerchantKey, TerminalKey};
use crate::money::{decline, failed, rc};
use crate::store::{merchant_known, terminal_status};
use crate::Jcard;

/// Checks the terminal.
#[derive(Debug)]
pub struct CheckTerminal(pub Arc<Jcard>);

impl CheckTerminal {
    /// True if merchant `mid` is registered under acquirer `acq` (only known merchants are cached).
    async fn merchant_known(&self, acq: &str, mid: &str) -> Result<bool, crate::JcardError> {
        let env = &self.0;
        let key = MerchantKey {
            acquirer: acq.to_owned(),
            mid: mid.to_owned(),
        };
        let load = async {
            let known = merchant_known(&env.pool, acq, mid).await?;
            Ok::<_, crate::JcardError>(known.then_some(()))
        };
        Ok(env.cache.merchants.get_or_load(key, load).await?.is_some())
    }
}

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
        let env = &self.0;
        let key = TerminalKey {
            acquirer: acq.to_owned(),
            mid: mid.to_owned(),
            tid: tid.to_owned(),
        };
        let status = env
            .cache
            .terminals
            .get_or_load(key, terminal_status(&env.pool, acq, mid, tid))
            .await;
        match status {
            Ok(Some((true, true))) => pass(),
            Ok(Some((false, _))) => decline(ctx, rc::INVALID_MERCHANT, "merchant not active"),
            Ok(Some((true, false))) => decline(
                ctx,
                rc::INACTIVE_TERMINAL,
                format!("terminal {tid} not active"),
            ),
            Ok(None) => match self.merchant_known(acq, mid).await {
                Ok(true) => decline(ctx, rc::INVALID_TERMINAL, format!("unknown terminal {tid}")),
                Ok(false) => decline(ctx, rc::INVALID_MERCHANT, format!("unknown merchant {mid}")),
                Err(e) => failed(ctx, "jcard.CheckTerminal", &e),
            },
            Err(e) => failed(ctx, "jcard.CheckTerminal", &e),
        }
    }
}
