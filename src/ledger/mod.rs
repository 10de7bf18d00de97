//! The ledger: a layered double-entry general ledger in PostgreSQL with jPOS-EE miniGL semantics.
//!
//! Map: `layer`, `amount`, `account`, `journal`, `rules` are the chart and its types; `transaction`
//! the GL transaction shapes; `post` the only place money moves (locks, rules, invariant, writes);
//! `batch` group commit over `post`; `reverse`, `balance`, `statement`, `check` the operations;
//! `chart` YAML import; `cluster` the private PostgreSQL; `http` the read-only JSON API.
//! Invariant: GL transactions and entries are never updated or deleted; every transaction balances
//! on each double-entry layer of its journal. See docs/ledger.md.

pub mod account;
pub mod amount;
pub mod balance;
pub mod batch;
pub mod chart;
pub mod check;
pub mod cluster;
pub mod error;
pub mod http;
pub mod journal;
pub mod layer;
pub mod post;
pub mod reverse;
pub mod rules;
pub mod statement;
pub mod time;
pub mod transaction;
mod write;

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

pub use account::{Account, AccountCode, AccountKind, Nature, NewAccount};
pub use amount::Amount;
pub use balance::balance;
pub use batch::{GroupCommit, GroupCommitConfig};
pub use check::{check, CheckReport, Discrepancy};
pub use error::{is_unreachable, LedgerError};
pub use journal::{Journal, JournalLayer, NewJournal};
pub use layer::Layer;
pub use post::{post, post_batch, MAX_BATCH};
pub use reverse::reverse;
pub use statement::{statement, Statement, StatementLine};
pub use transaction::{GlTransaction, NewEntry, NewTransaction, Posted, Side};

use error::db;

/// The ledger's schema migrations (`migrations/`), embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Longest a pool waits for a free or new connection.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Apply the embedded migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), LedgerError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// A connection idle at least this long is pinged before use (one round trip); busier ones are not.
pub const PING_IF_IDLE: Duration = Duration::from_secs(1);

/// A bounded pool (`max_connections`) that pings connections idle for `PING_IF_IDLE` or longer
/// before use, so it heals after a server restart without a round trip per query under load;
/// acquiring waits at most `ACQUIRE_TIMEOUT`.
pub async fn connect(
    options: PgConnectOptions,
    max_connections: u32,
) -> Result<PgPool, LedgerError> {
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < PING_IF_IDLE {
                    return Ok(true);
                }
                // a dead connection is closed and another one taken
                Ok(sqlx::Connection::ping(conn).await.is_ok())
            })
        })
        // OLTP statements on keys: plan each prepared statement once, not on every execution
        // (measured +16% jCard authorizations per second, docs/PERFORMANCE.md)
        .connect_with(
            options
                .disable_statement_logging()
                .options([("plan_cache_mode", "force_generic_plan")]),
        )
        .await
        .map_err(db("connecting to PostgreSQL"))
}

/// Create database `name` (letters, digits, `_`; the name cannot be a bound parameter, so it is
/// validated and quoted); false if it already existed.
pub async fn create_database(admin: &PgPool, name: &str) -> Result<bool, LedgerError> {
    if name.is_empty()
        || name.len() > 63
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(LedgerError::invalid(
            "database name",
            format!("{name:?}: use 1..=63 letters, digits, '_'"),
        ));
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(admin)
            .await
            .map_err(db("looking up a database"))?;
    if exists {
        return Ok(false);
    }
    let ddl = format!("CREATE DATABASE \"{name}\"");
    sqlx::query(&ddl)
        .execute(admin)
        .await
        .map_err(db("creating a database"))?;
    Ok(true)
}
