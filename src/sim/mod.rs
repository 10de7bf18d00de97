//! Simulators: a host that answers requests (`host`), load clients (`load`, with `requests` building what
//! they send) and idle-connection helpers for memory measurements (`idle`). The CLI (`switchyard sim`) and
//! the deploy container use these.

pub mod host;
pub mod idle;
pub mod load;
pub mod requests;

pub use host::SimHost;
pub use load::{LoadConfig, LoadProgress, LoadReport};
pub use requests::RequestFactory;
