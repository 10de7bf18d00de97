//! `core.QueryHost` over real TCP on 127.0.0.1: a sim host behind a channel adaptor and a mux (or a mux
//! pool), a transaction manager running [QueryHost, CheckResponse]. Covers the answered path, the timeout
//! (with the late answer counted by the mux and never delivered to another waiter), an unconnected mux,
//! and many paused transactions on two sessions.

use std::any::Any;
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use switchyard::channel::{ChannelAdaptor, ClientConfig, Framing, LengthPrefix, RequestSink};
use switchyard::channel::{Server, ServerConfig};
use switchyard::iso::Spec;
use switchyard::mux::{Mux, MuxConfig, MuxPool, PoolStrategy};
use switchyard::sim::{RequestFactory, SimHost};
use switchyard::space::TSpace;
use switchyard::txn::{
    Action, Chain, Context, FactoryInput, Outcome, Participant, ParticipantRegistry, Resources,
    ResultCode, TransactionManager, TxnConfig, EXTENDED_RESULT, REQUEST, RESPONSE, RESULT_CODE,
};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(30);

/// Votes PREPARED only if `RESPONSE` answers `REQUEST` (response MTI, same STAN and terminal, DE 39
/// approved); else aborts with 1812. Counts its prepares.
struct CheckResponse {
    prepared: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl Participant for CheckResponse {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        self.prepared.fetch_add(1, Ordering::Relaxed);
        let ok = match (ctx.get(&REQUEST), ctx.get(&RESPONSE)) {
            (Some(req), Some(resp)) => {
                resp.mti() == req.mti().response()
                    && resp.get_str(11) == req.get_str(11)
                    // The CMF packager pads DE 41 on the wire.
                    && resp.get_str(41).map(str::trim_end) == req.get_str(41)
                    && resp.get_str(39) == Some("0000")
            }
            _ => false,
        };
        if ok {
            Action::PREPARED | Action::READONLY
        } else {
            ctx.put(&RESULT_CODE, ResultCode::SYSTEM_ERROR);
            Action::ABORTED
        }
    }
}

/// The deployed components a participant may look up, as the container would publish them.
struct Deployed(Vec<(&'static str, &'static str, Arc<dyn Any + Send + Sync>)>);

impl Resources for Deployed {
    fn lookup(&self, kind: &str, name: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        self.0
            .iter()
            .find(|(k, n, _)| *k == kind && *n == name)
            .map(|(_, _, h)| Arc::clone(h))
    }
}

fn spec() -> Arc<Spec> {
    Spec::builtin("cmf").expect("cmf spec")
}

fn framing() -> Framing {
    Framing::new(LengthPrefix::Binary2)
}

/// A sim host on 127.0.0.1:0 answering after `delay`.
async fn sim_host(delay: Duration) -> (Server, Arc<SimHost>) {
    let host = Arc::new(SimHost::new(spec(), None, delay).expect("sim host"));
    let server = Server::start(
        ServerConfig::new("127.0.0.1:0".parse().expect("addr"), framing(), spec()),
        RequestSink::Listener(host.clone()),
    )
    .await
    .expect("sim host listens");
    (server, host)
}

/// A channel adaptor and mux to `target`.
fn mux_to(target: String) -> (ChannelAdaptor, Mux) {
    let (ch, rx) = ChannelAdaptor::start(ClientConfig::new(target, framing(), spec()))
        .expect("channel starts");
    let mux = Mux::over(MuxConfig::new("upstream"), &ch, rx);
    (ch, mux)
}

/// A manager running [core.QueryHost (built by the registry from `cfg`), check] and a feed of
/// finished transactions.
async fn manager(
    resources: &Deployed,
    cfg: &str,
    check: Option<Arc<CheckResponse>>,
    sessions: usize,
) -> (
    TransactionManager,
    mpsc::UnboundedReceiver<(Outcome, Context)>,
) {
    let cfg: serde_yaml::Value = serde_yaml::from_str(cfg).expect("yaml");
    let registry = ParticipantRegistry::with_builtins();
    let qh = registry
        .create(&FactoryInput::new("core.QueryHost", &cfg, resources))
        .expect("core.QueryHost builds");
    let mut list = vec![("core.QueryHost".to_owned(), qh)];
    if let Some(c) = check {
        list.push(("check".to_owned(), c as Arc<dyn Participant>));
    }
    let chain = Chain::new(list, vec![]).expect("chain");
    let (tx, rx) = mpsc::unbounded_channel();
    let listener = move |_id: u64, o: Outcome, ctx: &Context| {
        let _ = tx.send((o, ctx.clone()));
    };
    let txn_cfg = TxnConfig {
        sessions,
        max_active: 512,
        ..TxnConfig::default()
    };
    let mgr = TransactionManager::builder(txn_cfg, Arc::new(TSpace::new()), chain)
        .status_listener(Arc::new(listener))
        .start()
        .await
        .expect("manager starts");
    (mgr, rx)
}

