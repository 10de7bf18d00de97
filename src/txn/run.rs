//! Driving one transaction: prepare through the chain (with groups), then commit or abort the joined
//! participants in prepare order, recording recovery snapshots when a store is configured.

use std::sync::Arc;

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::future::BoxFuture;
use futures::FutureExt as _;
use smallvec::SmallVec;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use super::action::Action;
use super::chain::GroupIdx;
use super::context::{Context, Key};
use super::keys::RESULT_CODE;
use super::manager::Inner;
use super::pause::ResumeFn;
use super::recovery::{Record, Snapshot, TxnState};
use super::status::Outcome;

/// A chain longer than this (selectors looping) aborts the transaction, as in jPOS.
pub const MAX_STEPS: u32 = 10_000;

/// When the transaction was first attempted (kept across RETRY re-queues).
pub(crate) const FIRST_ATTEMPT: Key<tokio::time::Instant> = Key::new("txn.first-attempt");

type Pos = (GroupIdx, u16);

/// An in-flight transaction's state; owns its slot in `max-active`.
pub(crate) struct Txn {
    pub(crate) id: u64,
    pub(crate) ctx: Context,
    members: SmallVec<[Pos; 8]>,
    /// Chain positions still to visit; the top is the current group.
    stack: SmallVec<[Pos; 4]>,
    aborting: bool,
    retry: bool,
    /// Some participant changed state (not READONLY).
    dirty: bool,
    /// A recovery snapshot exists for this id.
    recorded: bool,
    steps: u32,
    _slot: InFlight,
}

/// A transaction's place in `max-active`: releases the permit and the in-flight count when dropped.
pub(crate) struct InFlight {
    inner: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl InFlight {
    pub(crate) fn new(inner: &Arc<Inner>, permit: OwnedSemaphorePermit) -> Self {
        inner
            .in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        inner.metrics.in_flight.increment(1.0);
        InFlight {
            inner: Arc::clone(inner),
            _permit: permit,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.inner
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.metrics.in_flight.decrement(1.0);
    }
}

impl Txn {
    pub(crate) fn new(id: u64, mut ctx: Context, slot: InFlight) -> Self {
        ctx.set_id(id);
        let mut stack = SmallVec::new();
        stack.push((0, 0));
        Txn {
            id,
            ctx,
            members: SmallVec::new(),
            stack,
            aborting: false,
            retry: false,
            dirty: false,
            recorded: false,
            steps: 0,
            _slot: slot,
        }
    }
}

fn next_pos(inner: &Inner, stack: &mut SmallVec<[Pos; 4]>) -> Option<Pos> {
    loop {
        let top = stack.last_mut()?;
        let len = inner
            .chain
            .groups
            .get(usize::from(top.0))
            .map_or(0, |g| g.nodes.len());
        if usize::from(top.1) < len {
            let at = *top;
            top.1 += 1;
            return Some(at);
        }
        stack.pop();
    }
}

fn labels<'a>(
    inner: &'a Inner,
    positions: impl Iterator<Item = Pos> + 'a,
) -> impl Iterator<Item = String> + 'a {
    positions.filter_map(|(g, p)| {
        inner
            .chain
            .node(g, usize::from(p))
            .map(|n| n.label.to_string())
    })
}

/// Write a recovery record; false if the store failed (the caller then must not commit).
async fn record(inner: &Inner, rec: Record) -> bool {
    let Some(store) = inner.store.as_ref() else {
        return true;
    };
    match store.append(rec).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "recovery store write failed");
            false
        }
    }
}

/// Record "preparing": joined members plus everything still queued in the chain.
async fn record_preparing(inner: &Inner, t: &mut Txn) -> bool {
    if inner.store.is_none() {
        return true;
    }
    let mut pending: Vec<Pos> = t.members.to_vec();
    for &(g, from) in t.stack.iter().rev() {
        let len = inner
            .chain
            .groups
            .get(usize::from(g))
            .map_or(0, |gr| gr.nodes.len());
        pending
            .extend((usize::from(from)..len).filter_map(|p| u16::try_from(p).ok().map(|p| (g, p))));
    }
    let members = labels(inner, pending.into_iter()).collect();
    let snap = Snapshot {
        id: t.id,
        state: TxnState::Preparing,
        members,
        entries: t.ctx.persistent_entries(),
    };
    let ok = record(inner, Record::Snapshot(snap)).await;
    t.recorded |= ok;
    ok
}

