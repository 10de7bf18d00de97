//! Spec files: the YAML schema of a packager and its compiled, validated form.
//!
//! A spec is data (see `docs/iso8583.md`). Loading checks every field definition once, so that packing and
//! unpacking never meet an impossible combination at run time.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use super::error::IsoError;
use super::msg::MAX_FIELD;

/// Content class of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Digits.
    N,
    /// Letters.
    A,
    /// Letters and digits.
    An,
    /// Letters, digits and specials.
    Ans,
    /// Digits and specials.
    Ns,
    /// Letters and specials.
    As,
    /// Track data: digits, `=` and `D`.
    Z,
    /// Bytes.
    B,
    /// Amount with a `C`/`D` sign character before its digits.
    Xn,
}

impl Class {
    /// True for classes whose value is text (not raw bytes).
    pub fn is_text(self) -> bool {
        self != Class::B
    }

    fn is_numeric(self) -> bool {
        matches!(self, Class::N | Class::Z | Class::Xn)
    }
}

/// Data encoding of a field on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// One byte per character.
    Ascii,
    /// One EBCDIC (IBM-1047) byte per character.
    Ebcdic,
    /// Two digits per byte.
    Bcd,
    /// Raw bytes.
    Binary,
    /// Bytes as uppercase ASCII hex.
    Hex,
}

/// Encoding of a length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrefixEncoding {
    /// ASCII digits.
    Ascii,
    /// EBCDIC digits.
    Ebcdic,
    /// BCD digits.
    Bcd,
    /// A big-endian integer.
    Binary,
}

/// Encoding of the MTI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MtiEncoding {
    /// Four ASCII digits.
    Ascii,
    /// Four EBCDIC digits.
    Ebcdic,
    /// Two BCD bytes.
    Bcd,
}

/// Encoding of a bitmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BitmapEncoding {
    /// Eight raw bytes per bitmap.
    Binary,
    /// Sixteen uppercase ASCII hex characters per bitmap.
    Hex,
    /// Sixteen EBCDIC hex characters per bitmap.
    EbcdicHex,
}

/// How a short value of a fixed field is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fill {
    /// `'0'` on the left (numerics).
    ZerosLeft,
    /// Spaces on the right (text).
    SpacesRight,
    /// Spaces on the left.
    SpacesLeft,
    /// No fill: the value must have the exact length.
    None,
}

/// Where an odd BCD digit count gets its 0 nibble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pad {
    /// High nibble of the first byte (jPOS `pad="true"`).
    Left,
    /// Low nibble of the last byte (jPOS `pad="false"`).
    Right,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    name: String,
    #[serde(default)]
    description: String,
    mti: MtiEncoding,
    bitmap: BitmapEncoding,
    #[serde(default)]
    tertiary: bool,
    #[serde(default)]
    defaults: Defaults,
    fields: BTreeMap<u16, FieldFile>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    encoding: Option<Encoding>,
    binary_encoding: Option<Encoding>,
    prefix_encoding: Option<PrefixEncoding>,
    bcd_pad: Option<Pad>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    name: Option<String>,
    class: Option<Class>,
    length: usize,
    prefix: Option<String>,
    encoding: Option<Encoding>,
    prefix_encoding: Option<PrefixEncoding>,
    bcd_pad: Option<Pad>,
    fill: Option<Fill>,
    #[serde(default)]
    tlv: bool,
    subfields: Option<SubFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubFile {
    bitmap: Option<SubBitmapFile>,
    fields: BTreeMap<u16, FieldFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubBitmapFile {
    length: usize,
    #[serde(default = "default_sub_bitmap_encoding")]
    encoding: BitmapEncoding,
}

fn default_sub_bitmap_encoding() -> BitmapEncoding {
    BitmapEncoding::Binary
}

/// One field's compiled definition.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// Field (or subfield) number.
    pub id: u16,
    /// Human name.
    pub name: String,
    /// Content class.
    pub class: Class,
    /// Fixed length, or the maximum of a prefixed field.
    pub length: usize,
    /// Digits in the length prefix; 0 for fixed fields.
    pub prefix_digits: u8,
    /// Encoding of the prefix.
    pub prefix_encoding: PrefixEncoding,
    /// Encoding of the data.
    pub encoding: Encoding,
    /// True when an odd BCD digit count is padded on the left.
    pub bcd_pad_left: bool,
    /// Fill for short values of fixed fields.
    pub fill: Fill,
    /// The field holds BER-TLV data.
    pub tlv: bool,
    /// Subfield layout of a composite field.
    pub subfields: Option<Box<SubSpec>>,
}

/// Inner bitmap of a composite field.
#[derive(Debug, Clone, Copy)]
pub struct SubBitmap {
    /// 8 (bit 1 is subfield 1) or 16 (bit 1 flags a second 8 bytes).
    pub length: usize,
    /// Encoding.
    pub encoding: BitmapEncoding,
}

