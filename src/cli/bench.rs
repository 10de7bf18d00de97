//! `switchyard bench ...`: benchmarks; each prints a JSON summary as its last line. One file per benchmark.

use clap::Subcommand;

use super::{bench_codec, bench_ledger, bench_txn};

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Single-thread pack and unpack loops over one message.
    Codec(bench_codec::CodecBench),
    /// Transaction manager throughput with trivial participants and a fixed number in flight.
    Txn(bench_txn::TxnBench),
    /// Ledger posting throughput and latency.
    Ledger(bench_ledger::LedgerBench),
}

/// Run a benchmark.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Codec(args) => bench_codec::run(args),
        BenchCommand::Txn(args) => bench_txn::run(args),
        BenchCommand::Ledger(args) => bench_ledger::run(args),
    }
}
