//! Built-in participants, one per file, registered under these names (see [`register_builtins`]):
//! `core.CheckFields`, `core.Switch`, `core.Delay`, `core.Trace`, `core.NetMgmt`, `core.Unsupported`,
//! `core.SendResponse`, `core.QueryHost`.

pub mod check_fields;
pub mod delay;
pub mod net_mgmt;
pub mod query_host;
pub mod send_response;
pub mod switch;
pub mod trace;
pub mod unsupported;

use std::sync::Arc;

pub use check_fields::{CheckFields, CheckFieldsConfig, FieldFormat};
pub use delay::{Delay, DelayConfig};
pub use net_mgmt::NetMgmt;
pub use query_host::{QueryHost, QueryHostConfig};
pub use send_response::SendResponse;
pub use switch::SwitchConfig;
pub use trace::Trace;
pub use unsupported::{Unsupported, UnsupportedConfig};

use super::registry::ParticipantRegistry;
use super::Participant;

/// Register every built-in participant under its `core.*` name.
pub fn register_builtins(r: &mut ParticipantRegistry) {
    super::registry::register_core(r);
    for (name, p) in [
        ("core.NetMgmt", Arc::new(NetMgmt) as Arc<dyn Participant>),
        (
            "core.SendResponse",
            Arc::new(SendResponse) as Arc<dyn Participant>,
        ),
    ] {
        r.register(name, move |input| {
            if !input.config.is_null() {
                return Err(input.error("takes no configuration"));
            }
            Ok(Arc::clone(&p))
        });
    }
    r.register_with_config("core.Unsupported", Unsupported::new);
    r.register(QUERY_HOST, QueryHost::factory);
}

/// Registered name of [`CheckFields`].
pub const CHECK_FIELDS: &str = "core.CheckFields";
/// Registered name of the MTI / processing-code selector ([`SwitchConfig`]).
pub const SWITCH: &str = "core.Switch";
/// Registered name of [`Delay`].
pub const DELAY: &str = "core.Delay";
/// Registered name of [`Trace`].
pub const TRACE: &str = "core.Trace";
/// Registered name of [`QueryHost`].
pub const QUERY_HOST: &str = "core.QueryHost";
