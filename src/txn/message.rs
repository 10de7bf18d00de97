//! `FieldSource`: the view of a request message that routing, field checks and tracing need.
//!
//! `crate::iso::IsoMsg` implements it; routing, field checks and tracing take `&dyn FieldSource` so they
//! stay independent of the codec's internals.

use crate::iso::IsoMsg;

/// Read access to an ISO-8583-like message.
pub trait FieldSource: Send + Sync + 'static {
    /// The 4 MTI digits (e.g. `*b"2100"`), if set.
    fn mti_digits(&self) -> Option<[u8; 4]>;
    /// Field `n` as text, if present and valid UTF-8.
    fn field_text(&self, n: u8) -> Option<&str>;
    /// True if field `n` is present.
    fn has_field(&self, n: u8) -> bool;
    /// Call `f` with each present field number (2..), ascending.
    fn each_field(&self, f: &mut dyn FnMut(u8));
}

impl FieldSource for IsoMsg {
    fn mti_digits(&self) -> Option<[u8; 4]> {
        Some(*self.mti().as_bytes())
    }

    fn field_text(&self, n: u8) -> Option<&str> {
        self.get_str(n)
    }

    fn has_field(&self, n: u8) -> bool {
        self.has(n)
    }

    fn each_field(&self, f: &mut dyn FnMut(u8)) {
        self.field_numbers().for_each(f);
    }
}

/// A plain MTI-plus-text-fields message, for exercising `FieldSource` users without a codec.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TextMessage {
    /// The MTI, e.g. "0200".
    pub mti: String,
    /// Fields by number.
    pub fields: std::collections::BTreeMap<u8, String>,
}

impl TextMessage {
    /// A message with `mti` and `fields`.
    pub fn new(mti: &str, fields: &[(u8, &str)]) -> Self {
        TextMessage {
            mti: mti.to_owned(),
            fields: fields.iter().map(|(n, v)| (*n, (*v).to_owned())).collect(),
        }
    }
}

impl FieldSource for TextMessage {
    fn mti_digits(&self) -> Option<[u8; 4]> {
        self.mti.as_bytes().try_into().ok()
    }

    fn field_text(&self, n: u8) -> Option<&str> {
        self.fields.get(&n).map(String::as_str)
    }

    fn has_field(&self, n: u8) -> bool {
        self.fields.contains_key(&n)
    }

    fn each_field(&self, f: &mut dyn FnMut(u8)) {
        self.fields.keys().for_each(|n| f(*n));
    }
}
