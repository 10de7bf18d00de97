//! ISO-8583 messages and packagers: a pure codec (no I/O, no tokio), usable on its own.
//!
//! - `mti`: the typed Message Type Indicator.
//! - `msg`: `IsoMsg`, the message (sparse fields held as bytes).
//! - `spec`: packagers as YAML data (built-ins embedded from `specs/`), compiled and validated.
//! - `field` / `pack`: the wire format — one field, then the whole message with bitmaps and composites.
//! - `encoding`: BCD, hex, EBCDIC.
//! - `tlv`: BER-TLV for EMV data (DE 55).
//! - `amount`: exact amounts and ISO 4217 exponents.
//! - `mask`: masked rendering for logs and dumps.
//! - `json`: the JSON form used by the CLI and gateway.

pub mod amount;
pub mod encoding;
pub mod error;
mod field;
pub mod json;
pub mod mask;
pub mod msg;
pub mod mti;
mod pack;
pub mod spec;
mod stored;
pub mod tlv;

pub use amount::{Amount, Currency};
pub use error::{FieldPath, IsoError};
pub use mask::MaskPolicy;
pub use msg::IsoMsg;
pub use mti::{Mti, MtiClass, MtiFunction, MtiOrigin, MtiVersion};
pub use spec::Spec;

impl IsoMsg {
    /// EMV tags of a BER-TLV field (DE 55 normally); `Ok(None)` when the field is absent.
    pub fn emv_tags(&self, field: u8) -> Result<Option<Vec<tlv::Tlv>>, IsoError> {
        self.get(field).map(tlv::parse).transpose()
    }

    /// Set a BER-TLV field from tags.
    pub fn set_emv_tags(&mut self, field: u8, tags: &[tlv::Tlv]) {
        self.set(field, tlv::build(tags));
    }
}
