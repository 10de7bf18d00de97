//! Moving money: build a GL transaction, post it in a fresh DB transaction that LogIt later commits
//! together with the tranlog row, and turn ledger refusals into CMF result codes.

use std::sync::Arc;

use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};
use switchyard::ledger::{post_batch, AccountCode, Layer, LedgerError, NewTransaction, Side};
use switchyard::txn::{Action, Context, ResultCode, EXTENDED_RESULT, RESULT_CODE};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::error::JcardError;
use crate::keys::{DbTx, DB_TX, GL_TXN};
use crate::Jcard;

/// CMF result codes used by this crate (`org.jpos.rc.CMF`).
pub mod rc {
    use switchyard::txn::ResultCode;

    /// 0000 approved.
    pub const APPROVED: ResultCode = ResultCode(0);
    /// 1001 expired card.
    pub const EXPIRED: ResultCode = ResultCode(1001);
    /// 1010 invalid amount.
    pub const INVALID_AMOUNT: ResultCode = ResultCode(1010);
    /// 1011 invalid card number.
    pub const INVALID_CARD_NUMBER: ResultCode = ResultCode(1011);
    /// 1014 no account of the requested type.
    pub const NO_ACCOUNT_TYPE: ResultCode = ResultCode(1014);
    /// 1015 unsupported function.
    pub const UNSUPPORTED_FUNCTION: ResultCode = ResultCode(1015);
    /// 1016 not sufficient funds.
    pub const NOT_SUFFICIENT_FUNDS: ResultCode = ResultCode(1016);
    /// 1021 exceeds withdrawal amount limit.
    pub const EXCEEDS_AMOUNT_LIMIT: ResultCode = ResultCode(1021);
    /// 1023 exceeds withdrawal frequency limit.
    pub const EXCEEDS_FREQUENCY_LIMIT: ResultCode = ResultCode(1023);
    /// 1030 unaccepted currency.
    pub const UNACCEPTED_CURRENCY: ResultCode = ResultCode(1030);
    /// 1032 lost or stolen card.
    pub const LOST_OR_STOLEN: ResultCode = ResultCode(1032);
    /// 1802 missing field.
    pub const MISSING_FIELD: ResultCode = ResultCode(1802);
    /// 1803 extra field.
    pub const EXTRA_FIELD: ResultCode = ResultCode(1803);
    /// 1806 card not active.
    pub const CARD_NOT_ACTIVE: ResultCode = ResultCode(1806);
    /// 1812 system error.
    pub const SYSTEM_ERROR: ResultCode = ResultCode(1812);
    /// 1813 cardholder not active.
    pub const CARDHOLDER_NOT_ACTIVE: ResultCode = ResultCode(1813);
    /// 1816 original transaction not found.
    pub const ORIGINAL_NOT_FOUND: ResultCode = ResultCode(1816);
    /// 1819 invalid terminal.
    pub const INVALID_TERMINAL: ResultCode = ResultCode(1819);
    /// 1820 inactive terminal.
    pub const INACTIVE_TERMINAL: ResultCode = ResultCode(1820);
    /// 1821 invalid merchant.
    pub const INVALID_MERCHANT: ResultCode = ResultCode(1821);
    /// 1823 invalid acquirer.
    pub const INVALID_ACQUIRER: ResultCode = ResultCode(1823);
    /// 1824 previously reversed.
    pub const PREVIOUSLY_REVERSED: ResultCode = ResultCode(1824);
    /// 1825 further activity prevents reversal.
    pub const FURTHER_ACTIVITY_PREVENTS_REVERSAL: ResultCode = ResultCode(1825);
    /// 1826 further activity prevents void.
    pub const FURTHER_ACTIVITY_PREVENTS_VOID: ResultCode = ResultCode(1826);
    /// 1827 original voided.
    pub const ORIGINAL_VOIDED: ResultCode = ResultCode(1827);
    /// 1830 invalid field.
    pub const INVALID_FIELD: ResultCode = ResultCode(1830);
    /// 5000 reconciled, in balance.
    pub const RECONCILED_IN_BALANCE: ResultCode = ResultCode(5000);
    /// 5001 reconciled, out of balance.
    pub const RECONCILED_OUT_OF_BALANCE: ResultCode = ResultCode(5001);
    /// 9113 duplicate transmission still in progress.
    pub const DUPLICATE_TRANSMISSION: ResultCode = ResultCode(9113);
}

