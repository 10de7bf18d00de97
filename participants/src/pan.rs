//! PAN protection: cards are found by a keyed HMAC-SHA256 of the PAN; only a token and the last four
//! digits are stored beside the hash, and logs see the PAN masked (first 6 + last 4).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The secret key for PAN hashes (from the deploy configuration or `SWITCHYARD_PAN_KEY`).
#[derive(Clone)]
pub struct PanKey(Vec<u8>);

impl std::fmt::Debug for PanKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PanKey(..)")
    }
}

impl PanKey {
    /// A key from raw bytes.
    pub fn new(key: impl Into<Vec<u8>>) -> PanKey {
        PanKey(key.into())
    }

    /// True for an empty key (not usable).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The hex HMAC-SHA256 of `pan` under this key.
    pub fn hash(&self, pan: &str) -> String {
        // HMAC takes keys of any length; an empty key still yields a (weak) MAC rather than a panic.
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        mac.update(pan.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// True if `pan` is 12..=19 digits with a valid Luhn check digit.
pub fn luhn_ok(pan: &str) -> bool {
    if !(12..=19).contains(&pan.len()) || !pan.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = pan
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// `pan` masked for display: first 6, `*`s, last 4.
pub fn mask(pan: &str) -> String {
    if pan.len() < 11 {
        return "*".repeat(pan.len());
    }
    let (head, rest) = pan.split_at(6);
    let tail = &rest[rest.len() - 4..];
    format!("{head}{}{tail}", "*".repeat(rest.len() - 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_keyed_and_stable() {
        let a = PanKey::new(b"k1".to_vec());
        let b = PanKey::new(b"k2".to_vec());
        assert_eq!(a.hash("4111111111111111"), a.hash("4111111111111111"));
        assert_ne!(a.hash("4111111111111111"), b.hash("4111111111111111"));
        assert_eq!(a.hash("4111111111111111").len(), 64);
        assert!(!a.hash("4111111111111111").contains("4111111111111111"));
    }

    #[test]
    fn luhn_and_mask() {
        assert!(luhn_ok("4111111111111111"));
        assert!(!luhn_ok("4111111111111112"));
        assert!(!luhn_ok("41111"));
        assert_eq!(mask("4111111111111111"), "411111******1111");
    }
}
