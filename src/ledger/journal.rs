//! Journals: named books of GL transactions, each declaring its layers and which must balance.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{Acquire, PgExecutor, Postgres};
use uuid::Uuid;

use super::error::{db, LedgerError};
use super::layer::Layer;
use super::rules::{rules_from_json, Rule, RuleJson};
use sqlx::types::Json;
use sqlx::{FromRow, Row};

/// A layer a journal accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalLayer {
    /// The layer.
    pub layer: Layer,
    /// True: every transaction must balance on it. False: single-entry memo layer (e.g. 2840 credit line).
    #[serde(rename = "double-entry")]
    pub double_entry: bool,
}

/// A journal with its layers and posting window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Journal {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// A closed journal accepts no posts.
    pub closed: bool,
    /// Earliest accepted post date.
    pub start_date: Option<NaiveDate>,
    /// Latest accepted post date.
    pub end_date: Option<NaiveDate>,
    /// Post dates on or before this are locked.
    pub lock_date: Option<NaiveDate>,
    /// Accepted layers, ordered by layer.
    pub layers: Vec<JournalLayer>,
}

impl Journal {
    /// The declaration of `layer`, if the journal accepts it.
    pub fn layer(&self, layer: Layer) -> Option<&JournalLayer> {
        self.layers.iter().find(|l| l.layer == layer)
    }

    /// miniGL CanPost: `Err(reason)` if the journal refuses a post dated `date`.
    pub fn can_post(&self, date: NaiveDate) -> Result<(), String> {
        if self.closed {
            return Err("journal is closed".into());
        }
        if let Some(start) = self.start_date {
            if date < start {
                return Err(format!("before the journal's start date {start}"));
            }
        }
        if let Some(end) = self.end_date {
            if date > end {
                return Err(format!("after the journal's end date {end}"));
            }
        }
        if let Some(lock) = self.lock_date {
            if date <= lock {
                return Err(format!("on or before the journal's lock date {lock}"));
            }
        }
        Ok(())
    }
}

/// What `create_journal` needs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewJournal {
    /// Unique name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Earliest accepted post date.
    #[serde(default, rename = "start-date")]
    pub start_date: Option<NaiveDate>,
    /// Latest accepted post date.
    #[serde(default, rename = "end-date")]
    pub end_date: Option<NaiveDate>,
    /// Accepted layers.
    pub layers: Vec<JournalLayer>,
}

type JournalRow = (
    i64,
    String,
    String,
    bool,
    Option<NaiveDate>,
    Option<NaiveDate>,
    Option<NaiveDate>,
    Option<i16>,
    Option<bool>,
);

/// Group joined journal/layer rows into journals (rows ordered by journal then layer).
pub(crate) fn journals_from_rows(rows: Vec<JournalRow>) -> Result<Vec<Journal>, LedgerError> {
    let mut out: Vec<Journal> = Vec::new();
    for r in rows {
        if out.last().map(|j| j.id) != Some(r.0) {
            out.push(Journal {
                id: r.0,
                name: r.1,
                description: r.2,
                closed: r.3,
                start_date: r.4,
                end_date: r.5,
                lock_date: r.6,
                layers: Vec::new(),
            });
        }
        if let (Some(layer), Some(double_entry), Some(j)) = (r.7, r.8, out.last_mut()) {
            j.layers.push(JournalLayer {
                layer: Layer::from_id(layer)?,
                double_entry,
            });
        }
    }
    Ok(out)
}

/// The journal columns joined with its layers, as a literal.
macro_rules! select_journals {
    () => {
        "SELECT j.id, j.name, j.description, j.closed, j.start_date, j.end_date, j.lock_date, \
         l.layer, l.double_entry \
         FROM gl_journals j LEFT JOIN gl_journal_layers l ON l.journal_id = j.id"
    };
}

/// Create a journal and its layers.
pub async fn create_journal<'c, A>(conn: A, new: &NewJournal) -> Result<Journal, LedgerError>
where
    A: Acquire<'c, Database = Postgres>,
{
    if new.name.trim().is_empty() || new.name.len() > 64 {
        return Err(LedgerError::invalid(
            "journal name",
            format!("{:?} must have 1..=64 characters", new.name),
        ));
    }
    if new.layers.is_empty() {
        return Err(LedgerError::invalid(
            "journal layers",
            format!("journal {:?} declares no layer", new.name),
        ));
    }
    let mut tx = conn.begin().await.map_err(db("beginning a transaction"))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO gl_journals (name, description, start_date, end_date) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&new.name)
    .bind(&new.description)
    .bind(new.start_date)
    .bind(new.end_date)
    .fetch_one(&mut *tx)
    .await
    .map_err(db("inserting a journal"))?;
    let mut layers = new.layers.clone();
    layers.sort_by_key(|l| l.layer);
    layers.dedup_by_key(|l| l.layer);
    for l in &layers {
        sqlx::query(
            "INSERT INTO gl_journal_layers (journal_id, layer, double_entry) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(l.layer.id())
        .bind(l.double_entry)
        .execute(&mut *tx)
        .await
        .map_err(db("inserting a journal layer"))?;
    }
    super::account::ensure_shard_rows(&mut *tx, None).await?;
    tx.commit().await.map_err(db("committing a new journal"))?;
    Ok(Journal {
        id,
        name: new.name.clone(),
        description: new.description.clone(),
        closed: false,
        start_date: new.start_date,
        end_date: new.end_date,
        lock_date: None,
        layers,
    })
}