/// Run a participant call; a panic is logged and becomes `None` instead of killing the worker.
pub(crate) async fn guarded<T>(
    participant: &str,
    phase: &'static str,
    call: impl Future<Output = T>,
) -> Option<T> {
    match AssertUnwindSafe(call).catch_unwind().await {
        Ok(v) => Some(v),
        Err(_) => {
            tracing::error!(participant, phase, "participant panicked");
            None
        }
    }
}

/// Run (or continue) a transaction until it finishes or pauses.
pub(crate) async fn drive(inner: Arc<Inner>, mut t: Txn) {
    if !t.recorded && !t.aborting && !record_preparing(&inner, &mut t).await {
        t.aborting = true;
    }
    // One TSC read per participant (quanta): the OS clock is far too slow to call twice per prepare.
    let mut lap = quanta::Instant::now();
    while let Some((g, pos)) = next_pos(&inner, &mut t.stack) {
        t.steps += 1;
        if t.steps > MAX_STEPS {
            tracing::warn!(id = t.id, "participant loop detected; aborting");
            t.aborting = true;
            t.retry = false;
            break;
        }
        let Some(node) = inner.chain.node(g, usize::from(pos)) else {
            continue;
        };
        let p = &node.participant;
        let from_prepare = !t.aborting;
        let action = if from_prepare {
            // A panicking participant votes abort, as an exception does in jPOS.
            let a = guarded(&node.name, "prepare", p.prepare(t.id, &mut t.ctx))
                .await
                .unwrap_or(Action::ABORTED);
            let now = quanta::Instant::now();
            node.prepare_time.record(now.duration_since(lap));
            lap = now;
            if !a.is_prepared() {
                t.aborting = true;
                t.retry = a.contains(Action::RETRY);
            }
            a
        } else {
            guarded(
                &node.name,
                "prepare-for-abort",
                p.prepare_for_abort(t.id, &mut t.ctx),
            )
            .await
            .flatten()
            .unwrap_or(Action::ABORTED | Action::NO_JOIN)
        };
        if t.ctx.profiler().is_some() {
            let phase = if from_prepare {
                "prepare"
            } else {
                "prepare-for-abort"
            };
            t.ctx
                .checkpoint(&format!("{phase}: {} {action:?}", node.name));
        }
        if !action.contains(Action::READONLY) {
            t.dirty = true;
        }
        if !action.contains(Action::NO_JOIN) {
            t.members.push((g, pos));
        }
        if let Some(sel) = p.as_selector() {
            if action.is_prepared() || inner.cfg.call_selector_on_abort {
                for name in sel.select(t.id, &t.ctx).iter().rev() {
                    match inner.chain.group(name) {
                        Some(gi) => t.stack.push((gi, 0)),
                        None => {
                            tracing::error!(group = %name, "selector returned an unchecked group")
                        }
                    }
                }
                if !t.aborting && !record_preparing(&inner, &mut t).await {
                    t.aborting = true;
                }
            }
        }
        if !from_prepare || p.as_selector().is_some() {
            // Time spent outside `prepare` must not count towards the next participant.
            lap = quanta::Instant::now();
        }
        if from_prepare && action.contains(Action::PAUSE) && action.is_prepared() {
            match t.ctx.pause.take() {
                Some(rx) => {
                    let span = tracing::Span::current();
                    tokio::spawn(park(inner, t, rx).instrument(span));
                    return;
                }
                None => {
                    tracing::warn!(participant = %node.name, "PAUSE without a resume handle; aborting");
                    t.aborting = true;
                }
            }
        }
    }
    finish(inner, t).await;
}

