//! `Layer`: an ISO 4217 currency numeric plus an offset, e.g. 840 (USD accounting), 1840 (USD pending).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::LedgerError;

/// A ledger layer: `offset + currency`, stored as `smallint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i16")]
pub struct Layer(i16);

impl Layer {
    /// Offset of the accounting layer (settled money).
    pub const ACCOUNTING: i16 = 0;
    /// Offset of the pending layer (authorizations and holds).
    pub const PENDING: i16 = 1000;
    /// Offset of the credit-line layer (single-entry memo in jCard's chart).
    pub const CREDIT: i16 = 2000;

    /// The layer for `currency` (ISO 4217 numeric, 1..=999) at `offset` (a non-negative multiple of 1000).
    pub fn new(currency: u16, offset: i16) -> Result<Layer, LedgerError> {
        if currency == 0 || currency > 999 {
            return Err(LedgerError::invalid(
                "layer",
                format!("currency {currency} is not an ISO 4217 numeric code (1..=999)"),
            ));
        }
        if offset < 0 || offset % 1000 != 0 {
            return Err(LedgerError::invalid(
                "layer",
                format!("offset {offset} is not a non-negative multiple of 1000"),
            ));
        }
        let id = i32::from(offset) + i32::from(currency);
        i16::try_from(id)
            .map(Layer)
            .map_err(|_| LedgerError::invalid("layer", format!("{id} does not fit a smallint")))
    }

    /// The accounting layer of `currency` (e.g. 840).
    pub fn accounting(currency: u16) -> Result<Layer, LedgerError> {
        Layer::new(currency, Layer::ACCOUNTING)
    }

    /// The pending layer of `currency` (e.g. 1840).
    pub fn pending(currency: u16) -> Result<Layer, LedgerError> {
        Layer::new(currency, Layer::PENDING)
    }

    /// The credit-line layer of `currency` (e.g. 2840).
    pub fn credit(currency: u16) -> Result<Layer, LedgerError> {
        Layer::new(currency, Layer::CREDIT)
    }

    /// A layer from its stored number; must be non-negative.
    pub fn from_id(id: i16) -> Result<Layer, LedgerError> {
        if id < 0 {
            return Err(LedgerError::invalid("layer", format!("{id} is negative")));
        }
        Ok(Layer(id))
    }

    /// The stored number (`smallint`).
    pub fn id(self) -> i16 {
        self.0
    }

    /// The ISO 4217 numeric currency code.
    pub fn currency(self) -> u16 {
        (self.0 % 1000) as u16
    }

    /// The offset (0 accounting, 1000 pending, 2000 credit, ...).
    pub fn offset(self) -> i16 {
        self.0 - self.0 % 1000
    }

    /// The layers of an account's *available* balance: accounting + pending, plus credit line if asked.
    pub fn available(currency: u16, with_credit_line: bool) -> Result<Vec<Layer>, LedgerError> {
        let mut layers = vec![Layer::accounting(currency)?, Layer::pending(currency)?];
        if with_credit_line {
            layers.push(Layer::credit(currency)?);
        }
        Ok(layers)
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Layer {
    type Err = LedgerError;
    fn from_str(s: &str) -> Result<Layer, LedgerError> {
        let id: i16 = s.trim().parse().map_err(|_| {
            LedgerError::invalid("layer", format!("{s:?} is not a number 0..=32767"))
        })?;
        Layer::from_id(id)
    }
}

impl TryFrom<i64> for Layer {
    type Error = LedgerError;
    fn try_from(v: i64) -> Result<Layer, LedgerError> {
        let id = i16::try_from(v)
            .map_err(|_| LedgerError::invalid("layer", format!("{v} does not fit a smallint")))?;
        Layer::from_id(id)
    }
}

impl From<Layer> for i16 {
    fn from(l: Layer) -> i16 {
        l.0
    }
}

/// Parse a comma-separated layer list such as `840,1840`; duplicates are dropped, order kept.
pub fn parse_layers(s: &str) -> Result<Vec<Layer>, LedgerError> {
    let mut out: Vec<Layer> = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let layer: Layer = part.parse()?;
        if !out.contains(&layer) {
            out.push(layer);
        }
    }
    if out.is_empty() {
        return Err(LedgerError::invalid(
            "layers",
            format!("{s:?} names no layer"),
        ));
    }
    Ok(out)
}

/// The layers as the `smallint[]` the SQL binds.
pub(crate) fn layer_ids(layers: &[Layer]) -> Vec<i16> {
    layers.iter().map(|l| l.id()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jcard_layers() {
        assert_eq!(Layer::accounting(840).map(Layer::id).ok(), Some(840));
        assert_eq!(Layer::pending(840).map(Layer::id).ok(), Some(1840));
        assert_eq!(Layer::credit(840).map(Layer::id).ok(), Some(2840));
        let pending = Layer::from_id(1840).ok();
        assert_eq!(pending.map(Layer::currency), Some(840));
        assert_eq!(pending.map(Layer::offset), Some(1000));
    }

    #[test]
    fn rejects_bad_layers() {
        assert!(Layer::new(0, 0).is_err());
        assert!(Layer::new(840, 500).is_err());
        assert!(Layer::new(840, 32000).is_err());
        assert!("-1".parse::<Layer>().is_err());
        assert!(parse_layers(" , ").is_err());
    }

    #[test]
    fn parses_lists() {
        let ls = parse_layers("840, 1840,840").ok().map(|v| layer_ids(&v));
        assert_eq!(ls, Some(vec![840, 1840]));
    }
}
