//! Codec errors: each names the field, the byte offset and what was wrong.

use std::fmt;

use smallvec::SmallVec;
use thiserror::Error;

/// A field or subfield position such as `35` or `43.2`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldPath(pub SmallVec<[u16; 3]>);

impl FieldPath {
    /// A top-level field.
    pub fn field(n: u16) -> Self {
        FieldPath(SmallVec::from_slice(&[n]))
    }

    /// This path extended by a subfield number.
    pub fn child(&self, n: u16) -> Self {
        let mut p = self.clone();
        p.0.push(n);
        p
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

/// What went wrong while packing, unpacking or loading a spec.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum IsoError {
    /// The MTI is not four digits.
    #[error("MTI: {0:?} is not four digits")]
    BadMti(String),
    /// The message ended before a field did.
    #[error("field {field} at byte {offset}: truncated, needs {needed} bytes, {available} left")]
    Truncated {
        /// Field being read.
        field: FieldPath,
        /// Byte offset where it starts.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the message.
        available: usize,
    },
    /// A length prefix could not be read or exceeds the field's maximum.
    #[error("field {field} at byte {offset}: bad length prefix: {reason}")]
    BadPrefix {
        /// Field being read.
        field: FieldPath,
        /// Byte offset of the prefix.
        offset: usize,
        /// Why it is bad.
        reason: String,
    },
    /// A value is longer than the field allows.
    #[error("field {field}{}: length {len} > max {max}", at(*.offset))]
    TooLong {
        /// Field being packed or read.
        field: FieldPath,
        /// Byte offset, when unpacking.
        offset: Option<usize>,
        /// Length of the value.
        len: usize,
        /// The field's maximum.
        max: usize,
    },
    /// A fixed field with `fill: none` got a value of the wrong length.
    #[error("field {field}: length {len}, the field is exactly {expected}")]
    WrongLength {
        /// Field being packed.
        field: FieldPath,
        /// Length of the value.
        len: usize,
        /// Required length.
        expected: usize,
    },
    /// A value holds a character its class or encoding does not allow.
    #[error("field {field}{}: {reason}", at(*.offset))]
    BadContent {
        /// Field being packed or read.
        field: FieldPath,
        /// Byte offset, when unpacking.
        offset: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// The bitmap names a field the spec does not define.
    #[error("field {field}{}: not defined in spec {spec}", at(*.offset))]
    UnknownField {
        /// The undefined field.
        field: FieldPath,
        /// Byte offset, when unpacking.
        offset: Option<usize>,
        /// Spec name.
        spec: String,
    },
    /// Bytes were left over after the last field.
    #[error("byte {offset}: {count} bytes left over after the last field")]
    TrailingBytes {
        /// Where the leftovers start.
        offset: usize,
        /// How many bytes.
        count: usize,
    },
    /// A required subfield of a fixed composite is missing.
    #[error("field {field}: subfield missing (fixed composites need every subfield)")]
    MissingSubfield {
        /// The missing subfield.
        field: FieldPath,
    },
    /// BER-TLV data is malformed.
    #[error("TLV at byte {offset}: {reason}")]
    BadTlv {
        /// Offset inside the TLV data.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// No built-in spec has this name and no such file exists.
    #[error("unknown spec {0:?} (built-in: iso87ascii, iso87binary, iso93ascii, iso93binary, cmf, smartvista; or a path to a YAML file)")]
    UnknownSpec(String),
    /// A spec file is malformed.
    #[error("spec {spec}: {reason}")]
    BadSpec {
        /// Spec name or path.
        spec: String,
        /// What is wrong, with the YAML location when known.
        reason: String,
    },
    /// A JSON message is malformed.
    #[error("JSON message: {0}")]
    BadJson(String),
    /// An amount could not be read or written.
    #[error("field {field}: bad amount: {reason}")]
    BadAmount {
        /// The amount field.
        field: FieldPath,
        /// What is wrong.
        reason: String,
    },
}

fn at(offset: Option<usize>) -> String {
    match offset {
        Some(o) => format!(" at byte {o}"),
        None => String::new(),
    }
}
