//! Posting rules per journal and account (miniGL FinalMinBalance / FinalMaxBalance / CanPost).
//!
//! A rule with an account applies to that account and every final account under it (code prefix);
//! without an account it applies to every final account posted in the journal. Rules are evaluated by
//! `post` under the account row locks, on the balance *including* the post being checked. A min/max rule
//! refuses a post only if it leaves the balance beyond the limit *and* moves it further that way, so an
//! account already over a limit can always be brought back.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{Acquire, Postgres};
use uuid::Uuid;

use super::account::{find_account, AccountCode};
use super::error::{db, LedgerError};
use super::journal::find_journal;
use super::layer::{layer_ids, Layer};

/// What a rule checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Balance over `layers` must stay ≥ `amount`.
    MinBalance,
    /// Balance over `layers` must stay ≤ `amount`.
    MaxBalance,
    /// The account (subtree) may not be posted in this journal: a frozen account.
    NoPost,
}

impl RuleKind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::MinBalance => "min_balance",
            RuleKind::MaxBalance => "max_balance",
            RuleKind::NoPost => "no_post",
        }
    }

    fn parse(s: &str) -> Result<RuleKind, LedgerError> {
        match s {
            "min_balance" => Ok(RuleKind::MinBalance),
            "max_balance" => Ok(RuleKind::MaxBalance),
            "no_post" => Ok(RuleKind::NoPost),
            other => Err(LedgerError::invalid("rule kind", other.to_string())),
        }
    }
}

/// A rule as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Database id.
    pub id: i64,
    /// The journal it belongs to.
    pub journal_id: i64,
    /// The account (subtree) it covers; `None` = every account.
    pub account: Option<AccountCode>,
    /// What it checks.
    pub kind: RuleKind,
    /// Layers whose sum is checked (min/max).
    pub layers: Vec<Layer>,
    /// The limit (min/max).
    pub amount: Option<Decimal>,
    /// Free text.
    pub description: String,
}

/// What `add_rule` needs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    /// The journal's name.
    pub journal: String,
    /// The account (subtree) it covers; `None` = every account.
    #[serde(default)]
    pub account: Option<AccountCode>,
    /// What it checks.
    pub kind: RuleKind,
    /// Layers whose sum is checked (required for min/max).
    #[serde(default)]
    pub layers: Vec<Layer>,
    /// The limit (required for min/max).
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// Free text.
    #[serde(default)]
    pub description: String,
}

impl Rule {
    /// True if the rule covers the final account `code`.
    pub fn covers(&self, code: &AccountCode) -> bool {
        self.account.as_ref().is_none_or(|a| code.is_under(a))
    }

    /// Check the rule for one account given its nature-signed balance over `self.layers` before and
    /// after the post; `Err` is a `RuleViolation` for transaction `txn`.
    pub fn check(
        &self,
        txn: Uuid,
        code: &AccountCode,
        before: Decimal,
        after: Decimal,
    ) -> Result<(), LedgerError> {
        let violation = |reason: String| LedgerError::RuleViolation {
            txn,
            rule: format!("#{} {}", self.id, self.kind.as_str()),
            account: code.to_string(),
            reason,
        };
        let limit = self.amount.unwrap_or_default();
        match self.kind {
            RuleKind::NoPost => Err(violation("account may not be posted".into())),
            RuleKind::MinBalance if after < limit && after < before => Err(violation(format!(
                "balance on layers {} would be {after}, below the minimum {limit}",
                layers_text(&self.layers)
            ))),
            RuleKind::MaxBalance if after > limit && after > before => Err(violation(format!(
                "balance on layers {} would be {after}, above the maximum {limit}",
                layers_text(&self.layers)
            ))),
            _ => Ok(()),
        }
    }
}

