//! The built-in MTI / processing-code group selector (jPOS `Switch` participant, jCard routing style).
//!
//! Routing key: the three MTI digits after the version digit, `.`, then the first two digits of DE 3
//! ("2100" + "000000" → "100.00"). The longest configured prefix wins ("420" covers every 420.xx, "2" all
//! 2xx); nothing matching, or no request in the context, selects `default`.
//!
//! The origin digit is folded to its original: a repeat (`xxx1` acquirer repeat, `xxx3` issuer repeat,
//! `xxx5` other repeat) routes as the message it repeats ("2201" → "200.00", "2421" → "420.00"), the
//! way `Mti::response` folds it, so a repeat follows its original's route and participants decide
//! whether it is a retransmission.

use async_trait::async_trait;
use thiserror::Error;

use super::action::Action;
use super::context::Context;
use super::keys::REQUEST;
use super::message::FieldSource;
use super::participant::{GroupSelector, Participant};

/// The route name that catches everything else.
pub const DEFAULT_ROUTE: &str = "default";

/// A route table that cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SelectorError {
    /// A route key is not `D`, `DD`, `DDD` or `DDD.D`/`DDD.DD` (digits).
    #[error("selector route '{0}': expected up to 3 MTI digits, optionally '.' and up to 2 processing-code digits")]
    BadRoute(String),
    /// The same route appears twice.
    #[error("selector route '{0}' is configured twice")]
    Duplicate(String),
}

/// Picks groups by MTI and processing code.
#[derive(Debug, Clone)]
pub struct MtiPcodeSelector {
    /// Routes sorted longest prefix first.
    routes: Vec<(String, Vec<String>)>,
    default: Vec<String>,
}

fn valid_route(key: &str) -> bool {
    let (mti, pcode) = match key.split_once('.') {
        Some((m, p)) => (m, Some(p)),
        None => (key, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    match pcode {
        None => (1..=3).contains(&mti.len()) && digits(mti),
        Some(p) => mti.len() == 3 && digits(mti) && (1..=2).contains(&p.len()) && digits(p),
    }
}

impl MtiPcodeSelector {
    /// Build from `(route, groups)` pairs; the route `default` is the fallback.
    pub fn new<I, S>(routes: I) -> Result<Self, SelectorError>
    where
        I: IntoIterator<Item = (S, Vec<String>)>,
        S: Into<String>,
    {
        let mut table: Vec<(String, Vec<String>)> = Vec::new();
        let mut default = Vec::new();
        for (key, groups) in routes {
            let key = key.into();
            if key == DEFAULT_ROUTE {
                default = groups;
                continue;
            }
            if !valid_route(&key) {
                return Err(SelectorError::BadRoute(key));
            }
            if table.iter().any(|(k, _)| *k == key) {
                return Err(SelectorError::Duplicate(key));
            }
            table.push((key, groups));
        }
        table.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Ok(MtiPcodeSelector {
            routes: table,
            default,
        })
    }

    /// The groups for routing key `key` (e.g. "100.00").
    pub fn route(&self, key: &str) -> &[String] {
        self.routes
            .iter()
            .find(|(prefix, _)| key.starts_with(prefix.as_str()))
            .map_or(&self.default[..], |(_, g)| &g[..])
    }

    /// The groups for a message: builds the routing key on the stack, no allocation.
    pub fn route_message(&self, msg: &dyn FieldSource) -> &[String] {
        let mut buf = [0u8; 6];
        match routing_key(msg, &mut buf) {
            Some(key) => self.route(key),
            None => &self.default,
        }
    }
}

/// Write the routing key for `msg` into `buf`; `None` without a usable MTI.
pub fn routing_key<'b>(msg: &dyn FieldSource, buf: &'b mut [u8; 6]) -> Option<&'b str> {
    let mti = msg.mti_digits()?;
    if !mti.iter().all(u8::is_ascii_digit) {
        return None;
    }
    buf[..3].copy_from_slice(&mti[1..4]);
    // Repeat origins (1, 3, 5) route as their original (0, 2, 4).
    if matches!(buf[2], b'1' | b'3' | b'5') {
        buf[2] -= 1;
    }
    let mut len = 3;
    if let Some(pc) = msg.field_text(3).map(str::as_bytes) {
        if pc.len() >= 2 && pc[..2].iter().all(u8::is_ascii_digit) {
            buf[3] = b'.';
            buf[4..6].copy_from_slice(&pc[..2]);
            len = 6;
        }
    }
    std::str::from_utf8(&buf[..len]).ok()
}

