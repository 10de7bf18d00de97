//! Network management per dialect: which message is an echo (keep-alive) and how to build one.
//!
//! ISO 8583:1987/1993 dialects use `0800` with DE 70 (001 sign-on, 002 sign-off, 301 echo); jPOS CMF
//! (ISO 8583:2003) uses `2804` with DE 24 (801 sign-on, 802 sign-off, 831 echo). The spec decides which.

use chrono::{Datelike, Timelike};

use crate::iso::{IsoMsg, Mti, Spec};

/// Network-management conventions of a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// ISO 8583:1987 / 1993 style: `x800`, DE 70 network management information code.
    Iso87,
    /// jPOS CMF (ISO 8583:2003): `x804`, DE 24 function code.
    Cmf,
}

/// A network-management request kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetMgmt {
    /// Sign-on.
    SignOn,
    /// Sign-off.
    SignOff,
    /// Echo test (keep-alive).
    Echo,
}

impl Dialect {
    /// The dialect of a spec: CMF when DE 39 has 4 digits (ISO 8583:2003 action codes), else ISO 87/93.
    pub fn of(spec: &Spec) -> Dialect {
        if spec.name == "cmf" || spec.field(39).is_some_and(|f| f.length == 4) {
            Dialect::Cmf
        } else {
            Dialect::Iso87
        }
    }

    /// The network-management request MTI.
    pub fn request_mti(self) -> Mti {
        let d = match self {
            Dialect::Iso87 => *b"0800",
            Dialect::Cmf => *b"2804",
        };
        Mti::from_digits(d).unwrap_or_else(|_| unreachable!("constant MTI"))
    }

    /// The field carrying the network-management code (DE 70, or DE 24 for CMF).
    pub fn code_field(self) -> u8 {
        match self {
            Dialect::Iso87 => 70,
            Dialect::Cmf => 24,
        }
    }

    /// The code of a kind in this dialect.
    pub fn code(self, kind: NetMgmt) -> &'static str {
        match (self, kind) {
            (Dialect::Iso87, NetMgmt::SignOn) => "001",
            (Dialect::Iso87, NetMgmt::SignOff) => "002",
            (Dialect::Iso87, NetMgmt::Echo) => "301",
            (Dialect::Cmf, NetMgmt::SignOn) => "801",
            (Dialect::Cmf, NetMgmt::SignOff) => "802",
            (Dialect::Cmf, NetMgmt::Echo) => "831",
        }
    }

    /// The kind of a network-management request in this dialect, if `msg` is one.
    pub fn classify(self, msg: &IsoMsg) -> Option<NetMgmt> {
        self.kind_of(msg.mti(), msg)
    }

    fn kind_of(self, mti: Mti, msg: &IsoMsg) -> Option<NetMgmt> {
        let b = mti.as_bytes();
        let is_nm = match self {
            Dialect::Iso87 => b[1] == b'8' && b[2] == b'0' && b[3] == b'0',
            Dialect::Cmf => b[1] == b'8' && b[2] == b'0' && b[3] == b'4',
        };
        if !is_nm {
            return None;
        }
        let code = msg.get(self.code_field())?;
        [NetMgmt::SignOn, NetMgmt::SignOff, NetMgmt::Echo]
            .into_iter()
            .find(|k| self.code(*k).as_bytes() == code)
    }

    /// A network-management request: MTI, DE 7 (now, UTC), DE 11 = `stan` and the code field.
    pub fn request(self, spec: &Spec, kind: NetMgmt, stan: u64) -> IsoMsg {
        let mut m = IsoMsg::with_capacity(self.request_mti(), 48);
        set_transmission_time(&mut m);
        set_stan(spec, &mut m, stan);
        m.set(self.code_field(), self.code(kind));
        m
    }

    /// An echo (keep-alive) request.
    pub fn echo(self, spec: &Spec, stan: u64) -> IsoMsg {
        self.request(spec, NetMgmt::Echo, stan)
    }

    /// True for the response to an echo in this dialect (`x810`/DE 70 = 301, `x814`/DE 24 = 831).
    pub fn is_echo_response(self, msg: &IsoMsg) -> bool {
        let mti = msg.mti();
        mti.is_response() && self.kind_of(mti.request(), msg) == Some(NetMgmt::Echo)
    }
}

