//! Match keys: which response answers which request.
//!
//! As jPOS QMUX: the MTI's version and class digits plus its function digit folded to the request's
//! (`0200` and `0210` both give `020`, `0420`/`0430` give `042`, so reversals never collide with financial
//! messages), then the values of the key fields. DE 11 is zero-filled to 12 digits for ISO 8583:2003 MTIs
//! (version 2) and 6 otherwise, DE 41 is trimmed, so that a host echoing the value re-padded still matches.

use smallvec::SmallVec;

use crate::iso::IsoMsg;

/// A match key; inline (no allocation) up to 64 bytes.
pub type MatchKey = SmallVec<[u8; 64]>;

/// The default key fields: terminal id and STAN.
pub const DEFAULT_KEY_FIELDS: &[u8] = &[41, 11];

/// Build the key of `msg` over `fields`; `None` when none of the fields is present.
pub fn match_key(msg: &IsoMsg, fields: &[u8]) -> Option<MatchKey> {
    let mti = msg.mti();
    let d = mti.as_bytes();
    let mut key = MatchKey::new();
    // Function digit: request and response share the even digit (0/1 -> 0, 2/3 -> 2 ...).
    let function = b'0' + ((d[2] - b'0') & !1);
    key.extend_from_slice(&[d[0], d[1], function]);
    let mut any = false;
    for &f in fields {
        key.push(b'|');
        let Some(v) = msg.get(f) else {
            continue;
        };
        any = true;
        let v = v.trim_ascii();
        if f == 11 && v.iter().all(u8::is_ascii_digit) {
            let width: usize = if d[0] == b'2' { 12 } else { 6 };
            key.extend(std::iter::repeat_n(b'0', width.saturating_sub(v.len())));
        }
        key.extend_from_slice(v);
    }
    any.then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(mti: &str, fields: &[(u8, &str)]) -> Option<MatchKey> {
        let mut m = IsoMsg::with_mti(mti).unwrap();
        for (f, v) in fields {
            m.set(*f, v);
        }
        match_key(&m, DEFAULT_KEY_FIELDS)
    }

    #[test]
    fn request_and_response_share_a_key() {
        let t = [(41, "TERM0001"), (11, "000123")];
        assert_eq!(key("0200", &t), key("0210", &t));
        assert_eq!(key("0420", &t), key("0430", &t));
        assert_eq!(key("2804", &t), key("2814", &t));
        assert_ne!(key("0200", &t), key("0400", &t));
        assert_ne!(
            key("0400", &t),
            key("0410", &[(41, "TERM0002"), (11, "000123")])
        );
        assert_ne!(key("0210", &t), key("0410", &t));
        assert_ne!(key("0200", &t), key("1200", &t));
    }

    #[test]
    fn stan_and_terminal_are_normalised() {
        assert_eq!(
            key("2100", &[(41, "T1"), (11, "42")]),
            key("2110", &[(41, "T1              "), (11, "000000000042")])
        );
        assert_eq!(key("0200", &[(11, "42")]), key("0210", &[(11, "000042")]));
        assert_eq!(key("0200", &[(3, "000000")]), None);
    }
}
