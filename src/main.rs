//! The `switchyard` command: runs the switch, the codec tools, simulators, ledger queries and benchmarks.

fn main() -> std::process::ExitCode {
    switchyard::cli::main()
}
