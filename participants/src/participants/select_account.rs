//! `jcard.SelectAccount`: the cardholder's accounts from DE 3's account types in DE 4's currency —
//! `ACCOUNT` from positions 3-4 (positions 5-6 for deposits and refunds, which credit the "to" account)
//! and, for transfers, `ACCOUNT2` from positions 5-6. Type `00` picks the cardholder's lowest account
//! type in that currency. DE 102 / DE 103, when present, must name the chosen accounts. No such
//! account → 1014; no account at all in DE 4's currency → 1030 (CMF "unaccepted currency"). The
//! accounts come with the card (CheckCard reads them in the same statement): no query of its own.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass, request};
use crate::keys::{CardAccount, ACCOUNT, ACCOUNT2, AMOUNT, CARD, TXN_TYPE};
use crate::money::{decline, rc};
use crate::Jcard;

/// Selects accounts.
#[derive(Debug)]
pub struct SelectAccount(pub Arc<Jcard>);

/// The account of type `ty` in `currency` (type `00`: the lowest type held in it); `Err(true)` if the
/// cardholder holds other accounts in that currency, `Err(false)` if none.
fn choose(accounts: &[CardAccount], ty: &str, currency: u16) -> Result<CardAccount, bool> {
    let mut in_currency = accounts.iter().filter(|a| a.currency == currency);
    let mut held = false;
    let mut best: Option<&CardAccount> = None;
    for a in in_currency.by_ref() {
        held = true;
        if (ty == "00" || a.account_type == ty)
            && best.is_none_or(|b| a.account_type < b.account_type)
        {
            best = Some(a);
        }
    }
    best.cloned().ok_or(held)
}

fn pick(
    ctx: &mut Context,
    accounts: &[CardAccount],
    ty: &str,
    currency: u16,
    named: Option<&str>,
) -> Result<CardAccount, Action> {
    let ty = if ty.is_empty() { "00" } else { ty };
    match choose(accounts, ty, currency) {
        Ok(a) => match named {
            Some(n) if n != a.code && n != a.account_type => Err(decline(
                ctx,
                rc::NO_ACCOUNT_TYPE,
                format!("account {n} is not the cardholder's type {ty} account"),
            )),
            _ => Ok(a),
        },
        Err(true) => Err(decline(
            ctx,
            rc::NO_ACCOUNT_TYPE,
            format!("no account of type {ty} in currency {currency}"),
        )),
        Err(false) => Err(decline(
            ctx,
            rc::UNACCEPTED_CURRENCY,
            format!("no account in currency {currency}"),
        )),
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
        let first = match pick(ctx, &card.accounts, first_type, currency, req.get_str(102)) {
            Ok(a) => a,
            Err(action) => return action,
        };
        ctx.put(&ACCOUNT, first);
        if tt.code == "40" {
            let second = match pick(ctx, &card.accounts, &tt.to, currency, req.get_str(103)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(ty: &str, currency: u16) -> CardAccount {
        CardAccount {
            account_type: ty.into(),
            currency,
            code: format!("21.{ty}.{currency}"),
            credit: ty == "30",
        }
    }

    #[test]
    fn chooses_by_type_and_currency() {
        let held = [acct("20", 840), acct("10", 840), acct("30", 978)];
        assert_eq!(choose(&held, "00", 840).unwrap().account_type, "10");
        assert_eq!(choose(&held, "20", 840).unwrap().account_type, "20");
        assert_eq!(choose(&held, "30", 978).unwrap().currency, 978);
        assert_eq!(choose(&held, "30", 840), Err(true));
        assert_eq!(choose(&held, "00", 124), Err(false));
    }
}
