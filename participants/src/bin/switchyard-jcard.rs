//! `switchyard-jcard`: the `switchyard` command with the jCard participants registered (`jcard.*`,
//! `acme.FraudScore`), e.g. `switchyard-jcard run` (or `switchyard jcard run` through the core CLI's
//! external subcommands). PANs are hashed with `SWITCHYARD_PAN_KEY`.

use switchyard::txn::ParticipantRegistry;
use switchyard_participants::{register, register_deployed, PanKey, PAN_KEY_ENV};

fn main() -> std::process::ExitCode {
    let mut registry = ParticipantRegistry::with_builtins();
    register(&mut registry);
    let key = std::env::var(PAN_KEY_ENV).unwrap_or_default();
    register_deployed(&mut registry, PanKey::new(key.into_bytes()));
    switchyard::cli::main_with(registry)
}
