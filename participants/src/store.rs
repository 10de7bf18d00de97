//! Entity reads and tranlog writes. Bound parameters only; functions take `impl PgExecutor` so they run
//! inside a participant's DB transaction or on the pool.

use std::time::Duration;

use rust_decimal::Decimal;
use sqlx::{PgExecutor, PgPool, Row};
use uuid::Uuid;

use crate::error::{db, JcardError};
use crate::keys::{AcquirerInfo, CardAccount, Original};

/// A card row with what the participants need from its product and issuer.
#[derive(Debug, Clone)]
pub struct CardRow {
    /// `jc_cards.id`.
    pub id: i64,
    /// Token.
    pub token: String,
    /// `YYMM`.
    pub expiry: String,
    /// `active`, `inactive`, `lost`, `stolen`, `suspended`.
    pub status: String,
    /// Cardholder.
    pub cardholder_id: i64,
    /// Cardholder active.
    pub cardholder_active: bool,
    /// Product.
    pub product_id: i64,
    /// Product active.
    pub product_active: bool,
    /// Product fee account.
    pub fee_account: String,
    /// Issuer journal name.
    pub journal: String,
    /// The cardholder's accounts, read in the same statement (SelectAccount chooses among them).
    pub accounts: Vec<CardAccount>,
}

/// A cardholder account as the card lookup returns it (JSON).
#[derive(Debug, serde::Deserialize)]
struct AccountJson {
    account_type: String,
    currency: i16,
    account: String,
    credit: bool,
}

/// Find a card by its PAN hash, with its cardholder's accounts.
pub async fn find_card<'e>(
    exec: impl PgExecutor<'e>,
    pan_hash: &str,
) -> Result<Option<CardRow>, JcardError> {
    Ok(find_cards(exec, &[pan_hash.to_owned()])
        .await?
        .into_iter()
        .next()
        .flatten())
}

/// Find cards by their PAN hashes (one statement): one answer per hash, in order.
pub async fn find_cards<'e>(
    exec: impl PgExecutor<'e>,
    pan_hashes: &[String],
) -> Result<Vec<Option<CardRow>>, JcardError> {
    let rows = sqlx::query(
        "SELECT c.pan_hash, c.id, c.token, c.expiry, c.status, c.cardholder_id, h.active AS h_active, \
                c.product_id, p.active AS p_active, p.fee_account, j.name AS journal, \
                (SELECT COALESCE(json_agg(json_build_object('account_type', x.account_type, \
                    'currency', x.currency, 'account', x.account, 'credit', x.credit) \
                    ORDER BY x.currency, x.account_type), '[]'::json) \
                 FROM jc_cardholder_accounts x WHERE x.cardholder_id = c.cardholder_id) AS accounts \
         FROM jc_cards c JOIN jc_cardholders h ON h.id = c.cardholder_id \
         JOIN jc_card_products p ON p.id = c.product_id JOIN jc_issuers i ON i.id = p.issuer_id \
         JOIN gl_journals j ON j.id = i.journal_id WHERE c.pan_hash = ANY($1)",
    )
    .bind(pan_hashes)
    .fetch_all(exec)
    .await
    .map_err(db("looking up a card"))?;
    let mut found = std::collections::HashMap::with_capacity(rows.len());
    for r in rows {
        let hash: String = r.try_get("pan_hash").map_err(db("reading a card"))?;
        found.insert(hash, card_row(&r).map_err(db("reading a card"))?);
    }
    Ok(pan_hashes.iter().map(|h| found.get(h).cloned()).collect())
}

fn card_row(r: &sqlx::postgres::PgRow) -> Result<CardRow, sqlx::Error> {
    Ok(CardRow {
        id: r.try_get("id")?,
        token: r.try_get("token")?,
        expiry: r.try_get("expiry")?,
        status: r.try_get("status")?,
        cardholder_id: r.try_get("cardholder_id")?,
        cardholder_active: r.try_get("h_active")?,
        product_id: r.try_get("product_id")?,
        product_active: r.try_get("p_active")?,
        fee_account: r.try_get("fee_account")?,
        journal: r.try_get("journal")?,
        accounts: r
            .try_get::<sqlx::types::Json<Vec<AccountJson>>, _>("accounts")?
            .0
            .into_iter()
            .map(|a| CardAccount {
                account_type: a.account_type,
                currency: u16::try_from(a.currency).unwrap_or(0),
                code: a.account,
                credit: a.credit,
            })
            .collect(),
    })
}

