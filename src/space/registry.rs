//! Space registry: find (or create) spaces by address, so components share queues by name.
//!
//! `tspace:` spaces are created on first use. Other schemes (`pg:`) are served by factories registered
//! at start-up by the layer that owns them; asking for an unserved scheme is an error, not a silent TSpace.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use thiserror::Error;

use super::addr::{AddrError, Scheme, SpaceAddr};
use super::{Space, TSpace};

/// Creates spaces for one scheme (e.g. the PostgreSQL layer for `pg:`).
pub trait SpaceFactory<V>: Send + Sync {
    /// Open the space named `name`.
    fn open(&self, name: &str) -> Result<Arc<dyn Space<V>>, RegistryError>;
}

/// Why a space could not be found or opened.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// The address does not parse.
    #[error(transparent)]
    Addr(#[from] AddrError),
    /// Nothing serves this scheme (e.g. `pg:` before the PostgreSQL layer registered itself).
    #[error("space '{0}': no provider registered for scheme '{scheme}'", scheme = .0.scheme.as_str())]
    NoProvider(SpaceAddr),
    /// The provider failed to open the space.
    #[error("space '{addr}': {reason}")]
    Open {
        /// Which space.
        addr: SpaceAddr,
        /// What went wrong.
        reason: String,
    },
}

/// Spaces by address, holding values of type `V`.
pub struct SpaceRegistry<V> {
    spaces: RwLock<HashMap<SpaceAddr, Arc<dyn Space<V>>>>,
    factories: RwLock<HashMap<Scheme, Arc<dyn SpaceFactory<V>>>>,
    /// Addresses opened through a factory (not bound explicitly).
    opened: RwLock<std::collections::HashSet<SpaceAddr>>,
}

impl<V: Clone + Send + Sync + 'static> Default for SpaceRegistry<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: Clone + Send + Sync + 'static> SpaceRegistry<V> {
    /// A registry serving `tspace:` only.
    pub fn new() -> Self {
        SpaceRegistry {
            spaces: RwLock::new(HashMap::new()),
            factories: RwLock::new(HashMap::new()),
            opened: RwLock::new(std::collections::HashSet::new()),
        }
    }

    /// Serve `scheme` with `factory` from now on.
    pub fn register_factory(&self, scheme: Scheme, factory: Arc<dyn SpaceFactory<V>>) {
        self.factories.write().insert(scheme, factory);
    }

    /// Stop serving `scheme` with `factory` (if another factory replaced it meanwhile, that one stays);
    /// spaces it opened that nobody bound explicitly are forgotten.
    pub fn unregister_factory(&self, scheme: &Scheme, factory: &Arc<dyn SpaceFactory<V>>) -> bool {
        let mut factories = self.factories.write();
        match factories.get(scheme) {
            Some(f) if Arc::ptr_eq(f, factory) => {
                factories.remove(scheme);
                self.opened.write().retain(|a| {
                    if a.scheme == *scheme {
                        self.spaces.write().remove(a);
                        false
                    } else {
                        true
                    }
                });
                true
            }
            _ => false,
        }
    }

    /// True when `scheme` is served (`tspace:` always is).
    pub fn serves(&self, scheme: &Scheme) -> bool {
        *scheme == Scheme::TSpace || self.factories.read().contains_key(scheme)
    }

    /// Make `space` answer to `addr` (replacing any previous one).
    pub fn bind(&self, addr: SpaceAddr, space: Arc<dyn Space<V>>) {
        self.spaces.write().insert(addr, space);
    }

    /// Forget the space at `addr`; true if one was bound or opened there.
    pub fn unbind(&self, addr: &SpaceAddr) -> bool {
        self.spaces.write().remove(addr).is_some()
    }

    /// The space at `addr` (a string such as `tspace:default` or just `default`).
    pub fn get(&self, addr: &str) -> Result<Arc<dyn Space<V>>, RegistryError> {
        self.get_addr(&SpaceAddr::parse(addr)?)
    }

    /// The space at a parsed address, created on first use.
    pub fn get_addr(&self, addr: &SpaceAddr) -> Result<Arc<dyn Space<V>>, RegistryError> {
        if let Some(s) = self.spaces.read().get(addr) {
            return Ok(Arc::clone(s));
        }
        let created: Arc<dyn Space<V>> = match addr.scheme {
            Scheme::TSpace => Arc::new(TSpace::<V>::new()),
            _ => {
                let factory = self.factories.read().get(&addr.scheme).cloned();
                match factory {
                    Some(f) => {
                        let s = f.open(&addr.name)?;
                        self.opened.write().insert(addr.clone());
                        s
                    }
                    None => return Err(RegistryError::NoProvider(addr.clone())),
                }
            }
        };
        // Another caller may have created it meanwhile; the first one stored wins.
        Ok(Arc::clone(
            self.spaces.write().entry(addr.clone()).or_insert(created),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn same_name_same_space() {
        let reg = SpaceRegistry::<u8>::new();
        let a = reg.get("default").expect("bare name");
        let b = reg.get("tspace:default").expect("tspace name");
        a.out("q", 1, None).await.expect("out");
        assert_eq!(
            b.in_("q", Duration::from_millis(1)).await.ok(),
            Some(Some(1))
        );
        let other = reg.get("tspace:other").expect("other");
        other.out("q", 2, None).await.expect("out");
        assert_eq!(a.inp("q").await.ok(), Some(None));
    }

    #[test]
    fn unserved_scheme_is_an_error() {
        let reg = SpaceRegistry::<u8>::new();
        assert!(matches!(
            reg.get("pg:queues"),
            Err(RegistryError::NoProvider(_))
        ));
        assert!(matches!(reg.get("nope:x"), Err(RegistryError::Addr(_))));
    }

    #[tokio::test]
    async fn registered_factory_serves_its_scheme() {
        struct Mem;
        impl SpaceFactory<u8> for Mem {
            fn open(&self, _name: &str) -> Result<Arc<dyn Space<u8>>, RegistryError> {
                let s = TSpace::new();
                s.out("seed", 9, None);
                Ok(Arc::new(s))
            }
        }
        let reg = SpaceRegistry::<u8>::new();
        assert!(!reg.serves(&Scheme::Pg));
        let mem: Arc<dyn SpaceFactory<u8>> = Arc::new(Mem);
        reg.register_factory(Scheme::Pg, mem.clone());
        assert!(reg.serves(&Scheme::Pg));
        let s = reg.get("pg:queues").expect("served");
        assert_eq!(s.inp("seed").await.ok(), Some(Some(9)));
        assert!(!reg.unregister_factory(&Scheme::Pg, &(Arc::new(Mem) as Arc<dyn SpaceFactory<u8>>)));
        assert!(
            reg.get("pg:queues").is_ok(),
            "only the registered factory can be removed"
        );
        assert!(reg.unregister_factory(&Scheme::Pg, &mem));
        assert!(matches!(
            reg.get("pg:queues"),
            Err(RegistryError::NoProvider(_))
        ));
    }
}
