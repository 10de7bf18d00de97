//! `jcard.PrepareContext`: the start time, the transaction type (MTI + DE 3), DE 4 as an exact amount
//! and the acquirer fee from DE 46, for every later participant.
//!
//! DE 4's exponent must be its currency's ISO 4217 minor unit (USD 2, JPY 0, BHD 3), and a money
//! movement (authorization, financial or completion of a purchase, cash, cashback, quasi-cash, refund,
//! deposit or transfer) must be for more than zero: otherwise 1010 invalid amount.
//!
//! DE 46 holds fee elements of 18 characters each: a 2-character fee type and a CMF amount (currency
//! n3, exponent n1, amount n12); the elements in DE 4's currency add up to the acquirer fee.

use async_trait::async_trait;
use rust_decimal::Decimal;
use switchyard::iso::amount::Amount;
use switchyard::iso::IsoMsg;
use switchyard::txn::{Action, Context, Participant};

use super::request;
use crate::keys::{ACQUIRER_FEE, AMOUNT, STARTED, TXN_TYPE};
use crate::money::{decline, rc};
use crate::txntype::{MsgClass, TxnType};

/// Prepares the context.
#[derive(Debug, Default, Clone, Copy)]
pub struct PrepareContext;

/// Why a CMF amount field (currency n3, exponent n1, amount n12) is unacceptable, if it is: its
/// exponent must be the currency's ISO 4217 minor unit.
pub fn exponent_error(field: u8, raw: &[u8], amount: &Amount) -> Option<String> {
    let wire = raw.get(3).map(|d| u32::from(d.wrapping_sub(b'0')));
    (wire != Some(amount.currency.exponent)).then(|| {
        format!(
            "DE {field}: exponent {} is not the minor unit {} of currency {}",
            wire.map_or_else(|| "?".to_owned(), |e| e.to_string()),
            amount.currency.exponent,
            amount.currency.code
        )
    })
}

/// True for the transaction types that move money and so need an amount above zero.
fn moves_money(tt: &TxnType) -> bool {
    matches!(
        tt.class,
        MsgClass::Authorization | MsgClass::Financial | MsgClass::Completion
    ) && matches!(
        tt.code.as_str(),
        "00" | "01" | "09" | "11" | "20" | "21" | "40"
    )
}

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
        if let Some(why) = exponent_error(46, &chunk[2..], &a) {
            return Err(why);
        }
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
        let tt = TxnType::of(&req);
        ctx.put(&TXN_TYPE, tt.clone());
        match req.amount_2003(4) {
            Ok(Some(a)) => {
                if let Some(why) = exponent_error(4, req.get(4).unwrap_or_default(), &a) {
                    return decline(ctx, rc::INVALID_AMOUNT, why);
                }
                if moves_money(&tt) && a.value <= Decimal::ZERO {
                    return decline(ctx, rc::INVALID_AMOUNT, format!("{} of zero", tt.name()));
                }
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
        let exp3 = IsoMsg::with_mti("2200")
            .expect("mti")
            .with(46, "008403000000001250");
        assert!(acquirer_fee(&exp3, 840).is_err(), "USD has 2 decimals");
    }

    #[test]
    fn exponent_must_be_the_currency_minor_unit() {
        let check = |de4: &str| {
            let m = IsoMsg::with_mti("2200").expect("mti").with(4, de4);
            let a = m.amount_2003(4).expect("parses").expect("present");
            exponent_error(4, m.get(4).expect("DE 4"), &a)
        };
        assert_eq!(check("8402000000001000"), None);
        assert!(check("8403000000001000").is_some());
        assert_eq!(check("3920000000001000"), None, "JPY has no decimals");
        assert!(check("3922000000001000").is_some());
    }
}
