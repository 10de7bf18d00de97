//! Where a mux puts the messages nobody waits for: unknown or late responses and remote requests.

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
    /// `out` to a space queue (jPOS QMUX `unhandled` queue).
    Space {
        /// The space.
        space: Arc<dyn Space<IsoMsg>>,
        /// Queue name.
        queue: String,
    },
}

impl Unhandled {
    /// Hand a message on; false when it had to be discarded.
    pub(crate) fn put(&self, msg: IsoMsg) -> bool {
        match self {
            Unhandled::Discard => false,
            Unhandled::Queue(tx) => tx.try_send(msg).is_ok(),
            Unhandled::Space { space, queue } => {
                space.out(queue, msg, None);
                true
            }
        }
    }
}
