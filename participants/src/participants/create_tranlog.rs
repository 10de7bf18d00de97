//! `jcard.CreateTranLog`: insert this transaction's tranlog row, keyed for retransmission detection
//! by (acquirer DE 32, terminal DE 41, STAN DE 11, transmission time DE 7).
//!
//! A repeat (MTI origin digit 1, 3 or 5) may carry a new DE 7: it is also found by (acquirer, TID,
//! STAN, DE 12, MTI with the repeat digit cleared), the second UNIQUE key. A repeat whose original
//! never arrived finds nothing and is processed as the original.
//!
//! When a key already exists the request is a retransmission: `RETRANSMISSION` is set to the first
//! row's id, nothing moves again, and PrepareResponse answers what the first one answered. If the first
//! is still in flight (duplicates racing), this waits for its answer up to `wait-ms`; the UNIQUE key,
//! not timing, guarantees a single post. Requests without the key fields (DE 7, 11, 41) get no row.
//! It also runs when an earlier participant declined (`prepare_for_abort`), so declines by
//! PrepareContext and CheckFields are logged too. The insert commits asynchronously (no WAL flush
//! wait); LogIt's later synchronous commit makes it durable (`store::insert_tranlogs` says why that
//! is safe).
//!
//! A repeat must be the same request: when its normalized MTI, DE 3, DE 4 (amount and currency) or PAN
//! (the card found by its hash, and the masked PAN) differ from the first's, it is not a
//! retransmission but another request reusing the key → 9113 (duplicate transmission), not logged
//! (the key is the first's) and nothing posted.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use switchyard::txn::{Action, Context, Participant};

use super::check_card::pan_of;
use super::{pass, request};
use crate::keys::{ACQUIRER_FEE, AMOUNT, RETRANSMISSION, TRANLOG_ID, TXN_TYPE};
use crate::money::{decline, failed, rc};
use crate::pan::mask;
use crate::store::{find_card, tranlog_content, wait_answer, Content, NewTranlog};
use crate::Jcard;

/// CreateTranLog configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct CreateTranLogConfig {
    /// Longest a retransmission waits for the first request's answer.
    pub wait_ms: u64,
}

impl Default for CreateTranLogConfig {
    fn default() -> Self {
        CreateTranLogConfig { wait_ms: 5_000 }
    }
}

/// Creates the tranlog row.
#[derive(Debug)]
pub struct CreateTranLog {
    env: Arc<Jcard>,
    cfg: CreateTranLogConfig,
}

/// The masked PAN of a request whose DE 2 (or DE 35) PAN is all digits.
fn masked(req: &switchyard::iso::IsoMsg) -> Option<String> {
    pan_of(req)
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .map(|p| mask(&p))
}

impl CreateTranLog {
    /// Why repeat `row` is not the same request as the first (`first`), if it is not.
    async fn differs(
        &self,
        req: &switchyard::iso::IsoMsg,
        row: &NewTranlog,
        first: &Content,
    ) -> Result<Option<&'static str>, crate::JcardError> {
        if row.mti != first.mti || row.pcode != first.pcode {
            return Ok(Some("MTI or processing code"));
        }
        if row.amount != first.amount || row.currency != first.currency {
            return Ok(Some("amount"));
        }
        if first.masked_pan.is_some() && row.masked_pan != first.masked_pan {
            return Ok(Some("card"));
        }
        if let Some(card) = first.card_id {
            let hash = pan_of(req).map(|p| self.env.pan_key.hash(&p));
            let found = match hash {
                Some(h) => find_card(&self.env.pool, &h).await?.map(|c| c.id),
                None => None,
            };
            if found != Some(card) {
                return Ok(Some("card"));
            }
        }
        Ok(None)
    }
}

impl CreateTranLog {
    /// A CreateTranLog over `env`.
    pub fn new(env: Arc<Jcard>, cfg: CreateTranLogConfig) -> CreateTranLog {
        CreateTranLog { env, cfg }
    }
}

#[async_trait]
impl Participant for CreateTranLog {
    async fn prepare(&self, id: u64, ctx: &mut Context) -> Action {
        self.log(id, ctx).await
    }

    /// An earlier participant (PrepareContext, CheckFields) declined: the request is still logged,
    /// so LogIt records the decline — and a retransmission of it is still answered identically.
    async fn prepare_for_abort(&self, id: u64, ctx: &mut Context) -> Option<Action> {
        self.log(id, ctx).await;
        Some(Action::PREPARED | Action::NO_JOIN | Action::READONLY)
    }
}

impl CreateTranLog {
    async fn log(&self, id: u64, ctx: &mut Context) -> Action {
        let Some(req) = request(ctx) else {
            return pass();
        };
        // Fixed-length text fields (DE 41) arrive space-padded; the tranlog keeps them trimmed.
        let text = |f: u8| req.get_str(f).map(|v| v.trim_end().to_owned());
        let (Some(stan), Some(transmission), Some(tid)) = (text(11), text(7), text(41)) else {
            return pass();
        };
        let Some(tt) = ctx.get(&TXN_TYPE).cloned() else {
            return pass();
        };
        let amount = ctx.get(&AMOUNT).copied();
        let row = NewTranlog {
            node_txn_id: i64::try_from(id).ok(),
            mti: tt.mti.clone(),
            pcode: text(3).unwrap_or_default(),
            txn_type: tt.name().to_owned(),
            amount: amount.map(|a| a.value),
            currency: amount.and_then(|a| i16::try_from(a.currency.code).ok()),
            acquirer_fee: ctx.get(&ACQUIRER_FEE).copied(),
            stan,
            rrn: text(37),
            transmission,
            local_time: text(12).unwrap_or_default(),
            acquirer: text(32).unwrap_or_default(),
            tid,
            mid: text(42),
            original_key: text(56),
            masked_pan: masked(&req),
            // DE 68: the terminal's batch number (CMF); DE 29 as a fallback.
            batch: text(68).or_else(|| text(29)),
        };
        match self.env.batches.insert_tranlog(row.clone()).await {
            Ok(Ok(row_id)) => {
                ctx.put_persistent(&TRANLOG_ID, row_id);
                Action::PREPARED | Action::NO_JOIN
            }
            Ok(Err(first)) => {
                let wait = Duration::from_millis(self.cfg.wait_ms);
                let answered = wait_answer(&self.env.pool, first, wait).await;
                if let Ok(Some(_)) = answered {
                    let content = match tranlog_content(&self.env.pool, first).await {
                        Ok(c) => c,
                        Err(e) => return failed(ctx, "jcard.CreateTranLog", &e),
                    };
                    match self.differs(&req, &row, &content).await {
                        Ok(None) => {}
                        Ok(Some(what)) => {
                            return decline(
                                ctx,
                                rc::DUPLICATE_TRANSMISSION,
                                format!("repeat of another request: its {what} differs"),
                            )
                        }
                        Err(e) => return failed(ctx, "jcard.CreateTranLog", &e),
                    }
                }
                ctx.put_persistent(&RETRANSMISSION, first);
                match answered {
                    Ok(Some(_)) => pass(),
                    Ok(None) => decline(
                        ctx,
                        rc::DUPLICATE_TRANSMISSION,
                        "the first transmission is still in progress",
                    ),
                    Err(e) => failed(ctx, "jcard.CreateTranLog", &e),
                }
            }
            Err(e) => failed(ctx, "jcard.CreateTranLog", &e),
        }
    }
}
