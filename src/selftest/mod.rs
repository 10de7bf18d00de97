//! The CMF self-test suite runner: YAML cases (`selftest/cases/`) driven over TCP against a running
//! switch, checking responses field by field and balances on the ledger (jCard's "77: ... [OK] 50ms").
//!
//! `case` reads the files, `expand` substitutes `${...}`, `expect` checks fields, `client` talks to
//! the switch, `runner` runs cases in order carrying captured variables, `junit` writes the report.
//! Starting a private switch for the run is the CLI's job (`cli::selftest`).

pub mod case;
pub mod client;
pub mod error;
pub mod expand;
pub mod expect;
pub mod junit;
pub mod runner;

pub use case::{load_dir, Case, LoadedCase};
pub use error::SelftestError;
pub use runner::{CaseResult, Runner, RunnerConfig};
