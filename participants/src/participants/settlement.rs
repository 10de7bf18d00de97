//! `jcard.Settlement`: a CMF 540 (wire 2540 → 2550) closes a terminal's batch. The terminal sends its
//! totals since its last close; the switch compares them with its tranlog and answers 5000 reconciled
//! in balance or 5001 reconciled out of balance (jPOS `CMF.RECONCILED_*`).
//!
//! Request (docs/jcard.md has the full wire format): DE 24 function code `500` final reconciliation
//! (closes the batch) or `501` checkpoint (compares only), DE 32/41 the terminal, DE 68 the batch
//! number, DE 74 the totals (credits, credit chargebacks, credit reversals, debits, debit chargebacks,
//! debit reversals: each an amount — currency n3, exponent n1, amount n12 as in DE 4, or all zeros —
//! and a count n10), DE 97 the net amount (currency n3, exponent n1, |net| n17).
//!
//! What counts, per approved tranlog row of the terminal not yet settled, in DE 97's currency, that
//! moved money: debits = purchase, cash, cashback and quasi-cash financials and completions (and the
//! reversal of a void of one); credits = refunds, deposits and refund advices (and the reversal of a
//! refund void); debit reversals = reversals and voids of debits; credit reversals = reversals and
//! voids of credits. Authorizations, balance inquiries, transfers and declines do not count.
//! Reversals and voids count the amount they undid.
//!
//! A final close marks every finished row it looked at (and itself) with its tranlog id
//! (`settlement_id`), in balance or not, in the DB transaction LogIt commits with its tranlog row.
//! Closing a batch number already closed answers the first close's code and marks nothing; a
//! retransmission or repeat is answered by CreateTranLog/LogIt as any other. Closes of one terminal
//! are serialized by a lock on its terminal row.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use sqlx::{Postgres, Row, Transaction};
use switchyard::iso::amount::Currency;
use switchyard::iso::{IsoMsg, Spec};
use switchyard::txn::{Action, Context, Participant, ResultCode, EXTENDED_RESULT, RESULT_CODE};

use super::{is_retransmission, pass, request};
use crate::error::{db, JcardError};
use crate::keys::TRANLOG_ID;
use crate::money::{begin, decline, failed, hold, rc, BoxFuture};
use crate::Jcard;

/// Closes batches.
#[derive(Debug)]
pub struct Settlement(pub Arc<Jcard>);

/// A count and an amount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Total {
    /// Number of transactions.
    pub count: u64,
    /// Their amount.
    pub amount: Decimal,
}

/// Batch totals in DE 74's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Credits (refunds, deposits).
    pub credits: Total,
    /// Credit chargebacks (the switch has none).
    pub credit_chargebacks: Total,
    /// Reversals and voids of credits.
    pub credit_reversals: Total,
    /// Debits (purchases, cash, completions).
    pub debits: Total,
    /// Debit chargebacks (the switch has none).
    pub debit_chargebacks: Total,
    /// Reversals and voids of debits.
    pub debit_reversals: Total,
}

impl Totals {
    fn slots(&self) -> [Total; 6] {
        [
            self.credits,
            self.credit_chargebacks,
            self.credit_reversals,
            self.debits,
            self.debit_chargebacks,
            self.debit_reversals,
        ]
    }

    /// Net amount: debits less their reversals and chargebacks, less credits net of theirs.
    pub fn net(&self) -> Decimal {
        (self.debits.amount - self.debit_reversals.amount - self.debit_chargebacks.amount)
            - (self.credits.amount - self.credit_reversals.amount - self.credit_chargebacks.amount)
    }

    /// DE 74 subfield values (amounts in `currency`).
    pub fn de74(&self, currency: Currency) -> Vec<(u16, Vec<u8>)> {
        let mut out = Vec::with_capacity(12);
        for (i, t) in self.slots().iter().enumerate() {
            let n = u16::try_from(i * 2).unwrap_or(0);
            let minor = (t.amount * Decimal::from(10u64.pow(currency.exponent))).trunc();
            let amount = format!(
                "{:03}{}{:0>12}",
                currency.code,
                currency.exponent,
                minor.normalize()
            );
            out.push((n, amount.into_bytes()));
            out.push((n + 1, format!("{:010}", t.count).into_bytes()));
        }
        out
    }

