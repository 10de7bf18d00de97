//! The `Participant` and `GroupSelector` traits: what a transaction manager drives (jPOS
//! `TransactionParticipant`, `AbortParticipant`, `GroupSelector`).

use async_trait::async_trait;

use super::action::Action;
use super::context::Context;

/// A step of a transaction: votes in `prepare`, then is told the outcome in `commit` or `abort`.
///
/// Held as `Arc<dyn Participant>`; one instance serves every transaction concurrently.
#[async_trait]
pub trait Participant: Send + Sync + 'static {
    /// Vote on transaction `id`; the returned flags decide commit/abort and whether this participant joins.
    async fn prepare(&self, id: u64, ctx: &mut Context) -> Action;

    /// The transaction committed (called only if this participant joined).
    async fn commit(&self, _id: u64, _ctx: &mut Context) {}

    /// The transaction aborted (called only if this participant joined).
    async fn abort(&self, _id: u64, _ctx: &mut Context) {}

    /// Called instead of `prepare` once an earlier participant voted to abort (jPOS `AbortParticipant`).
    ///
    /// `None` (the default) means "not an abort participant": it is skipped and does not join.
    async fn prepare_for_abort(&self, _id: u64, _ctx: &mut Context) -> Option<Action> {
        None
    }

    /// This participant as a group selector, if it is one.
    fn as_selector(&self) -> Option<&dyn GroupSelector> {
        None
    }
}

/// A participant that also picks which groups run next (jPOS `GroupSelector`).
pub trait GroupSelector: Participant {
    /// Names of the groups to run next, in order; empty for none.
    fn select(&self, id: u64, ctx: &Context) -> &[String];

    /// Every group name `select` can ever return, checked against the configuration at deploy time.
    fn group_names(&self) -> Vec<&str>;
}
