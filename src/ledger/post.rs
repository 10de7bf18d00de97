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

use super::account::{ensure_shard_rows, AccountCode, AccountKind, Nature};
use super::error::{db, LedgerError};
use super::journal::{post_context, Journal};
use super::layer::Layer;
use super::rules::{prefixes_of, Rule, RuleKind};
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

/// A touched account: locked whole (its `gl_accounts` row), or a hot one of which only shard rows of
/// its running balances are locked.
struct LockedAccount {
    id: i64,
    code: AccountCode,
    kind: AccountKind,
    nature: Nature,
}

impl LockedAccount {
    fn new(id: i64, code: String, kind: &str, nature: &str) -> Result<Self, LedgerError> {
        Ok(LockedAccount {
            id,
            code: AccountCode::new(code)?,
            kind: AccountKind::parse(kind)?,
            nature: Nature::parse(nature)?,
        })
    }
}

/// The shard row locked for one (journal, hot account, layer); `running` is `None` only for a
/// composite account (no rows; the post is refused as a composite posting).
struct HotShard {
    journal_id: i64,
    layer: i16,
    shard: i16,
    running: Option<Running>,
    account: LockedAccount,
}

/// A row of `read_balances`: source (0 hot, 1 locked account), journal, account, layer, then the
/// shard row (absent for a hot key without a free shard) and the hot account's code, kind, nature.
type ReadRow = (
    i16,
    i64,
    i64,
    i16,
    Option<i16>,
    Option<Decimal>,
    Option<i64>,
    Option<DateTime<Utc>>,
    String,
    String,
    String,
);

/// Read the running balances of the locked `(journal, account)` pairs and lock one free shard row of
/// each hot `(journal, account code, layer)`, in one statement. A hot key with no free row (its rows
/// do not exist yet, or every shard is busy) gets its rows created and then waits for one.
async fn read_balances(
    tx: &mut Transaction<'_, Postgres>,
    pairs: &BTreeSet<(i64, i64)>,
    hot_keys: &BTreeSet<(i64, String, i16)>,
) -> Result<(HashMap<Key, Running>, Vec<HotShard>), LedgerError> {
    let (pair_journals, pair_accounts): (Vec<i64>, Vec<i64>) = pairs.iter().copied().unzip();
    let hot_journals: Vec<i64> = hot_keys.iter().map(|k| k.0).collect();
    let hot_codes: Vec<&str> = hot_keys.iter().map(|k| k.1.as_str()).collect();
    let hot_layers: Vec<i16> = hot_keys.iter().map(|k| k.2).collect();
    // Hot rows come first (source 0) with the account's metadata; FOR UPDATE in the lateral
    // sub-select returns the latest committed version of the row it locks. Both parts probe the
    // primary key once per key: the lateral sub-selects (OFFSET 0 keeps the planner from flattening
    // them) cannot become a hash join over all balances, which a plan cached while the tables were
    // still empty once chose (a 10,000-row scan per batch, -27% ledger posts/s).
    let rows: Vec<ReadRow> =
        sqlx::query_as(
            "SELECT 0::int2, k.journal_id, a.id, k.layer, s.shard, s.balance, s.seq, s.last_ts, \
                    a.code, a.kind, a.nature \
             FROM UNNEST($3::int8[], $4::text[], $5::int2[]) AS k(journal_id, code, layer) \
             JOIN gl_accounts a ON a.code = k.code AND a.shards > 1 \
             LEFT JOIN LATERAL (SELECT b.shard, b.balance, b.seq, b.last_ts FROM gl_balances b \
                 WHERE b.journal_id = k.journal_id AND b.account_id = a.id AND b.layer = k.layer \
                 ORDER BY b.shard LIMIT 1 FOR UPDATE SKIP LOCKED) s ON TRUE \
             UNION ALL \
             SELECT 1::int2, b.journal_id, b.account_id, b.layer, b.shard, b.balance, b.seq, b.last_ts, \
                    '', '', '' \
             FROM UNNEST($1::int8[], $2::int8[]) AS k(journal_id, account_id) \
             CROSS JOIN LATERAL (SELECT * FROM gl_balances b \
                 WHERE b.journal_id = k.journal_id AND b.account_id = k.account_id OFFSET 0) b",
        )
        .bind(&pair_journals)
        .bind(&pair_accounts)
        .bind(&hot_journals)
        .bind(&hot_codes)
        .bind(&hot_layers)
        .fetch_all(&mut **tx)
        .await
        .map_err(db("reading running balances"))?;
    let mut state = HashMap::new();
    let mut hot = Vec::new();
    for (source, journal_id, account_id, layer, shard, balance, seq, last_ts, code, kind, nature) in
        rows
    {
        if source == 1 {
            if let (Some(shard), Some(balance), Some(seq), Some(last_ts)) =
                (shard, balance, seq, last_ts)
            {
                let running = Running {
                    balance,
                    seq,
                    last_ts,
                };
                state.insert((journal_id, account_id, layer, shard), running);
            }
            continue;
        }
        let account = LockedAccount::new(account_id, code, &kind, &nature)?;
        let (shard, running) = match (shard, balance, seq, last_ts) {
            (Some(shard), Some(balance), Some(seq), Some(last_ts)) => (
                shard,
                Some(Running {
                    balance,
                    seq,
                    last_ts,
                }),
            ),
            // refused later (CompositePosting); no rows for it
            _ if account.kind == AccountKind::Composite => (0, None),
            _ => lock_busy_shard(tx, journal_id, account_id, layer).await?,
        };
        hot.push(HotShard {
            journal_id,
            layer,
            shard,
            running,
            account,
        });
    }
    Ok((state, hot))
}

