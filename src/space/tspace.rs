//! `TSpace`: the in-memory space (jPOS `TSpace`).
//!
//! Layout: a `DashMap` from key to a slot; a slot is a `parking_lot::Mutex` around a FIFO of leased values
//! plus counts of waiting takers/readers/empty-watchers. Writers touch a `Notify` only when the counts say
//! someone waits, so the common out/in path is one shard read lock and one uncontended mutex. Waiters
//! register with `Notify` *before* checking the list, so a write between check and wait is never missed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::lease::{deadline_after, Leased, LeasedList};
use super::listener::{ListenerId, SpaceListener};
use super::{Space, SpaceError, SpaceFuture};

type Listeners<V> = Arc<[(ListenerId, Arc<dyn SpaceListener<V>>)]>;

struct SlotState<V> {
    list: LeasedList<V>,
    takers: u32,
    readers: u32,
    watchers: u32,
    listeners: Option<Listeners<V>>,
    /// Set by the sweeper when it unlinks the slot from the map; holders of a stale `Arc` retry.
    dead: bool,
}

struct Slot<V> {
    state: Mutex<SlotState<V>>,
    takers: Notify,
    readers: Notify,
    emptied: Notify,
}

impl<V> Slot<V> {
    fn new() -> Self {
        Slot {
            state: Mutex::new(SlotState {
                list: LeasedList::default(),
                takers: 0,
                readers: 0,
                watchers: 0,
                listeners: None,
                dead: false,
            }),
            takers: Notify::new(),
            readers: Notify::new(),
            emptied: Notify::new(),
        }
    }
}

/// How a write places its value.
#[derive(Clone, Copy)]
enum Write {
    Tail,
    Head,
    Replace,
}

/// In-memory space with jPOS semantics; cheap to share behind an `Arc`.
pub struct TSpace<V> {
    slots: DashMap<Arc<str>, Arc<Slot<V>>, foldhash::fast::RandomState>,
    next_listener: AtomicU64,
}

impl<V: Clone + Send + Sync + 'static> Default for TSpace<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: Clone + Send + Sync + 'static> TSpace<V> {
    /// An empty space.
    pub fn new() -> Self {
        TSpace {
            slots: DashMap::with_hasher(foldhash::fast::RandomState::default()),
            next_listener: AtomicU64::new(1),
        }
    }

    /// The live slot for `key`, creating it if needed.
    fn slot(&self, key: &str) -> Arc<Slot<V>> {
        if let Some(s) = self.slots.get(key) {
            return Arc::clone(s.value());
        }
        Arc::clone(
            self.slots
                .entry(Arc::from(key))
                .or_insert_with(|| Arc::new(Slot::new()))
                .value(),
        )
    }

    fn write(&self, key: &str, value: V, lease: Option<Duration>, how: Write) {
        let item = Leased::new(value, lease);
        // The shard guard stays held while writing so the sweeper cannot unlink the slot under us;
        // listeners run after it is released so that they may use the space themselves.
        let heard = match self.slots.get(key) {
            Some(s) => Self::write_slot(s.value(), item, how),
            None => {
                let s = self
                    .slots
                    .entry(Arc::from(key))
                    .or_insert_with(|| Arc::new(Slot::new()))
                    .downgrade();
                Self::write_slot(s.value(), item, how)
            }
        };
        if let Some((listeners, v)) = heard {
            for (_, l) in listeners.iter() {
                l.notify(key, &v);
            }
        }
    }

    fn write_slot(slot: &Slot<V>, item: Leased<V>, how: Write) -> Option<(Listeners<V>, V)> {
        let mut st = slot.state.lock();
        let heard = st.listeners.clone().map(|ls| (ls, item.value.clone()));
        match how {
            Write::Tail => st.list.push_back(item),
            Write::Head => st.list.push_front(item),
            Write::Replace => {
                st.list.clear();
                st.list.push_back(item);
            }
        }
        let (takers, readers) = (st.takers > 0, st.readers > 0);
        drop(st);
        if takers {
            slot.takers.notify_one();
        }
        if readers {
            slot.readers.notify_waiters();
        }
        heard
    }

    fn take_now(&self, key: &str) -> Option<V> {
        let s = self.slots.get(key)?;
        let slot = s.value();
        let mut st = slot.state.lock();
        let v = st.list.pop_live();
        let wake_watchers = st.watchers > 0 && st.list.is_empty();
        drop(st);
        if wake_watchers {
            slot.emptied.notify_waiters();
        }
        v
    }

