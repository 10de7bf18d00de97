//! Manager behaviour: flag combinations, abort ordering, groups, RETRY, PAUSE, back-pressure, stop.

use std::sync::Arc;
use std::time::Duration;

use super::chain::{Named, NamedGroup};
use super::testkit::{list, log, Harness, Scripted, RESUMED_BY};
use super::*;

const P: Action = Action::PREPARED;
const A: Action = Action::ABORTED;
const MS: Duration = Duration::from_millis(1);

fn cfg() -> TxnConfig {
    TxnConfig {
        sessions: 1,
        max_active: 16,
        ..TxnConfig::default()
    }
}

/// (description, participants as (name, prepare action, prepare_for_abort action), expected log, outcome)
type Case = (
    &'static str,
    Vec<(&'static str, Action, Option<Action>)>,
    Vec<&'static str>,
    Outcome,
);

#[tokio::test(start_paused = true)]
async fn flag_combinations() {
    let cases: Vec<Case> = vec![
        (
            "all prepared: commit in prepare order",
            vec![("a", P, None), ("b", P, None), ("c", P, None)],
            vec!["prepare:a", "prepare:b", "prepare:c", "commit:a", "commit:b", "commit:c"],
            Outcome::Committed,
        ),
        (
            "abort vote: joined ones (including the voter) abort in prepare order; plain ones skipped",
            vec![("a", P, None), ("b", A, None), ("c", P, None)],
            vec!["prepare:a", "prepare:b", "abort:a", "abort:b"],
            Outcome::Aborted,
        ),
        (
            "abort participant after the vote gets prepare_for_abort and then abort",
            vec![("a", P, None), ("b", A, None), ("c", P, Some(P))],
            vec!["prepare:a", "prepare:b", "pfa:c", "abort:a", "abort:b", "abort:c"],
            Outcome::Aborted,
        ),
        (
            "abort participant answering NO_JOIN is not aborted",
            vec![("a", A, None), ("c", P, Some(A | Action::NO_JOIN))],
            vec!["prepare:a", "pfa:c", "abort:a"],
            Outcome::Aborted,
        ),
        (
            "voter with NO_JOIN gets no abort",
            vec![("a", P, None), ("b", A | Action::NO_JOIN, None)],
            vec!["prepare:a", "prepare:b", "abort:a"],
            Outcome::Aborted,
        ),
        (
            "NO_JOIN on commit path: no commit for it",
            vec![("a", P | Action::NO_JOIN, None), ("b", P, None)],
            vec!["prepare:a", "prepare:b", "commit:b"],
            Outcome::Committed,
        ),
        (
            "READONLY still joins",
            vec![("a", P | Action::READONLY, None), ("b", P | Action::READONLY | Action::NO_JOIN, None)],
            vec!["prepare:a", "prepare:b", "commit:a"],
            Outcome::Committed,
        ),
        (
            "abort participant before the vote is prepared normally",
            vec![("a", P, Some(P)), ("b", A, None)],
            vec!["prepare:a", "prepare:b", "abort:a", "abort:b"],
            Outcome::Aborted,
        ),
    ];
    for (desc, parts, want, outcome) in cases {
        let l = log();
        let ps = parts
            .into_iter()
            .map(|(n, a, pfa)| {
                let s = Scripted::new(n, &l, &[a]);
                match pfa {
                    Some(x) => s.abort_participant(x),
                    None => s,
                }
            })
            .collect();
        let chain = Chain::new(list(ps), vec![]).expect("chain");
        let mut h = Harness::start(cfg(), chain).await;
        h.mgr.queue(Context::new()).await.expect("queue");
        let (_, got, _) = h.next().await;
        assert_eq!(got, outcome, "{desc}");
        assert_eq!(*l.lock(), want, "{desc}");
        h.mgr.stop(Duration::from_secs(1)).await.expect("stops");
    }
}

fn routed_chain(l: &super::testkit::Log, first: Action) -> (Vec<Named>, Vec<NamedGroup>) {
    let sel = MtiPcodeSelector::new([
        ("100", vec!["auth".to_owned(), "respond".to_owned()]),
        ("default", vec!["respond".to_owned()]),
    ])
    .expect("routes");
    let main: Vec<Named> = vec![
        (
            "first".into(),
            Arc::new(Scripted::new("first", l, &[first])),
        ),
        ("switch".into(), Arc::new(sel)),
        (
            "last".into(),
            Arc::new(Scripted::new("last", l, &[P]).abort_participant(P)),
        ),
    ];
    let groups = vec![
        (
            "auth".to_owned(),
            list(vec![Scripted::new("auth", l, &[P])]),
        ),
        (
            "respond".to_owned(),
            list(vec![Scripted::new("respond", l, &[P]).abort_participant(P)]),
        ),
    ];
    (main, groups)
}

fn request(mti: &str, pcode: &str) -> Context {
    let mut ctx = Context::new();
    ctx.put(
        &REQUEST,
        crate::iso::IsoMsg::with_mti(mti)
            .expect("mti")
            .with(3, pcode),
    );
    ctx
}

#[tokio::test(start_paused = true)]
async fn selector_splices_groups_before_the_rest() {
    let l = log();
    let (main, groups) = routed_chain(&l, P);
    let mut h = Harness::start(cfg(), Chain::new(main, groups).expect("chain")).await;
    h.mgr.queue(request("2100", "000000")).await.expect("queue");
    assert_eq!(h.next().await.1, Outcome::Committed);
    let want = [
        "prepare:first",
        "prepare:auth",
        "prepare:respond",
        "prepare:last",
        "commit:first",
        "commit:auth",
        "commit:respond",
        "commit:last",
    ];
    assert_eq!(*l.lock(), want);
    l.lock().clear();
    h.mgr.queue(request("2800", "000000")).await.expect("queue");
    h.next().await;
    assert_eq!(
        l.lock()[..3],
        ["prepare:first", "prepare:respond", "prepare:last"],
        "default route"
    );
}

#[tokio::test(start_paused = true)]
async fn selector_runs_after_abort_so_abort_aware_groups_respond() {
    for (call_on_abort, want) in [
        (
            true,
            vec![
                "prepare:first",
                "pfa:respond",
                "pfa:last",
                "abort:first",
                "abort:respond",
                "abort:last",
            ],
        ),
        (
            false,
            vec!["prepare:first", "pfa:last", "abort:first", "abort:last"],
        ),
    ] {
        let l = log();
        let (main, groups) = routed_chain(&l, A);
        let cfg = TxnConfig {
            call_selector_on_abort: call_on_abort,
            ..cfg()
        };
        let mut h = Harness::start(cfg, Chain::new(main, groups).expect("chain")).await;
        h.mgr.queue(request("2100", "000000")).await.expect("queue");
        assert_eq!(h.next().await.1, Outcome::Aborted);
        assert_eq!(*l.lock(), want, "call_selector_on_abort={call_on_abort}");
    }
}

#[test]
fn unknown_group_is_a_deploy_error() {
    let sel = MtiPcodeSelector::new([("200", vec!["financial".to_owned()])]).expect("routes");
    let err = Chain::new(
        vec![("switch".into(), Arc::new(sel) as Arc<dyn Participant>)],
        vec![],
    )
    .err();
    assert_eq!(
        err,
        Some(ChainError::UnknownGroup {
            participant: "switch".into(),
            group: "financial".into()
        })
    );
    let l = log();
    let dup = Chain::new(
        vec![],
        vec![
            ("g".into(), vec![]),
            ("g".into(), list(vec![Scripted::new("x", &l, &[P])])),
        ],
    );
    assert!(matches!(dup.err(), Some(ChainError::DuplicateGroup(_))));
}

#[tokio::test(start_paused = true)]
async fn selector_loop_is_cut_off() {
    let sel = MtiPcodeSelector::new([("default", vec!["again".to_owned()])]).expect("routes");
    let sel: Arc<dyn Participant> = Arc::new(sel);
    let chain = Chain::new(
        vec![("s".into(), Arc::clone(&sel))],
        vec![("again".into(), vec![("s".into(), sel)])],
    )
    .expect("chain");
    let mut h = Harness::start(cfg(), chain).await;
    h.mgr.queue(Context::new()).await.expect("queue");
    assert_eq!(h.next().await.1, Outcome::Aborted);
}

#[tokio::test(start_paused = true)]
async fn retry_requeues_after_interval_without_aborting() {
    let l = log();
    let ps = list(vec![
        Scripted::new("a", &l, &[P]),
        Scripted::new("flaky", &l, &[A | Action::RETRY, A | Action::RETRY, P]),
    ]);
    let cfg = TxnConfig {
        retry_interval: 100 * MS,
        retry_timeout: Duration::from_secs(10),
        ..cfg()
    };
    let mut h = Harness::start(cfg, Chain::new(ps, vec![]).expect("chain")).await;
    let started = tokio::time::Instant::now();
    h.mgr.queue(Context::new()).await.expect("queue");
    let (id1, o1, _) = h.next().await;
    let (id2, o2, _) = h.next().await;
    let (id3, o3, _) = h.next().await;
    assert_eq!(
        [o1, o2, o3],
        [Outcome::Retried, Outcome::Retried, Outcome::Committed]
    );
    assert!(
        id1 < id2 && id2 < id3,
        "each attempt gets a fresh, larger id"
    );
    assert!(started.elapsed() >= 200 * MS, "two retry intervals passed");
    assert!(
        !l.lock().iter().any(|e| e.starts_with("abort")),
        "RETRY aborts no one: {:?}",
        l.lock()
    );
    assert_eq!(
        l.lock().iter().filter(|e| e.starts_with("commit")).count(),
        2
    );
}

#[tokio::test(start_paused = true)]
async fn retry_past_timeout_aborts() {
    let l = log();
    let ps = list(vec![
        Scripted::new("a", &l, &[P]),
        Scripted::new("flaky", &l, &[A | Action::RETRY]),
    ]);
    let cfg = TxnConfig {
        retry_interval: 100 * MS,
        retry_timeout: 250 * MS,
        ..cfg()
    };
    let mut h = Harness::start(cfg, Chain::new(ps, vec![]).expect("chain")).await;
    h.mgr.queue(Context::new()).await.expect("queue");
    let outcomes = [h.next().await.1, h.next().await.1, h.next().await.1];
    assert_eq!(
        outcomes,
        [Outcome::Retried, Outcome::Retried, Outcome::Aborted]
    );
    assert_eq!(
        l.lock().iter().filter(|e| e.starts_with("abort")).count(),
        2
    );
}

#[tokio::test(start_paused = true)]
async fn pause_frees_the_worker_and_resumes_with_the_next_participant() {
    let l = log();
    let ps = list(vec![
        Scripted::new("waits", &l, &[P | Action::PAUSE, P]).resuming_after(500 * MS),
        Scripted::new("after", &l, &[P]),
    ]);
    // One session: the second transaction can only finish first if the paused one holds no worker.
    let mut h = Harness::start(cfg(), Chain::new(ps, vec![]).expect("chain")).await;
    let started = tokio::time::Instant::now();
    h.mgr.queue(Context::new()).await.expect("queue");
    h.mgr.queue(Context::new()).await.expect("queue");
    let (first_id, o1, ctx1) = h.next().await;
    let (second_id, o2, ctx2) = h.next().await;
    assert_eq!((o1, o2), (Outcome::Committed, Outcome::Committed));
    assert!(
        second_id < first_id,
        "the unpaused transaction finished while the other was parked"
    );
    assert_eq!(ctx1.get(&RESUMED_BY), None);
    assert_eq!(
        ctx2.get(&RESUMED_BY),
        Some(&"waits"),
        "resume_with edits the context"
    );
    assert!(started.elapsed() >= 500 * MS);
}

#[tokio::test(start_paused = true)]
async fn abort_with_turns_the_pause_into_an_abort_vote() {
    let l = log();
    let ps = list(vec![
        Scripted::new("waits", &l, &[P | Action::PAUSE])
            .resuming_after(200 * MS)
            .aborting_on_resume(),
        Scripted::new("after", &l, &[P]),
        Scripted::new("responder", &l, &[P]).abort_participant(P),
    ]);
    let mut h = Harness::start(cfg(), Chain::new(ps, vec![]).expect("chain")).await;
    h.mgr.queue(Context::new()).await.expect("queue");
    let (_, outcome, ctx) = h.next().await;
    assert_eq!(outcome, Outcome::Aborted);
    assert_eq!(
        ctx.get(&RESUMED_BY),
        Some(&"waits"),
        "the context edit applies"
    );
    assert_eq!(
        *l.lock(),
        [
            "prepare:waits",
            "pfa:responder",
            "abort:waits",
            "abort:responder"
        ],
        "the rest get prepare_for_abort, not prepare"
    );
}

#[tokio::test(start_paused = true)]
async fn pause_timeout_aborts() {
    let l = log();
    let ps = list(vec![
        Scripted::new("waits", &l, &[P | Action::PAUSE]),
        Scripted::new("after", &l, &[P]),
    ]);
    let cfg = TxnConfig {
        pause_timeout: 300 * MS,
        ..cfg()
    };
    let mut h = Harness::start(cfg, Chain::new(ps, vec![]).expect("chain")).await;
    let started = tokio::time::Instant::now();
    h.mgr.queue(Context::new()).await.expect("queue");
    assert_eq!(h.next().await.1, Outcome::Aborted);
    assert!(started.elapsed() >= 300 * MS);
    assert_eq!(*l.lock(), ["prepare:waits", "abort:waits"]);
}

#[tokio::test(start_paused = true)]
async fn max_active_applies_back_pressure() {
    let l = log();
    let ps = list(vec![
        Scripted::new("waits", &l, &[P | Action::PAUSE]).resuming_after(Duration::from_secs(1))
    ]);
    let cfg = TxnConfig {
        sessions: 4,
        max_active: 2,
        ..cfg()
    };
    let mut h = Harness::start(cfg, Chain::new(ps, vec![]).expect("chain")).await;
    for _ in 0..5 {
        h.mgr.queue(Context::new()).await.expect("queue");
    }
    tokio::time::sleep(100 * MS).await;
    assert_eq!(h.mgr.in_flight(), 2);
    assert_eq!(h.space.size("txnmgr.in"), 3, "the rest stay queued");
    for _ in 0..5 {
        assert_eq!(h.next().await.1, Outcome::Committed);
    }
    assert_eq!(h.mgr.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn stop_lets_in_flight_work_finish() {
    let l = log();
    let ps = list(vec![
        Scripted::new("waits", &l, &[P | Action::PAUSE]).resuming_after(200 * MS)
    ]);
    let mut h = Harness::start(cfg(), Chain::new(ps, vec![]).expect("chain")).await;
    h.mgr.queue(Context::new()).await.expect("queue");
    tokio::time::sleep(10 * MS).await;
    assert_eq!(h.mgr.in_flight(), 1);
    h.mgr.stop(Duration::from_secs(5)).await.expect("drains");
    assert_eq!(h.next().await.1, Outcome::Committed);
    h.mgr.queue(Context::new()).await.expect("queue");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        h.space.size("txnmgr.in"),
        1,
        "stopped manager takes nothing new"
    );
}

#[tokio::test(start_paused = true)]
async fn ids_are_monotonic_across_sessions() {
    let l = log();
    let ps = list(vec![Scripted::new("a", &l, &[P])]);
    let cfg = TxnConfig {
        sessions: 4,
        ..cfg()
    };
    let mut h = Harness::start(cfg, Chain::new(ps, vec![]).expect("chain")).await;
    for _ in 0..50 {
        h.mgr.queue(Context::new()).await.expect("queue");
    }
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(h.next().await.0);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50, "no id repeats");
}

/// Panics in prepare.
struct Boom;

#[async_trait::async_trait]
impl Participant for Boom {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        if ctx.has(&BOOM) {
            panic!("participant bug");
        }
        Action::PREPARED
    }
}

const BOOM: Key<()> = Key::new("BOOM");

#[tokio::test(start_paused = true)]
async fn a_panicking_participant_aborts_its_transaction_not_the_worker() {
    let l = log();
    let mut ps = list(vec![Scripted::new("a", &l, &[P])]);
    ps.push(("boom".into(), Arc::new(Boom)));
    let mut h = Harness::start(cfg(), Chain::new(ps, vec![]).expect("chain")).await;
    let mut bad = Context::new();
    bad.put(&BOOM, ());
    h.mgr.queue(bad).await.expect("queue");
    assert_eq!(h.next().await.1, Outcome::Aborted);
    assert_eq!(*l.lock(), ["prepare:a", "abort:a"]);
    h.mgr.queue(Context::new()).await.expect("queue");
    assert_eq!(
        h.next().await.1,
        Outcome::Committed,
        "the single worker survived"
    );
}
