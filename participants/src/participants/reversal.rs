//! `jcard.Reversal`: a 400/420 undoes the transaction its DE 56 names — an authorization, financial,
//! completion or void — by posting the offset of that transaction's GL transaction, and answers 0000.
//! Reversing a void restores the voided original; reversing a completion restores the hold.
//! A repeat reversal (original already reversed) and the reversal of a declined original answer 0000
//! and post nothing. A completed authorization → 1825. A voided original → 1827 (the void already
//! gave the money back; reversing the void first restores the original, which can then be reversed). No original → 1816; the reversal is logged with
//! its DE 56, so a late original is declined by CheckPreviousReverse.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass, request};
use crate::keys::{ORIGINAL, ORIGINAL_MARK};
use crate::money::{
    begin, decline, failed, hold, lock_named_original, offset_of, post_and_hold, rc, Posting,
};
use crate::Jcard;

/// Posts reversals.
#[derive(Debug)]
pub struct Reversal(pub Arc<Jcard>);

#[async_trait]
impl Participant for Reversal {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let Some(req) = request(ctx) else {
            return pass();
        };
        let mut tx = match begin(&self.0).await {
            Ok(tx) => tx,
            Err(e) => return failed(ctx, "jcard.Reversal", &e),
        };
        let orig = match lock_named_original(&mut tx, req.get_string(56), &["10", "20", "22"]).await
        {
            Ok(Some(o)) => o,
            Ok(None) => return decline(ctx, rc::ORIGINAL_NOT_FOUND, "original not found"),
            Err(e) => return failed(ctx, "jcard.Reversal", &e),
        };
        let approved = orig.result_code.as_deref() == Some("0000");
        if !approved || orig.reversed {
            ctx.put(&ORIGINAL, orig);
            hold(ctx, tx);
            return Action::PREPARED;
        }
        if orig.voided {
            return decline(ctx, rc::ORIGINAL_VOIDED, "original voided");
        }
        if orig.completed {
            return decline(
                ctx,
                rc::FURTHER_ACTIVITY_PREVENTS_REVERSAL,
                "authorization completed",
            );
        }
        let step = async {
            crate::money::mark_in(&mut tx, orig.id, "reversed", true).await?;
            let is_void = orig.pcode.starts_with("02") || orig.pcode.starts_with("22");
            let is_completion = orig.mti.get(1..3) == Some("22");
            if let Some(first) = orig.original_id {
                if is_void {
                    crate::money::mark_in(&mut tx, first, "voided", false).await?;
                } else if is_completion {
                    crate::money::mark_in(&mut tx, first, "completed", false).await?;
                }
            }
            match orig.gl_txn {
                Some(gl) => Ok::<_, crate::JcardError>(Some(
                    offset_of(&mut tx, gl, "Reversal").await?.tag("reversal"),
                )),
                None => Ok(None),
            }
        }
        .await;
        ctx.put(&ORIGINAL_MARK, "reversed");
        ctx.put(&ORIGINAL, orig);
        match step {
            Ok(Some(t)) => match post_and_hold(ctx, tx, t).await {
                Ok(Posting::Posted(_)) => Action::PREPARED,
                Ok(Posting::Declined(a)) => a,
                Err(e) => failed(ctx, "jcard.Reversal", &e),
            },
            Ok(None) => {
                hold(ctx, tx);
                Action::PREPARED
            }
            Err(e) => failed(ctx, "jcard.Reversal", &e),
        }
    }
}
