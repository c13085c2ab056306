//! Rules for staff accounts that the API and the CLI share.

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;
