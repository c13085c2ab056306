//! Rebound's server: the axum application (`app`), its configuration and its command line.
//!
//! `app` builds the whole router from a state, so tests serve exactly what production serves on a
//! real socket. Handlers never touch SQL (they call the `Store` trait) and never build error
//! responses by hand (they return `ApiError`, mapped to HTTP once in `error`).

pub mod auth;
mod classify_cmd;
pub mod cli;
pub mod config;
mod console;
mod csv;
pub mod error;
mod export;
mod extract;
mod import;
pub mod index;
mod limit;
pub mod monitor;
mod reclassify;
pub(crate) mod routes;
pub mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use state::AppState;

/// Largest request body accepted by JSON endpoints.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// The complete application: the API under `/api/v1`, the console everywhere else.
pub fn app(state: AppState) -> Router {
    let console = console::router(&state.config.console_dir);
    Router::new()
        .nest("/api/v1", routes::router().layer(axum::middleware::map_response(error::json_errors)))
        .route("/api", axum::routing::any(routes::unknown_api_path))
        .route("/api/{*rest}", axum::routing::any(routes::unknown_api_path))
        .route("/metrics", axum::routing::get(monitor::prometheus::handler))
        .fallback_service(console)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
