//! Mux matching, timeouts, unhandled and late responses, and pools, over in-memory queues (paused clock
//! where waiting is involved) and over real TCP.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use switchyard::channel::{ChannelAdaptor, ClientConfig, Framing, LengthPrefix, RequestSink};
use switchyard::channel::{Server, ServerConfig};
use switchyard::iso::{IsoMsg, Spec};
use switchyard::mux::{Mux, MuxConfig, MuxError, MuxPool, PoolStrategy, Unhandled};
use switchyard::sim::SimHost;
use tokio::sync::{mpsc, watch};

const WAIT: Duration = Duration::from_secs(30);

struct Wire {
    mux: Mux,
    /// What the mux sent.
    sent: mpsc::Receiver<IsoMsg>,
    /// Feed responses to the mux.
    feed: mpsc::Sender<IsoMsg>,
    ready: watch::Sender<bool>,
    unhandled: mpsc::Receiver<IsoMsg>,
}

fn wire(name: &str) -> Wire {
    let (out_tx, sent) = mpsc::channel(4096);
    let (feed, in_rx) = mpsc::channel(4096);
    let (ready, ready_rx) = watch::channel(true);
    let (un_tx, unhandled) = mpsc::channel(16);
    let mut cfg = MuxConfig::new(name);
    cfg.unhandled = Unhandled::Queue(un_tx);
    Wire {
        mux: Mux::start(cfg, out_tx, ready_rx, in_rx),
        sent,
        feed,
        ready,
        unhandled,
    }
}

fn req(mti: &str, tid: &str, stan: u32) -> IsoMsg {
    IsoMsg::with_mti(mti)
        .unwrap()
        .with(11, format!("{stan:06}"))
        .with(41, tid)
}

fn answer(r: &IsoMsg) -> IsoMsg {
    let mut a = r.response_with(&[11, 41]);
    a.set(39, "00");
    // Tag the answer with the request it answers, to prove it reached the right waiter.
    a.set(
        37,
        format!("{}{}", r.get_str(41).unwrap(), r.get_str(11).unwrap()),
    );
    a
}

#[tokio::test]
async fn thousand_concurrent_requests_with_shuffled_responses_match() {
    let Wire {
        mux,
        mut sent,
        feed,
        ready: _ready,
        unhandled: _u,
    } = wire("shuffle");
    const N: u32 = 1000;
    let responder = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < N as usize {
            got.push(sent.recv().await.expect("request"));
        }
        // Deterministic shuffle (LCG-driven Fisher-Yates).
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for i in (1..got.len()).rev() {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            got.swap(i, (x >> 33) as usize % (i + 1));
        }
        for r in got {
            feed.send(answer(&r)).await.unwrap();
        }
    });
    let mut waiters = Vec::new();
    for i in 0..N {
        let mux = mux.clone();
        // Same STANs on different terminals, and 0200 and 0400 with the same STAN and terminal.
        let (mti, tid, stan) = match i % 4 {
            0 => ("0200", "TERM0001", i / 4),
            1 => ("0200", "TERM0002", i / 4),
            2 => ("0400", "TERM0001", i / 4),
            _ => ("0100", "TERM0001", i / 4),
        };
        waiters.push(tokio::spawn(async move {
            let r = req(mti, tid, stan);
            let want = format!("{tid}{stan:06}");
            let resp = mux
                .request(r.clone(), WAIT)
                .await
                .unwrap()
                .expect("timeout");
            assert_eq!(resp.mti(), r.mti().response());
            assert_eq!(resp.get_str(37), Some(want.as_str()));
        }));
    }
    for w in waiters {
        w.await.unwrap();
    }
    responder.await.unwrap();
    assert_eq!(mux.stats().matched.load(Ordering::Relaxed), u64::from(N));
    assert_eq!(mux.pending(), 0);
}

