//! Manager metrics (`metrics` crate): transactions by outcome, in-flight gauge. Handles are resolved once
//! at build time, so the per-transaction cost is an atomic add (or nothing without a recorder).

use metrics::{Counter, Gauge};

use super::status::Outcome;

/// Pre-resolved metric handles for one manager.
pub(crate) struct TxnMetrics {
    committed: Counter,
    aborted: Counter,
    retried: Counter,
    pub(crate) in_flight: Gauge,
}

impl TxnMetrics {
    pub(crate) fn new(manager: &str) -> Self {
        let m = manager.to_owned();
        TxnMetrics {
            committed: metrics::counter!("txn_total", "manager" => m.clone(), "outcome" => "committed"),
            aborted: metrics::counter!("txn_total", "manager" => m.clone(), "outcome" => "aborted"),
            retried: metrics::counter!("txn_total", "manager" => m.clone(), "outcome" => "retried"),
            in_flight: metrics::gauge!("txn_in_flight", "manager" => m),
        }
    }

    pub(crate) fn done(&self, outcome: Outcome) {
        match outcome {
            Outcome::Committed => self.committed.increment(1),
            Outcome::Aborted => self.aborted.increment(1),
            Outcome::Retried => self.retried.increment(1),
        }
    }
}
