//! BER-TLV (EMV DE 55): multi-byte tags, short and long-form lengths, parse and build.

use super::encoding::hex_string;
use super::error::IsoError;

/// One TLV element: tag bytes (1-3) and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// Tag as an integer of its bytes (`0x9F26`).
    pub tag: u32,
    /// Value bytes.
    pub value: Vec<u8>,
}

impl Tlv {
    /// A new element.
    pub fn new(tag: u32, value: impl Into<Vec<u8>>) -> Self {
        Tlv {
            tag,
            value: value.into(),
        }
    }

    /// The tag as uppercase hex (`"9F26"`).
    pub fn tag_hex(&self) -> String {
        hex_string(&tag_bytes(self.tag))
    }
}

fn tag_bytes(tag: u32) -> Vec<u8> {
    let b = tag.to_be_bytes();
    let skip = b.iter().take_while(|&&x| x == 0).count().min(3);
    b[skip..].to_vec()
}

/// Parse a sequence of TLV elements (flat; constructed tags keep their encoded value).
pub fn parse(data: &[u8]) -> Result<Vec<Tlv>, IsoError> {
    let mut out = Vec::new();
    let mut pos = 0;
    let bad = |offset: usize, reason: &str| IsoError::BadTlv {
        offset,
        reason: reason.to_owned(),
    };
    while pos < data.len() {
        // Padding between elements (0x00 / 0xFF) is allowed by EMV.
        if data[pos] == 0x00 || data[pos] == 0xFF {
            pos += 1;
            continue;
        }
        let tag_start = pos;
        let mut tag = u32::from(data[pos]);
        pos += 1;
        if tag & 0x1F == 0x1F {
            loop {
                let b = *data
                    .get(pos)
                    .ok_or_else(|| bad(tag_start, "tag runs past the end"))?;
                if pos - tag_start >= 3 {
                    return Err(bad(tag_start, "tag longer than 3 bytes"));
                }
                tag = tag << 8 | u32::from(b);
                pos += 1;
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let first = *data.get(pos).ok_or_else(|| bad(pos, "length missing"))?;
        pos += 1;
        let len = if first & 0x80 == 0 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7F);
            if n == 0 || n > 3 {
                return Err(bad(pos - 1, "unsupported length form"));
            }
            let raw = data
                .get(pos..pos + n)
                .ok_or_else(|| bad(pos, "length runs past the end"))?;
            pos += n;
            raw.iter().fold(0usize, |l, &b| l << 8 | usize::from(b))
        };
        let value = data
            .get(pos..pos + len)
            .ok_or_else(|| bad(pos, "value runs past the end"))?;
        pos += len;
        out.push(Tlv::new(tag, value));
    }
    Ok(out)
}

/// Encode elements as BER-TLV, lengths in the shortest form.
pub fn build(elements: &[Tlv]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in elements {
        out.extend(tag_bytes(e.tag));
        let len = e.value.len();
        if len < 0x80 {
            out.push(len as u8);
        } else if len <= 0xFF {
            out.extend([0x81, len as u8]);
        } else if len <= 0xFFFF {
            out.push(0x82);
            out.extend((len as u16).to_be_bytes());
        } else {
            out.push(0x83);
            out.extend(&(len as u32).to_be_bytes()[1..]);
        }
        out.extend_from_slice(&e.value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso::encoding::hex_decode;

    #[test]
    fn parses_emv_tags_and_rebuilds_same_bytes() {
        let data = hex_decode(
            "9F2608A1B2C3D4E5F607189F2701809F10120110A00003220000000000000000000000FF\
             9F3704DEADBEEF9F36020042950500000080009A032811239C01005F2A0208408202198\
             09F1A0208409F03060000000000009F33036020C89F34031E0300",
        )
        .unwrap();
        let tags = parse(&data).unwrap();
        assert_eq!(tags[0].tag, 0x9F26);
        assert_eq!(tags[0].value, hex_decode("A1B2C3D4E5F60718").unwrap());
        assert_eq!(tags[0].tag_hex(), "9F26");
        assert!(tags
            .iter()
            .any(|t| t.tag == 0x5F2A && t.value == [0x08, 0x40]));
        assert_eq!(build(&tags), data);
    }

    #[test]
    fn long_form_lengths() {
        let e = Tlv::new(0x70, vec![0xAB; 300]);
        let bytes = build(std::slice::from_ref(&e));
        assert_eq!(&bytes[..4], &[0x70, 0x82, 0x01, 0x2C]);
        assert_eq!(parse(&bytes).unwrap(), vec![e]);
        let e = Tlv::new(0x9F10, vec![1; 200]);
        assert_eq!(
            &build(std::slice::from_ref(&e))[..4],
            &[0x9F, 0x10, 0x81, 200]
        );
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        for bad in ["9F", "9F26", "9F2608A1B2", "5A85", "DF8181"] {
            assert!(parse(&hex_decode(bad).unwrap()).is_err(), "{bad}");
        }
    }
}
