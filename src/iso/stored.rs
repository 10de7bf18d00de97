//! The stored form of an `IsoMsg` (serde), for durable spaces: `{"mti":"0210","header":"..",
//! "fields":{"11":"..",...}}` with every value and the header as hex, so binary fields survive JSON.
//!
//! This is a storage format, not a display: it carries clear values (a PAN included), like jPOS's
//! serialized `ISOMsg` in a JDBM/JE space. Never log it; `Display` of `IsoMsg` is the masked form.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::msg::{IsoMsg, MAX_FIELD};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    mti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    header: Option<String>,
    fields: BTreeMap<u8, String>,
}

impl Serialize for IsoMsg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Stored {
            mti: self.mti().to_string(),
            header: self.header().map(hex::encode),
            fields: self.fields().map(|(n, v)| (n, hex::encode(v))).collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for IsoMsg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let st = Stored::deserialize(d)?;
        let mut msg = IsoMsg::with_mti(&st.mti).map_err(D::Error::custom)?;
        if let Some(h) = st.header {
            let h = hex::decode(h).map_err(|e| D::Error::custom(format!("header: {e}")))?;
            msg.set_header(Some(&h));
        }
        for (n, v) in st.fields {
            if !(2..=MAX_FIELD).contains(&n) {
                return Err(D::Error::custom(format!(
                    "field {n}: out of range 2..{MAX_FIELD}"
                )));
            }
            let v = hex::decode(v).map_err(|e| D::Error::custom(format!("field {n}: {e}")))?;
            msg.set(n, v);
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_binary_and_header() {
        let mut m = IsoMsg::with_mti("0210")
            .expect("mti")
            .with(11, "000001")
            .with(52, [0u8, 0xff, 0x10]);
        m.set_header(Some(&[0x60, 0, 1, 0, 0]));
        let json = serde_json::to_string(&m).expect("ser");
        let back: IsoMsg = serde_json::from_str(&json).expect("de");
        assert_eq!(back.mti().to_string(), "0210");
        assert_eq!(back.get(11), Some(&b"000001"[..]));
        assert_eq!(back.get(52), Some(&[0u8, 0xff, 0x10][..]));
        assert_eq!(back.header(), Some(&[0x60, 0, 1, 0, 0][..]));
        for bad in [
            r#"{"mti":"02x0","fields":{}}"#,
            r#"{"mti":"0200","fields":{"1":"00"}}"#,
            r#"{"mti":"0200","fields":{"11":"zz"}}"#,
        ] {
            assert!(serde_json::from_str::<IsoMsg>(bad).is_err(), "{bad}");
        }
    }
}
