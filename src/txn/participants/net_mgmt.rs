//! `core.NetMgmt`: answers network-management requests in the request's dialect.
//!
//! jPOS CMF (ISO 8583:2003, MTI version 2): `2804` with DE 24 = 801 sign-on, 802 sign-off, 831 echo →
//! `2814` with DE 39 = `0000`. ISO 8583:1987 (version 0): `0800` with DE 70 = 001, 002 or 301 → `0810`
//! with DE 39 = `00`. Anything else gets 1015 (unsupported function) and an abort vote, so a
//! `core.SendResponse` later in the chain still answers it.

use async_trait::async_trait;

use crate::iso::{IsoMsg, MtiClass};
use crate::txn::keys::{EXTENDED_RESULT, REQUEST, RESPONSE, RESULT_CODE};
use crate::txn::{Action, Context, Participant, ResultCode};

/// Fields echoed from a network-management request into its response.
const ECHO: &[u8] = &[7, 11, 12, 24, 32, 33, 37, 41, 42, 53, 70, 93, 94];

/// Answers sign-on, sign-off and echo requests.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetMgmt;

/// The network-management code field and the accepted codes for a request's MTI, with its
/// approved DE 39; `None` when this is not a network-management request we know.
fn dialect(msg: &IsoMsg) -> Option<(u8, &'static [&'static str], &'static str)> {
    let mti = msg.mti();
    if mti.class() != MtiClass::NetworkManagement || !mti.is_request() {
        return None;
    }
    match mti.as_bytes() {
        [b'2', b'8', b'0', b'4' | b'5'] => Some((24, &["801", "802", "831"], "0000")),
        [b'0', b'8', b'0', b'0' | b'1'] => Some((70, &["001", "002", "301"], "00")),
        _ => None,
    }
}

impl NetMgmt {
    /// The response to `req`, or the reason it is not supported.
    pub fn answer(req: &IsoMsg) -> Result<IsoMsg, String> {
        let (field, codes, approved) =
            dialect(req).ok_or_else(|| format!("MTI {} is not network management", req.mti()))?;
        let code = req.get_str(field).unwrap_or("");
        if !codes.contains(&code) {
            return Err(format!("DE {field} = {code:?} is not supported"));
        }
        let mut resp = req.response_with(ECHO);
        resp.set(39, approved);
        Ok(resp)
    }
}

#[async_trait]
impl Participant for NetMgmt {
    async fn prepare(&self, _id: u64, ctx: &mut Context) -> Action {
        let answer = match ctx.get(&REQUEST) {
            Some(req) => NetMgmt::answer(req),
            None => Err("no request in context".to_owned()),
        };
        match answer {
            Ok(resp) => {
                ctx.put(&RESPONSE, resp);
                ctx.put_persistent(&RESULT_CODE, ResultCode::APPROVED);
                Action::PREPARED | Action::NO_JOIN | Action::READONLY
            }
            Err(why) => {
                if !ctx.has(&RESULT_CODE) {
                    ctx.put_persistent(&RESULT_CODE, ResultCode::UNSUPPORTED_FUNCTION);
                }
                ctx.put_persistent(&EXTENDED_RESULT, why);
                Action::ABORTED | Action::NO_JOIN | Action::READONLY
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_per_dialect() {
        let cases = [
            ("2804", 24, "831", Some(("2814", "0000"))),
            ("2804", 24, "801", Some(("2814", "0000"))),
            ("2804", 24, "802", Some(("2814", "0000"))),
            ("2804", 24, "999", None),
            ("0800", 70, "301", Some(("0810", "00"))),
            ("0800", 70, "001", Some(("0810", "00"))),
            ("0800", 70, "002", Some(("0810", "00"))),
            ("0800", 70, "831", None),
            ("2100", 24, "831", None),
            ("2814", 24, "831", None),
        ];
        for (mti, field, code, want) in cases {
            let req = IsoMsg::with_mti(mti)
                .expect("mti")
                .with(11, "000000000001")
                .with(field, code);
            let got = NetMgmt::answer(&req).ok();
            let got = got.as_ref().map(|r| {
                (
                    r.mti().as_str().to_owned(),
                    r.get_string(39).unwrap_or_default(),
                )
            });
            let want = want.map(|(m, rc)| (m.to_owned(), rc.to_owned()));
            assert_eq!(got, want, "{mti} DE {field}={code}");
        }
    }

    #[tokio::test]
    async fn prepare_sets_response_or_unsupported_function() {
        let mut ctx = Context::new();
        ctx.put(
            &REQUEST,
            IsoMsg::with_mti("2804").expect("mti").with(24, "831"),
        );
        let a = NetMgmt.prepare(1, &mut ctx).await;
        assert!(a.is_prepared());
        assert_eq!(
            ctx.get(&RESPONSE).map(|r| r.mti().as_str().to_owned()),
            Some("2814".into())
        );
        let mut ctx = Context::new();
        ctx.put(
            &REQUEST,
            IsoMsg::with_mti("2804").expect("mti").with(24, "123"),
        );
        let a = NetMgmt.prepare(1, &mut ctx).await;
        assert!(!a.is_prepared());
        assert_eq!(
            ctx.get(&RESULT_CODE),
            Some(&ResultCode::UNSUPPORTED_FUNCTION)
        );
    }
}
