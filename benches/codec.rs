//! Criterion benchmarks: pack and unpack of the jPOS 0200 vectors (ISO 87 ASCII, 204 bytes; CMF).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchyard::iso::encoding::hex_decode;
use switchyard::iso::Spec;

fn vector(path: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(format!(
        "{}/tests/vectors/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("vector file");
    hex_decode(text.trim()).expect("vector hex")
}

fn bench_spec(c: &mut Criterion, spec_name: &str, path: &str) {
    let spec = Spec::builtin(spec_name).expect("spec");
    let wire = vector(path);
    let msg = spec.unpack(&wire).expect("unpack");
    let mut group = c.benchmark_group(format!("{spec_name}/{path}"));
    group.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(wire.len() * 2);
    group.bench_function("pack", |b| {
        b.iter(|| {
            out.clear();
            spec.pack_into(black_box(&msg), &mut out).expect("pack");
            black_box(&out);
        })
    });
    group.bench_function("unpack", |b| {
        b.iter(|| spec.unpack(black_box(&wire)).expect("unpack"))
    });
    group.finish();
}

fn codec(c: &mut Criterion) {
    bench_spec(c, "iso87ascii", "jpos/0200_purchase.hex");
    bench_spec(c, "cmf", "jpos-cmf/0200_purchase_chip_pin.hex");
}

criterion_group!(benches, codec);
criterion_main!(benches);