    fn read_now(&self, key: &str) -> Option<V> {
        let s = self.slots.get(key)?;
        let mut st = s.value().state.lock();
        st.list.peek_live().cloned()
    }

    /// Take (or, with `take == false`, read) the first value, waiting until `deadline`.
    async fn wait_value(&self, key: &str, timeout: Duration, take: bool) -> Option<V> {
        let fast = if take {
            self.take_now(key)
        } else {
            self.read_now(key)
        };
        if fast.is_some() {
            return fast;
        }
        // Let a producer that is already runnable go first: often it writes right away, and this saves
        // registering a waiter and a timer (and the wake-up) for a wait of a few hundred nanoseconds.
        tokio::task::yield_now().await;
        let fast = if take {
            self.take_now(key)
        } else {
            self.read_now(key)
        };
        if fast.is_some() {
            return fast;
        }
        let deadline = deadline_after(Instant::now(), timeout);
        loop {
            let slot = self.slot(key);
            let notify = if take { &slot.takers } else { &slot.readers };
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = slot.state.lock();
                if st.dead {
                    continue;
                }
                let found = if take {
                    st.list.pop_live()
                } else {
                    st.list.peek_live().cloned()
                };
                if found.is_some() {
                    let wake_watchers = take && st.watchers > 0 && st.list.is_empty();
                    drop(st);
                    if wake_watchers {
                        slot.emptied.notify_waiters();
                    }
                    return found;
                }
                if take {
                    st.takers += 1;
                } else {
                    st.readers += 1;
                }
            }
            let woke = tokio::time::timeout_at(deadline, notified).await.is_ok();
            {
                let mut st = slot.state.lock();
                if take {
                    st.takers -= 1;
                } else {
                    st.readers -= 1;
                }
            }
            if !woke {
                return if take {
                    self.take_now(key)
                } else {
                    self.read_now(key)
                };
            }
        }
    }

    async fn wait_empty(&self, key: &str, timeout: Duration) -> bool {
        let deadline = deadline_after(Instant::now(), timeout);
        loop {
            let Some(slot) = self.slots.get(key).map(|s| Arc::clone(s.value())) else {
                return true;
            };
            let notified = slot.emptied.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wake_at = {
                let mut st = slot.state.lock();
                if st.dead || st.list.sweep() == 0 {
                    return true;
                }
                st.watchers += 1;
                st.list.next_expiry().map_or(deadline, |e| e.min(deadline))
            };
            let _ = tokio::time::timeout_at(wake_at, notified).await;
            {
                let mut st = slot.state.lock();
                st.watchers -= 1;
                if st.list.sweep() == 0 {
                    return true;
                }
            }
            if Instant::now() >= deadline {
                return false;
            }
        }
    }

    /// Drop every expired entry and unlink keys that are empty and have nobody waiting or listening.
    ///
    /// Reads already drop expired entries lazily; call this (or run [`TSpace::spawn_sweeper`]) so that keys
    /// nobody reads again do not keep their memory.
    pub fn sweep(&self) {
        self.slots.retain(|_, slot| {
            let mut st = slot.state.lock();
            let live = st.list.sweep();
            let idle = live == 0
                && st.takers == 0
                && st.readers == 0
                && st.watchers == 0
                && st.listeners.is_none();
            if idle {
                st.dead = true;
            }
            !idle
        });
    }

    /// Run [`TSpace::sweep`] every `every` until the space is dropped.
    pub fn spawn_sweeper(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match weak.upgrade() {
                    Some(space) => space.sweep(),
                    None => return,
                }
            }
        })
    }

    /// Number of keys currently held (including empty ones not yet swept).
    pub fn key_count(&self) -> usize {
        self.slots.len()
    }

    /// Append `value` under `key` (inherent, non-boxed form of [`Space::out`]).
    pub fn out(&self, key: &str, value: V, lease: Option<Duration>) {
        self.write(key, value, lease, Write::Tail);
    }

    /// Take the first value under `key` now (inherent form of [`Space::inp`]).
    pub fn inp(&self, key: &str) -> Option<V> {
        self.take_now(key)
    }

    /// Take the first value under `key`, waiting up to `timeout` (inherent, non-boxed form of [`Space::in_`]).
    pub async fn in_(&self, key: &str, timeout: Duration) -> Option<V> {
        self.wait_value(key, timeout, true).await
    }

    /// Put `value` at the head under `key` (inherent form of [`Space::push`]).
    pub fn push(&self, key: &str, value: V, lease: Option<Duration>) {
        self.write(key, value, lease, Write::Head);
    }

    /// Replace every value under `key` (inherent form of [`Space::put`]).
    pub fn put(&self, key: &str, value: V, lease: Option<Duration>) {
        self.write(key, value, lease, Write::Replace);
    }

    /// Read the first value under `key` now (inherent form of [`Space::rdp`]).
    pub fn rdp(&self, key: &str) -> Option<V> {
        self.read_now(key)
    }

    /// Number of live values under `key` (inherent form of [`Space::size`]).
    pub fn size(&self, key: &str) -> usize {
        self.live(key)
    }

    fn live(&self, key: &str) -> usize {
        self.slots
            .get(key)
            .map_or(0, |s| s.value().state.lock().list.sweep())
    }
}

