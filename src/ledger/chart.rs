//! Chart files: journals, accounts (as a tree) and rules in YAML, imported in one DB transaction.
//!
//! ```yaml
//! journals:
//!   - name: jcard
//!     layers: [{ layer: 840, double-entry: true }, { layer: 1840, double-entry: true },
//!              { layer: 2840, double-entry: false }]
//! accounts:
//!   - { code: "1", description: Assets, kind: composite, nature: debit, children: [
//!       { code: "11.001.00840", description: Cash, kind: final, nature: debit, currency: "840" } ] }
//! rules:
//!   - { journal: jcard, account: "2", kind: min_balance, layers: [840, 1840], amount: "0" }
//! ```

use serde::Deserialize;
use sqlx::{Acquire, Postgres};

use super::account::{create_account, AccountCode, AccountKind, Nature, NewAccount};
use super::error::{db, LedgerError};
use super::journal::{create_journal, NewJournal};
use super::rules::{add_rule, NewRule};

/// Deepest account nesting accepted in a chart file.
pub const MAX_DEPTH: usize = 16;

/// A chart file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    /// Journals to create.
    #[serde(default)]
    pub journals: Vec<NewJournal>,
    /// Top-level accounts, with their children nested.
    #[serde(default)]
    pub accounts: Vec<ChartAccount>,
    /// Rules to add.
    #[serde(default)]
    pub rules: Vec<NewRule>,
}

/// An account in a chart file; children inherit the currency unless they set one.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartAccount {
    /// Its code; must start with the parent's.
    pub code: AccountCode,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Composite or final.
    pub kind: AccountKind,
    /// Debit or credit.
    pub nature: Nature,
    /// ISO 4217 numeric currency.
    #[serde(default)]
    pub currency: Option<String>,
    /// Children (composite accounts only).
    #[serde(default)]
    pub children: Vec<ChartAccount>,
    /// Running-balance shards of a hot final account (default 1; docs/ledger.md "Hot accounts").
    #[serde(default)]
    pub shards: Option<i16>,
}

/// What an import created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Journals created.
    pub journals: usize,
    /// Accounts created.
    pub accounts: usize,
    /// Rules added.
    pub rules: usize,
}

impl Chart {
    /// Parse a chart from YAML text.
    pub fn from_yaml(text: &str) -> Result<Chart, LedgerError> {
        serde_yaml::from_str(text).map_err(|e| LedgerError::invalid("chart file", e.to_string()))
    }

    /// The accounts flattened parent-first, each with its parent's code and inherited currency.
    pub fn flatten(&self) -> Result<Vec<NewAccount>, LedgerError> {
        let mut out = Vec::new();
        for a in &self.accounts {
            flatten_into(a, None, None, 0, &mut out)?;
        }
        Ok(out)
    }
}

fn flatten_into(
    a: &ChartAccount,
    parent: Option<&AccountCode>,
    currency: Option<&String>,
    depth: usize,
    out: &mut Vec<NewAccount>,
) -> Result<(), LedgerError> {
    if depth >= MAX_DEPTH {
        return Err(LedgerError::invalid(
            "chart file",
            format!("account {} is nested deeper than {MAX_DEPTH}", a.code),
        ));
    }
    if a.kind == AccountKind::Final && !a.children.is_empty() {
        return Err(LedgerError::invalid(
            "chart file",
            format!("final account {} has children", a.code),
        ));
    }
    let currency = a.currency.as_ref().or(currency);
    out.push(NewAccount {
        code: a.code.clone(),
        description: a.description.clone(),
        kind: a.kind,
        nature: a.nature,
        currency: currency.cloned(),
        parent: parent.cloned(),
        shards: a.shards.unwrap_or(1),
    });
    for c in &a.children {
        flatten_into(c, Some(&a.code), currency, depth + 1, out)?;
    }
    Ok(())
}

/// Create everything in `chart` atomically: all of it or, on the first error, none of it.
pub async fn import_chart<'c, A>(conn: A, chart: &Chart) -> Result<ImportSummary, LedgerError>
where
    A: Acquire<'c, Database = Postgres>,
{
    let accounts = chart.flatten()?;
    let mut tx = conn.begin().await.map_err(db("beginning a chart import"))?;
    for j in &chart.journals {
        create_journal(&mut *tx, j).await?;
    }
    for a in &accounts {
        create_account(&mut *tx, a).await?;
    }
    for r in &chart.rules {
        add_rule(&mut *tx, r).await?;
    }
    tx.commit().await.map_err(db("committing a chart import"))?;
    Ok(ImportSummary {
        journals: chart.journals.len(),
        accounts: accounts.len(),
        rules: chart.rules.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_with_parents_and_currency() {
        let chart = Chart::from_yaml(
            r#"
accounts:
  - code: "2"
    kind: composite
    nature: credit
    currency: "840"
    children:
      - { code: "21", kind: final, nature: credit }
"#,
        )
        .unwrap();
        let flat = chart.flatten().unwrap();
        assert_eq!(flat.len(), 2);
        assert_eq!(flat[1].parent.as_ref().map(|c| c.as_str()), Some("2"));
        assert_eq!(flat[1].currency.as_deref(), Some("840"));
        assert!(
            Chart::from_yaml("accounts: [{code: x, kind: final, nature: debit, oops: 1}]").is_err()
        );
    }
}
