//! Posting: one or many GL transactions atomically, under account row locks, rules and the invariant.
//!
//! `post_batch` is the single place where money moves. Inside the caller's DB transaction it
//! 1. checks what needs no state (entries, journal, layers, CanPost, balanced per double-entry layer),
//! 2. locks the originals of reversals, then every touched account, each set in id order
//!    (`SELECT ... ORDER BY id FOR UPDATE`), so concurrent batches never deadlock,
//! 3. reads the running balances and rules, applies each transaction in order to an in-memory copy,
//!    refusing those that break a rule (they leave no trace; the others go on),
//! 4. asserts the invariant (every accepted transaction balances on each double-entry layer),
//! 5. writes transactions, entries and the new running balances with three array inserts.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{Acquire, Postgres, Transaction};
use uuid::Uuid;

use super::account::{AccountCode, AccountKind, Nature};
use super::error::{db, LedgerError};
use super::journal::{find_journals, Journal};
use super::layer::Layer;
use super::rules::{load_rules, Rule, RuleKind};
use super::transaction::{NewTransaction, Posted, Side};
use super::write::{assert_balanced, write, EntryOut, Key, Rows, Running};

/// Most transactions `post_batch` accepts at once.
pub const MAX_BATCH: usize = 1000;

/// Post one GL transaction atomically (in its own DB transaction, or a savepoint of the caller's).
pub async fn post<'c, A>(conn: A, txn: &NewTransaction) -> Result<Posted, LedgerError>
where
    A: Acquire<'c, Database = Postgres>,
{
    let mut tx = conn.begin().await.map_err(db("beginning a post"))?;
    let mut results = post_batch(&mut tx, std::slice::from_ref(txn)).await?;
    let result = results
        .pop()
        .ok_or_else(|| LedgerError::Invariant("post_batch returned no result".into()))?;
    let posted = result?;
    tx.commit().await.map_err(db("committing a post"))?;
    Ok(posted)
}

struct LockedAccount {
    id: i64,
    code: AccountCode,
    kind: AccountKind,
    nature: Nature,
}

/// The first double-entry layer of `journal` on which `txn` does not balance.
pub(crate) fn unbalanced(
    journal: &Journal,
    txn: &NewTransaction,
) -> Option<(Layer, Decimal, Decimal)> {
    let mut sums: Vec<(Layer, Decimal, Decimal)> = Vec::new();
    for e in &txn.entries {
        let i = match sums.iter().position(|s| s.0 == e.layer) {
            Some(i) => i,
            None => {
                sums.push((e.layer, Decimal::ZERO, Decimal::ZERO));
                sums.len() - 1
            }
        };
        match e.side {
            Side::Debit => sums[i].1 += e.amount.value(),
            Side::Credit => sums[i].2 += e.amount.value(),
        }
    }
    sums.sort_by_key(|s| s.0);
    sums.into_iter()
        .find(|(layer, d, c)| d != c && journal.layer(*layer).is_some_and(|l| l.double_entry))
}

fn check_static(journal: Option<&Journal>, txn: &NewTransaction) -> Result<(), LedgerError> {
    txn.validate()?;
    let Some(journal) = journal else {
        return Err(LedgerError::JournalNotFound(txn.journal.clone()));
    };
    journal
        .can_post(txn.post_date)
        .map_err(|reason| LedgerError::CannotPost {
            journal: journal.name.clone(),
            date: txn.post_date,
            reason,
        })?;
    if let Some(e) = txn
        .entries
        .iter()
        .find(|e| journal.layer(e.layer).is_none())
    {
        return Err(LedgerError::UndeclaredLayer {
            txn: txn.id,
            journal: journal.name.clone(),
            layer: e.layer,
        });
    }
    if let Some((layer, debits, credits)) = unbalanced(journal, txn) {
        return Err(LedgerError::Unbalanced {
            txn: txn.id,
            journal: journal.name.clone(),
            layer,
            debits,
            credits,
        });
    }
    Ok(())
}

fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Post several GL transactions inside `tx`; the outer `Err` means the DB transaction must be rolled
/// back, an inner `Err` that only that transaction was refused (it wrote nothing).
///
/// The caller commits `tx`; until then nothing is visible and the touched accounts stay locked.
pub async fn post_batch(
    tx: &mut Transaction<'_, Postgres>,
    txns: &[NewTransaction],
) -> Result<Vec<Result<Posted, LedgerError>>, LedgerError> {
    if txns.len() > MAX_BATCH {
        return Err(LedgerError::invalid(
            "batch",
            format!("{} transactions, more than {MAX_BATCH}", txns.len()),
        ));
    }
    let mut results: Vec<Option<Result<Posted, LedgerError>>> =
        std::iter::repeat_with(|| None).take(txns.len()).collect();

    // 1. Stateless checks.
    let names: Vec<String> = txns
        .iter()
        .map(|t| t.journal.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let journals = find_journals(&mut **tx, &names).await?;
    let journal_of = |name: &str| journals.iter().find(|j| j.name == name);
    let mut seen_ids = HashSet::new();
    for (i, t) in txns.iter().enumerate() {
        let res = check_static(journal_of(&t.journal), t).and_then(|()| {
            if seen_ids.insert(t.id) {
                Ok(())
            } else {
                Err(LedgerError::DuplicateTransaction(t.id))
            }
        });
        if let Err(e) = res {
            results[i] = Some(Err(e));
        }
    }
    let pending = |results: &[Option<Result<Posted, LedgerError>>]| -> Vec<usize> {
        (0..txns.len()).filter(|i| results[*i].is_none()).collect()
    };

    // Ids already posted.
    let ids: Vec<Uuid> = pending(&results).iter().map(|i| txns[*i].id).collect();
    if !ids.is_empty() {
        let existing: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM gl_transactions WHERE id = ANY($1)")
                .bind(&ids)
                .fetch_all(&mut **tx)
                .await
                .map_err(db("looking for already posted transaction ids"))?;
        for i in pending(&results) {
            if existing.contains(&txns[i].id) {
                results[i] = Some(Err(LedgerError::DuplicateTransaction(txns[i].id)));
            }
        }
    }

    // 2a. Lock the originals of reversals (before accounts: one global lock order).
    let originals: Vec<Uuid> = pending(&results)
        .iter()
        .filter_map(|i| txns[*i].reverses)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !originals.is_empty() {
        let found: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM gl_transactions WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        )
        .bind(&originals)
        .fetch_all(&mut **tx)
        .await
        .map_err(db("locking transactions to reverse"))?;
        let reversed: Vec<(Uuid, Uuid)> =
            sqlx::query_as("SELECT reverses, id FROM gl_transactions WHERE reverses = ANY($1)")
                .bind(&originals)
                .fetch_all(&mut **tx)
                .await
                .map_err(db("looking for earlier reversals"))?;
        let mut claimed: HashMap<Uuid, Uuid> = reversed.into_iter().collect();
        for i in pending(&results) {
            let Some(orig) = txns[i].reverses else {
                continue;
            };
            if !found.contains(&orig) {
                results[i] = Some(Err(LedgerError::TransactionNotFound(orig)));
            } else if let Some(by) = claimed.get(&orig) {
                results[i] = Some(Err(LedgerError::AlreadyReversed {
                    original: orig,
                    reversal: *by,
                }));
            } else {
                claimed.insert(orig, txns[i].id);
            }
        }
    }

    // 2b. Lock the touched accounts in id order.
    let codes: Vec<String> = pending(&results)
        .iter()
        .flat_map(|i| {
            txns[*i]
                .entries
                .iter()
                .map(|e| e.account.as_str().to_string())
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let locked: Vec<(i64, String, String, String)> = if codes.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "SELECT id, code, kind, nature FROM gl_accounts WHERE code = ANY($1) ORDER BY id FOR UPDATE",
        )
        .bind(&codes)
        .fetch_all(&mut **tx)
        .await
        .map_err(db("locking accounts"))?
    };
    let mut accounts: HashMap<String, LockedAccount> = HashMap::new();
    for (id, code, kind, nature) in locked {
        let acct = LockedAccount {
            id,
            code: AccountCode::new(code.clone())?,
            kind: AccountKind::parse(&kind)?,
            nature: Nature::parse(&nature)?,
        };
        accounts.insert(code, acct);
    }
    for i in pending(&results) {
        for e in &txns[i].entries {
            match accounts.get(e.account.as_str()) {
                None => {
                    results[i] = Some(Err(LedgerError::AccountNotFound(e.account.to_string())));
                    break;
                }
                Some(a) if a.kind == AccountKind::Composite => {
                    results[i] = Some(Err(LedgerError::CompositePosting {
                        txn: txns[i].id,
                        account: e.account.to_string(),
                    }));
                    break;
                }
                Some(_) => {}
            }
        }
    }
    let todo = pending(&results);
    if todo.is_empty() {
        return Ok(decided(results));
    }

    // 3. Running balances and rules.
    let journal_ids: Vec<i64> = journals.iter().map(|j| j.id).collect();
    // the exact (journal, account) pairs touched: one primary-key probe each, whatever the stats say
    let locked = &accounts;
    let pairs: BTreeSet<(i64, i64)> = todo
        .iter()
        .flat_map(|i| {
            let j = journal_of(&txns[*i].journal).map(|j| j.id);
            txns[*i]
                .entries
                .iter()
                .filter_map(move |e| Some((j?, locked.get(e.account.as_str())?.id)))
        })
        .collect();
    let (pair_journals, pair_accounts): (Vec<i64>, Vec<i64>) = pairs.into_iter().unzip();
    let rows: Vec<(i64, i64, i16, Decimal, i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT b.journal_id, b.account_id, b.layer, b.balance, b.seq, b.last_ts \
         FROM UNNEST($1::int8[], $2::int8[]) AS k(journal_id, account_id) \
         JOIN gl_balances b ON b.journal_id = k.journal_id AND b.account_id = k.account_id",
    )
    .bind(&pair_journals)
    .bind(&pair_accounts)
    .fetch_all(&mut **tx)
    .await
    .map_err(db("reading running balances"))?;
    let mut state: HashMap<Key, Running> = rows
        .into_iter()
        .map(|r| {
            (
                (r.0, r.1, r.2),
                Running {
                    balance: r.3,
                    seq: r.4,
                    last_ts: r.5,
                },
            )
        })
        .collect();
    let rules = load_rules(&mut **tx, &journal_ids).await?;

    let mut dirty: BTreeSet<Key> = BTreeSet::new();
    let mut out = Rows::default();
    let mut accepted: Vec<usize> = Vec::new();
    for i in todo {
        let t = &txns[i];
        let Some(journal) = journal_of(&t.journal) else {
            continue;
        };
        match apply(t, journal, &accounts, &rules, &state) {
            Ok((scratch, ts, entry_rows)) => {
                for (k, v) in scratch {
                    state.insert(k, v);
                    dirty.insert(k);
                }
                out.push_txn(t, journal.id, ts);
                for r in entry_rows {
                    out.push_entry(r);
                }
                results[i] = Some(Ok(Posted { id: t.id, ts }));
                accepted.push(i);
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }

    // 4. The invariant, on exactly what is about to be written.
    assert_balanced(&out, &journals)?;

    // 5. Writes.
    if !accepted.is_empty() {
        write(tx, &out, &dirty, &state).await?;
    }
    Ok(decided(results))
}

fn decided(results: Vec<Option<Result<Posted, LedgerError>>>) -> Vec<Result<Posted, LedgerError>> {
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| Err(LedgerError::Invariant("transaction left undecided".into())))
        })
        .collect()
}

