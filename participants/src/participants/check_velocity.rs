//! `jcard.CheckVelocity`: the card product's velocity limits — at most `max_count` approved
//! transactions and `max_amount` per card within the period, counting this one — over the listed
//! transaction types (all debits when none are listed). Over the count → 1023, over the amount → 1021.
//! Reversed and voided transactions do not count. The limits come through the reference-data cache
//! (`cache`), so a change takes effect within its TTL; the usage is always read afresh.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use sqlx::Row;
use switchyard::txn::{Action, Context, Participant};

use super::{is_retransmission, pass};
use crate::error::{db, JcardError};
use crate::keys::{AMOUNT, CARD, TXN_TYPE};
use crate::money::{decline, failed, rc};
use crate::store::{velocity_limits, VelocityLimit};
use crate::Jcard;

/// Checks velocity limits.
#[derive(Debug)]
pub struct CheckVelocity(pub Arc<Jcard>);

const DEBITS: &[&str] = &["Purchase", "CashAdvance", "CashBack", "QuasiCash"];

async fn usage(
    env: &Jcard,
    card: i64,
    l: &VelocityLimit,
    types: &[String],
) -> Result<(i64, Decimal), JcardError> {
    let row = sqlx::query(
        "SELECT count(*) AS n, COALESCE(sum(amount), 0) AS total FROM jc_tranlog \
         WHERE card_id = $1 AND result_code = '0000' AND currency = $2 AND txn_type = ANY($3) \
           AND mti NOT LIKE '_22%' AND NOT reversed AND NOT voided \
           AND created_at > now() - make_interval(secs => $4)",
    )
    .bind(card)
    .bind(l.currency)
    .bind(types)
    .bind(f64::from(l.period))
    .fetch_one(&env.pool)
    .await
    .map_err(db("measuring card velocity"))?;
    Ok((
        row.try_get("n").map_err(db("reading velocity count"))?,
        row.try_get("total").map_err(db("reading velocity total"))?,
    ))
}

#[async_trait]
impl Participant for CheckVelocity {
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
        let env = &self.0;
        let load = async {
            let ls = velocity_limits(&env.pool, card.product_id).await?;
            Ok::<_, JcardError>(Some(Arc::new(ls)))
        };
        let ls = match env.cache.velocity.get_or_load(card.product_id, load).await {
            Ok(ls) => ls.unwrap_or_default(),
            Err(e) => return failed(ctx, "jcard.CheckVelocity", &e),
        };
        for l in ls.iter() {
            let types: Vec<String> = if l.types.is_empty() {
                DEBITS.iter().map(|s| (*s).to_owned()).collect()
            } else {
                l.types.clone()
            };
            let applies = types.iter().any(|t| t == tt.name())
                && i32::from(l.currency) == i32::from(amount.currency.code);
            if !applies {
                continue;
            }
            let (n, total) = match usage(&self.0, card.id, l, &types).await {
                Ok(u) => u,
                Err(e) => return failed(ctx, "jcard.CheckVelocity", &e),
            };
            if l.max_count.is_some_and(|m| n + 1 > i64::from(m)) {
                return decline(
                    ctx,
                    rc::EXCEEDS_FREQUENCY_LIMIT,
                    format!("velocity limit {}: more than {n} transactions", l.name),
                );
            }
            if l.max_amount.is_some_and(|m| total + amount.value > m) {
                return decline(
                    ctx,
                    rc::EXCEEDS_AMOUNT_LIMIT,
                    format!("velocity limit {}: amount over the limit", l.name),
                );
            }
        }
        pass()
    }
}
