//! The Message Type Indicator: four digits naming version, class, function and origin.

use std::fmt;
use std::str::FromStr;

use super::error::IsoError;

/// ISO 8583 version (first MTI digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MtiVersion {
    /// `0`: ISO 8583:1987.
    Iso1987,
    /// `1`: ISO 8583:1993.
    Iso1993,
    /// `2`: ISO 8583:2003 (jPOS CMF).
    Iso2003,
    /// `3`-`7`: reserved by ISO.
    Reserved(u8),
    /// `8`: national use.
    National,
    /// `9`: private use.
    Private,
}

/// Message class (second MTI digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MtiClass {
    /// `x1xx` authorization.
    Authorization,
    /// `x2xx` financial presentment.
    Financial,
    /// `x3xx` file action.
    FileAction,
    /// `x4xx` reversal or chargeback.
    Reversal,
    /// `x5xx` reconciliation / settlement.
    Reconciliation,
    /// `x6xx` administrative.
    Administrative,
    /// `x7xx` fee collection.
    FeeCollection,
    /// `x8xx` network management.
    NetworkManagement,
    /// `x0xx` / `x9xx`: reserved.
    Reserved(u8),
}

/// Message function (third MTI digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MtiFunction {
    /// `xx0x` request.
    Request,
    /// `xx1x` request response.
    RequestResponse,
    /// `xx2x` advice.
    Advice,
    /// `xx3x` advice response.
    AdviceResponse,
    /// `xx4x` notification.
    Notification,
    /// `xx5x` notification acknowledgement.
    NotificationAck,
    /// `xx6x` instruction.
    Instruction,
    /// `xx7x` instruction acknowledgement.
    InstructionAck,
    /// `xx8x` / `xx9x`: reserved.
    Reserved(u8),
}

/// Message origin (fourth MTI digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MtiOrigin {
    /// `xxx0` acquirer.
    Acquirer,
    /// `xxx1` acquirer repeat.
    AcquirerRepeat,
    /// `xxx2` issuer.
    Issuer,
    /// `xxx3` issuer repeat.
    IssuerRepeat,
    /// `xxx4` other.
    Other,
    /// `xxx5` other repeat.
    OtherRepeat,
    /// `xxx6`-`xxx9`: reserved.
    Reserved(u8),
}

/// A four-digit MTI, stored as its ASCII digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mti([u8; 4]);

impl Mti {
    /// Build from four ASCII digits.
    pub fn from_digits(d: [u8; 4]) -> Result<Self, IsoError> {
        if d.iter().all(u8::is_ascii_digit) {
            Ok(Mti(d))
        } else {
            Err(IsoError::BadMti(String::from_utf8_lossy(&d).into_owned()))
        }
    }

