//! The container (jPOS Q2): deploys every descriptor of a directory in filename order, redeploys and
//! undeploys as files change, and shuts down gracefully (stop accepting, drain, stop in reverse order).
//!
//! References are checked before anything starts: a component may only name components deployed
//! before it (earlier files). Redeploying a component restarts the components that refer to it.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::component::{Component, KindError};
use super::descriptor::{Descriptor, Kind};
use super::error::DeployError;
use super::kinds::{Services, StartCx};
use crate::txn::registry::{ParticipantRegistry, Resources};

/// How long a redeploy or undeploy waits for a component to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A deployed descriptor.
struct Deployed {
    desc: Descriptor,
    raw: String,
    comp: Arc<dyn Component>,
    /// Components it looked up while starting beyond its descriptor's references (a participant's
    /// mux or ledger): redeploying one of them redeploys this one too.
    looked_up: Vec<(String, String)>,
}

/// Resources that remember what was looked up.
struct Recording<'a> {
    inner: &'a Snapshot,
    used: parking_lot::Mutex<Vec<(String, String)>>,
}

impl Resources for Recording<'_> {
    fn lookup(&self, kind: &str, name: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        let found = self.inner.lookup(kind, name);
        if found.is_some() {
            let key = (kind.to_owned(), name.to_owned());
            let mut used = self.used.lock();
            if !used.contains(&key) {
                used.push(key);
            }
        }
        found
    }
}

/// Handles of deployed components by kind and name.
#[derive(Default)]
struct Snapshot(HashMap<(String, String), Arc<dyn Any + Send + Sync>>);

impl Resources for Snapshot {
    fn lookup(&self, kind: &str, name: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        self.0.get(&(kind.to_owned(), name.to_owned())).cloned()
    }
}

/// The running set of components.
pub struct Container {
    dir: PathBuf,
    registry: Arc<ParticipantRegistry>,
    services: Services,
    deployed: tokio::sync::Mutex<BTreeMap<PathBuf, Deployed>>,
}

/// The `*.yml` / `*.yaml` files of `dir`, in filename order.
pub fn descriptor_files(dir: &Path) -> Result<Vec<PathBuf>, DeployError> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| DeployError::at(dir, 0, "", format!("cannot read deploy directory: {e}")))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn kind_error(desc: &Descriptor, e: KindError) -> DeployError {
    desc.error(&e.key, e.message)
}

/// Check `desc` against what is deployed before it (`known(kind, name)`), without starting anything.
pub fn validate(
    desc: &Descriptor,
    registry: &ParticipantRegistry,
    known: &dyn Fn(&str, &str) -> bool,
) -> Result<(), DeployError> {
    for r in desc.kind.refs() {
        if !known(r.kind, &r.name) {
            return Err(desc.error(
                &r.key,
                format!(
                    "{} '{}' is not deployed (no earlier descriptor defines it)",
                    r.kind, r.name
                ),
            ));
        }
    }
    let r = match &desc.kind {
        Kind::Logger(s) => s.validate(),
        Kind::Space(s) => s.validate(),
        Kind::Server(s) => s.validate(),
        Kind::Channel(s) => s.validate(),
        Kind::Mux(s) => s.validate(),
        Kind::MuxPool(s) => s.validate(),
        Kind::Txnmgr(s) => s.validate(registry, known),
        Kind::Http(s) => s.validate(),
        Kind::Ledger(s) => s.validate(),
        Kind::SimHost(s) => s.validate(),
    };
    r.map_err(|e| kind_error(desc, e))
}

