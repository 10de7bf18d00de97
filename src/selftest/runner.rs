//! Runs loaded cases in order against one switch: expand, send, check, capture, check balances.
//!
//! A case's outcome is a `CaseResult`; the runner never stops at a failing case (later cases may
//! still pass), and it never prints clear card data: requests and responses are rendered with the
//! mask policy, and expectations on card fields hide their values.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use regex::Regex;
use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};
use sqlx::PgPool;

use super::case::{BalanceCheck, LoadedCase, Value};
use super::client::Client;
use super::expand::{expand, CaseScope};
use super::expect::{self, Expect, Flat};
use crate::channel::Framing;
use crate::iso::{json, IsoMsg, MaskPolicy, Spec};
use crate::ledger::{AccountCode, Layer};

/// Fields whose values never appear in failure messages.
const SENSITIVE: [&str; 7] = ["2", "14", "35", "36", "45", "52", "55"];

/// How to run.
pub struct RunnerConfig {
    /// `host:port` of the switch.
    pub target: String,
    /// Framing of the switch's server.
    pub framing: Framing,
    /// The message spec.
    pub spec: Arc<Spec>,
    /// Run only cases whose description or file name matches.
    pub filter: Option<Regex>,
    /// Timeout of cases that name none.
    pub timeout: Duration,
    /// Journal of balance checks that name none.
    pub journal: String,
    /// The switch's database, for balance checks.
    pub pool: Option<PgPool>,
    /// STAN of the first case (each case takes the next one).
    pub stan_base: u64,
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// 1-based position in the suite.
    pub number: usize,
    /// The case's description.
    pub description: String,
    /// Its file.
    pub file: PathBuf,
    /// How long the exchange and checks took.
    pub elapsed: Duration,
    /// Empty when the case passed.
    pub failures: Vec<String>,
    /// The masked request, as sent.
    pub request: Option<String>,
    /// The masked response.
    pub response: Option<String>,
}

impl CaseResult {
    /// True when every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The line the runner prints: `NN: description [OK] 12ms` or `[FAIL] reasons`.
    pub fn line(&self) -> String {
        if self.passed() {
            format!(
                "{}: {} [OK] {}ms",
                self.number,
                self.description,
                self.elapsed.as_millis()
            )
        } else {
            format!(
                "{}: {} [FAIL] {}",
                self.number,
                self.description,
                self.failures.join("; ")
            )
        }
    }
}

/// Runs a suite, keeping variables from case to case.
pub struct Runner {
    cfg: RunnerConfig,
    client: Client,
    vars: HashMap<String, String>,
    mask: MaskPolicy,
    next_stan: u64,
}

impl Runner {
    /// A runner for `cfg` (connects on the first case).
    pub fn new(cfg: RunnerConfig) -> Runner {
        let client = Client::new(&cfg.target, cfg.framing.clone(), Arc::clone(&cfg.spec));
        Runner {
            next_stan: cfg.stan_base,
            cfg,
            client,
            vars: HashMap::new(),
            mask: MaskPolicy::default(),
        }
    }

    /// Frames received that answered no pending request.
    pub fn stray_responses(&self) -> u64 {
        self.client.stray
    }

    /// True if the filter (if any) selects `case`.
    pub fn selected(&self, case: &LoadedCase) -> bool {
        self.cfg.filter.as_ref().is_none_or(|re| {
            re.is_match(&case.case.description) || re.is_match(&case.file.to_string_lossy())
        })
    }

    /// A case the filter left out: its file's `vars:` still take effect, so later selected cases
    /// see the suite's shared values (e.g. `000_vars.yml`). Returns the variables that failed.
    pub fn skip_case(&mut self, lc: &LoadedCase) -> Vec<String> {
        let scope = CaseScope {
            stan: self.next_stan,
            now: chrono::Local::now(),
        };
        self.apply_vars(lc, &scope)
    }

    fn apply_vars(&mut self, lc: &LoadedCase, scope: &CaseScope) -> Vec<String> {
        let mut failures = Vec::new();
        for (k, v) in &lc.vars {
            match expand(&v.0, scope, &self.vars) {
                Ok(text) => {
                    self.vars.insert(k.clone(), text);
                }
                Err(e) => failures.push(format!("vars.{k}: {e}")),
            }
        }
        failures
    }

    /// Run one case (its file's `vars:` take effect first).
    pub async fn run_case(&mut self, number: usize, lc: &LoadedCase) -> CaseResult {
        let scope = CaseScope {
            stan: self.next_stan,
            now: chrono::Local::now(),
        };
        self.next_stan += 1;
        let mut result = CaseResult {
            number,
            description: lc.case.description.clone(),
            file: lc.file.clone(),
            elapsed: Duration::ZERO,
            failures: Vec::new(),
            request: None,
            response: None,
        };
        result.failures = self.apply_vars(lc, &scope);
        if !result.failures.is_empty() {
            return result;
        }
        let start = Instant::now();
        if let Err(e) = self.exchange(lc, &scope, &mut result).await {
            result.failures.push(e);
        }
        if result.failures.is_empty() {
            for b in &lc.case.balance {
                if let Err(e) = self.check_balance(b, &scope).await {
                    result.failures.push(e);
                }
            }
        }
        result.elapsed = start.elapsed();
        result
    }

