//! `core.QueryHost`: sends the request to a remote host through a deployed `mux` or `mux-pool` and puts
//! the host's response in the context (jPOS `QueryHost`), waiting with PAUSE so no worker is held.
//!
//! `prepare` checks the mux, spawns the request and returns `PREPARED | PAUSE | READONLY | NO_JOIN`;
//! the spawned task resumes the transaction when the answer (or the timeout) comes. The manager does not
//! call `prepare` again after a resume: a response resumes with the next participant (the vote stays
//! PREPARED, as jPOS's `PREPARED | READONLY | NO_JOIN`), a failure resumes with
//! [`ResumeHandle::abort_with`](crate::txn::ResumeHandle::abort_with) and a result code, so the rest of
//! the chain gets `prepare_for_abort` (e.g. `core.SendResponse` answers the decline). Nothing is ever
//! logged from the messages themselves beyond MTI and DE 39.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tracing::Instrument as _;

use crate::iso::IsoMsg;
use crate::mux::{Mux, MuxError, MuxPool, Requester};
use crate::txn::keys::{EXTENDED_RESULT, RESULT_CODE};
use crate::txn::registry::{BuildError, FactoryInput};
use crate::txn::{Action, Context, Key, Participant, ResultCode};

/// jPOS `QueryHost`'s default timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// `participant-config` for `core.QueryHost`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct QueryHostConfig {
    /// The `mux` or `mux-pool` component to send through.
    pub mux: String,
    /// How long to wait for the response (ms), counted from when the request is queued.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Context entry holding the message to send.
    #[serde(default = "default_request")]
    pub request: String,
    /// Context entry the host's response is stored under.
    #[serde(default = "default_response")]
    pub response: String,
    /// On "not connected" or "no response", continue without a response instead of aborting
    /// (jPOS `ignore-host-unreachable`).
    #[serde(default)]
    pub ignore_host_unreachable: bool,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_MS
}
fn default_request() -> String {
    crate::txn::REQUEST.name().to_owned()
}
fn default_response() -> String {
    crate::txn::RESPONSE.name().to_owned()
}

/// Sends the request through a mux and resumes with its response.
pub struct QueryHost {
    mux: Arc<dyn Requester>,
    timeout: Duration,
    request: Key<IsoMsg>,
    response: Key<IsoMsg>,
    ignore_unreachable: bool,
}

impl std::fmt::Debug for QueryHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryHost")
            .field("mux", &self.mux.name())
            .field("timeout", &self.timeout)
            .field("request", &self.request)
            .field("response", &self.response)
            .field("ignore_unreachable", &self.ignore_unreachable)
            .finish()
    }
}

/// The vote once the host has answered (or been ignored): jPOS's `PREPARED | READONLY | NO_JOIN`.
const DONE: Action = Action::PREPARED
    .union(Action::READONLY)
    .union(Action::NO_JOIN);

impl QueryHost {
    /// A participant sending through `mux` with `cfg` (its `mux` name is not looked up here).
    pub fn new(mux: Arc<dyn Requester>, cfg: &QueryHostConfig) -> Result<Self, String> {
        if cfg.timeout == 0 {
            return Err("timeout: must be at least 1 ms".to_owned());
        }
        for (key, name) in [("request", &cfg.request), ("response", &cfg.response)] {
            if name.trim().is_empty() {
                return Err(format!("{key}: expected a context entry name"));
            }
        }
        Ok(QueryHost {
            mux,
            timeout: Duration::from_millis(cfg.timeout),
            request: Key::named(&cfg.request),
            response: Key::named(&cfg.response),
            ignore_unreachable: cfg.ignore_host_unreachable,
        })
    }

    /// The registry factory: parses the config and looks `mux` up as a `mux`, then a `mux-pool`.
    pub fn factory(input: &FactoryInput<'_>) -> Result<Arc<dyn Participant>, BuildError> {
        if input.config.is_null() {
            return Err(input.error("mux: required (the mux or mux-pool to send through)"));
        }
        let cfg: QueryHostConfig =
            serde_yaml::from_value(input.config.clone()).map_err(|e| input.error(e))?;
        let (kind, any) = input.resource_any(&["mux", "mux-pool"], &cfg.mux)?;
        let mux: Arc<dyn Requester> = match any.downcast::<Mux>() {
            Ok(m) => m,
            Err(any) => match any.downcast::<MuxPool>() {
                Ok(p) => p,
                Err(_) => {
                    return Err(
                        input.error(format!("mux: {kind} '{}' does not send requests", cfg.mux))
                    )
                }
            },
        };
        let p = QueryHost::new(mux, &cfg).map_err(|e| input.error(e))?;
        Ok(Arc::new(p))
    }

