//! `switchyard bench ledger`: posts per second and latency of 3-entry GL transactions on a 10,000
//! account chart, optionally next to `pgbench -b tpcb-like` on the same server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use hdrhistogram::Histogram;
use rust_decimal::Decimal;
use sqlx::PgPool;

use super::db::DbTarget;
use crate::ledger::chart::{import_chart, Chart, ChartAccount};
use crate::ledger::rules::{NewRule, RuleKind};
use crate::ledger::{
    check, connect, create_database, migrate, post, AccountCode, AccountKind, GroupCommit,
    GroupCommitConfig, JournalLayer, Layer, Nature, NewJournal, NewTransaction,
};

/// `bench ledger` options.
#[derive(Debug, Args)]
pub struct LedgerBench {
    /// Concurrent posting clients.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Measured duration.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Final accounts in the chart.
    #[arg(long, default_value_t = 10_000)]
    accounts: usize,
    /// Group-commit workers (DB connections committing batches); 0 = one DB transaction per post.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Most posts per group commit.
    #[arg(long, default_value_t = 64)]
    max_batch: usize,
    /// Database created afresh for the run (dropped first if it exists).
    #[arg(long, default_value = "switchyard_bench")]
    bench_database: String,
    /// Also run `pgbench -b tpcb-like` (scale 10, same concurrency and duration) on the same server.
    #[arg(long)]
    pgbench: bool,
    /// Print only the JSON result line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    db: DbTarget,
}

/// xorshift64*: a tiny deterministic generator, enough to pick accounts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Hot-ish pick in 0..n: index = n·u², so the first 1% of accounts draw 10% of the picks.
    fn hotish(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u * n as f64) as usize).min(n - 1)
    }
}

fn account_code(i: usize) -> anyhow::Result<AccountCode> {
    Ok(AccountCode::new(format!("2.{i:05}"))?)
}