    fn describe(&self) -> String {
        let names = [
            "credits",
            "credit chargebacks",
            "credit reversals",
            "debits",
        ];
        let names = names
            .iter()
            .chain(["debit chargebacks", "debit reversals"].iter());
        self.slots()
            .iter()
            .zip(names)
            .map(|(t, n)| format!("{n} {}/{}", t.count, t.amount))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A CMF amount in `currency` (`ccy n3 + exponent n1 + n12`), or all zeros.
fn amount_in(v: &[u8], currency: Currency, what: &str) -> Result<Decimal, String> {
    let text = std::str::from_utf8(v).map_err(|_| format!("{what}: not digits"))?;
    if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what}: expected 16 digits"));
    }
    if text.bytes().all(|b| b == b'0') {
        return Ok(Decimal::ZERO);
    }
    let code: u16 = text[..3].parse().map_err(|_| format!("{what}: currency"))?;
    let exp: u32 = text[3..4]
        .parse()
        .map_err(|_| format!("{what}: exponent"))?;
    if code != currency.code || exp != currency.exponent {
        return Err(format!(
            "{what}: currency {code} exponent {exp}, expected DE 97's {} exponent {}",
            currency.code, currency.exponent
        ));
    }
    let minor: i64 = text[4..].parse().map_err(|_| format!("{what}: amount"))?;
    Ok(Decimal::new(minor, exp))
}

/// DE 97: currency, exponent and |net| (17 digits).
pub fn parse_de97(text: &str) -> Result<(Currency, Decimal), String> {
    if text.len() != 21 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("DE 97: expected 21 digits (currency, exponent, 17-digit amount)".to_owned());
    }
    let code: u16 = text[..3].parse().map_err(|_| "DE 97: currency")?;
    let currency = Currency::from_code(code).ok_or("DE 97: unknown currency")?;
    let exp: u32 = text[3..4].parse().map_err(|_| "DE 97: exponent")?;
    if exp != currency.exponent {
        return Err(format!(
            "DE 97: exponent {exp} is not the minor unit {} of currency {code}",
            currency.exponent
        ));
    }
    let minor: i64 = text[4..].parse().map_err(|_| "DE 97: amount")?;
    Ok((currency, Decimal::new(minor, exp)))
}

/// DE 74 (packed as the CMF spec defines it) into totals in `currency`.
pub fn parse_de74(packed: &[u8], currency: Currency) -> Result<Totals, String> {
    let spec = Spec::builtin("cmf").map_err(|e| e.to_string())?;
    let subs = spec
        .unpack_composite(74, packed)
        .map_err(|e| format!("DE 74: {e}"))?;
    let get = |n: u16| {
        subs.iter()
            .find(|(m, _)| *m == n)
            .map(|(_, v)| v.as_slice())
            .ok_or(format!("DE 74.{n} missing"))
    };
    let mut slots = [Total::default(); 6];
    for (i, slot) in slots.iter_mut().enumerate() {
        let n = u16::try_from(i * 2).unwrap_or(0);
        slot.amount = amount_in(get(n)?, currency, &format!("DE 74.{n}"))?;
        slot.count = std::str::from_utf8(get(n + 1)?)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(format!("DE 74.{}: not a count", n + 1))?;
    }
    Ok(Totals {
        credits: slots[0],
        credit_chargebacks: slots[1],
        credit_reversals: slots[2],
        debits: slots[3],
        debit_chargebacks: slots[4],
        debit_reversals: slots[5],
    })
}

/// What the request asks, parsed.
struct Close {
    final_close: bool,
    acquirer: String,
    tid: String,
    batch: String,
    currency: Currency,
    net: Decimal,
    totals: Totals,
}

fn parse(req: &IsoMsg) -> Result<Close, (ResultCode, String)> {
    let invalid = |why: String| (rc::INVALID_FIELD, why);
    let final_close = match req.get_str(24) {
        Some("500") => true,
        Some("501") => false,
        other => {
            return Err(invalid(format!(
                "DE 24 {other:?}: expected 500 (final) or 501 (checkpoint)"
            )))
        }
    };
    let batch = req.get_str(68).map(str::trim).unwrap_or("").to_owned();
    if batch.is_empty() {
        return Err((rc::MISSING_FIELD, "missing field 68 (batch)".to_owned()));
    }
    let (currency, net) = parse_de97(req.get_str(97).unwrap_or("")).map_err(invalid)?;
    let totals = parse_de74(req.get(74).unwrap_or_default(), currency).map_err(invalid)?;
    Ok(Close {
        final_close,
        acquirer: req.get_str(32).unwrap_or("").to_owned(),
        tid: req.get_str(41).unwrap_or("").trim_end().to_owned(),
        batch,
        currency,
        net,
        totals,
    })
}

