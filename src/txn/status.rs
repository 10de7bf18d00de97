//! Status listeners: told about every finished transaction (jPOS `TransactionStatusListener`).

use super::context::Context;

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every participant prepared; joined ones were committed.
    Committed,
    /// Some participant voted abort (or a pause timed out); joined ones were aborted.
    Aborted,
    /// A participant asked for RETRY: the transaction was re-queued, nobody aborted.
    Retried,
}

/// Called once per finished transaction, on the worker's task: keep it quick.
pub trait StatusListener: Send + Sync {
    /// Transaction `id` ended with `outcome`; `ctx` is its final context.
    fn finished(&self, id: u64, outcome: Outcome, ctx: &Context);
}

impl<F> StatusListener for F
where
    F: Fn(u64, Outcome, &Context) + Send + Sync,
{
    fn finished(&self, id: u64, outcome: Outcome, ctx: &Context) {
        self(id, outcome, ctx)
    }
}
