//! Built-in participants, one per file, registered under these names by the deploy layer:
//! `core.CheckFields`, `core.Switch`, `core.Delay`, `core.Trace`.

pub mod check_fields;
pub mod delay;
pub mod switch;
pub mod trace;

pub use check_fields::{CheckFields, CheckFieldsConfig, FieldFormat};
pub use delay::{Delay, DelayConfig};
pub use switch::SwitchConfig;
pub use trace::Trace;
