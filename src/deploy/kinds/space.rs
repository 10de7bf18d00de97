//! `kind: space`: a named space of transaction contexts that servers queue to and transaction
//! managers take from (`type: tspace`, in memory).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use crate::deploy::component::{Component, KindError};
use crate::space::{Space, TSpace};
use crate::txn::Context;

/// `kind: space` keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SpaceSpec {
    /// Always `space`.
    pub kind: String,
    /// Component name (what servers and txnmgrs name in `space:`).
    pub name: String,
    /// Implementation: `tspace`.
    #[serde(rename = "type", default = "default_type")]
    pub space_type: String,
}

fn default_type() -> String {
    "tspace".to_owned()
}

/// The handle others look up: the space itself.
pub struct SpaceHandle(pub Arc<dyn Space<Context>>);

impl SpaceSpec {
    /// Check the type.
    pub fn validate(&self) -> Result<(), KindError> {
        match self.space_type.as_str() {
            "tspace" => Ok(()),
            other => Err(KindError::new(
                "type",
                format!("unknown space type '{other}' (expected tspace)"),
            )),
        }
    }

    /// Create the space.
    pub fn start(&self) -> Result<Arc<dyn Component>, KindError> {
        self.validate()?;
        let space: Arc<dyn Space<Context>> = Arc::new(TSpace::<Context>::new());
        Ok(Arc::new(SpaceComponent(Arc::new(SpaceHandle(space)))))
    }
}

/// A deployed space.
pub struct SpaceComponent(Arc<SpaceHandle>);

#[async_trait]
impl Component for SpaceComponent {
    fn handle(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        Some(self.0.clone())
    }

    async fn stop(&self, _timeout: Duration) {}
}
