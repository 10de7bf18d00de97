//! Message-level packing and unpacking: MTI, primary/secondary/tertiary bitmaps, then fields in order;
//! plus composite fields (subfields behind an inner bitmap, or a fixed sequence).

use super::encoding::{
    bcd_decode_into, bcd_encode_into, hex_decode_into, hex_encode_into, EBCDIC_TO_LATIN1,
    LATIN1_TO_EBCDIC,
};
use super::error::{FieldPath, IsoError};
use super::msg::IsoMsg;
use super::mti::Mti;
use super::spec::{BitmapEncoding, FieldSpec, MtiEncoding, Spec, SubSpec};

/// Bit for position `n` (1-based) inside a 64-bit bitmap word, most significant bit first.
#[inline]
fn bit(n: u32) -> u64 {
    1u64 << (63 - ((n - 1) % 64))
}

fn bitmap_wire_len(enc: BitmapEncoding) -> usize {
    match enc {
        BitmapEncoding::Binary => 8,
        BitmapEncoding::Hex | BitmapEncoding::EbcdicHex => 16,
    }
}

#[inline]
fn write_bitmap(enc: BitmapEncoding, word: u64, out: &mut Vec<u8>) {
    let bytes = word.to_be_bytes();
    match enc {
        BitmapEncoding::Binary => out.extend_from_slice(&bytes),
        BitmapEncoding::Hex => hex_encode_into(&bytes, out),
        BitmapEncoding::EbcdicHex => {
            let start = out.len();
            hex_encode_into(&bytes, out);
            for b in &mut out[start..] {
                *b = LATIN1_TO_EBCDIC[*b as usize];
            }
        }
    }
}

/// Read one 64-bit bitmap word at `pos`; `what` names it in errors.
#[inline]
fn read_bitmap(
    enc: BitmapEncoding,
    buf: &[u8],
    pos: usize,
    what: &FieldPath,
) -> Result<u64, IsoError> {
    let len = bitmap_wire_len(enc);
    let Some(raw) = buf.get(pos..pos + len) else {
        return Err(IsoError::Truncated {
            field: what.clone(),
            offset: pos,
            needed: len,
            available: buf.len().saturating_sub(pos),
        });
    };
    let mut bytes = [0u8; 8];
    match enc {
        BitmapEncoding::Binary => bytes.copy_from_slice(raw),
        BitmapEncoding::Hex | BitmapEncoding::EbcdicHex => {
            let mut ascii = [0u8; 16];
            for (a, &r) in ascii.iter_mut().zip(raw) {
                *a = if enc == BitmapEncoding::Hex {
                    r
                } else {
                    EBCDIC_TO_LATIN1[r as usize]
                };
            }
            let mut v = Vec::with_capacity(8);
            hex_decode_into(&ascii, &mut v).map_err(|i| IsoError::BadContent {
                field: what.clone(),
                offset: Some(pos + i),
                reason: format!("bitmap byte 0x{:02X} is not a hex digit", raw[i]),
            })?;
            bytes.copy_from_slice(&v);
        }
    }
    Ok(u64::from_be_bytes(bytes))
}

/// Field numbers whose bits are set in `word` (word `k` holds numbers `64k+1 ..= 64k+64`), ascending.
#[inline]
fn bits(word: u64, k: u32) -> impl Iterator<Item = u32> {
    let mut w = word;
    std::iter::from_fn(move || {
        if w == 0 {
            return None;
        }
        let lz = w.leading_zeros();
        w &= !(1u64 << (63 - lz));
        Some(k * 64 + lz + 1)
    })
}

impl Spec {
    /// Pack a message into a new buffer.
    pub fn pack(&self, msg: &IsoMsg) -> Result<Vec<u8>, IsoError> {
        let mut out =
            Vec::with_capacity(64 + msg.fields().map(|(_, v)| v.len() + 3).sum::<usize>());
        self.pack_into(msg, &mut out)?;
        Ok(out)
    }

