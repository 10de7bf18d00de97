//! Masked rendering of messages for logs and dumps: PAN 6+4, track data with the PAN masked and the rest
//! wiped, secrets (PIN block, track 1, CVD, EMV card tags) wiped. The unmasked value never leaves here.

use std::fmt::{self, Write as _};

use super::encoding::{hex_string, latin1_to_string};
use super::msg::IsoMsg;
use super::spec::{Class, FieldSpec, Spec};
use super::tlv;

/// What to mask or wipe when rendering a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskPolicy {
    /// Fields holding a PAN: first 6 and last 4 digits shown.
    pub pan: Vec<u8>,
    /// Fields holding track-2-like data: PAN masked, everything after the separator wiped.
    pub track: Vec<u8>,
    /// Fields wiped entirely.
    pub wipe: Vec<u8>,
    /// Subfields of composites wiped entirely (`(49, 2)` = CMF CVD).
    pub wipe_subfields: Vec<(u8, u16)>,
    /// EMV tags whose values are masked like a PAN or track (`5A`, `57`, `9F6B`).
    pub emv_tags: Vec<u32>,
}

impl Default for MaskPolicy {
    fn default() -> Self {
        MaskPolicy {
            pan: vec![2],
            track: vec![35],
            wipe: vec![36, 45, 52],
            wipe_subfields: vec![(49, 2)],
            emv_tags: vec![0x57, 0x5A, 0x9F6B],
        }
    }
}

const WIPED: &str = "[WIPED]";

/// Mask a PAN: first 6 and last 4 shown when it is long enough, otherwise only the last 4.
pub fn mask_pan(pan: &str) -> String {
    let n = pan.chars().count();
    let keep = |i: usize| {
        if n > 10 {
            i < 6 || i >= n - 4
        } else {
            n > 4 && i >= n - 4
        }
    };
    pan.chars()
        .enumerate()
        .map(|(i, c)| if keep(i) { c } else { '*' })
        .collect()
}

/// Mask track-2 data: the PAN masked, the separator kept, everything after it wiped.
pub fn mask_track(track: &str) -> String {
    match track.find(['=', 'D', 'd', '^']) {
        Some(i) => {
            let mut s = mask_pan(&track[..i]);
            s.push_str(&track[i..i + 1]);
            s.extend(std::iter::repeat_n('*', track.len() - i - 1));
            s
        }
        None => mask_pan(track),
    }
}

fn printable(v: &[u8]) -> bool {
    v.iter().all(|&b| (0x20..0x7F).contains(&b) || b >= 0xA0)
}

impl MaskPolicy {
    /// The masked text of one field's value; `spec` (when known) tells text from bytes and composites.
    pub fn render_field(&self, spec: Option<&Spec>, field: u8, value: &[u8]) -> String {
        let def = spec.and_then(|s| s.field(field));
        if self.wipe.contains(&field) {
            return WIPED.into();
        }
        if self.pan.contains(&field) {
            return mask_pan(&latin1_to_string(value));
        }
        if self.track.contains(&field) {
            return mask_track(&latin1_to_string(value));
        }
        if let (Some(spec), Some(d)) = (spec, def) {
            if d.subfields.is_some() {
                return match spec.unpack_composite(field, value) {
                    Ok(subs) => {
                        let parts: Vec<String> = subs
                            .iter()
                            .map(|(n, v)| {
                                format!("{field}.{n}={}", self.render_sub(field, d, *n, v))
                            })
                            .collect();
                        format!("{{{}}}", parts.join(" "))
                    }
                    Err(_) => format!("[{} unparsable bytes]", value.len()),
                };
            }
        }
        let is_tlv = def.map_or(field == 55, |d| d.tlv);
        if is_tlv {
            if let Ok(tags) = tlv::parse(value) {
                let parts: Vec<String> = tags
                    .iter()
                    .map(|t| format!("{}:{}", t.tag_hex(), self.render_tag(t)))
                    .collect();
                return format!("[{}]", parts.join(" "));
            }
            return format!("[{} bytes, not TLV]", value.len());
        }
        let text = match def {
            Some(d) => d.class.is_text(),
            None => printable(value),
        };
        if text {
            latin1_to_string(value)
        } else {
            hex_string(value)
        }
    }