fn request(stan: u64) -> Context {
    let f = RequestFactory::new(spec(), "2100".parse().expect("mti"), "TERM0001", "MERCHANT");
    let mut ctx = Context::new();
    ctx.put(&REQUEST, f.build(stan));
    ctx
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(Outcome, Context)>) -> (Outcome, Context) {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a transaction finishes in time")
        .expect("manager alive")
}

fn check() -> Arc<CheckResponse> {
    Arc::new(CheckResponse {
        prepared: Default::default(),
    })
}

#[tokio::test]
async fn host_response_lands_in_the_context_through_a_mux_and_a_pool() {
    let (server, host) = sim_host(Duration::ZERO).await;
    let (ch, mux) = mux_to(server.local_addr().to_string());
    assert!(ch.wait_ready(WAIT).await, "channel connects");
    let pool = MuxPool::new("pool", vec![mux.clone()], PoolStrategy::Failover);
    let deployed = Deployed(vec![
        ("mux", "upstream", Arc::new(mux.clone())),
        ("mux-pool", "pool", Arc::new(pool)),
    ]);
    for (target, stan) in [("upstream", 1), ("pool", 2)] {
        let c = check();
        let (mgr, mut done) = manager(
            &deployed,
            &format!("{{ mux: {target}, timeout: 5000 }}"),
            Some(c.clone()),
            2,
        )
        .await;
        mgr.queue(request(stan)).await.expect("queue");
        let (outcome, ctx) = next(&mut done).await;
        assert_eq!(
            outcome,
            Outcome::Committed,
            "{target}: {:?} -> {:?}",
            ctx.get(&REQUEST).map(ToString::to_string),
            ctx.get(&RESPONSE).map(ToString::to_string)
        );
        let resp = ctx.get(&RESPONSE).expect("response in context");
        assert_eq!(resp.mti().as_str(), "2110");
        assert_eq!(
            resp.get_str(11),
            Some(format!("{stan:012}").as_str()),
            "{target}"
        );
        assert!(!resp.has(2), "the host does not echo the PAN");
        assert_eq!(
            c.prepared.load(Ordering::Relaxed),
            1,
            "the next participant ran once after resume"
        );
        mgr.stop(WAIT).await.expect("stops");
    }
    assert_eq!(host.stats().answered.load(Ordering::Relaxed), 2);
    assert_eq!(mux.stats().matched.load(Ordering::Relaxed), 2);
    ch.close(WAIT).await;
}