    /// Pack a message, appending to `out` (which is left as it was on error).
    pub fn pack_into(&self, msg: &IsoMsg, out: &mut Vec<u8>) -> Result<(), IsoError> {
        let start = out.len();
        let r = self.pack_body(msg, out);
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    fn pack_body(&self, msg: &IsoMsg, out: &mut Vec<u8>) -> Result<(), IsoError> {
        let mti = msg.mti();
        match self.mti {
            MtiEncoding::Ascii => out.extend_from_slice(mti.as_bytes()),
            MtiEncoding::Ebcdic => {
                out.extend(mti.as_bytes().iter().map(|&b| LATIN1_TO_EBCDIC[b as usize]))
            }
            MtiEncoding::Bcd => bcd_encode_into(mti.as_bytes(), true, out)
                .map_err(|_| IsoError::BadMti(mti.to_string()))?,
        }
        let mut words = [0u64; 3];
        for f in msg.field_numbers() {
            let f = u32::from(f);
            words[((f - 1) / 64) as usize] |= bit(f);
        }
        if words[2] != 0 {
            if !self.tertiary {
                let first = bits(words[2], 2).next().unwrap_or(129);
                return Err(IsoError::UnknownField {
                    field: FieldPath::field(first as u16),
                    offset: None,
                    spec: self.name.clone(),
                });
            }
            words[1] |= bit(65);
        }
        if words[1] != 0 {
            words[0] |= bit(1);
        }
        write_bitmap(self.bitmap, words[0], out);
        if words[1] != 0 {
            write_bitmap(self.bitmap, words[1], out);
        }
        let mut tertiary_written = false;
        for (f, v) in msg.fields() {
            if words[2] != 0 && !tertiary_written && f > 65 {
                write_bitmap(self.bitmap, words[2], out);
                tertiary_written = true;
            }
            let spec = self
                .field(f)
                .filter(|_| !(self.tertiary && f == 65))
                .ok_or_else(|| IsoError::UnknownField {
                    field: FieldPath::field(f.into()),
                    offset: None,
                    spec: self.name.clone(),
                })?;
            spec.pack(&u16::from(f), v, out)?;
        }
        Ok(())
    }

    /// Unpack a whole message; every byte must belong to a field.
    pub fn unpack(&self, buf: &[u8]) -> Result<IsoMsg, IsoError> {
        let mut pos;
        let mti = match self.mti {
            MtiEncoding::Ascii | MtiEncoding::Ebcdic => {
                let raw = buf.get(..4).ok_or(IsoError::Truncated {
                    field: FieldPath::field(0),
                    offset: 0,
                    needed: 4,
                    available: buf.len(),
                })?;
                let mut d = [0u8; 4];
                for (o, &r) in d.iter_mut().zip(raw) {
                    *o = if self.mti == MtiEncoding::Ascii {
                        r
                    } else {
                        EBCDIC_TO_LATIN1[r as usize]
                    };
                }
                pos = 4;
                Mti::from_digits(d)?
            }
            MtiEncoding::Bcd => {
                let raw = buf.get(..2).ok_or(IsoError::Truncated {
                    field: FieldPath::field(0),
                    offset: 0,
                    needed: 2,
                    available: buf.len(),
                })?;
                let mut d = Vec::with_capacity(4);
                bcd_decode_into(raw, 4, true, &mut d);
                pos = 2;
                Mti::from_digits([d[0], d[1], d[2], d[3]])?
            }
        };
        let bitmap_path = FieldPath::field(1);
        let wlen = bitmap_wire_len(self.bitmap);
        let mut words = [0u64; 3];
        words[0] = read_bitmap(self.bitmap, buf, pos, &bitmap_path)?;
        pos += wlen;
        if words[0] & bit(1) != 0 {
            words[1] = read_bitmap(self.bitmap, buf, pos, &bitmap_path)?;
            pos += wlen;
        }
        let mut msg = IsoMsg::with_capacity(mti, buf.len());
        for k in 0..3u32 {
            // Word 2 is only known once field 65's position is reached in word 1.
            let word = words[k as usize];
            for f in bits(word, k) {
                if f == 1 {
                    continue;
                }
                if f == 65 && self.tertiary {
                    words[2] = read_bitmap(self.bitmap, buf, pos, &FieldPath::field(65))?;
                    pos += wlen;
                    continue;
                }
                let fid = f as u8;
                let spec = self.field(fid).ok_or_else(|| IsoError::UnknownField {
                    field: FieldPath::field(f as u16),
                    offset: Some(pos),
                    spec: self.name.clone(),
                })?;
                let start = msg.arena().len();
                pos = spec.unpack(&(f as u16), buf, pos, msg.arena())?;
                msg.push_sorted(fid, start);
            }
        }
        if pos != buf.len() {
            return Err(IsoError::TrailingBytes {
                offset: pos,
                count: buf.len() - pos,
            });
        }
        Ok(msg)
    }

    /// Definition of a composite field, or an error naming the field.
    fn composite(&self, field: u8) -> Result<&SubSpec, IsoError> {
        self.field(field)
            .and_then(|f| f.subfields.as_deref())
            .ok_or_else(|| IsoError::UnknownField {
                field: FieldPath::field(field.into()),
                offset: None,
                spec: format!("{} (not a composite field)", self.name),
            })
    }

    /// Split a composite field's packed inner bytes into `(subfield, value)` pairs.
    pub fn unpack_composite(
        &self,
        field: u8,
        inner: &[u8],
    ) -> Result<Vec<(u16, Vec<u8>)>, IsoError> {
        self.composite(field)?
            .unpack(&FieldPath::field(field.into()), inner)
    }

    /// Pack `(subfield, value)` pairs into a composite field's inner bytes.
    pub fn pack_composite(
        &self,
        field: u8,
        values: &[(u16, Vec<u8>)],
    ) -> Result<Vec<u8>, IsoError> {
        self.composite(field)?
            .pack(&FieldPath::field(field.into()), values)
    }
}

impl SubSpec {
    fn subfield(&self, at: &FieldPath, n: u16) -> Result<&FieldSpec, IsoError> {
        self.fields.get(&n).ok_or_else(|| IsoError::UnknownField {
            field: at.child(n),
            offset: None,
            spec: "composite".into(),
        })
    }

