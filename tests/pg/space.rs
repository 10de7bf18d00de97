//! The durable `pg:NAME` space: FIFO, push, put, rd/rdp, leases, wake-ups by NOTIFY, SKIP LOCKED takes.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchyard::ledger::connect;
use switchyard::space::pg::PgSpace;

use crate::harness::TestDb;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Msg {
    id: u32,
    text: String,
}

fn msg(id: u32) -> Msg {
    Msg {
        id,
        text: format!("m{id}"),
    }
}

const SHORT: Duration = Duration::from_millis(50);

#[tokio::test]
async fn fifo_push_put_and_reads() {
    let db = TestDb::new().await;
    let sp: PgSpace<Msg> = PgSpace::open(db.pool.clone(), "q").await.unwrap();
    for i in 1..=3 {
        sp.out("k", &msg(i), None).await.unwrap();
    }
    sp.push("k", &msg(0), None).await.unwrap();
    assert_eq!(sp.size("k").await.unwrap(), 4);
    assert_eq!(sp.rdp("k").await.unwrap(), Some(msg(0)));
    assert_eq!(sp.rd("k", SHORT).await.unwrap(), Some(msg(0)));
    let mut got = Vec::new();
    while let Some(m) = sp.inp("k").await.unwrap() {
        got.push(m.id);
    }
    assert_eq!(got, vec![0, 1, 2, 3]);
    assert_eq!(sp.in_("k", SHORT).await.unwrap(), None);
    sp.out("k", &msg(7), None).await.unwrap();
    sp.out("k", &msg(8), None).await.unwrap();
    sp.put("k", &msg(9), None).await.unwrap();
    assert_eq!(sp.size("k").await.unwrap(), 1);
    assert_eq!(sp.inp("k").await.unwrap(), Some(msg(9)));
    // another space with the same key is separate
    let other: PgSpace<Msg> = PgSpace::open(db.pool.clone(), "other").await.unwrap();
    sp.out("k", &msg(1), None).await.unwrap();
    assert_eq!(other.inp("k").await.unwrap(), None);
    assert!(sp.out("", &msg(1), None).await.is_err());
}

#[tokio::test]
async fn leased_entries_expire() {
    let db = TestDb::new().await;
    let sp: PgSpace<Msg> = PgSpace::open(db.pool.clone(), "lease").await.unwrap();
    sp.out("k", &msg(1), Some(Duration::from_millis(1)))
        .await
        .unwrap();
    sp.out("k", &msg(2), Some(Duration::from_secs(3600)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(sp.size("k").await.unwrap(), 1);
    assert_eq!(sp.inp("k").await.unwrap(), Some(msg(2)));
    assert_eq!(sp.inp("k").await.unwrap(), None);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM space_entries")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "expired entries are purged lazily");
}

#[tokio::test]
async fn waiting_take_is_woken_by_notify_from_another_node() {
    let db = TestDb::new().await;
    // a fallback far beyond the wait: only LISTEN/NOTIFY can deliver in time
    let consumer: Arc<PgSpace<Msg>> = Arc::new(
        PgSpace::open_with(db.pool.clone(), "jobs", Duration::from_secs(3600))
            .await
            .unwrap(),
    );
    let other_pool = connect(db.options.clone(), 2).await.unwrap();
    let producer: PgSpace<Msg> = PgSpace::open(other_pool, "jobs").await.unwrap();
    let c = consumer.clone();
    let waiter = tokio::spawn(async move { c.in_("work", Duration::from_secs(60)).await });
    let c = consumer.clone();
    let reader = tokio::spawn(async move { c.rd("peek", Duration::from_secs(60)).await });
    // let both waiters register before the write (if they did not, they would still find it on check)
    tokio::time::sleep(Duration::from_millis(100)).await;
    producer.out("work", &msg(42), None).await.unwrap();
    producer.out("peek", &msg(41), None).await.unwrap();
    assert_eq!(waiter.await.unwrap().unwrap(), Some(msg(42)));
    assert_eq!(reader.await.unwrap().unwrap(), Some(msg(41)));
    assert_eq!(producer.size("peek").await.unwrap(), 1, "rd does not take");
    // nrd: wait for the key to drain
    producer.out("work", &msg(43), None).await.unwrap();
    let c = consumer.clone();
    let drained = tokio::spawn(async move { c.nrd("work", Duration::from_secs(60)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(producer.inp("work").await.unwrap(), Some(msg(43)));
    assert!(drained.await.unwrap().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_consumers_take_each_entry_once() {
    let db = TestDb::new().await;
    let sp: Arc<PgSpace<Msg>> = Arc::new(PgSpace::open(db.pool.clone(), "work").await.unwrap());
    for i in 0..200 {
        sp.out("q", &msg(i), None).await.unwrap();
    }
    let mut consumers = Vec::new();
    for _ in 0..6 {
        let sp = sp.clone();
        consumers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(m) = sp.in_("q", SHORT).await.unwrap() {
                got.push(m.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for c in consumers {
        all.extend(c.await.unwrap());
    }
    assert_eq!(all.len(), 200);
    assert_eq!(
        all.iter().copied().collect::<BTreeSet<_>>(),
        (0..200).collect::<BTreeSet<_>>()
    );
}

#[tokio::test]
async fn values_are_durable_across_instances() {
    let db = TestDb::new().await;
    {
        let sp: PgSpace<Msg> = PgSpace::open(db.pool.clone(), "durable").await.unwrap();
        sp.out("k", &msg(5), None).await.unwrap();
    }
    let pool = connect(db.options.clone(), 2).await.unwrap();
    let sp: PgSpace<Msg> = PgSpace::open(pool, "durable").await.unwrap();
    assert_eq!(sp.inp("k").await.unwrap(), Some(msg(5)));
    // a value of the wrong shape is a clear error, not a panic
    let wrong: PgSpace<u64> = PgSpace::open(db.pool.clone(), "durable").await.unwrap();
    sp.out("k", &msg(6), None).await.unwrap();
    let err = wrong.inp("k").await.unwrap_err().to_string();
    assert!(
        err.contains("durable") && err.contains("serialization"),
        "{err}"
    );
}