/// Vote abort with `code` and a reason (the tranlog keeps the reason).
pub fn decline(ctx: &mut Context, code: ResultCode, why: impl Into<String>) -> Action {
    ctx.put(&RESULT_CODE, code);
    ctx.put(&EXTENDED_RESULT, why.into());
    Action::ABORTED | Action::READONLY
}

/// A ledger account code from a stored text, or a system-error decline.
pub fn code(s: &str) -> Result<AccountCode, JcardError> {
    Ok(AccountCode::new(s)?)
}

/// Layer `currency + offset`.
pub fn layer(currency: u16, offset: i16) -> Result<Layer, JcardError> {
    Ok(Layer::new(currency, offset)?)
}

/// The entries of GL transaction `id` with sides swapped, as a new transaction (the offset that
/// releases a hold, voids or reverses); `detail` says why.
pub fn offset_of<'a>(
    tx: &'a mut Transaction<'static, Postgres>,
    id: Uuid,
    detail: &'a str,
) -> BoxFuture<'a, Result<NewTransaction, JcardError>> {
    Box::pin(async move {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT j.name AS journal, a.code, e.credit, e.amount, e.layer FROM gl_entries e \
             JOIN gl_accounts a ON a.id = e.account_id JOIN gl_journals j ON j.id = e.journal_id \
             WHERE e.txn_id = $1 ORDER BY e.line",
        )
        .bind(id)
        .fetch_all(&mut **tx)
        .await
        .map_err(crate::error::db("reading a GL transaction"))?;
        let mut t: Option<NewTransaction> = None;
        for r in rows {
            let get = crate::error::db("reading a GL entry");
            let journal: String = r.try_get("journal").map_err(get)?;
            let acct: String = r
                .try_get("code")
                .map_err(crate::error::db("reading a GL entry"))?;
            let credit: bool = r
                .try_get("credit")
                .map_err(crate::error::db("reading a GL entry"))?;
            let amount: Decimal = r
                .try_get("amount")
                .map_err(crate::error::db("reading a GL entry"))?;
            let l: i16 = r
                .try_get("layer")
                .map_err(crate::error::db("reading a GL entry"))?;
            let side = if credit { Side::Debit } else { Side::Credit };
            let base = t
                .take()
                .unwrap_or_else(|| NewTransaction::new(journal, detail.to_owned()).tag("offset"));
            t = Some(base.entry(&code(&acct)?, side, amount.into(), Layer::from_id(l)?));
        }
        t.ok_or(JcardError::Ledger(LedgerError::TransactionNotFound(id)))
    })
}

/// A boxed, `Send` future (keeps sqlx's higher-ranked bounds out of the participants' futures).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Post `t` in `tx`. After an `Err` every caller declines and drops `tx` (rolled back, with
/// whatever else it wrote, e.g. an original's mark), so a refusal needs no savepoint of its own.
///
/// `post_batch` directly rather than `ledger::post`, which would wrap it in a SAVEPOINT/RELEASE
/// pair (two more statements per authorization): a refused transaction (`post_batch`'s inner `Err`)
/// wrote nothing, and after a database error (the outer `Err`) the DB transaction is unusable
/// anyway.
pub fn post_in<'a>(
    tx: &'a mut Transaction<'static, Postgres>,
    t: &'a NewTransaction,
) -> BoxFuture<'a, Result<switchyard::ledger::Posted, LedgerError>> {
    Box::pin(async move {
        let mut results = post_batch(tx, std::slice::from_ref(t)).await?;
        results
            .pop()
            .ok_or_else(|| LedgerError::Invariant("post_batch returned no result".into()))?
    })
}

/// Balance of `account` over `layers` in `tx`.
pub fn balance_in<'a>(
    tx: &'a mut Transaction<'static, Postgres>,
    journal: &'a str,
    account: &'a AccountCode,
    layers: &'a [Layer],
) -> BoxFuture<'a, Result<Decimal, LedgerError>> {
    Box::pin(async move {
        let ids: Vec<i16> = layers.iter().map(|l| l.id()).collect();
        let row: Option<(Decimal, String)> = sqlx::query_as(
            "SELECT COALESCE(sum(b.balance), 0), a.nature FROM gl_accounts a \
             LEFT JOIN gl_balances b ON b.account_id = a.id AND b.layer = ANY($2) \
               AND b.journal_id = (SELECT id FROM gl_journals WHERE name = $3) \
             WHERE a.code = $1 GROUP BY a.nature",
        )
        .bind(account.as_str())
        .bind(&ids)
        .bind(journal)
        .fetch_optional(&mut **tx)
        .await
        .map_err(|source| LedgerError::Database {
            context: "reading a balance",
            source,
        })?;
        match row {
            Some((net, nature)) if nature == "credit" => Ok(-net),
            Some((net, _)) => Ok(net),
            None => Err(LedgerError::AccountNotFound(account.as_str().to_owned())),
        }
    })
}

