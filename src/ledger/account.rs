//! Chart of accounts: `AccountCode`, composite and final accounts, debit or credit nature.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::{Acquire, PgExecutor, Postgres};

use super::error::{db, LedgerError};

/// Longest account code accepted.
pub const MAX_CODE_LEN: usize = 64;

/// An account code such as `11.001.00840`: ASCII letters, digits, `.` and `-`.
///
/// A composite account's descendants are the accounts whose codes start with its code.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountCode(String);

impl AccountCode {
    /// Validate and wrap a code.
    pub fn new(code: impl Into<String>) -> Result<AccountCode, LedgerError> {
        let code = code.into();
        if code.is_empty() || code.len() > MAX_CODE_LEN {
            return Err(LedgerError::invalid(
                "account code",
                format!("{code:?} must have 1..={MAX_CODE_LEN} characters"),
            ));
        }
        // '%' and '_' are excluded so the code is a literal LIKE prefix.
        if let Some(c) = code
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '-'))
        {
            return Err(LedgerError::invalid(
                "account code",
                format!("{code:?} contains {c:?}; use letters, digits, '.' and '-'"),
            ));
        }
        Ok(AccountCode(code))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True if `self` is `ancestor` or lies under it (its code starts with the ancestor's code).
    pub fn is_under(&self, ancestor: &AccountCode) -> bool {
        self.0.starts_with(&ancestor.0)
    }

    /// The LIKE pattern that selects this account's subtree (codes never contain `%` or `_`).
    pub(crate) fn subtree_pattern(&self) -> String {
        format!("{}%", self.0)
    }
}

impl fmt::Display for AccountCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AccountCode {
    type Err = LedgerError;
    fn from_str(s: &str) -> Result<AccountCode, LedgerError> {
        AccountCode::new(s)
    }
}

impl TryFrom<String> for AccountCode {
    type Error = LedgerError;
    fn try_from(s: String) -> Result<AccountCode, LedgerError> {
        AccountCode::new(s)
    }
}

impl From<AccountCode> for String {
    fn from(c: AccountCode) -> String {
        c.0
    }
}

/// Composite accounts group others; final accounts take entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// Sum of its descendants; cannot be posted to.
    Composite,
    /// Takes entries.
    Final,
}

impl AccountKind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Composite => "composite",
            AccountKind::Final => "final",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<AccountKind, LedgerError> {
        match s {
            "composite" => Ok(AccountKind::Composite),
            "final" => Ok(AccountKind::Final),
            other => Err(LedgerError::invalid("account kind", other.to_string())),
        }
    }
}

/// Debit-natured accounts (assets, expenses) or credit-natured (liabilities, equity, income).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Nature {
    /// Balance = debits − credits.
    Debit,
    /// Balance = credits − debits.
    Credit,
}

impl Nature {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Nature::Debit => "debit",
            Nature::Credit => "credit",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Nature, LedgerError> {
        match s {
            "debit" => Ok(Nature::Debit),
            "credit" => Ok(Nature::Credit),
            other => Err(LedgerError::invalid("account nature", other.to_string())),
        }
    }

    /// Turn a raw net (debits − credits) into this nature's balance.
    pub fn signed(self, net: rust_decimal::Decimal) -> rust_decimal::Decimal {
        match self {
            Nature::Debit => net,
            // no "-0" for an untouched credit account
            Nature::Credit if net.is_zero() => rust_decimal::Decimal::ZERO,
            Nature::Credit => -net,
        }
    }
}

/// An account of the chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Database id (lock order).
    pub id: i64,
    /// Its code.
    pub code: AccountCode,
    /// Free text.
    pub description: String,
    /// Composite or final.
    pub kind: AccountKind,
    /// Debit or credit nature.
    pub nature: Nature,
    /// ISO 4217 numeric currency, if the account has one.
    pub currency: Option<String>,
    /// The parent composite's code.
    pub parent: Option<AccountCode>,
    /// Running-balance shards (1 = one balance row per journal and layer, locked with the account;
    /// more = a hot account posted side by side, see docs/ledger.md "Hot accounts").
    pub shards: i16,
}

