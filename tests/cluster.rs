//! The private cluster itself: the `switchyard db ...` / `ledger ...` commands end to end, and a
//! server restart in the middle of a run (clear errors, then recovery without restarting the process).

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use switchyard::ledger::chart::{import_chart, Chart};
use switchyard::ledger::cluster::{ClusterStatus, PrivateCluster};
use switchyard::ledger::{
    balance, connect, create_database, migrate, post, AccountCode, GroupCommit, GroupCommitConfig,
    Layer, NewTransaction,
};
use switchyard::space::pg::{PgSpace, PgSpaceFactory};
use switchyard::space::{Scheme, SpaceRegistry};

const CHART: &str = r#"
journals:
  - name: jcard
    layers: [{ layer: 840, double-entry: true }]
accounts:
  - code: "1"
    kind: composite
    nature: debit
    currency: "840"
    children: [{ code: "11.001.00840", description: Bank, kind: final, nature: debit }]
  - code: "2"
    kind: composite
    nature: credit
    currency: "840"
    children: [{ code: "21.001.00840", description: Alice, kind: final, nature: credit }]
"#;

fn deposit(a: i64) -> NewTransaction {
    let usd = Layer::accounting(840).unwrap();
    NewTransaction::new("jcard", "deposit")
        .debit(&AccountCode::new("11.001.00840").unwrap(), a.into(), usd)
        .credit(&AccountCode::new("21.001.00840").unwrap(), a.into(), usd)
}

fn switchyard(var: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .arg("--var")
        .arg(var)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Stops the CLI's cluster even if an assertion fails midway.
struct StopOnDrop(PrivateCluster);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.stop();
    }
}

