//! The shared database calls (`batched`: their own threads and connections) when PostgreSQL goes
//! away mid-run: every call answers a connection error within the pool's acquire timeout (no hang,
//! nothing half-written), and once the server is back the same batchers work again without a
//! process restart.

use std::time::{Duration, Instant};

use switchyard::ledger::cluster::PrivateCluster;
use switchyard::ledger::{connect, create_database, migrate, AccountCode, Layer, NewTransaction};
use switchyard_participants::batched::{Batches, GroupPost};
use switchyard_participants::store::NewTranlog;
use switchyard_participants::{fixtures, PanKey};

const ALICE: &str = "6009330000000025";

fn row(stan: u32) -> NewTranlog {
    NewTranlog {
        mti: "2100".into(),
        pcode: "000000".into(),
        txn_type: "Authorization".into(),
        stan: format!("{stan:012}"),
        transmission: format!("1123{stan:06}"),
        acquirer: "000001".into(),
        tid: "29110001".into(),
        ..NewTranlog::default()
    }
}

fn hold(amount: i64) -> NewTransaction {
    let pending = Layer::new(840, 1000).expect("layer");
    NewTransaction::new("jcard", "outage test")
        .debit(
            &AccountCode::new("21.0001.20").expect("code"),
            amount.into(),
            pending,
        )
        .credit(
            &AccountCode::new("22.001.00840").expect("code"),
            amount.into(),
            pending,
        )
}

/// Insert a row, find a card, post a hold; true if all three worked. `posted` counts the holds.
async fn all_work(b: &Batches, key: &PanKey, stan: u32, posted: &mut i64) -> bool {
    let inserted = matches!(b.insert_tranlog(row(stan)).await, Ok(Ok(_)));
    let found = matches!(b.find_card(key.hash(ALICE)).await, Ok(Some(_)));
    let ok = b
        .post(GroupPost {
            txn: hold(1),
            tranlog: None,
        })
        .await
        .is_ok();
    *posted += i64::from(ok);
    inserted && found && ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_calls_fail_fast_while_the_server_is_down_then_recover() {
    let dir = tempfile::Builder::new()
        .prefix("syd-outage")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let mut cluster = PrivateCluster::new(dir.path())
        .expect("cluster")
        .stop_on_drop(true);
    cluster.start().expect("starts");
    let admin = connect(cluster.connect_options("postgres"), 1)
        .await
        .expect("admin");
    create_database(&admin, "outage").await.expect("database");
    admin.close().await;
    let pool = connect(cluster.connect_options("outage"), 4)
        .await
        .expect("pool");
    migrate(&pool).await.expect("migrations");
    let key = PanKey::new(b"outage-key".to_vec());
    let fx = fixtures::Fixtures::from_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../selftest/fixtures/jcard.yml"
    )))
    .expect("fixtures parse");
    fixtures::load(&pool, &key, &fx)
        .await
        .expect("fixtures load");
    let b = Batches::new(pool.clone());
    let mut posted = 0;
    assert!(
        all_work(&b, &key, 1, &mut posted).await,
        "calls work while the server is up"
    );

    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.stop().expect("stops");
        cluster
    })
    .await
    .expect("joins");
    let started = Instant::now();
    let e = b.insert_tranlog(row(2)).await.expect_err("server is down");
    assert!(e.is_connection(), "{e:?}");
    let e = b
        .find_card(key.hash(ALICE))
        .await
        .expect_err("server is down");
    assert!(e.is_connection(), "{e:?}");
    let e = b
        .post(GroupPost {
            txn: hold(2),
            tranlog: None,
        })
        .await
        .expect_err("server is down");
    assert!(e.is_connection(), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "failures must come within the acquire timeouts, took {:?}",
        started.elapsed()
    );

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.start().expect("starts again");
        cluster
    })
    .await
    .expect("joins");
    // the same batchers reconnect: no process restart
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stan = 3;
    while !all_work(&b, &key, stan, &mut posted).await {
        assert!(Instant::now() < deadline, "batched calls did not recover");
        stan += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // the test's own pool last ran before the outage: each of its connections may fail once (it
    // pings only connections idle for a second or more) before it reconnects
    let mut holds: Option<i64> = None;
    for _ in 0..10 {
        let n =
            sqlx::query_scalar("SELECT count(*) FROM gl_transactions WHERE detail = 'outage test'")
                .fetch_one(&pool)
                .await;
        if let Ok(n) = n {
            holds = Some(n);
            break;
        }
    }
    let holds = holds.expect("the test's pool reconnects");
    assert_eq!(
        holds, posted,
        "every hold answered as posted is there, none else"
    );
    assert!(switchyard::ledger::check(&pool)
        .await
        .expect("check runs")
        .is_ok());
    drop(b);
    pool.close().await;
    let mut cluster = cluster;
    tokio::task::spawn_blocking(move || cluster.stop().expect("stops"))
        .await
        .expect("joins");
}
