//! Leased entries: a value with an optional expiry instant, on tokio's clock so tests can pause time.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// How far in the future "no deadline" lies; keeps `Instant` arithmetic from overflowing.
pub(crate) const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// Deadline `timeout` after `now`, clamped so that huge timeouts do not overflow.
pub(crate) fn deadline_after(now: Instant, timeout: Duration) -> Instant {
    now.checked_add(timeout.min(FAR_FUTURE))
        .unwrap_or(now + FAR_FUTURE)
}

/// A value in a space list, with the instant after which it must never be returned.
#[derive(Debug)]
pub(crate) struct Leased<V> {
    pub(crate) value: V,
    pub(crate) expires: Option<Instant>,
}

impl<V> Leased<V> {
    /// Wrap `value`, expiring `lease` from now if given.
    pub(crate) fn new(value: V, lease: Option<Duration>) -> Self {
        let expires = lease.map(|l| deadline_after(Instant::now(), l));
        Leased { value, expires }
    }

    fn expired(&self, now: &mut Option<Instant>) -> bool {
        match self.expires {
            None => false,
            Some(at) => *now.get_or_insert_with(Instant::now) >= at,
        }
    }
}

/// A FIFO list of leased values that skips (and drops) expired entries on access.
///
/// The clock is read only when an entry carries a lease, so unleased traffic never calls `Instant::now`.
#[derive(Debug)]
pub(crate) struct LeasedList<V> {
    items: VecDeque<Leased<V>>,
    leased: usize,
}

impl<V> Default for LeasedList<V> {
    fn default() -> Self {
        LeasedList {
            items: VecDeque::new(),
            leased: 0,
        }
    }
}

impl<V> LeasedList<V> {
    /// Append at the tail.
    pub(crate) fn push_back(&mut self, item: Leased<V>) {
        self.leased += usize::from(item.expires.is_some());
        self.items.push_back(item);
    }

    /// Insert at the head.
    pub(crate) fn push_front(&mut self, item: Leased<V>) {
        self.leased += usize::from(item.expires.is_some());
        self.items.push_front(item);
    }

    /// Drop everything.
    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.leased = 0;
    }

    fn pop_raw(&mut self) -> Option<Leased<V>> {
        let item = self.items.pop_front()?;
        self.leased -= usize::from(item.expires.is_some());
        Some(item)
    }

    /// Drop expired entries at the head so that the head (if any) is live.
    fn trim_head(&mut self) {
        if self.leased == 0 {
            return;
        }
        let mut now = None;
        while self.items.front().is_some_and(|f| f.expired(&mut now)) {
            self.pop_raw();
        }
    }

    /// Take the first live value.
    pub(crate) fn pop_live(&mut self) -> Option<V> {
        self.trim_head();
        self.pop_raw().map(|l| l.value)
    }

    /// Borrow the first live value.
    pub(crate) fn peek_live(&mut self) -> Option<&V> {
        self.trim_head();
        self.items.front().map(|l| &l.value)
    }

    /// Drop every expired entry wherever it sits; returns the number of live entries left.
    pub(crate) fn sweep(&mut self) -> usize {
        if self.leased > 0 {
            let mut now = None;
            self.items.retain(|l| !l.expired(&mut now));
            self.leased = self.items.iter().filter(|l| l.expires.is_some()).count();
        }
        self.items.len()
    }

    /// The earliest expiry among the entries, if any is leased.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        if self.leased == 0 {
            return None;
        }
        self.items.iter().filter_map(|l| l.expires).min()
    }

    /// True when no entries (live or not yet swept) remain.
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn expired_entries_are_skipped_and_swept() {
        let mut list = LeasedList::default();
        list.push_back(Leased::new(1, Some(Duration::from_millis(10))));
        list.push_back(Leased::new(2, None));
        list.push_back(Leased::new(3, Some(Duration::from_millis(10))));
        assert!(list.next_expiry().is_some());
        tokio::time::advance(Duration::from_millis(10)).await;
        assert_eq!(list.sweep(), 1);
        assert_eq!(list.next_expiry(), None);
        assert_eq!(list.pop_live(), Some(2));
        assert_eq!(list.pop_live(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn head_is_trimmed_on_access() {
        let mut list = LeasedList::default();
        list.push_back(Leased::new("old", Some(Duration::from_millis(5))));
        list.push_back(Leased::new("new", Some(Duration::from_millis(50))));
        tokio::time::advance(Duration::from_millis(6)).await;
        assert_eq!(list.peek_live(), Some(&"new"));
        assert_eq!(list.pop_live(), Some("new"));
        assert!(list.is_empty());
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let now = Instant::now();
        assert!(deadline_after(now, Duration::MAX) > now);
    }
}
