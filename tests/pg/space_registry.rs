//! `pg:NAME` through the space registry and the `Space` trait (what deployed components use), and a
//! container deploying a `type: pg` space: a mux's unhandled messages land in PostgreSQL where another
//! node reads them; contexts on a pg space are refused at deploy time.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchyard::deploy::health::HealthBoard;
use switchyard::deploy::{Container, Services};
use switchyard::iso::{IsoMsg, Spec};
use switchyard::ledger::connect;
use switchyard::space::pg::{PgSpace, PgSpaceFactory};
use switchyard::space::{Scheme, Space, SpaceError, SpaceRegistry};
use switchyard::txn::ParticipantRegistry;
use tokio::io::AsyncWriteExt;

use crate::harness::TestDb;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Job {
    n: u32,
}

const SHORT: Duration = Duration::from_millis(50);
const LONG: Duration = Duration::from_secs(30);

/// A registry serving `pg:` on `db`, with notifications as the only prompt wake-up (fallback 1 h).
fn registry(db: &TestDb) -> SpaceRegistry<Job> {
    let reg = SpaceRegistry::new();
    reg.register_factory(
        Scheme::Pg,
        Arc::new(PgSpaceFactory::new(
            db.pool.clone(),
            Duration::from_secs(3600),
        )),
    );
    reg
}

