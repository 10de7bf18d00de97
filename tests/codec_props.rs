//! Property tests for the codec: random valid messages round-trip through every built-in spec, and no
//! input — random bytes or mutated real vectors — makes unpack panic.

use proptest::prelude::*;
use switchyard::iso::encoding::hex_decode;
use switchyard::iso::spec::{Class, Encoding, FieldSpec, BUILTIN_SPECS};
use switchyard::iso::{IsoMsg, Mti, Spec};

/// A small deterministic generator driven by a proptest seed (xorshift64*).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
}

/// A value valid for `def`: fixed fields get exactly their length (so unpack returns the same bytes).
fn value_for(g: &mut Gen, def: &FieldSpec, spec: &Spec, field: Option<u8>) -> Vec<u8> {
    if let (Some(sub), Some(f)) = (&def.subfields, field) {
        let mut values = Vec::new();
        for (&n, sdef) in &sub.fields {
            if sub.bitmap.is_none() || g.chance(50) {
                values.push((n, value_for(g, sdef, spec, None)));
            }
        }
        if let Ok(inner) = spec.pack_composite(f, &values) {
            if inner.len() <= def.length {
                return inner;
            }
        }
        // Too large for this field: the smallest valid composite instead.
        let minimal: Vec<(u16, Vec<u8>)> = if sub.bitmap.is_none() {
            sub.fields
                .iter()
                .map(|(&n, d)| (n, value_for(g, d, spec, None)))
                .collect()
        } else {
            Vec::new()
        };
        return spec.pack_composite(f, &minimal).expect("minimal composite");
    }
    let cap = def.length.min(48);
    let len = if def.prefix_digits == 0 {
        def.length
    } else {
        g.below(cap + 1)
    };
    let digit = |g: &mut Gen| b'0' + g.below(10) as u8;
    match def.class {
        Class::N => (0..len).map(|_| digit(g)).collect(),
        Class::Z => (0..len)
            .map(|i| {
                if i == len / 2 && len > 2 {
                    b'='
                } else {
                    digit(g)
                }
            })
            .collect(),
        Class::Xn => {
            if len == 0 {
                return Vec::new();
            }
            let mut v = vec![if g.chance(50) { b'C' } else { b'D' }];
            v.extend((1..len).map(|_| digit(g)));
            v
        }
        Class::B => (0..len).map(|_| g.next() as u8).collect(),
        _ if def.encoding == Encoding::Binary => (0..len).map(|_| g.next() as u8).collect(),
        _ => (0..len).map(|_| 0x20 + g.below(0x5F) as u8).collect(),
    }
}

fn random_message(g: &mut Gen, spec: &Spec) -> IsoMsg {
    let mti = ["0100", "0200", "0420", "0800", "2100", "1804"][g.below(6)];
    let mut msg = IsoMsg::new(mti.parse::<Mti>().unwrap());
    for def in spec.defined_fields() {
        if g.chance(25) {
            let f = def.id as u8;
            msg.set(f, value_for(g, def, spec, Some(f)));
        }
    }
    msg
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_valid_messages_round_trip_every_builtin_spec(seed in 1u64..) {
        for (name, _) in BUILTIN_SPECS {
            let spec = Spec::builtin(name).unwrap();
            let mut g = Gen(seed);
            let msg = random_message(&mut g, &spec);
            let wire = spec.pack(&msg).map_err(|e| TestCaseError::fail(format!("{name}: pack: {e}")))?;
            let back = spec.unpack(&wire).map_err(|e| TestCaseError::fail(format!("{name}: unpack: {e}")))?;
            prop_assert_eq!(&back, &msg, "{}", name);
            prop_assert_eq!(spec.pack(&back).unwrap(), wire, "{}", name);
        }
    }

    #[test]
    fn random_bytes_never_panic_unpack(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        for (name, _) in BUILTIN_SPECS {
            let _ = Spec::builtin(name).unwrap().unpack(&bytes);
        }
    }

    #[test]
    fn mutated_vectors_never_panic_unpack(which in 0usize..4, at in any::<usize>(), byte in any::<u8>(), cut in any::<usize>()) {
        let (spec, path) = [
            ("iso87ascii", "jpos/0200_purchase.hex"),
            ("cmf", "jpos-cmf/0100_verification_f49_f113.hex"),
            ("iso87binary", "jpos-iso87binary/0200_purchase.hex"),
            ("iso93ascii", "jpos-iso93ascii/1200_purchase.hex"),
        ][which];
        let text = std::fs::read_to_string(format!("{}/tests/vectors/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let mut wire = hex_decode(text.trim()).unwrap();
        let i = at % wire.len();
        wire[i] = byte;
        wire.truncate(cut % (wire.len() + 1));
        let spec = Spec::builtin(spec).unwrap();
        if let Ok(msg) = spec.unpack(&wire) {
            // Whatever unpacks must pack again without panicking, and render masked.
            let _ = spec.pack(&msg);
            let _ = msg.to_string();
        }
    }
}

#[test]
fn errors_name_field_and_offset() {
    let spec = Spec::builtin("iso87ascii").unwrap();
    let text = std::fs::read_to_string(format!(
        "{}/tests/vectors/jpos/0200_purchase.hex",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let wire = hex_decode(text.trim()).unwrap();
    // Cut inside field 42 (merchant id, 15 characters from byte 146).
    let err = spec.unpack(&wire[..150]).unwrap_err().to_string();
    assert_eq!(
        err,
        "field 42 at byte 146: truncated, needs 15 bytes, 4 left"
    );
    // One byte too many.
    let mut long = wire.clone();
    long.push(b'0');
    let err = spec.unpack(&long).unwrap_err().to_string();
    assert_eq!(err, "byte 204: 1 bytes left over after the last field");
    // DE 2 length prefix 99 > max 19.
    let mut bad = wire.clone();
    bad[20] = b'9';
    bad[21] = b'9';
    let err = spec.unpack(&bad).unwrap_err().to_string();
    assert_eq!(err, "field 2 at byte 20: length 99 > max 19");
    // Too long on pack.
    let msg = IsoMsg::with_mti("0200")
        .unwrap()
        .with(2, "41111111111111111111");
    let err = spec.pack(&msg).unwrap_err().to_string();
    assert_eq!(err, "field 2: length 20 > max 19");
    // Non-digit in a numeric field.
    let msg = IsoMsg::with_mti("0200").unwrap().with(3, "00A000");
    assert!(spec.pack(&msg).unwrap_err().to_string().contains("field 3"));
}
