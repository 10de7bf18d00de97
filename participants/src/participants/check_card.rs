//! `jcard.CheckCard`: find the card by the HMAC of its PAN (DE 2, or the PAN in track 2, DE 35) and
//! check it: unknown or bad check digit → 1011, expired (card expiry, or DE 14 past) → 1001,
//! lost/stolen → 1032, not active → 1806, cardholder not active → 1813.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Datelike, Utc};
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass, request};
use crate::keys::{CardInfo, CARD};
use crate::money::{decline, failed, rc};
use crate::pan::{luhn_ok, mask};
use crate::Jcard;

/// Checks the card.
#[derive(Debug)]
pub struct CheckCard(pub Arc<Jcard>);

/// The PAN from DE 2 or track 2 (DE 35, up to the separator).
pub fn pan_of(req: &switchyard::iso::IsoMsg) -> Option<String> {
    if let Some(p) = req.get_str(2) {
        return Some(p.to_owned());
    }
    let t2 = req.get_str(35)?;
    let end = t2.find(['=', 'D', 'd']).unwrap_or(t2.len());
    Some(t2[..end].trim_start_matches(';').to_owned())
}

/// True if `yymm` is before the current month.
fn expired(yymm: &str) -> bool {
    let yy = yymm.get(0..2).unwrap_or("").parse::<i32>();
    let mm = yymm.get(2..4).unwrap_or("").parse::<u32>();
    let (Ok(yy), Ok(mm)) = (yy, mm) else {
        return true;
    };
    let now = Utc::now();
    let year = 2000 + yy;
    (year, mm) < (now.year(), now.month())
}

#[async_trait]
impl Participant for CheckCard {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let Some(req) = request(ctx) else {
            return pass();
        };
        let Some(pan) = pan_of(&req) else {
            return decline(ctx, rc::MISSING_FIELD, "missing field 2 (or 35)");
        };
        if !luhn_ok(&pan) {
            return decline(ctx, rc::INVALID_CARD_NUMBER, "bad card number");
        }
        let card = match self.0.batches.find_card(self.0.pan_key.hash(&pan)).await {
            Ok(Some(c)) => c,
            Ok(None) => return decline(ctx, rc::INVALID_CARD_NUMBER, "unknown card"),
            Err(e) => return failed(ctx, "jcard.CheckCard", &e),
        };
        let info = CardInfo {
            id: card.id,
            token: card.token.clone(),
            cardholder_id: card.cardholder_id,
            product_id: card.product_id,
            fee_account: card.fee_account.clone(),
            journal: card.journal.clone(),
            masked_pan: mask(&pan),
            accounts: card.accounts.clone(),
        };
        ctx.put(&CARD, info);
        if expired(&card.expiry) {
            return decline(ctx, rc::EXPIRED, format!("card {} expired", card.token));
        }
        if let Some(exp) = req.get_str(14) {
            if exp != card.expiry {
                return decline(ctx, rc::EXPIRED, "DE 14 does not match the card's expiry");
            }
        }
        match card.status.as_str() {
            "active" => {}
            "lost" | "stolen" => return decline(ctx, rc::LOST_OR_STOLEN, card.status),
            other => return decline(ctx, rc::CARD_NOT_ACTIVE, format!("card is {other}")),
        }
        if !card.cardholder_active || !card.product_active {
            return decline(
                ctx,
                rc::CARDHOLDER_NOT_ACTIVE,
                "cardholder or product not active",
            );
        }
        Action::PREPARED | Action::NO_JOIN | Action::READONLY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pan_from_track2_and_expiry() {
        let m = switchyard::iso::IsoMsg::with_mti("2100")
            .expect("mti")
            .with(35, "4111111111111111=29121010000");
        assert_eq!(pan_of(&m).as_deref(), Some("4111111111111111"));
        assert!(expired("0001"));
        assert!(!expired("9912"));
        assert!(expired("x"));
    }
}
