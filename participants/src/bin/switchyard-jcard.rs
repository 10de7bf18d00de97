//! `switchyard-jcard`: the `switchyard` command with the jCard participants registered (`jcard.*`,
//! `acme.FraudScore`), e.g. `switchyard-jcard run` (or `switchyard jcard run` through the core CLI's
//! external subcommands). It is also the plugin that plain `switchyard run` hands a deploy directory
//! naming `jcard.*` participants to. PANs are hashed with `SWITCHYARD_PAN_KEY`, else with the key
//! kept in `./var/pan.key` (generated on first use).

use std::path::Path;

use switchyard::txn::ParticipantRegistry;
use switchyard_participants::{register, register_deployed, PanKey, PAN_KEY_ENV, VAR_DIR};

fn main() -> std::process::ExitCode {
    let mut registry = ParticipantRegistry::with_builtins();
    register(&mut registry);
    let key = match PanKey::resolve(std::env::var(PAN_KEY_ENV).ok(), Path::new(VAR_DIR)) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: PAN key: {e} (set {PAN_KEY_ENV})");
            return std::process::ExitCode::FAILURE;
        }
    };
    register_deployed(&mut registry, key);
    switchyard::cli::main_with(registry)
}
