//! Wire settings shared by the kinds that speak ISO-8583 on TCP (`server`, `channel`, `sim-host`):
//! turning the `framing`, `header`, `max-frame` and `spec` keys into a `Framing` and a `Spec`.

use std::sync::Arc;

use crate::channel::{Framing, Header, LengthPrefix};
use crate::iso::Spec;

use super::component::KindError;

/// Default `header`: none.
pub fn default_header() -> String {
    "none".to_owned()
}

/// Default `max-frame`.
pub fn default_max_frame() -> usize {
    crate::channel::framing::DEFAULT_MAX_FRAME
}

/// Build a framing from `framing` (prefix), `header` (`none`, `tpdu` or hex bytes) and `max-frame`.
pub fn framing(prefix: LengthPrefix, header: &str, max_frame: usize) -> Result<Framing, KindError> {
    let header = match header {
        "none" | "" => Header::None,
        "tpdu" => Header::Tpdu,
        hexed => Header::Fixed(
            hex::decode(hexed)
                .map_err(|_| {
                    KindError::new(
                        "header",
                        format!("{hexed:?}: expected none, tpdu or hex bytes"),
                    )
                })?
                .into(),
        ),
    };
    if max_frame == 0 {
        return Err(KindError::new("max-frame", "must be at least 1"));
    }
    Ok(Framing::new(prefix)
        .with_header(header)
        .with_max_frame(max_frame))
}

/// Load `spec` (a built-in name or a YAML path).
pub fn spec(name: &str) -> Result<Arc<Spec>, KindError> {
    Spec::load(name).map_err(|e| {
        KindError::new(
            "spec",
            format!("{e} (built-in: cmf, iso87ascii, iso87binary, iso93ascii, iso93binary, smartvista, or a path)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_spec_errors_name_their_key() {
        assert!(framing(LengthPrefix::Binary2, "tpdu", 100).is_ok());
        assert!(framing(LengthPrefix::Binary2, "6000", 100).is_ok());
        assert_eq!(
            framing(LengthPrefix::Binary2, "zz", 100)
                .err()
                .map(|e| e.key),
            Some("header".into())
        );
        assert_eq!(spec("nope").err().map(|e| e.key), Some("spec".into()));
        assert!(spec("cmf").is_ok());
    }
}