    /// Pack subfield values (any order) into inner bytes.
    pub fn pack(&self, at: &FieldPath, values: &[(u16, Vec<u8>)]) -> Result<Vec<u8>, IsoError> {
        let mut sorted: Vec<&(u16, Vec<u8>)> = values.iter().collect();
        sorted.sort_by_key(|(n, _)| *n);
        let mut out = Vec::new();
        match self.bitmap {
            None => {
                for (&n, spec) in &self.fields {
                    let v = sorted
                        .iter()
                        .find(|(m, _)| *m == n)
                        .ok_or_else(|| IsoError::MissingSubfield { field: at.child(n) })?;
                    spec.pack(&at.child(n), &v.1, &mut out)?;
                }
                if let Some((n, _)) = sorted.iter().find(|(n, _)| !self.fields.contains_key(n)) {
                    self.subfield(at, *n)?;
                }
            }
            Some(bm) => {
                let mut words = [0u64; 2];
                for (n, _) in &sorted {
                    self.subfield(at, *n)?;
                    let n = u32::from(*n);
                    words[((n - 1) / 64) as usize] |= bit(n);
                }
                if bm.length == 16 && words[1] != 0 {
                    words[0] |= bit(1);
                }
                write_bitmap(bm.encoding, words[0], &mut out);
                if words[0] & bit(1) != 0 && bm.length == 16 {
                    write_bitmap(bm.encoding, words[1], &mut out);
                }
                for (n, v) in sorted {
                    self.subfield(at, *n)?.pack(&at.child(*n), v, &mut out)?;
                }
            }
        }
        Ok(out)
    }

    /// Unpack inner bytes into `(subfield, value)` pairs, ascending.
    pub fn unpack(&self, at: &FieldPath, inner: &[u8]) -> Result<Vec<(u16, Vec<u8>)>, IsoError> {
        let mut out = Vec::new();
        let mut pos = 0;
        match self.bitmap {
            None => {
                for (&n, spec) in &self.fields {
                    let mut v = Vec::new();
                    pos = spec.unpack(&at.child(n), inner, pos, &mut v)?;
                    out.push((n, v));
                }
            }
            Some(bm) => {
                let wlen = bitmap_wire_len(bm.encoding);
                let mut words = [0u64; 2];
                words[0] = read_bitmap(bm.encoding, inner, 0, at)?;
                pos = wlen;
                let extended = bm.length == 16 && words[0] & bit(1) != 0;
                if extended {
                    words[1] = read_bitmap(bm.encoding, inner, pos, at)?;
                    pos += wlen;
                }
                for k in 0..2u32 {
                    for n in bits(words[k as usize], k) {
                        if n == 1 && bm.length == 16 {
                            continue;
                        }
                        let n = n as u16;
                        let spec = self.subfield(at, n)?;
                        let mut v = Vec::new();
                        pos = spec.unpack(&at.child(n), inner, pos, &mut v)?;
                        out.push((n, v));
                    }
                }
            }
        }
        if pos != inner.len() {
            return Err(IsoError::TrailingBytes {
                offset: pos,
                count: inner.len() - pos,
            });
        }
        Ok(out)
    }
}
