//! The participant registry: participants and selectors created by type name (`core.CheckFields`,
//! `jcard.Authorization`, `acme.FraudScore`) from their YAML `participant-config`.
//!
//! A deploy descriptor names participants; the container asks the registry for each one. A user crate
//! registers its own types with one `register` call per type before starting the container (see
//! `docs/custom-participant.md`). Factories get the participant's config as a YAML value plus a
//! [`Resources`] view for looking up other deployed components (a mux by name, say); every name a
//! participant looks up is recorded, so a dangling reference fails the deploy.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use thiserror::Error;

use super::participant::Participant;
use super::participants::{self, CheckFields, CheckFieldsConfig, Delay, DelayConfig, Trace};

/// Why a participant could not be created.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BuildError {
    /// No factory is registered under this name.
    #[error("unknown participant '{name}' (registered: {known})")]
    Unknown {
        /// The requested name.
        name: String,
        /// Registered names, comma-separated.
        known: String,
    },
    /// The participant's configuration was rejected.
    #[error("participant '{name}': {reason}")]
    Config {
        /// The participant's type name.
        name: String,
        /// What is wrong, including the config key when known.
        reason: String,
    },
    /// The participant refers to a component that is not deployed.
    #[error("participant '{name}': {kind} '{target}' is not deployed")]
    Missing {
        /// The participant's type name.
        name: String,
        /// Kind of the missing component (`mux`, `space` ...).
        kind: String,
        /// Its name.
        target: String,
    },
    /// The participant refers to a component that may be of several kinds, and none is deployed.
    #[error("participant '{name}': no {} named '{target}' is deployed", kinds.join(" or "))]
    MissingOneOf {
        /// The participant's type name.
        name: String,
        /// The kinds it would accept (`mux`, `mux-pool`).
        kinds: Vec<String>,
        /// The component's name.
        target: String,
    },
}

/// Other deployed components, looked up by kind and name (`("mux", "upstream")`).
pub trait Resources: Send + Sync {
    /// The component of `kind` named `name`, as its shared handle, if deployed.
    fn lookup(&self, kind: &str, name: &str) -> Option<Arc<dyn Any + Send + Sync>>;
}

/// No resources at all (unit tests, standalone chains).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoResources;

impl Resources for NoResources {
    fn lookup(&self, _kind: &str, _name: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        None
    }
}

/// What a factory receives.
pub struct FactoryInput<'a> {
    /// The type name being created.
    pub name: &'a str,
    /// Its `participant-config` entry (`Null` when there is none).
    pub config: &'a serde_yaml::Value,
    resources: &'a dyn Resources,
    used: Mutex<Vec<(String, String)>>,
}

impl<'a> FactoryInput<'a> {
    /// Input for creating `name` with `config`, looking components up in `resources`.
    pub fn new(name: &'a str, config: &'a serde_yaml::Value, resources: &'a dyn Resources) -> Self {
        FactoryInput {
            name,
            config,
            resources,
            used: Mutex::new(Vec::new()),
        }
    }

    /// The config deserialized into `C` (`C::default()` when absent); unknown keys are the caller's
    /// `deny_unknown_fields` business.
    pub fn config<C: DeserializeOwned + Default>(&self) -> Result<C, BuildError> {
        if self.config.is_null() {
            return Ok(C::default());
        }
        serde_yaml::from_value(self.config.clone()).map_err(|e| self.error(e))
    }

