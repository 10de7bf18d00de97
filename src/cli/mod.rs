//! Command-line front end: argument parsing and dispatch to one module per command family.
//!
//! Each family lives in its own file (`iso.rs`, `bench.rs`, ...) with a clap `Subcommand` enum and a
//! `run` function; this file only wires them together and turns errors into a one-line message and exit code.

use std::ffi::OsString;
use std::future::Future;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod bench;
mod bench_codec;
mod bench_ledger;
mod bench_txn;
pub mod db;
pub mod iso;
pub mod ledger;
pub mod txn;

/// Switchyard: an ISO-8583 transaction switch.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Pack, unpack and dump ISO-8583 messages.
    #[command(subcommand)]
    Iso(iso::IsoCommand),
    /// Manage the private PostgreSQL cluster (or check the DATABASE_URL server).
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Query and audit the ledger; import a chart of accounts.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Benchmarks; each prints a JSON summary as its last line.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Transaction manager tools.
    #[command(subcommand)]
    Txn(txn::TxnCommand),
    /// Any other command runs `switchyard-<command>` (next to this binary, else on PATH), git/cargo
    /// style: e.g. `switchyard fixtures load` runs the participants crate's `switchyard-fixtures`.
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

/// Run `switchyard-<name> args...`, preferring the binary next to this one; its exit code is ours.
fn external(args: Vec<OsString>) -> anyhow::Result<()> {
    let Some((name, rest)) = args.split_first() else {
        anyhow::bail!("no command given");
    };
    let exe = format!("switchyard-{}", name.to_string_lossy());
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(&exe)))
        .filter(|p| p.is_file());
    let program = beside.unwrap_or_else(|| std::path::PathBuf::from(&exe));
    let status = std::process::Command::new(&program)
        .args(rest)
        .status()
        .map_err(|e| anyhow::anyhow!("unknown command {name:?} ({exe}: {e})"))?;
    if status.success() {
        Ok(())
    } else {
        anyhow::bail!("{exe} failed ({status})")
    }
}

/// Run `fut` to completion on a fresh multi-threaded tokio runtime.
pub(crate) fn block_on<F: Future>(fut: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(fut))
}

/// Parse the command line, run the command, print any error as one line on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Iso(cmd) => iso::run(cmd),
        Command::Db(cmd) => db::run(cmd),
        Command::Ledger(cmd) => ledger::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Txn(cmd) => txn::run(cmd),
        Command::External(args) => external(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
