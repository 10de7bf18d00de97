//! `switchyard bench codec`: single-thread pack and unpack loops over one message.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use crate::iso::encoding::hex_decode;
use crate::iso::Spec;

/// Options of `bench codec`.
#[derive(Debug, Args)]
pub struct CodecBench {
    /// Built-in spec name or path to a spec YAML.
    #[arg(long)]
    spec: String,
    /// The message as hex.
    #[arg(long)]
    hex: String,
    /// Seconds for each of the two loops.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
}

/// Run `bench codec`.
pub fn run(args: CodecBench) -> anyhow::Result<()> {
    bench_codec(&args.spec, &args.hex, args.seconds)
}

/// Run `op` in batches until `dur` has passed; returns operations per second.
fn ops_per_sec(dur: Duration, mut op: impl FnMut()) -> f64 {
    const BATCH: u64 = 10_000;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < dur {
        for _ in 0..BATCH {
            op();
        }
        n += BATCH;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn bench_codec(spec: &str, hex: &str, seconds: f64) -> anyhow::Result<()> {
    let spec = Spec::load(spec)?;
    let wire = hex_decode(hex).map_err(|i| anyhow::anyhow!("bad hex at character {i}"))?;
    let msg = spec
        .unpack(&wire)
        .context("the message does not unpack with this spec")?;
    let dur = Duration::from_secs_f64(seconds.max(0.1));
    eprintln!(
        "codec bench: spec {}, {} bytes, {} fields, {seconds}s per loop, one thread",
        spec.name,
        wire.len(),
        msg.len()
    );
    let mut out = Vec::with_capacity(wire.len() * 2);
    let pack = ops_per_sec(dur, || {
        out.clear();
        // The error path is measured too: a failing pack would show as a crash here, not a fast number.
        if spec.pack_into(black_box(&msg), &mut out).is_err() {
            std::process::abort();
        }
        black_box(&out);
    });
    let unpack = ops_per_sec(dur, || match spec.unpack(black_box(&wire)) {
        Ok(m) => {
            black_box(m);
        }
        Err(_) => std::process::abort(),
    });
    eprintln!("pack:   {pack:>12.0} msgs/s");
    eprintln!("unpack: {unpack:>12.0} msgs/s");
    println!(
        "{}",
        serde_json::json!({
            "pack_per_sec": pack.round() as u64,
            "unpack_per_sec": unpack.round() as u64,
            "bytes": wire.len(),
        })
    );
    Ok(())
}
