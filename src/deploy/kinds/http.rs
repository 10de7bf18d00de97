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
}

fn default_true() -> bool {
    true
}

impl HttpSpec {
    /// No references yet.
    pub fn refs(&self) -> Vec<Ref> {
        Vec::new()
    }

    fn router(&self, cx: &StartCx<'_>) -> Router {
        let mut app = Router::new();
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
        app
    }

    /// Bind and serve.
    pub async fn start(&self, cx: &StartCx<'_>) -> Result<Arc<dyn Component>, KindError> {
        let app = self.router(cx);
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