#[tokio::test]
async fn timeout_aborts_and_the_late_answer_reaches_nobody_else() {
    // The host answers after 600 ms: a 100 ms query times out, a 10 s one gets its own answer.
    let (server, host) = sim_host(Duration::from_millis(600)).await;
    let (ch, mux) = mux_to(server.local_addr().to_string());
    assert!(ch.wait_ready(WAIT).await);
    let deployed = Deployed(vec![("mux", "upstream", Arc::new(mux.clone()))]);
    let short_check = check();
    let (short, mut short_done) = manager(
        &deployed,
        "{ mux: upstream, timeout: 100 }",
        Some(short_check.clone()),
        1,
    )
    .await;
    let (long, mut long_done) = manager(
        &deployed,
        "{ mux: upstream, timeout: 10000 }",
        Some(check()),
        1,
    )
    .await;
    let started = Instant::now();
    short.queue(request(7)).await.expect("queue");
    long.queue(request(8)).await.expect("queue");
    let (outcome, ctx) = next(&mut short_done).await;
    assert_eq!(outcome, Outcome::Aborted);
    assert_eq!(ctx.get(&RESULT_CODE), Some(&ResultCode::ISSUER_TIMEOUT));
    assert!(
        ctx.get(&EXTENDED_RESULT)
            .is_some_and(|t| t.contains("does not respond within 100 ms")),
        "{:?}",
        ctx.get(&EXTENDED_RESULT)
    );
    assert!(!ctx.has(&RESPONSE));
    assert_eq!(
        short_check.prepared.load(Ordering::Relaxed),
        0,
        "after the abort vote the rest is not prepared"
    );
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "did not wait for the host"
    );

    let (outcome, ctx) = next(&mut long_done).await;
    assert_eq!(outcome, Outcome::Committed, "{ctx:?}");
    assert_eq!(
        ctx.get(&RESPONSE).and_then(|r| r.get_str(11)),
        Some("000000000008"),
        "its own answer, not the late one for STAN 7"
    );
    let deadline = Instant::now() + WAIT;
    while mux.stats().late.load(Ordering::Relaxed) == 0 {
        assert!(Instant::now() < deadline, "late answer never counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(mux.stats().late.load(Ordering::Relaxed), 1);
    assert_eq!(mux.stats().timeouts.load(Ordering::Relaxed), 1);
    assert_eq!(mux.stats().matched.load(Ordering::Relaxed), 1);
    assert_eq!(host.stats().answered.load(Ordering::Relaxed), 2);
    ch.close(WAIT).await;
}

#[tokio::test]
async fn an_unconnected_mux_aborts_with_host_unreachable() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let (ch, mux) = mux_to(format!("127.0.0.1:{port}"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!mux.is_ready(), "nothing listens on {port}");
    let deployed = Deployed(vec![("mux", "upstream", Arc::new(mux.clone()))]);
    let c = check();
    let (mgr, mut done) = manager(&deployed, "{ mux: upstream }", Some(c.clone()), 1).await;
    mgr.queue(request(1)).await.expect("queue");
    let (outcome, ctx) = next(&mut done).await;
    assert_eq!(outcome, Outcome::Aborted);
    assert_eq!(ctx.get(&RESULT_CODE), Some(&ResultCode::HOST_UNREACHABLE));
    assert_eq!(
        ctx.get(&EXTENDED_RESULT).map(String::as_str),
        Some("'upstream' is not connected")
    );
    assert_eq!(c.prepared.load(Ordering::Relaxed), 0);
    assert_eq!(mux.stats().sent.load(Ordering::Relaxed), 0);

    // jPOS `ignore-host-unreachable`: continue without a response.
    let (mgr, mut done) = manager(
        &deployed,
        "{ mux: upstream, ignore-host-unreachable: true }",
        None,
        1,
    )
    .await;
    mgr.queue(request(2)).await.expect("queue");
    let (outcome, ctx) = next(&mut done).await;
    assert_eq!(outcome, Outcome::Committed);
    assert!(!ctx.has(&RESPONSE) && !ctx.has(&RESULT_CODE));
    ch.close(WAIT).await;
}

#[tokio::test]
async fn two_hundred_paused_transactions_on_two_sessions_all_complete() {
    const N: u64 = 200;
    const DELAY: Duration = Duration::from_millis(300);
    let (server, host) = sim_host(DELAY).await;
    let (ch, mux) = mux_to(server.local_addr().to_string());
    assert!(ch.wait_ready(WAIT).await);
    let deployed = Deployed(vec![("mux", "upstream", Arc::new(mux.clone()))]);
    let c = check();
    let (mgr, mut done) = manager(
        &deployed,
        "{ mux: upstream, timeout: 20000 }",
        Some(c.clone()),
        2,
    )
    .await;
    let started = Instant::now();
    for stan in 1..=N {
        mgr.queue(request(stan)).await.expect("queue");
    }
    let mut most_pending = 0;
    let mut committed = 0;
    let mut stans = std::collections::BTreeSet::new();
    while committed < N {
        most_pending = most_pending.max(mux.pending());
        match tokio::time::timeout(Duration::from_millis(5), done.recv()).await {
            Ok(Some((outcome, ctx))) => {
                assert_eq!(outcome, Outcome::Committed, "{ctx:?}");
                let stan = ctx.get(&RESPONSE).and_then(|r| r.get_string(11));
                assert!(
                    stans.insert(stan.expect("response STAN")),
                    "one answer each"
                );
                committed += 1;
            }
            Ok(None) => panic!("manager gone"),
            Err(_) => assert!(started.elapsed() < WAIT, "{committed} of {N} done"),
        }
    }
    let elapsed = started.elapsed();
    // Holding a worker per wait, 2 sessions would need N / 2 × 300 ms = 30 s.
    assert!(
        most_pending > 2,
        "only {most_pending} requests were ever outstanding at once"
    );
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");
    assert_eq!(c.prepared.load(Ordering::Relaxed), N as usize);
    assert_eq!(host.stats().answered.load(Ordering::Relaxed), N);
    assert_eq!(mgr.in_flight(), 0);
    eprintln!(
        "{N} transactions, host delay {DELAY:?}, 2 sessions: {elapsed:?}, at most {most_pending} outstanding"
    );
    ch.close(WAIT).await;
}
