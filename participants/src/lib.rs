//! jCard-style participants for Switchyard, built exactly the way a user crate builds its own:
//! implement `Participant`, register a type name with the `ParticipantRegistry`, name it in YAML.
//!
//! `fraud_score` is the worked example of `docs/custom-participant.md`.

pub mod fraud_score;

use switchyard::txn::ParticipantRegistry;

/// Register every participant of this crate.
pub fn register(registry: &mut ParticipantRegistry) {
    fraud_score::register(registry);
}
