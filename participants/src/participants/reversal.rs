//! `jcard.Reversal`: a 400/420 undoes the transaction its DE 56 names — an authorization, financial,
//! completion or void — by posting the offset of that transaction's GL transaction, and answers 0000.
//! Reversing a void restores the voided original; reversing a completion restores the hold.
//! A repeat reversal (original already reversed) and the reversal of a declined original answer 0000
//! and post nothing. A completed authorization → 1825. A voided original → 1827 (the void already
//! gave the money back; reversing the void first restores the original, which can then be
//! reversed). No original → 1816; the reversal is logged with its DE 56, so a late original is
//! declined by CheckPreviousReverse.
//!
//! The reversal must carry the original's card: a PAN (DE 2 / DE 35) whose hash is not the original's
//! card → 1816, as if there were no such original (nothing is disclosed about another card's
//! transactions); no PAN → 1802. DE 4 is the actual amount (CMF / ISO 8583:1993: in a partial
//! reversal DE 4 carries the amount that stands, DE 30 the original amounts): equal to the original's
//! (or zero) reverses it all; less reverses the difference — only of a financial (x200) original, and
//! only the amount, not its fees (an authorization is reduced by completing it for less); more than
//! the original's, or another currency → 1010.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use switchyard::iso::IsoMsg;
use switchyard::ledger::NewTransaction;
use switchyard::txn::{Action, Context, Participant};

use super::check_card::pan_of;
use super::{is_retransmission, pass, request};
use crate::keys::{Original, AMOUNT, ORIGINAL, ORIGINAL_MARK};
use crate::money::{
    begin, decline, failed, hold, lock_named_original, offset_of, post_and_hold, rc, Posting,
};
use crate::Jcard;

/// Posts reversals.
#[derive(Debug)]
pub struct Reversal(pub Arc<Jcard>);

impl Reversal {
    /// Whether the reversal's PAN is the original's card (`Err` = a decline vote). Originals declined
    /// before their card was found have none to compare.
    async fn check_card(
        &self,
        ctx: &mut Context,
        req: &IsoMsg,
        orig: &Original,
    ) -> Result<(), Action> {
        let Some(card_id) = orig.card_id else {
            return Ok(());
        };
        let Some(pan) = pan_of(req) else {
            return Err(decline(ctx, rc::MISSING_FIELD, "missing field 2 (or 35)"));
        };
        match crate::store::find_card(&self.0.pool, &self.0.pan_key.hash(&pan)).await {
            Ok(Some(card)) if card.id == card_id => Ok(()),
            Ok(_) => Err(decline(
                ctx,
                rc::ORIGINAL_NOT_FOUND,
                "original not found for this card",
            )),
            Err(e) => Err(failed(ctx, "jcard.Reversal", &e)),
        }
    }
}

/// The amount to give back when DE 4 (the actual amount) is less than the original's: `Ok(None)` for a
/// full reversal, `Err` for an invalid amount.
fn partial_of(ctx: &Context, orig: &Original) -> Result<Option<Decimal>, &'static str> {
    let (Some(actual), Some(original)) = (ctx.get(&AMOUNT), orig.amount) else {
        return Ok(None);
    };
    if orig
        .currency
        .is_some_and(|c| i32::from(c) != i32::from(actual.currency.code))
    {
        return Err("reversal currency differs from the original's");
    }
    if actual.value > original {
        return Err("reversal amount over the original's");
    }
    if actual.value == original || actual.value.is_zero() {
        return Ok(None);
    }
    Ok(Some(original - actual.value))
}

/// From `full` (the offset of a financial original of `amount`), `diff` of it between the holder's
/// account and its counterpart (the acquirer, or a transfer's "to" account) on the same layer.
fn partial_offset(
    full: &NewTransaction,
    holder: &str,
    amount: Decimal,
    diff: Decimal,
) -> Option<NewTransaction> {
    let other = full
        .entries
        .iter()
        .find(|e| e.account.as_str() != holder && e.amount.value() == amount)?;
    let mine = full
        .entries
        .iter()
        .find(|e| e.account.as_str() == holder && e.side != other.side && e.layer == other.layer)?;
    let t = NewTransaction::new(full.journal.clone(), "Partial reversal".to_owned())
        .tag("offset")
        .tag("reversal")
        .tag("partial");
    Some(
        t.entry(&mine.account, mine.side, diff.into(), mine.layer)
            .entry(&other.account, other.side, diff.into(), other.layer),
    )
}

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
        if let Err(a) = self.check_card(ctx, &req, &orig).await {
            return a;
        }
        let partial = match partial_of(ctx, &orig) {
            Ok(p) => p,
            Err(why) => return decline(ctx, rc::INVALID_AMOUNT, why),
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
        let financial = orig.mti.get(1..3) == Some("20")
            && !(orig.pcode.starts_with("02") || orig.pcode.starts_with("22"));
        if partial.is_some() && !financial {
            return decline(
                ctx,
                rc::INVALID_AMOUNT,
                "partial reversal of an authorization, completion or void",
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
                Some(gl) => {
                    let full = offset_of(&mut tx, gl, "Reversal").await?.tag("reversal");
                    let holder = orig.account.as_deref().unwrap_or("");
                    let amount = orig.amount.unwrap_or_default();
                    Ok::<_, crate::JcardError>(Some(match partial {
                        None => Ok(full),
                        Some(diff) => partial_offset(&full, holder, amount, diff).ok_or(()),
                    }))
                }
                None => Ok(None),
            }
        }
        .await;
        ctx.put(&ORIGINAL_MARK, "reversed");
        ctx.put(&ORIGINAL, orig);
        match step {
            Ok(Some(Ok(t))) => match post_and_hold(ctx, tx, t).await {
                Ok(Posting::Posted(_)) => Action::PREPARED,
                Ok(Posting::Declined(a)) => a,
                Err(e) => failed(ctx, "jcard.Reversal", &e),
            },
            Ok(Some(Err(()))) => decline(
                ctx,
                rc::INVALID_AMOUNT,
                "partial reversal of a transaction without an amount entry",
            ),
            Ok(None) => {
                hold(ctx, tx);
                Action::PREPARED
            }
            Err(e) => failed(ctx, "jcard.Reversal", &e),
        }
    }
}