/// For each DE 56 key (original MTI + STAN + local time + acquirer): is a reversal naming it logged?
pub async fn reversed_before<'e>(
    exec: impl PgExecutor<'e>,
    keys: &[String],
) -> Result<Vec<bool>, JcardError> {
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT original_key FROM jc_tranlog \
         WHERE original_key = ANY($1) AND txn_type = 'Reversal'",
    )
    // planned afresh with the actual arrays: a generic plan cached while jc_tranlog was small
    // would scan it whole as it grows (until autovacuum's next ANALYZE invalidates the plan)
    .persistent(false)
    .bind(keys)
    .fetch_all(exec)
    .await
    .map_err(db("looking for an earlier reversal"))?;
    Ok(keys.iter().map(|k| found.contains(k)).collect())
}

/// Find an active or inactive acquirer by DE 32; `(info, active)`.
pub async fn find_acquirer<'e>(
    exec: impl PgExecutor<'e>,
    institution_id: &str,
) -> Result<Option<(AcquirerInfo, bool)>, JcardError> {
    let row = sqlx::query(
        "SELECT id, transaction_account, fee_account, active FROM jc_acquirers WHERE institution_id = $1",
    )
    .bind(institution_id)
    .fetch_optional(exec)
    .await
    .map_err(db("looking up an acquirer"))?;
    row.map(|r| {
        Ok((
            AcquirerInfo {
                id: r.try_get("id")?,
                transaction_account: r.try_get("transaction_account")?,
                fee_account: r.try_get("fee_account")?,
            },
            r.try_get("active")?,
        ))
    })
    .transpose()
    .map_err(db("reading an acquirer"))
}

/// A terminal's status: `None` unknown; `Some((merchant_active, terminal_active))`.
pub async fn terminal_status<'e>(
    exec: impl PgExecutor<'e>,
    acquirer: &str,
    mid: &str,
    tid: &str,
) -> Result<Option<(bool, bool)>, JcardError> {
    let row = sqlx::query(
        "SELECT m.active AS m_active, t.active AS t_active FROM jc_terminals t \
         JOIN jc_merchants m ON m.id = t.merchant_id JOIN jc_acquirers a ON a.id = m.acquirer_id \
         WHERE a.institution_id = $1 AND m.merchant_id = $2 AND t.terminal_id = $3",
    )
    .bind(acquirer)
    .bind(mid)
    .bind(tid)
    .fetch_optional(exec)
    .await
    .map_err(db("looking up a terminal"))?;
    row.map(|r| Ok((r.try_get("m_active")?, r.try_get("t_active")?)))
        .transpose()
        .map_err(db("reading a terminal"))
}

/// True if merchant DE 42 `mid` is registered under acquirer DE 32 `acquirer` (active or not): tells
/// an unknown merchant (1821) from an unknown terminal of a known merchant (1819).
pub async fn merchant_known<'e>(
    exec: impl PgExecutor<'e>,
    acquirer: &str,
    mid: &str,
) -> Result<bool, JcardError> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM jc_merchants m JOIN jc_acquirers a ON a.id = m.acquirer_id \
         WHERE a.institution_id = $1 AND m.merchant_id = $2)",
    )
    .bind(acquirer)
    .bind(mid)
    .fetch_one(exec)
    .await
    .map_err(db("looking up a merchant"))
}

/// A card product's velocity limit (`jc_velocity_limits`).
#[derive(Debug, Clone)]
pub struct VelocityLimit {
    /// Name, for the decline reason.
    pub name: String,
    /// Window in seconds.
    pub period: i32,
    /// ISO 4217 numeric currency it counts.
    pub currency: i16,
    /// Most approved transactions in the window.
    pub max_count: Option<i32>,
    /// Most amount in the window.
    pub max_amount: Option<Decimal>,
    /// Transaction types counted (none: every debit).
    pub types: Vec<String>,
}

