//! Space throughput: out+in pairs per second with one producer task and one consumer task: inherent
//! `TSpace` methods, the consumer through `dyn Space` (what the txnmgr does), and both through it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchyard::space::{Space, TSpace};

const WAIT: Duration = Duration::from_secs(5);

/// Run `pairs` out/in pairs with the producer and consumer on separate tasks; returns elapsed time.
#[derive(Clone, Copy)]
enum Via {
    Inherent,
    DynIn,
    DynBoth,
}

fn pairs(rt: &tokio::runtime::Runtime, pairs: u64, via: Via) -> Duration {
    rt.block_on(async move {
        let sp = Arc::new(TSpace::<u64>::new());
        let start = Instant::now();
        let consumer = tokio::spawn({
            let sp = Arc::clone(&sp);
            async move {
                let mut sum = 0u64;
                for _ in 0..pairs {
                    let v = match via {
                        Via::Inherent => sp.in_("bench", WAIT).await,
                        Via::DynIn | Via::DynBoth => {
                            let dyn_sp: &dyn Space<u64> = &*sp;
                            dyn_sp.in_("bench", WAIT).await.ok().flatten()
                        }
                    };
                    sum = sum.wrapping_add(v.unwrap_or(0));
                }
                sum
            }
        });
        let producer = tokio::spawn({
            let sp = Arc::clone(&sp);
            async move {
                for i in 0..pairs {
                    match via {
                        Via::Inherent | Via::DynIn => sp.out("bench", i, None),
                        Via::DynBoth => {
                            let dyn_sp: &dyn Space<u64> = &*sp;
                            let _ = dyn_sp.out("bench", i, None).await;
                        }
                    }
                }
            }
        });
        let _ = producer.await;
        let sum = consumer.await.unwrap_or(0);
        let elapsed = start.elapsed();
        assert_eq!(
            sum,
            pairs * pairs.saturating_sub(1) / 2,
            "every value arrives once"
        );
        elapsed
    })
}

fn bench_space(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("space");
    g.throughput(Throughput::Elements(1));
    g.bench_function("out_in_pair", |b| {
        b.iter_custom(|iters| pairs(&rt, iters, Via::Inherent))
    });
    g.bench_function("out_in_pair_dyn", |b| {
        b.iter_custom(|iters| pairs(&rt, iters, Via::DynIn))
    });
    g.bench_function("out_in_pair_dyn_both", |b| {
        b.iter_custom(|iters| pairs(&rt, iters, Via::DynBoth))
    });
    g.finish();
}

criterion_group!(benches, bench_space);
criterion_main!(benches);