    fn render_sub(&self, field: u8, def: &FieldSpec, n: u16, v: &[u8]) -> String {
        if self.wipe_subfields.contains(&(field, n)) {
            return WIPED.into();
        }
        let class = def
            .subfields
            .as_ref()
            .and_then(|s| s.fields.get(&n))
            .map_or(Class::B, |d| d.class);
        if class.is_text() {
            latin1_to_string(v)
        } else {
            hex_string(v)
        }
    }

    fn render_tag(&self, t: &tlv::Tlv) -> String {
        if self.emv_tags.contains(&t.tag) {
            let digits = hex_string(&t.value);
            let digits = digits.trim_end_matches('F');
            mask_track(digits)
        } else {
            hex_string(&t.value)
        }
    }

    /// One line: MTI then `field=value` pairs, masked.
    pub fn render_line(&self, spec: Option<&Spec>, msg: &IsoMsg) -> String {
        let mut s = String::with_capacity(128);
        s.push_str(msg.mti().as_str());
        for (f, v) in msg.fields() {
            let _ = write!(s, " {f}={}", self.render_field(spec, f, v));
        }
        s
    }

    /// Several lines: MTI, then one line per field with its name from the spec, masked.
    pub fn dump(&self, spec: &Spec, msg: &IsoMsg) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:>6}  {:<44} {}",
            "MTI",
            "Message type indicator",
            msg.mti()
        );
        for (f, v) in msg.fields() {
            let def = spec.field(f);
            let name = def.map_or("(not in spec)", |d| d.name.as_str());
            match def.and_then(|d| d.subfields.as_ref().map(|_| d)) {
                Some(d) => {
                    let _ = writeln!(s, "{f:>6}  {name:<44} ({} bytes)", v.len());
                    match spec.unpack_composite(f, v) {
                        Ok(subs) => {
                            for (n, sv) in subs {
                                let sub_name = d
                                    .subfields
                                    .as_ref()
                                    .and_then(|x| x.fields.get(&n))
                                    .map_or("", |x| x.name.as_str());
                                let _ = writeln!(
                                    s,
                                    "{:>6}  {:<44} {}",
                                    format!("{f}.{n}"),
                                    sub_name,
                                    self.render_sub(f, d, n, &sv)
                                );
                            }
                        }
                        Err(e) => {
                            let _ = writeln!(s, "{:>6}  error: {e}", "");
                        }
                    }
                }
                None => {
                    let _ = writeln!(
                        s,
                        "{f:>6}  {name:<44} {}",
                        self.render_field(Some(spec), f, v)
                    );
                }
            }
        }
        s
    }
}

impl fmt::Display for IsoMsg {
    /// One masked line with the default policy (no spec: bytes that are not printable show as hex).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&MaskPolicy::default().render_line(None, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pan_and_track_masking() {
        assert_eq!(mask_pan("4111111111111111"), "411111******1111");
        assert_eq!(mask_pan("5018000000000000122"), "501800*********0122");
        assert_eq!(mask_pan("12345678"), "****5678");
        assert_eq!(
            mask_track("4111111111111111=28121011234567890"),
            "411111******1111=*****************"
        );
    }

    #[test]
    fn display_never_shows_secrets() {
        let m = IsoMsg::with_mti("0200")
            .unwrap()
            .with(2, "4111111111111111")
            .with(35, "4111111111111111=28121011234567890")
            .with(45, "B4111111111111111^DOE/JOHN^2812101")
            .with(52, [0x12u8, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0])
            .with(
                55,
                [0x5Au8, 0x08, 0x41, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11],
            );
        let line = m.to_string();
        assert!(!line.contains("4111111111111111"), "{line}");
        assert!(!line.contains("DOE/JOHN"), "{line}");
        assert!(!line.contains("123456789ABCDEF0"), "{line}");
        assert!(!line.contains("2812101"), "{line}");
        assert!(line.contains("2=411111******1111"), "{line}");
        assert!(line.contains("5A:411111******1111"), "{line}");
        assert_eq!(format!("{m:?}"), line);
    }
}
