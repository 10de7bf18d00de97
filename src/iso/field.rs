//! Packing and unpacking one field: content checks, fill, length prefix, data encoding.

use smallvec::SmallVec;

use super::encoding::{
    bcd_decode_into, bcd_encode_into, bcd_len, bcd_number, ebcdic_decode_into, ebcdic_encode_into,
    hex_decode_into, hex_encode_into, LATIN1_TO_EBCDIC,
};
use super::error::{FieldPath, IsoError};
use super::spec::{Class, Encoding, FieldSpec, Fill, PrefixEncoding};

/// How a field's path is named in errors; built only when an error happens.
pub(crate) trait PathOf {
    fn path(&self) -> FieldPath;
}

impl PathOf for u16 {
    fn path(&self) -> FieldPath {
        FieldPath::field(*self)
    }
}

impl PathOf for FieldPath {
    fn path(&self) -> FieldPath {
        self.clone()
    }
}

impl FieldSpec {
    /// Bytes on the wire for `count` logical units (after the prefix).
    #[inline]
    fn wire_len(&self, count: usize) -> usize {
        match self.encoding {
            Encoding::Ascii | Encoding::Ebcdic | Encoding::Binary => count,
            Encoding::Hex => count * 2,
            Encoding::Bcd if self.class == Class::Xn => {
                if count == 0 {
                    0
                } else {
                    1 + bcd_len(count - 1)
                }
            }
            Encoding::Bcd => bcd_len(count),
        }
    }

