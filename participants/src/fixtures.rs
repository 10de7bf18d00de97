//! Fixtures: issuers, card products (fees, velocity limits), cardholders and their accounts with
//! opening balances, cards, acquirers, merchants and terminals from one YAML file (docs/fixtures.md).
//!
//! Loading is all-or-nothing (one DB transaction) and idempotent: ledger journals and accounts that
//! exist are kept, entity rows are upserted by their natural key, and each opening balance or credit
//! line is one GL transaction with an id derived from the account code, posted only once.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use switchyard::ledger::account::{create_account, find_account, set_account_shards};
use switchyard::ledger::chart::Chart;
use switchyard::ledger::journal::{create_journal, find_journal};
use switchyard::ledger::rules::{add_rule, NewRule, RuleKind};
use switchyard::ledger::{post, AccountCode, AccountKind, Layer, LedgerError, NewTransaction};
use uuid::Uuid;

use crate::error::{db, JcardError};
use crate::pan::{luhn_ok, PanKey};

/// A fixture file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Fixtures {
    /// Ledger journals, accounts and rules (the `switchyard ledger import-chart` format).
    #[serde(default)]
    pub chart: Chart,
    /// Account debited by opening balances (e.g. the issuer's bank account).
    pub opening_contra: Option<String>,
    /// Issuers.
    #[serde(default)]
    pub issuers: Vec<Issuer>,
    /// Card products.
    #[serde(default)]
    pub products: Vec<Product>,
    /// Cardholders.
    #[serde(default)]
    pub cardholders: Vec<Cardholder>,
    /// Cards.
    #[serde(default)]
    pub cards: Vec<Card>,
    /// Acquirers.
    #[serde(default)]
    pub acquirers: Vec<Acquirer>,
    /// Merchants.
    #[serde(default)]
    pub merchants: Vec<Merchant>,
    /// Terminals.
    #[serde(default)]
    pub terminals: Vec<Terminal>,
}

/// An issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Issuer {
    /// Unique name.
    pub name: String,
    /// Institution id.
    pub institution_id: String,
    /// Its journal.
    pub journal: String,
}

/// A velocity limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Velocity {
    /// Name, unique per product.
    pub name: String,
    /// Window in seconds.
    pub period_seconds: i32,
    /// Currency (ISO 4217 numeric).
    pub currency: i16,
    /// Most transactions in the window.
    pub max_count: Option<i32>,
    /// Most amount in the window.
    pub max_amount: Option<Decimal>,
    /// Transaction type names (`Purchase`, `CashAdvance` ...); empty = all debits.
    #[serde(default)]
    pub types: Vec<String>,
}

/// A card product.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Product {
    /// Unique name.
    pub name: String,
    /// Issuer name.
    pub issuer: String,
    /// Composite account of the cardholder accounts.
    pub issued_account: String,
    /// Fee income account.
    pub fee_account: String,
    /// Fees: `TYPE.flat.CCY` / `TYPE.%.CCY` → amount.
    #[serde(default)]
    pub fees: BTreeMap<String, Decimal>,
    /// Velocity limits.
    #[serde(default)]
    pub velocity: Vec<Velocity>,
    /// Active (default true).
    #[serde(default = "yes")]
    pub active: bool,
}

/// A cardholder account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HolderAccount {
    /// CMF account type (`10`, `20`, `30` ...).
    #[serde(rename = "type")]
    pub account_type: String,
    /// Currency (ISO 4217 numeric).
    pub currency: u16,
    /// GL account code (a final account of the chart).
    pub account: String,
    /// Opening balance posted on the accounting layer.
    #[serde(default)]
    pub opening: Decimal,
    /// Credit line posted on the credit layer (makes it a credit account).
    pub credit_line: Option<Decimal>,
}

/// A cardholder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Cardholder {
    /// Unique reference.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Name.
    pub name: String,
    /// Active (default true).
    #[serde(default = "yes")]
    pub active: bool,
    /// Accounts.
    #[serde(default)]
    pub accounts: Vec<HolderAccount>,
}

