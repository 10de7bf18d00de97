//! The health board: every deployed component's readiness, as `/health` reports it.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::component::Component;

/// A component with its kind.
type Entry = (&'static str, Arc<dyn Component>);

/// Deployed components by name, with their kind.
#[derive(Default)]
pub struct HealthBoard {
    components: RwLock<BTreeMap<String, Entry>>,
}

impl HealthBoard {
    /// Track `component`.
    pub fn insert(&self, name: &str, kind: &'static str, component: Arc<dyn Component>) {
        self.components
            .write()
            .insert(name.to_owned(), (kind, component));
    }

    /// Stop tracking `name`.
    pub fn remove(&self, name: &str) {
        self.components.write().remove(name);
    }

    /// True when every component is ready, and the JSON report.
    pub fn report(&self) -> (bool, serde_json::Value) {
        let comps = self.components.read();
        let mut all = true;
        let mut list = serde_json::Map::new();
        for (name, (kind, c)) in comps.iter() {
            let ready = c.ready();
            all &= ready;
            list.insert(
                name.clone(),
                serde_json::json!({ "kind": kind, "ready": ready }),
            );
        }
        let status = if all { "ready" } else { "not ready" };
        (
            all,
            serde_json::json!({ "status": status, "components": list }),
        )
    }
}
