//! Tests for `TSpace`: ordering, head/replace writes, leases on a paused clock, waiting and wake-ups.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::*;

const MS: Duration = Duration::from_millis(1);

fn space() -> Arc<TSpace<u32>> {
    Arc::new(TSpace::new())
}

#[tokio::test]
async fn out_is_fifo() {
    let sp = space();
    for i in 0..5 {
        Space::out(&*sp, "q", i, None)
            .await
            .expect("tspace never fails");
    }
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(Space::inp(&*sp, "q").await.expect("tspace never fails"));
    }
    assert_eq!(got, vec![Some(0), Some(1), Some(2), Some(3), Some(4)]);
    assert_eq!(
        Space::inp(&*sp, "q").await.expect("tspace never fails"),
        None
    );
}

#[tokio::test]
async fn push_goes_to_head() {
    let sp = space();
    Space::out(&*sp, "q", 1, None)
        .await
        .expect("tspace never fails");
    Space::out(&*sp, "q", 2, None)
        .await
        .expect("tspace never fails");
    Space::push(&*sp, "q", 0, None)
        .await
        .expect("tspace never fails");
    assert_eq!(
        Space::inp(&*sp, "q").await.expect("tspace never fails"),
        Some(0)
    );
    assert_eq!(
        Space::inp(&*sp, "q").await.expect("tspace never fails"),
        Some(1)
    );
}

#[tokio::test]
async fn put_replaces_all() {
    let sp = space();
    Space::out(&*sp, "q", 1, None)
        .await
        .expect("tspace never fails");
    Space::out(&*sp, "q", 2, None)
        .await
        .expect("tspace never fails");
    Space::put(&*sp, "q", 9, None)
        .await
        .expect("tspace never fails");
    assert_eq!(sp.size("q"), 1);
    assert_eq!(
        Space::inp(&*sp, "q").await.expect("tspace never fails"),
        Some(9)
    );
}

#[tokio::test]
async fn keys_are_independent() {
    let sp = space();
    Space::out(&*sp, "a", 1, None)
        .await
        .expect("tspace never fails");
    assert_eq!(
        Space::inp(&*sp, "b").await.expect("tspace never fails"),
        None
    );
    assert_eq!(sp.size("a"), 1);
}

#[tokio::test]
async fn rd_does_not_take() {
    let sp = space();
    Space::out(&*sp, "q", 7, None)
        .await
        .expect("tspace never fails");
    assert_eq!(sp.rdp("q"), Some(7));
    assert_eq!(sp.rd("q", MS).await.expect("tspace never fails"), Some(7));
    assert_eq!(sp.size("q"), 1);
    assert_eq!(
        Space::in_(&*sp, "q", MS).await.expect("tspace never fails"),
        Some(7)
    );
    assert_eq!(sp.rdp("q"), None);
}

#[tokio::test(start_paused = true)]
async fn leased_entries_expire() {
    let sp = space();
    Space::out(&*sp, "q", 1, Some(10 * MS))
        .await
        .expect("tspace never fails");
    Space::out(&*sp, "q", 2, None)
        .await
        .expect("tspace never fails");
    Space::out(&*sp, "q", 3, Some(100 * MS))
        .await
        .expect("tspace never fails");
    assert_eq!(sp.size("q"), 3);
    tokio::time::advance(10 * MS).await;
    assert_eq!(sp.size("q"), 2);
    assert_eq!(sp.rdp("q"), Some(2));
    tokio::time::advance(90 * MS).await;
    assert_eq!(
        Space::inp(&*sp, "q").await.expect("tspace never fails"),
        Some(2)
    );
    assert_eq!(
        Space::inp(&*sp, "q").await.expect("tspace never fails"),
        None,
        "expired lease must never be returned"
    );
}

#[tokio::test(start_paused = true)]
async fn in_times_out_with_none() {
    let sp = space();
    let started = tokio::time::Instant::now();
    assert_eq!(
        Space::in_(&*sp, "q", 50 * MS)
            .await
            .expect("tspace never fails"),
        None
    );
    assert!(started.elapsed() >= 50 * MS);
    assert_eq!(sp.rd("q", 50 * MS).await.expect("tspace never fails"), None);
}

#[tokio::test(start_paused = true)]
async fn waiting_taker_wakes_on_out() {
    let sp = space();
    let taker = tokio::spawn({
        let sp = Arc::clone(&sp);
        async move {
            Space::in_(&*sp, "q", Duration::from_secs(60))
                .await
                .expect("tspace never fails")
        }
    });
    tokio::time::sleep(5 * MS).await;
    Space::out(&*sp, "q", 42, None)
        .await
        .expect("tspace never fails");
    assert_eq!(taker.await.ok().flatten(), Some(42));
    assert_eq!(sp.size("q"), 0);
}

#[tokio::test(start_paused = true)]
async fn every_waiting_reader_sees_the_value() {
    let sp = space();
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let sp = Arc::clone(&sp);
            tokio::spawn(async move {
                sp.rd("q", Duration::from_secs(60))
                    .await
                    .expect("tspace never fails")
            })
        })
        .collect();
    tokio::time::sleep(5 * MS).await;
    Space::out(&*sp, "q", 5, None)
        .await
        .expect("tspace never fails");
    for r in readers {
        assert_eq!(r.await.ok().flatten(), Some(5));
    }
    assert_eq!(sp.size("q"), 1);
}