/// The slow path for a hot key without a free shard row: create the account's shard rows (zero
/// balances) if they are missing, then take a free one, or wait for a random one. Waiting happens in
/// key order after the fast path; with at least as many shards as concurrent posters it does not.
async fn lock_busy_shard(
    tx: &mut Transaction<'_, Postgres>,
    journal_id: i64,
    account_id: i64,
    layer: i16,
) -> Result<(i16, Option<Running>), LedgerError> {
    ensure_shard_rows(&mut **tx, Some(account_id)).await?;
    let free: Option<(i16, Decimal, i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT shard, balance, seq, last_ts FROM gl_balances \
         WHERE journal_id = $1 AND account_id = $2 AND layer = $3 \
         ORDER BY shard LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .bind(journal_id)
    .bind(account_id)
    .bind(layer)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db("locking a shard balance"))?;
    let row = match free {
        Some(r) => r,
        None => sqlx::query_as(
            "SELECT shard, balance, seq, last_ts FROM gl_balances \
             WHERE journal_id = $1 AND account_id = $2 AND layer = $3 \
             ORDER BY random() LIMIT 1 FOR UPDATE",
        )
        .bind(journal_id)
        .bind(account_id)
        .bind(layer)
        .fetch_one(&mut **tx)
        .await
        .map_err(db("waiting for a shard balance"))?,
    };
    Ok((
        row.0,
        Some(Running {
            balance: row.1,
            seq: row.2,
            last_ts: row.3,
        }),
    ))
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
    // the journals, which ids are posted already, and the rules that may cover the touched accounts
    // (one statement; an account under a balance rule is locked whole below)
    let ids: Vec<Uuid> = txns.iter().map(|t| t.id).collect();
    let all_codes: Vec<String> = txns
        .iter()
        .flat_map(|t| t.entries.iter().map(|e| e.account.as_str().to_string()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (journals, existing, rules) =
        post_context(&mut **tx, &names, &ids, &prefixes_of(&all_codes)).await?;
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

    for i in pending(&results) {
        if existing.contains(&txns[i].id) {
            results[i] = Some(Err(LedgerError::DuplicateTransaction(txns[i].id)));
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

    // 2b. The touched accounts under a balance rule: they are locked whole.
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
    let ruled: Vec<String> = codes
        .iter()
        .filter(|c| {
            rules.iter().any(|r| {
                r.kind != RuleKind::NoPost
                    && AccountCode::new(c.as_str()).is_ok_and(|code| r.covers(&code))
            })
        })
        .cloned()
        .collect();

    // 2c. Lock the unsharded (and ruled) touched accounts in id order. Sharded accounts without a
    // balance rule are not locked: step 3 locks one free shard of their running balance instead.
    let locked: Vec<(i64, String, String, String)> = if codes.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "SELECT id, code, kind, nature FROM gl_accounts \
             WHERE code = ANY($1) AND (shards = 1 OR code = ANY($2)) ORDER BY id FOR UPDATE",
        )
        .bind(&codes)
        .bind(&ruled)
        .fetch_all(&mut **tx)
        .await
        .map_err(db("locking accounts"))?
    };
    let mut accounts: HashMap<String, LockedAccount> = HashMap::new();
    for (id, code, kind, nature) in locked {
        let acct = LockedAccount::new(id, code.clone(), &kind, &nature)?;
        accounts.insert(code, acct);
    }

    // 3. Running balances: one free shard row of each (journal, hot account, layer), locked with
    // SKIP LOCKED, and every row of the (journal, locked account) pairs, read after their locks.
    let mut hot_keys: BTreeSet<(i64, String, i16)> = BTreeSet::new();
    let mut pairs: BTreeSet<(i64, i64)> = BTreeSet::new();
    for i in pending(&results) {
        let Some(j) = journal_of(&txns[i].journal).map(|j| j.id) else {
            continue;
        };
        for e in &txns[i].entries {
            match accounts.get(e.account.as_str()) {
                Some(a) => {
                    pairs.insert((j, a.id));
                }
                None => {
                    hot_keys.insert((j, e.account.as_str().to_string(), e.layer.id()));
                }
            }
        }
    }
    let (mut state, hot) = read_balances(tx, &pairs, &hot_keys).await?;
    // (journal, account, layer) → the shard this batch writes for hot accounts
    let mut shard_of: HashMap<(i64, i64, i16), i16> = HashMap::new();
    for h in hot {
        shard_of.insert((h.journal_id, h.account.id, h.layer), h.shard);
        if let Some(r) = h.running {
            state.insert((h.journal_id, h.account.id, h.layer, h.shard), r);
        }
        accounts
            .entry(h.account.code.to_string())
            .or_insert(h.account);
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

    let mut dirty: BTreeSet<Key> = BTreeSet::new();
    let mut out = Rows::default();
    let mut accepted: Vec<usize> = Vec::new();
    for i in todo {
        let t = &txns[i];
        let Some(journal) = journal_of(&t.journal) else {
            continue;
        };
        let shard = |account: i64, layer: i16| -> i16 {
            shard_of
                .get(&(journal.id, account, layer))
                .copied()
                .unwrap_or(0)
        };
        match apply(t, journal, &accounts, &rules, &state, &shard) {
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

/// Apply one transaction to a copy of the touched running balances and check the rules; `shard`
/// names the shard each (account, layer) is written on.
fn apply(
    t: &NewTransaction,
    journal: &Journal,
    accounts: &HashMap<String, LockedAccount>,
    rules: &[Rule],
    state: &HashMap<Key, Running>,
    shard: &dyn Fn(i64, i16) -> i16,
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
        let layer = e.layer.id();
        if let Some(r) = state.get(&(journal.id, a.id, layer, shard(a.id, layer))) {
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
        let layer = e.layer.id();
        let key = (journal.id, a.id, layer, shard(a.id, layer));
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
            // the net of the account over the rule's layers, every shard (a ruled account is locked
            // whole, so all its rows were read)
            let sum = |use_scratch: bool| -> Decimal {
                let covered = |k: &Key| {
                    k.0 == journal.id && k.1 == a.id && rule.layers.iter().any(|l| l.id() == k.2)
                };
                // scratch (this transaction's new values) replaces state where both have a key
                let mut net: HashMap<Key, Decimal> = HashMap::new();
                for (k, r) in state.iter().filter(|(k, _)| covered(k)) {
                    net.insert(*k, r.balance);
                }
                if use_scratch {
                    for (k, r) in scratch.iter().filter(|(k, _)| covered(k)) {
                        net.insert(*k, r.balance);
                    }
                }
                a.nature.signed(net.into_values().sum())
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