    /// The four ASCII digits.
    #[inline]
    pub fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }

    /// The MTI as a `&str` (always four ASCII digits).
    #[inline]
    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII digits.
        std::str::from_utf8(&self.0).unwrap_or("????")
    }

    fn digit(&self, i: usize) -> u8 {
        self.0[i] - b'0'
    }

    /// Version digit.
    pub fn version(&self) -> MtiVersion {
        match self.digit(0) {
            0 => MtiVersion::Iso1987,
            1 => MtiVersion::Iso1993,
            2 => MtiVersion::Iso2003,
            8 => MtiVersion::National,
            9 => MtiVersion::Private,
            d => MtiVersion::Reserved(d),
        }
    }

    /// Class digit.
    pub fn class(&self) -> MtiClass {
        match self.digit(1) {
            1 => MtiClass::Authorization,
            2 => MtiClass::Financial,
            3 => MtiClass::FileAction,
            4 => MtiClass::Reversal,
            5 => MtiClass::Reconciliation,
            6 => MtiClass::Administrative,
            7 => MtiClass::FeeCollection,
            8 => MtiClass::NetworkManagement,
            d => MtiClass::Reserved(d),
        }
    }

    /// Function digit.
    pub fn function(&self) -> MtiFunction {
        match self.digit(2) {
            0 => MtiFunction::Request,
            1 => MtiFunction::RequestResponse,
            2 => MtiFunction::Advice,
            3 => MtiFunction::AdviceResponse,
            4 => MtiFunction::Notification,
            5 => MtiFunction::NotificationAck,
            6 => MtiFunction::Instruction,
            7 => MtiFunction::InstructionAck,
            d => MtiFunction::Reserved(d),
        }
    }

    /// Origin digit.
    pub fn origin(&self) -> MtiOrigin {
        match self.digit(3) {
            0 => MtiOrigin::Acquirer,
            1 => MtiOrigin::AcquirerRepeat,
            2 => MtiOrigin::Issuer,
            3 => MtiOrigin::IssuerRepeat,
            4 => MtiOrigin::Other,
            5 => MtiOrigin::OtherRepeat,
            d => MtiOrigin::Reserved(d),
        }
    }

    /// True for requests, advices, notifications and instructions (an even function digit).
    pub fn is_request(&self) -> bool {
        self.digit(2) % 2 == 0
    }

    /// True for responses and acknowledgements (an odd function digit).
    pub fn is_response(&self) -> bool {
        !self.is_request()
    }

    /// True for repeat messages (odd origin digit below 6: `0201`, `0421` ...).
    pub fn is_repeat(&self) -> bool {
        matches!(
            self.origin(),
            MtiOrigin::AcquirerRepeat | MtiOrigin::IssuerRepeat | MtiOrigin::OtherRepeat
        )
    }

    /// The response MTI for a request: function digit + 1, repeat origin folded to its original
    /// (`0200`→`0210`, `0421`→`0430`, `2804`→`2814`). A response returns itself.
    pub fn response(&self) -> Mti {
        if self.is_response() {
            return *self;
        }
        let mut d = self.0;
        d[2] += 1;
        if self.is_repeat() {
            d[3] -= 1;
        }
        Mti(d)
    }

    /// The request MTI a response answers (`0210`→`0200`); a request returns itself.
    pub fn request(&self) -> Mti {
        if self.is_request() {
            return *self;
        }
        let mut d = self.0;
        d[2] -= 1;
        Mti(d)
    }

    /// The routing key used by selectors: class, function and origin without the version digit (`"200"`).
    pub fn routing_key(&self) -> &str {
        &self.as_str()[1..]
    }
}

impl FromStr for Mti {
    type Err = IsoError;
    fn from_str(s: &str) -> Result<Self, IsoError> {
        let b = s.as_bytes();
        if b.len() != 4 {
            return Err(IsoError::BadMti(s.to_owned()));
        }
        Mti::from_digits([b[0], b[1], b[2], b[3]])
    }
}

impl TryFrom<&str> for Mti {
    type Error = IsoError;
    fn try_from(s: &str) -> Result<Self, IsoError> {
        s.parse()
    }
}

impl fmt::Display for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mti({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mti(s: &str) -> Mti {
        s.parse().unwrap()
    }

    #[test]
    fn typed_parts() {
        let m = mti("2100");
        assert_eq!(m.version(), MtiVersion::Iso2003);
        assert_eq!(m.class(), MtiClass::Authorization);
        assert_eq!(m.function(), MtiFunction::Request);
        assert_eq!(m.origin(), MtiOrigin::Acquirer);
        assert_eq!(m.routing_key(), "100");
        assert_eq!(mti("0421").origin(), MtiOrigin::AcquirerRepeat);
        assert_eq!(mti("1814").class(), MtiClass::NetworkManagement);
    }

    #[test]
    fn response_pairing() {
        for (req, resp) in [
            ("0200", "0210"),
            ("0100", "0110"),
            ("0420", "0430"),
            ("0421", "0430"),
            ("0201", "0210"),
            ("2804", "2814"),
            ("0800", "0810"),
            ("0210", "0210"),
        ] {
            assert_eq!(mti(req).response(), mti(resp), "{req}");
        }
        assert_eq!(mti("0430").request(), mti("0420"));
        assert!(mti("0201").is_repeat());
        assert!(!mti("0200").is_repeat());
    }

    #[test]
    fn rejects_bad_text() {
        assert!("020".parse::<Mti>().is_err());
        assert!("02A0".parse::<Mti>().is_err());
    }
}
