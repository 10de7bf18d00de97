//! Amounts as exact decimals with ISO 4217 exponents; the CMF amount layout (currency, exponent, 12 digits).

use std::fmt;

use rust_decimal::Decimal;

use super::error::{FieldPath, IsoError};
use super::msg::IsoMsg;

/// ISO 4217 numeric code, alphabetic code and minor-unit exponent of the currencies we know.
const CURRENCIES: &[(u16, &str, u32)] = &[
    (8, "ALL", 2),
    (12, "DZD", 2),
    (32, "ARS", 2),
    (36, "AUD", 2),
    (44, "BSD", 2),
    (48, "BHD", 3),
    (50, "BDT", 2),
    (51, "AMD", 2),
    (52, "BBD", 2),
    (60, "BMD", 2),
    (64, "BTN", 2),
    (68, "BOB", 2),
    (72, "BWP", 2),
    (84, "BZD", 2),
    (90, "SBD", 2),
    (96, "BND", 2),
    (104, "MMK", 2),
    (108, "BIF", 0),
    (116, "KHR", 2),
    (124, "CAD", 2),
    (132, "CVE", 2),
    (136, "KYD", 2),
    (144, "LKR", 2),
    (152, "CLP", 0),
    (156, "CNY", 2),
    (170, "COP", 2),
    (174, "KMF", 0),
    (188, "CRC", 2),
    (191, "HRK", 2),
    (192, "CUP", 2),
    (203, "CZK", 2),
    (208, "DKK", 2),
    (214, "DOP", 2),
    (222, "SVC", 2),
    (230, "ETB", 2),
    (232, "ERN", 2),
    (238, "FKP", 2),
    (242, "FJD", 2),
    (262, "DJF", 0),
    (270, "GMD", 2),
    (292, "GIP", 2),
    (320, "GTQ", 2),
    (324, "GNF", 0),
    (328, "GYD", 2),
    (332, "HTG", 2),
    (340, "HNL", 2),
    (344, "HKD", 2),
    (348, "HUF", 2),
    (352, "ISK", 0),
    (356, "INR", 2),
    (360, "IDR", 2),
    (364, "IRR", 2),
    (368, "IQD", 3),
    (376, "ILS", 2),
    (388, "JMD", 2),
    (392, "JPY", 0),
    (398, "KZT", 2),
    (400, "JOD", 3),
    (404, "KES", 2),
    (408, "KPW", 2),
    (410, "KRW", 0),
    (414, "KWD", 3),
    (417, "KGS", 2),
    (418, "LAK", 2),
    (422, "LBP", 2),
    (426, "LSL", 2),
    (430, "LRD", 2),
    (434, "LYD", 3),
    (446, "MOP", 2),
    (454, "MWK", 2),
    (458, "MYR", 2),
    (462, "MVR", 2),
    (480, "MUR", 2),
    (484, "MXN", 2),
    (496, "MNT", 2),
    (498, "MDL", 2),
    (504, "MAD", 2),
    (512, "OMR", 3),
    (516, "NAD", 2),
    (524, "NPR", 2),
    (532, "ANG", 2),
    (533, "AWG", 2),
    (548, "VUV", 0),
    (554, "NZD", 2),
    (558, "NIO", 2),
    (566, "NGN", 2),
    (578, "NOK", 2),
    (586, "PKR", 2),
    (590, "PAB", 2),
    (598, "PGK", 2),
    (600, "PYG", 0),
    (604, "PEN", 2),
    (608, "PHP", 2),
    (634, "QAR", 2),
    (643, "RUB", 2),
    (646, "RWF", 0),
    (654, "SHP", 2),
    (682, "SAR", 2),
    (690, "SCR", 2),
    (694, "SLL", 2),
    (702, "SGD", 2),
    (704, "VND", 0),
    (706, "SOS", 2),
    (710, "ZAR", 2),
    (728, "SSP", 2),
    (748, "SZL", 2),
    (752, "SEK", 2),
    (756, "CHF", 2),
    (760, "SYP", 2),
    (764, "THB", 2),
    (776, "TOP", 2),
    (780, "TTD", 2),
    (784, "AED", 2),
    (788, "TND", 3),
    (800, "UGX", 0),
    (807, "MKD", 2),
    (818, "EGP", 2),
    (826, "GBP", 2),
    (834, "TZS", 2),
    (840, "USD", 2),
    (858, "UYU", 2),
    (860, "UZS", 2),
    (882, "WST", 2),
    (886, "YER", 2),
    (901, "TWD", 2),
    (925, "SLE", 2),
    (928, "VES", 2),
    (929, "MRU", 2),
    (930, "STN", 2),
    (933, "BYN", 2),
    (934, "TMT", 2),
    (936, "GHS", 2),
    (938, "SDG", 2),
    (940, "UYI", 0),
    (941, "RSD", 2),
    (943, "MZN", 2),
    (944, "AZN", 2),
    (946, "RON", 2),
    (949, "TRY", 2),
    (950, "XAF", 0),
    (951, "XCD", 2),
    (952, "XOF", 0),
    (953, "XPF", 0),
    (967, "ZMW", 2),
    (968, "SRD", 2),
    (969, "MGA", 2),
    (971, "AFN", 2),
    (972, "TJS", 2),
    (973, "AOA", 2),
    (975, "BGN", 2),
    (976, "CDF", 2),
    (977, "BAM", 2),
    (978, "EUR", 2),
    (980, "UAH", 2),
    (981, "GEL", 2),
    (985, "PLN", 2),
    (986, "BRL", 2),
    (990, "CLF", 4),
];