    fn check_content(&self, at: &impl PathOf, v: &[u8]) -> Result<(), IsoError> {
        let bad = |i: usize, what: &str| IsoError::BadContent {
            field: at.path(),
            offset: None,
            reason: format!("character {:?} at position {i} is not {what}", v[i] as char),
        };
        match self.class {
            Class::N => match v.iter().position(|b| !b.is_ascii_digit()) {
                Some(i) => Err(bad(i, "a digit")),
                None => Ok(()),
            },
            Class::Z => match v
                .iter()
                .position(|b| !(b.is_ascii_digit() || matches!(b, b'=' | b'D' | b'd')))
            {
                Some(i) => Err(bad(i, "a track character (digit, '=' or 'D')")),
                None => Ok(()),
            },
            Class::Xn => {
                if v.is_empty() {
                    return Ok(());
                }
                if !matches!(v[0], b'C' | b'D') {
                    return Err(bad(0, "a sign ('C' or 'D')"));
                }
                match v[1..].iter().position(|b| !b.is_ascii_digit()) {
                    Some(i) => Err(bad(i + 1, "a digit")),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// Append this field's wire form for `value` to `out`.
    pub(crate) fn pack(
        &self,
        at: &impl PathOf,
        value: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), IsoError> {
        self.check_content(at, value)?;
        let len = value.len();
        if len > self.length {
            return Err(IsoError::TooLong {
                field: at.path(),
                offset: None,
                len,
                max: self.length,
            });
        }
        if self.prefix_digits > 0 {
            self.write_prefix(len, out);
            return self.write_data(at, value, out);
        }
        if len == self.length {
            return self.write_data(at, value, out);
        }
        let missing = self.length - len;
        let mut filled: SmallVec<[u8; 64]> = SmallVec::with_capacity(self.length);
        match self.fill {
            Fill::None => {
                return Err(IsoError::WrongLength {
                    field: at.path(),
                    len,
                    expected: self.length,
                })
            }
            Fill::ZerosLeft if self.class == Class::Xn && len > 0 => {
                filled.push(value[0]);
                filled.extend(std::iter::repeat_n(b'0', missing));
                filled.extend_from_slice(&value[1..]);
            }
            Fill::ZerosLeft => {
                filled.extend(std::iter::repeat_n(b'0', missing));
                filled.extend_from_slice(value);
            }
            Fill::SpacesLeft => {
                filled.extend(std::iter::repeat_n(b' ', missing));
                filled.extend_from_slice(value);
            }
            Fill::SpacesRight => {
                filled.extend_from_slice(value);
                filled.extend(std::iter::repeat_n(b' ', missing));
            }
        }
        if self.class == Class::Xn && len == 0 {
            return Err(IsoError::BadContent {
                field: at.path(),
                offset: None,
                reason: "an amount needs its sign character".into(),
            });
        }
        self.write_data(at, &filled, out)
    }

    #[inline]
    fn write_prefix(&self, count: usize, out: &mut Vec<u8>) {
        let digits = usize::from(self.prefix_digits);
        match self.prefix_encoding {
            PrefixEncoding::Ascii | PrefixEncoding::Ebcdic => {
                let base = if self.prefix_encoding == PrefixEncoding::Ascii {
                    b'0'
                } else {
                    LATIN1_TO_EBCDIC[b'0' as usize]
                };
                let mut div = 10usize.pow(digits as u32 - 1);
                for _ in 0..digits {
                    out.push(base + ((count / div) % 10) as u8);
                    div /= 10;
                }
            }
            PrefixEncoding::Bcd => {
                let bytes = bcd_len(digits);
                let mut div = 100usize.pow(bytes as u32 - 1);
                for _ in 0..bytes {
                    let pair = (count / div) % 100;
                    out.push(((pair / 10) << 4 | (pair % 10)) as u8);
                    div /= 100;
                }
            }
            PrefixEncoding::Binary => {
                if digits <= 2 {
                    out.push(count as u8);
                } else {
                    out.extend_from_slice(&(count as u16).to_be_bytes());
                }
            }
        }
    }

    #[inline]
    fn write_data(&self, at: &impl PathOf, v: &[u8], out: &mut Vec<u8>) -> Result<(), IsoError> {
        match self.encoding {
            Encoding::Ascii | Encoding::Binary => out.extend_from_slice(v),
            Encoding::Ebcdic => ebcdic_encode_into(v, out),
            Encoding::Hex => hex_encode_into(v, out),
            Encoding::Bcd => {
                let digits = if self.class == Class::Xn && !v.is_empty() {
                    out.push(v[0]);
                    &v[1..]
                } else {
                    v
                };
                bcd_encode_into(digits, self.bcd_pad_left, out).map_err(|i| {
                    IsoError::BadContent {
                        field: at.path(),
                        offset: None,
                        reason: format!("character {:?} cannot be BCD-encoded", digits[i] as char),
                    }
                })?;
            }
        }
        Ok(())
    }

    /// Read this field from `buf` at `pos`, append its value to `out`, return the position after it.
    pub(crate) fn unpack(
        &self,
        at: &impl PathOf,
        buf: &[u8],
        pos: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, IsoError> {
        let (count, data_pos) = if self.prefix_digits == 0 {
            (self.length, pos)
        } else {
            self.read_prefix(at, buf, pos)?
        };
        let wire = self.wire_len(count);
        let end = data_pos + wire;
        if end > buf.len() {
            return Err(IsoError::Truncated {
                field: at.path(),
                offset: data_pos,
                needed: wire,
                available: buf.len().saturating_sub(data_pos),
            });
        }
        let raw = &buf[data_pos..end];
        match self.encoding {
            Encoding::Ascii | Encoding::Binary => out.extend_from_slice(raw),
            Encoding::Ebcdic => ebcdic_decode_into(raw, out),
            Encoding::Hex => hex_decode_into(raw, out).map_err(|i| IsoError::BadContent {
                field: at.path(),
                offset: Some(data_pos + i),
                reason: format!("byte 0x{:02X} is not a hex digit", raw[i]),
            })?,
            Encoding::Bcd => {
                let (digits, count) = if self.class == Class::Xn && count > 0 {
                    out.push(raw[0]);
                    (&raw[1..], count - 1)
                } else {
                    (raw, count)
                };
                bcd_decode_into(digits, count, self.bcd_pad_left, out);
            }
        }
        Ok(end)
    }

    fn read_prefix(
        &self,
        at: &impl PathOf,
        buf: &[u8],
        pos: usize,
    ) -> Result<(usize, usize), IsoError> {
        let digits = usize::from(self.prefix_digits);
        let width = match self.prefix_encoding {
            PrefixEncoding::Ascii | PrefixEncoding::Ebcdic => digits,
            PrefixEncoding::Bcd => bcd_len(digits),
            PrefixEncoding::Binary => {
                if digits <= 2 {
                    1
                } else {
                    2
                }
            }
        };
        let Some(raw) = buf.get(pos..pos + width) else {
            return Err(IsoError::Truncated {
                field: at.path(),
                offset: pos,
                needed: width,
                available: buf.len().saturating_sub(pos),
            });
        };
        let bad = |reason: String| IsoError::BadPrefix {
            field: at.path(),
            offset: pos,
            reason,
        };
        let count = match self.prefix_encoding {
            PrefixEncoding::Ascii | PrefixEncoding::Ebcdic => {
                let zero = if self.prefix_encoding == PrefixEncoding::Ascii {
                    b'0'
                } else {
                    LATIN1_TO_EBCDIC[b'0' as usize]
                };
                let mut n = 0usize;
                for &c in raw {
                    let d = c.wrapping_sub(zero);
                    if d > 9 {
                        return Err(bad(format!("byte 0x{c:02X} is not a digit")));
                    }
                    n = n * 10 + usize::from(d);
                }
                n
            }
            PrefixEncoding::Bcd => bcd_number(raw)
                .ok_or_else(|| bad(format!("{} is not BCD", super::encoding::hex_string(raw))))?,
            PrefixEncoding::Binary => raw.iter().fold(0usize, |n, &b| n << 8 | usize::from(b)),
        };
        if count > self.length {
            return Err(IsoError::TooLong {
                field: at.path(),
                offset: Some(pos),
                len: count,
                max: self.length,
            });
        }
        Ok((count, pos + width))
    }
}