/// Subfield layout of a composite field.
#[derive(Debug, Clone)]
pub struct SubSpec {
    /// Inner bitmap, or `None` for a fixed sequence of every subfield.
    pub bitmap: Option<SubBitmap>,
    /// Subfield definitions by number.
    pub fields: BTreeMap<u16, FieldSpec>,
}

/// A compiled packager: how a message of this dialect is laid out on the wire.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Name (`cmf`, `iso87ascii`, ...).
    pub name: String,
    /// One-line description.
    pub description: String,
    /// MTI encoding.
    pub mti: MtiEncoding,
    /// Bitmap encoding.
    pub bitmap: BitmapEncoding,
    /// Whether bit 65 announces a tertiary bitmap.
    pub tertiary: bool,
    pub(crate) fields: Vec<Option<FieldSpec>>,
}

/// Built-in specs: name and YAML text, embedded in the binary.
pub const BUILTIN_SPECS: &[(&str, &str)] = &[
    ("iso87ascii", include_str!("../../specs/iso87ascii.yml")),
    ("iso87binary", include_str!("../../specs/iso87binary.yml")),
    ("iso93ascii", include_str!("../../specs/iso93ascii.yml")),
    ("iso93binary", include_str!("../../specs/iso93binary.yml")),
    ("cmf", include_str!("../../specs/cmf.yml")),
    ("smartvista", include_str!("../../specs/smartvista.yml")),
];

/// A built-in spec's name and its parsed form (or why it failed to parse).
type BuiltinEntry = (&'static str, Result<Arc<Spec>, IsoError>);

impl Spec {
    /// Parse and validate a spec from YAML text; `origin` names it in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Spec, IsoError> {
        let file: SpecFile = serde_yaml::from_str(text).map_err(|e| IsoError::BadSpec {
            spec: origin.to_owned(),
            reason: e.to_string(),
        })?;
        let bad = |reason: String| IsoError::BadSpec {
            spec: origin.to_owned(),
            reason,
        };
        let mut fields: Vec<Option<FieldSpec>> = vec![None; MAX_FIELD as usize + 1];
        for (&id, f) in &file.fields {
            if !(2..=u16::from(MAX_FIELD)).contains(&id) {
                return Err(bad(format!("field {id}: fields are numbered 2..=192")));
            }
            if id > 128 && !file.tertiary {
                return Err(bad(format!(
                    "field {id}: fields above 128 need `tertiary: true`"
                )));
            }
            if id == 65 && file.tertiary {
                return Err(bad(
                    "field 65: with `tertiary: true` bit 65 announces the tertiary bitmap".into(),
                ));
            }
            fields[id as usize] =
                Some(compile_field(id, f, &file.defaults, &id.to_string()).map_err(bad)?);
        }
        Ok(Spec {
            name: file.name,
            description: file.description,
            mti: file.mti,
            bitmap: file.bitmap,
            tertiary: file.tertiary,
            fields,
        })
    }

    /// A built-in spec by name, shared and parsed once.
    pub fn builtin(name: &str) -> Result<Arc<Spec>, IsoError> {
        static CACHE: OnceLock<Vec<BuiltinEntry>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| {
            BUILTIN_SPECS
                .iter()
                .map(|(n, text)| (*n, Spec::from_yaml(text, n).map(Arc::new)))
                .collect()
        });
        match cache.iter().find(|(n, _)| *n == name) {
            Some((_, r)) => r.clone(),
            None => Err(IsoError::UnknownSpec(name.to_owned())),
        }
    }

    /// A built-in spec by name, or a YAML file by path.
    pub fn load(name_or_path: &str) -> Result<Arc<Spec>, IsoError> {
        if BUILTIN_SPECS.iter().any(|(n, _)| *n == name_or_path) {
            return Spec::builtin(name_or_path);
        }
        let path = std::path::Path::new(name_or_path);
        if !path.exists() {
            return Err(IsoError::UnknownSpec(name_or_path.to_owned()));
        }
        let text = std::fs::read_to_string(path).map_err(|e| IsoError::BadSpec {
            spec: name_or_path.to_owned(),
            reason: e.to_string(),
        })?;
        Spec::from_yaml(&text, name_or_path).map(Arc::new)
    }

    /// The definition of a field, if the spec has one.
    #[inline]
    pub fn field(&self, id: u8) -> Option<&FieldSpec> {
        self.fields.get(id as usize).and_then(Option::as_ref)
    }

    /// Every defined field in ascending order.
    pub fn defined_fields(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields.iter().flatten()
    }
}

