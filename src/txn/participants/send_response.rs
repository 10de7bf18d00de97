//! `core.SendResponse`: sends the response through the request's reply handle, on commit and on abort
//! (jPOS `SendResponse`, an `AbortParticipant`).
//!
//! The response is `RESPONSE` when a participant built one, else the request's response MTI with the
//! non-card fields echoed. DE 39 comes from `RESULT_CODE` (approved on commit, system error on an abort
//! that set none), in the request's dialect: four digits for ISO 8583:2003 (CMF, MTI version 2), else
//! the two-character ISO 8583:1987 code. Card data (DE 2, 35, 45, 52, 55) is never echoed.

use async_trait::async_trait;

use crate::iso::IsoMsg;
use crate::txn::keys::{REPLY, REQUEST, RESPONSE, RESULT_CODE};
use crate::txn::{Action, Context, Participant, ResultCode};

/// Fields copied from the request when no participant built a response.
const ECHO: &[u8] = &[
    3, 4, 5, 6, 7, 11, 12, 13, 15, 24, 25, 32, 37, 41, 42, 49, 56, 70, 90,
];

/// Sends the response on commit and abort.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendResponse;

/// DE 39 for `rc` in the dialect of `req`.
pub fn de39_for(req: &IsoMsg, rc: ResultCode) -> String {
    if req.mti().as_bytes()[0] == b'2' {
        return rc.as_de39();
    }
    let iso87 = match rc.0 {
        0..=999 => "00",
        1015 | 1061 => "12",
        1011 => "14",
        1016 => "51",
        1816 => "25",
        1802 | 1803 | 1830 | 1832 => "30",
        1833 | 9111 => "91",
        9113 => "94",
        _ => "96",
    };
    iso87.to_owned()
}

impl SendResponse {
    /// The response for this context, or `None` when the request is not a request.
    pub fn build(ctx: &Context, committed: bool) -> Option<IsoMsg> {
        let req = ctx.get(&REQUEST)?;
        if !req.mti().is_request() {
            return None;
        }
        let rc = ctx.get(&RESULT_CODE).copied().unwrap_or(if committed {
            ResultCode::APPROVED
        } else {
            ResultCode::SYSTEM_ERROR
        });
        let mut resp = match ctx.get(&RESPONSE) {
            Some(r) => r.clone(),
            None => req.response_with(ECHO),
        };
        if !resp.has(39) || !committed {
            resp.set(39, de39_for(req, rc));
        }
        Some(resp)
    }

    async fn send(ctx: &Context, committed: bool) {
        let Some(resp) = SendResponse::build(ctx, committed) else {
            return;
        };
        match ctx.get(&REPLY) {
            Some(reply) => {
                if let Err(e) = reply.send(resp).await {
                    tracing::warn!(error = %e, "response not sent");
                }
            }
            None => {
                tracing::warn!(response = %resp, "no reply handle in context; response dropped")
            }
        }
    }
}

#[async_trait]
impl Participant for SendResponse {
    async fn prepare(&self, _id: u64, _ctx: &mut Context) -> Action {
        Action::PREPARED | Action::READONLY
    }

    async fn prepare_for_abort(&self, _id: u64, _ctx: &mut Context) -> Option<Action> {
        Some(Action::ABORTED | Action::READONLY)
    }

    async fn commit(&self, _id: u64, ctx: &mut Context) {
        SendResponse::send(ctx, true).await;
    }

    async fn abort(&self, _id: u64, ctx: &mut Context) {
        SendResponse::send(ctx, false).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parking_lot::Mutex;

    use super::*;
    use crate::txn::{ReplyError, ReplySink};

    struct Capture(Mutex<Vec<IsoMsg>>);

    #[async_trait]
    impl ReplySink for Capture {
        async fn send(&self, response: IsoMsg) -> Result<(), ReplyError> {
            self.0.lock().push(response);
            Ok(())
        }
    }

    #[tokio::test]
    async fn answers_on_abort_with_the_result_code_and_no_card_data() {
        let sink = Arc::new(Capture(Mutex::new(Vec::new())));
        let mut ctx = Context::new();
        ctx.put(
            &REQUEST,
            IsoMsg::with_mti("2200")
                .expect("mti")
                .with(2, "4111111111111111")
                .with(11, "000000000007"),
        );
        ctx.put(&REPLY, sink.clone() as Arc<dyn ReplySink>);
        ctx.put(&RESULT_CODE, ResultCode::UNSUPPORTED_TRANSACTION);
        SendResponse.abort(1, &mut ctx).await;
        let sent = sink.0.lock().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].mti().as_str(), "2210");
        assert_eq!(sent[0].get_str(39), Some("1061"));
        assert_eq!(sent[0].get_str(11), Some("000000000007"));
        assert!(!sent[0].has(2));
    }

    #[test]
    fn iso87_codes_are_two_characters() {
        let req = IsoMsg::with_mti("0200").expect("mti");
        assert_eq!(de39_for(&req, ResultCode::APPROVED), "00");
        assert_eq!(de39_for(&req, ResultCode::UNSUPPORTED_TRANSACTION), "12");
        assert_eq!(de39_for(&req, ResultCode::HOST_UNREACHABLE), "91");
        assert_eq!(de39_for(&req, ResultCode::ISSUER_TIMEOUT), "91");
        let cmf = IsoMsg::with_mti("2200").expect("mti");
        assert_eq!(de39_for(&cmf, ResultCode::UNSUPPORTED_FUNCTION), "1015");
    }
}
