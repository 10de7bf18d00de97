//! `pg:NAME` recovery store: the transaction manager's recovery log in PostgreSQL, next to the ledger.
//!
//! One row per record in `txn_recovery` under the store's name, each appended in its own committed
//! statement (durable when `append` returns, with `synchronous_commit` on; concurrent commits share WAL
//! flushes). `load` replays the rows in order; `compact` replaces them with the id high-water mark in
//! one transaction. Two live managers must not share a store name (as they must not share a file).

use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::PgPool;

use super::recovery::{Record, RecoveredState, RecoveryError, RecoveryStore};

/// The PostgreSQL-backed recovery store.
pub struct PgStore {
    pool: PgPool,
    name: String,
}

impl PgStore {
    /// The store named `name` on `pool` (migrations applied).
    pub fn new(pool: PgPool, name: &str) -> Self {
        PgStore {
            pool,
            name: name.to_owned(),
        }
    }

    fn db(&self, source: sqlx::Error) -> RecoveryError {
        RecoveryError::Database {
            store: format!("pg:{}", self.name),
            source,
        }
    }
}

#[async_trait]
impl RecoveryStore for PgStore {
    async fn load(&self) -> Result<RecoveredState, RecoveryError> {
        let rows: Vec<Json<serde_json::Value>> =
            sqlx::query_scalar("SELECT record FROM txn_recovery WHERE store = $1 ORDER BY seq")
                .bind(&self.name)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.db(e))?;
        let mut records = Vec::with_capacity(rows.len());
        for (i, Json(v)) in rows.into_iter().enumerate() {
            let r: Record = serde_json::from_value(v).map_err(|e| RecoveryError::Corrupt {
                store: format!("pg:{}", self.name),
                line: i + 1,
                reason: e.to_string(),
            })?;
            records.push(r);
        }
        Ok(RecoveredState::replay(records))
    }

    async fn append(&self, record: Record) -> Result<(), RecoveryError> {
        sqlx::query("INSERT INTO txn_recovery (store, record) VALUES ($1, $2)")
            .bind(&self.name)
            .bind(Json(&record))
            .execute(&self.pool)
            .await
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    async fn compact(&self, next_id: u64) -> Result<(), RecoveryError> {
        let mut tx = self.pool.begin().await.map_err(|e| self.db(e))?;
        sqlx::query("DELETE FROM txn_recovery WHERE store = $1")
            .bind(&self.name)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(e))?;
        sqlx::query("INSERT INTO txn_recovery (store, record) VALUES ($1, $2)")
            .bind(&self.name)
            .bind(Json(Record::HighWater { next_id }))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(e))?;
        tx.commit().await.map_err(|e| self.db(e))
    }
}
