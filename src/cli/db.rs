//! `switchyard db start|stop|status|url|migrate`: the private PostgreSQL cluster under `./var`, or
//! the server named by `DATABASE_URL`; also `DbTarget`, how every database command finds its server.

use std::path::PathBuf;

use crate::ledger::cluster::{ClusterStatus, PrivateCluster};
use crate::ledger::{connect, create_database, migrate};
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

/// Where the database is: `DATABASE_URL`, else the private cluster under `--var`.
#[derive(Debug, Clone, Args)]
pub struct DbTarget {
    /// PostgreSQL URL to use instead of the private cluster.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,
    /// Directory of the private cluster (data in VAR/pg, socket in VAR/run).
    #[arg(long, default_value = "./var", global = true)]
    pub var: PathBuf,
    /// Database name inside the private cluster.
    #[arg(long, default_value = "switchyard", global = true)]
    pub database: String,
}

impl DbTarget {
    /// The private cluster (not started).
    pub fn cluster(&self) -> anyhow::Result<PrivateCluster> {
        PrivateCluster::new(&self.var)
            .with_context(|| format!("private cluster under {}", self.var.display()))
    }

    /// Connect options for the target database; the private cluster must be running.
    pub fn options(&self) -> anyhow::Result<PgConnectOptions> {
        if let Some(url) = &self.database_url {
            return url.parse().context("parsing DATABASE_URL");
        }
        let cluster = self.cluster()?;
        match cluster.status()? {
            ClusterStatus::Running(_) => Ok(cluster.connect_options(&self.database)),
            _ => bail!(
                "the private PostgreSQL under {} is not running: run `switchyard db start` (or set DATABASE_URL)",
                self.var.display()
            ),
        }
    }

    /// A bounded pool on the target database.
    pub async fn pool(&self, max_connections: u32) -> anyhow::Result<PgPool> {
        let options = self.options()?;
        Ok(connect(options, max_connections).await?)
    }
}

/// Private cluster commands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create (first time) and start the private cluster, create the database, apply migrations.
    Start(DbTarget),
    /// Stop the private cluster.
    Stop(DbTarget),
    /// Say whether the private cluster runs (exit 1 if not).
    Status(DbTarget),
    /// Print the URL to reach the database.
    Url(DbTarget),
    /// Apply the ledger migrations to the target database.
    Migrate(DbTarget),
}

/// Run a `db` command.
pub fn run(cmd: DbCommand) -> anyhow::Result<()> {
    match cmd {
        DbCommand::Start(t) => {
            if t.database_url.is_some() {
                bail!(
                    "DATABASE_URL is set: that server is used, the private cluster is not started"
                );
            }
            let mut cluster = t.cluster()?;
            cluster.start()?;
            let admin = cluster.connect_options("postgres");
            super::block_on(async {
                let admin = connect(admin, 1).await?;
                create_database(&admin, &t.database).await?;
                admin.close().await;
                let pool = connect(cluster.connect_options(&t.database), 2).await?;
                migrate(&pool).await?;
                pool.close().await;
                anyhow::Ok(())
            })??;
            println!("PostgreSQL running under {}", cluster.root().display());
            println!("{}", cluster.url(&t.database));
            Ok(())
        }
        DbCommand::Stop(t) => {
            if t.database_url.is_some() {
                bail!("DATABASE_URL is set: there is no private cluster to stop");
            }
            t.cluster()?.stop()?;
            println!("stopped");
            Ok(())
        }
        DbCommand::Status(t) => {
            if t.database_url.is_some() {
                let version: String = super::block_on(async {
                    let pool = t.pool(1).await?;
                    let v = sqlx::query_scalar("SELECT version()")
                        .fetch_one(&pool)
                        .await?;
                    anyhow::Ok(v)
                })??;
                println!("DATABASE_URL server: {version}");
                return Ok(());
            }
            match t.cluster()?.status()? {
                ClusterStatus::Running(pid) => {
                    println!("running (pid {pid}) under {}", t.var.display());
                    Ok(())
                }
                ClusterStatus::Stopped => bail!("stopped (under {})", t.var.display()),
                ClusterStatus::NotInitialized => bail!(
                    "no cluster under {}: run `switchyard db start`",
                    t.var.display()
                ),
            }
        }
        DbCommand::Url(t) => {
            match &t.database_url {
                Some(url) => println!("{url}"),
                None => println!("{}", t.cluster()?.url(&t.database)),
            }
            Ok(())
        }
        DbCommand::Migrate(t) => {
            super::block_on(async {
                let pool = t.pool(2).await?;
                migrate(&pool).await?;
                pool.close().await;
                anyhow::Ok(())
            })??;
            println!("migrations applied");
            Ok(())
        }
    }
}
