//! `kind: space`: a named space. `type: tspace` (in memory) holds the transaction contexts that servers
//! queue to and transaction managers take from, and messages; `type: pg` is a durable space in
//! PostgreSQL (the ledger's database, or `url`) for serializable messages only — a mux's unhandled queue,
//! a store-and-forward queue — and serves the `pg:` scheme of the container's space registry.
//!
//! Contexts carry a reply handle (a live connection), which cannot be stored in a database: a server or
//! txnmgr naming a `pg` space fails to deploy, saying so.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

use super::StartCx;
use crate::deploy::component::{Component, KindError};
use crate::deploy::descriptor::Ref;
use crate::iso::IsoMsg;
use crate::space::pg::{PgSpaceFactory, DEFAULT_FALLBACK};
use crate::space::{Scheme, Space, SpaceAddr, SpaceFactory, SpaceRegistry, TSpace};
use crate::txn::Context;

/// `kind: space` keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SpaceSpec {
    /// Always `space`.
    pub kind: String,
    /// Component name (what servers and txnmgrs name in `space:`; a pg space is `pg:NAME`).
    pub name: String,
    /// Implementation: `tspace` or `pg`.
    #[serde(rename = "type", default = "default_type")]
    pub space_type: String,
    /// `pg`: the ledger component whose database holds the space.
    #[serde(default)]
    pub ledger: Option<String>,
    /// `pg`: a PostgreSQL URL instead of a ledger (migrations are applied on start).
    #[serde(default)]
    pub url: Option<String>,
    /// `pg` with `url`: pool size.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// `pg`: longest a wait trusts LISTEN/NOTIFY before re-checking (ms).
    #[serde(default = "default_fallback")]
    pub fallback: u64,
}

fn default_type() -> String {
    "tspace".to_owned()
}
fn default_max_connections() -> u32 {
    4
}
fn default_fallback() -> u64 {
    DEFAULT_FALLBACK.as_millis() as u64
}

/// What a space component offers to others: contexts (tspace only) and messages (both types).
pub struct SpaceHandle {
    name: String,
    scheme: Scheme,
    contexts: Option<Arc<dyn Space<Context>>>,
    messages: Arc<dyn Space<IsoMsg>>,
}

impl SpaceHandle {
    /// The space for transaction contexts; a `pg` space refuses, naming `key` (deploy-time error).
    pub fn contexts(&self, key: &str) -> Result<Arc<dyn Space<Context>>, KindError> {
        self.contexts.clone().ok_or_else(|| {
            KindError::new(
                key,
                format!(
                    "space '{}' is type {}: it stores serializable messages only, and a transaction \
                     context carries a reply handle (a live connection) that cannot be stored in \
                     PostgreSQL; name a `type: tspace` space here",
                    self.name,
                    self.scheme.as_str()
                ),
            )
        })
    }

    /// The space for ISO messages.
    pub fn messages(&self) -> Arc<dyn Space<IsoMsg>> {
        self.messages.clone()
    }

    /// `tspace` or `pg`.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }
}

/// A reference to a space component, bare (`NAME`) or as an address (`tspace:NAME`, `pg:NAME`).
pub fn space_ref(value: &str, key: &str) -> Result<(Option<Scheme>, String), KindError> {
    if !value.contains(':') {
        return Ok((None, value.to_owned()));
    }
    let addr = SpaceAddr::parse(value).map_err(|e| KindError::new(key, e))?;
    if addr.scheme == Scheme::File {
        return Err(KindError::new(
            key,
            format!(
                "'{value}': a file: address is not a space (expected NAME, tspace:NAME or pg:NAME)"
            ),
        ));
    }
    Ok((Some(addr.scheme), addr.name))
}

/// The component name in a space reference (for the container's reference checks).
pub fn ref_name(value: &str) -> String {
    space_ref(value, "space").map_or_else(|_| value.to_owned(), |(_, n)| n)
}

/// Check a reference to the space of transaction contexts: `pg:` is refused (contexts carry a reply
/// handle, which cannot be stored in a database).
pub fn check_context_space(value: &str, key: &str) -> Result<(), KindError> {
    match space_ref(value, key)? {
        (Some(Scheme::Pg), _) => Err(KindError::new(
            key,
            format!(
                "'{value}': transaction contexts carry a reply handle (a live connection) and cannot \
                 be stored in a PostgreSQL space; name a `type: tspace` space here"
            ),
        )),
        _ => Ok(()),
    }
}

/// Look up the space component `value` refers to, checking a scheme prefix against its type.
pub fn lookup_space(
    cx: &StartCx<'_>,
    value: &str,
    key: &str,
) -> Result<Arc<SpaceHandle>, KindError> {
    let (scheme, name) = space_ref(value, key)?;
    let h = cx.lookup::<SpaceHandle>("space", &name, key)?;
    if let Some(s) = scheme {
        if s != h.scheme {
            return Err(KindError::new(
                key,
                format!(
                    "'{value}': space '{name}' is type {}, not {}",
                    h.scheme.as_str(),
                    s.as_str()
                ),
            ));
        }
    }
    Ok(h)
}

