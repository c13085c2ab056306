//! What Rebound does with a classified event: the suppression policy, kept apart from storage and
//! HTTP so that it is a pure function, testable on its own and identical on every backend.
//!
//! - `address`: the one normalisation of an address or domain into a suppression key (domain
//!   lower-cased and IDNA-encoded; local part kept as given but compared case-insensitively).
//! - `policy`: the configurable thresholds (soft-bounce escalation, per-reason overrides, the
//!   reason → kind table) with their validation, and `decide`, which turns a verdict and the
//!   address's recent history into what must happen to the suppression list.
//! - `plan`: a whole batch of events planned against the list as the store read it (every event
//!   as if stored one by one), and the one rule for what a new cause does to an existing entry.

pub mod address;
pub mod plan;
pub mod policy;

pub use address::{AddressError, Target, normalize};
pub use policy::{
    Decision, EventFacts, GLOBAL_SCOPE, History, Policy, PolicyError, SoftOverride, SuppressionReason, decide,
};