/// Mark (or with `set = false`, unmark) original `id` in `tx`.
pub fn mark_in<'a>(
    tx: &'a mut Transaction<'static, Postgres>,
    id: i64,
    flag: &'a str,
    set: bool,
) -> BoxFuture<'a, Result<(), JcardError>> {
    Box::pin(async move {
        if set {
            crate::store::mark_original(&mut **tx, id, flag).await
        } else {
            crate::store::unmark_original(&mut **tx, id, flag).await
        }
    })
}

/// Only the entries of `t` on layers with `offset` (e.g. the pending part of an offset).
pub fn on_offset(mut t: NewTransaction, offset: i16) -> NewTransaction {
    t.entries.retain(|e| e.layer.offset() == offset);
    t
}

/// Add an entry if `amount` is positive.
pub fn add(
    t: NewTransaction,
    account: &AccountCode,
    side: Side,
    amount: Decimal,
    layer: Layer,
) -> NewTransaction {
    if amount > Decimal::ZERO {
        t.entry(account, side, amount.into(), layer)
    } else {
        t
    }
}

/// Outcome of a post attempt.
pub enum Posting {
    /// Posted; the DB transaction is in the context.
    Posted(Uuid),
    /// Refused (NSF or another ledger refusal); nothing posted.
    Declined(Action),
}

/// Open a DB transaction for a money participant.
pub async fn begin(jcard: &Arc<Jcard>) -> Result<Transaction<'static, Postgres>, JcardError> {
    jcard
        .pool
        .begin()
        .await
        .map_err(crate::error::db("beginning a transaction"))
}

/// Post `t` in `tx`; on success store `tx` and the GL id in the context for LogIt to commit.
pub async fn post_and_hold(
    ctx: &mut Context,
    mut tx: Transaction<'static, Postgres>,
    t: NewTransaction,
) -> Result<Posting, JcardError> {
    if t.entries.is_empty() {
        ctx.put(&DB_TX, Arc::new(DbTx(Mutex::new(Some(tx)))));
        return Ok(Posting::Posted(Uuid::nil()));
    }
    match post_in(&mut tx, &t).await {
        Ok(p) => {
            ctx.put_persistent(&GL_TXN, p.id);
            ctx.put(&DB_TX, Arc::new(DbTx(Mutex::new(Some(tx)))));
            Ok(Posting::Posted(p.id))
        }
        Err(e) => refused(ctx, e).map(Posting::Declined),
    }
}

/// The decline for a post the ledger refused (rule violation → NSF, anything else → system error);
/// `Err` when the database could not be reached.
fn refused(ctx: &mut Context, e: LedgerError) -> Result<Action, JcardError> {
    match e {
        LedgerError::RuleViolation {
            account, reason, ..
        } => Ok(decline(
            ctx,
            rc::NOT_SUFFICIENT_FUNDS,
            format!("account {account}: {reason}"),
        )),
        e if e.is_connection() => Err(e.into()),
        e => Ok(decline(ctx, rc::SYSTEM_ERROR, e.to_string())),
    }
}

/// Post `t` in the next group commit, completing tranlog row `tranlog` (id and its approval) in the
/// same DB transaction; the vote. Unlike [`post_vote`] the post is durable when this returns
/// PREPARED: the participant must call [`compensate`] from `abort`.
pub async fn group_vote(
    env: &Arc<Jcard>,
    ctx: &mut Context,
    participant: &str,
    t: NewTransaction,
    tranlog: Option<(i64, crate::store::Finish)>,
) -> Action {
    use crate::batched::GroupPost;
    use crate::keys::{GROUP_COMMITTED, GROUP_FINISH};
    if t.entries.is_empty() {
        // nothing moves (e.g. a zero-amount verification): LogIt completes the row on commit
        return Action::PREPARED;
    }
    let written = tranlog.as_ref().map(|(_, f)| f.clone());
    match env.batches.post(GroupPost { txn: t, tranlog }).await {
        Ok(p) => {
            ctx.put_persistent(&GL_TXN, p.id);
            ctx.put_persistent(&GROUP_COMMITTED, true);
            if let Some(mut f) = written {
                f.gl_txn = Some(p.id);
                ctx.put(&GROUP_FINISH, f);
            }
            Action::PREPARED
        }
        Err(e) => match refused(ctx, e) {
            Ok(a) => a,
            Err(e) => failed(ctx, participant, &e),
        },
    }
}