    fn fail(ctx: &mut Context, rc: ResultCode, text: String) -> Action {
        ctx.put(&RESULT_CODE, rc);
        ctx.put(&EXTENDED_RESULT, text);
        Action::ABORTED | Action::READONLY | Action::NO_JOIN
    }

    fn failure(mux: &str, e: &MuxError) -> (ResultCode, String) {
        let rc = match e {
            MuxError::MissingKey { .. } => ResultCode::INVALID_REQUEST,
            MuxError::DuplicateKey { .. } => ResultCode::DUPLICATE_TRANSMISSION,
            MuxError::NotReady { .. }
            | MuxError::NoneReady { .. }
            | MuxError::QueueFull { .. }
            | MuxError::Closed { .. } => ResultCode::HOST_UNREACHABLE,
        };
        (rc, format!("'{mux}': {e}"))
    }
}

#[async_trait]
impl Participant for QueryHost {
    async fn prepare(&self, id: u64, ctx: &mut Context) -> Action {
        let name = self.mux.name().to_owned();
        let Some(msg) = ctx.get(&self.request).cloned() else {
            let text = format!("'{}' not present in context", self.request.name());
            return QueryHost::fail(ctx, ResultCode::INVALID_REQUEST, text);
        };
        if !self.mux.is_ready() {
            if self.ignore_unreachable {
                tracing::info!(id, mux = %name, "mux not connected; continuing without a response");
                return DONE;
            }
            let text = format!("'{name}' is not connected");
            return QueryHost::fail(ctx, ResultCode::HOST_UNREACHABLE, text);
        }
        let handle = ctx.pause_handle();
        let mux = Arc::clone(&self.mux);
        let (timeout, response, ignore) = (self.timeout, self.response, self.ignore_unreachable);
        let mti = msg.mti();
        tokio::spawn(
            async move {
                let outcome = match mux.request(msg, timeout).await {
                    Ok(Some(resp)) => Ok(resp),
                    Ok(None) => Err((
                        ResultCode::ISSUER_TIMEOUT,
                        format!("'{name}' does not respond within {} ms", timeout.as_millis()),
                    )),
                    Err(e) => Err(QueryHost::failure(&name, &e)),
                };
                let resumed = match outcome {
                    Ok(resp) => {
                        tracing::debug!(id, mux = %name, %mti, response = %resp.mti(), rc = ?resp.get_str(39), "host answered");
                        handle.resume_with(move |ctx| ctx.put(&response, resp))
                    }
                    Err((rc, text))
                        if ignore
                            && matches!(rc, ResultCode::HOST_UNREACHABLE | ResultCode::ISSUER_TIMEOUT) =>
                    {
                        tracing::info!(id, mux = %name, %mti, %rc, reason = %text, "no response; continuing");
                        handle.resume()
                    }
                    Err((rc, text)) => {
                        tracing::info!(id, mux = %name, %mti, %rc, reason = %text, "query failed");
                        handle.abort_with(move |ctx| {
                            ctx.put(&RESULT_CODE, rc);
                            ctx.put(&EXTENDED_RESULT, text);
                        })
                    }
                };
                if !resumed {
                    tracing::warn!(id, mux = %name, "transaction no longer paused (pause-timeout shorter than the query timeout?)");
                }
            }
            .in_current_span(),
        );
        DONE | Action::PAUSE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::registry::NoResources;

    fn cfg(yaml: &str) -> serde_yaml::Value {
        serde_yaml::from_str(yaml).expect("yaml")
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let c: QueryHostConfig = serde_yaml::from_value(cfg("{ mux: upstream }")).expect("parses");
        assert_eq!(
            c,
            QueryHostConfig {
                mux: "upstream".into(),
                timeout: 30_000,
                request: "REQUEST".into(),
                response: "RESPONSE".into(),
                ignore_host_unreachable: false,
            }
        );
        let err = serde_yaml::from_value::<QueryHostConfig>(cfg("{ mux: a, timout: 5 }"))
            .expect_err("unknown key");
        assert!(err.to_string().contains("timout"), "{err}");
    }

    #[test]
    fn factory_names_what_is_missing() {
        let c = cfg("{ mux: upstream }");
        let err = QueryHost::factory(&FactoryInput::new("core.QueryHost", &c, &NoResources))
            .err()
            .expect("no mux deployed");
        assert_eq!(
            err,
            BuildError::MissingOneOf {
                name: "core.QueryHost".into(),
                kinds: vec!["mux".into(), "mux-pool".into()],
                target: "upstream".into(),
            }
        );
        assert!(
            err.to_string()
                .contains("no mux or mux-pool named 'upstream'"),
            "{err}"
        );
        let null = serde_yaml::Value::Null;
        let err = QueryHost::factory(&FactoryInput::new("core.QueryHost", &null, &NoResources))
            .err()
            .expect("config required");
        assert!(err.to_string().contains("mux: required"), "{err}");
    }
}