/// The journal with this name.
pub async fn find_journal<'e, E: PgExecutor<'e>>(
    exec: E,
    name: &str,
) -> Result<Journal, LedgerError> {
    let rows: Vec<JournalRow> = sqlx::query_as(concat!(
        select_journals!(),
        " WHERE j.name = $1 ORDER BY j.id, l.layer"
    ))
    .bind(name)
    .fetch_all(exec)
    .await
    .map_err(db("reading a journal"))?;
    journals_from_rows(rows)?
        .pop()
        .ok_or_else(|| LedgerError::JournalNotFound(name.to_string()))
}

/// What `post_batch` reads before taking any lock, in one round trip: the journals named `names`,
/// which of `ids` are already posted, and the rules of those journals that name no account or one of
/// the accounts `prefixes` (see `rules::prefixes_of`). With no journal found nothing can post, so the
/// other two do not matter then.
pub(crate) async fn post_context<'e, E: PgExecutor<'e>>(
    exec: E,
    names: &[String],
    ids: &[Uuid],
    prefixes: &[String],
) -> Result<(Vec<Journal>, Vec<Uuid>, Vec<Rule>), LedgerError> {
    let rows = sqlx::query(
        "SELECT j.id, j.name, j.description, j.closed, j.start_date, j.end_date, j.lock_date, \
         l.layer, l.double_entry, ARRAY(SELECT t.id FROM gl_transactions t WHERE t.id = ANY($2)), \
         (SELECT COALESCE(json_agg(x ORDER BY x.id), '[]'::json) FROM ( \
            SELECT r.id, r.journal_id, a.code, r.kind, r.layers, r.amount::text AS amount, \
                   r.description \
            FROM gl_rules r JOIN gl_accounts a ON a.id = r.account_id \
            JOIN gl_journals rj ON rj.id = r.journal_id WHERE a.code = ANY($3) AND rj.name = ANY($1) \
            UNION ALL \
            SELECT r.id, r.journal_id, NULL, r.kind, r.layers, r.amount::text, r.description \
            FROM gl_rules r JOIN gl_journals rj ON rj.id = r.journal_id \
            WHERE r.account_id IS NULL AND rj.name = ANY($1)) x) \
         FROM gl_journals j LEFT JOIN gl_journal_layers l ON l.journal_id = j.id \
         WHERE j.name = ANY($1) ORDER BY j.id, l.layer",
    )
    // planned afresh each time: a generic plan cached while gl_transactions was small scans it
    // whole for the posted ids as it grows (until autovacuum's next ANALYZE invalidates the plan)
    .persistent(false)
    .bind(names)
    .bind(ids)
    .bind(prefixes)
    .fetch_all(exec)
    .await
    .map_err(db("reading journals, posted ids and rules"))?;
    // columns 0-8 are a journal row (as `select_journals!`), 9 the posted ids, 10 the rules
    const DECODING: &str = "decoding journals, posted ids and rules";
    let (posted, rules) = match rows.first() {
        Some(r) => {
            let posted: Vec<Uuid> = r.try_get(9).map_err(db(DECODING))?;
            let rules: Json<Vec<RuleJson>> = r.try_get(10).map_err(db(DECODING))?;
            (posted, rules_from_json(rules.0)?)
        }
        None => (Vec::new(), Vec::new()),
    };
    let rows = rows
        .iter()
        .map(JournalRow::from_row)
        .collect::<Result<Vec<_>, _>>()
        .map_err(db(DECODING))?;
    Ok((journals_from_rows(rows)?, posted, rules))
}

/// Every journal, ordered by name.
pub async fn list_journals<'e, E: PgExecutor<'e>>(exec: E) -> Result<Vec<Journal>, LedgerError> {
    let rows: Vec<JournalRow> = sqlx::query_as(concat!(
        select_journals!(),
        " ORDER BY j.name, j.id, l.layer"
    ))
    .fetch_all(exec)
    .await
    .map_err(db("listing journals"))?;
    journals_from_rows(rows)
}

/// Close (or reopen) a journal, and set its lock date; posts check both (miniGL CanPost).
pub async fn set_journal_status<'e, E: PgExecutor<'e>>(
    exec: E,
    name: &str,
    closed: bool,
    lock_date: Option<NaiveDate>,
) -> Result<(), LedgerError> {
    let done = sqlx::query("UPDATE gl_journals SET closed = $2, lock_date = $3 WHERE name = $1")
        .bind(name)
        .bind(closed)
        .bind(lock_date)
        .execute(exec)
        .await
        .map_err(db("updating a journal's status"))?;
    if done.rows_affected() == 0 {
        return Err(LedgerError::JournalNotFound(name.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal() -> Journal {
        Journal {
            id: 1,
            name: "jcard".into(),
            description: String::new(),
            closed: false,
            start_date: NaiveDate::from_ymd_opt(2026, 1, 1),
            end_date: NaiveDate::from_ymd_opt(2026, 12, 31),
            lock_date: NaiveDate::from_ymd_opt(2026, 3, 31),
            layers: Vec::new(),
        }
    }

    #[test]
    fn can_post_window() {
        let j = journal();
        let d = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap_or_default();
        assert!(j.can_post(d(4, 1)).is_ok());
        assert!(j.can_post(d(3, 31)).is_err());
        assert!(j
            .can_post(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default())
            .is_err());
        let closed = Journal { closed: true, ..j };
        assert!(closed.can_post(d(4, 1)).is_err());
    }
}
