//! The JSON form of a message: `{"0":"0200","2":"4111...","55":"9F2608..."}`.
//!
//! Keys are field numbers (`"0"` the MTI); text fields are strings, binary fields uppercase hex, composite
//! fields objects of their subfields (a hex string of the packed inner bytes is accepted too). Used by the
//! CLI and the HTTP gateway. This form carries clear values: it is for tools, never for logs.

use serde_json::{Map, Value};

use super::encoding::{hex_decode, hex_string, latin1_to_string, string_to_latin1};
use super::error::IsoError;
use super::msg::{IsoMsg, MAX_FIELD};
use super::spec::{Class, FieldSpec, Spec};

fn value_of(def: Option<&FieldSpec>, v: &[u8]) -> Value {
    let text = def.map_or_else(
        || v.iter().all(|b| (0x20..0x7F).contains(b)),
        |d| d.class.is_text(),
    );
    if text {
        Value::String(latin1_to_string(v))
    } else {
        Value::String(hex_string(v))
    }
}

/// The JSON object of a message.
pub fn to_json(spec: &Spec, msg: &IsoMsg) -> Result<Value, IsoError> {
    let mut map = Map::new();
    map.insert("0".into(), Value::String(msg.mti().to_string()));
    for (f, v) in msg.fields() {
        let def = spec.field(f);
        let value = match def.and_then(|d| d.subfields.as_ref()) {
            Some(sub) => {
                let mut obj = Map::new();
                for (n, sv) in spec.unpack_composite(f, v)? {
                    obj.insert(n.to_string(), value_of(sub.fields.get(&n), &sv));
                }
                Value::Object(obj)
            }
            None => value_of(def, v),
        };
        map.insert(f.to_string(), value);
    }
    Ok(Value::Object(map))
}

fn bytes_of(def: &FieldSpec, key: &str, v: &Value) -> Result<Vec<u8>, IsoError> {
    let s = match v {
        Value::String(s) => s.as_str(),
        Value::Number(n) if def.class.is_text() => return Ok(n.to_string().into_bytes()),
        other => {
            return Err(IsoError::BadJson(format!(
                "field {key}: expected a string, got {other}"
            )))
        }
    };
    if def.class == Class::B {
        hex_decode(s)
            .map_err(|i| IsoError::BadJson(format!("field {key}: bad hex at character {i}")))
    } else {
        string_to_latin1(s)
            .map_err(|i| IsoError::BadJson(format!("field {key}: character {i} is not Latin-1")))
    }
}

/// A message from its JSON object; fields must exist in the spec.
pub fn from_json(spec: &Spec, value: &Value) -> Result<IsoMsg, IsoError> {
    let obj = value
        .as_object()
        .ok_or_else(|| IsoError::BadJson("expected an object with field numbers as keys".into()))?;
    let mti = obj
        .get("0")
        .and_then(Value::as_str)
        .ok_or_else(|| IsoError::BadJson("key \"0\" (the MTI) is missing".into()))?;
    let mut msg = IsoMsg::with_mti(mti)?;
    for (key, v) in obj {
        if key == "0" {
            continue;
        }
        let f: u8 = key
            .parse()
            .ok()
            .filter(|f| (2..=MAX_FIELD).contains(f))
            .ok_or_else(|| {
                IsoError::BadJson(format!("key {key:?} is not a field number 2..192"))
            })?;
        let def = spec.field(f).ok_or_else(|| {
            IsoError::BadJson(format!("field {f} is not defined in spec {}", spec.name))
        })?;
        let bytes = match (&def.subfields, v) {
            (Some(sub), Value::Object(inner)) => {
                let mut values = Vec::with_capacity(inner.len());
                for (k, sv) in inner {
                    let n: u16 = k.parse().map_err(|_| {
                        IsoError::BadJson(format!("field {f}: key {k:?} is not a subfield number"))
                    })?;
                    let sdef = sub.fields.get(&n).ok_or_else(|| {
                        IsoError::BadJson(format!(
                            "field {f}.{n} is not defined in spec {}",
                            spec.name
                        ))
                    })?;
                    values.push((n, bytes_of(sdef, &format!("{f}.{n}"), sv)?));
                }
                spec.pack_composite(f, &values)?
            }
            _ => bytes_of(def, key, v)?,
        };
        msg.set(f, bytes);
    }
    Ok(msg)
}
