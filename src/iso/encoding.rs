//! Byte-level encodings used on the wire: BCD nibbles, ASCII hex, and EBCDIC (IBM-1047, as jPOS uses).
//!
//! Pure functions over slices; every decoder validates its input and reports the first bad byte.

/// Uppercase hex digits, indexed by nibble.
const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Append `src` as uppercase ASCII hex to `out`.
#[inline]
pub fn hex_encode_into(src: &[u8], out: &mut Vec<u8>) {
    out.reserve(src.len() * 2);
    for &b in src {
        out.push(HEX_DIGITS[(b >> 4) as usize]);
        out.push(HEX_DIGITS[(b & 0x0F) as usize]);
    }
}

/// Uppercase hex string of `src`.
pub fn hex_string(src: &[u8]) -> String {
    let mut out = Vec::with_capacity(src.len() * 2);
    hex_encode_into(src, &mut out);
    // Only ASCII hex digits were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Value of one ASCII hex digit (either case).
#[inline]
pub fn hex_nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Decode ASCII hex (even length, either case) and append the bytes to `out`.
/// On error returns the index of the first offending character.
#[inline]
pub fn hex_decode_into(src: &[u8], out: &mut Vec<u8>) -> Result<(), usize> {
    if src.len() % 2 != 0 {
        return Err(src.len());
    }
    out.reserve(src.len() / 2);
    for (i, pair) in src.chunks_exact(2).enumerate() {
        let hi = hex_nibble(pair[0]).ok_or(i * 2)?;
        let lo = hex_nibble(pair[1]).ok_or(i * 2 + 1)?;
        out.push(hi << 4 | lo);
    }
    Ok(())
}

/// Decode a hex string (whitespace ignored) into bytes.
pub fn hex_decode(src: &str) -> Result<Vec<u8>, usize> {
    let compact: Vec<u8> = src.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(compact.len() / 2);
    hex_decode_into(&compact, &mut out)?;
    Ok(out)
}

/// Nibble value of a digit character for BCD packing: `0-9`, `A-F`/`a-f`, and `=` as `D` (track separator).
#[inline]
pub fn bcd_nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'=' => Some(0x0D),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Character for a BCD nibble on unpack: digits, `D` read back as `=` (as jPOS does), other letters uppercase.
#[inline]
pub fn bcd_char(n: u8) -> u8 {
    match n {
        0..=9 => b'0' + n,
        0x0D => b'=',
        _ => b'A' + (n - 10),
    }
}

/// Number of bytes `digits` BCD digits occupy.
#[inline]
pub const fn bcd_len(digits: usize) -> usize {
    digits.div_ceil(2)
}

/// Pack `digits` as BCD into `out`; an odd count gets a 0 nibble on the left (`pad_left`) or right.
/// On error returns the index of the first character that is not a BCD digit.
#[inline]
pub fn bcd_encode_into(digits: &[u8], pad_left: bool, out: &mut Vec<u8>) -> Result<(), usize> {
    let odd = digits.len() % 2 == 1;
    out.reserve(bcd_len(digits.len()));
    let mut i = 0;
    if odd && pad_left {
        out.push(bcd_nibble(digits[0]).ok_or(0usize)?);
        i = 1;
    }
    while i + 1 < digits.len() {
        let hi = bcd_nibble(digits[i]).ok_or(i)?;
        let lo = bcd_nibble(digits[i + 1]).ok_or(i + 1)?;
        out.push(hi << 4 | lo);
        i += 2;
    }
    if i < digits.len() {
        out.push(bcd_nibble(digits[i]).ok_or(i)? << 4);
    }
    Ok(())
}

/// Unpack `count` digits from BCD `src` (which holds exactly `bcd_len(count)` bytes) into `out`.
#[inline]
pub fn bcd_decode_into(src: &[u8], count: usize, pad_left: bool, out: &mut Vec<u8>) {
    out.reserve(count);
    let skip_first = count % 2 == 1 && pad_left;
    let mut produced = 0;
    for (i, &b) in src.iter().enumerate() {
        if !(i == 0 && skip_first) {
            if produced == count {
                break;
            }
            out.push(bcd_char(b >> 4));
            produced += 1;
        }
        if produced == count {
            break;
        }
        out.push(bcd_char(b & 0x0F));
        produced += 1;
    }
}

/// Unpack BCD length digits (a prefix) as a number; `None` if a nibble is not a decimal digit.
#[inline]
pub fn bcd_number(src: &[u8]) -> Option<usize> {
    let mut n = 0usize;
    for &b in src {
        let (hi, lo) = (b >> 4, b & 0x0F);
        if hi > 9 || lo > 9 {
            return None;
        }
        n = n * 100 + (hi as usize) * 10 + lo as usize;
    }
    Some(n)
}

/// Translate Latin-1 bytes to EBCDIC (IBM-1047) in `out`.
#[inline]
pub fn ebcdic_encode_into(src: &[u8], out: &mut Vec<u8>) {
    out.extend(src.iter().map(|&b| LATIN1_TO_EBCDIC[b as usize]));
}

/// Translate EBCDIC (IBM-1047) bytes to Latin-1 in `out`.
#[inline]
pub fn ebcdic_decode_into(src: &[u8], out: &mut Vec<u8>) {
    out.extend(src.iter().map(|&b| EBCDIC_TO_LATIN1[b as usize]));
}

/// Decode Latin-1 bytes to a `String` (every byte is one char).
pub fn latin1_to_string(src: &[u8]) -> String {
    match std::str::from_utf8(src) {
        Ok(s) if src.is_ascii() => s.to_owned(),
        _ => src.iter().map(|&b| b as char).collect(),
    }
}

/// Encode a string as Latin-1; `Err(index)` at the first char above U+00FF.
pub fn string_to_latin1(s: &str) -> Result<Vec<u8>, usize> {
    if s.is_ascii() {
        return Ok(s.as_bytes().to_vec());
    }
    s.chars()
        .enumerate()
        .map(|(i, c)| u8::try_from(u32::from(c)).map_err(|_| i))
        .collect()
}

pub(crate) const EBCDIC_TO_LATIN1: [u8; 256] = [
    0x00, 0x01, 0x02, 0x03, 0x9C, 0x09, 0x86, 0x7F, 0x97, 0x8D, 0x8E, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
    0x10, 0x11, 0x12, 0x13, 0x9D, 0x85, 0x08, 0x87, 0x18, 0x19, 0x92, 0x8F, 0x1C, 0x1D, 0x1E, 0x1F,
    0x80, 0x81, 0x82, 0x83, 0x84, 0x0A, 0x17, 0x1B, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x05, 0x06, 0x07,
    0x90, 0x91, 0x16, 0x93, 0x94, 0x95, 0x96, 0x04, 0x98, 0x99, 0x9A, 0x9B, 0x14, 0x15, 0x9E, 0x1A,
    0x20, 0xA0, 0xE2, 0xE4, 0xE0, 0xE1, 0xE3, 0xE5, 0xE7, 0xF1, 0xA2, 0x2E, 0x3C, 0x28, 0x2B, 0x7C,
    0x26, 0xE9, 0xEA, 0xEB, 0xE8, 0xED, 0xEE, 0xEF, 0xEC, 0xDF, 0x21, 0x24, 0x2A, 0x29, 0x3B, 0x5E,
    0x2D, 0x2F, 0xC2, 0xC4, 0xC0, 0xC1, 0xC3, 0xC5, 0xC7, 0xD1, 0xA6, 0x2C, 0x25, 0x5F, 0x3E, 0x3F,
    0xF8, 0xC9, 0xCA, 0xCB, 0xC8, 0xCD, 0xCE, 0xCF, 0xCC, 0x60, 0x3A, 0x23, 0x40, 0x27, 0x3D, 0x22,
    0xD8, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0xAB, 0xBB, 0xF0, 0xFD, 0xFE, 0xB1,
    0xB0, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70, 0x71, 0x72, 0xAA, 0xBA, 0xE6, 0xB8, 0xC6, 0xA4,
    0xB5, 0x7E, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0xA1, 0xBF, 0xD0, 0x5B, 0xDE, 0xAE,
    0xAC, 0xA3, 0xA5, 0xB7, 0xA9, 0xA7, 0xB6, 0xBC, 0xBD, 0xBE, 0xDD, 0xA8, 0xAF, 0x5D, 0xB4, 0xD7,
    0x7B, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0xAD, 0xF4, 0xF6, 0xF2, 0xF3, 0xF5,
    0x7D, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F, 0x50, 0x51, 0x52, 0xB9, 0xFB, 0xFC, 0xF9, 0xFA, 0xFF,
    0x5C, 0xF7, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0xB2, 0xD4, 0xD6, 0xD2, 0xD3, 0xD5,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0xB3, 0xDB, 0xDC, 0xD9, 0xDA, 0x9F,
];

pub(crate) const LATIN1_TO_EBCDIC: [u8; 256] = [
    0x00, 0x01, 0x02, 0x03, 0x37, 0x2D, 0x2E, 0x2F, 0x16, 0x05, 0x25, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
    0x10, 0x11, 0x12, 0x13, 0x3C, 0x3D, 0x32, 0x26, 0x18, 0x19, 0x3F, 0x27, 0x1C, 0x1D, 0x1E, 0x1F,
    0x40, 0x5A, 0x7F, 0x7B, 0x5B, 0x6C, 0x50, 0x7D, 0x4D, 0x5D, 0x5C, 0x4E, 0x6B, 0x60, 0x4B, 0x61,
    0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0x7A, 0x5E, 0x4C, 0x7E, 0x6E, 0x6F,
    0x7C, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6,
    0xD7, 0xD8, 0xD9, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xAD, 0xE0, 0xBD, 0x5F, 0x6D,
    0x79, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96,
    0x97, 0x98, 0x99, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xC0, 0x4F, 0xD0, 0xA1, 0x07,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x15, 0x06, 0x17, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x09, 0x0A, 0x1B,
    0x30, 0x31, 0x1A, 0x33, 0x34, 0x35, 0x36, 0x08, 0x38, 0x39, 0x3A, 0x3B, 0x04, 0x14, 0x3E, 0xFF,
    0x41, 0xAA, 0x4A, 0xB1, 0x9F, 0xB2, 0x6A, 0xB5, 0xBB, 0xB4, 0x9A, 0x8A, 0xB0, 0xCA, 0xAF, 0xBC,
    0x90, 0x8F, 0xEA, 0xFA, 0xBE, 0xA0, 0xB6, 0xB3, 0x9D, 0xDA, 0x9B, 0x8B, 0xB7, 0xB8, 0xB9, 0xAB,
    0x64, 0x65, 0x62, 0x66, 0x63, 0x67, 0x9E, 0x68, 0x74, 0x71, 0x72, 0x73, 0x78, 0x75, 0x76, 0x77,
    0xAC, 0x69, 0xED, 0xEE, 0xEB, 0xEF, 0xEC, 0xBF, 0x80, 0xFD, 0xFE, 0xFB, 0xFC, 0xBA, 0xAE, 0x59,
    0x44, 0x45, 0x42, 0x46, 0x43, 0x47, 0x9C, 0x48, 0x54, 0x51, 0x52, 0x53, 0x58, 0x55, 0x56, 0x57,
    0x8C, 0x49, 0xCD, 0xCE, 0xCB, 0xCF, 0xCC, 0xE1, 0x70, 0xDD, 0xDE, 0xDB, 0xDC, 0x8D, 0x8E, 0xDF,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcd_odd_digits_pad_left_and_right() {
        let mut out = Vec::new();
        bcd_encode_into(b"831", false, &mut out).unwrap();
        assert_eq!(out, [0x83, 0x10]);
        out.clear();
        bcd_encode_into(b"301", true, &mut out).unwrap();
        assert_eq!(out, [0x03, 0x01]);
        let mut back = Vec::new();
        bcd_decode_into(&[0x83, 0x10], 3, false, &mut back);
        assert_eq!(back, b"831");
        back.clear();
        bcd_decode_into(&[0x03, 0x01], 3, true, &mut back);
        assert_eq!(back, b"301");
    }

    #[test]
    fn bcd_track_separator_round_trips_as_d() {
        let mut out = Vec::new();
        bcd_encode_into(b"41=2", false, &mut out).unwrap();
        assert_eq!(out, [0x41, 0xD2]);
        let mut back = Vec::new();
        bcd_decode_into(&out, 4, false, &mut back);
        assert_eq!(back, b"41=2");
    }

    #[test]
    fn bcd_rejects_non_digits_with_index() {
        let mut out = Vec::new();
        assert_eq!(bcd_encode_into(b"12X4", false, &mut out), Err(2));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let mut out = Vec::new();
        hex_encode_into(&[0x9F, 0x26, 0x00], &mut out);
        assert_eq!(out, b"9F2600");
        assert_eq!(hex_decode("9f 26 00").unwrap(), vec![0x9F, 0x26, 0x00]);
        assert_eq!(hex_decode("9G"), Err(1));
        assert_eq!(hex_decode("ABC"), Err(3));
    }

    #[test]
    fn ebcdic_ibm1047_known_points() {
        let mut out = Vec::new();
        ebcdic_encode_into(b"0A a[]^", &mut out);
        assert_eq!(out, [0xF0, 0xC1, 0x40, 0x81, 0xAD, 0xBD, 0x5F]);
        let mut back = Vec::new();
        ebcdic_decode_into(&out, &mut back);
        assert_eq!(back, b"0A a[]^");
        for b in 0..=255u8 {
            assert_eq!(EBCDIC_TO_LATIN1[LATIN1_TO_EBCDIC[b as usize] as usize], b);
        }
    }

    #[test]
    fn bcd_number_reads_prefixes() {
        assert_eq!(bcd_number(&[0x01, 0x07]), Some(107));
        assert_eq!(bcd_number(&[0x34]), Some(34));
        assert_eq!(bcd_number(&[0x3A]), None);
    }
}
