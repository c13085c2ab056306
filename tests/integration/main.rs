//! The integration-test binary: the real server on a real socket, against a real SQLite file and a
//! real PostgreSQL database, plus the architecture's dependency invariants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declares one `#[tokio::test]` per backend for an `async fn(&TestServer)` behaviour, or with
/// `database:` first, for an `async fn(&TestDatabase)` that starts its own server.
macro_rules! on_both_backends {
    (@module $module:ident, $backend:ident, $runner:ident, $($name:ident),+) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::support::$runner(crate::support::Backend::$backend, super::$name).await;
                }
            )+
        }
    };
    (@each $runner:ident, $($name:ident),+) => {
        on_both_backends!(@module sqlite, Sqlite, $runner, $($name),+);
        on_both_backends!(@module postgres, Postgres, $runner, $($name),+);
    };
    (database: $($name:ident),+ $(,)?) => {
        on_both_backends!(@each on_database, $($name),+);
    };
    ($($name:ident),+ $(,)?) => {
        on_both_backends!(@each on_server, $($name),+);
    };
}

mod api;
mod architecture;
mod bad_input;
mod kumo_lua;
mod mailbox;
mod monitoring;
mod openapi;
mod recovery;
mod service;
mod support;
