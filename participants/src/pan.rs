//! PAN protection: cards are found by a keyed HMAC-SHA256 of the PAN; only a token and the last four
//! digits are stored beside the hash, and logs see the PAN masked (first 6 + last 4).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Where `PanKey::resolve` keeps a generated key, under the var directory.
pub const KEY_FILE: &str = "pan.key";

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

    /// The key from `env_value` (normally `SWITCHYARD_PAN_KEY`) when it is set and non-empty; else
    /// the key kept in `var/pan.key`, created with 32 random bytes (mode 0600) on first use, so that
    /// `switchyard run` and `switchyard fixtures load` started from the same directory agree without
    /// a well-known default key.
    pub fn resolve(env_value: Option<String>, var: &Path) -> std::io::Result<PanKey> {
        if let Some(k) = env_value.filter(|k| !k.is_empty()) {
            return Ok(PanKey::new(k.into_bytes()));
        }
        let path = var.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim()).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: not a hex key: {e}", path.display()),
                    )
                })?;
                Ok(PanKey::new(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(var)?;
                let mut key = Vec::with_capacity(32);
                key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                let mut f = match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                {
                    Ok(f) => f,
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return Self::resolve(None, var)
                    }
                    Err(e) => return Err(e),
                };
                f.write_all(hex::encode(&key).as_bytes())?;
                Ok(PanKey::new(key))
            }
            Err(e) => Err(e),
        }
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
    fn resolve_prefers_the_environment_then_one_generated_file_key() {
        let var = tempfile::tempdir().expect("tempdir");
        let env = PanKey::resolve(Some("secret".into()), var.path()).expect("env key");
        assert_eq!(
            env.hash("4111111111111111"),
            PanKey::new("secret").hash("4111111111111111")
        );
        assert!(
            !var.path().join(KEY_FILE).exists(),
            "an env key writes no file"
        );
        let first = PanKey::resolve(None, var.path()).expect("generated");
        let again = PanKey::resolve(Some(String::new()), var.path()).expect("read back");
        assert_eq!(
            first.hash("4111111111111111"),
            again.hash("4111111111111111")
        );
        assert_ne!(first.hash("4111111111111111"), env.hash("4111111111111111"));
        let mode = std::fs::metadata(var.path().join(KEY_FILE))
            .expect("file")
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        let other = tempfile::tempdir().expect("tempdir");
        let fresh = PanKey::resolve(None, other.path()).expect("another var");
        assert_ne!(
            fresh.hash("4111111111111111"),
            first.hash("4111111111111111")
        );
    }

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
