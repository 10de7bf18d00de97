//! Fuzz target: no byte string may make unpack (or re-pack, JSON or masked rendering of what unpacked) panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::iso::spec::BUILTIN_SPECS;
use switchyard::iso::{json, Spec};

fuzz_target!(|data: &[u8]| {
    for (name, _) in BUILTIN_SPECS {
        let spec = Spec::builtin(name).expect("built-in spec");
        if let Ok(msg) = spec.unpack(data) {
            let _ = spec.pack(&msg);
            let _ = json::to_json(&spec, &msg);
            let _ = msg.to_string();
        }
    }
});