impl SpaceSpec {
    /// The ledger a pg space uses.
    pub fn refs(&self) -> Vec<Ref> {
        match (&*self.space_type, &self.ledger) {
            ("pg", Some(l)) => vec![Ref::new("ledger", l, "ledger")],
            _ => Vec::new(),
        }
    }

    /// Check the type and the keys it needs.
    pub fn validate(&self) -> Result<(), KindError> {
        match self.space_type.as_str() {
            "tspace" => {
                for (key, set) in [
                    ("ledger", self.ledger.is_some()),
                    ("url", self.url.is_some()),
                ] {
                    if set {
                        return Err(KindError::new(key, "only for `type: pg`"));
                    }
                }
                Ok(())
            }
            "pg" => {
                crate::space::pg::check_name(&self.name).map_err(|e| KindError::new("name", e))?;
                match (
                    &self.ledger,
                    self.url.as_deref().filter(|u| !u.trim().is_empty()),
                ) {
                    (Some(_), Some(_)) => Err(KindError::new(
                        "url",
                        "give either `ledger` or `url`, not both",
                    )),
                    (None, None) => Err(KindError::new(
                        "ledger",
                        "a pg space needs `ledger: <ledger component>` or `url: postgres://...`",
                    )),
                    (None, Some(u)) => {
                        u.parse::<PgConnectOptions>().map_err(|e| {
                            KindError::new("url", format!("not a PostgreSQL URL: {e}"))
                        })?;
                        if self.max_connections == 0 {
                            return Err(KindError::new("max-connections", "must be at least 1"));
                        }
                        Ok(())
                    }
                    (Some(_), None) => Ok(()),
                }
            }
            other => Err(KindError::new(
                "type",
                format!("unknown space type '{other}' (expected tspace or pg)"),
            )),
        }
    }

    /// Create the space (a pg space: connect, and serve `pg:` in the container's registry).
    pub async fn start(&self, cx: &StartCx<'_>) -> Result<Arc<dyn Component>, KindError> {
        self.validate()?;
        if self.space_type == "tspace" {
            let handle = SpaceHandle {
                name: self.name.clone(),
                scheme: Scheme::TSpace,
                contexts: Some(Arc::new(TSpace::<Context>::new())),
                messages: Arc::new(TSpace::<IsoMsg>::new()),
            };
            return Ok(Arc::new(SpaceComponent {
                handle: Arc::new(handle),
                pg: None,
            }));
        }
        let (pool, own_pool) = match &self.ledger {
            Some(l) => {
                let pool = cx.lookup::<PgPool>("ledger", l, "ledger")?;
                ((*pool).clone(), false)
            }
            None => {
                let url = self.url.as_deref().unwrap_or_default();
                let options = url
                    .parse::<PgConnectOptions>()
                    .map_err(|e| KindError::new("url", e))?;
                let pool = crate::ledger::connect(options, self.max_connections)
                    .await
                    .map_err(|e| KindError::new("url", e))?;
                crate::ledger::migrate(&pool)
                    .await
                    .map_err(|e| KindError::new("url", e))?;
                (pool, true)
            }
        };
        let factory = PgSpaceFactory::new(pool.clone(), Duration::from_millis(self.fallback));
        let registry = cx.services.spaces.clone();
        if registry.serves(&Scheme::Pg) {
            tracing::info!(space = %self.name, "pg: spaces now served by this component's database");
        }
        let messages = SpaceFactory::<IsoMsg>::open(&factory, &self.name)
            .map_err(|e| KindError::new("name", e))?;
        let addr = SpaceAddr {
            scheme: Scheme::Pg,
            name: self.name.clone(),
        };
        let factory: Arc<dyn SpaceFactory<IsoMsg>> = Arc::new(factory);
        registry.register_factory(Scheme::Pg, factory.clone());
        registry.bind(addr.clone(), messages.clone());
        tracing::info!(space = %addr, "pg space deployed");
        Ok(Arc::new(SpaceComponent {
            handle: Arc::new(SpaceHandle {
                name: self.name.clone(),
                scheme: Scheme::Pg,
                contexts: None,
                messages,
            }),
            pg: Some(PgPart {
                registry,
                factory,
                addr,
                pool: own_pool.then_some(pool),
            }),
        }))
    }
}

/// What a pg space undoes on stop.
struct PgPart {
    registry: Arc<SpaceRegistry<IsoMsg>>,
    factory: Arc<dyn SpaceFactory<IsoMsg>>,
    addr: SpaceAddr,
    /// The pool, when this component made it (`url`); a ledger's pool is the ledger's to close.
    pool: Option<PgPool>,
}

/// A deployed space.
pub struct SpaceComponent {
    handle: Arc<SpaceHandle>,
    pg: Option<PgPart>,
}

#[async_trait]
impl Component for SpaceComponent {
    fn handle(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        Some(self.handle.clone())
    }

    async fn stop(&self, timeout: Duration) {
        if let Some(pg) = &self.pg {
            pg.registry.unbind(&pg.addr);
            pg.registry.unregister_factory(&Scheme::Pg, &pg.factory);
            if let Some(pool) = &pg.pool {
                let _ = tokio::time::timeout(timeout, pool.close()).await;
            }
        }
    }
}