/// A card. The PAN is hashed on load and never stored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Card {
    /// PAN (fixture data only; stored as its HMAC).
    pub pan: String,
    /// Token (unique).
    pub token: String,
    /// `YYMM`.
    pub expiry: String,
    /// Status (default `active`).
    #[serde(default = "active")]
    pub status: String,
    /// Product name.
    pub product: String,
    /// Cardholder reference.
    pub cardholder: String,
}

/// An acquirer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Acquirer {
    /// DE 32.
    pub institution_id: String,
    /// Name.
    pub name: String,
    /// Settlement account.
    pub transaction_account: String,
    /// Fee account.
    pub fee_account: String,
    /// Active (default true).
    #[serde(default = "yes")]
    pub active: bool,
}

/// A merchant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Merchant {
    /// Acquirer DE 32.
    pub acquirer: String,
    /// DE 42.
    pub merchant_id: String,
    /// Name.
    pub name: String,
    /// Active (default true).
    #[serde(default = "yes")]
    pub active: bool,
}

/// A terminal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Terminal {
    /// Acquirer DE 32.
    pub acquirer: String,
    /// Merchant DE 42.
    pub merchant: String,
    /// DE 41.
    pub terminal_id: String,
    /// Active (default true).
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

fn active() -> String {
    "active".to_owned()
}

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// Entities upserted.
    pub entities: usize,
    /// GL transactions posted (opening balances, credit lines).
    pub posted: usize,
}

impl Fixtures {
    /// Parse a fixture file.
    pub fn from_yaml(text: &str) -> Result<Fixtures, JcardError> {
        serde_yaml::from_str(text).map_err(|e| JcardError::File {
            path: "fixtures".to_owned(),
            reason: e.to_string(),
        })
    }

