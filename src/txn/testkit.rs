//! Test helpers for the manager: scripted participants that log calls, and a harness that runs a chain.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::*;
use crate::space::TSpace;

/// Shared call log: "prepare:a", "commit:a", "abort:a", "pfa:a".
pub(crate) type Log = Arc<Mutex<Vec<String>>>;

/// A participant that returns scripted actions and logs every call.
pub(crate) struct Scripted {
    pub name: &'static str,
    pub log: Log,
    /// Actions for successive prepares; the last one repeats.
    pub actions: Mutex<VecDeque<Action>>,
    /// `Some` makes it an abort participant.
    pub on_abort: Option<Action>,
    /// Resume a PAUSE after this long (virtual time); `None` never resumes.
    pub resume_after: Option<Duration>,
    /// Resume with `abort_with` instead of `resume_with`.
    pub resume_aborts: bool,
}

impl Scripted {
    pub(crate) fn new(name: &'static str, log: &Log, actions: &[Action]) -> Self {
        Scripted {
            name,
            log: Arc::clone(log),
            actions: Mutex::new(actions.iter().copied().collect()),
            on_abort: None,
            resume_after: None,
            resume_aborts: false,
        }
    }

    pub(crate) fn abort_participant(mut self, a: Action) -> Self {
        self.on_abort = Some(a);
        self
    }

    pub(crate) fn resuming_after(mut self, d: Duration) -> Self {
        self.resume_after = Some(d);
        self
    }

    pub(crate) fn aborting_on_resume(mut self) -> Self {
        self.resume_aborts = true;
        self
    }

    fn next_action(&self) -> Action {
        let mut q = self.actions.lock();
        if q.len() > 1 {
            q.pop_front().unwrap_or(Action::PREPARED)
        } else {
            q.front().copied().unwrap_or(Action::PREPARED)
        }
    }
}

#[async_trait]
impl Participant for Scripted {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        self.log.lock().push(format!("prepare:{}", self.name));
        let a = self.next_action();
        if a.contains(Action::PAUSE) {
            let handle = ctx.pause_handle();
            if let Some(d) = self.resume_after {
                let name = self.name;
                let aborts = self.resume_aborts;
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    let mark = move |ctx: &mut Context| ctx.put(&RESUMED_BY, name);
                    if aborts {
                        handle.abort_with(mark);
                    } else {
                        handle.resume_with(mark);
                    }
                });
            } else {
                // Keep the handle alive (never resumed) so only the pause timeout ends the wait.
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    drop(handle);
                });
            }
        }
        a
    }

    async fn commit(&self, _id: u64, _ctx: &mut Context) {
        self.log.lock().push(format!("commit:{}", self.name));
    }

    async fn abort(&self, _id: u64, _ctx: &mut Context) {
        self.log.lock().push(format!("abort:{}", self.name));
    }

    async fn prepare_for_abort(&self, _id: u64, _ctx: &mut Context) -> Option<Action> {
        let a = self.on_abort?;
        self.log.lock().push(format!("pfa:{}", self.name));
        Some(a)
    }
}

/// Set by `Scripted` when it resumes a paused transaction.
pub(crate) const RESUMED_BY: Key<&'static str> = Key::new("RESUMED_BY");

/// A running manager plus a feed of finished transactions.
pub(crate) struct Harness {
    pub mgr: TransactionManager,
    pub space: Arc<TSpace<Context>>,
    pub done: mpsc::Receiver<(u64, Outcome, Context)>,
}

impl Harness {
    pub(crate) async fn start(cfg: TxnConfig, chain: Chain) -> Self {
        Self::start_with(cfg, chain, None).await
    }

    pub(crate) async fn start_with(
        cfg: TxnConfig,
        chain: Chain,
        store: Option<Arc<dyn RecoveryStore>>,
    ) -> Self {
        let space = Arc::new(TSpace::new());
        let (tx, done) = mpsc::channel(1024);
        let listener = move |id: u64, o: Outcome, ctx: &Context| {
            let _ = tx.try_send((id, o, ctx.clone()));
        };
        let mut b = TransactionManager::builder(cfg, Arc::clone(&space) as _, chain)
            .status_listener(Arc::new(listener));
        if let Some(s) = store {
            b = b.recovery(s);
        }
        let mgr = b.start().await.expect("manager starts");
        Harness { mgr, space, done }
    }

    /// Wait for the next finished transaction (virtual-time bounded).
    pub(crate) async fn next(&mut self) -> (u64, Outcome, Context) {
        tokio::time::timeout(Duration::from_secs(3600), self.done.recv())
            .await
            .ok()
            .flatten()
            .expect("a transaction finishes")
    }
}

/// Participants list from scripted ones.
pub(crate) fn list(ps: Vec<Scripted>) -> Vec<Named> {
    ps.into_iter()
        .map(|p| (p.name.to_owned(), Arc::new(p) as Arc<dyn Participant>))
        .collect()
}

/// A fresh empty log.
pub(crate) fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}
