//! `jcard.Fees`: the issuer's fees for this transaction from the card product — `TYPE.flat.CCY` plus
//! `TYPE.%.CCY` percent of the amount (e.g. `CashAdvance.flat.840`, `CashAdvance.%.840`), rounded to the
//! currency's minor unit, half away from zero. The money participant posts them to the product's fee
//! account in the same GL transaction as the amount.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::{Decimal, RoundingStrategy};
use sqlx::Row;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass};
use crate::error::db;
use crate::keys::{AMOUNT, CARD, FEES, TXN_TYPE};
use crate::money::failed;
use crate::Jcard;

/// Computes fees.
#[derive(Debug)]
pub struct Fees(pub Arc<Jcard>);

/// Flat + percentage of `amount`, rounded to `exponent` decimals.
pub fn fee(flat: Decimal, percent: Decimal, amount: Decimal, exponent: u32) -> Decimal {
    (flat + amount * percent / Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(exponent, RoundingStrategy::MidpointAwayFromZero)
}

#[async_trait]
impl Participant for Fees {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let (Some(card), Some(tt), Some(amount)) = (
            ctx.get(&CARD).cloned(),
            ctx.get(&TXN_TYPE).cloned(),
            ctx.get(&AMOUNT).copied(),
        ) else {
            return pass();
        };
        let cur = amount.currency.code;
        let flat_key = format!("{}.flat.{cur}", tt.name());
        let pct_key = format!("{}.%.{cur}", tt.name());
        let rows = sqlx::query(
            "SELECT kind, amount FROM jc_fees WHERE product_id = $1 AND kind = ANY($2)",
        )
        .bind(card.product_id)
        .bind([flat_key.clone(), pct_key])
        .fetch_all(&self.0.pool)
        .await
        .map_err(db("reading fees"));
        let rows = match rows {
            Ok(r) => r,
            Err(e) => return failed(ctx, "jcard.Fees", &e),
        };
        let (mut flat, mut pct) = (Decimal::ZERO, Decimal::ZERO);
        for r in rows {
            let (Ok(kind), Ok(v)) = (
                r.try_get::<String, _>("kind"),
                r.try_get::<Decimal, _>("amount"),
            ) else {
                continue;
            };
            if kind == flat_key {
                flat = v;
            } else {
                pct = v;
            }
        }
        ctx.put_persistent(
            &FEES,
            fee(flat, pct, amount.value, amount.currency.exponent),
        );
        pass()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn flat_plus_percent_rounded() {
        assert_eq!(fee(dec!(1.00), dec!(2.5), dec!(10.00), 2), dec!(1.25));
        assert_eq!(fee(dec!(0), dec!(1.5), dec!(0.33), 2), dec!(0.00));
        assert_eq!(fee(dec!(0), dec!(1.5), dec!(1.00), 2), dec!(0.02));
    }
}
