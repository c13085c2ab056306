//! The integration-test binary: the real server on a real socket, against a real SQLite file and a
//! real PostgreSQL database, plus the architecture's dependency invariants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declares one `#[tokio::test]` per backend for an `async fn(&TestServer)` behaviour, or with
/// `database:` first, for an `async fn(&TestDatabase)` that starts its own server.
macro_rules! on_both_backends {
    (database: $($name:ident),+ $(,)?) => {
        on_both_backends!(@database sqlite, Sqlite, $($name),+);
        on_both_backends!(@database postgres, Postgres, $($name),+);
    };
    (@database $module:ident, $backend:ident, $($name:ident),+) => {
        mod $module {
            use crate::support::{Backend, TestDatabase};
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = TestDatabase::create(Backend::$backend).await else {
                        eprintln!("PostgreSQL left out: REBOUND_SKIP_POSTGRES=1");
                        return;
                    };
                    super::$name(&db).await;
                    db.drop_database().await;
                }
            )+
        }
    };
    ($($name:ident),+ $(,)?) => {
        on_both_backends!(@backend sqlite, Sqlite, $($name),+);
        on_both_backends!(@backend postgres, Postgres, $($name),+);
    };
    (@backend $module:ident, $backend:ident, $($name:ident),+) => {
        mod $module {
            use crate::support::{Backend, TestDatabase, TestServer};
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = TestDatabase::create(Backend::$backend).await else {
                        eprintln!("PostgreSQL left out: REBOUND_SKIP_POSTGRES=1");
                        return;
                    };
                    let server = TestServer::start(&db, None).await;
                    super::$name(&server).await;
                    drop(server);
                    db.drop_database().await;
                }
            )+
        }
    };
}

mod api;
mod architecture;
mod corpus;
mod monitoring;
mod openapi;
mod service;
mod support;
