//! Command-line front end: argument parsing and dispatch to one module per command family.
//!
//! Each family lives in its own file (`iso.rs`, `bench.rs`, ...) with a clap `Subcommand` enum and a
//! `run` function; this file only wires them together and turns errors into a one-line message and exit code.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::txn::ParticipantRegistry;

pub mod bench;
mod bench_codec;
mod bench_ledger;
mod bench_txn;
pub mod db;
pub mod deploy;
pub mod iso;
pub mod ledger;
pub mod plugin;
pub mod run;
pub mod selftest;
mod selftest_switch;
pub mod sim;
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
    /// Benchmarks; each prints a JSON summary as its last line.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Transaction manager tools.
    #[command(subcommand)]
    Txn(txn::TxnCommand),
    /// Simulators: a host that answers, load clients, idle connections.
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Run the switch: deploy every descriptor of the deploy directory and watch it for changes.
    Run(run::RunArgs),
    /// Deploy-descriptor tools.
    #[command(subcommand)]
    Deploy(deploy::DeployCommand),
    /// Manage the private PostgreSQL cluster (or check the DATABASE_URL server).
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Query and audit the ledger; import a chart of accounts.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Run the CMF self-test suite against a switch (started here unless --target is given).
    Selftest(selftest::SelftestArgs),
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
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(fut))
}

/// Parse the command line, run the command, print any error as one line on stderr.
pub fn main() -> ExitCode {
    main_with(ParticipantRegistry::with_builtins())
}

/// `main` for a binary that registered its own participants in `registry` (see
/// `docs/custom-participant.md`).
pub fn main_with(registry: ParticipantRegistry) -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Iso(cmd) => iso::run(cmd),
        Command::External(args) => external(args),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Txn(cmd) => txn::run(cmd),
        Command::Sim(cmd) => sim::run(cmd),
        Command::Run(args) => plugin::delegate_if_needed(args.deploy_dir(), &registry)
            .and_then(|()| run::run(args, registry)),
        Command::Deploy(cmd) => plugin::delegate_if_needed(cmd.dir(), &registry)
            .and_then(|()| deploy::run(cmd, &registry)),
        Command::Db(cmd) => db::run(cmd),
        Command::Ledger(cmd) => ledger::run(cmd),
        Command::Selftest(args) => selftest::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