impl<V: Clone + Send + Sync + 'static> Space<V> for TSpace<V> {
    #[inline]
    fn out<'a>(&'a self, key: &'a str, value: V, lease: Option<Duration>) -> SpaceFuture<'a, ()> {
        self.write(key, value, lease, Write::Tail);
        SpaceFuture::ok(())
    }

    fn push<'a>(&'a self, key: &'a str, value: V, lease: Option<Duration>) -> SpaceFuture<'a, ()> {
        self.write(key, value, lease, Write::Head);
        SpaceFuture::ok(())
    }

    fn put<'a>(&'a self, key: &'a str, value: V, lease: Option<Duration>) -> SpaceFuture<'a, ()> {
        self.write(key, value, lease, Write::Replace);
        SpaceFuture::ok(())
    }

    #[inline]
    fn in_<'a>(&'a self, key: &'a str, timeout: Duration) -> SpaceFuture<'a, Option<V>> {
        // A waiting value is handed over without boxing; only a real wait allocates its future.
        match self.take_now(key) {
            Some(v) => SpaceFuture::ok(Some(v)),
            None => {
                SpaceFuture::boxed(async move { Ok(self.wait_value(key, timeout, true).await) })
            }
        }
    }

    fn rd<'a>(&'a self, key: &'a str, timeout: Duration) -> SpaceFuture<'a, Option<V>> {
        match self.read_now(key) {
            Some(v) => SpaceFuture::ok(Some(v)),
            None => {
                SpaceFuture::boxed(async move { Ok(self.wait_value(key, timeout, false).await) })
            }
        }
    }

    #[inline]
    fn inp<'a>(&'a self, key: &'a str) -> SpaceFuture<'a, Option<V>> {
        SpaceFuture::ok(self.take_now(key))
    }

    fn rdp<'a>(&'a self, key: &'a str) -> SpaceFuture<'a, Option<V>> {
        SpaceFuture::ok(self.read_now(key))
    }

    fn nrd<'a>(&'a self, key: &'a str, timeout: Duration) -> SpaceFuture<'a, bool> {
        if self.live(key) == 0 {
            return SpaceFuture::ok(true);
        }
        SpaceFuture::boxed(async move { Ok(self.wait_empty(key, timeout).await) })
    }

    fn size<'a>(&'a self, key: &'a str) -> SpaceFuture<'a, usize> {
        SpaceFuture::ok(self.live(key))
    }

    fn add_listener(
        &self,
        key: &str,
        listener: Arc<dyn SpaceListener<V>>,
    ) -> Result<ListenerId, SpaceError> {
        let id = ListenerId(self.next_listener.fetch_add(1, Ordering::Relaxed));
        loop {
            let slot = self.slot(key);
            let mut st = slot.state.lock();
            if st.dead {
                continue;
            }
            let mut all: Vec<_> = st
                .listeners
                .as_deref()
                .map(<[_]>::to_vec)
                .unwrap_or_default();
            all.push((id, Arc::clone(&listener)));
            st.listeners = Some(all.into());
            return Ok(id);
        }
    }

    fn remove_listener(&self, key: &str, id: ListenerId) -> bool {
        let Some(s) = self.slots.get(key) else {
            return false;
        };
        let mut st = s.value().state.lock();
        let Some(current) = st.listeners.take() else {
            return false;
        };
        let kept: Vec<_> = current.iter().filter(|(i, _)| *i != id).cloned().collect();
        let removed = kept.len() != current.len();
        st.listeners = if kept.is_empty() {
            None
        } else {
            Some(kept.into())
        };
        removed
    }
}

#[cfg(test)]
#[path = "tspace_tests.rs"]
mod tests;