/// Parse and check every descriptor of `dir` as `run` would deploy it; every problem found.
pub fn check_dir(dir: &Path, registry: &ParticipantRegistry) -> Vec<DeployError> {
    let files = match descriptor_files(dir) {
        Ok(f) => f,
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    let mut names: Vec<(String, String, PathBuf)> = Vec::new();
    for f in files {
        let desc = match Descriptor::load(&f) {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if let Some((_, _, other)) = names.iter().find(|(_, n, _)| *n == desc.name) {
            errors.push(desc.error(
                "name",
                format!("'{}' is already used by {}", desc.name, other.display()),
            ));
            continue;
        }
        let known = |k: &str, n: &str| names.iter().any(|(kk, nn, _)| kk == k && nn == n);
        match validate(&desc, registry, &known) {
            Ok(()) => names.push((
                desc.kind.kind_name().to_owned(),
                desc.name.clone(),
                f.clone(),
            )),
            Err(e) => errors.push(e),
        }
    }
    errors
}

impl Container {
    /// An empty container for `dir`.
    pub fn new(dir: &Path, registry: Arc<ParticipantRegistry>, services: Services) -> Self {
        Container {
            dir: dir.to_owned(),
            registry,
            services,
            deployed: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// The deploy directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Deploy every descriptor in filename order; on the first failure stop what started and fail.
    pub async fn deploy_all(&self) -> Result<(), DeployError> {
        for f in descriptor_files(&self.dir)? {
            let raw = std::fs::read_to_string(&f)
                .map_err(|e| DeployError::at(&f, 0, "", format!("cannot read: {e}")))?;
            let desc = Descriptor::parse(&f, &raw)?;
            let mut map = self.deployed.lock().await;
            if let Err(e) = self.deploy_locked(&mut map, desc, raw).await {
                drop(map);
                self.stop_all(Duration::from_secs(5)).await;
                return Err(e);
            }
        }
        Ok(())
    }

    fn snapshot(map: &BTreeMap<PathBuf, Deployed>) -> Snapshot {
        let mut s = Snapshot::default();
        for d in map.values() {
            if let Some(h) = d.comp.handle() {
                s.0.insert((d.desc.kind.kind_name().to_owned(), d.desc.name.clone()), h);
            }
        }
        s
    }

    async fn start_one(
        &self,
        map: &BTreeMap<PathBuf, Deployed>,
        desc: &Descriptor,
    ) -> Result<(Arc<dyn Component>, Vec<(String, String)>), DeployError> {
        let snap = Container::snapshot(map);
        let recording = Recording {
            inner: &snap,
            used: parking_lot::Mutex::new(Vec::new()),
        };
        let cx = StartCx {
            registry: &self.registry,
            resources: &recording,
            services: &self.services,
        };
        let r = match &desc.kind {
            Kind::Logger(s) => s.start(&cx),
            Kind::Space(s) => s.start(&cx).await,
            Kind::Server(s) => s.start(&cx).await,
            Kind::Channel(s) => s.start(),
            Kind::Mux(s) => s.start(&cx),
            Kind::MuxPool(s) => s.start(&cx),
            Kind::Txnmgr(s) => s.start(&cx).await,
            Kind::Http(s) => s.start(&cx).await,
            Kind::Ledger(s) => s.start().await,
            Kind::SimHost(s) => s.start().await,
        };
        let comp = r.map_err(|e| kind_error(desc, e))?;
        Ok((comp, recording.used.into_inner()))
    }

    async fn deploy_locked(
        &self,
        map: &mut BTreeMap<PathBuf, Deployed>,
        desc: Descriptor,
        raw: String,
    ) -> Result<(), DeployError> {
        if let Some(other) = map
            .values()
            .find(|d| d.desc.name == desc.name && d.desc.file != desc.file)
        {
            return Err(desc.error(
                "name",
                format!(
                    "'{}' is already used by {}",
                    desc.name,
                    other.desc.file.display()
                ),
            ));
        }
        let known = |k: &str, n: &str| {
            map.values()
                .any(|d| d.desc.kind.kind_name() == k && d.desc.name == n)
        };
        validate(&desc, &self.registry, &known)?;
        let (comp, looked_up) = self.start_one(map, &desc).await?;
        self.services
            .health
            .insert(&desc.name, desc.kind.kind_name(), comp.clone());
        tracing::info!(file = %desc.file.display(), kind = desc.kind.kind_name(), name = %desc.name, "deployed");
        map.insert(
            desc.file.clone(),
            Deployed {
                desc,
                raw,
                comp,
                looked_up,
            },
        );
        Ok(())
    }

    /// Files (in deploy order) whose components refer, directly or not, to the one in `file`.
    fn dependents(map: &BTreeMap<PathBuf, Deployed>, file: &Path) -> Vec<PathBuf> {
        let mut targets: Vec<(String, String)> = map
            .get(file)
            .map(|d| vec![(d.desc.kind.kind_name().to_owned(), d.desc.name.clone())])
            .unwrap_or_default();
        let mut out: Vec<PathBuf> = Vec::new();
        loop {
            let more: Vec<&Deployed> = map
                .values()
                .filter(|d| d.desc.file != file && !out.contains(&d.desc.file))
                .filter(|d| {
                    let by_ref = d
                        .desc
                        .kind
                        .refs()
                        .iter()
                        .any(|r| targets.iter().any(|(k, n)| k == r.kind && *n == r.name));
                    by_ref || d.looked_up.iter().any(|l| targets.contains(l))
                })
                .collect();
            if more.is_empty() {
                break;
            }
            for d in more {
                out.push(d.desc.file.clone());
                targets.push((d.desc.kind.kind_name().to_owned(), d.desc.name.clone()));
            }
        }
        out.sort();
        out
    }

    async fn stop_entry(&self, d: &Deployed) {
        d.comp.stop_accepting();
        d.comp.stop(STOP_TIMEOUT).await;
        self.services.health.remove(&d.desc.name);
        tracing::info!(file = %d.desc.file.display(), name = %d.desc.name, "undeployed");
    }

    /// Compare the directory with what is deployed and deploy, redeploy or undeploy accordingly.
    /// Problems are logged (with file:line) and returned; a bad file leaves its running component alone.
    pub async fn rescan(&self) -> Vec<DeployError> {
        let mut errors = Vec::new();
        let files = match descriptor_files(&self.dir) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "rescan");
                return vec![e];
            }
        };
        let mut map = self.deployed.lock().await;
        // Removed (or renamed to .off): undeploy, unless something still refers to it.
        let gone: Vec<PathBuf> = map.keys().filter(|p| !files.contains(p)).cloned().collect();
        for path in gone.into_iter().rev() {
            let deps = Container::dependents(&map, &path);
            if let Some(dep) = deps.iter().find(|p| files.contains(p)) {
                let e = DeployError::at(
                    &path,
                    0,
                    "",
                    format!(
                        "removed but still referenced by {}; kept running",
                        dep.display()
                    ),
                );
                tracing::error!("{e}");
                errors.push(e);
                continue;
            }
            if let Some(d) = map.remove(&path) {
                self.stop_entry(&d).await;
            }
        }
        for f in files {
            let raw = match std::fs::read_to_string(&f) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(DeployError::at(&f, 0, "", format!("cannot read: {e}")));
                    continue;
                }
            };
            if map.get(&f).is_some_and(|d| d.raw == raw) {
                continue;
            }
            let desc = match Descriptor::parse(&f, &raw) {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!("{e}; running component (if any) left untouched");
                    errors.push(e);
                    continue;
                }
            };
            let r = if map.contains_key(&f) {
                self.redeploy_locked(&mut map, desc, raw).await
            } else {
                self.deploy_locked(&mut map, desc, raw).await
            };
            if let Err(e) = r {
                tracing::error!("{e}");
                errors.push(e);
            }
        }
        errors
    }

    async fn redeploy_locked(
        &self,
        map: &mut BTreeMap<PathBuf, Deployed>,
        desc: Descriptor,
        raw: String,
    ) -> Result<(), DeployError> {
        let file = desc.file.clone();
        // Check against everything but the old version of this file before touching anything.
        {
            let known = |k: &str, n: &str| {
                map.values()
                    .any(|d| d.desc.file < file && d.desc.kind.kind_name() == k && d.desc.name == n)
            };
            validate(&desc, &self.registry, &known)?;
        }
        let deps = Container::dependents(map, &file);
        let mut stopped = Vec::new();
        for p in deps.iter().rev() {
            if let Some(d) = map.remove(p) {
                self.stop_entry(&d).await;
                stopped.push(d);
            }
        }
        let Some(old) = map.remove(&file) else {
            return self.deploy_locked(map, desc, raw).await;
        };
        self.stop_entry(&old).await;
        let result = match self.deploy_locked(map, desc, raw).await {
            Ok(()) => Ok(()),
            Err(e) => {
                // The new version failed to start: bring the old one back.
                if let Err(e2) = self.deploy_locked(map, old.desc, old.raw).await {
                    tracing::error!("restoring the previous version failed: {e2}");
                }
                Err(e)
            }
        };
        for d in stopped.into_iter().rev() {
            if let Err(e) = self.deploy_locked(map, d.desc, d.raw).await {
                tracing::error!("restarting a dependent failed: {e}");
            }
        }
        result
    }

    /// Stop accepting new work everywhere, wait (up to `drain`) until nothing is queued or in flight,
    /// then stop every component in reverse deploy order.
    pub async fn shutdown(&self, drain: Duration) {
        let deadline = tokio::time::Instant::now() + drain;
        {
            let map = self.deployed.lock().await;
            for d in map.values() {
                d.comp.stop_accepting();
            }
            loop {
                let pending: usize = map.values().map(|d| d.comp.pending()).sum();
                if pending == 0 {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    tracing::warn!(pending, "drain timeout: stopping with work in flight");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        self.stop_all(left.max(Duration::from_secs(1))).await;
    }

    async fn stop_all(&self, timeout: Duration) {
        let mut map = self.deployed.lock().await;
        while let Some((_, d)) = map.pop_last() {
            d.comp.stop_accepting();
            d.comp.stop(timeout).await;
            self.services.health.remove(&d.desc.name);
        }
    }

    /// Reopen log files and reset resettable counters (SIGHUP).
    pub async fn hangup(&self) {
        let map = self.deployed.lock().await;
        for d in map.values() {
            d.comp.reopen();
            d.comp.reset_stats();
        }
        tracing::info!("SIGHUP: logs reopened, stats reset");
    }

    /// Names of the deployed components, in deploy order.
    pub async fn names(&self) -> Vec<String> {
        self.deployed
            .lock()
            .await
            .values()
            .map(|d| d.desc.name.clone())
            .collect()
    }
}