/// Lock the terminal row (serializes closes of one terminal); false if unknown.
fn lock_terminal<'a>(
    tx: &'a mut Transaction<'static, Postgres>,
    acquirer: &'a str,
    tid: &'a str,
) -> BoxFuture<'a, Result<bool, JcardError>> {
    Box::pin(async move {
        let row: Option<i64> = sqlx::query_scalar(
            "SELECT t.id FROM jc_terminals t JOIN jc_merchants m ON m.id = t.merchant_id \
             JOIN jc_acquirers a ON a.id = m.acquirer_id \
             WHERE a.institution_id = $1 AND t.terminal_id = $2 ORDER BY t.id LIMIT 1 FOR UPDATE OF t",
        )
        .bind(acquirer)
        .bind(tid)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db("locking a terminal"))?;
        Ok(row.is_some())
    })
}

/// The result code of an earlier final close of the same batch.
fn earlier_close<'a>(
    tx: &'a mut Transaction<'static, Postgres>,
    c: &'a Close,
) -> BoxFuture<'a, Result<Option<(i64, String)>, JcardError>> {
    Box::pin(async move {
        let row = sqlx::query(
            "SELECT id, result_code FROM jc_tranlog WHERE acquirer = $1 AND tid = $2 AND batch = $3 \
               AND txn_type = 'Settlement' AND settlement_id = id AND result_code IS NOT NULL \
             ORDER BY id LIMIT 1",
        )
        .bind(&c.acquirer)
        .bind(&c.tid)
        .bind(&c.batch)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db("looking for an earlier close"))?;
        row.map(|r| Ok((r.try_get("id")?, r.try_get("result_code")?)))
            .transpose()
            .map_err(db("reading an earlier close"))
    })
}

/// Lock the finished, unsettled rows of the terminal before `me` in the batch currency (or without
/// one), and total the ones that count.
fn switch_totals<'a>(
    tx: &'a mut Transaction<'static, Postgres>,
    c: &'a Close,
    me: i64,
) -> BoxFuture<'a, Result<(Vec<i64>, Totals), JcardError>> {
    Box::pin(async move {
        let currency = i16::try_from(c.currency.code).unwrap_or(i16::MAX);
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM jc_tranlog WHERE acquirer = $1 AND tid = $2 AND id < $3 \
               AND settlement_id IS NULL AND result_code IS NOT NULL \
               AND (currency = $4 OR currency IS NULL) ORDER BY id FOR UPDATE",
        )
        .bind(&c.acquirer)
        .bind(&c.tid)
        .bind(me)
        .bind(currency)
        .fetch_all(&mut **tx)
        .await
        .map_err(db("selecting the batch"))?;
        let rows = sqlx::query(
            "WITH r AS ( \
               SELECT substr(t.mti, 2, 2) AS cls, substr(t.pcode, 1, 2) AS code, t.amount, \
                      substr(o.mti, 2, 2) AS ocls, substr(o.pcode, 1, 2) AS ocode, o.amount AS oamount \
               FROM jc_tranlog t LEFT JOIN jc_tranlog o ON o.id = t.original_id \
               WHERE t.id = ANY($1) AND t.result_code = '0000' AND t.gl_txn IS NOT NULL \
                 AND t.currency = $2), \
             k AS ( \
               SELECT CASE \
                 WHEN cls IN ('20', '22') AND code IN ('00', '01', '09', '11') THEN 'debit' \
                 WHEN cls IN ('20', '22') AND code IN ('20', '21') THEN 'credit' \
                 WHEN cls = '20' AND code = '02' THEN 'debit_reversal' \
                 WHEN cls = '20' AND code = '22' THEN 'credit_reversal' \
                 WHEN cls IN ('40', '42') AND ocls IN ('20', '22') \
                      AND ocode IN ('00', '01', '09', '11') THEN 'debit_reversal' \
                 WHEN cls IN ('40', '42') AND ocls IN ('20', '22') AND ocode IN ('20', '21') \
                      THEN 'credit_reversal' \
                 WHEN cls IN ('40', '42') AND ocls = '20' AND ocode = '02' THEN 'debit' \
                 WHEN cls IN ('40', '42') AND ocls = '20' AND ocode = '22' THEN 'credit' \
               END AS kind, \
               CASE WHEN cls IN ('40', '42') OR code IN ('02', '22') THEN oamount ELSE amount END \
                 AS amount \
               FROM r) \
             SELECT kind, count(*) AS n, COALESCE(sum(amount), 0) AS total FROM k \
             WHERE kind IS NOT NULL GROUP BY kind",
        )
        .bind(&ids)
        .bind(currency)
        .fetch_all(&mut **tx)
        .await
        .map_err(db("totalling the batch"))?;
        let mut t = Totals::default();
        for r in rows {
            let read = db("reading batch totals");
            let kind: String = r.try_get("kind").map_err(read)?;
            let n: i64 = r.try_get("n").map_err(db("reading batch totals"))?;
            let total: Decimal = r.try_get("total").map_err(db("reading batch totals"))?;
            let slot = match kind.as_str() {
                "debit" => &mut t.debits,
                "credit" => &mut t.credits,
                "debit_reversal" => &mut t.debit_reversals,
                _ => &mut t.credit_reversals,
            };
            *slot = Total {
                count: u64::try_from(n).unwrap_or(0),
                amount: total,
            };
        }
        Ok((ids, t))
    })
}