#[test]
fn db_and_ledger_commands_end_to_end() {
    let dir = tempfile::Builder::new()
        .prefix("syd-cli")
        .tempdir_in("/tmp")
        .unwrap();
    let var = dir.path().join("var");
    let (ok, text) = switchyard(&var, &["db", "status"]);
    assert!(!ok && text.contains("switchyard db start"), "{text}");
    let (ok, text) = switchyard(&var, &["ledger", "check"]);
    assert!(!ok && text.contains("not running"), "{text}");

    let (ok, text) = switchyard(&var, &["db", "start"]);
    let guard = StopOnDrop(PrivateCluster::new(&var).unwrap());
    assert!(ok, "{text}");
    assert!(text.contains("host=/"), "{text}");
    let (ok, text) = switchyard(&var, &["db", "status"]);
    assert!(ok && text.contains("running"), "{text}");
    let (_, url) = switchyard(&var, &["db", "url"]);
    assert!(url.trim().ends_with("/run"), "{url}");

    let chart = dir.path().join("chart.yml");
    std::fs::write(&chart, CHART).unwrap();
    let (ok, text) = switchyard(&var, &["ledger", "import-chart", chart.to_str().unwrap()]);
    assert!(ok && text.contains("1 journals, 4 accounts"), "{text}");
    let (ok, text) = switchyard(&var, &["ledger", "import-chart", chart.to_str().unwrap()]);
    assert!(
        !ok && text.contains("duplicate"),
        "importing twice must fail: {text}"
    );

    // post through the library on the CLI's cluster, then read it back through the CLI
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = connect(guard.0.connect_options("switchyard"), 2)
            .await
            .unwrap();
        post(&pool, &deposit(25)).await.unwrap();
        pool.close().await;
    });
    let (ok, text) = switchyard(&var, &["ledger", "balance", "2"]);
    assert!(ok && text.trim().ends_with(": 25"), "{text}");
    let (ok, text) = switchyard(&var, &["ledger", "balance", "2", "--as-of", "2000-01-01"]);
    assert!(ok && text.trim().ends_with(": 0"), "{text}");
    let (ok, text) = switchyard(
        &var,
        &[
            "ledger",
            "statement",
            "21.001.00840",
            "--from",
            "2000-01-01",
            "--to",
            "2999-01-01",
        ],
    );
    assert!(
        ok && text.contains("closing") && text.contains("deposit"),
        "{text}"
    );
    let (ok, text) = switchyard(&var, &["ledger", "accounts", "--journal", "jcard"]);
    assert!(ok && text.contains("Alice"), "{text}");
    let (ok, text) = switchyard(&var, &["ledger", "shards", "21.001.00840", "4"]);
    assert!(ok && text.contains("4 running-balance shards"), "{text}");
    let (ok, text) = switchyard(&var, &["ledger", "accounts"]);
    let alice = text.lines().find(|l| l.starts_with("21.001.00840"));
    assert!(
        alice.is_some_and(|l| l.split_whitespace().nth(4) == Some("4")),
        "{text}"
    );
    let (ok2, text) = switchyard(&var, &["ledger", "shards", "2", "4"]);
    assert!(
        ok && !ok2 && text.contains("not found"),
        "composite: {text}"
    );
    // the balance is unchanged by sharding, and the audit still passes
    let (ok, text) = switchyard(&var, &["ledger", "balance", "2"]);
    assert!(ok && text.trim().ends_with(": 25"), "{text}");
    let (ok, text) = switchyard(&var, &["ledger", "check"]);
    assert!(ok && text.contains("ledger OK"), "{text}");
    let (ok, text) = switchyard(&var, &["ledger", "balance", "9"]);
    assert!(!ok && text.contains("account 9 not found"), "{text}");

    let (ok, text) = switchyard(&var, &["db", "stop"]);
    assert!(ok, "{text}");
    assert_eq!(guard.0.status().unwrap(), ClusterStatus::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_run_gives_clear_errors_then_recovers() {
    let dir = tempfile::Builder::new()
        .prefix("syd-rs")
        .tempdir_in("/tmp")
        .unwrap();
    let mut cluster = PrivateCluster::new(dir.path()).unwrap().stop_on_drop(true);
    cluster.start().unwrap();
    let admin = connect(cluster.connect_options("postgres"), 1)
        .await
        .unwrap();
    create_database(&admin, "restart").await.unwrap();
    admin.close().await;
    let pool = connect(cluster.connect_options("restart"), 4)
        .await
        .unwrap();
    migrate(&pool).await.unwrap();
    import_chart(&pool, &Chart::from_yaml(CHART).unwrap())
        .await
        .unwrap();
    let gc = GroupCommit::start(pool.clone(), GroupCommitConfig::default());
    let space: PgSpace<u32> = PgSpace::open(pool.clone(), "restart").await.unwrap();
    post(&pool, &deposit(1)).await.unwrap();
    gc.post(deposit(2)).await.unwrap();
    space.out("k", &1, None).await.unwrap();
    // the same through the registry and the `Space` trait, as deployed components use it
    let reg = SpaceRegistry::<u32>::new();
    reg.register_factory(
        Scheme::Pg,
        Arc::new(PgSpaceFactory::new(pool.clone(), Duration::from_secs(1))),
    );
    let dyn_space = reg.get("pg:restart-dyn").unwrap();
    dyn_space.out("k", 7, None).await.unwrap();

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop().unwrap();
        cluster
    })
    .await
    .unwrap();
    let mut cluster = cluster;

    let err = post(&pool, &deposit(4)).await.unwrap_err();
    assert!(err.is_connection(), "{err:?}");
    assert!(err.to_string().starts_with("database error while"), "{err}");
    let err = gc.post(deposit(8)).await.unwrap_err();
    assert!(err.is_connection(), "{err:?}");
    let err = space.inp("k").await.unwrap_err().to_string();
    assert!(err.contains("pg space \"restart\""), "{err}");
    let err = dyn_space
        .in_("k", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(err.is_connection(), "{err:?}");
    assert!(
        err.to_string().contains("pg space \"restart-dyn\""),
        "{err}"
    );
    assert!(
        dyn_space.out("k", 8, None).await.is_err(),
        "a failed write says so"
    );

    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.start().unwrap();
        cluster
    })
    .await
    .unwrap();
    // same pool, same poster, same space: no process restart
    post(&pool, &deposit(16)).await.unwrap();
    gc.post(deposit(32)).await.unwrap();
    assert_eq!(
        space.in_("k", Duration::from_secs(10)).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        dyn_space.in_("k", Duration::from_secs(10)).await.unwrap(),
        Some(7)
    );
    assert_eq!(
        dyn_space.inp("k").await.unwrap(),
        None,
        "the failed write stored nothing"
    );
    let b = balance(
        &pool,
        "jcard",
        &AccountCode::new("2").unwrap(),
        &[Layer::accounting(840).unwrap()],
        None,
    )
    .await
    .unwrap();
    assert_eq!(b.value(), rust_decimal::Decimal::from(1 + 2 + 16 + 32));
    assert!(switchyard::ledger::check(&pool).await.unwrap().is_ok());
    gc.shutdown(Duration::from_secs(5)).await;
    drop(space);
    pool.close().await;
    tokio::task::spawn_blocking(move || cluster.stop().unwrap())
        .await
        .unwrap();
}
