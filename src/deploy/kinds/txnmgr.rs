//! `kind: txnmgr`: a transaction manager whose chain (participants, groups, selector) is built from
//! the participant registry by type name, with per-type `participant-config`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::StartCx;
use crate::deploy::component::{Component, KindError};
use crate::deploy::descriptor::Ref;
use crate::space::Space;
use crate::txn::registry::{BuildError, FactoryInput, ParticipantRegistry, Resources};
use crate::txn::{Chain, Context, Participant, TransactionManager, TxnConfig};

/// `selector:` — the group selector appended to the main participants.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SelectorSpec {
    /// Selector type; `mti-pcode` (the `core.Switch` participant).
    pub kind: String,
    /// Route key → groups.
    pub routes: BTreeMap<String, Vec<String>>,
}

/// `kind: txnmgr` keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TxnmgrSpec {
    /// Always `txnmgr`.
    pub kind: String,
    /// Component name (also the metrics label).
    pub name: String,
    /// The space holding the queue.
    #[serde(default = "super::server::default_space")]
    pub space: String,
    /// Queue to take requests from.
    #[serde(default = "default_queue")]
    pub queue: String,
    /// Worker tasks.
    #[serde(default = "default_sessions")]
    pub sessions: usize,
    /// Most transactions in flight.
    #[serde(default = "default_max_active")]
    pub max_active: usize,
    /// RETRY re-queue delay (ms).
    #[serde(default = "default_retry_interval")]
    pub retry_interval: u64,
    /// RETRY gives up after (ms).
    #[serde(default = "default_retry_timeout")]
    pub retry_timeout: u64,
    /// PAUSE timeout (ms).
    #[serde(default = "default_retry_timeout")]
    pub pause_timeout: u64,
    /// Run selectors after an abort vote.
    #[serde(default = "default_true")]
    pub call_selector_on_abort: bool,
    /// Profile every transaction at debug level.
    #[serde(default)]
    pub debug: bool,
    /// Recovery store (`file:PATH`, or `pg:NAME` in the database of `persistent-ledger`).
    #[serde(default)]
    pub persistent_space: Option<String>,
    /// The ledger component whose database holds a `pg:` recovery store.
    #[serde(default)]
    pub persistent_ledger: Option<String>,
    /// How long a stop (undeploy, redeploy, shutdown) waits for in-flight transactions (ms).
    #[serde(default = "default_stop_timeout")]
    pub stop_timeout: u64,
    /// The main participants, by registered type name.
    #[serde(default)]
    pub participants: Vec<String>,
    /// Named groups of participants.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Group selector appended to the main participants.
    #[serde(default)]
    pub selector: Option<SelectorSpec>,
    /// Configuration per participant type name.
    #[serde(default)]
    pub participant_config: BTreeMap<String, serde_yaml::Value>,
}

fn default_queue() -> String {
    "txnmgr.in".to_owned()
}
fn default_sessions() -> usize {
    2
}
fn default_max_active() -> usize {
    256
}
fn default_retry_interval() -> u64 {
    5000
}
fn default_retry_timeout() -> u64 {
    60_000
}
fn default_true() -> bool {
    true
}
fn default_stop_timeout() -> u64 {
    10_000
}

/// Name the selector is registered and reported under.
const SELECTOR: &str = "core.Switch";

impl TxnmgrSpec {
    /// The space. What participants look up (a mux, the ledger) is recorded when they are built, and
    /// the container redeploys this manager when one of those is redeployed.
    pub fn refs(&self) -> Vec<Ref> {
        let mut refs = vec![Ref::new(
            "space",
            &super::space::ref_name(&self.space),
            "space",
        )];
        if let Some(l) = &self.persistent_ledger {
            refs.push(Ref::new("ledger", l, "persistent-ledger"));
        }
        refs
    }

    /// `persistent-space: pg:NAME` needs `persistent-ledger`, which only serves a `pg:` store.
    fn check_persistence(&self) -> Result<(), KindError> {
        let pg = match &self.persistent_space {
            Some(addr) => {
                let a = crate::space::SpaceAddr::parse(addr)
                    .map_err(|e| KindError::new("persistent-space", e))?;
                match a.scheme {
                    crate::space::Scheme::File => false,
                    crate::space::Scheme::Pg => true,
                    crate::space::Scheme::TSpace => {
                        return Err(KindError::new(
                            "persistent-space",
                            format!(
                                "'{addr}': a tspace is not durable (expected file:PATH or pg:NAME)"
                            ),
                        ))
                    }
                }
            }
            None => false,
        };
        match (pg, &self.persistent_ledger) {
            (true, None) => Err(KindError::new(
                "persistent-ledger",
                "a pg: persistent-space needs `persistent-ledger: <ledger component>`",
            )),
            (false, Some(_)) => Err(KindError::new(
                "persistent-ledger",
                "only used with `persistent-space: pg:NAME`",
            )),
            _ => Ok(()),
        }
    }

    fn config(&self) -> Result<TxnConfig, KindError> {
        if self.sessions == 0 {
            return Err(KindError::new("sessions", "must be at least 1"));
        }
        if self.max_active == 0 {
            return Err(KindError::new("max-active", "must be at least 1"));
        }
        Ok(TxnConfig {
            name: self.name.clone(),
            queue: self.queue.clone(),
            sessions: self.sessions,
            max_active: self.max_active,
            retry_interval: Duration::from_millis(self.retry_interval),
            retry_timeout: Duration::from_millis(self.retry_timeout),
            pause_timeout: Duration::from_millis(self.pause_timeout),
            call_selector_on_abort: self.call_selector_on_abort,
            debug: self.debug,
            ..TxnConfig::default()
        })
    }

