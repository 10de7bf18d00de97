//! `core.Trace`: logs the context at prepare, commit and abort, with card data masked (jPOS `Trace`).
//!
//! Only entry names are logged, plus the result code, extended result and the request rendered through
//! the codec's `MaskPolicy` (PAN 6+4, track data wiped after the PAN, PIN block and secrets wiped).

use std::fmt::Write as _;

use async_trait::async_trait;

use crate::iso::MaskPolicy;
use crate::txn::keys::{EXTENDED_RESULT, REQUEST, RESULT_CODE};
use crate::txn::{Action, Context, Participant};

/// Logs the context through `tracing` at info level.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    mask: MaskPolicy,
}

impl Trace {
    /// A tracer masking with `mask` (the `protect` list from configuration).
    pub fn new(mask: MaskPolicy) -> Self {
        Trace { mask }
    }

    /// A one-line, masked description of the context.
    pub fn describe(&self, ctx: &Context) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "id={:?} entries=[{}]",
            ctx.id(),
            ctx.names().collect::<Vec<_>>().join(",")
        );
        if let Some(rc) = ctx.get(&RESULT_CODE) {
            let _ = write!(out, " rc={rc}");
        }
        if let Some(x) = ctx.get(&EXTENDED_RESULT) {
            let _ = write!(out, " extended={x:?}");
        }
        if let Some(req) = ctx.get(&REQUEST) {
            let _ = write!(out, " request=[{}]", self.mask.render_line(None, req));
        }
        out
    }
}

#[async_trait]
impl Participant for Trace {
    async fn prepare(&self, id: u64, ctx: &mut Context) -> Action {
        tracing::info!(id, phase = "prepare", context = %self.describe(ctx));
        Action::PREPARED | Action::READONLY
    }

    async fn commit(&self, id: u64, ctx: &mut Context) {
        tracing::info!(id, phase = "commit", context = %self.describe(ctx));
    }

    async fn abort(&self, id: u64, ctx: &mut Context) {
        tracing::info!(id, phase = "abort", context = %self.describe(ctx));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso::IsoMsg;
    use crate::txn::ResultCode;

    #[test]
    fn card_data_never_appears_in_clear() {
        let pan = "4111111111111111";
        let msg = IsoMsg::with_mti("2100")
            .expect("mti")
            .with(2, pan)
            .with(11, "000001")
            .with(35, "4111111111111111=29121010000000")
            .with(52, "A1B2C3D4E5F60718");
        let mut ctx = Context::new();
        ctx.put(&REQUEST, msg);
        ctx.put(&RESULT_CODE, ResultCode::MISSING_FIELD);
        let line = Trace::default().describe(&ctx);
        assert!(!line.contains(pan), "{line}");
        assert!(
            !line.contains("2912101"),
            "track discretionary data wiped: {line}"
        );
        assert!(!line.contains("A1B2C3"), "PIN block wiped: {line}");
        assert!(line.contains("11=000001"), "{line}");
        assert!(line.contains("rc=1802"), "{line}");
    }
}
