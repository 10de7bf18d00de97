//! Test requests for load clients: what an MTI needs, filled per spec (field lengths decide layouts).

use std::sync::Arc;

use crate::channel::netmgmt::{set_local_time, set_stan, set_transmission_time, Dialect, NetMgmt};
use crate::iso::{IsoMsg, Mti, MtiClass, Spec};

/// The test PAN (a Visa test number; never a real card).
pub const TEST_PAN: &str = "4761739001010010";

/// Builds requests of one MTI for one spec; each call takes the STAN to use.
#[derive(Debug, Clone)]
pub struct RequestFactory {
    spec: Arc<Spec>,
    mti: Mti,
    dialect: Dialect,
    tid: String,
    mid: String,
}

impl RequestFactory {
    /// A factory for `mti` in `spec`'s dialect, with terminal `tid` and merchant `mid`.
    pub fn new(spec: Arc<Spec>, mti: Mti, tid: &str, mid: &str) -> Self {
        RequestFactory {
            dialect: Dialect::of(&spec),
            spec,
            mti,
            tid: tid.to_owned(),
            mid: mid.to_owned(),
        }
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
        m.set(2, TEST_PAN);
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
