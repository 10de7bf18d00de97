//! `kind: logger`: log format, levels per target and an optional file (reopened on SIGHUP).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tracing_subscriber::EnvFilter;

use super::StartCx;
use crate::deploy::component::{Component, KindError};
use crate::deploy::logging::{LogControl, LogFormat};

/// `kind: logger` keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LoggerSpec {
    /// Always `logger`.
    pub kind: String,
    /// Component name.
    pub name: String,
    /// `human` or `json`.
    #[serde(default)]
    pub format: LogFormat,
    /// Levels in EnvFilter syntax (`info,switchyard::channel=debug`).
    #[serde(default = "default_level")]
    pub level: String,
    /// Log file (appended; reopened on SIGHUP); absent logs to stderr.
    #[serde(default)]
    pub file: Option<PathBuf>,
}

fn default_level() -> String {
    "info".to_owned()
}

impl LoggerSpec {
    /// Check the level syntax.
    pub fn validate(&self) -> Result<(), KindError> {
        EnvFilter::try_new(&self.level).map(|_| ()).map_err(|e| {
            KindError::new(
                "level",
                format!("{e} (expected EnvFilter syntax, e.g. info,switchyard::txn=debug)"),
            )
        })
    }

    /// Apply the settings to the process logger.
    pub fn start(&self, cx: &StartCx<'_>) -> Result<Arc<dyn Component>, KindError> {
        self.validate()?;
        let control = cx.services.logging.clone();
        if let Some(c) = &control {
            c.apply(self.format, &self.level, self.file.as_deref())
                .map_err(|e| KindError::new("file", e))?;
        }
        Ok(Arc::new(LoggerComponent(control)))
    }
}

/// The applied logger settings.
pub struct LoggerComponent(Option<Arc<LogControl>>);

#[async_trait]
impl Component for LoggerComponent {
    fn reopen(&self) {
        if let Some(c) = &self.0 {
            c.reopen();
        }
    }

    async fn stop(&self, _timeout: Duration) {
        if let Some(c) = &self.0 {
            c.reset();
        }
    }
}
