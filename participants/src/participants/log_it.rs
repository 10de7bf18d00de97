//! `jcard.LogIt`: completes the tranlog row. On commit it writes the row in the DB transaction the
//! money participant posted in and commits both together (if that commit fails nothing moved, and the
//! response is turned into 1812). After a group commit (Authorization, Financial: the post and the
//! row's approval are committed already) it writes only what changed since. On abort the DB
//! transaction is rolled back and the decline is logged. Rows completed outside a money DB
//! transaction go through the shared `finish` batch (one UPDATE and commit for concurrent ones).
//! A retransmission writes nothing and answers what the first transmission answered.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use switchyard::txn::{Action, Context, Participant, ResultCode, EXTENDED_RESULT, RESULT_CODE};

use crate::keys::{
    ACCOUNT, ACCOUNT2, ADDITIONAL_AMOUNTS, AMOUNT, APPROVAL_CODE, CARD, DB_TX, FEES, GL_TXN,
    GROUP_COMMITTED, GROUP_FINISH, ORIGINAL, RESPONSE, RETRANSMISSION, STARTED, TRANLOG_ID,
    TXN_TYPE,
};
use crate::money::rc;
use crate::store::{finish, wait_answer, Finish};
use crate::txntype::MsgClass;
use crate::Jcard;

/// Logs the transaction.
#[derive(Debug)]
pub struct LogIt(pub Arc<Jcard>);

/// What LogIt writes in the tranlog row for this context (also what a group commit writes early).
pub(crate) fn finish_of(ctx: &Context, approved: bool) -> Finish {
    let rc = ctx.get(&RESULT_CODE).copied().unwrap_or(if approved {
        ResultCode::APPROVED
    } else {
        rc::SYSTEM_ERROR
    });
    let completion = ctx
        .get(&TXN_TYPE)
        .is_some_and(|t| t.class == MsgClass::Completion);
    Finish {
        result_code: rc.as_de39(),
        approval_code: if approved {
            ctx.get(&APPROVAL_CODE).cloned()
        } else {
            None
        },
        additional_amounts: ctx.get(&ADDITIONAL_AMOUNTS).cloned(),
        extended_result: ctx.get(&EXTENDED_RESULT).cloned(),
        card_id: ctx.get(&CARD).map(|c| c.id),
        masked_pan: ctx.get(&CARD).map(|c| c.masked_pan.clone()),
        account: ctx.get(&ACCOUNT).map(|a| a.code.clone()),
        account2: ctx.get(&ACCOUNT2).map(|a| a.code.clone()),
        fee_amount: ctx.get(&FEES).copied(),
        gl_txn: if approved {
            ctx.get(&GL_TXN).copied().filter(|u| !u.is_nil())
        } else {
            None
        },
        original_id: ctx.get(&ORIGINAL).map(|o| o.id),
        completed_amount: if completion {
            ctx.get(&AMOUNT).map(|a| a.value)
        } else {
            None
        },
        duration_ms: ctx.get(&STARTED).map_or(0, |s: &Instant| {
            i32::try_from(s.elapsed().as_millis()).unwrap_or(i32::MAX)
        }),
    }
}

/// Put the first transmission's answer into the context (for PrepareResponse).
async fn replay(env: &Jcard, ctx: &mut Context) {
    let Some(first) = ctx.get(&RETRANSMISSION).copied() else {
        return;
    };
    match wait_answer(&env.pool, first, std::time::Duration::ZERO).await {
        Ok(Some(a)) => {
            if let Ok(code) = a.result_code.parse::<u16>() {
                ctx.put(&RESULT_CODE, ResultCode(code));
            }
            if let Some(ac) = a.approval_code {
                ctx.put(&APPROVAL_CODE, ac);
            }
            if let Some(de54) = a.additional_amounts {
                ctx.put(&ADDITIONAL_AMOUNTS, de54);
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "retransmission answer not found"),
    }
}

/// The approval code (DE 38) of tranlog row `id`.
pub(crate) fn approval_code(id: i64) -> String {
    format!("{:06}", id.rem_euclid(1_000_000))
}

fn fail_response(ctx: &mut Context) {
    ctx.put(&RESULT_CODE, rc::SYSTEM_ERROR);
    if let Some(mut r) = ctx.get(&RESPONSE).cloned() {
        r.set(39, rc::SYSTEM_ERROR.as_de39());
        r.unset(38);
        ctx.put(&RESPONSE, r);
    }
}

#[async_trait]
impl Participant for LogIt {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        replay(&self.0, ctx).await;
        if ctx.get(&APPROVAL_CODE).is_none() && !ctx.has(&RETRANSMISSION) {
            if let Some(id) = ctx.get(&TRANLOG_ID).copied() {
                ctx.put(&APPROVAL_CODE, approval_code(id));
            }
        }
        Action::PREPARED
    }

    async fn commit(&self, _id: u64, ctx: &mut Context) {
        let Some(id) = ctx.get(&TRANLOG_ID).copied() else {
            return;
        };
        let f = finish_of(ctx, true);
        if ctx.get(&GROUP_COMMITTED) == Some(&true) {
            // the approval is committed already, with the post; write only what came after it
            let same = ctx.get(&GROUP_FINISH).is_some_and(|w| {
                Finish {
                    duration_ms: f.duration_ms,
                    ..w.clone()
                } == f
            });
            if !same {
                if let Err(e) = self.0.batches.finish(id, f).await {
                    tracing::warn!(error = %e, tranlog = id, "tranlog row not updated after its approval");
                }
            }
            return;
        }
        let tx = match ctx.get_arc(&DB_TX) {
            Some(h) => h.0.lock().await.take(),
            None => None,
        };
        let outcome = match tx {
            Some(mut tx) => match finish(&mut *tx, id, &f).await {
                Ok(()) => tx
                    .commit()
                    .await
                    .map_err(crate::error::db("committing a transaction")),
                Err(e) => Err(e),
            },
            None => self.0.batches.finish(id, f).await,
        };
        if let Err(e) = outcome {
            tracing::error!(error = %e, tranlog = id, "transaction not committed; answering 1812");
            fail_response(ctx);
            let mut f = finish_of(ctx, false);
            f.gl_txn = None;
            if let Err(e) = finish(&self.0.pool, id, &f).await {
                tracing::error!(error = %e, tranlog = id, "tranlog row not completed");
            }
        }
    }

    async fn abort(&self, _id: u64, ctx: &mut Context) {
        self.log_decline(ctx).await;
    }

    async fn prepare_for_abort(&self, _id: u64, ctx: &mut Context) -> Option<Action> {
        replay(&self.0, ctx).await;
        Some(Action::PREPARED)
    }
}

impl LogIt {
    async fn log_decline(&self, ctx: &mut Context) {
        if let Some(h) = ctx.get_arc(&DB_TX) {
            if let Some(tx) = h.0.lock().await.take() {
                if let Err(e) = tx.rollback().await {
                    tracing::warn!(error = %e, "rollback failed (the server drops the transaction)");
                }
            }
        }
        let Some(id) = ctx.get(&TRANLOG_ID).copied() else {
            return;
        };
        let f = finish_of(ctx, false);
        if let Err(e) = self.0.batches.finish(id, f).await {
            tracing::error!(error = %e, tranlog = id, "tranlog row not completed");
        }
    }
}
