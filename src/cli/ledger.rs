//! `switchyard ledger accounts|balance|statement|check|import-chart`: the financial staff's tools.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;
use sqlx::PgPool;

use super::db::DbTarget;
use crate::ledger::account::{find_account, list_accounts, set_account_shards};
use crate::ledger::balance::{all_nets, rolled_up};
use crate::ledger::chart::{import_chart, Chart};
use crate::ledger::journal::{find_journal, list_journals, Journal};
use crate::ledger::layer::parse_layers;
use crate::ledger::time::{parse_as_of, parse_from, parse_to};
use crate::ledger::{balance, check, statement, Account, AccountCode, Layer};

/// Ledger commands.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// List the chart of accounts; with --journal, each account's balance per journal layer.
    Accounts {
        /// Show balances in this journal.
        #[arg(long)]
        journal: Option<String>,
        #[command(flatten)]
        db: DbTarget,
    },
    /// Balance of an account (composite: sum of its subtree) over layers, now or as of a time.
    Balance {
        /// Account code, e.g. 21.001.00840.
        account: String,
        /// Journal (default: the only journal).
        #[arg(long)]
        journal: Option<String>,
        /// Comma-separated layers (default: the account currency's accounting layer).
        #[arg(long)]
        layers: Option<String>,
        /// RFC 3339 instant, or a date meaning the end of that day (UTC).
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        db: DbTarget,
    },
    /// Statement of an account with opening, running and closing balances.
    Statement {
        /// Account code.
        account: String,
        /// Start: RFC 3339 instant, or a date (its start, UTC).
        #[arg(long)]
        from: String,
        /// End (exclusive): RFC 3339 instant, or a date (included: up to its end, UTC).
        #[arg(long)]
        to: String,
        /// Journal (default: the only journal).
        #[arg(long)]
        journal: Option<String>,
        /// Comma-separated layers (default: the account currency's accounting layer).
        #[arg(long)]
        layers: Option<String>,
        #[command(flatten)]
        db: DbTarget,
    },
    /// Audit: transactions balanced per double-entry layer, cached balances equal to entries.
    Check(DbTarget),
    /// Set the running-balance shards of a hot final account (1 = not sharded; docs/ledger.md).
    Shards {
        /// Account code, e.g. 22.001.00840.
        account: String,
        /// Shards, 1 to 256; at least the connections posting to it at once.
        shards: i16,
        #[command(flatten)]
        db: DbTarget,
    },
    /// Create the journals, accounts and rules of a YAML chart file (all or nothing).
    ImportChart {
        /// The chart file.
        file: PathBuf,
        #[command(flatten)]
        db: DbTarget,
    },
}

