//! `jcard.Void`: cancels the transaction DE 56 names — a purchase-type 200 (200.02), an authorization
//! (100.02) or a refund (100.22 / 200.22) — by posting the offset of its GL transaction. Unknown or
//! declined original → 1816; reversed → 1824; already voided → 1827; a completed authorization →
//! 1826.
//!
//! The void must match its original: same MTI class (a 100.02 voids an authorization, a 200.02 a
//! financial), a `02` void names a purchase, cash, cashback or quasi-cash and a `22` void a refund,
//! and the card (DE 2/35) is the original's — otherwise 1816 (DE 56 names no such transaction of
//! this card). DE 4 must be the original's amount and currency — otherwise 1010. The card is looked
//! up here without status checks (a void gives money back, so a card blocked since may still void).

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::iso::IsoMsg;
use switchyard::txn::{Action, Context, Participant};

use super::check_card::pan_of;
use super::{is_retransmission, pass, request};
use crate::keys::{Original, AMOUNT, CARD, ORIGINAL, ORIGINAL_MARK, TXN_TYPE};
use crate::money::{
    begin, decline, failed, hold, lock_named_original, offset_of, post_and_hold, rc, Posting,
};
use crate::store::find_card;
use crate::Jcard;

/// Posts voids.
#[derive(Debug)]
pub struct Void(pub Arc<Jcard>);

impl Void {
    /// The request's card id: from CheckCard when it ran, else looked up by PAN.
    async fn card_id(&self, ctx: &mut Context, req: &IsoMsg) -> Result<Option<i64>, Action> {
        if let Some(c) = ctx.get(&CARD) {
            return Ok(Some(c.id));
        }
        let Some(pan) = pan_of(req) else {
            return Ok(None);
        };
        match find_card(&self.0.pool, &self.0.pan_key.hash(&pan)).await {
            Ok(card) => Ok(card.map(|c| c.id)),
            Err(e) => Err(failed(ctx, "jcard.Void", &e)),
        }
    }

    /// Decline unless the request matches `orig` (class, type, card, amount).
    async fn matches(
        &self,
        ctx: &mut Context,
        req: &IsoMsg,
        orig: &Original,
    ) -> Result<(), Action> {
        let Some(tt) = ctx.get(&TXN_TYPE).cloned() else {
            return Err(decline(
                ctx,
                rc::SYSTEM_ERROR,
                "transaction type not prepared",
            ));
        };
        let orig_code = orig.pcode.get(0..2).unwrap_or("");
        let type_ok = tt.mti.get(1..3) == orig.mti.get(1..3)
            && if tt.code == "22" {
                orig_code == "20"
            } else {
                matches!(orig_code, "00" | "01" | "09" | "11")
            };
        let card = self.card_id(ctx, req).await?;
        if !type_ok || card.is_none() || orig.card_id != card {
            return Err(decline(
                ctx,
                rc::ORIGINAL_NOT_FOUND,
                format!(
                    "DE 56 names no {} of this card",
                    if tt.code == "22" {
                        "refund"
                    } else {
                        "purchase"
                    }
                ),
            ));
        }
        let amount = ctx.get(&AMOUNT).copied();
        let same = amount.is_some_and(|a| {
            Some(a.value) == orig.amount && i16::try_from(a.currency.code).ok() == orig.currency
        });
        if !same {
            return Err(decline(
                ctx,
                rc::INVALID_AMOUNT,
                "DE 4 is not the original's amount",
            ));
        }
        Ok(())
    }
}

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
        if let Err(action) = self.matches(ctx, &req, &orig).await {
            return action;
        }
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