/// Product `product`'s velocity limits, by name.
pub async fn velocity_limits<'e>(
    exec: impl PgExecutor<'e>,
    product: i64,
) -> Result<Vec<VelocityLimit>, JcardError> {
    let rows = sqlx::query(
        "SELECT name, period_seconds, currency, max_count, max_amount, txn_types \
         FROM jc_velocity_limits WHERE product_id = $1 ORDER BY name",
    )
    .bind(product)
    .fetch_all(exec)
    .await
    .map_err(db("reading velocity limits"))?;
    rows.into_iter()
        .map(|r| {
            Ok(VelocityLimit {
                name: r.try_get("name")?,
                period: r.try_get("period_seconds")?,
                currency: r.try_get("currency")?,
                max_count: r.try_get("max_count")?,
                max_amount: r.try_get("max_amount")?,
                types: r.try_get("txn_types")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(db("reading velocity limits"))
}

/// A product's fees for one transaction type and currency (zero when not set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeeRates {
    /// `TYPE.flat.CCY`.
    pub flat: Decimal,
    /// `TYPE.%.CCY`, percent of the amount.
    pub percent: Decimal,
}

/// Product `product`'s fees for `txn_type` in `currency`.
pub async fn product_fees<'e>(
    exec: impl PgExecutor<'e>,
    product: i64,
    txn_type: &str,
    currency: u16,
) -> Result<FeeRates, JcardError> {
    let flat_key = format!("{txn_type}.flat.{currency}");
    let pct_key = format!("{txn_type}.%.{currency}");
    let rows =
        sqlx::query("SELECT kind, amount FROM jc_fees WHERE product_id = $1 AND kind = ANY($2)")
            .bind(product)
            .bind([flat_key.clone(), pct_key])
            .fetch_all(exec)
            .await
            .map_err(db("reading fees"))?;
    let mut rates = FeeRates::default();
    for r in rows {
        let (Ok(kind), Ok(v)) = (
            r.try_get::<String, _>("kind"),
            r.try_get::<Decimal, _>("amount"),
        ) else {
            continue;
        };
        if kind == flat_key {
            rates.flat = v;
        } else {
            rates.percent = v;
        }
    }
    Ok(rates)
}

/// The fields a new tranlog row starts with.
#[derive(Debug, Clone, Default)]
pub struct NewTranlog {
    /// Transaction manager id.
    pub node_txn_id: Option<i64>,
    /// Normalized MTI.
    pub mti: String,
    /// DE 3.
    pub pcode: String,
    /// Transaction type name.
    pub txn_type: String,
    /// DE 4 amount.
    pub amount: Option<Decimal>,
    /// DE 4 currency.
    pub currency: Option<i16>,
    /// DE 46 acquirer fee.
    pub acquirer_fee: Option<Decimal>,
    /// DE 11.
    pub stan: String,
    /// DE 37.
    pub rrn: Option<String>,
    /// DE 7.
    pub transmission: String,
    /// DE 12.
    pub local_time: String,
    /// DE 32.
    pub acquirer: String,
    /// DE 41.
    pub tid: String,
    /// DE 42.
    pub mid: Option<String>,
    /// DE 56 as received.
    pub original_key: Option<String>,
    /// Masked PAN.
    pub masked_pan: Option<String>,
    /// Batch (DE 29 / settlement).
    pub batch: Option<String>,
}

/// Insert tranlog rows in one statement: one answer per row, in order — `Ok(id)`, or `Err(existing
/// id)` when the row repeats one already logged: the same (acquirer, TID, STAN, DE 7), or — a repeat
/// with a new DE 7 — the same (acquirer, TID, STAN, DE 12, repeat-folded MTI). Both keys are UNIQUE,
/// so racing duplicates insert once; when two rows of one call share a key, the first is inserted and
/// the later ones are answered with its id, as retransmissions of it.
///
/// The insert commits asynchronously (`synchronous_commit` off for its own implicit transaction
/// only, set in the same statement: one round trip): an autocommitted insert would wait for a WAL
/// flush before the authorization even starts. Safe because whatever the switch answers is committed
/// later with `synchronous_commit` on — the completion of the row, in a group commit, in the money
/// participant's DB transaction or on its own — and that commit flushes the WAL up to itself, this
/// insert included. A crash can only lose the opening row of a request that was never answered and
/// moved no money (or answered 9113/1812, which commit nothing and move nothing); its retransmission
/// is then processed afresh. The UNIQUE retransmission keys work on visibility (an async commit is
/// visible at once), not durability.
pub async fn insert_tranlogs(
    pool: &PgPool,
    rows: &[NewTranlog],
) -> Result<Vec<Result<i64, i64>>, JcardError> {
    let col = |f: fn(&NewTranlog) -> &String| rows.iter().map(f).cloned().collect::<Vec<String>>();
    let opt = |f: fn(&NewTranlog) -> &Option<String>| {
        rows.iter().map(f).cloned().collect::<Vec<Option<String>>>()
    };
    let inserted: Vec<(i64, String, String, String, String)> = sqlx::query_as(
        "INSERT INTO jc_tranlog (node_txn_id, mti, pcode, txn_type, amount, currency, acquirer_fee, \
            stan, rrn, transmission, local_time, acquirer, tid, mid, original_key, masked_pan, batch) \
         SELECT u.node_txn_id, u.mti, u.pcode, u.txn_type, u.amount, u.currency, u.acquirer_fee, \
            u.stan, u.rrn, u.transmission, u.local_time, u.acquirer, u.tid, u.mid, u.original_key, \
            u.masked_pan, u.batch \
         FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::int2[], \
                     $7::numeric[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
                     $13::text[], $14::text[], $15::text[], $16::text[], $17::text[]) \
              WITH ORDINALITY AS u(node_txn_id, mti, pcode, txn_type, amount, currency, acquirer_fee, \
                  stan, rrn, transmission, local_time, acquirer, tid, mid, original_key, masked_pan, \
                  batch, ord), \
              (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit \
         ORDER BY u.ord \
         ON CONFLICT DO NOTHING RETURNING id, acquirer, tid, stan, transmission",
    )
    .bind(rows.iter().map(|t| t.node_txn_id).collect::<Vec<_>>())
    .bind(col(|t| &t.mti))
    .bind(col(|t| &t.pcode))
    .bind(col(|t| &t.txn_type))
    .bind(rows.iter().map(|t| t.amount).collect::<Vec<_>>())
    .bind(rows.iter().map(|t| t.currency).collect::<Vec<_>>())
    .bind(rows.iter().map(|t| t.acquirer_fee).collect::<Vec<_>>())
    .bind(col(|t| &t.stan))
    .bind(opt(|t| &t.rrn))
    .bind(col(|t| &t.transmission))
    .bind(col(|t| &t.local_time))
    .bind(col(|t| &t.acquirer))
    .bind(col(|t| &t.tid))
    .bind(opt(|t| &t.mid))
    .bind(opt(|t| &t.original_key))
    .bind(opt(|t| &t.masked_pan))
    .bind(opt(|t| &t.batch))
    .fetch_all(pool)
    .await
    .map_err(db("inserting a tranlog row"))?;
    let mut ids: std::collections::HashMap<(String, String, String, String), i64> = inserted
        .into_iter()
        .map(|(id, acq, tid, stan, tr)| ((acq, tid, stan, tr), id))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for t in rows {
        let key = (
            t.acquirer.clone(),
            t.tid.clone(),
            t.stan.clone(),
            t.transmission.clone(),
        );
        // the first row with a key takes the inserted id; any other is a repeat of a logged row
        match ids.remove(&key) {
            Some(id) => out.push(Ok(id)),
            None => out.push(Err(existing_tranlog(pool, t).await?)),
        }
    }
    Ok(out)
}

/// The logged row `t` repeats (by either retransmission key).
async fn existing_tranlog(pool: &PgPool, t: &NewTranlog) -> Result<i64, JcardError> {
    sqlx::query_scalar(
        "SELECT id FROM jc_tranlog WHERE acquirer = $1 AND tid = $2 AND stan = $3 \
           AND (transmission = $4 OR (local_time = $5 AND local_time <> '' AND mti = $6)) \
         ORDER BY id LIMIT 1",
    )
    .bind(&t.acquirer)
    .bind(&t.tid)
    .bind(&t.stan)
    .bind(&t.transmission)
    .bind(&t.local_time)
    .bind(&t.mti)
    .fetch_one(pool)
    .await
    .map_err(db("finding a retransmitted tranlog row"))
}

/// What a retransmission is compared with: the first row's normalized MTI, DE 3, amount, currency,
/// card and masked PAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// Normalized MTI.
    pub mti: String,
    /// DE 3.
    pub pcode: String,
    /// DE 4 amount.
    pub amount: Option<Decimal>,
    /// DE 4 currency.
    pub currency: Option<i16>,
    /// Card, once CheckCard found it.
    pub card_id: Option<i64>,
    /// Masked PAN.
    pub masked_pan: Option<String>,
}

/// The content of tranlog row `id`.
pub async fn tranlog_content(pool: &PgPool, id: i64) -> Result<Content, JcardError> {
    let r = sqlx::query(
        "SELECT mti, pcode, amount, currency, card_id, masked_pan FROM jc_tranlog WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .map_err(db("reading a tranlog row"))?;
    let get = || -> Result<Content, sqlx::Error> {
        Ok(Content {
            mti: r.try_get("mti")?,
            pcode: r.try_get("pcode")?,
            amount: r.try_get("amount")?,
            currency: r.try_get("currency")?,
            card_id: r.try_get("card_id")?,
            masked_pan: r.try_get("masked_pan")?,
        })
    };
    get().map_err(db("reading a tranlog row"))
}

/// What a finished tranlog row answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// DE 39.
    pub result_code: String,
    /// DE 38.
    pub approval_code: Option<String>,
    /// DE 54.
    pub additional_amounts: Option<String>,
}

/// The answer of tranlog row `id`, waiting (polling every 10 ms) up to `timeout` while it is in flight.
pub async fn wait_answer(
    pool: &PgPool,
    id: i64,
    timeout: Duration,
) -> Result<Option<Answer>, JcardError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let row = sqlx::query(
            "SELECT result_code, approval_code, additional_amounts FROM jc_tranlog WHERE id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .map_err(db("reading a tranlog answer"))?;
        let rc: Option<String> = row
            .try_get("result_code")
            .map_err(db("reading result_code"))?;
        if let Some(result_code) = rc {
            return Ok(Some(Answer {
                result_code,
                approval_code: row
                    .try_get("approval_code")
                    .map_err(db("reading approval_code"))?,
                additional_amounts: row
                    .try_get("additional_amounts")
                    .map_err(db("reading additional_amounts"))?,
            }));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Find and lock (FOR UPDATE) the original named by DE 56 fields, among `mtis`.
pub async fn lock_original<'e>(
    exec: impl PgExecutor<'e>,
    acquirer: &str,
    mtis: &[String],
    stan: &str,
    local_time: &str,
) -> Result<Option<Original>, JcardError> {
    let row = sqlx::query(
        "SELECT id, mti, pcode, amount, fee_amount, acquirer_fee, currency, gl_txn, result_code, \
                card_id, account, reversed, voided, completed, original_id \
         FROM jc_tranlog WHERE acquirer = $1 AND stan = $2 AND local_time = $3 AND mti = ANY($4) \
         ORDER BY id LIMIT 1 FOR UPDATE",
    )
    .bind(acquirer)
    .bind(stan)
    .bind(local_time)
    .bind(mtis)
    .fetch_optional(exec)
    .await
    .map_err(db("looking up an original transaction"))?;
    row.map(|r| {
        Ok(Original {
            id: r.try_get("id")?,
            mti: r.try_get("mti")?,
            pcode: r.try_get("pcode")?,
            amount: r.try_get("amount")?,
            fee_amount: r.try_get("fee_amount")?,
            acquirer_fee: r.try_get("acquirer_fee")?,
            currency: r.try_get("currency")?,
            gl_txn: r.try_get("gl_txn")?,
            result_code: r.try_get("result_code")?,
            card_id: r.try_get("card_id")?,
            account: r.try_get("account")?,
            reversed: r.try_get("reversed")?,
            voided: r.try_get("voided")?,
            completed: r.try_get("completed")?,
            original_id: r.try_get("original_id")?,
        })
    })
    .transpose()
    .map_err(db("reading an original transaction"))
}

/// Everything LogIt writes when a transaction finishes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finish {
    /// DE 39.
    pub result_code: String,
    /// DE 38.
    pub approval_code: Option<String>,
    /// DE 54.
    pub additional_amounts: Option<String>,
    /// Why (declines).
    pub extended_result: Option<String>,
    /// Card.
    pub card_id: Option<i64>,
    /// Masked PAN.
    pub masked_pan: Option<String>,
    /// Account.
    pub account: Option<String>,
    /// Second account (transfers).
    pub account2: Option<String>,
    /// Issuer fees charged.
    pub fee_amount: Option<Decimal>,
    /// GL transaction posted.
    pub gl_txn: Option<Uuid>,
    /// Original.
    pub original_id: Option<i64>,
    /// Amount completed (completions).
    pub completed_amount: Option<Decimal>,
    /// Milliseconds since the transaction started.
    pub duration_ms: i32,
}

/// Complete tranlog row `id`.
pub async fn finish<'e>(exec: impl PgExecutor<'e>, id: i64, f: &Finish) -> Result<(), JcardError> {
    finish_many(exec, std::slice::from_ref(&(id, f.clone()))).await
}

