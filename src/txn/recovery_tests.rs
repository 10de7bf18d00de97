//! Manager recovery in-process: unfinished snapshots are committed or aborted once, ids continue past
//! the high-water mark, a clean stop compacts the log, and every started transaction is recorded.

use std::sync::Arc;
use std::time::Duration;

use super::recovery::{Record, Snapshot, TxnState};
use super::testkit::{list, log, Harness, Scripted};
use super::*;

const P: Action = Action::PREPARED;
const TAG: Key<u64> = Key::new("TAG");

fn snap(id: u64, state: TxnState, members: &[&str], tag: u64) -> Record {
    let mut entries = serde_json::Map::new();
    entries.insert("TAG".into(), serde_json::json!(tag));
    Record::Snapshot(Snapshot {
        id,
        state,
        members: members.iter().map(|s| (*s).to_owned()).collect(),
        entries,
    })
}

#[tokio::test]
async fn restart_commits_prepared_and_aborts_the_rest_then_continues_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("txn.log");
    {
        let store = FileStore::open(&path).expect("open");
        for r in [
            Record::HighWater { next_id: 500 },
            snap(10, TxnState::Committing, &["main#0", "main#1"], 7),
            snap(11, TxnState::Preparing, &["main#0", "main#1"], 8),
            snap(12, TxnState::Preparing, &["main#0"], 9),
            Record::Done { id: 12 },
            snap(13, TxnState::Preparing, &["gone#3"], 0),
        ] {
            store.append(r).await.expect("append");
        }
    }
    let l = log();
    let chain = Chain::new(
        list(vec![
            Scripted::new("a", &l, &[P]),
            Scripted::new("b", &l, &[P]),
        ]),
        vec![],
    )
    .expect("chain");
    let store: Arc<dyn RecoveryStore> = Arc::new(FileStore::open(&path).expect("reopen"));
    let mut h = Harness::start_with(
        TxnConfig {
            sessions: 1,
            ..TxnConfig::default()
        },
        chain,
        Some(store),
    )
    .await;

    let mut recovered = Vec::new();
    for _ in 0..3 {
        let (id, outcome, mut ctx) = h.next().await;
        assert!(ctx.is_recovered());
        recovered.push((id, outcome, ctx.decode(&TAG).copied()));
    }
    assert_eq!(
        recovered,
        [
            (10, Outcome::Committed, Some(7)),
            (11, Outcome::Aborted, Some(8)),
            (13, Outcome::Aborted, Some(0))
        ]
    );
    assert_eq!(*l.lock(), ["commit:a", "commit:b", "abort:a", "abort:b"]);

    l.lock().clear();
    let mut ctx = Context::new();
    ctx.put_persistent(&TAG, 1);
    h.mgr.queue(ctx).await.expect("queue");
    let (id, outcome, ctx) = h.next().await;
    assert_eq!(outcome, Outcome::Committed);
    assert!(!ctx.is_recovered());
    assert!(id >= 500, "new ids start at the high-water mark, got {id}");
    h.mgr.stop(Duration::from_secs(5)).await.expect("stops");
    drop(h);

    let state = FileStore::open(&path)
        .expect("reopen")
        .load()
        .await
        .expect("load");
    assert!(
        state.unfinished.is_empty(),
        "everything finished: {state:?}"
    );
    assert!(state.next_id > id, "high-water survives compaction");
}

#[tokio::test]
async fn in_flight_transactions_leave_snapshots_naming_their_participants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("txn.log");
    let l = log();
    // The second participant pauses forever, so the transaction stays in flight.
    let chain = Chain::new(
        list(vec![
            Scripted::new("a", &l, &[P]),
            Scripted::new("b", &l, &[P | Action::PAUSE]),
        ]),
        vec![],
    )
    .expect("chain");
    let store: Arc<dyn RecoveryStore> = Arc::new(FileStore::open(&path).expect("open"));
    let h = Harness::start_with(TxnConfig::default(), chain, Some(store)).await;
    h.mgr.queue(Context::new()).await.expect("queue");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while h.mgr.in_flight() == 0 || l.lock().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "transaction did not start"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Read what a crash right now would leave behind.
    let state = FileStore::inspect(&path).expect("readable");
    assert_eq!(state.unfinished.len(), 1);
    assert_eq!(state.unfinished[0].state, TxnState::Preparing);
    assert_eq!(state.unfinished[0].members, ["main#0", "main#1"]);
}
