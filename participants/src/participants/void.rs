//! `jcard.Void`: cancels the transaction DE 56 names — a purchase-type 200 (200.02), an authorization
//! (100.02) or a refund (100.22 / 200.22) — by posting the offset of its GL transaction. Unknown or
//! declined original → 1816; reversed → 1824; already voided → 1827; a completed authorization →
//! 1826.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass, request};
use crate::keys::{ORIGINAL, ORIGINAL_MARK};
use crate::money::{
    begin, decline, failed, hold, lock_named_original, offset_of, post_and_hold, rc, Posting,
};
use crate::Jcard;

/// Posts voids.
#[derive(Debug)]
pub struct Void(pub Arc<Jcard>);

#[async_trait]
impl Participant for Void {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let Some(req) = request(ctx) else {
            return pass();
        };
        let mut tx = match begin(&self.0).await {
            Ok(tx) => tx,
            Err(e) => return failed(ctx, "jcard.Void", &e),
        };
        let orig = match lock_named_original(&mut tx, req.get_string(56), &["10", "20"]).await {
            Ok(Some(o)) if o.result_code.as_deref() == Some("0000") => o,
            Ok(_) => return decline(ctx, rc::ORIGINAL_NOT_FOUND, "original not found"),
            Err(e) => return failed(ctx, "jcard.Void", &e),
        };
        if orig.reversed {
            return decline(ctx, rc::PREVIOUSLY_REVERSED, "original reversed");
        }
        if orig.voided {
            return decline(ctx, rc::ORIGINAL_VOIDED, "original already voided");
        }
        if orig.completed {
            return decline(
                ctx,
                rc::FURTHER_ACTIVITY_PREVENTS_VOID,
                "authorization completed",
            );
        }
        if let Err(e) = crate::money::mark_in(&mut tx, orig.id, "voided", true).await {
            return failed(ctx, "jcard.Void", &e);
        }
        let gl = orig.gl_txn;
        ctx.put(&ORIGINAL, orig);
        ctx.put(&ORIGINAL_MARK, "voided");
        let Some(gl) = gl else {
            hold(ctx, tx);
            return Action::PREPARED;
        };
        let t = match offset_of(&mut tx, gl, "Void").await {
            Ok(t) => t.tag("void"),
            Err(e) => return failed(ctx, "jcard.Void", &e),
        };
        match post_and_hold(ctx, tx, t).await {
            Ok(Posting::Posted(_)) => Action::PREPARED,
            Ok(Posting::Declined(a)) => a,
            Err(e) => failed(ctx, "jcard.Void", &e),
        }
    }
}