/// Complete several tranlog rows in one statement.
pub async fn finish_many<'e>(
    exec: impl PgExecutor<'e>,
    rows: &[(i64, Finish)],
) -> Result<(), JcardError> {
    let opt = |g: fn(&Finish) -> &Option<String>| {
        rows.iter().map(|(_, f)| g(f).clone()).collect::<Vec<_>>()
    };
    sqlx::query(
        "UPDATE jc_tranlog t SET result_code = u.rc, approval_code = u.ac, additional_amounts = u.aa, \
            extended_result = u.er, card_id = COALESCE(u.card, t.card_id), \
            masked_pan = COALESCE(u.mp, t.masked_pan), account = u.a1, account2 = u.a2, \
            fee_amount = u.fee, gl_txn = u.gl, original_id = u.orig, completed_amount = u.ca, \
            duration_ms = u.dur, finished_at = now() \
         FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], \
                     $7::text[], $8::text[], $9::text[], $10::numeric[], $11::uuid[], $12::int8[], \
                     $13::numeric[], $14::int4[]) \
              AS u(id, rc, ac, aa, er, card, mp, a1, a2, fee, gl, orig, ca, dur) \
         WHERE t.id = u.id",
    )
    // planned afresh with the actual arrays: a generic plan cached while jc_tranlog was small
    // would scan it whole as it grows (until autovacuum's next ANALYZE invalidates the plan)
    .persistent(false)
    .bind(rows.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, f)| f.result_code.clone()).collect::<Vec<_>>())
    .bind(opt(|f| &f.approval_code))
    .bind(opt(|f| &f.additional_amounts))
    .bind(opt(|f| &f.extended_result))
    .bind(rows.iter().map(|(_, f)| f.card_id).collect::<Vec<_>>())
    .bind(opt(|f| &f.masked_pan))
    .bind(opt(|f| &f.account))
    .bind(opt(|f| &f.account2))
    .bind(rows.iter().map(|(_, f)| f.fee_amount).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, f)| f.gl_txn).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, f)| f.original_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, f)| f.completed_amount).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, f)| f.duration_ms).collect::<Vec<_>>())
    .execute(exec)
    .await
    .map_err(db("completing a tranlog row"))?;
    Ok(())
}