    /// Read and parse `path`.
    pub fn from_file(path: &std::path::Path) -> Result<Fixtures, JcardError> {
        let text = std::fs::read_to_string(path).map_err(|e| JcardError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Fixtures::from_yaml(&text).map_err(|e| match e {
            JcardError::File { reason, .. } => JcardError::File {
                path: path.display().to_string(),
                reason,
            },
            other => other,
        })
    }
}

/// A deterministic id for the opening GL transaction of `what` (so reloading never posts twice).
fn fixed_id(what: &str) -> Uuid {
    let h = Sha256::digest(what.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    Uuid::from_bytes(b)
}

async fn exists_account(c: &mut PgConnection, code: &str) -> Result<bool, JcardError> {
    let code = AccountCode::new(code)?;
    match find_account(&mut *c, &code).await {
        Ok(_) => Ok(true),
        Err(LedgerError::AccountNotFound(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn need_account(
    c: &mut PgConnection,
    entity: &'static str,
    key: &str,
    code: &str,
) -> Result<(), JcardError> {
    if exists_account(c, code).await? {
        Ok(())
    } else {
        Err(JcardError::fixture(
            entity,
            key,
            format!("account {code} is not in the chart"),
        ))
    }
}

async fn load_chart(c: &mut PgConnection, chart: &Chart) -> Result<(), JcardError> {
    let mut new_journals = Vec::new();
    for j in &chart.journals {
        match find_journal(&mut *c, &j.name).await {
            Ok(_) => {}
            Err(LedgerError::JournalNotFound(_)) => {
                create_journal(&mut *c, j).await?;
                new_journals.push(j.name.clone());
            }
            Err(e) => return Err(e.into()),
        }
    }
    for a in chart.flatten()? {
        if !exists_account(c, a.code.as_str()).await? {
            create_account(&mut *c, &a).await?;
        } else if a.kind == AccountKind::Final {
            // the chart is the declared state: a reload may change a hot account's shards
            set_account_shards(&mut *c, &a.code, a.shards).await?;
        }
    }
    // Rules are added with their journal only: a reload must not duplicate them.
    for r in chart
        .rules
        .iter()
        .filter(|r| new_journals.contains(&r.journal))
    {
        add_rule(&mut *c, r).await?;
    }
    Ok(())
}

async fn id_of(
    c: &mut PgConnection,
    sql: &'static str,
    key: &str,
    entity: &'static str,
    what: &str,
) -> Result<i64, JcardError> {
    sqlx::query_scalar::<_, i64>(sql)
        .bind(key)
        .fetch_optional(&mut *c)
        .await
        .map_err(db("looking up a fixture reference"))?
        .ok_or_else(|| JcardError::fixture(entity, what, format!("refers to unknown {key:?}")))
}

async fn post_once(c: &mut PgConnection, t: NewTransaction) -> Result<usize, JcardError> {
    let seen: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM gl_transactions WHERE id = $1)")
            .bind(t.id)
            .fetch_one(&mut *c)
            .await
            .map_err(db("checking an opening balance"))?;
    if seen {
        return Ok(0);
    }
    post(&mut *c, &t).await?;
    Ok(1)
}

/// Load `fx` into the database behind `pool`, hashing PANs with `key`.
pub async fn load(pool: &PgPool, key: &PanKey, fx: &Fixtures) -> Result<LoadSummary, JcardError> {
    let mut tx = pool
        .begin()
        .await
        .map_err(db("beginning the fixture load"))?;
    let c: &mut PgConnection = &mut tx;
    let mut sum = LoadSummary::default();
    load_chart(c, &fx.chart).await?;
    for i in &fx.issuers {
        let journal = find_journal(&mut *c, &i.journal)
            .await
            .map_err(|e| JcardError::fixture("issuer", &i.name, e.to_string()))?;
        sqlx::query(
            "INSERT INTO jc_issuers (name, institution_id, journal_id) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET institution_id = $2, journal_id = $3",
        )
        .bind(&i.name)
        .bind(&i.institution_id)
        .bind(journal.id)
        .execute(&mut *c)
        .await
        .map_err(db("upserting an issuer"))?;
        sum.entities += 1;
    }
    for p in &fx.products {
        need_account(c, "product", &p.name, &p.issued_account).await?;
        need_account(c, "product", &p.name, &p.fee_account).await?;
        let issuer = id_of(
            c,
            "SELECT id FROM jc_issuers WHERE name = $1",
            &p.issuer,
            "product",
            &p.name,
        )
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jc_card_products (name, issuer_id, issued_account, fee_account, active) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET issuer_id = $2, \
             issued_account = $3, fee_account = $4, active = $5 RETURNING id",
        )
        .bind(&p.name)
        .bind(issuer)
        .bind(&p.issued_account)
        .bind(&p.fee_account)
        .bind(p.active)
        .fetch_one(&mut *c)
        .await
        .map_err(db("upserting a card product"))?;
        sqlx::query("DELETE FROM jc_fees WHERE product_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await
            .map_err(db("replacing fees"))?;
        for (kind, amount) in &p.fees {
            let parts: Vec<&str> = kind.split('.').collect();
            if parts.len() != 3
                || !(parts[1] == "flat" || parts[1] == "%")
                || parts[2].parse::<u16>().is_err()
                || amount.is_sign_negative()
            {
                return Err(JcardError::fixture(
                    "product",
                    &p.name,
                    format!(
                        "fee {kind:?}: expected TYPE.flat.CCY or TYPE.%.CCY with an amount >= 0"
                    ),
                ));
            }
            sqlx::query("INSERT INTO jc_fees (product_id, kind, amount) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(kind)
                .bind(amount)
                .execute(&mut *c)
                .await
                .map_err(db("inserting a fee"))?;
        }
        sqlx::query("DELETE FROM jc_velocity_limits WHERE product_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await
            .map_err(db("replacing velocity limits"))?;
        for v in &p.velocity {
            if v.period_seconds <= 0 || (v.max_count.is_none() && v.max_amount.is_none()) {
                return Err(JcardError::fixture(
                    "product",
                    &p.name,
                    format!(
                        "velocity {:?}: needs period-seconds > 0 and max-count or max-amount",
                        v.name
                    ),
                ));
            }
            sqlx::query(
                "INSERT INTO jc_velocity_limits (product_id, name, period_seconds, currency, max_count, max_amount, txn_types) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id).bind(&v.name).bind(v.period_seconds).bind(v.currency).bind(v.max_count).bind(v.max_amount).bind(&v.types)
            .execute(&mut *c).await.map_err(db("inserting a velocity limit"))?;
        }
        sum.entities += 1;
    }
    for h in &fx.cardholders {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jc_cardholders (ref, name, active) VALUES ($1, $2, $3) \
             ON CONFLICT (ref) DO UPDATE SET name = $2, active = $3 RETURNING id",
        )
        .bind(&h.reference)
        .bind(&h.name)
        .bind(h.active)
        .fetch_one(&mut *c)
        .await
        .map_err(db("upserting a cardholder"))?;
        sum.entities += 1;
        for a in &h.accounts {
            sum.posted += holder_account(c, fx, id, h, a).await?;
        }
    }
    for a in &fx.acquirers {
        need_account(c, "acquirer", &a.institution_id, &a.transaction_account).await?;
        need_account(c, "acquirer", &a.institution_id, &a.fee_account).await?;
        sqlx::query(
            "INSERT INTO jc_acquirers (institution_id, name, transaction_account, fee_account, active) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (institution_id) DO UPDATE SET name = $2, \
             transaction_account = $3, fee_account = $4, active = $5",
        )
        .bind(&a.institution_id).bind(&a.name).bind(&a.transaction_account).bind(&a.fee_account).bind(a.active)
        .execute(&mut *c).await.map_err(db("upserting an acquirer"))?;
        sum.entities += 1;
    }
    for m in &fx.merchants {
        let acq = id_of(
            c,
            "SELECT id FROM jc_acquirers WHERE institution_id = $1",
            &m.acquirer,
            "merchant",
            &m.merchant_id,
        )
        .await?;
        sqlx::query(
            "INSERT INTO jc_merchants (acquirer_id, merchant_id, name, active) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (acquirer_id, merchant_id) DO UPDATE SET name = $3, active = $4",
        )
        .bind(acq).bind(&m.merchant_id).bind(&m.name).bind(m.active)
        .execute(&mut *c).await.map_err(db("upserting a merchant"))?;
        sum.entities += 1;
    }
    for t in &fx.terminals {
        let merchant: Option<i64> = sqlx::query_scalar(
            "SELECT m.id FROM jc_merchants m JOIN jc_acquirers a ON a.id = m.acquirer_id \
             WHERE a.institution_id = $1 AND m.merchant_id = $2",
        )
        .bind(&t.acquirer)
        .bind(&t.merchant)
        .fetch_optional(&mut *c)
        .await
        .map_err(db("looking up a merchant"))?;
        let merchant = merchant.ok_or_else(|| {
            JcardError::fixture(
                "terminal",
                &t.terminal_id,
                format!(
                    "unknown merchant {:?} of acquirer {:?}",
                    t.merchant, t.acquirer
                ),
            )
        })?;
        sqlx::query(
            "INSERT INTO jc_terminals (merchant_id, terminal_id, active) VALUES ($1, $2, $3) \
             ON CONFLICT (merchant_id, terminal_id) DO UPDATE SET active = $3",
        )
        .bind(merchant)
        .bind(&t.terminal_id)
        .bind(t.active)
        .execute(&mut *c)
        .await
        .map_err(db("upserting a terminal"))?;
        sum.entities += 1;
    }
    for card in &fx.cards {
        sum.entities += load_card(c, key, card).await?;
    }
    tx.commit()
        .await
        .map_err(db("committing the fixture load"))?;
    Ok(sum)
}

async fn holder_account(
    c: &mut PgConnection,
    fx: &Fixtures,
    holder_id: i64,
    h: &Cardholder,
    a: &HolderAccount,
) -> Result<usize, JcardError> {
    let key = format!("{}/{}", h.reference, a.account);
    if a.account_type.len() != 2 || !a.account_type.bytes().all(|b| b.is_ascii_digit()) {
        return Err(JcardError::fixture(
            "cardholder",
            key,
            "account type must be two digits",
        ));
    }
    need_account(c, "cardholder", &key, &a.account).await?;
    let cur = i16::try_from(a.currency)
        .map_err(|_| JcardError::fixture("cardholder", &key, "bad currency"))?;
    let credit = a.credit_line.is_some();
    sqlx::query(
        "INSERT INTO jc_cardholder_accounts (cardholder_id, account_type, currency, account, credit) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cardholder_id, account_type, currency) \
         DO UPDATE SET account = $4, credit = $5",
    )
    .bind(holder_id).bind(&a.account_type).bind(cur).bind(&a.account).bind(credit)
    .execute(&mut *c).await.map_err(db("upserting a cardholder account"))?;
    let journal: String = sqlx::query_scalar(
        "SELECT j.name FROM jc_card_products p JOIN jc_issuers i ON i.id = p.issuer_id \
         JOIN gl_journals j ON j.id = i.journal_id WHERE $1 LIKE p.issued_account || '%' \
         ORDER BY length(p.issued_account) DESC LIMIT 1",
    )
    .bind(&a.account)
    .fetch_optional(&mut *c)
    .await
    .map_err(db("finding an account's journal"))?
    .ok_or_else(|| {
        JcardError::fixture(
            "cardholder",
            &key,
            "account is under no product's issued-account",
        )
    })?;
    let code = AccountCode::new(&a.account)?;
    // No overdraft: the available balance (with the credit line for credit accounts) stays >= 0.
    let mut layers = Layer::available(a.currency, credit)?;
    layers.sort();
    let has_rule: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM gl_rules r JOIN gl_accounts a ON a.id = r.account_id \
         WHERE a.code = $1 AND r.kind = 'min_balance')",
    )
    .bind(&a.account)
    .fetch_one(&mut *c)
    .await
    .map_err(db("checking a rule"))?;
    if !has_rule {
        add_rule(
            &mut *c,
            &NewRule {
                journal: journal.clone(),
                account: Some(code.clone()),
                kind: RuleKind::MinBalance,
                layers,
                amount: Some(Decimal::ZERO),
                description: format!("{key}: no overdraft"),
            },
        )
        .await?;
    }
    let mut posted = 0;
    if a.opening > Decimal::ZERO {
        let contra = fx.opening_contra.as_deref().ok_or_else(|| {
            JcardError::fixture(
                "cardholder",
                &key,
                "an opening balance needs opening-contra",
            )
        })?;
        let l = Layer::accounting(a.currency)?;
        let mut t = NewTransaction::new(journal.clone(), format!("opening balance {}", a.account))
            .debit(&AccountCode::new(contra)?, a.opening.into(), l)
            .credit(&code, a.opening.into(), l)
            .tag("opening");
        t.id = fixed_id(&format!("opening:{}", a.account));
        posted += post_once(c, t).await?;
    }
    if let Some(line) = a.credit_line.filter(|l| *l > Decimal::ZERO) {
        let mut t = NewTransaction::new(journal, format!("credit line {}", a.account))
            .credit(&code, line.into(), Layer::credit(a.currency)?)
            .tag("credit-line");
        t.id = fixed_id(&format!("credit-line:{}", a.account));
        posted += post_once(c, t).await?;
    }
    Ok(posted)
}

async fn load_card(c: &mut PgConnection, key: &PanKey, card: &Card) -> Result<usize, JcardError> {
    let k = &card.token;
    if !luhn_ok(&card.pan) {
        return Err(JcardError::fixture("card", k, "PAN fails the Luhn check"));
    }
    if card.expiry.len() != 4 || !card.expiry.bytes().all(|b| b.is_ascii_digit()) {
        return Err(JcardError::fixture("card", k, "expiry must be YYMM"));
    }
    if !["active", "inactive", "lost", "stolen", "suspended"].contains(&card.status.as_str()) {
        return Err(JcardError::fixture(
            "card",
            k,
            format!("unknown status {:?}", card.status),
        ));
    }
    let product = id_of(
        c,
        "SELECT id FROM jc_card_products WHERE name = $1",
        &card.product,
        "card",
        k,
    )
    .await?;
    let holder = id_of(
        c,
        "SELECT id FROM jc_cardholders WHERE ref = $1",
        &card.cardholder,
        "card",
        k,
    )
    .await?;
    let last4 = &card.pan[card.pan.len() - 4..];
    sqlx::query(
        "INSERT INTO jc_cards (pan_hash, token, last4, bin, expiry, status, product_id, cardholder_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (pan_hash) DO UPDATE SET token = $2, \
         expiry = $5, status = $6, product_id = $7, cardholder_id = $8",
    )
    .bind(key.hash(&card.pan)).bind(&card.token).bind(last4).bind(&card.pan[..6])
    .bind(&card.expiry).bind(&card.status).bind(product).bind(holder)
    .execute(&mut *c).await.map_err(db("upserting a card"))?;
    Ok(1)
}
