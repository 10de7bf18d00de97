//! `core.Delay`: sleeps in prepare / commit / abort (jPOS `Delay`), for tests and load shaping.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use crate::txn::{Action, Context, Participant};

/// `participant-config` for `core.Delay`, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct DelayConfig {
    /// Sleep in prepare.
    pub prepare_delay: u64,
    /// Sleep in commit.
    pub commit_delay: u64,
    /// Sleep in abort.
    pub abort_delay: u64,
}

/// Sleeps, then votes PREPARED | READONLY.
#[derive(Debug, Clone, Copy)]
pub struct Delay {
    prepare: Duration,
    commit: Duration,
    abort: Duration,
}

impl Delay {
    /// A delay participant with the configured sleeps.
    pub fn new(cfg: DelayConfig) -> Self {
        Delay {
            prepare: Duration::from_millis(cfg.prepare_delay),
            commit: Duration::from_millis(cfg.commit_delay),
            abort: Duration::from_millis(cfg.abort_delay),
        }
    }
}

#[async_trait]
impl Participant for Delay {
    async fn prepare(&self, _id: u64, _ctx: &mut Context) -> Action {
        tokio::time::sleep(self.prepare).await;
        Action::PREPARED | Action::READONLY
    }

    async fn commit(&self, _id: u64, _ctx: &mut Context) {
        tokio::time::sleep(self.commit).await;
    }

    async fn abort(&self, _id: u64, _ctx: &mut Context) {
        tokio::time::sleep(self.abort).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sleeps_for_the_configured_time() {
        let d = Delay::new(DelayConfig {
            prepare_delay: 250,
            commit_delay: 100,
            abort_delay: 0,
        });
        let mut ctx = Context::new();
        let t0 = tokio::time::Instant::now();
        assert_eq!(
            d.prepare(1, &mut ctx).await,
            Action::PREPARED | Action::READONLY
        );
        assert_eq!(t0.elapsed(), Duration::from_millis(250));
        d.commit(1, &mut ctx).await;
        assert_eq!(t0.elapsed(), Duration::from_millis(350));
    }
}