/// Mark original `id` as `reversed`, `voided` or `completed` (`flag` is one of those, checked).
pub async fn mark_original<'e>(
    exec: impl PgExecutor<'e>,
    id: i64,
    flag: &str,
) -> Result<(), JcardError> {
    let (r, v, c) = (flag == "reversed", flag == "voided", flag == "completed");
    sqlx::query(
        "UPDATE jc_tranlog SET reversed = reversed OR $2, voided = voided OR $3, \
            completed = completed OR $4 WHERE id = $1",
    )
    .bind(id)
    .bind(r)
    .bind(v)
    .bind(c)
    .execute(exec)
    .await
    .map_err(db("marking an original transaction"))?;
    Ok(())
}

/// Clear `voided` or `completed` on row `id` (its void or completion was reversed).
pub async fn unmark_original<'e>(
    exec: impl PgExecutor<'e>,
    id: i64,
    flag: &str,
) -> Result<(), JcardError> {
    let (v, c) = (flag == "voided", flag == "completed");
    sqlx::query(
        "UPDATE jc_tranlog SET voided = voided AND NOT $2, completed = completed AND NOT $3 WHERE id = $1",
    )
    .bind(id)
    .bind(v)
    .bind(c)
    .execute(exec)
    .await
    .map_err(db("unmarking an original transaction"))?;
    Ok(())
}