#[tokio::test]
async fn ordering_leases_and_timeouts_through_the_registry() {
    let db = TestDb::new().await;
    let reg = registry(&db);
    let sp = reg.get("pg:jobs").unwrap();
    assert!(
        Arc::ptr_eq(&sp, &reg.get("pg:jobs").unwrap()),
        "one space per address"
    );
    for n in 1..=3 {
        sp.out("q", Job { n }, None).await.unwrap();
    }
    sp.push("q", Job { n: 0 }, None).await.unwrap();
    sp.out("q", Job { n: 99 }, Some(Duration::from_millis(1)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(sp.size("q").await.unwrap(), 4, "the leased entry expired");
    assert_eq!(sp.rdp("q").await.unwrap(), Some(Job { n: 0 }));
    let mut got = Vec::new();
    while let Some(j) = sp.inp("q").await.unwrap() {
        got.push(j.n);
    }
    assert_eq!(got, vec![0, 1, 2, 3]);
    // timeouts: nothing arrives, so None (and never earlier than asked)
    let started = std::time::Instant::now();
    assert_eq!(sp.in_("q", SHORT).await.unwrap(), None);
    assert!(started.elapsed() >= SHORT);
    assert_eq!(sp.rd("q", SHORT).await.unwrap(), None);
    assert!(sp.nrd("q", SHORT).await.unwrap());
    sp.out("q", Job { n: 5 }, None).await.unwrap();
    assert!(!sp.nrd("q", SHORT).await.unwrap(), "still holds a value");
    sp.put("q", Job { n: 6 }, None).await.unwrap();
    assert_eq!(sp.inp("q").await.unwrap(), Some(Job { n: 6 }));
    // listeners cannot hear other nodes' writes: refused, not silently deaf
    let err = sp
        .add_listener("q", Arc::new(|_: &str, _: &Job| {}))
        .unwrap_err();
    assert!(matches!(err, SpaceError::Unsupported(_)), "{err}");
    assert!(matches!(
        sp.out("", Job { n: 1 }, None).await,
        Err(SpaceError::InvalidName(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_in_is_woken_by_another_tasks_out() {
    let db = TestDb::new().await;
    let reg = registry(&db);
    let sp = reg.get("pg:wake").unwrap();
    let consumer = {
        let sp = sp.clone();
        tokio::spawn(async move { sp.in_("k", LONG).await })
    };
    let reader = {
        let sp = sp.clone();
        tokio::spawn(async move { sp.rd("peek", LONG).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // another "node": its own pool and registry
    let other = SpaceRegistry::<Job>::new();
    other.register_factory(
        Scheme::Pg,
        Arc::new(PgSpaceFactory::new(
            connect(db.options.clone(), 2).await.unwrap(),
            Duration::from_secs(3600),
        )),
    );
    let producer = other.get("pg:wake").unwrap();
    producer.out("k", Job { n: 42 }, None).await.unwrap();
    producer.out("peek", Job { n: 41 }, None).await.unwrap();
    // with a 1 h fallback, only NOTIFY can deliver these within the 30 s wait
    assert_eq!(consumer.await.unwrap().unwrap(), Some(Job { n: 42 }));
    assert_eq!(reader.await.unwrap().unwrap(), Some(Job { n: 41 }));
    assert_eq!(producer.size("peek").await.unwrap(), 1, "rd does not take");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_consumers_never_get_the_same_entry() {
    let db = TestDb::new().await;
    let a = registry(&db).get("pg:shared").unwrap();
    let b = registry(&db).get("pg:shared").unwrap();
    const N: u32 = 300;
    let producer = {
        let a = a.clone();
        tokio::spawn(async move {
            for n in 0..N {
                a.out("q", Job { n }, None).await.unwrap();
            }
        })
    };
    let take_all = |sp: Arc<dyn Space<Job>>| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(j) = sp.in_("q", Duration::from_millis(500)).await.unwrap() {
                got.push(j.n);
            }
            got
        })
    };
    let (ca, cb) = (take_all(a.clone()), take_all(b.clone()));
    producer.await.unwrap();
    let (ga, gb) = (ca.await.unwrap(), cb.await.unwrap());
    let sa: BTreeSet<u32> = ga.iter().copied().collect();
    let sb: BTreeSet<u32> = gb.iter().copied().collect();
    assert!(sa.is_disjoint(&sb), "an entry went to both consumers");
    assert_eq!(ga.len() + gb.len(), N as usize);
    assert_eq!(sa.union(&sb).count(), N as usize);
}

#[tokio::test]
async fn a_value_of_the_wrong_shape_is_an_error_and_stays_stored() {
    let db = TestDb::new().await;
    let jobs = registry(&db).get("pg:shape").unwrap();
    jobs.out("k", Job { n: 1 }, None).await.unwrap();
    let numbers: PgSpace<u64> = PgSpace::open(db.pool.clone(), "shape").await.unwrap();
    let err = numbers.inp("k").await.unwrap_err().to_string();
    assert!(
        err.contains("\"shape\"") && err.contains("serialization"),
        "{err}"
    );
    assert_eq!(jobs.inp("k").await.unwrap(), Some(Job { n: 1 }), "not lost");
}

fn services() -> Services {
    Services {
        health: Arc::new(HealthBoard::default()),
        prometheus: None,
        logging: None,
        spaces: Default::default(),
    }
}

fn write(dir: &std::path::Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).expect("write descriptor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployed_pg_space_takes_a_muxs_unhandled_messages() {
    let db = TestDb::new().await;
    // A host that sends an unsolicited 0800 (nobody waits for it) as soon as the channel connects.
    let host = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = host.local_addr().unwrap().port();
    let spec = Spec::builtin("iso87ascii").unwrap();
    let unsolicited = IsoMsg::with_mti("0800")
        .unwrap()
        .with(11, "000777")
        .with(41, "TERM0001")
        .with(70, "301");
    let packed = spec.pack(&unsolicited).unwrap();
    let host_task = tokio::spawn(async move {
        let (mut s, _) = host.accept().await.unwrap();
        let mut frame = format!("{:04}", packed.len()).into_bytes();
        frame.extend_from_slice(&packed);
        // again and again: the channel may connect before the mux (next file) subscribes to it
        loop {
            if s.write_all(&frame).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "10_ledger.yml",
        &format!("kind: ledger\nname: ledger\nurl: \"{}\"\n", db.url()),
    );
    write(
        d,
        "20_space.yml",
        "kind: space\nname: saf\ntype: pg\nledger: ledger\n",
    );
    write(
        d,
        "30_channel.yml",
        &format!("kind: channel\nname: host\ntarget: 127.0.0.1:{port}\nframing: ascii4\nspec: iso87ascii\n"),
    );
    write(
        d,
        "40_mux.yml",
        "kind: mux\nname: host-mux\nchannel: host\nunhandled: { space: \"pg:saf\", queue: host.unhandled }\n",
    );
    let services = services();
    let spaces = services.spaces.clone();
    let c = Container::new(d, Arc::new(ParticipantRegistry::with_builtins()), services);
    c.deploy_all().await.expect("deploys");
    assert!(
        spaces.get("pg:saf").is_ok(),
        "pg: is served once a pg space is deployed"
    );

    // another node reads the durable queue straight from the database
    let node2: PgSpace<IsoMsg> =
        PgSpace::open(connect(db.options.clone(), 2).await.unwrap(), "saf")
            .await
            .unwrap();
    let got = node2
        .in_("host.unhandled", LONG)
        .await
        .unwrap()
        .expect("unhandled message stored");
    assert_eq!(got.mti().to_string(), "0800");
    assert_eq!(got.get_str(11), Some("000777"));
    assert_eq!(got.get_str(70), Some("301"));

    c.shutdown(Duration::from_secs(5)).await;
    assert!(
        spaces.get("pg:saf").is_err(),
        "undeploying stops serving pg:"
    );
    host_task.abort();
}

#[tokio::test]
async fn contexts_on_a_pg_space_are_a_deploy_time_error() {
    let db = TestDb::new().await;
    let registry = Arc::new(ParticipantRegistry::with_builtins());
    for (txn_space, want) in [
        ("saf", "cannot be stored in PostgreSQL"),
        ("\"pg:saf\"", "cannot be stored in a PostgreSQL space"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "10_ledger.yml",
            &format!("kind: ledger\nname: ledger\nurl: \"{}\"\n", db.url()),
        );
        write(
            d,
            "20_space.yml",
            "kind: space\nname: saf\ntype: pg\nledger: ledger\n",
        );
        write(
            d,
            "30_txnmgr.yml",
            &format!("kind: txnmgr\nname: txnmgr\nspace: {txn_space}\n"),
        );
        let c = Container::new(d, registry.clone(), services());
        let err = c.deploy_all().await.expect_err("refused").to_string();
        assert!(err.contains("30_txnmgr.yml") && err.contains(want), "{err}");
    }
    // `deploy check` sees the pg: address without starting anything
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "10_space.yml",
        "kind: space\nname: saf\ntype: pg\nurl: \"postgres://x@localhost/db\"\n",
    );
    write(dir.path(), "20_server.yml",
        "kind: server\nname: pos\nlisten: 127.0.0.1:1\nframing: binary2\nspec: cmf\nspace: \"pg:saf\"\nqueue: txnmgr.in\n");
    let errors = switchyard::deploy::check_dir(dir.path(), &registry);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].to_string().contains("reply handle"),
        "{}",
        errors[0]
    );
}

#[tokio::test]
async fn txnmgr_recovery_store_in_the_ledger_database() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "10_ledger.yml",
        &format!("kind: ledger\nname: ledger\nurl: \"{}\"\n", db.url()),
    );
    write(d, "20_space.yml", "kind: space\nname: default\n");
    write(
        d,
        "30_txnmgr.yml",
        "kind: txnmgr\nname: txnmgr\npersistent-space: pg:node1-txnmgr\npersistent-ledger: ledger\n",
    );
    let c = Container::new(
        d,
        Arc::new(ParticipantRegistry::with_builtins()),
        services(),
    );
    c.deploy_all().await.expect("deploys");
    c.shutdown(Duration::from_secs(5)).await;
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT record::text FROM txn_recovery WHERE store = 'node1-txnmgr'")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert!(rows.len() == 1 && rows[0].contains("highwater"), "{rows:?}");
    // pg: without a database is refused before anything starts
    write(
        d,
        "30_txnmgr.yml",
        "kind: txnmgr\nname: txnmgr\npersistent-space: pg:node1-txnmgr\n",
    );
    let errors = switchyard::deploy::check_dir(d, &ParticipantRegistry::with_builtins());
    assert!(
        errors
            .iter()
            .any(|e| e.to_string().contains("persistent-ledger")),
        "{errors:?}"
    );
}
