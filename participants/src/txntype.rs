//! `TxnType`: what a CMF request is, from its MTI (version digit ignored) and DE 3 (transaction code,
//! from-account and to-account types), and the fee/velocity name jCard gives it.

use switchyard::iso::IsoMsg;

/// The MTI classes this crate handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgClass {
    /// x100 authorization (pending layer).
    Authorization,
    /// x200 financial (accounting layer).
    Financial,
    /// x220 completion advice of an authorization.
    Completion,
    /// x400 / x420 reversal.
    Reversal,
    /// x540 settlement / reconciliation totals.
    Settlement,
    /// x800 network management.
    Network,
    /// Anything else.
    Other,
}

/// The parsed transaction type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnType {
    /// The message class.
    pub class: MsgClass,
    /// The request MTI with the repeat digit cleared (`2101` → `2100`).
    pub mti: String,
    /// True if the MTI's last digit marks a repeat.
    pub repeat: bool,
    /// DE 3 positions 1-2 (`00` purchase, `01` cash ...); empty without DE 3.
    pub code: String,
    /// DE 3 positions 3-4: the from-account type.
    pub from: String,
    /// DE 3 positions 5-6: the to-account type.
    pub to: String,
}

impl TxnType {
    /// Parse the request's MTI and DE 3.
    pub fn of(msg: &IsoMsg) -> TxnType {
        let mti = msg.mti();
        let digits = mti.as_str();
        let class = match digits.get(1..3) {
            Some("10") => MsgClass::Authorization,
            Some("20") => MsgClass::Financial,
            Some("22") => MsgClass::Completion,
            Some("40") | Some("42") => MsgClass::Reversal,
            Some("50") | Some("52") | Some("54") => MsgClass::Settlement,
            Some("80") => MsgClass::Network,
            _ => MsgClass::Other,
        };
        let repeat = mti.is_repeat();
        let mut normalized = digits.as_bytes().to_vec();
        if repeat {
            if let Some(last) = normalized.last_mut() {
                *last -= 1;
            }
        }
        let normalized = String::from_utf8_lossy(&normalized).into_owned();
        let pc = msg.get_str(3).unwrap_or("");
        let part = |r: std::ops::Range<usize>| pc.get(r).unwrap_or("").to_owned();
        TxnType {
            class,
            mti: normalized,
            repeat,
            code: part(0..2),
            from: part(2..4),
            to: part(4..6),
        }
    }

    /// jCard's name for the transaction type, used in fee keys (`CashAdvance.flat.840`) and velocity
    /// limits.
    pub fn name(&self) -> &'static str {
        match (self.class, self.code.as_str()) {
            (MsgClass::Reversal, _) => "Reversal",
            (MsgClass::Network, _) => "NetworkManagement",
            (MsgClass::Settlement, _) => "Settlement",
            (_, "00") => "Purchase",
            (_, "01") => "CashAdvance",
            (_, "02") => "Void",
            (_, "09") => "CashBack",
            (_, "11") => "QuasiCash",
            (_, "20") => "Refund",
            (_, "21") => "Deposit",
            (_, "22") => "RefundVoid",
            (_, "30") => "BalanceInquiry",
            (_, "40") => "Transfer",
            _ => "Unknown",
        }
    }

    /// True for types that take money from the cardholder (purchase, cash, cashback, quasi-cash).
    pub fn is_debit(&self) -> bool {
        matches!(self.code.as_str(), "00" | "01" | "09" | "11")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(mti: &str, pc: &str) -> TxnType {
        let m = IsoMsg::with_mti(mti).expect("mti").with(3, pc);
        TxnType::of(&m)
    }

    #[test]
    fn classes_codes_and_names() {
        let a = t("2100", "011000");
        assert_eq!(a.class, MsgClass::Authorization);
        assert_eq!(
            (a.code.as_str(), a.from.as_str(), a.to.as_str()),
            ("01", "10", "00")
        );
        assert_eq!(a.name(), "CashAdvance");
        let r = t("2421", "000000");
        assert_eq!(r.class, MsgClass::Reversal);
        assert!(r.repeat);
        assert_eq!(r.mti, "2420");
        assert_eq!(t("2201", "000000").mti, "2200");
        assert_eq!(t("2200", "402010").name(), "Transfer");
        assert!(t("2200", "090000").is_debit());
        assert!(!t("2200", "200000").is_debit());
    }
}