async fn journal(pool: &PgPool, name: Option<&str>) -> anyhow::Result<Journal> {
    if let Some(name) = name {
        return Ok(find_journal(pool, name).await?);
    }
    let mut all = list_journals(pool).await?;
    match all.len() {
        1 => Ok(all.remove(0)),
        0 => bail!(
            "there are no journals: import a chart first (switchyard ledger import-chart FILE)"
        ),
        _ => bail!(
            "several journals ({}): choose one with --journal",
            all.iter()
                .map(|j| j.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn layers_for(account: &Account, layers: Option<&str>) -> anyhow::Result<Vec<Layer>> {
    if let Some(s) = layers {
        return Ok(parse_layers(s)?);
    }
    let currency: u16 = account
        .currency
        .as_deref()
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("account {} has no currency: give --layers", account.code))?;
    Ok(vec![Layer::accounting(currency)?])
}

fn layers_text(layers: &[Layer]) -> String {
    layers
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Run a `ledger` command.
pub fn run(cmd: LedgerCommand) -> anyhow::Result<()> {
    super::block_on(run_async(cmd))?
}

async fn run_async(cmd: LedgerCommand) -> anyhow::Result<()> {
    match cmd {
        LedgerCommand::Accounts { journal: name, db } => {
            let pool = db.pool(2).await?;
            let accounts = list_accounts(&pool).await?;
            let Some(name) = name else {
                println!(
                    "{:<24} {:<9} {:<6} {:<4} {:<6} description",
                    "code", "kind", "nature", "cur", "shards"
                );
                for a in &accounts {
                    println!(
                        "{:<24} {:<9} {:<6} {:<4} {:<6} {}",
                        a.code.as_str(),
                        a.kind.as_str(),
                        a.nature.as_str(),
                        a.currency.as_deref().unwrap_or("-"),
                        a.shards,
                        a.description
                    );
                }
                return Ok(());
            };
            let j = journal(&pool, Some(&name)).await?;
            let nets = all_nets(&pool, j.id).await?;
            print!("{:<24} {:<9} {:<6}", "code", "kind", "nature");
            for l in &j.layers {
                print!(" {:>18}", l.layer.to_string());
            }
            println!("  description");
            for a in &accounts {
                print!(
                    "{:<24} {:<9} {:<6}",
                    a.code.as_str(),
                    a.kind.as_str(),
                    a.nature.as_str()
                );
                for l in &j.layers {
                    print!(
                        " {:>18}",
                        rolled_up(a, &accounts, &nets, &[l.layer]).to_string()
                    );
                }
                println!("  {}", a.description);
            }
            Ok(())
        }
        LedgerCommand::Balance {
            account,
            journal: name,
            layers,
            as_of,
            db,
        } => {
            let pool = db.pool(2).await?;
            let code = AccountCode::new(account)?;
            let j = journal(&pool, name.as_deref()).await?;
            let a = find_account(&pool, &code).await?;
            let layers = layers_for(&a, layers.as_deref())?;
            let as_of = as_of.as_deref().map(parse_as_of).transpose()?;
            let b = balance(&pool, &j.name, &code, &layers, as_of).await?;
            let when = as_of.map_or("now".to_string(), |t| format!("as of {}", t.to_rfc3339()));
            println!(
                "{} {} layers {} {when}: {b}",
                j.name,
                code,
                layers_text(&layers)
            );
            Ok(())
        }
        LedgerCommand::Statement {
            account,
            from,
            to,
            journal: name,
            layers,
            db,
        } => {
            let pool = db.pool(2).await?;
            let code = AccountCode::new(account)?;
            let j = journal(&pool, name.as_deref()).await?;
            let a = find_account(&pool, &code).await?;
            let layers = layers_for(&a, layers.as_deref())?;
            let from = parse_from(&from)?;
            let to = parse_to(&to)?;
            let s = statement(&pool, &j.name, &code, &layers, from, to).await?;
            println!(
                "statement of {} ({}) in {} on layers {} from {} to {}",
                s.account,
                a.description,
                s.journal,
                layers_text(&s.layers),
                s.from.to_rfc3339(),
                s.to.to_rfc3339()
            );
            println!(
                "{:<32} {:>6} {:>16} {:>16} {:>18}  detail",
                "time", "layer", "debit", "credit", "balance"
            );
            println!(
                "{:<32} {:>6} {:>16} {:>16} {:>18}",
                "opening",
                "",
                "",
                "",
                s.opening.to_string()
            );
            for l in &s.lines {
                let (dr, cr) = match l.side {
                    crate::ledger::Side::Debit => (l.amount.to_string(), String::new()),
                    crate::ledger::Side::Credit => (String::new(), l.amount.to_string()),
                };
                println!(
                    "{:<32} {:>6} {:>16} {:>16} {:>18}  {}",
                    l.ts.to_rfc3339(),
                    l.layer.to_string(),
                    dr,
                    cr,
                    l.balance.to_string(),
                    l.detail
                );
            }
            println!(
                "{:<32} {:>6} {:>16} {:>16} {:>18}",
                "closing",
                "",
                "",
                "",
                s.closing.to_string()
            );
            if s.truncated {
                println!("(truncated: narrow the range)");
            }
            Ok(())
        }
        LedgerCommand::Check(db) => {
            let pool = db.pool(2).await?;
            let report = check(&pool).await?;
            println!(
                "checked {} transactions, {} entries, {} running balances",
                report.transactions, report.entries, report.balances
            );
            match report.discrepancy {
                None => {
                    println!("ledger OK");
                    Ok(())
                }
                Some(d) => bail!("ledger check failed: {d}"),
            }
        }
        LedgerCommand::Shards {
            account,
            shards,
            db,
        } => {
            let code = AccountCode::new(account)?;
            let pool = db.pool(2).await?;
            set_account_shards(&pool, &code, shards).await?;
            println!("{code}: {shards} running-balance shards");
            Ok(())
        }
        LedgerCommand::ImportChart { file, db } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let chart =
                Chart::from_yaml(&text).with_context(|| format!("in {}", file.display()))?;
            let pool = db.pool(2).await?;
            let s = import_chart(&pool, &chart)
                .await
                .with_context(|| format!("importing {}", file.display()))?;
            println!(
                "imported {} journals, {} accounts, {} rules",
                s.journals, s.accounts, s.rules
            );
            Ok(())
        }
    }
}
