//! `jcard.BalanceInquiry`: DE 54 with the account's accounting (amount type 01) and available (02)
//! balances — available includes holds (pending layer) and, for credit accounts, the credit line.
//! A product fee `BalanceInquiry.flat.CCY`, if any, is posted first and shows in the balances.
//!
//! DE 54 element (ISO 8583:2003): account type (2), amount type (2), currency (3), exponent (1),
//! sign `C`/`D` (1), amount in minor units (12) — 21 characters.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use switchyard::ledger::{Layer, NewTransaction, Side};
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass};
use crate::keys::{ACCOUNT, ADDITIONAL_AMOUNTS, AMOUNT, CARD, FEES};
use crate::money::{add, begin, code, decline, failed, hold, layer, rc};
use crate::Jcard;

/// Answers balance inquiries.
#[derive(Debug)]
pub struct BalanceInquiry(pub Arc<Jcard>);

/// One DE 54 element.
pub fn de54_element(
    account_type: &str,
    amount_type: &str,
    currency: u16,
    exponent: u32,
    value: Decimal,
) -> String {
    // `C` for a credit or zero balance (a negated zero is still zero), `D` only below zero.
    let sign = if value < Decimal::ZERO { 'D' } else { 'C' };
    let minor = (value.abs() * Decimal::from(10u64.pow(exponent))).trunc();
    format!(
        "{account_type:0>2}{amount_type}{currency:03}{exponent}{sign}{:0>12}",
        minor.normalize()
    )
}

#[async_trait]
impl Participant for BalanceInquiry {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let (Some(card), Some(acct), Some(amount)) = (
            ctx.get(&CARD).cloned(),
            ctx.get(&ACCOUNT).cloned(),
            ctx.get(&AMOUNT).copied(),
        ) else {
            return decline(ctx, rc::SYSTEM_ERROR, "card or account not checked");
        };
        let fees = ctx.get(&FEES).copied().unwrap_or_default();
        let result = async {
            let mut tx = begin(&self.0).await?;
            let holder = code(&acct.code)?;
            if fees > Decimal::ZERO {
                let l = layer(acct.currency, 0)?;
                let t = NewTransaction::new(card.journal.clone(), "BalanceInquiry fee").tag("fee");
                let t = add(t, &holder, Side::Debit, fees, l);
                let t = add(t, &code(&card.fee_account)?, Side::Credit, fees, l);
                let posted = crate::money::post_in(&mut tx, &t).await;
                match posted {
                    Ok(p) => ctx.put_persistent(&crate::keys::GL_TXN, p.id),
                    Err(switchyard::ledger::LedgerError::RuleViolation { .. }) => return Ok(None),
                    Err(e) => return Err(e.into()),
                }
            }
            let acc_layers = [layer(acct.currency, 0)?];
            let accounting =
                crate::money::balance_in(&mut tx, &card.journal, &holder, &acc_layers).await?;
            let layers = Layer::available(acct.currency, acct.credit)?;
            let available =
                crate::money::balance_in(&mut tx, &card.journal, &holder, &layers).await?;
            Ok::<_, crate::JcardError>(Some((tx, accounting, available)))
        }
        .await;
        match result {
            Ok(Some((tx, accounting, available))) => {
                let e = amount.currency.exponent;
                let de54 = format!(
                    "{}{}",
                    de54_element(&acct.account_type, "01", acct.currency, e, accounting),
                    de54_element(&acct.account_type, "02", acct.currency, e, available)
                );
                ctx.put(&ADDITIONAL_AMOUNTS, de54);
                hold(ctx, tx);
                Action::PREPARED
            }
            Ok(None) => decline(
                ctx,
                rc::NOT_SUFFICIENT_FUNDS,
                "balance inquiry fee exceeds available",
            ),
            Err(e) => failed(ctx, "jcard.BalanceInquiry", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn de54_elements() {
        assert_eq!(
            de54_element("10", "02", 840, 2, dec!(102.50)),
            "10028402C000000010250"
        );
        assert_eq!(
            de54_element("30", "01", 840, 2, dec!(-5)),
            "30018402D000000000500"
        );
        assert_eq!(
            de54_element("20", "01", 840, 2, -Decimal::ZERO),
            "20018402C000000000000",
            "zero is C even when negated"
        );
    }
}