type Applied = (HashMap<Key, Running>, DateTime<Utc>, Vec<EntryOut>);

/// Apply one transaction to a copy of the touched running balances and check the rules.
fn apply(
    t: &NewTransaction,
    journal: &Journal,
    accounts: &HashMap<String, LockedAccount>,
    rules: &[Rule],
    state: &HashMap<Key, Running>,
) -> Result<Applied, LedgerError> {
    let zero = |ts| Running {
        balance: Decimal::ZERO,
        seq: 0,
        last_ts: ts,
    };
    let mut touched: Vec<&LockedAccount> = Vec::new();
    let mut ts = now_micros();
    for e in &t.entries {
        let a = accounts
            .get(e.account.as_str())
            .ok_or_else(|| LedgerError::AccountNotFound(e.account.to_string()))?;
        if let Some(r) = state.get(&(journal.id, a.id, e.layer.id())) {
            ts = ts.max(r.last_ts);
        }
        if !touched.iter().any(|x| x.id == a.id) {
            touched.push(a);
        }
    }
    let mut scratch: HashMap<Key, Running> = HashMap::new();
    let mut rows = Vec::with_capacity(t.entries.len());
    for (line, e) in t.entries.iter().enumerate() {
        let a = accounts
            .get(e.account.as_str())
            .ok_or_else(|| LedgerError::AccountNotFound(e.account.to_string()))?;
        let key = (journal.id, a.id, e.layer.id());
        let cur = scratch
            .get(&key)
            .or_else(|| state.get(&key))
            .copied()
            .unwrap_or_else(|| zero(ts));
        let next = Running {
            balance: cur.balance + e.side.net(e.amount.value()),
            seq: cur.seq + 1,
            last_ts: ts,
        };
        scratch.insert(key, next);
        rows.push(EntryOut {
            txn: t.id,
            line: i16::try_from(line)
                .map_err(|_| LedgerError::invalid("transaction", "too many entries"))?,
            key,
            credit: e.side == Side::Credit,
            amount: e.amount.value(),
            detail: e.detail.clone(),
            ts,
            seq: next.seq,
            running: next.balance,
        });
    }
    for a in touched {
        for rule in rules
            .iter()
            .filter(|r| r.journal_id == journal.id && r.covers(&a.code))
        {
            let sum = |use_scratch: bool| -> Decimal {
                let net: Decimal = rule
                    .layers
                    .iter()
                    .map(|l| {
                        let key = (journal.id, a.id, l.id());
                        let r = if use_scratch {
                            scratch.get(&key).or_else(|| state.get(&key))
                        } else {
                            state.get(&key)
                        };
                        r.map(|r| r.balance).unwrap_or_default()
                    })
                    .sum();
                a.nature.signed(net)
            };
            let (before, after) = match rule.kind {
                RuleKind::NoPost => (Decimal::ZERO, Decimal::ZERO),
                _ => (sum(false), sum(true)),
            };
            rule.check(t.id, &a.code, before, after)?;
        }
    }
    Ok((scratch, ts, rows))
}
