//! `Context`: the per-transaction bag of typed entries that participants share (jPOS `Context`).
//!
//! Entries are addressed by `Key<T>` constants (a `&'static str` name and a type), so no lookup allocates
//! and a wrong type is a `None`, never a panic. Persistent entries carry a serializer so that recovery can
//! store them as JSON; transient ones (sockets, reply sinks, timers) never leave memory. Values live in
//! `Arc`s: cloning a context (as `Space::rd` does) shares them, like jPOS passes object references.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::pause::{PauseSlot, ResumeHandle};
use super::profiler::Profiler;

type AnyValue = Arc<dyn Any + Send + Sync>;
type SerializeFn = fn(&(dyn Any + Send + Sync)) -> Option<serde_json::Value>;

/// A typed context key: `const AMOUNT: Key<Amount> = Key::new("AMOUNT");`.
pub struct Key<T> {
    name: &'static str,
    _type: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    /// A key named `name`.
    pub const fn new(name: &'static str) -> Self {
        Key {
            name,
            _type: PhantomData,
        }
    }

    /// A key whose name comes from configuration (`response: HOST_RESPONSE`). Names are interned: each
    /// distinct name is allocated once per process, however often a participant is (re)built with it.
    pub fn named(name: &str) -> Self {
        Key::new(intern(name))
    }

    /// The key's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

/// The process-wide `&'static str` for `name` (configured key names; bounded by distinct names).
fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(Mutex::default).lock();
    if let Some(n) = names.get(name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(n);
    n
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Key<T> {}

impl<T> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.name)
    }
}

#[derive(Clone)]
enum Value {
    Typed(AnyValue, Option<SerializeFn>),
    /// Restored by recovery; becomes `Typed` on the first [`Context::decode`].
    Raw(serde_json::Value),
}

#[derive(Clone)]
struct Entry {
    name: Cow<'static, str>,
    value: Value,
}

/// The transaction's shared state.
#[derive(Clone, Default)]
pub struct Context {
    entries: Vec<Entry>,
    id: Option<u64>,
    recovered: bool,
    profiler: Option<Box<Profiler>>,
    pub(crate) pause: PauseSlot,
}