    /// A configuration error for this participant.
    pub fn error(&self, reason: impl std::fmt::Display) -> BuildError {
        BuildError::Config {
            name: self.name.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// The deployed component of `kind` named `target`, downcast to `T`; records the reference.
    pub fn resource<T: Any + Send + Sync>(
        &self,
        kind: &str,
        target: &str,
    ) -> Result<Arc<T>, BuildError> {
        self.used.lock().push((kind.to_owned(), target.to_owned()));
        let missing = || BuildError::Missing {
            name: self.name.to_owned(),
            kind: kind.to_owned(),
            target: target.to_owned(),
        };
        let any = self.resources.lookup(kind, target).ok_or_else(missing)?;
        any.downcast::<T>().map_err(|_| missing())
    }

    /// The deployed component named `target` of the first of `kinds` that has one, with that kind;
    /// records the reference (under the kind found, else under every kind tried).
    pub fn resource_any(
        &self,
        kinds: &[&str],
        target: &str,
    ) -> Result<(String, Arc<dyn Any + Send + Sync>), BuildError> {
        for kind in kinds {
            if let Some(any) = self.resources.lookup(kind, target) {
                self.used
                    .lock()
                    .push(((*kind).to_owned(), target.to_owned()));
                return Ok(((*kind).to_owned(), any));
            }
        }
        let mut used = self.used.lock();
        used.extend(kinds.iter().map(|k| ((*k).to_owned(), target.to_owned())));
        Err(BuildError::MissingOneOf {
            name: self.name.to_owned(),
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            target: target.to_owned(),
        })
    }

    /// Every `(kind, name)` looked up so far.
    pub fn references(&self) -> Vec<(String, String)> {
        self.used.lock().clone()
    }
}

/// Creates one participant from its input.
pub type Factory =
    Arc<dyn Fn(&FactoryInput<'_>) -> Result<Arc<dyn Participant>, BuildError> + Send + Sync>;

/// Participant factories by type name.
#[derive(Clone, Default)]
pub struct ParticipantRegistry {
    factories: BTreeMap<String, Factory>,
}

impl ParticipantRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with the built-in `core.*` participants.
    pub fn with_builtins() -> Self {
        let mut r = Self::new();
        participants::register_builtins(&mut r);
        r
    }

    /// Register (or replace) the factory for `name`.
    pub fn register<F>(&mut self, name: &str, factory: F) -> &mut Self
    where
        F: Fn(&FactoryInput<'_>) -> Result<Arc<dyn Participant>, BuildError>
            + Send
            + Sync
            + 'static,
    {
        self.factories.insert(name.to_owned(), Arc::new(factory));
        self
    }

    /// Register a participant built from a typed config: `build` gets the deserialized `C`.
    pub fn register_with_config<C, P, E, F>(&mut self, name: &str, build: F) -> &mut Self
    where
        C: DeserializeOwned + Default + 'static,
        P: Participant,
        E: std::fmt::Display,
        F: Fn(C) -> Result<P, E> + Send + Sync + 'static,
    {
        self.register(name, move |input| {
            let cfg = input.config::<C>()?;
            let p = build(cfg).map_err(|e| input.error(e))?;
            Ok(Arc::new(p) as Arc<dyn Participant>)
        })
    }

    /// True if `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.factories.contains_key(name)
    }

    /// Registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.factories.keys().map(String::as_str)
    }

    /// Create the participant `input.name`.
    pub fn create(&self, input: &FactoryInput<'_>) -> Result<Arc<dyn Participant>, BuildError> {
        match self.factories.get(input.name) {
            Some(f) => f(input),
            None => Err(BuildError::Unknown {
                name: input.name.to_owned(),
                known: self.names().collect::<Vec<_>>().join(", "),
            }),
        }
    }
}

/// Register the participants of `txn::participants` under their `core.*` names.
pub(crate) fn register_core(r: &mut ParticipantRegistry) {
    r.register_with_config("core.CheckFields", |c: CheckFieldsConfig| {
        CheckFields::new(c)
    });
    r.register_with_config("core.Delay", |c: DelayConfig| {
        Ok::<_, std::convert::Infallible>(Delay::new(c))
    });
    r.register_with_config("core.Switch", |c: participants::SwitchConfig| c.build());
    r.register("core.Trace", |input| {
        if !input.config.is_null() {
            return Err(input.error("takes no configuration"));
        }
        Ok(Arc::new(Trace::default()) as Arc<dyn Participant>)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_builtins_and_names_unknown_ones() {
        let r = ParticipantRegistry::with_builtins();
        let cfg: serde_yaml::Value =
            serde_yaml::from_str("{ mandatory: [3, 11], optional: [41] }").expect("yaml");
        let p = r.create(&FactoryInput::new("core.CheckFields", &cfg, &NoResources));
        assert!(p.is_ok());
        let bad: serde_yaml::Value = serde_yaml::from_str("{ mandatry: [3] }").expect("yaml");
        let err = r
            .create(&FactoryInput::new("core.CheckFields", &bad, &NoResources))
            .err()
            .expect("unknown key rejected");
        assert!(err.to_string().contains("mandatry"), "{err}");
        let err = r
            .create(&FactoryInput::new(
                "acme.Nope",
                &serde_yaml::Value::Null,
                &NoResources,
            ))
            .err()
            .expect("unknown name");
        assert!(err.to_string().contains("core.CheckFields"), "{err}");
    }

    #[test]
    fn a_switch_is_a_selector() {
        let r = ParticipantRegistry::with_builtins();
        let cfg: serde_yaml::Value =
            serde_yaml::from_str("{ routes: { '804': [netmgmt], default: [x] } }").expect("yaml");
        let p = r
            .create(&FactoryInput::new("core.Switch", &cfg, &NoResources))
            .expect("builds");
        assert!(p.as_selector().is_some());
    }

    #[test]
    fn missing_resources_are_reported() {
        let input = FactoryInput::new("x.Y", &serde_yaml::Value::Null, &NoResources);
        let r = input.resource::<String>("mux", "upstream");
        assert_eq!(
            r.err(),
            Some(BuildError::Missing {
                name: "x.Y".into(),
                kind: "mux".into(),
                target: "upstream".into()
            })
        );
        assert_eq!(input.references(), [("mux".into(), "upstream".into())]);
    }
}
