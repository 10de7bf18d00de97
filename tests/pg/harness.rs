//! Test harness: one private PostgreSQL per test binary (or the server in `DATABASE_URL`), started on
//! first use, stopped at process exit; a fresh, migrated database per test.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use switchyard::ledger::chart::{import_chart, Chart};
use switchyard::ledger::cluster::PrivateCluster;
use switchyard::ledger::{connect, create_database, migrate};

struct Shared {
    cluster: Option<PrivateCluster>,
    dir: Option<tempfile::TempDir>,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    cluster: None,
    dir: None,
});
static OPTIONS: OnceLock<Result<PgConnectOptions, String>> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

extern "C" fn stop_at_exit() {
    if let Ok(mut shared) = SHARED.lock() {
        drop(shared.cluster.take());
        drop(shared.dir.take());
    }
}

fn start() -> Result<PgConnectOptions, String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return url.parse().map_err(|e| format!("DATABASE_URL: {e}"));
    }
    let dir = tempfile::Builder::new()
        .prefix("syd-pg")
        .tempdir_in("/tmp")
        .map_err(|e| e.to_string())?;
    let mut cluster = PrivateCluster::new(dir.path())
        .map_err(|e| e.to_string())?
        .stop_on_drop(true);
    let mut shared = SHARED.lock().map_err(|e| e.to_string())?;
    // SAFETY: registering a plain extern "C" fn with no captured state.
    unsafe { libc::atexit(stop_at_exit) };
    let started = cluster.start();
    let options = cluster.connect_options("postgres");
    shared.cluster = Some(cluster);
    shared.dir = Some(dir);
    started.map_err(|e| e.to_string())?;
    Ok(options)
}

/// Admin connect options of the shared server (database `postgres`).
pub fn server() -> PgConnectOptions {
    match OPTIONS.get_or_init(start) {
        Ok(o) => o.clone(),
        Err(e) => panic!("test PostgreSQL: {e}"),
    }
}

/// A fresh migrated database on the shared server.
pub struct TestDb {
    /// Pool on the fresh database.
    pub pool: PgPool,
    /// Its connect options (for a second "node").
    pub options: PgConnectOptions,
}

impl TestDb {
    /// Create and migrate a fresh database.
    pub async fn new() -> TestDb {
        TestDb::on(server()).await
    }

    /// Create and migrate a fresh database on the server behind `admin`.
    pub async fn on(admin: PgConnectOptions) -> TestDb {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let admin_pool = connect(admin.clone(), 1).await.expect("connect admin");
        create_database(&admin_pool, &name)
            .await
            .expect("create database");
        admin_pool.close().await;
        let options = admin.database(&name);
        let pool = connect(options.clone(), 16).await.expect("connect test db");
        migrate(&pool).await.expect("migrate");
        TestDb { pool, options }
    }

    /// A `postgres://` URL for this database (Unix socket or host), for deploy descriptors and CLIs.
    pub fn url(&self) -> String {
        let o = &self.options;
        let host = o
            .get_socket()
            .map_or_else(|| o.get_host().to_owned(), |p| p.display().to_string());
        format!(
            "postgres://{}@localhost:{}/{}?host={host}",
            o.get_username(),
            o.get_port(),
            o.get_database().expect("database")
        )
    }

    /// A fresh database with the jCard-style chart below imported.
    pub async fn with_chart() -> TestDb {
        let db = TestDb::new().await;
        let chart = Chart::from_yaml(CHART).expect("chart");
        import_chart(&db.pool, &chart).await.expect("import chart");
        db
    }
}

/// A small jCard-like chart: journal `jcard` with 840 and 1840 double-entry and 2840 single-entry.
pub const CHART: &str = r#"
journals:
  - name: jcard
    description: jCard test journal
    layers:
      - { layer: 840, double-entry: true }
      - { layer: 1840, double-entry: true }
      - { layer: 2840, double-entry: false }
  - name: other
    layers:
      - { layer: 978, double-entry: true }
accounts:
  - code: "1"
    description: Assets
    kind: composite
    nature: debit
    currency: "840"
    children:
      - code: "11"
        description: Cash
        kind: composite
        nature: debit
        children:
          - { code: "11.001.00840", description: Bank, kind: final, nature: debit }
          - { code: "11.002.00840", description: Pending settlement, kind: final, nature: debit }
  - code: "2"
    description: Liabilities
    kind: composite
    nature: credit
    currency: "840"
    children:
      - code: "21"
        description: Cardholders
        kind: composite
        nature: credit
        children:
          - { code: "21.001.00840", description: Alice, kind: final, nature: credit }
          - { code: "21.002.00840", description: Bob, kind: final, nature: credit }
          - { code: "21.003.00840", description: Carol, kind: final, nature: credit }
  - code: "3"
    description: Income
    kind: composite
    nature: credit
    children:
      - { code: "31.00840", description: Fees, kind: final, nature: credit, currency: "840" }
rules:
  - { journal: jcard, account: "21", kind: min_balance, layers: [840, 1840], amount: "0",
      description: cardholders cannot overdraw }
"#;
