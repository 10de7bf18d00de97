//! Transaction manager configuration (the `kind: txnmgr` descriptor keys), with defaults in one place.

use std::time::Duration;

use serde::Deserialize;

/// Settings for one transaction manager.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct TxnConfig {
    /// Name used in metrics and logs.
    pub name: String,
    /// Space queue the requests are taken from.
    pub queue: String,
    /// Worker tasks taking new transactions.
    pub sessions: usize,
    /// Most transactions in flight (taken but not finished, including paused and retry-waiting ones).
    pub max_active: usize,
    /// Delay before a RETRY transaction is re-queued.
    #[serde(with = "millis")]
    pub retry_interval: Duration,
    /// After this long since the first attempt, a RETRY is turned into an abort.
    #[serde(with = "millis")]
    pub retry_timeout: Duration,
    /// A paused transaction not resumed within this is aborted.
    #[serde(with = "millis")]
    pub pause_timeout: Duration,
    /// Run group selectors even after an abort vote, so decline paths can build a response.
    pub call_selector_on_abort: bool,
    /// Profile every transaction and dump the profile through `tracing` at debug level.
    pub debug: bool,
    /// How long an idle worker waits on the queue before re-checking for shutdown.
    #[serde(with = "millis")]
    pub idle_wait: Duration,
}

impl Default for TxnConfig {
    fn default() -> Self {
        TxnConfig {
            name: "txnmgr".to_owned(),
            queue: "txnmgr.in".to_owned(),
            sessions: 2,
            max_active: 256,
            retry_interval: Duration::from_secs(5),
            retry_timeout: Duration::from_secs(60),
            pause_timeout: Duration::from_secs(60),
            call_selector_on_abort: true,
            debug: false,
            idle_wait: Duration::from_secs(1),
        }
    }
}

/// Durations written as integer milliseconds in YAML.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kebab_keys_and_rejects_unknown_ones() {
        let cfg: TxnConfig =
            serde_json::from_str(r#"{"sessions": 8, "max-active": 64, "retry-interval": 250}"#)
                .expect("valid");
        assert_eq!((cfg.sessions, cfg.max_active), (8, 64));
        assert_eq!(cfg.retry_interval, Duration::from_millis(250));
        assert!(cfg.call_selector_on_abort);
        assert!(serde_json::from_str::<TxnConfig>(r#"{"sesions": 8}"#).is_err());
    }
}