fn bench_chart(accounts: usize) -> anyhow::Result<Chart> {
    let children = (0..accounts)
        .map(|i| {
            Ok(ChartAccount {
                code: account_code(i)?,
                description: format!("customer {i}"),
                kind: AccountKind::Final,
                nature: Nature::Credit,
                currency: None,
                children: Vec::new(),
                shards: None,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Chart {
        journals: vec![NewJournal {
            name: "bench".into(),
            description: "bench ledger".into(),
            start_date: None,
            end_date: None,
            layers: vec![JournalLayer {
                layer: Layer::accounting(840)?,
                double_entry: true,
            }],
        }],
        accounts: vec![ChartAccount {
            code: AccountCode::new("2")?,
            description: "customers".into(),
            kind: AccountKind::Composite,
            nature: Nature::Credit,
            currency: Some("840".into()),
            children,
            shards: None,
        }],
        // a rule on every account, so rule evaluation is part of the cost
        rules: vec![NewRule {
            journal: "bench".into(),
            account: Some(AccountCode::new("2")?),
            kind: RuleKind::MinBalance,
            layers: vec![Layer::accounting(840)?],
            amount: Some(Decimal::new(-1_000_000_000_000, 0)),
            description: "overdraft limit".into(),
        }],
    })
}

async fn setup(b: &LedgerBench) -> anyhow::Result<PgPool> {
    let admin_options = b.db.options()?;
    let admin = connect(admin_options.clone(), 1).await?;
    if b.bench_database != "switchyard_bench" {
        bail!("--bench-database must be switchyard_bench (the bench drops it)");
    }
    sqlx::query("DROP DATABASE IF EXISTS switchyard_bench WITH (FORCE)")
        .execute(&admin)
        .await
        .context("dropping the previous bench database")?;
    create_database(&admin, &b.bench_database).await?;
    admin.close().await;
    let pool_size =
        (b.workers.max(1) + 2).max(if b.workers == 0 { b.concurrency } else { 0 }) as u32;
    let pool = connect(admin_options.database(&b.bench_database), pool_size).await?;
    migrate(&pool).await?;
    import_chart(&pool, &bench_chart(b.accounts)?).await?;
    Ok(pool)
}

fn transaction(rng: &mut Rng, accounts: &[AccountCode], usd: Layer) -> NewTransaction {
    let a = rng.hotish(accounts.len());
    let mut b = rng.hotish(accounts.len());
    if a == b {
        b = (b + 1) % accounts.len();
    }
    let cents = (rng.next() % 10_000 + 100) as i64;
    let fee = Decimal::new(25, 2);
    // 3 entries on 2 accounts: a pays amount + fee, b receives the amount and the fee as two lines
    let mut t = NewTransaction::new("bench", "transfer")
        .debit(&accounts[a], (Decimal::new(cents, 2) + fee).into(), usd)
        .credit(&accounts[b], Decimal::new(cents, 2).into(), usd)
        .credit(&accounts[b], fee.into(), usd);
    t.entries[2].detail = "fee".into();
    t
}

async fn ledger(b: LedgerBench) -> anyhow::Result<()> {
    if b.concurrency == 0 || b.accounts < 2 {
        bail!("need --concurrency >= 1 and --accounts >= 2");
    }
    let pool = setup(&b).await?;
    let accounts: Arc<Vec<AccountCode>> = Arc::new(
        (0..b.accounts)
            .map(account_code)
            .collect::<anyhow::Result<_>>()?,
    );
    let usd = Layer::accounting(840)?;
    let poster = (b.workers > 0).then(|| {
        Arc::new(GroupCommit::start(
            pool.clone(),
            GroupCommitConfig {
                workers: b.workers,
                max_batch: b.max_batch,
                ..GroupCommitConfig::default()
            },
        ))
    });
    let deadline = Instant::now() + Duration::from_secs(b.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..b.concurrency {
        let (pool, poster, accounts) = (pool.clone(), poster.clone(), accounts.clone());
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
            let mut rng =
                Rng(0x9E37_79B9_7F4A_7C15 ^ (c as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let t = transaction(&mut rng, &accounts, usd);
                let t0 = Instant::now();
                let res = match &poster {
                    Some(p) => p.post(t).await,
                    None => post(&pool, &t).await,
                };
                match res {
                    Ok(_) => hist.record(t0.elapsed().as_micros().max(1) as u64)?,
                    Err(e) => {
                        errors += 1;
                        if errors == 1 {
                            eprintln!("post failed: {e}");
                        }
                    }
                }
            }
            anyhow::Ok((hist, errors))
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await??;
        hist.add(h)?;
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(p) = poster.and_then(Arc::into_inner) {
        p.shutdown(Duration::from_secs(10)).await;
    }
    let posts = hist.len();
    let pps = posts as f64 / elapsed;
    let p50 = hist.value_at_quantile(0.50) as f64 / 1000.0;
    let p99 = hist.value_at_quantile(0.99) as f64 / 1000.0;
    let report = check(&pool).await?;
    pool.close().await;
    if !b.json {
        println!(
            "ledger: {posts} posts in {elapsed:.1} s with {} clients, {} group-commit workers (batch <= {}): \
             {pps:.0} posts/s, p50 {p50:.2} ms, p99 {p99:.2} ms, {errors} errors",
            b.concurrency, b.workers, b.max_batch
        );
        match &report.discrepancy {
            None => println!(
                "ledger check: OK ({} transactions, {} entries)",
                report.transactions, report.entries
            ),
            Some(d) => println!("ledger check: FAILED: {d}"),
        }
    }
    if !report.is_ok() || errors > 0 {
        bail!(
            "benchmark run was not clean: {errors} errors, check {:?}",
            report.discrepancy
        );
    }
    let pgbench_tps = if b.pgbench {
        Some(pgbench(&b).await?)
    } else {
        None
    };
    if let (Some(tps), false) = (pgbench_tps, b.json) {
        println!(
            "pgbench tpcb-like: {tps:.0} tps; ledger/pgbench = {:.2}",
            pps / tps
        );
    }
    let mut json = serde_json::json!({ "posts_per_sec": (pps * 10.0).round() / 10.0, "p99_ms": (p99 * 100.0).round() / 100.0 });
    if let Some(tps) = pgbench_tps {
        json["pgbench_tps"] = serde_json::json!((tps * 10.0).round() / 10.0);
    }
    println!("{json}");
    Ok(())
}

/// `pgbench -i -s 10` then `pgbench -b tpcb-like` on the same server; returns its TPS.
async fn pgbench(b: &LedgerBench) -> anyhow::Result<f64> {
    if b.db.database_url.is_some() {
        bail!("--pgbench drives the private cluster only (unset DATABASE_URL)");
    }
    let cluster = b.db.cluster()?;
    let admin = connect(cluster.connect_options("postgres"), 1).await?;
    create_database(&admin, "switchyard_pgbench").await?;
    admin.close().await;
    let exe = cluster.bin_dir().join("pgbench");
    let sock = cluster.socket_dir();
    let common = ["-h", &sock.to_string_lossy(), "-U", "postgres"].map(String::from);
    let run = |args: Vec<String>| {
        let exe = exe.clone();
        async move {
            let child = tokio::process::Command::new(&exe)
                .args(&args)
                .kill_on_drop(true)
                .output();
            let out = tokio::time::timeout(Duration::from_secs(600), child)
                .await
                .context("pgbench timed out")?
                .with_context(|| format!("running {}", exe.display()))?;
            if !out.status.success() {
                bail!("pgbench failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            anyhow::Ok(String::from_utf8_lossy(&out.stdout).to_string())
        }
    };
    let mut init = common.to_vec();
    init.extend(["-i", "-q", "-s", "10", "switchyard_pgbench"].map(String::from));
    run(init).await?;
    let mut bench = common.to_vec();
    let (c, t) = (b.concurrency.to_string(), b.seconds.to_string());
    let j = b.concurrency.min(2).to_string();
    bench.extend(
        [
            "-b",
            "tpcb-like",
            "-c",
            &c,
            "-j",
            &j,
            "-T",
            &t,
            "switchyard_pgbench",
        ]
        .map(String::from),
    );
    let out = run(bench).await?;
    out.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no tps line in pgbench output:\n{out}"))
}

/// Run the ledger benchmark.
pub fn run(b: LedgerBench) -> anyhow::Result<()> {
    super::block_on(ledger(b))?
}
