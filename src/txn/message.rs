//! `FieldSource`: the view of a request message that routing, field checks and tracing need.
//!
//! `crate::iso::IsoMsg` implements it; keeping the transaction layer on this narrow trait lets tests use
//! tiny fake messages and keeps `txn` independent of the codec's internals.

/// Read access to an ISO-8583-like message.
pub trait FieldSource: Send + Sync + 'static {
    /// The 4-digit MTI as text (e.g. "2100"), if set.
    fn mti_text(&self) -> Option<&str>;
    /// Field `n` as text, if present and valid UTF-8.
    fn field_text(&self, n: u8) -> Option<&str>;
    /// True if field `n` is present.
    fn has_field(&self, n: u8) -> bool;
    /// Call `f` with each present field number (2..), ascending.
    fn each_field(&self, f: &mut dyn FnMut(u8));
}

/// A simple in-memory message: MTI plus text fields. Used by tests, benchmarks and the recovery probe.
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
    fn mti_text(&self) -> Option<&str> {
        Some(&self.mti)
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