/// The "approved" response code for a spec, sized to its DE 39 (`00`, `000` or `0000`).
pub fn approved_code(spec: &Spec) -> &'static str {
    match spec.field(39).map(|f| f.length) {
        Some(3) => "000",
        Some(4) => "0000",
        _ => "00",
    }
}

/// Set DE 11 to `stan` modulo the field's digits (6, or 12 for CMF), zero-filled.
pub fn set_stan(spec: &Spec, msg: &mut IsoMsg, stan: u64) {
    let len = spec.field(11).map_or(6, |f| f.length).clamp(1, 19);
    let mut buf = [b'0'; 19];
    let n = stan % 10u64.saturating_pow(len as u32).max(1);
    write_digits(&mut buf[..len], n);
    msg.set(11, &buf[..len]);
}

/// Set DE 7 (transmission date and time, `MMDDhhmmss`) from the UTC clock.
pub fn set_transmission_time(msg: &mut IsoMsg) {
    let now = chrono::Utc::now();
    let mut b = [0u8; 10];
    write_digits(&mut b[0..2], u64::from(now.month()));
    write_digits(&mut b[2..4], u64::from(now.day()));
    write_digits(&mut b[4..6], u64::from(now.hour()));
    write_digits(&mut b[6..8], u64::from(now.minute()));
    write_digits(&mut b[8..10], u64::from(now.second()));
    msg.set(7, b);
}

/// Set DE 12 (local date and time) from the local clock in the spec's layout: `hhmmss` (6 digits),
/// `YYMMDDhhmmss` (12) or `CCYYMMDDhhmmss` (14).
pub fn set_local_time(spec: &Spec, msg: &mut IsoMsg) {
    let now = chrono::Local::now();
    let mut b = [0u8; 14];
    write_digits(&mut b[0..4], now.year().max(0) as u64);
    write_digits(&mut b[4..6], u64::from(now.month()));
    write_digits(&mut b[6..8], u64::from(now.day()));
    write_digits(&mut b[8..10], u64::from(now.hour()));
    write_digits(&mut b[10..12], u64::from(now.minute()));
    write_digits(&mut b[12..14], u64::from(now.second()));
    match spec.field(12).map_or(6, |f| f.length) {
        14 => msg.set(12, b),
        12 => msg.set(12, &b[2..]),
        _ => msg.set(12, &b[8..]),
    }
}

/// Write `n` as decimal digits right-aligned into `dst`, zero-filled (high digits cut).
fn write_digits(dst: &mut [u8], mut n: u64) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_per_dialect() {
        let cmf = Spec::builtin("cmf").unwrap();
        let e = Dialect::of(&cmf).echo(&cmf, 7);
        assert_eq!(e.mti().as_str(), "2804");
        assert_eq!(e.get_str(24), Some("831"));
        assert_eq!(e.get_str(11), Some("000000000007"));
        assert!(cmf.pack(&e).is_ok());
        for name in ["iso87ascii", "iso87binary", "iso93ascii", "smartvista"] {
            let spec = Spec::builtin(name).unwrap();
            let d = Dialect::of(&spec);
            assert_eq!(d, Dialect::Iso87, "{name}");
            let e = d.echo(&spec, 1_234_567);
            assert_eq!(e.mti().as_str(), "0800");
            assert_eq!(e.get_str(70), Some("301"));
            assert_eq!(e.get_str(11), Some("234567"));
            assert_eq!(d.classify(&e), Some(NetMgmt::Echo));
            let back = spec.unpack(&spec.pack(&e).unwrap()).unwrap();
            let mut r = back.response_with(&[7, 11, 70]);
            assert!(!d.is_echo_response(&back));
            r.set(39, approved_code(&spec));
            assert!(d.is_echo_response(&r), "{name}");
        }
    }

    #[test]
    fn local_time_follows_the_spec() {
        for (name, len) in [("iso87ascii", 6), ("iso93ascii", 12), ("cmf", 14)] {
            let spec = Spec::builtin(name).unwrap();
            let mut m = IsoMsg::with_mti("0200").unwrap();
            set_local_time(&spec, &mut m);
            assert_eq!(m.get(12).unwrap().len(), len, "{name}");
        }
        assert_eq!(approved_code(&Spec::builtin("iso93ascii").unwrap()), "000");
    }
}
