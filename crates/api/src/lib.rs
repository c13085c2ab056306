//! Rebound's HTTP wire types, shared by the server (which serialises them) and the console (which
//! deserialises them), so the two can never disagree on a field name.
//!
//! Types are versioned by module: `v1` is served under `/api/v1`.

pub mod v1;
