//! `IsoMsg`: an MTI, an optional header, and sparse fields 2..192 held as bytes.
//!
//! Values live in one byte arena with a small sorted index, so unpacking a message costs two allocations
//! at most, not one per field. Text fields hold their characters (Latin-1), numeric fields their ASCII digits
//! (as jPOS returns them: fixed fields keep their fill), binary fields their raw bytes, composite fields
//! their packed inner bytes (see `Spec::unpack_composite`).

use smallvec::SmallVec;

use super::error::{FieldPath, IsoError};
use super::mti::Mti;

/// Highest field number a message can carry (tertiary bitmap).
pub const MAX_FIELD: u8 = 192;

#[derive(Debug, Clone, Copy)]
struct Slot {
    field: u8,
    start: u32,
    len: u32,
}

/// An ISO-8583 message.
#[derive(Clone)]
pub struct IsoMsg {
    mti: Mti,
    header: Option<Box<[u8]>>,
    data: Vec<u8>,
    slots: SmallVec<[Slot; 24]>,
}

impl IsoMsg {
    /// An empty message with this MTI.
    pub fn new(mti: Mti) -> Self {
        IsoMsg {
            mti,
            header: None,
            data: Vec::new(),
            slots: SmallVec::new(),
        }
    }

    /// An empty message with arena capacity for `bytes` bytes of values.
    pub fn with_capacity(mti: Mti, bytes: usize) -> Self {
        IsoMsg {
            mti,
            header: None,
            data: Vec::with_capacity(bytes),
            slots: SmallVec::new(),
        }
    }

    /// An empty message from an MTI string such as `"0200"`.
    pub fn with_mti(mti: &str) -> Result<Self, IsoError> {
        Ok(IsoMsg::new(mti.parse()?))
    }

    /// The MTI.
    #[inline]
    pub fn mti(&self) -> Mti {
        self.mti
    }

    /// Replace the MTI.
    pub fn set_mti(&mut self, mti: Mti) {
        self.mti = mti;
    }

    /// Header bytes that travel before the MTI (channel-specific), if any.
    pub fn header(&self) -> Option<&[u8]> {
        self.header.as_deref()
    }

    /// Set or clear the header.
    pub fn set_header(&mut self, header: Option<&[u8]>) {
        self.header = header.map(Box::from);
    }

    #[inline]
    fn find(&self, field: u8) -> Result<usize, usize> {
        self.slots.binary_search_by_key(&field, |s| s.field)
    }

    /// Raw value of a field.
    #[inline]
    pub fn get(&self, field: u8) -> Option<&[u8]> {
        let i = self.find(field).ok()?;
        let s = self.slots[i];
        Some(&self.data[s.start as usize..(s.start + s.len) as usize])
    }

    /// Value of a field as text, if present and valid UTF-8 (always so for ASCII).
    #[inline]
    pub fn get_str(&self, field: u8) -> Option<&str> {
        std::str::from_utf8(self.get(field)?).ok()
    }

    /// Value of a field decoded as Latin-1 text.
    pub fn get_string(&self, field: u8) -> Option<String> {
        self.get(field).map(super::encoding::latin1_to_string)
    }

    /// Value of a numeric field as an unsigned integer.
    pub fn get_u64(&self, field: u8) -> Result<Option<u64>, IsoError> {
        let Some(v) = self.get(field) else {
            return Ok(None);
        };
        let bad = || IsoError::BadContent {
            field: FieldPath::field(field.into()),
            offset: None,
            reason: format!("{:?} is not a number", String::from_utf8_lossy(v)),
        };
        if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(Some(
            v.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
        ))
    }

    /// True if the field is present.
    #[inline]
    pub fn has(&self, field: u8) -> bool {
        self.find(field).is_ok()
    }

    /// True if every listed field is present.
    pub fn has_all(&self, fields: &[u8]) -> bool {
        fields.iter().all(|&f| self.has(f))
    }

