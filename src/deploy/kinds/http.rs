//! `kind: http`: an axum server with `/metrics` (Prometheus text), `/health` (JSON readiness of every
//! component; 200 when all are ready, 503 otherwise).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use parking_lot::Mutex;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::StartCx;
use crate::deploy::component::{Component, KindError};
use crate::deploy::descriptor::Ref;
use crate::deploy::health::HealthBoard;

/// `kind: http` keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpSpec {
    /// Always `http`.
    pub kind: String,
    /// Component name.
    pub name: String,
    /// `host:port` to listen on.
    pub listen: SocketAddr,
    /// Serve `/metrics`.
    #[serde(default = "default_true")]
    pub metrics: bool,
    /// Serve `/health`.
    #[serde(default = "default_true")]
    pub health: bool,
    /// A `ledger` component: serve the read-only ledger API under `/ledger/...`.
    #[serde(default)]
    pub ledger: Option<String>,
    /// Bearer token required by the ledger API.
    #[serde(default)]
    pub ledger_token: Option<String>,
    /// Journal the ledger API uses when a request names none.
    #[serde(default)]
    pub ledger_journal: Option<String>,
}

fn default_true() -> bool {
    true
}

impl HttpSpec {
    /// The ledger, when the ledger API is served.
    pub fn refs(&self) -> Vec<Ref> {
        self.ledger
            .iter()
            .map(|l| Ref::new("ledger", l, "ledger"))
            .collect()
    }

    /// Check the ledger API keys.
    pub fn validate(&self) -> Result<(), KindError> {
        if self.ledger.is_none() && (self.ledger_token.is_some() || self.ledger_journal.is_some()) {
            return Err(KindError::new(
                "ledger",
                "ledger-token / ledger-journal need `ledger: NAME`",
            ));
        }
        Ok(())
    }

    fn router(&self, cx: &StartCx<'_>) -> Result<Router, KindError> {
        let mut app = Router::new();
        if let Some(l) = &self.ledger {
            let pool = cx.lookup::<sqlx::PgPool>("ledger", l, "ledger")?;
            let cfg = crate::ledger::http::HttpConfig {
                journal: self.ledger_journal.clone(),
                token: self.ledger_token.clone(),
            };
            app = app.merge(crate::ledger::http::router((*pool).clone(), cfg));
        }
        if self.metrics {
            let handle = cx.services.prometheus.clone();
            app = app.route(
                "/metrics",
                get(move || {
                    let body = handle.as_ref().map(|h| h.render()).unwrap_or_default();
                    async move { ([("content-type", "text/plain; version=0.0.4")], body) }
                }),
            );
        }
        if self.health {
            let board: Arc<HealthBoard> = cx.services.health.clone();
            app = app.route(
                "/health",
                get(move || {
                    let (ok, body) = board.report();
                    async move {
                        let code = if ok {
                            StatusCode::OK
                        } else {
                            StatusCode::SERVICE_UNAVAILABLE
                        };
                        (code, Json(body)).into_response()
                    }
                }),
            );
        }
        Ok(app)
    }

    /// Bind and serve.
    pub async fn start(&self, cx: &StartCx<'_>) -> Result<Arc<dyn Component>, KindError> {
        self.validate()?;
        let app = self.router(cx)?;
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .map_err(|e| KindError::new("listen", format!("bind {}: {e}", self.listen)))?;
        let stop = CancellationToken::new();
        let s = stop.clone();
        let name = self.name.clone();
        tracing::info!(http = %name, listen = %self.listen, "listening");
        let task = tokio::spawn(async move {
            let r = axum::serve(listener, app)
                .with_graceful_shutdown(async move { s.cancelled().await })
                .await;
            if let Err(e) = r {
                tracing::warn!(http = %name, error = %e, "http server failed");
            }
        });
        Ok(Arc::new(HttpComponent {
            stop,
            task: Mutex::new(Some(task)),
        }))
    }
}

/// A running HTTP server.
pub struct HttpComponent {
    stop: CancellationToken,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[async_trait]
impl Component for HttpComponent {
    async fn stop(&self, timeout: Duration) {
        self.stop.cancel();
        let task = self.task.lock().take();
        if let Some(t) = task {
            if tokio::time::timeout(timeout, t).await.is_err() {
                tracing::warn!("http server did not stop in time");
            }
        }
    }
}
