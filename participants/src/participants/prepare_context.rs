//! `jcard.PrepareContext`: the start time, the transaction type (MTI + DE 3), DE 4 as an exact amount
//! and the acquirer fee from DE 46, for every later participant.
//!
//! DE 46 holds fee elements of 18 characters each: a 2-character fee type and a CMF amount (currency
//! n3, exponent n1, amount n12); the elements in DE 4's currency add up to the acquirer fee.

use async_trait::async_trait;
use rust_decimal::Decimal;
use switchyard::iso::IsoMsg;
use switchyard::txn::{Action, Context, Participant};

use super::request;
use crate::keys::{ACQUIRER_FEE, AMOUNT, STARTED, TXN_TYPE};
use crate::money::{decline, rc};
use crate::txntype::TxnType;

/// Prepares the context.
#[derive(Debug, Default, Clone, Copy)]
pub struct PrepareContext;

/// The acquirer fee in DE 46 for `currency`; `Err` names what is malformed.
pub fn acquirer_fee(msg: &IsoMsg, currency: u16) -> Result<Decimal, String> {
    let Some(text) = msg.get_str(46) else {
        return Ok(Decimal::ZERO);
    };
    if text.len() % 18 != 0 {
        return Err(format!(
            "DE 46 length {} is not a multiple of 18",
            text.len()
        ));
    }
    let mut total = Decimal::ZERO;
    for chunk in text.as_bytes().chunks(18) {
        let amt = IsoMsg::with_mti("2100")
            .map_err(|e| e.to_string())?
            .with(4, &chunk[2..]);
        let a = amt
            .amount_2003(4)
            .map_err(|e| format!("DE 46: {e}"))?
            .ok_or("DE 46: empty fee")?;
        if a.currency.code == currency {
            total += a.value;
        }
    }
    Ok(total)
}

#[async_trait]
impl Participant for PrepareContext {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        ctx.put(&STARTED, std::time::Instant::now());
        let Some(req) = request(ctx) else {
            return decline(
                ctx,
                switchyard::txn::ResultCode::INVALID_REQUEST,
                "no request",
            );
        };
        ctx.put(&TXN_TYPE, TxnType::of(&req));
        match req.amount_2003(4) {
            Ok(Some(a)) => {
                match acquirer_fee(&req, a.currency.code) {
                    Ok(fee) => ctx.put(&ACQUIRER_FEE, fee),
                    Err(why) => return decline(ctx, rc::INVALID_FIELD, why),
                }
                ctx.put(&AMOUNT, a);
            }
            Ok(None) => {}
            Err(e) => return decline(ctx, rc::INVALID_AMOUNT, e.to_string()),
        }
        Action::PREPARED | Action::NO_JOIN | Action::READONLY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acquirer_fee_sums_elements_in_the_currency() {
        let m = IsoMsg::with_mti("2200")
            .expect("mti")
            .with(46, "008402000000000125009782000000000100");
        assert_eq!(acquirer_fee(&m, 840), Ok(Decimal::new(125, 2)));
        let bad = IsoMsg::with_mti("2200").expect("mti").with(46, "0084");
        assert!(acquirer_fee(&bad, 840).is_err());
    }
}
