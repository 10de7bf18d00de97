//! The participant chain: the main list plus named groups, resolved and checked once at deploy time.
//!
//! Group 0 is the main chain. Every name a selector can return must be a configured group, checked here, so
//! a typo fails the deploy instead of silently skipping work at runtime.

use std::collections::HashMap;
use std::sync::Arc;

use thiserror::Error;

use super::participant::Participant;

/// Index of a group in the chain (0 = the main participants).
pub(crate) type GroupIdx = u16;

/// A configured participant: its name, its position label (stable for recovery) and the instance.
pub struct Node {
    /// The name it was configured with (e.g. `jcard.CheckFields`).
    pub name: Arc<str>,
    /// `group#position`, how recovery records refer to it.
    pub label: Arc<str>,
    /// The participant.
    pub participant: Arc<dyn Participant>,
    /// Prepare-time histogram for this participant.
    pub(crate) prepare_time: metrics::Histogram,
}

/// A named list of participants.
pub struct Group {
    /// Group name (`main` for the top-level list).
    pub name: String,
    /// Its participants in order.
    pub nodes: Vec<Node>,
}

/// A chain that cannot be deployed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChainError {
    /// A selector can pick a group that is not configured.
    #[error("participant '{participant}' selects group '{group}', which is not configured")]
    UnknownGroup {
        /// The selector.
        participant: String,
        /// The missing group.
        group: String,
    },
    /// A group name appears twice, or a group is named `main`.
    #[error("group '{0}' is configured twice (or uses the reserved name 'main')")]
    DuplicateGroup(String),
    /// More groups or participants than the chain can index.
    #[error("too many groups or participants in one group (limit {0})")]
    TooLarge(usize),
}

/// A participant with the name it was configured under.
pub type Named = (String, Arc<dyn Participant>);
/// A group name with its participants.
pub type NamedGroup = (String, Vec<Named>);

/// The resolved chain.
pub struct Chain {
    pub(crate) groups: Vec<Group>,
    by_name: HashMap<String, GroupIdx>,
}

/// Name of the main participant list.
pub const MAIN: &str = "main";

fn node(group: &str, pos: usize, name: String, p: Arc<dyn Participant>) -> Node {
    let name: Arc<str> = name.into();
    Node {
        label: format!("{group}#{pos}").into(),
        prepare_time: metrics::histogram!("txn_prepare_seconds", "participant" => name.to_string()),
        name,
        participant: p,
    }
}

impl Chain {
    /// Build and check a chain from the main list and named groups.
    pub fn new(participants: Vec<Named>, groups: Vec<NamedGroup>) -> Result<Self, ChainError> {
        let limit = usize::from(u16::MAX);
        let mut all = vec![(MAIN.to_owned(), participants)];
        all.extend(groups);
        if all.len() > limit {
            return Err(ChainError::TooLarge(limit));
        }
        let mut by_name = HashMap::new();
        let mut resolved = Vec::with_capacity(all.len());
        for (i, (gname, members)) in all.into_iter().enumerate() {
            if members.len() > limit {
                return Err(ChainError::TooLarge(limit));
            }
            let idx = GroupIdx::try_from(i).map_err(|_| ChainError::TooLarge(limit))?;
            if by_name.insert(gname.clone(), idx).is_some() {
                return Err(ChainError::DuplicateGroup(gname));
            }
            let nodes = members
                .into_iter()
                .enumerate()
                .map(|(pos, (n, p))| node(&gname, pos, n, p))
                .collect();
            resolved.push(Group { name: gname, nodes });
        }
        let chain = Chain {
            groups: resolved,
            by_name,
        };
        for g in &chain.groups {
            for n in &g.nodes {
                if let Some(sel) = n.participant.as_selector() {
                    for wanted in sel.group_names() {
                        if wanted == MAIN || !chain.by_name.contains_key(wanted) {
                            return Err(ChainError::UnknownGroup {
                                participant: n.name.to_string(),
                                group: wanted.to_owned(),
                            });
                        }
                    }
                }
            }
        }
        Ok(chain)
    }

    /// The index of group `name`.
    pub(crate) fn group(&self, name: &str) -> Option<GroupIdx> {
        self.by_name.get(name).copied()
    }

    /// The node at `(group, pos)`.
    pub(crate) fn node(&self, group: GroupIdx, pos: usize) -> Option<&Node> {
        self.groups.get(usize::from(group))?.nodes.get(pos)
    }

    /// Find a node by its recovery label.
    pub(crate) fn by_label(&self, label: &str) -> Option<(GroupIdx, usize)> {
        let (g, pos) = label.rsplit_once('#')?;
        let gi = self.group(g)?;
        let pos: usize = pos.parse().ok()?;
        self.node(gi, pos).map(|_| (gi, pos))
    }
}