/// Wait (on its own task, holding no worker) for the resume handle, then continue.
fn park(
    inner: Arc<Inner>,
    mut t: Txn,
    rx: tokio::sync::oneshot::Receiver<ResumeFn>,
) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        match tokio::time::timeout(inner.cfg.pause_timeout, rx).await {
            Ok(Ok(resume)) => {
                if !resume(&mut t.ctx) {
                    t.aborting = true;
                    t.retry = false;
                }
            }
            Ok(Err(_)) => {
                tracing::warn!(id = t.id, "resume handle dropped; aborting");
                t.aborting = true;
            }
            Err(_) => {
                tracing::warn!(id = t.id, "pause timeout; aborting");
                t.aborting = true;
            }
        }
        drive(inner, t).await
    })
}

async fn finish(inner: Arc<Inner>, mut t: Txn) {
    let mut first = None;
    let retry = t.aborting && t.retry && {
        let now = tokio::time::Instant::now();
        let since = *t.ctx.get(&FIRST_ATTEMPT).unwrap_or(&now);
        first = Some(since);
        now.duration_since(since) + inner.cfg.retry_interval < inner.cfg.retry_timeout
    };
    let mut outcome = if !t.aborting {
        Outcome::Committed
    } else if retry {
        Outcome::Retried
    } else {
        Outcome::Aborted
    };
    if outcome == Outcome::Committed && inner.store.is_some() && t.dirty {
        let members = labels(&inner, t.members.iter().copied()).collect();
        let snap = Snapshot {
            id: t.id,
            state: TxnState::Committing,
            members,
            entries: t.ctx.persistent_entries(),
        };
        if !record(&inner, Record::Snapshot(snap)).await {
            outcome = Outcome::Aborted;
        }
    }
    match outcome {
        Outcome::Committed => {
            for &(g, pos) in &t.members {
                if let Some(node) = inner.chain.node(g, usize::from(pos)) {
                    guarded(
                        &node.name,
                        "commit",
                        node.participant.commit(t.id, &mut t.ctx),
                    )
                    .await;
                    if t.ctx.profiler().is_some() {
                        t.ctx.checkpoint(&format!("commit: {}", node.name));
                    }
                }
            }
        }
        Outcome::Aborted => {
            for &(g, pos) in &t.members {
                if let Some(node) = inner.chain.node(g, usize::from(pos)) {
                    guarded(
                        &node.name,
                        "abort",
                        node.participant.abort(t.id, &mut t.ctx),
                    )
                    .await;
                    if t.ctx.profiler().is_some() {
                        t.ctx.checkpoint(&format!("abort: {}", node.name));
                    }
                }
            }
        }
        Outcome::Retried => {}
    }
    if t.recorded {
        record(&inner, Record::Done { id: t.id }).await;
    }
    report(&inner, t.id, outcome, &t.ctx);
    if outcome == Outcome::Retried {
        let mut ctx = std::mem::take(&mut t.ctx);
        if let Some(first) = first {
            ctx.put(&FIRST_ATTEMPT, first);
        }
        let interval = inner.cfg.retry_interval;
        let inner = Arc::clone(&inner);
        // The permit stays held (inside `t`) while waiting, so retries count against max-active.
        tokio::spawn(async move {
            tokio::time::sleep(interval).await;
            drop(t);
            if let Err(e) = inner.space.out(&inner.cfg.queue, ctx, None).await {
                e.report(&inner.cfg.name, "re-queue a RETRY (dropped)");
            }
        });
    }
}

/// Metrics, status listeners and the debug profile for a finished transaction.
pub(crate) fn report(inner: &Inner, id: u64, outcome: Outcome, ctx: &Context) {
    inner.metrics.done(outcome);
    if let Some(rc) = ctx.get(&RESULT_CODE) {
        metrics::counter!("txn_result_total", "manager" => inner.cfg.name.clone(), "code" => rc.to_string())
            .increment(1);
    }
    for l in &inner.listeners {
        l.finished(id, outcome, ctx);
    }
    if let Some(p) = ctx.profiler() {
        tracing::debug!(id, ?outcome, profile = %p, "transaction profile");
    }
}
