//! `kind: ledger`: the ledger's PostgreSQL connection pool (migrations applied). With no `url` (and no
//! `DATABASE_URL`), the private cluster under `var` is initialized and started, and stopped again on
//! undeploy if this component started it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use serde::Deserialize;
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

use crate::deploy::component::{Component, KindError};
use crate::ledger::cluster::PrivateCluster;
use crate::ledger::{connect, create_database, migrate};

/// `kind: ledger` keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LedgerSpec {
    /// Always `ledger`.
    pub kind: String,
    /// Component name (what `http` names in `ledger:`).
    pub name: String,
    /// PostgreSQL URL; empty or absent uses the private cluster under `var`.
    #[serde(default)]
    pub url: Option<String>,
    /// Directory of the private cluster.
    #[serde(default = "default_var")]
    pub var: PathBuf,
    /// Database name in the private cluster.
    #[serde(default = "default_database")]
    pub database: String,
    /// Pool size.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Apply the embedded migrations on start.
    #[serde(default = "default_true")]
    pub migrate: bool,
}

fn default_var() -> PathBuf {
    PathBuf::from("./var")
}
fn default_database() -> String {
    "switchyard".to_owned()
}
fn default_max_connections() -> u32 {
    8
}
fn default_true() -> bool {
    true
}

impl LedgerSpec {
    fn url(&self) -> Option<String> {
        self.url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()))
    }

    /// Check the URL syntax and pool size.
    pub fn validate(&self) -> Result<(), KindError> {
        if self.max_connections == 0 {
            return Err(KindError::new("max-connections", "must be at least 1"));
        }
        if let Some(u) = self.url() {
            u.parse::<PgConnectOptions>()
                .map_err(|e| KindError::new("url", format!("not a PostgreSQL URL: {e}")))?;
        }
        Ok(())
    }

    /// Connect (starting the private cluster when no URL is given) and migrate.
    pub async fn start(&self) -> Result<Arc<dyn Component>, KindError> {
        self.validate()?;
        let (options, cluster) = match self.url() {
            Some(u) => (
                u.parse::<PgConnectOptions>()
                    .map_err(|e| KindError::new("url", e))?,
                None,
            ),
            None => {
                let var = self.var.clone();
                let cluster = tokio::task::spawn_blocking(move || {
                    let mut c = PrivateCluster::new(&var)?.stop_on_drop(true);
                    c.start()?;
                    Ok::<_, crate::ledger::cluster::ClusterError>(c)
                })
                .await
                .map_err(|e| KindError::new("var", e))?
                .map_err(|e| KindError::new("var", e))?;
                let admin = connect(cluster.connect_options("postgres"), 1)
                    .await
                    .map_err(|e| KindError::new("var", e))?;
                create_database(&admin, &self.database)
                    .await
                    .map_err(|e| KindError::new("database", e))?;
                admin.close().await;
                (cluster.connect_options(&self.database), Some(cluster))
            }
        };
        let pool = connect(options, self.max_connections)
            .await
            .map_err(|e| KindError::new("url", e))?;
        if self.migrate {
            migrate(&pool)
                .await
                .map_err(|e| KindError::new("migrate", e))?;
        }
        tracing::info!(ledger = %self.name, private = cluster.is_some(), "ledger connected");
        Ok(Arc::new(LedgerComponent {
            pool: Arc::new(pool),
            cluster: Mutex::new(cluster),
        }))
    }
}

/// A connected ledger.
pub struct LedgerComponent {
    pool: Arc<PgPool>,
    cluster: Mutex<Option<PrivateCluster>>,
}

#[async_trait]
impl Component for LedgerComponent {
    fn ready(&self) -> bool {
        !self.pool.is_closed()
    }

    fn handle(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        Some(self.pool.clone())
    }

    async fn stop(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.pool.close()).await;
        let cluster = self.cluster.lock().take();
        if let Some(c) = cluster {
            // Dropping stops the server if this component started it (blocking: pg_ctl).
            let _ = tokio::task::spawn_blocking(move || drop(c)).await;
        }
    }
}