#[tokio::test(start_paused = true)]
async fn nrd_waits_until_empty() {
    let sp = space();
    assert!(
        sp.nrd("q", MS).await.expect("tspace never fails"),
        "absent key is empty"
    );
    Space::out(&*sp, "q", 1, None)
        .await
        .expect("tspace never fails");
    assert!(
        !sp.nrd("q", 10 * MS).await.expect("tspace never fails"),
        "still holds a value"
    );
    let waiter = tokio::spawn({
        let sp = Arc::clone(&sp);
        async move {
            sp.nrd("q", Duration::from_secs(60))
                .await
                .expect("tspace never fails")
        }
    });
    tokio::time::sleep(5 * MS).await;
    assert_eq!(
        Space::inp(&*sp, "q").await.expect("tspace never fails"),
        Some(1)
    );
    assert_eq!(waiter.await.ok(), Some(true));
}

#[tokio::test(start_paused = true)]
async fn nrd_sees_leases_expire() {
    let sp = space();
    Space::out(&*sp, "q", 1, Some(20 * MS))
        .await
        .expect("tspace never fails");
    assert!(sp
        .nrd("q", Duration::from_secs(1))
        .await
        .expect("tspace never fails"));
    assert_eq!(sp.size("q"), 0);
}

#[tokio::test]
async fn listeners_hear_writes_until_removed() {
    let sp = space();
    let heard = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&heard);
    let id = Space::add_listener(
        &*sp,
        "q",
        Arc::new(move |key: &str, v: &u32| {
            assert_eq!(key, "q");
            h.fetch_add(*v as usize, Ordering::SeqCst);
        }),
    )
    .expect("tspace listeners");
    Space::out(&*sp, "q", 2, None)
        .await
        .expect("tspace never fails");
    Space::push(&*sp, "q", 3, None)
        .await
        .expect("tspace never fails");
    Space::out(&*sp, "other", 100, None)
        .await
        .expect("tspace never fails");
    assert!(sp.remove_listener("q", id));
    Space::out(&*sp, "q", 1000, None)
        .await
        .expect("tspace never fails");
    assert_eq!(heard.load(Ordering::SeqCst), 5);
    assert_eq!(sp.size("q"), 3, "listeners do not consume");
    assert!(!sp.remove_listener("q", id));
}

#[tokio::test(start_paused = true)]
async fn sweep_unlinks_idle_keys_and_waiters_survive_it() {
    let sp = space();
    Space::out(&*sp, "gone", 1, Some(MS))
        .await
        .expect("tspace never fails");
    Space::out(&*sp, "kept", 1, None)
        .await
        .expect("tspace never fails");
    tokio::time::advance(2 * MS).await;
    sp.sweep();
    assert_eq!(sp.key_count(), 1);
    let taker = tokio::spawn({
        let sp = Arc::clone(&sp);
        async move {
            Space::in_(&*sp, "w", Duration::from_secs(60))
                .await
                .expect("tspace never fails")
        }
    });
    tokio::time::sleep(MS).await;
    sp.sweep();
    Space::out(&*sp, "w", 3, None)
        .await
        .expect("tspace never fails");
    assert_eq!(taker.await.ok().flatten(), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_producers_and_consumers_lose_nothing() {
    const PRODUCERS: u32 = 4;
    const CONSUMERS: usize = 4;
    const EACH: u32 = 5_000;
    let sp = space();
    let mut consumers = Vec::new();
    for _ in 0..CONSUMERS {
        let sp = Arc::clone(&sp);
        consumers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(v) = Space::in_(&*sp, "q", Duration::from_millis(500))
                .await
                .expect("tspace never fails")
            {
                got.push(v);
            }
            got
        }));
    }
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let sp = Arc::clone(&sp);
        producers.push(tokio::spawn(async move {
            for i in 0..EACH {
                Space::out(&*sp, "q", p * EACH + i, None)
                    .await
                    .expect("tspace never fails");
                if i % 64 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for p in producers {
        p.await.expect("producer");
    }
    let mut all = Vec::new();
    for c in consumers {
        let got = c.await.expect("consumer");
        // Each consumer sees one producer's values in that producer's order.
        for p in 0..PRODUCERS {
            let mine: Vec<_> = got.iter().filter(|v| **v / EACH == p).collect();
            assert!(
                mine.windows(2).all(|w| w[0] < w[1]),
                "per-producer order kept"
            );
        }
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, (0..PRODUCERS * EACH).collect::<Vec<_>>());
}

#[tokio::test]
async fn answers_without_waiting_are_ready_futures() {
    // Through `dyn Space`, TSpace must not box what it can answer at once (the hot path stays free of
    // allocations); only a real wait is boxed.
    let sp = space();
    let d: &dyn Space<u32> = &*sp;
    assert!(matches!(
        d.out("q", 1, None),
        SpaceFuture::Ready(Some(Ok(())))
    ));
    assert!(matches!(d.size("q"), SpaceFuture::Ready(Some(Ok(1)))));
    assert!(matches!(d.rdp("q"), SpaceFuture::Ready(Some(Ok(Some(1))))));
    assert!(matches!(
        d.in_("q", MS),
        SpaceFuture::Ready(Some(Ok(Some(1))))
    ));
    assert!(matches!(d.inp("q"), SpaceFuture::Ready(Some(Ok(None)))));
    assert!(matches!(d.nrd("q", MS), SpaceFuture::Ready(Some(Ok(true)))));
    assert!(matches!(d.in_("q", MS), SpaceFuture::Pending(_)));
}