    fn build(&self, fields: &BTreeMap<String, Value>, scope: &CaseScope) -> Result<Json, String> {
        let mut map = Map::new();
        for (k, v) in fields {
            map.insert(k.clone(), self.json_value(k, v, scope)?);
        }
        Ok(Json::Object(map))
    }

    fn json_value(&self, path: &str, v: &Value, scope: &CaseScope) -> Result<Json, String> {
        match v {
            Value::Text(t) => expand(t, scope, &self.vars)
                .map(Json::String)
                .map_err(|e| format!("request field {path}: {e}")),
            Value::Composite(m) => {
                let mut map = Map::new();
                for (k, v) in m {
                    map.insert(
                        k.clone(),
                        self.json_value(&format!("{path}.{k}"), v, scope)?,
                    );
                }
                Ok(Json::Object(map))
            }
        }
    }

    async fn exchange(
        &mut self,
        lc: &LoadedCase,
        scope: &CaseScope,
        result: &mut CaseResult,
    ) -> Result<(), String> {
        let Some(fields) = &lc.case.request else {
            if !lc.case.expect.is_empty() || !lc.case.capture.is_empty() {
                return Err("expect/capture without a request".into());
            }
            return Ok(());
        };
        let timeout = lc.timeout(self.cfg.timeout).map_err(|e| e.to_string())?;
        let spec = Arc::clone(&self.cfg.spec);
        let doc = self.build(fields, scope)?;
        let msg: IsoMsg =
            json::from_json(&spec, &doc).map_err(|e| format!("building the request: {e}"))?;
        let (frame, sent) = self.client.canonical(&msg).map_err(|e| e.to_string())?;
        result.request = Some(self.mask.render_line(Some(&spec), &sent));
        let resp = self
            .client
            .exchange(&frame, &sent, timeout)
            .await
            .map_err(|e| e.to_string())?;
        result.response = Some(self.mask.render_line(Some(&spec), &resp));
        let req_flat = expect::flatten(&spec, &sent)?;
        let resp_flat = expect::flatten(&spec, &resp)?;
        for (path, want) in &lc.case.expect {
            let text =
                expand(&want.0, scope, &self.vars).map_err(|e| format!("expect.{path}: {e}"))?;
            let want = Expect::parse(&text).map_err(|e| format!("expect.{path}: {e}"))?;
            let sensitive = SENSITIVE.contains(&path.split('.').next().unwrap_or(path));
            if let Some(f) = expect::check(path, &want, &req_flat, &resp_flat, sensitive) {
                result.failures.push(f);
            }
        }
        self.capture(&lc.case.capture, &req_flat, &resp_flat, result);
        Ok(())
    }

    fn capture(
        &mut self,
        capture: &BTreeMap<String, String>,
        req: &Flat,
        resp: &Flat,
        result: &mut CaseResult,
    ) {
        for (name, from) in capture {
            let (msg, path) = match from.strip_prefix("request.") {
                Some(p) => (req, p),
                None => (resp, from.as_str()),
            };
            match msg.get(path) {
                Some(v) => {
                    self.vars.insert(name.clone(), v.clone());
                }
                None => result
                    .failures
                    .push(format!("capture {name}: {from} is absent")),
            }
        }
    }

    async fn check_balance(&self, b: &BalanceCheck, scope: &CaseScope) -> Result<(), String> {
        let what = format!("balance {} {:?}", b.account, b.layers);
        let Some(pool) = &self.cfg.pool else {
            return Err(format!(
                "{what}: no database to check balances on (give --database-url)"
            ));
        };
        let text = expand(&b.amount.0, scope, &self.vars).map_err(|e| format!("{what}: {e}"))?;
        let want = Decimal::from_str(text.trim())
            .map_err(|e| format!("{what}: expected amount {text:?}: {e}"))?;
        let code = AccountCode::new(b.account.clone()).map_err(|e| format!("{what}: {e}"))?;
        let layers = b
            .layers
            .iter()
            .map(|&l| Layer::from_id(l))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{what}: {e}"))?;
        let journal = b.journal.as_deref().unwrap_or(&self.cfg.journal);
        let got = crate::ledger::balance(pool, journal, &code, &layers, None)
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        if got.0 == want {
            Ok(())
        } else {
            Err(format!("{what}: expected {want}, got {}", got.0))
        }
    }
}