/// An ISO 4217 currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    /// Numeric code (840).
    pub code: u16,
    /// Alphabetic code (`USD`).
    pub alpha: &'static str,
    /// Minor-unit exponent (2).
    pub exponent: u32,
}

impl Currency {
    /// Look a currency up by numeric code.
    pub fn from_code(code: u16) -> Option<Currency> {
        CURRENCIES
            .binary_search_by_key(&code, |c| c.0)
            .ok()
            .map(|i| Currency {
                code,
                alpha: CURRENCIES[i].1,
                exponent: CURRENCIES[i].2,
            })
    }

    /// Look a currency up by alphabetic code.
    pub fn from_alpha(alpha: &str) -> Option<Currency> {
        CURRENCIES
            .iter()
            .find(|c| c.1.eq_ignore_ascii_case(alpha))
            .map(|c| Currency {
                code: c.0,
                alpha: c.1,
                exponent: c.2,
            })
    }
}

/// An exact amount in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    /// The currency.
    pub currency: Currency,
    /// The value in major units (`100.00`).
    pub value: Decimal,
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency.alpha, self.value)
    }
}

fn digits_to_u64(d: &[u8]) -> Option<u64> {
    if d.is_empty() || d.len() > 18 || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(d.iter().fold(0u64, |n, c| n * 10 + u64::from(c - b'0')))
}

impl Amount {
    /// The amount in minor units with `exponent` decimals, as `digits` zero-filled digits.
    fn minor_digits(&self, exponent: u32, digits: usize, field: u8) -> Result<String, IsoError> {
        let bad = |reason: String| IsoError::BadAmount {
            field: FieldPath::field(field.into()),
            reason,
        };
        if self.value.is_sign_negative() {
            return Err(bad(format!("{} is negative", self.value)));
        }
        let scaled = self.value * Decimal::from(10u64.pow(exponent));
        if scaled.fract() != Decimal::ZERO {
            return Err(bad(format!(
                "{} has more than {exponent} decimals",
                self.value
            )));
        }
        let s = scaled.trunc().normalize().to_string();
        if s.len() > digits {
            return Err(bad(format!("{} does not fit {digits} digits", self.value)));
        }
        Ok(format!("{s:0>digits$}"))
    }
}

