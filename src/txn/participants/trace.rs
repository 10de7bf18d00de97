//! `core.Trace`: logs the context at prepare, commit and abort, with card data masked (jPOS `Trace`).
//!
//! Only entry names are logged, plus the result code, extended result and the request's fields; PAN
//! (DE 2) shows first 6 + last 4, track 2 (DE 35) its masked PAN only, and PIN block, track 1, CVV-bearing
//! and chip data (DE 45, 52, 55) are wiped.

use std::fmt::Write as _;

use async_trait::async_trait;

use crate::txn::keys::{EXTENDED_RESULT, REQUEST, RESULT_CODE};
use crate::txn::message::FieldSource;
use crate::txn::{Action, Context, Participant};

/// Fields never shown, not even masked.
const WIPED: &[u8] = &[45, 52, 55];

/// Logs the context through `tracing` at info level.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trace;

/// `first 6 + **** + last 4` for a PAN; fully starred if too short to mask safely.
pub fn mask_pan(pan: &str) -> String {
    let n = pan.chars().count();
    if n < 13 || !pan.is_ascii() {
        return "*".repeat(n);
    }
    format!("{}{}{}", &pan[..6], "*".repeat(n - 10), &pan[n - 4..])
}

fn show_field(n: u8, text: Option<&str>) -> String {
    match (n, text) {
        (_, _) if WIPED.contains(&n) => "[wiped]".to_owned(),
        (2, Some(pan)) => mask_pan(pan),
        (35, Some(track)) => {
            let pan = track.split(['=', 'D', 'd']).next().unwrap_or("");
            format!("{}=[wiped]", mask_pan(pan))
        }
        (_, Some(t)) => t.to_owned(),
        (_, None) => "[binary]".to_owned(),
    }
}

/// A one-line, masked description of the context.
pub fn describe(ctx: &Context) -> String {
    let mut out = String::new();
    let _ = write!(out, "id={:?} entries=[{}]", ctx.id(), ctx.names().collect::<Vec<_>>().join(","));
    if let Some(rc) = ctx.get(&RESULT_CODE) {
        let _ = write!(out, " rc={rc}");
    }
    if let Some(x) = ctx.get(&EXTENDED_RESULT) {
        let _ = write!(out, " extended={x:?}");
    }
    if let Some(req) = ctx.get(&REQUEST) {
        let req: &dyn FieldSource = req.as_ref();
        let _ = write!(out, " mti={}", req.mti_text().unwrap_or("-"));
        req.each_field(&mut |n| {
            let _ = write!(out, " {n}={}", show_field(n, req.field_text(n)));
        });
    }
    out
}

#[async_trait]
impl Participant for Trace {
    async fn prepare(&self, id: u64, ctx: &mut Context) -> Action {
        tracing::info!(id, phase = "prepare", context = %describe(ctx));
        Action::PREPARED | Action::READONLY
    }

    async fn commit(&self, id: u64, ctx: &mut Context) {
        tracing::info!(id, phase = "commit", context = %describe(ctx));
    }

    async fn abort(&self, id: u64, ctx: &mut Context) {
        tracing::info!(id, phase = "abort", context = %describe(ctx));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::txn::keys::Request;
    use crate::txn::TextMessage;

    #[test]
    fn card_data_never_appears_in_clear() {
        let pan = "4111111111111111";
        let msg = TextMessage::new(
            "2100",
            &[(2, pan), (11, "000001"), (35, "4111111111111111=29121010000000"), (52, "A1B2C3D4E5F60718")],
        );
        let mut ctx = Context::new();
        ctx.put(&REQUEST, Arc::new(msg) as Request);
        let line = describe(&ctx);
        assert!(!line.contains(pan), "{line}");
        assert!(!line.contains("2912101"), "track discretionary data wiped: {line}");
        assert!(!line.contains("A1B2C3"), "PIN block wiped: {line}");
        assert!(line.contains("2=411111******1111"), "{line}");
        assert!(line.contains("11=000001"), "{line}");
    }

    #[test]
    fn short_pans_are_fully_starred() {
        assert_eq!(mask_pan("123456789"), "*********");
    }
}
