//! Crash recovery for real: run the recovery probe, SIGKILL it mid-run, restart it, and check that every
//! transaction that started was finished exactly once (all participants agree) and no id was reused —
//! with the `file:` store, and with the `pg:` store in a real PostgreSQL (the shared test harness).

#[allow(dead_code)]
#[path = "pg/harness.rs"]
mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

struct Event {
    kind: char,
    id: u64,
    name: String,
    run: u32,
    recovered: bool,
}

fn events(path: &Path) -> Vec<Event> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| l.ends_with('0') || l.ends_with('1'))
        .filter_map(|l| {
            let p: Vec<&str> = l.split(' ').collect();
            match p[..] {
                [k, id, name, run, rec] => Some(Event {
                    kind: k.chars().next()?,
                    id: id.parse().ok()?,
                    name: name.to_owned(),
                    run: run.parse().ok()?,
                    recovered: rec == "1",
                }),
                _ => None,
            }
        })
        .collect()
}

fn probe(store: &Store, log: &Path, count: u64, run: u32) -> Command {
    let mut c = Command::new(BIN);
    c.args(["txn", "recovery-probe", "--store"]);
    match store {
        Store::File(path) => {
            c.arg(format!("file:{}", path.display()));
        }
        Store::Pg { name, url } => {
            c.arg(format!("pg:{name}")).arg("--database-url").arg(url);
        }
    }
    c.env_remove("DATABASE_URL")
        .arg("--count-file")
        .arg(log)
        .args([
            "--count",
            &count.to_string(),
            "--run",
            &run.to_string(),
            "--delay-ms",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    c
}

enum Store {
    File(std::path::PathBuf),
    Pg { name: String, url: String },
}

#[test]
fn sigkill_mid_run_then_restart_finishes_everything_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::File(dir.path().join("txn.log"));
    crash_and_restart(&store, &dir.path().join("events.log"));
}

#[test]
fn the_same_with_the_recovery_store_in_postgresql() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = rt.block_on(harness::TestDb::new());
    let url = db.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::Pg {
        name: "probe-node1".into(),
        url,
    };
    crash_and_restart(&store, &dir.path().join("events.log"));
    // a clean stop compacted the log to the id high-water mark
    let rows: Vec<String> = rt.block_on(async {
        sqlx::query_scalar("SELECT record::text FROM txn_recovery WHERE store = 'probe-node1'")
            .fetch_all(&db.pool)
            .await
            .expect("read store")
    });
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("highwater"), "{rows:?}");
}

fn crash_and_restart(store: &Store, log: &Path) {
    let log = log.to_path_buf();

    let mut child = probe(store, &log, 5_000, 1).spawn().expect("probe starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while events(&log).len() < 300 {
        assert!(Instant::now() < deadline, "probe made no progress");
        assert!(
            child.try_wait().expect("child status").is_none(),
            "probe exited before the kill"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL"); // std's kill sends SIGKILL on Unix
    let _ = child.wait();

    let status = probe(store, &log, 50, 2).status().expect("restart runs");
    assert!(status.success(), "restarted probe exits cleanly");

    let all = events(&log);
    let mut by_id: BTreeMap<u64, Vec<&Event>> = BTreeMap::new();
    for e in &all {
        by_id.entry(e.id).or_default().push(e);
    }
    let mut recovered = 0;
    for (id, evs) in &by_id {
        let terminal: Vec<_> = evs.iter().filter(|e| e.kind != 'P').collect();
        let names: BTreeSet<_> = evs.iter().map(|e| e.name.as_str()).collect();
        for name in &names {
            let n = terminal.iter().filter(|e| e.name == *name).count();
            assert_eq!(
                n,
                1,
                "txn {id} participant {name}: finished {n} times: {:?}",
                kinds(evs)
            );
        }
        let outcomes: BTreeSet<char> = terminal.iter().map(|e| e.kind).collect();
        assert_eq!(
            outcomes.len(),
            1,
            "txn {id}: participants disagree: {:?}",
            kinds(evs)
        );
        if outcomes.contains(&'C') {
            assert!(
                evs.iter().any(|e| e.kind == 'P' && e.name == "a")
                    && evs.iter().any(|e| e.kind == 'P' && e.name == "b"),
                "txn {id} committed without both prepares"
            );
        }
        if terminal.iter().any(|e| e.recovered) {
            recovered += 1;
        }
    }
    assert!(
        recovered > 0,
        "the kill left transactions in flight for recovery"
    );

    let run1_max = all
        .iter()
        .filter(|e| e.run == 1)
        .map(|e| e.id)
        .max()
        .expect("run 1 worked");
    let run2_new: Vec<u64> = all
        .iter()
        .filter(|e| e.run == 2 && !e.recovered)
        .map(|e| e.id)
        .collect();
    assert!(!run2_new.is_empty(), "run 2 processed new transactions");
    assert!(
        run2_new.iter().all(|id| *id > run1_max),
        "ids never repeat across the crash"
    );
}

fn kinds(evs: &[&Event]) -> Vec<String> {
    evs.iter()
        .map(|e| {
            format!(
                "{}:{}:r{}{}",
                e.kind,
                e.name,
                e.run,
                if e.recovered { "R" } else { "" }
            )
        })
        .collect()
}