fn serialize_as<T: Serialize + 'static>(v: &(dyn Any + Send + Sync)) -> Option<serde_json::Value> {
    v.downcast_ref::<T>()
        .and_then(|t| serde_json::to_value(t).ok())
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context {
            entries: Vec::with_capacity(8),
            ..Context::default()
        }
    }

    /// The transaction id, once a manager has taken the context.
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    pub(crate) fn set_id(&mut self, id: u64) {
        self.id = Some(id);
    }

    /// True if this context was rebuilt by recovery after a crash (participants should act idempotently).
    pub fn is_recovered(&self) -> bool {
        self.recovered
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.name == name)
    }

    fn insert(&mut self, name: &'static str, value: Value) {
        match self.position(name) {
            Some(i) => self.entries[i].value = value,
            None => self.entries.push(Entry {
                name: Cow::Borrowed(name),
                value,
            }),
        }
    }

    /// Store a transient value (never persisted).
    pub fn put<T: Send + Sync + 'static>(&mut self, key: &Key<T>, value: T) {
        self.insert(key.name, Value::Typed(Arc::new(value), None));
    }

    /// Store a transient value already in an `Arc`.
    pub fn put_arc<T: Send + Sync + 'static>(&mut self, key: &Key<T>, value: Arc<T>) {
        self.insert(key.name, Value::Typed(value, None));
    }

    /// Store a persistent value: recovery snapshots it as JSON.
    pub fn put_persistent<T: Serialize + Send + Sync + 'static>(&mut self, key: &Key<T>, value: T) {
        self.insert(
            key.name,
            Value::Typed(Arc::new(value), Some(serialize_as::<T>)),
        );
    }

    /// The value under `key`, if present with type `T`.
    pub fn get<T: 'static>(&self, key: &Key<T>) -> Option<&T> {
        match &self.entries.iter().find(|e| e.name == key.name)?.value {
            Value::Typed(v, _) => v.downcast_ref::<T>(),
            Value::Raw(_) => None,
        }
    }

    /// The shared value under `key`.
    pub fn get_arc<T: Send + Sync + 'static>(&self, key: &Key<T>) -> Option<Arc<T>> {
        match &self.entries.iter().find(|e| e.name == key.name)?.value {
            Value::Typed(v, _) => Arc::clone(v).downcast::<T>().ok(),
            Value::Raw(_) => None,
        }
    }

    /// Like [`Context::get`], but first turns a value restored by recovery into a `T`.
    pub fn decode<T>(&mut self, key: &Key<T>) -> Option<&T>
    where
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let i = self.position(key.name)?;
        if let Value::Raw(json) = &self.entries[i].value {
            let typed: T = serde_json::from_value(json.clone()).ok()?;
            self.entries[i].value = Value::Typed(Arc::new(typed), Some(serialize_as::<T>));
        }
        self.get(key)
    }

    /// Remove and return the value under `key` (`None` if absent or of another type, which stays).
    pub fn remove<T: Send + Sync + 'static>(&mut self, key: &Key<T>) -> Option<Arc<T>> {
        let i = self.position(key.name)?;
        let v = match &self.entries[i].value {
            Value::Typed(v, _) => Arc::clone(v).downcast::<T>().ok()?,
            Value::Raw(_) => return None,
        };
        self.entries.swap_remove(i);
        Some(v)
    }

    /// True if an entry named like `key` exists (of any type).
    pub fn has<T>(&self, key: &Key<T>) -> bool {
        self.position(key.name).is_some()
    }

    /// Names of all entries, in insertion order (swap-removal may reorder).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_ref())
    }

    /// Persistent entries as a JSON object (what recovery stores).
    pub fn persistent_entries(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        for e in &self.entries {
            let json = match &e.value {
                Value::Typed(v, Some(ser)) => ser(v.as_ref()),
                Value::Typed(_, None) => None,
                Value::Raw(j) => Some(j.clone()),
            };
            if let Some(j) = json {
                map.insert(e.name.to_string(), j);
            }
        }
        map
    }

    /// Rebuild a context from a recovery snapshot.
    pub fn recovered(id: u64, entries: serde_json::Map<String, serde_json::Value>) -> Self {
        let entries = entries
            .into_iter()
            .map(|(name, json)| Entry {
                name: Cow::Owned(name),
                value: Value::Raw(json),
            })
            .collect();
        Context {
            entries,
            id: Some(id),
            recovered: true,
            ..Context::default()
        }
    }

    /// Turn on the profiler (the manager does this when `debug` is set).
    pub fn enable_profiler(&mut self) {
        if self.profiler.is_none() {
            self.profiler = Some(Box::new(Profiler::new()));
        }
    }

    /// Record a profiler checkpoint (no-op unless the profiler is on).
    pub fn checkpoint(&mut self, name: &str) {
        if let Some(p) = self.profiler.as_mut() {
            p.checkpoint(name);
        }
    }

    /// The profiler, if on.
    pub fn profiler(&self) -> Option<&Profiler> {
        self.profiler.as_deref()
    }

    /// A handle that resumes this transaction after its participant returns `PAUSE`.
    ///
    /// Take it in `prepare`, hand it to whoever completes the work (a mux callback, a timer), return
    /// `PREPARED | PAUSE`; the manager parks the transaction until the handle is used or `pause-timeout`.
    pub fn pause_handle(&mut self) -> ResumeHandle {
        self.pause.handle()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id)
            .field("entries", &self.names().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AMOUNT: Key<u64> = Key::new("AMOUNT");
    const NOTE: Key<String> = Key::new("NOTE");
    const WRONG: Key<i8> = Key::new("AMOUNT");

    #[test]
    fn typed_get_put_remove() {
        let mut ctx = Context::new();
        ctx.put(&AMOUNT, 100);
        assert_eq!(ctx.get(&AMOUNT), Some(&100));
        assert_eq!(ctx.get(&WRONG), None, "wrong type is None, not a panic");
        ctx.put(&AMOUNT, 200);
        assert_eq!(ctx.get(&AMOUNT), Some(&200));
        assert_eq!(ctx.remove(&WRONG), None);
        assert_eq!(ctx.remove(&AMOUNT).as_deref(), Some(&200));
        assert!(!ctx.has(&AMOUNT));
    }

    #[test]
    fn only_persistent_entries_are_snapshotted_and_restored() {
        let mut ctx = Context::new();
        ctx.put_persistent(&AMOUNT, 42);
        ctx.put(&NOTE, "transient".to_owned());
        let snap = ctx.persistent_entries();
        assert_eq!(
            serde_json::Value::Object(snap.clone()),
            serde_json::json!({"AMOUNT": 42})
        );
        let mut back = Context::recovered(7, snap);
        assert!(back.is_recovered());
        assert_eq!(back.id(), Some(7));
        assert_eq!(back.get(&AMOUNT), None, "raw until decoded");
        assert_eq!(back.decode(&AMOUNT), Some(&42));
        assert_eq!(back.get(&AMOUNT), Some(&42));
        assert!(!back.has(&NOTE));
        assert_eq!(
            back.persistent_entries().get("AMOUNT"),
            Some(&serde_json::json!(42))
        );
    }

    #[test]
    fn configured_key_names_are_interned_and_match_constants() {
        let a: Key<u64> = Key::named("AMOUNT");
        let b: Key<u64> = Key::named(&String::from("AMOUNT"));
        assert!(std::ptr::eq(a.name(), b.name()), "one allocation per name");
        let mut ctx = Context::new();
        ctx.put(&AMOUNT, 5);
        assert_eq!(ctx.get(&a), Some(&5), "same name, same entry");
    }

    #[test]
    fn clones_share_values() {
        let mut ctx = Context::new();
        ctx.put(&NOTE, "x".to_owned());
        let copy = ctx.clone();
        let a = ctx.get_arc(&NOTE).expect("present");
        let b = copy.get_arc(&NOTE).expect("present");
        assert!(Arc::ptr_eq(&a, &b));
    }
}
