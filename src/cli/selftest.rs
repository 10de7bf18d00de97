//! `switchyard selftest`: run the CMF self-test suite (`selftest/cases/`) against a switch.
//!
//! With `--target` it tests that switch (balances through `--database-url` / `DATABASE_URL`). Without,
//! it starts its own (`selftest_switch`): a private PostgreSQL with a fresh database, the fixtures
//! loaded, `switchyard run` with the default deploy on free ports — and stops it afterwards.
//! Prints `NN: description [OK] 12ms` per case and `N passed, M failed` last; exits 1 on any failure.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use regex::Regex;

use super::selftest_switch::{LocalSwitch, LocalSwitchConfig};
use crate::channel::{Framing, LengthPrefix};
use crate::iso::Spec;
use crate::ledger::connect;
use crate::selftest::{junit, load_dir, CaseResult, Runner, RunnerConfig};

/// `selftest` options.
#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// The switch to test (HOST:PORT); default: start one with the default deploy and fixtures.
    #[arg(long)]
    target: Option<SocketAddr>,
    /// Allow a target outside 127.0.0.0/8 and ::1.
    #[arg(long)]
    allow_remote: bool,
    /// Framing of the target's server: ascii4, binary2, binary4 or etx.
    #[arg(long, default_value = "binary2")]
    framing: String,
    /// Spec: a built-in name or a YAML file.
    #[arg(long, default_value = "cmf")]
    spec: String,
    /// Run only cases whose description or file name matches this regex (later cases may depend on
    /// values captured by the ones left out).
    #[arg(long)]
    filter: Option<String>,
    /// The case directory.
    #[arg(long, default_value = "selftest/cases")]
    cases: PathBuf,
    /// Fixtures loaded into the fresh database of a switch started here.
    #[arg(long, default_value = "selftest/fixtures/jcard.yml")]
    fixtures: PathBuf,
    /// Deploy directory of a switch started here.
    #[arg(long, default_value = "deploy")]
    deploy: PathBuf,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Timeout of cases that name none, e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = crate::selftest::case::parse_duration)]
    timeout: Duration,
    /// Journal of balance checks that name none.
    #[arg(long, default_value = "jcard")]
    journal: String,
    /// With --target: the switch's database, for balance checks.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Directory for the started switch's PostgreSQL cluster (default: a temp dir, removed after).
    #[arg(long)]
    var: Option<PathBuf>,
    /// Leave the started cluster running afterwards (e.g. for `switchyard ledger check --var DIR
    /// --database selftest`); stop it with `switchyard db stop --var DIR`.
    #[arg(long, requires = "var")]
    keep_db: bool,
    /// Where the started switch writes its (masked) log (default: VAR/switchyard.log).
    #[arg(long)]
    log: Option<PathBuf>,
}

/// Run the suite.
pub fn run(args: SelftestArgs) -> anyhow::Result<()> {
    let prefix: LengthPrefix = args
        .framing
        .parse()
        .map_err(|e| anyhow::anyhow!("--framing {}: {e}", args.framing))?;
    let framing = Framing::new(prefix);
    let spec = Spec::load(&args.spec).with_context(|| format!("--spec {}", args.spec))?;
    let filter = args
        .filter
        .as_deref()
        .map(Regex::new)
        .transpose()
        .context("--filter")?;
    if let Some(t) = args.target {
        super::sim::check_local(t, args.allow_remote)?;
    }
    let cases = load_dir(&args.cases)?;
    if cases.is_empty() {
        bail!("no cases in {}", args.cases.display());
    }
    let mut local = None;
    let (target, db_url) = match &args.target {
        Some(t) => (t.to_string(), args.database_url.clone()),
        None => {
            let sw = LocalSwitch::start(&LocalSwitchConfig {
                deploy: args.deploy.clone(),
                fixtures: args.fixtures.clone(),
                var: args.var.clone(),
                keep_db: args.keep_db,
                log: args.log.clone(),
            })?;
            let t = sw.target();
            let url = sw.database_url();
            local = Some(sw);
            (t, Some(url))
        }
    };
    let outcome = super::block_on(async {
        let pool = match &db_url {
            Some(url) => Some(
                connect(url.parse().context("database URL")?, 2)
                    .await
                    .context("connecting to the switch's database for balance checks")?,
            ),
            None => None,
        };
        let stan_base = u64::try_from(chrono::Utc::now().timestamp() % 100_000).unwrap_or(0) * 1000;
        let mut runner = Runner::new(RunnerConfig {
            target,
            framing,
            spec: Arc::clone(&spec),
            filter,
            timeout: args.timeout,
            journal: args.journal.clone(),
            pool,
            stan_base,
        });
        let selected = cases.iter().filter(|c| runner.selected(c)).count();
        let bar =
            ProgressBar::with_draw_target(Some(selected as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let mut results: Vec<CaseResult> = Vec::with_capacity(selected);
        for case in &cases {
            if !runner.selected(case) {
                for failure in runner.skip_case(case) {
                    bar.suspend(|| eprintln!("{}: {failure}", case.file.display()));
                }
                continue;
            }
            bar.set_message(case.case.description.clone());
            let r = runner.run_case(results.len() + 1, case).await;
            bar.suspend(|| {
                println!("{}", r.line());
                if !r.passed() {
                    if let Some(q) = &r.request {
                        println!("    request:  {q}");
                    }
                    if let Some(a) = &r.response {
                        println!("    response: {a}");
                    }
                }
            });
            bar.inc(1);
            results.push(r);
        }
        bar.finish_and_clear();
        if runner.stray_responses() > 0 {
            eprintln!(
                "note: {} response(s) arrived for requests that had already timed out",
                runner.stray_responses()
            );
        }
        anyhow::Ok(results)
    })?;
    let stopped = local.map(LocalSwitch::stop).transpose();
    let results = outcome?;
    if let Some(path) = &args.junit {
        junit::write(path, &results)?;
    }
    let failed = results.iter().filter(|r| !r.passed()).count();
    println!("{} passed, {failed} failed", results.len() - failed);
    stopped?;
    if failed > 0 {
        bail!("{failed} case(s) failed");
    }
    Ok(())
}