/// After a group-committed post (see [`group_vote`]) the transaction aborted: post the offset of
/// the GL transaction (a ledger reversal of it, at most once), so nothing stays moved. A failure is
/// logged as an error naming the GL transaction left to reverse.
pub async fn compensate(env: &Arc<Jcard>, ctx: &mut Context, participant: &str) {
    use crate::keys::GROUP_COMMITTED;
    if ctx.get(&GROUP_COMMITTED) != Some(&true) {
        return;
    }
    let Some(gl) = ctx.get(&GL_TXN).copied() else {
        return;
    };
    let detail = format!("{participant}: transaction aborted after posting");
    match reverse_in(env, gl, &detail).await {
        Ok(()) => {
            ctx.put_persistent(&GROUP_COMMITTED, false);
            tracing::info!(participant, gl_txn = %gl, "aborted after posting: offset posted");
        }
        Err(e) => tracing::error!(
            participant,
            gl_txn = %gl,
            error = %e,
            "aborted after posting and the offset failed: reverse this GL transaction by hand"
        ),
    }
}

/// Post the reversal of GL transaction `gl` (its offset, referencing it: at most once) and commit.
async fn reverse_in(env: &Arc<Jcard>, gl: Uuid, detail: &str) -> Result<(), JcardError> {
    let mut tx = begin(env).await?;
    let mut t = offset_of(&mut tx, gl, detail).await?.tag("compensation");
    t.reverses = Some(gl);
    match post_in(&mut tx, &t).await {
        Ok(_) | Err(LedgerError::AlreadyReversed { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    tx.commit()
        .await
        .map_err(crate::error::db("committing a compensation"))
}

/// Keep `tx` (no post) for LogIt, e.g. after marking an original only.
pub fn hold(ctx: &mut Context, tx: Transaction<'static, Postgres>) {
    ctx.put(&DB_TX, Arc::new(DbTx(Mutex::new(Some(tx)))));
}

/// Map a participant's internal error to a system-error decline, logging it.
pub fn failed(ctx: &mut Context, participant: &str, e: &JcardError) -> Action {
    tracing::warn!(participant, error = %e, "jcard participant failed");
    decline(ctx, rc::SYSTEM_ERROR, format!("{participant}: {e}"))
}

/// What a cardholder-debiting transaction needs from the context.
pub struct DebitParts {
    /// Journal.
    pub journal: String,
    /// Cardholder account.
    pub holder: AccountCode,
    /// Acquirer transaction account.
    pub acquirer: AccountCode,
    /// Acquirer fee account.
    pub acquirer_fee_account: AccountCode,
    /// Product fee account.
    pub fee_account: AccountCode,
    /// Currency.
    pub currency: u16,
    /// Amount.
    pub amount: Decimal,
    /// Issuer fees.
    pub fees: Decimal,
    /// Acquirer fee.
    pub acquirer_fee: Decimal,
}

/// Collect the debit parts from the context; `None` if a check participant did not run.
pub fn debit_parts(ctx: &Context) -> Result<Option<DebitParts>, JcardError> {
    use crate::keys::{ACCOUNT, ACQUIRER, ACQUIRER_FEE, AMOUNT, CARD, FEES};
    let (Some(card), Some(acct), Some(acq), Some(amount)) = (
        ctx.get(&CARD),
        ctx.get(&ACCOUNT),
        ctx.get(&ACQUIRER),
        ctx.get(&AMOUNT),
    ) else {
        return Ok(None);
    };
    Ok(Some(DebitParts {
        journal: card.journal.clone(),
        holder: code(&acct.code)?,
        acquirer: code(&acq.transaction_account)?,
        acquirer_fee_account: code(&acq.fee_account)?,
        fee_account: code(&card.fee_account)?,
        currency: amount.currency.code,
        amount: amount.value,
        fees: ctx.get(&FEES).copied().unwrap_or_default(),
        acquirer_fee: ctx.get(&ACQUIRER_FEE).copied().unwrap_or_default(),
    }))
}

/// Dr cardholder (amount + fees), Cr acquirer (amount), Cr fee accounts, on layer offset `offset`.
pub fn debit_txn(p: &DebitParts, detail: &str, offset: i16) -> Result<NewTransaction, JcardError> {
    let l = layer(p.currency, offset)?;
    let t = NewTransaction::new(p.journal.clone(), detail.to_owned());
    let t = add(
        t,
        &p.holder,
        Side::Debit,
        p.amount + p.fees + p.acquirer_fee,
        l,
    );
    let t = add(t, &p.acquirer, Side::Credit, p.amount, l);
    let t = add(t, &p.fee_account, Side::Credit, p.fees, l);
    Ok(add(
        t,
        &p.acquirer_fee_account,
        Side::Credit,
        p.acquirer_fee,
        l,
    ))
}

/// Cr cardholder (amount), Dr acquirer (amount); fees Dr cardholder, Cr fee accounts.
pub fn credit_txn(p: &DebitParts, detail: &str, offset: i16) -> Result<NewTransaction, JcardError> {
    let l = layer(p.currency, offset)?;
    let t = NewTransaction::new(p.journal.clone(), detail.to_owned());
    let t = add(t, &p.acquirer, Side::Debit, p.amount, l);
    let t = add(t, &p.holder, Side::Credit, p.amount, l);
    let t = add(t, &p.holder, Side::Debit, p.fees + p.acquirer_fee, l);
    let t = add(t, &p.fee_account, Side::Credit, p.fees, l);
    Ok(add(
        t,
        &p.acquirer_fee_account,
        Side::Credit,
        p.acquirer_fee,
        l,
    ))
}

/// Post `t` for a participant: begin, post, hold the DB transaction; the vote.
pub async fn post_vote(
    env: &Arc<Jcard>,
    ctx: &mut Context,
    participant: &str,
    t: NewTransaction,
) -> Action {
    let tx = match begin(env).await {
        Ok(tx) => tx,
        Err(e) => return failed(ctx, participant, &e),
    };
    match post_and_hold(ctx, tx, t).await {
        Ok(Posting::Posted(_)) => Action::PREPARED,
        Ok(Posting::Declined(a)) => a,
        Err(e) => failed(ctx, participant, &e),
    }
}

/// DE 56 split: original MTI (repeat digit cleared), STAN (12), local time (14), acquirer id.
pub fn parse_de56(s: &str) -> Option<(String, String, String, String)> {
    if s.len() < 30 || !s.is_ascii() {
        return None;
    }
    let mut mti = s.as_bytes()[..4].to_vec();
    if let Some(last) = mti.last_mut() {
        if matches!(*last, b'1' | b'3' | b'5') {
            *last -= 1;
        }
    }
    Some((
        String::from_utf8_lossy(&mti).into_owned(),
        s[4..16].to_owned(),
        s[16..30].to_owned(),
        s[30..].to_owned(),
    ))
}

/// Lock the original DE 56 names, if its MTI's class (`x100`, `x200` ...) is one of `classes`
/// (digits 2-3, e.g. `"10"`).
pub fn lock_named_original<'a>(
    tx: &'a mut Transaction<'static, Postgres>,
    de56: Option<String>,
    classes: &'a [&'a str],
) -> BoxFuture<'a, Result<Option<crate::keys::Original>, JcardError>> {
    Box::pin(async move {
        let Some((mti, stan, local, acq)) = de56.as_deref().and_then(parse_de56) else {
            return Ok(None);
        };
        if !classes.iter().any(|c| mti.get(1..3) == Some(*c)) {
            return Ok(None);
        }
        crate::store::lock_original(&mut **tx, &acq, &[mti], &stan, &local).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn de56_parts() {
        let (m, s, l, a) = parse_de56("2101000000000001202611231200000000001").expect("parses");
        assert_eq!((m.as_str(), s.as_str()), ("2100", "000000000001"));
        assert_eq!((l.as_str(), a.as_str()), ("20261123120000", "0000001"));
        assert!(parse_de56("2100").is_none());
    }
}