/// Most running-balance shards an account may have.
pub const MAX_SHARDS: i16 = 256;

fn one() -> i16 {
    1
}

/// What `create_account` needs.
#[derive(Clone, Debug, Deserialize)]
pub struct NewAccount {
    /// The code; must start with the parent's code.
    pub code: AccountCode,
    /// Free text.
    pub description: String,
    /// Composite or final.
    pub kind: AccountKind,
    /// Debit or credit nature.
    pub nature: Nature,
    /// ISO 4217 numeric currency.
    pub currency: Option<String>,
    /// The parent, a composite account.
    pub parent: Option<AccountCode>,
    /// Running-balance shards of a final account (default 1).
    #[serde(default = "one")]
    pub shards: i16,
}

type AccountRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i16,
);

/// The account columns, as a literal so queries are whole compile-time strings.
macro_rules! select_accounts {
    () => {
        "SELECT a.id, a.code, a.description, a.kind, a.nature, a.currency, p.code, a.shards \
         FROM gl_accounts a LEFT JOIN gl_accounts p ON p.id = a.parent_id"
    };
}

fn from_row(r: AccountRow) -> Result<Account, LedgerError> {
    Ok(Account {
        id: r.0,
        code: AccountCode::new(r.1)?,
        description: r.2,
        kind: AccountKind::parse(&r.3)?,
        nature: Nature::parse(&r.4)?,
        currency: r.5,
        parent: r.6.map(AccountCode::new).transpose()?,
        shards: r.7,
    })
}

fn check_shards(code: &AccountCode, kind: AccountKind, shards: i16) -> Result<(), LedgerError> {
    if !(1..=MAX_SHARDS).contains(&shards) {
        return Err(LedgerError::invalid(
            "account shards",
            format!("{code}: {shards} shards; 1 to {MAX_SHARDS}"),
        ));
    }
    if shards > 1 && kind == AccountKind::Composite {
        return Err(LedgerError::invalid(
            "account shards",
            format!("{code} is composite; only final accounts hold balances"),
        ));
    }
    Ok(())
}

/// Create the zero shard rows of sharded final accounts (all of them, or `account_id`) on every
/// journal layer, committed ahead of the posts: a post that had to create them would make concurrent
/// posters wait for its commit. Posts still create missing rows (a journal added later).
pub(crate) async fn ensure_shard_rows<'e, E: PgExecutor<'e>>(
    exec: E,
    account_id: Option<i64>,
) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO gl_balances (journal_id, account_id, layer, shard, balance, seq, last_ts) \
         SELECT l.journal_id, a.id, l.layer, s, 0, 0, 'epoch'::timestamptz \
         FROM gl_accounts a CROSS JOIN gl_journal_layers l \
         CROSS JOIN LATERAL generate_series(0, a.shards - 1) s \
         WHERE a.shards > 1 AND a.kind = 'final' AND ($1::int8 IS NULL OR a.id = $1) \
         ON CONFLICT DO NOTHING",
    )
    .bind(account_id)
    .execute(exec)
    .await
    .map_err(db("creating shard balances"))?;
    Ok(())
}

/// Set the running-balance shards of a final account. Always safe: balances are the sum of every
/// shard row that exists, and posts use whichever rows they find free.
pub async fn set_account_shards<'c, A>(
    conn: A,
    code: &AccountCode,
    shards: i16,
) -> Result<(), LedgerError>
where
    A: Acquire<'c, Database = Postgres>,
{
    check_shards(code, AccountKind::Final, shards)?;
    let mut conn = conn.acquire().await.map_err(db("acquiring a connection"))?;
    let id: Option<i64> = sqlx::query_scalar(
        "UPDATE gl_accounts SET shards = $2 WHERE code = $1 AND kind = 'final' RETURNING id",
    )
    .bind(code.as_str())
    .bind(shards)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("setting account shards"))?;
    let id = id.ok_or_else(|| LedgerError::AccountNotFound(code.to_string()))?;
    ensure_shard_rows(&mut *conn, Some(id)).await
}

