//! `switchyard-jcard`: the `switchyard` command with the jCard participants registered (`jcard.*`,
//! `acme.FraudScore`), e.g. `switchyard-jcard run` (or `switchyard jcard run` through the core CLI's
//! external subcommands). It is also the plugin that plain `switchyard run` hands a deploy directory
//! naming `jcard.*` participants to. PANs are hashed with `SWITCHYARD_PAN_KEY`, else with the key
//! kept in `./var/pan.key` (generated on first use). Reference data (acquirers, terminals, fees,
//! velocity limits) is cached for `SWITCHYARD_JCARD_CACHE_TTL` seconds (default 5, `0` disables).

use std::path::Path;

use switchyard::txn::ParticipantRegistry;
use switchyard_participants::cache::{parse_ttl, DEFAULT_TTL, TTL_ENV};
use switchyard_participants::{register, register_deployed, PanKey, PAN_KEY_ENV, VAR_DIR};

/// mimalloc, as in the `switchyard` binary: this process is the switch when the deploy names
/// `jcard.*` participants (glibc malloc took ~18% of its CPU under load).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    let cache_ttl = match std::env::var(TTL_ENV) {
        Ok(v) => match parse_ttl(&v) {
            Ok(ttl) => ttl,
            Err(e) => {
                eprintln!("error: {e}");
                return std::process::ExitCode::FAILURE;
            }
        },
        Err(_) => DEFAULT_TTL,
    };
    register_deployed(&mut registry, key, cache_ttl);
    switchyard::cli::main_with(registry)
}
