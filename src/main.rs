//! The `switchyard` command: runs the switch, the codec tools, simulators, ledger queries and benchmarks.

/// mimalloc: small, short-lived allocations (one per message) are the switch's whole life.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    switchyard::cli::main()
}