/// Create an account. The parent must exist, be composite, and its code must prefix the new code.
pub async fn create_account<'c, A>(conn: A, new: &NewAccount) -> Result<Account, LedgerError>
where
    A: Acquire<'c, Database = Postgres>,
{
    let mut conn = conn.acquire().await.map_err(db("acquiring a connection"))?;
    let parent_id = match &new.parent {
        None => None,
        Some(code) => {
            let parent = find_account(&mut *conn, code).await?;
            if parent.kind != AccountKind::Composite {
                return Err(LedgerError::invalid(
                    "account parent",
                    format!("{code} is final; only composite accounts have children"),
                ));
            }
            if !new.code.is_under(code) || new.code == *code {
                return Err(LedgerError::invalid(
                    "account code",
                    format!("{} must start with its parent's code {code}", new.code),
                ));
            }
            Some(parent.id)
        }
    };
    if let Some(cur) = &new.currency {
        if cur.len() != 3 || !cur.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LedgerError::invalid(
                "currency",
                format!("{cur:?} is not an ISO 4217 numeric code like \"840\""),
            ));
        }
    }
    check_shards(&new.code, new.kind, new.shards)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO gl_accounts (code, description, kind, nature, currency, parent_id, shards) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.code.as_str())
    .bind(&new.description)
    .bind(new.kind.as_str())
    .bind(new.nature.as_str())
    .bind(&new.currency)
    .bind(parent_id)
    .bind(new.shards)
    .fetch_one(&mut *conn)
    .await
    .map_err(db("inserting an account"))?;
    if new.shards > 1 {
        ensure_shard_rows(&mut *conn, Some(id)).await?;
    }
    Ok(Account {
        id,
        code: new.code.clone(),
        description: new.description.clone(),
        kind: new.kind,
        nature: new.nature,
        currency: new.currency.clone(),
        parent: new.parent.clone(),
        shards: new.shards,
    })
}

/// The account with this code.
pub async fn find_account<'e, E: PgExecutor<'e>>(
    exec: E,
    code: &AccountCode,
) -> Result<Account, LedgerError> {
    let row: Option<AccountRow> = sqlx::query_as(concat!(select_accounts!(), " WHERE a.code = $1"))
        .bind(code.as_str())
        .fetch_optional(exec)
        .await
        .map_err(db("reading an account"))?;
    match row {
        Some(r) => from_row(r),
        None => Err(LedgerError::AccountNotFound(code.to_string())),
    }
}

/// Every account, ordered by code.
pub async fn list_accounts<'e, E: PgExecutor<'e>>(exec: E) -> Result<Vec<Account>, LedgerError> {
    let rows: Vec<AccountRow> = sqlx::query_as(concat!(select_accounts!(), " ORDER BY a.code"))
        .fetch_all(exec)
        .await
        .map_err(db("listing accounts"))?;
    rows.into_iter().map(from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert!(AccountCode::new("11.001.00840").is_ok());
        assert!(AccountCode::new("").is_err());
        assert!(AccountCode::new("11_%").is_err());
        assert!(AccountCode::new("a b").is_err());
        let parent = AccountCode::new("11").unwrap();
        let child = AccountCode::new("11.001").unwrap();
        assert!(child.is_under(&parent));
        assert!(!parent.is_under(&child));
        assert_eq!(parent.subtree_pattern(), "11%");
    }

    #[test]
    fn nature_signs() {
        let net = rust_decimal::Decimal::from(5);
        assert_eq!(Nature::Debit.signed(net), net);
        assert_eq!(Nature::Credit.signed(net), -net);
    }
}
