//! `jcard.Fees`: the issuer's fees for this transaction from the card product — `TYPE.flat.CCY` plus
//! `TYPE.%.CCY` percent of the amount (e.g. `CashAdvance.flat.840`, `CashAdvance.%.840`), rounded to the
//! currency's minor unit, half away from zero. The money participant posts them to the product's fee
//! account in the same GL transaction as the amount. The rates come through the reference-data cache
//! (`cache`), so a fee change takes effect within its TTL.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::{Decimal, RoundingStrategy};
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass};
use crate::cache::FeeKey;
use crate::keys::{AMOUNT, CARD, FEES, TXN_TYPE};
use crate::money::failed;
use crate::store::product_fees;
use crate::{Jcard, JcardError};

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
        let key = FeeKey {
            product_id: card.product_id,
            txn_type: tt.name(),
            currency: amount.currency.code,
        };
        let env = &self.0;
        // No fees configured is an answer too: cached like any other.
        let load = async {
            let rates = product_fees(&env.pool, key.product_id, key.txn_type, key.currency).await?;
            Ok::<_, JcardError>(Some(rates))
        };
        let rates = match env.cache.fees.get_or_load(key, load).await {
            Ok(r) => r.unwrap_or_default(),
            Err(e) => return failed(ctx, "jcard.Fees", &e),
        };
        ctx.put_persistent(
            &FEES,
            fee(
                rates.flat,
                rates.percent,
                amount.value,
                amount.currency.exponent,
            ),
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
