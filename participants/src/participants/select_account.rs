//! `jcard.SelectAccount`: the cardholder's accounts from DE 3's account types in DE 4's currency —
//! `ACCOUNT` from positions 3-4 (positions 5-6 for deposits and refunds, which credit the "to" account)
//! and, for transfers, `ACCOUNT2` from positions 5-6. Type `00` picks the cardholder's lowest account
//! type in that currency. DE 102 / DE 103, when present, must name the chosen accounts. No such
//! account → 1014; no account at all in DE 4's currency → 1030 (CMF "unaccepted currency").

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass, request};
use crate::keys::{CardAccount, ACCOUNT, ACCOUNT2, AMOUNT, CARD, TXN_TYPE};
use crate::money::{decline, failed, rc};
use crate::store::{find_account, holds_currency};
use crate::Jcard;

/// Selects accounts.
#[derive(Debug)]
pub struct SelectAccount(pub Arc<Jcard>);

impl SelectAccount {
    async fn pick(
        &self,
        ctx: &mut Context,
        holder: i64,
        ty: &str,
        currency: u16,
        named: Option<&str>,
    ) -> Result<CardAccount, Action> {
        let ty = if ty.is_empty() { "00" } else { ty };
        match find_account(&self.0.pool, holder, ty, currency).await {
            Ok(Some(a)) => match named {
                Some(n) if n != a.code && n != a.account_type => Err(decline(
                    ctx,
                    rc::NO_ACCOUNT_TYPE,
                    format!("account {n} is not the cardholder's type {ty} account"),
                )),
                _ => Ok(a),
            },
            Ok(None) => match holds_currency(&self.0.pool, holder, currency).await {
                Ok(true) => Err(decline(
                    ctx,
                    rc::NO_ACCOUNT_TYPE,
                    format!("no account of type {ty} in currency {currency}"),
                )),
                Ok(false) => Err(decline(
                    ctx,
                    rc::UNACCEPTED_CURRENCY,
                    format!("no account in currency {currency}"),
                )),
                Err(e) => Err(failed(ctx, "jcard.SelectAccount", &e)),
            },
            Err(e) => Err(failed(ctx, "jcard.SelectAccount", &e)),
        }
    }
}

#[async_trait]
impl Participant for SelectAccount {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let (Some(req), Some(tt), Some(card)) = (
            request(ctx),
            ctx.get(&TXN_TYPE).cloned(),
            ctx.get(&CARD).cloned(),
        ) else {
            return pass();
        };
        let Some(currency) = ctx.get(&AMOUNT).map(|a| a.currency.code) else {
            return decline(ctx, rc::MISSING_FIELD, "missing field 4");
        };
        let credits_to = matches!(tt.code.as_str(), "20" | "21");
        let first_type = if credits_to { &tt.to } else { &tt.from };
        let first = match self
            .pick(
                ctx,
                card.cardholder_id,
                first_type,
                currency,
                req.get_str(102),
            )
            .await
        {
            Ok(a) => a,
            Err(action) => return action,
        };
        ctx.put(&ACCOUNT, first);
        if tt.code == "40" {
            let second = match self
                .pick(ctx, card.cardholder_id, &tt.to, currency, req.get_str(103))
                .await
            {
                Ok(a) => a,
                Err(action) => return action,
            };
            if ctx.get(&ACCOUNT) == Some(&second) {
                return decline(ctx, rc::NO_ACCOUNT_TYPE, "transfer to the same account");
            }
            ctx.put(&ACCOUNT2, second);
        }
        pass()
    }
}