fn compile_field(
    id: u16,
    f: &FieldFile,
    defaults: &Defaults,
    path: &str,
) -> Result<FieldSpec, String> {
    let class = f.class.unwrap_or(Class::Ans);
    let encoding = f.encoding.unwrap_or(if class == Class::B {
        defaults.binary_encoding.unwrap_or(Encoding::Binary)
    } else {
        defaults.encoding.unwrap_or(Encoding::Ascii)
    });
    let prefix_digits: u8 = match f.prefix.as_deref().unwrap_or("fixed") {
        "fixed" => 0,
        p if !p.is_empty() && p.len() <= 6 && p.bytes().all(|c| c == b'L') => p.len() as u8,
        p => {
            return Err(format!(
                "field {path}: prefix {p:?} is not one of fixed, L, LL, LLL, LLLL, LLLLL, LLLLLL"
            ))
        }
    };
    let prefix_encoding = f
        .prefix_encoding
        .or(defaults.prefix_encoding)
        .unwrap_or(PrefixEncoding::Ascii);
    let fill = f.fill.unwrap_or(match class {
        Class::N | Class::Xn => Fill::ZerosLeft,
        Class::B => Fill::None,
        _ => Fill::SpacesRight,
    });
    if f.length == 0 {
        return Err(format!("field {path}: length must be at least 1"));
    }
    if prefix_digits > 0 && f.length > 10usize.pow(u32::from(prefix_digits)) - 1 {
        return Err(format!(
            "field {path}: length {} does not fit a {}-digit prefix",
            f.length, prefix_digits
        ));
    }
    if encoding == Encoding::Bcd && !class.is_numeric() {
        return Err(format!(
            "field {path}: bcd encoding needs class n, z or xn, not {class:?}"
        ));
    }
    if encoding == Encoding::Hex && class != Class::B {
        return Err(format!("field {path}: hex encoding is for class b only"));
    }
    if class == Class::B && fill != Fill::None {
        return Err(format!("field {path}: class b fields take no fill"));
    }
    if prefix_encoding == PrefixEncoding::Binary && prefix_digits > 4 {
        return Err(format!("field {path}: binary prefixes go up to LLLL"));
    }
    let subfields = match &f.subfields {
        None => None,
        Some(sub) => {
            if class != Class::B {
                return Err(format!("field {path}: a composite field must be class b"));
            }
            let bitmap = match &sub.bitmap {
                None => None,
                Some(b) if b.length == 8 || b.length == 16 => Some(SubBitmap {
                    length: b.length,
                    encoding: b.encoding,
                }),
                Some(b) => {
                    return Err(format!(
                        "field {path}: subfield bitmap length {} is not 8 or 16",
                        b.length
                    ))
                }
            };
            let mut fields = BTreeMap::new();
            for (&sid, sf) in &sub.fields {
                let limit = if bitmap.is_some_and(|b| b.length == 8) {
                    64
                } else {
                    128
                };
                if bitmap.is_some() && !(1..=limit).contains(&sid) {
                    return Err(format!(
                        "field {path}.{sid}: subfields are numbered 1..={limit}"
                    ));
                }
                if bitmap.is_some_and(|b| b.length == 16) && sid == 1 {
                    return Err(format!(
                        "field {path}.1: with a 16-byte bitmap bit 1 flags the second half"
                    ));
                }
                let sub_path = format!("{path}.{sid}");
                fields.insert(sid, compile_field(sid, sf, defaults, &sub_path)?);
            }
            if fields.is_empty() {
                return Err(format!("field {path}: composite without subfields"));
            }
            Some(Box::new(SubSpec { bitmap, fields }))
        }
    };
    Ok(FieldSpec {
        id,
        name: f.name.clone().unwrap_or_else(|| format!("Field {path}")),
        class,
        length: f.length,
        prefix_digits,
        prefix_encoding,
        encoding,
        bcd_pad_left: f.bcd_pad.or(defaults.bcd_pad).unwrap_or(Pad::Left) == Pad::Left,
        fill,
        tlv: f.tlv,
        subfields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_spec_loads() {
        for (name, _) in BUILTIN_SPECS {
            let s = Spec::builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&s.name, name);
            assert!(s.defined_fields().count() > 10, "{name}");
        }
    }

    #[test]
    fn rejects_bad_definitions_with_reason() {
        let cases = [
            (
                "fields: {2: {class: an, length: 19, prefix: LL, encoding: bcd}}",
                "bcd encoding",
            ),
            (
                "fields: {2: {class: n, length: 200, prefix: LL}}",
                "does not fit",
            ),
            ("fields: {2: {class: n, length: 5, prefix: LQ}}", "prefix"),
            ("fields: {129: {class: n, length: 5}}", "tertiary"),
            (
                "fields: {2: {class: n, length: 5, colour: red}}",
                "unknown field",
            ),
            (
                "fields: {2: {class: b, length: 5, fill: zeros-left}}",
                "no fill",
            ),
        ];
        for (fields, want) in cases {
            let text = format!("name: t\nmti: ascii\nbitmap: hex\n{fields}\n");
            let err = Spec::from_yaml(&text, "t.yml").unwrap_err().to_string();
            assert!(err.contains(want), "{fields}: {err}");
        }
    }

    #[test]
    fn unknown_spec_name_is_an_error() {
        assert!(matches!(
            Spec::load("no-such-spec"),
            Err(IsoError::UnknownSpec(_))
        ));
    }
}
