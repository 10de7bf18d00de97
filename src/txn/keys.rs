//! Well-known context keys and the types they hold: the request, result code, extended result text, the
//! reply path, and the trace fields.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::context::Key;
use crate::iso::IsoMsg;

/// The request as the transaction layer sees it.
pub type Request = IsoMsg;

/// The incoming request message.
pub const REQUEST: Key<Request> = Key::new("REQUEST");
/// The outcome code for the response (CMF DE 39).
pub const RESULT_CODE: Key<ResultCode> = Key::new("RESULT_CODE");
/// Free text explaining the result (e.g. which fields were missing).
pub const EXTENDED_RESULT: Key<String> = Key::new("EXTENDED_RESULT");
/// The response being built (sent by `core.SendResponse`).
pub const RESPONSE: Key<IsoMsg> = Key::new("RESPONSE");
/// Where to send the response.
pub const REPLY: Key<Arc<dyn ReplySink>> = Key::new("REPLY");

/// A CMF result code (ISO 8583:2003 DE 39, four digits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResultCode(pub u16);

impl ResultCode {
    /// 0000 approved.
    pub const APPROVED: ResultCode = ResultCode(0);
    /// 1011 invalid card number.
    pub const INVALID_CARD_NUMBER: ResultCode = ResultCode(1011);
    /// 1016 not sufficient funds.
    pub const NOT_SUFFICIENT_FUNDS: ResultCode = ResultCode(1016);
    /// 1015 unsupported function (jPOS `CMF.UNSUPPORTED_FUNCTION`).
    pub const UNSUPPORTED_FUNCTION: ResultCode = ResultCode(1015);
    /// 1061 unsupported transaction (jPOS `CMF.UNSUPPORTED_TRANSACTION`).
    pub const UNSUPPORTED_TRANSACTION: ResultCode = ResultCode(1061);
    /// 1802 a mandatory field is missing.
    pub const MISSING_FIELD: ResultCode = ResultCode(1802);
    /// 1803 a field is present that is neither mandatory nor optional.
    pub const EXTRA_FIELD: ResultCode = ResultCode(1803);
    /// 1812 internal error while processing the transaction.
    pub const SYSTEM_ERROR: ResultCode = ResultCode(1812);
    /// 1816 original transaction not found.
    pub const ORIGINAL_NOT_FOUND: ResultCode = ResultCode(1816);
    /// 1830 a field has an invalid format.
    pub const INVALID_FIELD: ResultCode = ResultCode(1830);
    /// 1832 the request is invalid (e.g. no request in the context).
    pub const INVALID_REQUEST: ResultCode = ResultCode(1832);
    /// 1833 the host cannot be reached: its mux is not connected (jPOS `CMF.HOST_UNREACHABLE`).
    pub const HOST_UNREACHABLE: ResultCode = ResultCode(1833);
    /// 9111 the host did not answer in time (jPOS `CMF.ISSUER_TIMEOUT`).
    pub const ISSUER_TIMEOUT: ResultCode = ResultCode(9111);
    /// 9113 a request with the same match key is already waiting (jPOS `CMF.DUPLICATE_TRANSMISSION`).
    pub const DUPLICATE_TRANSMISSION: ResultCode = ResultCode(9113);

    /// True for approval codes (0000-0999).
    pub fn is_approved(self) -> bool {
        self.0 < 1000
    }

    /// The four-digit DE 39 text.
    pub fn as_de39(self) -> String {
        format!("{:04}", self.0)
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

impl fmt::Debug for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResultCode({:04})", self.0)
    }
}

/// Why a reply could not be delivered.
#[derive(Debug, Error)]
pub enum ReplyError {
    /// The peer connection is gone.
    #[error("reply channel closed")]
    Closed,
    /// Delivery failed for another reason.
    #[error("reply failed: {0}")]
    Failed(String),
}

/// Delivers the response to whoever sent the request; the channel layer implements it.
#[async_trait]
pub trait ReplySink: Send + Sync + 'static {
    /// Send `response` back.
    async fn send(&self, response: IsoMsg) -> Result<(), ReplyError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_codes_format_as_four_digits() {
        assert_eq!(ResultCode::APPROVED.as_de39(), "0000");
        assert_eq!(ResultCode::MISSING_FIELD.to_string(), "1802");
        assert!(ResultCode::APPROVED.is_approved());
        assert!(!ResultCode::EXTRA_FIELD.is_approved());
    }
}
