//! Where a mux puts the messages nobody waits for: unknown or late responses and remote requests.
//!
//! A space destination (`tspace:` or the durable `pg:`) is fed by a forwarder task through a bounded
//! queue, so the mux's reader never waits on a database; a full queue or a failing space discards the
//! message and counts it (the mux's `discarded`, and `space_errors_total`), never silently.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::iso::IsoMsg;
use crate::space::Space;

/// Destination of unhandled messages.
#[derive(Clone, Default)]
pub enum Unhandled {
    /// Log and discard.
    #[default]
    Discard,
    /// A bounded queue; when full the message is discarded and counted.
    Queue(mpsc::Sender<IsoMsg>),
    /// `out` to a space queue (jPOS QMUX `unhandled` queue) through a forwarder task; build it with
    /// [`Unhandled::space`].
    Space(mpsc::Sender<IsoMsg>),
}

impl Unhandled {
    /// `out` unhandled messages to `queue` of `space`, at most `capacity` waiting for the space.
    ///
    /// Spawns the forwarder (it ends when the last clone of the returned value is dropped); needs a
    /// tokio runtime. `name` names the mux in logs and metrics.
    pub fn space(
        name: &str,
        space: Arc<dyn Space<IsoMsg>>,
        queue: &str,
        capacity: usize,
    ) -> Unhandled {
        let (tx, mut rx) = mpsc::channel::<IsoMsg>(capacity.max(1));
        let (name, queue) = (name.to_owned(), queue.to_owned());
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                if let Err(e) = space.out(&queue, msg, None).await {
                    e.report(&name, "out an unhandled message (discarded)");
                }
            }
        });
        Unhandled::Space(tx)
    }

    /// Hand a message on; false when it had to be discarded.
    pub(crate) fn put(&self, msg: IsoMsg) -> bool {
        match self {
            Unhandled::Discard => false,
            Unhandled::Queue(tx) | Unhandled::Space(tx) => tx.try_send(msg).is_ok(),
        }
    }
}
