//! Test requests for load clients: what an MTI needs, filled per spec (field lengths decide layouts).
//!
//! To load a switch that checks cards and terminals (the jCard deploy), the environment overrides the
//! defaults: `SWITCHYARD_SIM_PANS` (comma-separated card numbers, used in turn by STAN),
//! `SWITCHYARD_SIM_ACQUIRER` (DE 32, set only when given), `SWITCHYARD_SIM_TID` (DE 41) and
//! `SWITCHYARD_SIM_MID` (DE 42) — see docs/PERFORMANCE.md for the 2100 benchmark.

use std::sync::Arc;

use crate::channel::netmgmt::{set_local_time, set_stan, set_transmission_time, Dialect, NetMgmt};
use crate::iso::{IsoMsg, Mti, MtiClass, Spec};

/// The test PAN (a Visa test number; never a real card).
pub const TEST_PAN: &str = "4761739001010010";

/// Environment variable: comma-separated PANs the requests use in turn (default `TEST_PAN`).
pub const PANS_ENV: &str = "SWITCHYARD_SIM_PANS";
/// Environment variable: DE 32, the acquirer (default: no DE 32).
pub const ACQUIRER_ENV: &str = "SWITCHYARD_SIM_ACQUIRER";
/// Environment variable: DE 41, overriding the caller's terminal.
pub const TID_ENV: &str = "SWITCHYARD_SIM_TID";
/// Environment variable: DE 42, overriding the caller's merchant.
pub const MID_ENV: &str = "SWITCHYARD_SIM_MID";

/// Builds requests of one MTI for one spec; each call takes the STAN to use.
#[derive(Debug, Clone)]
pub struct RequestFactory {
    spec: Arc<Spec>,
    mti: Mti,
    dialect: Dialect,
    tid: String,
    mid: String,
    pans: Vec<String>,
    acquirer: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl RequestFactory {
    /// A factory for `mti` in `spec`'s dialect, with terminal `tid` and merchant `mid`.
    /// The `SWITCHYARD_SIM_*` environment variables override the PAN, DE 32, DE 41 and DE 42.
    pub fn new(spec: Arc<Spec>, mti: Mti, tid: &str, mid: &str) -> Self {
        let pans = env(PANS_ENV).map_or_else(
            || vec![TEST_PAN.to_owned()],
            |v| v.split(',').map(|p| p.trim().to_owned()).collect(),
        );
        RequestFactory {
            dialect: Dialect::of(&spec),
            spec,
            mti,
            tid: env(TID_ENV).unwrap_or_else(|| tid.to_owned()),
            mid: env(MID_ENV).unwrap_or_else(|| mid.to_owned()),
            pans,
            acquirer: env(ACQUIRER_ENV),
        }
    }

    /// Use `pans` in turn (by STAN) and send DE 32 `acquirer` when given.
    pub fn with_cards(mut self, pans: Vec<String>, acquirer: Option<String>) -> Self {
        if !pans.is_empty() {
            self.pans = pans;
        }
        self.acquirer = acquirer;
        self
    }

    /// The MTI built.
    pub fn mti(&self) -> Mti {
        self.mti
    }

    /// A request with this STAN (reduced to the spec's DE 11 width) and the clock's DE 7/12.
    pub fn build(&self, stan: u64) -> IsoMsg {
        let spec = &*self.spec;
        if self.mti.class() == MtiClass::NetworkManagement {
            let mut m = self.dialect.request(spec, NetMgmt::Echo, stan);
            m.set_mti(self.mti);
            return m;
        }
        let mut m = IsoMsg::with_capacity(self.mti, 128);
        let n = u64::try_from(self.pans.len()).unwrap_or(1).max(1);
        let pick = usize::try_from(stan % n).unwrap_or(0);
        m.set(2, self.pans.get(pick).map_or(TEST_PAN, String::as_str));
        m.set(3, "000000");
        match spec.field(4).map(|f| f.length) {
            // CMF: currency (3), exponent (1), amount (12).
            Some(16) => m.set(4, "8402000000001000"),
            _ => m.set(4, "000000001000"),
        }
        set_transmission_time(&mut m);
        set_stan(spec, &mut m, stan);
        set_local_time(spec, &mut m);
        m.set(41, &self.tid);
        m.set(42, &self.mid);
        if let Some(acquirer) = &self.acquirer {
            m.set(32, acquirer);
        }
        if self.dialect != Dialect::Cmf {
            m.set(49, "840");
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_rotate_by_stan_with_the_acquirer() {
        let spec = Spec::builtin("cmf").unwrap();
        let f = RequestFactory::new(spec, "2100".parse().unwrap(), "29110001", "001001")
            .with_cards(
                vec!["1".to_owned(), "2".to_owned()],
                Some("000001".to_owned()),
            );
        assert_eq!(f.build(7).get_str(2), Some("2"));
        assert_eq!(f.build(8).get_str(2), Some("1"));
        assert_eq!(f.build(8).get_str(32), Some("000001"));
    }

    #[test]
    fn every_builtin_packs_every_sim_mti() {
        for name in [
            "iso87ascii",
            "iso87binary",
            "iso93ascii",
            "iso93binary",
            "cmf",
            "smartvista",
        ] {
            let spec = Spec::builtin(name).unwrap();
            for mti in [
                "0800", "2804", "0100", "0200", "0400", "2100", "2200", "2420",
            ] {
                let f = RequestFactory::new(
                    spec.clone(),
                    mti.parse().unwrap(),
                    "SIM00001",
                    "SIMMERCHANT0001",
                );
                let m = f.build(1_000_001);
                let packed = spec
                    .pack(&m)
                    .unwrap_or_else(|e| panic!("{name} {mti}: {e}"));
                let back = spec.unpack(&packed).unwrap();
                assert_eq!(back.mti().as_str(), mti);
                assert!(back.has(11), "{name} {mti}");
            }
        }
    }
}