impl IsoMsg {
    /// A CMF amount field (ISO 8583:2003: currency n3 + exponent n1 + amount n12, e.g. DE 4).
    pub fn amount_2003(&self, field: u8) -> Result<Option<Amount>, IsoError> {
        let Some(v) = self.get(field) else {
            return Ok(None);
        };
        let bad = |reason: &str| IsoError::BadAmount {
            field: FieldPath::field(field.into()),
            reason: reason.to_owned(),
        };
        if v.len() != 16 {
            return Err(bad(
                "expected 16 digits: currency, exponent, 12-digit amount",
            ));
        }
        let code = digits_to_u64(&v[..3]).ok_or_else(|| bad("currency is not numeric"))? as u16;
        let exponent =
            digits_to_u64(&v[3..4]).ok_or_else(|| bad("exponent is not a digit"))? as u32;
        let minor = digits_to_u64(&v[4..]).ok_or_else(|| bad("amount is not numeric"))?;
        let currency = Currency::from_code(code).ok_or_else(|| bad("unknown ISO 4217 currency"))?;
        Ok(Some(Amount {
            currency,
            value: Decimal::from_i128_with_scale(i128::from(minor), exponent),
        }))
    }

    /// Set a CMF amount field using the currency's own exponent.
    pub fn set_amount_2003(&mut self, field: u8, amount: &Amount) -> Result<(), IsoError> {
        let digits = amount.minor_digits(amount.currency.exponent, 12, field)?;
        let v = format!(
            "{:03}{}{digits}",
            amount.currency.code, amount.currency.exponent
        );
        self.set(field, v);
        Ok(())
    }

    /// An ISO 87/93 amount field (minor units, no currency inside) in `currency`.
    pub fn amount_in(&self, field: u8, currency: Currency) -> Result<Option<Amount>, IsoError> {
        let Some(v) = self.get(field) else {
            return Ok(None);
        };
        let minor = digits_to_u64(v).ok_or_else(|| IsoError::BadAmount {
            field: FieldPath::field(field.into()),
            reason: format!("{:?} is not a number", String::from_utf8_lossy(v)),
        })?;
        Ok(Some(Amount {
            currency,
            value: Decimal::from_i128_with_scale(i128::from(minor), currency.exponent),
        }))
    }

    /// Set an ISO 87/93 amount field as `digits` digits of minor units.
    pub fn set_amount_in(
        &mut self,
        field: u8,
        amount: &Amount,
        digits: usize,
    ) -> Result<(), IsoError> {
        let v = amount.minor_digits(amount.currency.exponent, digits, field)?;
        self.set(field, v);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn currency_table_is_sorted_and_exponents_known() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(Currency::from_code(840).unwrap().alpha, "USD");
        assert_eq!(Currency::from_code(392).unwrap().exponent, 0);
        assert_eq!(Currency::from_code(48).unwrap().exponent, 3);
        assert_eq!(Currency::from_alpha("eur").unwrap().code, 978);
        assert!(Currency::from_code(999).is_none());
    }

    #[test]
    fn cmf_amount_round_trip() {
        let mut m = IsoMsg::with_mti("2100")
            .unwrap()
            .with(4, "8402000000010000");
        let a = m.amount_2003(4).unwrap().unwrap();
        assert_eq!(a.value, dec!(100.00));
        assert_eq!(a.currency.alpha, "USD");
        m.set_amount_2003(
            4,
            &Amount {
                value: dec!(95.51),
                ..a
            },
        )
        .unwrap();
        assert_eq!(m.get_str(4), Some("8402000000009551"));
        let too_fine = Amount {
            value: dec!(1.001),
            ..a
        };
        assert!(m.set_amount_2003(4, &too_fine).is_err());
    }

    #[test]
    fn iso87_amount_uses_currency_exponent() {
        let usd = Currency::from_code(840).unwrap();
        let jpy = Currency::from_code(392).unwrap();
        let m = IsoMsg::with_mti("0200").unwrap().with(4, "000000010000");
        assert_eq!(m.amount_in(4, usd).unwrap().unwrap().value, dec!(100.00));
        assert_eq!(m.amount_in(4, jpy).unwrap().unwrap().value, dec!(10000));
        let mut m2 = IsoMsg::with_mti("0200").unwrap();
        m2.set_amount_in(
            4,
            &Amount {
                currency: usd,
                value: dec!(12.5),
            },
            12,
        )
        .unwrap();
        assert_eq!(m2.get_str(4), Some("000000001250"));
    }
}
