//! The integration-test binary: the real server on a real socket, against a real SQLite file and a
//! real PostgreSQL database, plus the architecture's dependency invariants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod architecture;
mod corpus;
mod support;
