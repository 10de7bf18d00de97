//! Hot deploy: watch the deploy directory with `notify` and rescan it when files change (debounced),
//! with a slow periodic rescan as a safety net for missed events.

use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::container::Container;

/// Quiet time after the last event before rescanning (editors write files in several steps).
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Rescan at least this often even without events.
pub const SAFETY_RESCAN: Duration = Duration::from_secs(5);

/// Watch `container`'s directory until `stop` is cancelled.
pub fn spawn(container: Arc<Container>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    // Events only say "look again": one pending notification is enough.
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.is_ok() {
            let _ = tx.try_send(());
        }
    });
    let watcher = match watcher {
        Ok(mut w) => match w.watch(container.dir(), RecursiveMode::NonRecursive) {
            Ok(()) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the deploy directory; polling only");
                None
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "no file watcher; polling only");
            None
        }
    };
    tokio::spawn(async move {
        let _keep = watcher;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                got = rx.recv() => {
                    if got.is_none() {
                        return;
                    }
                    // Debounce: wait until events stop for a moment.
                    while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {}
                }
                _ = tokio::time::sleep(SAFETY_RESCAN) => {}
            }
            if stop.is_cancelled() {
                return;
            }
            container.rescan().await;
        }
    })
}
