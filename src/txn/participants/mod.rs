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

/// Registered name of [`CheckFields`].
pub const CHECK_FIELDS: &str = "core.CheckFields";
/// Registered name of the MTI / processing-code selector ([`SwitchConfig`]).
pub const SWITCH: &str = "core.Switch";
/// Registered name of [`Delay`].
pub const DELAY: &str = "core.Delay";
/// Registered name of [`Trace`].
pub const TRACE: &str = "core.Trace";