#[tokio::test(start_paused = true)]
async fn timeout_then_late_response_goes_to_unhandled() {
    let mut w = wire("late");
    let r = req("0200", "TERM0001", 1);
    let got = w
        .mux
        .request(r.clone(), Duration::from_secs(30))
        .await
        .unwrap();
    assert!(got.is_none());
    assert_eq!(w.mux.stats().timeouts.load(Ordering::Relaxed), 1);
    assert_eq!(w.mux.pending(), 0);
    let sent = w.sent.recv().await.unwrap();
    // A new request with another key is pending when the late answer arrives: it must not get it.
    let mux2 = w.mux.clone();
    let other = tokio::spawn(async move {
        mux2.request(req("0200", "TERM0001", 2), Duration::from_secs(30))
            .await
    });
    tokio::task::yield_now().await;
    w.feed.send(answer(&sent)).await.unwrap();
    let late = tokio::time::timeout(WAIT, w.unhandled.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(late.get_str(11), Some("000001"));
    assert_eq!(w.mux.stats().late.load(Ordering::Relaxed), 1);
    assert!(other.await.unwrap().unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn unknown_responses_and_remote_requests_are_unhandled() {
    let mut w = wire("unhandled");
    w.feed.send(answer(&req("0200", "T9", 99))).await.unwrap();
    w.feed.send(req("0800", "T9", 1)).await.unwrap();
    for _ in 0..2 {
        tokio::time::timeout(WAIT, w.unhandled.recv())
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(w.mux.stats().unhandled.load(Ordering::Relaxed), 2);
    assert_eq!(w.mux.stats().late.load(Ordering::Relaxed), 0);
}

#[tokio::test(start_paused = true)]
async fn request_errors_name_the_mux() {
    let w = wire("errs");
    // Duplicate key while the first is pending.
    let m = w.mux.clone();
    let first = tokio::spawn(async move {
        m.request(req("0200", "T1", 1), Duration::from_secs(5))
            .await
    });
    tokio::task::yield_now().await;
    let dup = w
        .mux
        .request(req("0200", "T1", 1), Duration::from_secs(5))
        .await;
    assert!(matches!(dup, Err(MuxError::DuplicateKey { .. })), "{dup:?}");
    assert!(first.await.unwrap().unwrap().is_none());
    // No key fields.
    let none = IsoMsg::with_mti("0200").unwrap().with(3, "000000");
    let e = w
        .mux
        .request(none, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("mux errs"), "{e}");
    // Not ready.
    w.ready.send_replace(false);
    assert!(matches!(
        w.mux
            .request(req("0200", "T1", 3), Duration::from_secs(1))
            .await,
        Err(MuxError::NotReady { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_request_leaves_nothing_pending() {
    let w = wire("cancel");
    let m = w.mux.clone();
    let t = tokio::spawn(async move {
        m.request(req("0200", "T1", 1), Duration::from_secs(60))
            .await
    });
    tokio::task::yield_now().await;
    assert_eq!(w.mux.pending(), 1);
    t.abort();
    let _ = t.await;
    assert_eq!(w.mux.pending(), 0);
}

#[tokio::test(start_paused = true)]
async fn pool_fails_over_and_rotates_by_readiness() {
    let a = wire("a");
    let b = wire("b");
    let pool = MuxPool::new(
        "pool",
        vec![a.mux.clone(), b.mux.clone()],
        PoolStrategy::Failover,
    );
    assert_eq!(pool.pick().unwrap().name(), "a");
    a.ready.send_replace(false);
    assert_eq!(pool.pick().unwrap().name(), "b");
    b.ready.send_replace(false);
    assert!(pool.pick().is_none());
    assert!(matches!(
        pool.request(req("0200", "T1", 1), Duration::from_secs(1))
            .await,
        Err(MuxError::NoneReady { .. })
    ));
    a.ready.send_replace(true);
    b.ready.send_replace(true);
    let rr = MuxPool::new(
        "rr",
        vec![a.mux.clone(), b.mux.clone()],
        PoolStrategy::RoundRobin,
    );
    let names: Vec<String> = (0..4)
        .map(|_| rr.pick().unwrap().name().to_owned())
        .collect();
    assert_eq!(names, ["a", "b", "a", "b"]);
    b.ready.send_replace(false);
    assert!((0..4).all(|_| rr.pick().unwrap().name() == "a"));
}

#[tokio::test]
async fn thousand_concurrent_requests_over_tcp() {
    let spec = Spec::builtin("cmf").unwrap();
    let framing = Framing::new(LengthPrefix::Binary2);
    let host = SimHost::new(spec.clone(), None, Duration::ZERO).unwrap();
    let server = Server::start(
        ServerConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            framing.clone(),
            spec.clone(),
        ),
        RequestSink::Listener(Arc::new(host)),
    )
    .await
    .unwrap();
    let (ch, rx) = ChannelAdaptor::start(ClientConfig::new(
        server.local_addr().to_string(),
        framing,
        spec,
    ))
    .unwrap();
    assert!(ch.wait_ready(WAIT).await);
    let mux = Mux::over(MuxConfig::new("tcp"), &ch, rx);
    let mut tasks = Vec::new();
    for i in 0..1000u32 {
        let mux = mux.clone();
        tasks.push(tokio::spawn(async move {
            let r = IsoMsg::with_mti("2100")
                .unwrap()
                .with(11, format!("{i:012}"))
                .with(41, "TERM0001")
                .with(4, "8402000000001000");
            let resp = mux.request(r, WAIT).await.unwrap().expect("timeout");
            assert_eq!(resp.mti().as_str(), "2110");
            assert_eq!(resp.get_str(11), Some(format!("{i:012}").as_str()));
            assert_eq!(resp.get_str(39), Some("0000"));
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(mux.stats().matched.load(Ordering::Relaxed), 1000);
    ch.close(WAIT).await;
}