    /// Every participant type name the chain uses (main list and groups), each once.
    pub fn participant_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .participants
            .iter()
            .chain(self.groups.values().flatten())
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Build the chain; `tolerate_missing` accepts lookups of components that are not running (check mode).
    pub fn chain(
        &self,
        registry: &ParticipantRegistry,
        resources: &dyn Resources,
        tolerate_missing: &dyn Fn(&str, &str) -> bool,
    ) -> Result<Chain, KindError> {
        for name in self.participant_config.keys() {
            let used = self.participants.contains(name)
                || self.groups.values().any(|g| g.contains(name))
                || (name == SELECTOR && self.selector.is_some());
            if !used {
                return Err(KindError::new(
                    format!("participant-config.{name}"),
                    format!("'{name}' is configured but not used in participants or groups"),
                ));
            }
        }
        let mut made: HashMap<String, Arc<dyn Participant>> = HashMap::new();
        let null = serde_yaml::Value::Null;
        let mut make = |name: &str, key: &str| -> Result<Arc<dyn Participant>, KindError> {
            if let Some(p) = made.get(name) {
                return Ok(Arc::clone(p));
            }
            let cfg = self.participant_config.get(name).unwrap_or(&null);
            let input = FactoryInput::new(name, cfg, resources);
            let p = match registry.create(&input) {
                Ok(p) => p,
                Err(BuildError::Missing { kind, target, .. })
                    if tolerate_missing(&kind, &target) =>
                {
                    Arc::new(crate::txn::participants::Trace::default())
                }
                Err(BuildError::MissingOneOf { kinds, target, .. })
                    if kinds.iter().any(|k| tolerate_missing(k, &target)) =>
                {
                    Arc::new(crate::txn::participants::Trace::default())
                }
                Err(e @ BuildError::Unknown { .. }) => return Err(KindError::new(key, e)),
                Err(e) => {
                    let key = if cfg.is_null() {
                        key.to_owned()
                    } else {
                        format!("participant-config.{name}")
                    };
                    return Err(KindError::new(key, e));
                }
            };
            made.insert(name.to_owned(), Arc::clone(&p));
            Ok(p)
        };
        let mut main = Vec::new();
        for name in &self.participants {
            main.push((name.clone(), make(name, "participants")?));
        }
        let mut groups = Vec::new();
        for (g, members) in &self.groups {
            let mut list = Vec::new();
            for name in members {
                list.push((name.clone(), make(name, &format!("groups.{g}"))?));
            }
            groups.push((g.clone(), list));
        }
        if let Some(sel) = &self.selector {
            if sel.kind != "mti-pcode" {
                return Err(KindError::new(
                    "selector.kind",
                    format!("unknown selector '{}' (expected mti-pcode)", sel.kind),
                ));
            }
            let mut cfg = serde_yaml::Mapping::new();
            let routes = serde_yaml::to_value(&sel.routes)
                .map_err(|e| KindError::new("selector.routes", e))?;
            cfg.insert("routes".into(), routes);
            let cfg = serde_yaml::Value::Mapping(cfg);
            let input = FactoryInput::new(SELECTOR, &cfg, resources);
            let p = registry
                .create(&input)
                .map_err(|e| KindError::new("selector.routes", e))?;
            main.push((SELECTOR.to_owned(), p));
        }
        Chain::new(main, groups).map_err(|e| KindError::new("selector", e))
    }

    /// Check the config and build the chain (check mode: lookups of deployable components pass).
    pub fn validate(
        &self,
        registry: &ParticipantRegistry,
        known: &dyn Fn(&str, &str) -> bool,
    ) -> Result<(), KindError> {
        super::space::check_context_space(&self.space, "space")?;
        self.check_persistence()?;
        self.config()?;
        self.chain(registry, &crate::txn::registry::NoResources, known)
            .map(|_| ())
    }

    /// Start the manager.
    pub async fn start(&self, cx: &StartCx<'_>) -> Result<Arc<dyn Component>, KindError> {
        let cfg = self.config()?;
        let space = super::space::lookup_space(cx, &self.space, "space")?.contexts("space")?;
        let chain = self.chain(cx.registry, cx.resources, &|_, _| false)?;
        let mut b = TransactionManager::builder(cfg, space.clone(), chain);
        if let Some(addr) = &self.persistent_space {
            let pool = match &self.persistent_ledger {
                Some(l) => Some(cx.lookup::<sqlx::PgPool>("ledger", l, "persistent-ledger")?),
                None => None,
            };
            let store = crate::txn::open_recovery_store_on(addr, pool.as_deref())
                .map_err(|e| KindError::new("persistent-space", e))?;
            b = b.recovery(store);
        }
        let mgr = b.start().await.map_err(|e| KindError::new("sessions", e))?;
        Ok(Arc::new(TxnmgrComponent {
            mgr,
            space: space.clone(),
            queue: self.queue.clone(),
            stop_timeout: Duration::from_millis(self.stop_timeout),
        }))
    }
}

/// A running transaction manager.
pub struct TxnmgrComponent {
    mgr: TransactionManager,
    space: Arc<dyn Space<Context>>,
    queue: String,
    stop_timeout: Duration,
}

#[async_trait]
impl Component for TxnmgrComponent {
    fn pending(&self) -> usize {
        // Contexts only ever live in a TSpace (pg is refused at deploy), whose size is ready at once.
        let queued = match self.space.size(&self.queue).now() {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                e.report("txnmgr", "size of the queue");
                0
            }
            Err(_) => 0,
        };
        self.mgr.in_flight() + queued
    }

    async fn stop(&self, timeout: Duration) {
        let timeout = timeout.min(self.stop_timeout).max(Duration::from_millis(1));
        if let Err(e) = self.mgr.stop(timeout).await {
            tracing::warn!(error = %e, "transaction manager stop");
        }
    }
}