    /// Set a field's value (bytes as they are meant, before wire encoding). Fields 2..=192.
    pub fn set(&mut self, field: u8, value: impl AsRef<[u8]>) {
        let value = value.as_ref();
        debug_assert!((2..=MAX_FIELD).contains(&field), "field {field}");
        match self.find(field) {
            Ok(i) => {
                let s = &mut self.slots[i];
                if value.len() <= s.len as usize {
                    let start = s.start as usize;
                    self.data[start..start + value.len()].copy_from_slice(value);
                    s.len = value.len() as u32;
                } else {
                    s.start = self.data.len() as u32;
                    s.len = value.len() as u32;
                    self.data.extend_from_slice(value);
                }
            }
            Err(i) => {
                let slot = Slot {
                    field,
                    start: self.data.len() as u32,
                    len: value.len() as u32,
                };
                self.data.extend_from_slice(value);
                self.slots.insert(i, slot);
            }
        }
    }

    /// Builder form of `set`.
    pub fn with(mut self, field: u8, value: impl AsRef<[u8]>) -> Self {
        self.set(field, value);
        self
    }

    /// Append a field known to be larger than every field set so far (used by unpack).
    #[inline]
    pub(crate) fn push_sorted(&mut self, field: u8, start: usize) {
        debug_assert!(self.slots.last().is_none_or(|s| s.field < field));
        self.slots.push(Slot {
            field,
            start: start as u32,
            len: (self.data.len() - start) as u32,
        });
    }

    /// The value arena, for unpack to append decoded bytes into.
    #[inline]
    pub(crate) fn arena(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    /// Remove a field; returns true if it was present.
    pub fn unset(&mut self, field: u8) -> bool {
        match self.find(field) {
            Ok(i) => {
                self.slots.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Present fields in ascending order with their values.
    pub fn fields(&self) -> impl Iterator<Item = (u8, &[u8])> + '_ {
        self.slots.iter().map(move |s| {
            (
                s.field,
                &self.data[s.start as usize..(s.start + s.len) as usize],
            )
        })
    }

    /// Present field numbers in ascending order.
    pub fn field_numbers(&self) -> impl Iterator<Item = u8> + '_ {
        self.slots.iter().map(|s| s.field)
    }

    /// Number of present fields.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True if no field is present.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Highest present field number (0 when empty).
    pub fn max_field(&self) -> u8 {
        self.slots.last().map_or(0, |s| s.field)
    }

    /// A response to this message: response MTI, the listed fields copied, header kept.
    pub fn response_with(&self, echo: &[u8]) -> IsoMsg {
        let mut r = IsoMsg::with_capacity(self.mti.response(), self.data.len());
        r.header = self.header.clone();
        for &f in echo {
            if let Some(v) = self.get(f) {
                r.set(f, v);
            }
        }
        r
    }
}

impl PartialEq for IsoMsg {
    fn eq(&self, other: &Self) -> bool {
        self.mti == other.mti
            && self.header == other.header
            && self.len() == other.len()
            && self.fields().zip(other.fields()).all(|(a, b)| a == b)
    }
}

impl Eq for IsoMsg {}

impl std::fmt::Debug for IsoMsg {
    /// Masked, like `Display`: a `Debug` print must not leak card data either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_replace_unset() {
        let mut m = IsoMsg::with_mti("0200").unwrap();
        m.set(11, "000001");
        m.set(3, "000000");
        m.set(41, "TERM0001");
        assert_eq!(m.field_numbers().collect::<Vec<_>>(), vec![3, 11, 41]);
        m.set(11, "12");
        assert_eq!(m.get_str(11), Some("12"));
        m.set(11, "123456789012");
        assert_eq!(m.get_str(11), Some("123456789012"));
        assert_eq!(m.get_u64(11).unwrap(), Some(123_456_789_012));
        assert!(m.unset(3));
        assert!(!m.has(3));
        assert_eq!(m.max_field(), 41);
    }

    #[test]
    fn response_copies_fields_and_pairs_mti() {
        let m = IsoMsg::with_mti("2100")
            .unwrap()
            .with(11, "000000000001")
            .with(41, "T1");
        let r = m.response_with(&[11, 41, 99]);
        assert_eq!(r.mti().as_str(), "2110");
        assert_eq!(r.get_str(41), Some("T1"));
        assert!(!r.has(99));
    }

    #[test]
    fn get_u64_rejects_text() {
        let m = IsoMsg::with_mti("0200").unwrap().with(4, "12a");
        assert!(m.get_u64(4).is_err());
    }
}
