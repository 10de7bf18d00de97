//! `jcard.Transfer`: between two of the cardholder's accounts (DE 3 code 40; from/to types in DE 3,
//! optionally named by DE 102/103): Dr from-account amount + fees, Cr to-account amount, Cr fee
//! account fees — one GL transaction on the accounting layer; NSF when amount + fees exceed available.

use std::sync::Arc;

use async_trait::async_trait;
use switchyard::ledger::{NewTransaction, Side};
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass};
use crate::keys::{ACCOUNT2, CARD};
use crate::money::{add, code, debit_parts, decline, failed, layer, post_vote, rc};
use crate::Jcard;

/// Posts transfers.
#[derive(Debug)]
pub struct Transfer(pub Arc<Jcard>);

#[async_trait]
impl Participant for Transfer {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let (Some(to), Some(_)) = (ctx.get(&ACCOUNT2).cloned(), ctx.get(&CARD)) else {
            return decline(ctx, rc::NO_ACCOUNT_TYPE, "no destination account");
        };
        let built = (|| {
            let Some(p) = debit_parts(ctx)? else {
                return Ok(None);
            };
            let l = layer(p.currency, 0)?;
            let to = code(&to.code)?;
            let t = NewTransaction::new(p.journal.clone(), "Transfer").tag("transfer");
            let t = add(t, &p.holder, Side::Debit, p.amount + p.fees, l);
            let t = add(t, &to, Side::Credit, p.amount, l);
            Ok::<_, crate::JcardError>(Some(add(t, &p.fee_account, Side::Credit, p.fees, l)))
        })();
        match built {
            Ok(Some(t)) => post_vote(&self.0, ctx, "jcard.Transfer", t).await,
            Ok(None) => decline(
                ctx,
                rc::SYSTEM_ERROR,
                "card, account or acquirer not checked",
            ),
            Err(e) => failed(ctx, "jcard.Transfer", &e),
        }
    }
}