#[async_trait]
impl Participant for MtiPcodeSelector {
    async fn prepare(&self, _id: u64, _ctx: &mut Context) -> Action {
        Action::PREPARED | Action::NO_JOIN | Action::READONLY
    }

    async fn prepare_for_abort(&self, _id: u64, _ctx: &mut Context) -> Option<Action> {
        Some(Action::ABORTED | Action::NO_JOIN | Action::READONLY)
    }

    fn as_selector(&self) -> Option<&dyn GroupSelector> {
        Some(self)
    }
}

impl GroupSelector for MtiPcodeSelector {
    fn select(&self, _id: u64, ctx: &Context) -> &[String] {
        match ctx.get(&REQUEST) {
            Some(req) => self.route_message(req),
            None => &self.default,
        }
    }

    fn group_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .routes
            .iter()
            .flat_map(|(_, g)| g.iter().map(String::as_str))
            .chain(self.default.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::message::TextMessage;

    fn g(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn selector() -> MtiPcodeSelector {
        MtiPcodeSelector::new([
            ("100.00", g(&["auth"])),
            ("100", g(&["auth-other"])),
            ("200.0", g(&["fin-0x"])),
            ("200.01", g(&["cash"])),
            ("420", g(&["reversal"])),
            ("8", g(&["netmgmt"])),
            ("default", g(&["unsupported"])),
        ])
        .expect("valid routes")
    }

    #[test]
    fn longest_prefix_wins_else_default() {
        let s = selector();
        let cases = [
            ("2100", Some("000000"), "auth"),
            ("2100", Some("300000"), "auth-other"),
            ("2100", None, "auth-other"),
            ("2200", Some("010000"), "cash"),
            ("2200", Some("090000"), "fin-0x"),
            ("2200", Some("200000"), "unsupported"),
            ("2420", Some("000000"), "reversal"),
            ("2421", Some("000000"), "reversal"),
            ("2101", Some("000000"), "auth"),
            ("2201", Some("010000"), "cash"),
            ("2103", Some("300000"), "unsupported"), // issuer repeat: folds to 102, not 100
            ("0420", Some("200000"), "reversal"),
            ("2804", None, "netmgmt"),
            ("2300", Some("000000"), "unsupported"),
            ("21X0", Some("000000"), "unsupported"),
        ];
        for (mti, pcode, want) in cases {
            let mut fields = vec![];
            if let Some(p) = pcode {
                fields.push((3u8, p));
            }
            let msg = TextMessage::new(mti, &fields);
            assert_eq!(s.route_message(&msg), [want.to_owned()], "{mti} {pcode:?}");
        }
    }

    #[test]
    fn selects_from_the_context_request() {
        let s = selector();
        let mut ctx = Context::new();
        assert_eq!(
            s.select(1, &ctx),
            ["unsupported".to_owned()],
            "no request → default"
        );
        ctx.put(
            &REQUEST,
            crate::iso::IsoMsg::with_mti("2100")
                .expect("mti")
                .with(3, "000000"),
        );
        assert_eq!(s.select(1, &ctx), ["auth".to_owned()]);
    }

    #[test]
    fn bad_routes_are_rejected() {
        for bad in ["", "1000", "10a", "100.", "100.000", "10.00", ".00"] {
            let r = MtiPcodeSelector::new([(bad, g(&["x"]))]);
            assert_eq!(
                r.err(),
                Some(SelectorError::BadRoute(bad.to_owned())),
                "{bad:?}"
            );
        }
        let dup = MtiPcodeSelector::new([("100", g(&["a"])), ("100", g(&["b"]))]);
        assert!(matches!(dup, Err(SelectorError::Duplicate(_))));
    }

    #[test]
    fn group_names_cover_every_route() {
        assert_eq!(
            selector().group_names(),
            [
                "auth",
                "auth-other",
                "cash",
                "fin-0x",
                "netmgmt",
                "reversal",
                "unsupported"
            ]
        );
    }
}
