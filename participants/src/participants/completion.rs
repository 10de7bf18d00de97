//! `jcard.Completion`: a 220 completes the authorization its DE 56 names: in one GL transaction the
//! hold is released (the authorization's pending entries offset) and the completed amount — possibly
//! less than authorized — is posted on the accounting layer with the authorization's fees. Unknown
//! original → 1816; reversed → 1824; voided → 1827; already completed → 1825.
//!
//! The completion must be of the authorization's card and account: another card, or another account
//! type named in DE 3 → 1816 (DE 56 names no authorization of this card and account); DE 3 account
//! type `00` completes on the authorization's account. Another currency, or more than authorized →
//! 1010.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use switchyard::ledger::Layer;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass, request};
use crate::keys::{ACCOUNT, CARD, ORIGINAL, ORIGINAL_MARK, TXN_TYPE};
use crate::money::{
    begin, debit_parts, debit_txn, decline, failed, lock_named_original, offset_of, on_offset,
    post_and_hold, rc, Posting,
};
use crate::Jcard;

/// Posts completions.
#[derive(Debug)]
pub struct Completion(pub Arc<Jcard>);

#[async_trait]
impl Participant for Completion {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let Some(req) = request(ctx) else {
            return pass();
        };
        let mut parts = match debit_parts(ctx) {
            Ok(Some(p)) => p,
            Ok(None) => {
                return decline(
                    ctx,
                    rc::SYSTEM_ERROR,
                    "card, account or acquirer not checked",
                )
            }
            Err(e) => return failed(ctx, "jcard.Completion", &e),
        };
        let mut tx = match begin(&self.0).await {
            Ok(tx) => tx,
            Err(e) => return failed(ctx, "jcard.Completion", &e),
        };
        let orig = match lock_named_original(&mut tx, req.get_string(56), &["10"]).await {
            Ok(Some(o)) if o.result_code.as_deref() == Some("0000") => o,
            Ok(_) => return decline(ctx, rc::ORIGINAL_NOT_FOUND, "authorization not found"),
            Err(e) => return failed(ctx, "jcard.Completion", &e),
        };
        let card = ctx.get(&CARD).map(|c| c.id);
        let account = ctx.get(&ACCOUNT).cloned();
        let default_type = ctx
            .get(&TXN_TYPE)
            .is_none_or(|t| t.from.is_empty() || t.from == "00");
        let same_account = match (&orig.account, &account) {
            (Some(o), Some(a)) => *o == a.code || default_type,
            _ => false,
        };
        if orig.card_id.is_none() || orig.card_id != card || !same_account {
            return decline(
                ctx,
                rc::ORIGINAL_NOT_FOUND,
                "no authorization of this card and account",
            );
        }
        if let (Some(o), Some(mut a)) = (orig.account.clone(), account) {
            match crate::money::code(&o) {
                Ok(c) => parts.holder = c,
                Err(e) => return failed(ctx, "jcard.Completion", &e),
            }
            a.code = o;
            ctx.put(&ACCOUNT, a);
        }
        let currency = i16::try_from(parts.currency).ok();
        let refusal = if orig.currency != currency {
            Some((rc::INVALID_AMOUNT, "completion in another currency"))
        } else if orig.reversed {
            Some((rc::PREVIOUSLY_REVERSED, "authorization reversed"))
        } else if orig.voided {
            Some((rc::ORIGINAL_VOIDED, "authorization voided"))
        } else if orig.completed {
            Some((
                rc::FURTHER_ACTIVITY_PREVENTS_REVERSAL,
                "authorization already completed",
            ))
        } else if orig.amount.is_some_and(|a| parts.amount > a) {
            Some((
                rc::INVALID_AMOUNT,
                "completion exceeds the authorized amount",
            ))
        } else {
            None
        };
        if let Some((code, why)) = refusal {
            return decline(ctx, code, why);
        }
        let Some(gl) = orig.gl_txn else {
            return decline(ctx, rc::ORIGINAL_NOT_FOUND, "authorization has no hold");
        };
        parts.fees = orig.fee_amount.unwrap_or(Decimal::ZERO);
        parts.acquirer_fee = orig.acquirer_fee.unwrap_or(Decimal::ZERO);
        let built = async {
            let release = on_offset(offset_of(&mut tx, gl, "Completion").await?, Layer::PENDING);
            let mut t = debit_txn(&parts, "Completion", 0)?;
            t.entries.extend(release.entries);
            Ok::<_, crate::JcardError>(t.tag("completion"))
        }
        .await;
        let t = match built {
            Ok(t) => t,
            Err(e) => return failed(ctx, "jcard.Completion", &e),
        };
        if let Err(e) = crate::money::mark_in(&mut tx, orig.id, "completed", true).await {
            return failed(ctx, "jcard.Completion", &e);
        }
        ctx.put(&crate::keys::FEES, parts.fees);
        ctx.put(&ORIGINAL, orig);
        ctx.put(&ORIGINAL_MARK, "completed");
        match post_and_hold(ctx, tx, t).await {
            Ok(Posting::Posted(_)) => Action::PREPARED,
            Ok(Posting::Declined(a)) => a,
            Err(e) => failed(ctx, "jcard.Completion", &e),
        }
    }
}
