//! PAUSE support: a resume handle that a participant hands to whoever finishes its work.
//!
//! The manager parks a paused transaction on its own task (holding no worker) until the handle is used,
//! dropped, or `pause-timeout` passes; the last two abort the transaction. Resuming continues with the
//! participant after the one that paused (it is not prepared again); [`ResumeHandle::abort_with`] instead
//! turns the pause into an abort vote, as if the pausing participant had returned `ABORTED`.

use tokio::sync::oneshot;

use super::context::Context;

/// What resuming does to the context before the transaction continues; `false` makes it abort.
pub(crate) type ResumeFn = Box<dyn FnOnce(&mut Context) -> bool + Send>;

/// Resumes one paused transaction; using or dropping it ends the pause.
pub struct ResumeHandle {
    tx: oneshot::Sender<ResumeFn>,
}

impl ResumeHandle {
    /// Continue the transaction with the next participant; false if it already timed out.
    pub fn resume(self) -> bool {
        self.resume_with(|_| {})
    }

    /// Apply `f` to the context (e.g. store a host response), then continue; false if it already timed out.
    pub fn resume_with(self, f: impl FnOnce(&mut Context) + Send + 'static) -> bool {
        self.tx
            .send(Box::new(move |ctx: &mut Context| {
                f(ctx);
                true
            }))
            .is_ok()
    }

    /// Apply `f` to the context (e.g. store a result code), then abort the transaction: the pausing
    /// participant's vote becomes `ABORTED` and the rest of the chain gets `prepare_for_abort`, as after
    /// any abort vote; false if it already timed out.
    pub fn abort_with(self, f: impl FnOnce(&mut Context) + Send + 'static) -> bool {
        self.tx
            .send(Box::new(move |ctx: &mut Context| {
                f(ctx);
                false
            }))
            .is_ok()
    }
}

impl std::fmt::Debug for ResumeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeHandle")
    }
}

/// The receiving side, kept in the context until the manager parks the transaction.
#[derive(Default)]
pub(crate) struct PauseSlot {
    rx: Option<oneshot::Receiver<ResumeFn>>,
}

impl Clone for PauseSlot {
    /// A cloned context is not the paused one: it gets no resume receiver.
    fn clone(&self) -> Self {
        PauseSlot::default()
    }
}

impl PauseSlot {
    pub(crate) fn handle(&mut self) -> ResumeHandle {
        let (tx, rx) = oneshot::channel();
        self.rx = Some(rx);
        ResumeHandle { tx }
    }

    pub(crate) fn take(&mut self) -> Option<oneshot::Receiver<ResumeFn>> {
        self.rx.take()
    }
}