/// Mark `ids` and `me` as settled by `me`.
fn mark_settled<'a>(
    tx: &'a mut Transaction<'static, Postgres>,
    ids: &'a [i64],
    me: i64,
) -> BoxFuture<'a, Result<(), JcardError>> {
    Box::pin(async move {
        sqlx::query("UPDATE jc_tranlog SET settlement_id = $2 WHERE id = ANY($1) OR id = $2")
            .bind(ids)
            .bind(me)
            .execute(&mut **tx)
            .await
            .map_err(db("marking the batch settled"))?;
        Ok(())
    })
}

#[async_trait]
impl Participant for Settlement {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if is_retransmission(ctx) {
            return pass();
        }
        let Some(req) = request(ctx) else {
            return pass();
        };
        let Some(me) = ctx.get(&TRANLOG_ID).copied() else {
            return decline(ctx, rc::SYSTEM_ERROR, "settlement not logged");
        };
        let close = match parse(&req) {
            Ok(c) => c,
            Err((code, why)) => return decline(ctx, code, why),
        };
        let mut tx = match begin(&self.0).await {
            Ok(tx) => tx,
            Err(e) => return failed(ctx, "jcard.Settlement", &e),
        };
        match lock_terminal(&mut tx, &close.acquirer, &close.tid).await {
            Ok(true) => {}
            Ok(false) => {
                return decline(
                    ctx,
                    rc::INVALID_TERMINAL,
                    format!("unknown terminal {}", close.tid),
                )
            }
            Err(e) => return failed(ctx, "jcard.Settlement", &e),
        }
        if close.final_close {
            match earlier_close(&mut tx, &close).await {
                Ok(Some((first, code))) => {
                    let code = code.parse().map_or(rc::SYSTEM_ERROR, ResultCode);
                    ctx.put(&RESULT_CODE, code);
                    ctx.put(
                        &EXTENDED_RESULT,
                        format!("batch {} already closed by tranlog {first}", close.batch),
                    );
                    hold(ctx, tx);
                    return Action::PREPARED;
                }
                Ok(None) => {}
                Err(e) => return failed(ctx, "jcard.Settlement", &e),
            }
        }
        let (ids, ours) = match switch_totals(&mut tx, &close, me).await {
            Ok(v) => v,
            Err(e) => return failed(ctx, "jcard.Settlement", &e),
        };
        let in_balance = ours == close.totals && ours.net().abs() == close.net;
        if close.final_close {
            if let Err(e) = mark_settled(&mut tx, &ids, me).await {
                return failed(ctx, "jcard.Settlement", &e);
            }
        }
        let (code, why) = if in_balance {
            (rc::RECONCILED_IN_BALANCE, "in balance".to_owned())
        } else {
            (
                rc::RECONCILED_OUT_OF_BALANCE,
                format!(
                    "out of balance: switch {}, net {}; terminal {}, net {}",
                    ours.describe(),
                    ours.net(),
                    close.totals.describe(),
                    close.net
                ),
            )
        };
        ctx.put(&RESULT_CODE, code);
        ctx.put(&EXTENDED_RESULT, why);
        hold(ctx, tx);
        Action::PREPARED
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn usd() -> Currency {
        Currency::from_code(840).expect("USD")
    }

    #[test]
    fn de74_round_trip_and_net() {
        let t = Totals {
            credits: Total {
                count: 1,
                amount: dec!(5.00),
            },
            debits: Total {
                count: 3,
                amount: dec!(30.25),
            },
            debit_reversals: Total {
                count: 1,
                amount: dec!(10.00),
            },
            ..Totals::default()
        };
        let spec = Spec::builtin("cmf").expect("cmf");
        let packed = spec.pack_composite(74, &t.de74(usd())).expect("packs");
        assert_eq!(packed.len(), 78);
        assert_eq!(parse_de74(&packed, usd()), Ok(t));
        assert_eq!(t.net(), dec!(15.25));
    }

    #[test]
    fn de97_and_amount_formats() {
        assert_eq!(
            parse_de97("840200000000000001525"),
            Ok((usd(), dec!(15.25)))
        );
        assert!(
            parse_de97("840300000000000001525").is_err(),
            "USD has 2 decimals"
        );
        assert!(parse_de97("8402").is_err());
        assert_eq!(
            amount_in(b"0000000000000000", usd(), "x"),
            Ok(Decimal::ZERO)
        );
        assert!(amount_in(b"9782000000000100", usd(), "x").is_err());
    }
}
