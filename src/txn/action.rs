//! `Action`: the flags a participant's `prepare` returns (jPOS `TransactionConstants`).
//!
//! `PREPARED` set means "vote commit"; clear means "vote abort". The other bits modify what the manager does
//! with the participant (`NO_JOIN`, `READONLY`) or the transaction (`RETRY`, `PAUSE`).

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign};

/// A set of prepare-result flags.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Action(u8);

impl Action {
    /// Vote to abort (no flags).
    pub const ABORTED: Action = Action(0);
    /// Vote to commit.
    pub const PREPARED: Action = Action(1);
    /// Re-queue the whole transaction later instead of aborting (only meaningful without `PREPARED`).
    pub const RETRY: Action = Action(2);
    /// Park the transaction until resumed through the context's resume handle.
    pub const PAUSE: Action = Action(4);
    /// Do not call commit or abort on this participant.
    pub const NO_JOIN: Action = Action(8);
    /// The participant changed no persistent state: no recovery snapshot is needed for it.
    pub const READONLY: Action = Action(16);

    /// True if every flag in `other` is set.
    pub const fn contains(self, other: Action) -> bool {
        self.0 & other.0 == other.0
    }

    /// True if the participant voted to commit.
    pub const fn is_prepared(self) -> bool {
        self.contains(Action::PREPARED)
    }

    /// This action with `other`'s flags set too (`|` usable in `const`s).
    pub const fn union(self, other: Action) -> Action {
        Action(self.0 | other.0)
    }

    /// This action with `other`'s flags cleared.
    pub const fn without(self, other: Action) -> Action {
        Action(self.0 & !other.0)
    }

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }
}

impl BitOr for Action {
    type Output = Action;
    fn bitor(self, rhs: Action) -> Action {
        Action(self.0 | rhs.0)
    }
}

impl BitOrAssign for Action {
    fn bitor_assign(&mut self, rhs: Action) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Action {
    type Output = Action;
    fn bitand(self, rhs: Action) -> Action {
        Action(self.0 & rhs.0)
    }
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_prepared() {
            "PREPARED"
        } else {
            "ABORTED"
        })?;
        for (flag, name) in [
            (Action::RETRY, "RETRY"),
            (Action::PAUSE, "PAUSE"),
            (Action::NO_JOIN, "NO_JOIN"),
            (Action::READONLY, "READONLY"),
        ] {
            if self.contains(flag) {
                write!(f, "|{name}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_combine_and_print() {
        let a = Action::PREPARED | Action::NO_JOIN | Action::READONLY;
        assert!(a.is_prepared() && a.contains(Action::NO_JOIN) && !a.contains(Action::RETRY));
        assert_eq!(format!("{a:?}"), "PREPARED|NO_JOIN|READONLY");
        assert_eq!(
            format!("{:?}", Action::ABORTED | Action::RETRY),
            "ABORTED|RETRY"
        );
        assert!(!a.without(Action::PREPARED).is_prepared());
    }
}
