//! The host simulator's answering logic: network management, authorizations, financial requests and
//! reversals answered in the spec's dialect, with a configurable response code and delay.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::channel::netmgmt::{approved_code, Dialect};
use crate::channel::{ChannelError, Request, RequestListener};
use crate::iso::{IsoMsg, MtiClass, Spec};

/// Fields copied from a request into its response (when present): amounts, dates, STAN, codes, terminal,
/// merchant, currency and network-management codes. Card data (DE 2, 35, 45, 52, 55) is never echoed.
pub const ECHO_FIELDS: &[u8] = &[
    3, 4, 5, 6, 7, 11, 12, 13, 15, 24, 25, 32, 37, 41, 42, 49, 56, 70, 90,
];

/// Counters of a simulated host.
#[derive(Debug, Default)]
pub struct SimHostStats {
    /// Requests answered.
    pub answered: AtomicU64,
    /// Messages not answered (responses, unknown classes) or replies that could not be queued.
    pub ignored: AtomicU64,
}

/// A host simulator: answers requests; use it as a server's `RequestListener`.
pub struct SimHost {
    spec: Arc<Spec>,
    dialect: Dialect,
    approved: &'static str,
    rc: String,
    delay: Duration,
    stats: SimHostStats,
}

impl SimHost {
    /// A simulator for `spec`; `rc` is the response code for non-network requests (default: approved,
    /// sized to the spec's DE 39); `delay` is applied before every answer.
    pub fn new(spec: Arc<Spec>, rc: Option<String>, delay: Duration) -> Result<Self, ChannelError> {
        let approved = approved_code(&spec);
        let rc = rc.unwrap_or_else(|| approved.to_owned());
        let width = spec.field(39).map_or(2, |f| f.length);
        if rc.len() != width || !rc.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ChannelError::Config(format!(
                "response code {rc:?}: spec {} has a {width}-character DE 39",
                spec.name
            )));
        }
        Ok(SimHost {
            dialect: Dialect::of(&spec),
            spec,
            approved,
            rc,
            delay,
            stats: SimHostStats::default(),
        })
    }

    /// Counters.
    pub fn stats(&self) -> &SimHostStats {
        &self.stats
    }

    /// The answer to `req`, or `None` for messages a host does not answer (responses).
    pub fn answer(&self, req: &IsoMsg) -> Option<IsoMsg> {
        let mti = req.mti();
        if !mti.is_request() {
            return None;
        }
        let mut resp = req.response_with(ECHO_FIELDS);
        match mti.class() {
            MtiClass::NetworkManagement => {
                resp.set(39, self.approved);
            }
            MtiClass::Authorization | MtiClass::Financial => {
                if self.rc == self.approved {
                    resp.set(38, approval_code(req));
                }
                resp.set(39, &self.rc);
            }
            _ => resp.set(39, &self.rc),
        }
        Some(resp)
    }

    /// The dialect this host speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The spec this host speaks.
    pub fn spec(&self) -> &Arc<Spec> {
        &self.spec
    }
}

/// A 6-character approval code derived from the STAN, so that answers are reproducible.
fn approval_code(req: &IsoMsg) -> [u8; 6] {
    let mut code = *b"000000";
    if let Some(stan) = req.get(11) {
        let tail = &stan[stan.len().saturating_sub(6)..];
        code[6 - tail.len()..].copy_from_slice(tail);
    }
    code
}

impl RequestListener for SimHost {
    fn on_request(&self, req: Request) {
        let Some(resp) = self.answer(&req.msg) else {
            self.stats.ignored.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(msg = %req.msg, "not a request, ignored");
            return;
        };
        self.stats.answered.fetch_add(1, Ordering::Relaxed);
        if self.delay.is_zero() {
            match req.reply.try_send(resp) {
                Ok(()) => return,
                Err(ChannelError::QueueFull { .. }) => {}
                Err(_) => {
                    self.stats.ignored.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
            // Queue full: this answer waits on its own task; the reader goes on.
            let Some(resp) = self.answer(&req.msg) else {
                return;
            };
            tokio::spawn(async move {
                let _ = req.reply.send(resp).await;
            });
            return;
        }
        let delay = self.delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = req.reply.send(resp).await;
        });
    }
}