fn layers_text(layers: &[Layer]) -> String {
    layers
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Add a rule to a journal.
pub async fn add_rule<'c, A>(conn: A, new: &NewRule) -> Result<Rule, LedgerError>
where
    A: Acquire<'c, Database = Postgres>,
{
    let mut conn = conn.acquire().await.map_err(db("acquiring a connection"))?;
    let journal = find_journal(&mut *conn, &new.journal).await?;
    let account_id = match &new.account {
        Some(code) => Some(find_account(&mut *conn, code).await?.id),
        None => None,
    };
    if new.kind != RuleKind::NoPost && (new.layers.is_empty() || new.amount.is_none()) {
        return Err(LedgerError::invalid(
            "rule",
            format!("{} needs layers and an amount", new.kind.as_str()),
        ));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO gl_rules (journal_id, account_id, kind, layers, amount, description) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(journal.id)
    .bind(account_id)
    .bind(new.kind.as_str())
    .bind(layer_ids(&new.layers))
    .bind(new.amount)
    .bind(&new.description)
    .fetch_one(&mut *conn)
    .await
    .map_err(db("inserting a rule"))?;
    Ok(Rule {
        id,
        journal_id: journal.id,
        account: new.account.clone(),
        kind: new.kind,
        layers: new.layers.clone(),
        amount: new.amount,
        description: new.description.clone(),
    })
}

type RuleRow = (
    i64,
    i64,
    Option<String>,
    String,
    Vec<i16>,
    Option<Decimal>,
    String,
);

/// Every prefix of every code in `codes` (a rule on an account covers the codes it prefixes), sorted
/// and without duplicates: the accounts whose rules can cover a post's accounts.
pub(crate) fn prefixes_of(codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .flat_map(|c| {
            c.char_indices()
                .map(move |(i, ch)| c[..i + ch.len_utf8()].to_string())
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A rule as `json_build_object` returns it (the amount as text, so it stays exact).
#[derive(Debug, Deserialize)]
pub(crate) struct RuleJson {
    id: i64,
    journal_id: i64,
    code: Option<String>,
    kind: String,
    layers: Vec<i16>,
    amount: Option<String>,
    description: String,
}

/// Rules from their JSON form.
pub(crate) fn rules_from_json(rows: Vec<RuleJson>) -> Result<Vec<Rule>, LedgerError> {
    let rows = rows
        .into_iter()
        .map(|r| {
            let amount = r
                .amount
                .map(|a| {
                    a.parse::<Decimal>()
                        .map_err(|e| LedgerError::invalid("rule amount", format!("{a:?}: {e}")))
                })
                .transpose()?;
            Ok((
                r.id,
                r.journal_id,
                r.code,
                r.kind,
                r.layers,
                amount,
                r.description,
            ))
        })
        .collect::<Result<Vec<RuleRow>, LedgerError>>()?;
    rules_of(rows)
}

fn rules_of(rows: Vec<RuleRow>) -> Result<Vec<Rule>, LedgerError> {
    rows.into_iter()
        .map(|r| {
            Ok(Rule {
                id: r.0,
                journal_id: r.1,
                account: r.2.map(AccountCode::new).transpose()?,
                kind: RuleKind::parse(&r.3)?,
                layers: r
                    .4
                    .into_iter()
                    .map(Layer::from_id)
                    .collect::<Result<_, _>>()?,
                amount: r.5,
                description: r.6,
            })
        })
        .collect()
}

/// Every rule of a journal.
pub async fn list_rules<'c, A>(conn: A, journal: &str) -> Result<Vec<Rule>, LedgerError>
where
    A: Acquire<'c, Database = Postgres>,
{
    let mut conn = conn.acquire().await.map_err(db("acquiring a connection"))?;
    let j = find_journal(&mut *conn, journal).await?;
    let rows: Vec<RuleRow> = sqlx::query_as(
        "SELECT r.id, r.journal_id, a.code, r.kind, r.layers, r.amount, r.description \
         FROM gl_rules r LEFT JOIN gl_accounts a ON a.id = r.account_id \
         WHERE r.journal_id = $1 ORDER BY r.id",
    )
    .bind(j.id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("listing posting rules"))?;
    rules_of(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_every_ancestor_code() {
        let p = prefixes_of(&["21.1".to_string(), "22".to_string()]);
        assert_eq!(p, vec!["2", "21", "21.", "21.1", "22"]);
    }

    #[test]
    fn rules_from_json_keep_amounts_exact() {
        let json = r#"[{"id": 3, "journal_id": 1, "code": "21", "kind": "min_balance",
            "layers": [840, 1840], "amount": "0.10", "description": "no overdraft"},
            {"id": 4, "journal_id": 1, "code": null, "kind": "no_post", "layers": [],
            "amount": null, "description": ""}]"#;
        let rules = rules_from_json(serde_json::from_str(json).unwrap()).unwrap();
        assert_eq!(rules[0].amount, Some(Decimal::new(10, 2)));
        assert_eq!(rules[0].layers.len(), 2);
        assert!(rules[1].account.is_none() && rules[1].kind == RuleKind::NoPost);
        let bad = r#"[{"id": 1, "journal_id": 1, "code": null, "kind": "max_balance",
            "layers": [], "amount": "1e", "description": ""}]"#;
        assert!(rules_from_json(serde_json::from_str(bad).unwrap()).is_err());
    }

    fn rule(kind: RuleKind, amount: i64) -> Rule {
        Rule {
            id: 7,
            journal_id: 1,
            account: AccountCode::new("21").ok(),
            kind,
            layers: vec![Layer::from_id(840).unwrap()],
            amount: Some(Decimal::from(amount)),
            description: String::new(),
        }
    }

    fn code(s: &str) -> AccountCode {
        AccountCode::new(s).unwrap()
    }

    #[test]
    fn min_balance_only_refuses_moves_below() {
        let r = rule(RuleKind::MinBalance, 0);
        let id = Uuid::nil();
        let d = Decimal::from;
        assert!(r.check(id, &code("21.1"), d(10), d(0)).is_ok());
        assert!(r.check(id, &code("21.1"), d(10), d(-1)).is_err());
        // already overdrawn: a deposit that leaves it overdrawn is still accepted
        assert!(r.check(id, &code("21.1"), d(-50), d(-20)).is_ok());
        assert!(r.covers(&code("21.1")));
        assert!(!r.covers(&code("22")));
    }

    #[test]
    fn max_balance_and_no_post() {
        let id = Uuid::nil();
        let d = Decimal::from;
        let r = rule(RuleKind::MaxBalance, 100);
        assert!(r.check(id, &code("21"), d(0), d(100)).is_ok());
        assert!(r.check(id, &code("21"), d(0), d(101)).is_err());
        assert!(rule(RuleKind::NoPost, 0)
            .check(id, &code("21"), d(0), d(1))
            .is_err());
    }
}
