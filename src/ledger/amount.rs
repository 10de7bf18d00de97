//! `Amount`: an exact decimal money amount (never a float), serialized as a decimal string.

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::error::LedgerError;

/// An exact amount of money in a layer's currency; may be negative as a balance, positive as an entry.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Amount(pub Decimal);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    /// The underlying decimal.
    pub fn value(self) -> Decimal {
        self.0
    }

    /// True if strictly greater than zero (what an entry's amount must be).
    pub fn is_positive(self) -> bool {
        self.0 > Decimal::ZERO
    }

    /// The amount with trailing fractional zeros removed (`10.500` → `10.5`).
    pub fn normalize(self) -> Amount {
        Amount(self.0.normalize())
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Amount {
    type Err = LedgerError;
    fn from_str(s: &str) -> Result<Amount, LedgerError> {
        Decimal::from_str_exact(s.trim())
            .map(Amount)
            .map_err(|e| LedgerError::invalid("amount", format!("{s:?}: {e}")))
    }
}

impl From<Decimal> for Amount {
    fn from(d: Decimal) -> Amount {
        Amount(d)
    }
}

impl From<i64> for Amount {
    fn from(v: i64) -> Amount {
        Amount(Decimal::from(v))
    }
}

impl Add for Amount {
    type Output = Amount;
    fn add(self, o: Amount) -> Amount {
        Amount(self.0 + o.0)
    }
}

impl AddAssign for Amount {
    fn add_assign(&mut self, o: Amount) {
        self.0 += o.0;
    }
}

impl Sub for Amount {
    type Output = Amount;
    fn sub(self, o: Amount) -> Amount {
        Amount(self.0 - o.0)
    }
}

impl Neg for Amount {
    type Output = Amount;
    fn neg(self) -> Amount {
        Amount(-self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_arithmetic() {
        let a: Amount = "0.1".parse().unwrap_or_default();
        let b: Amount = "0.2".parse().unwrap_or_default();
        assert_eq!((a + b).to_string(), "0.3");
        assert!("1e3x".parse::<Amount>().is_err());
        assert!(!Amount::ZERO.is_positive());
        assert_eq!(
            serde_json::to_string(&(a + b)).ok().as_deref(),
            Some("\"0.3\"")
        );
    }
}
