//! Rebound's server: the axum application (`app`), its configuration and its command line.
//!
//! `app` builds the whole router from a state, so tests serve exactly what production serves on a
//! real socket. Handlers never touch SQL (they call the `Store` trait) and never build error
//! responses by hand (they return `ApiError`, mapped to HTTP once in `error`).

pub mod auth;
mod classify_cmd;
pub mod cli;
pub mod clock;
pub mod config;
mod console;
mod csv;
pub mod error;
mod export;
mod extract;
mod import;
pub mod index;
mod ingest_cmd;
mod limit;
pub mod monitor;
mod postfix_log;
mod reclassify;
pub(crate) mod routes;
pub(crate) mod service;
pub mod smtp;
pub mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use state::AppState;

/// Largest request body accepted by JSON endpoints.
pub const MAX_JSON_BODY: usize = 1024 * 1024;
/// Largest `/events` (and MTA integration) body: a batch of bounce emails is bigger than other requests.
pub const MAX_EVENTS_BODY: usize = 16 * 1024 * 1024;
/// Largest `POST /check` body: room for a full batch of long addresses.
pub const MAX_CHECK_BODY: usize = 4 * 1024 * 1024;

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
        .layer(axum::middleware::map_request(request_limits))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Longest request target (path and query) answered; hyper itself refuses one over 64 KiB, with no body.
const MAX_URI: usize = 16 * 1024;
/// Most header bytes (names and values) a request may carry; hyper's own limit is far higher and
/// answers with no body.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Refuses a request target or headers over the limits with the API's JSON error shape (414, 431).
async fn request_limits(request: axum::extract::Request) -> Result<axum::extract::Request, error::ApiError> {
    let length = request.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if length > MAX_URI {
        return Err(error::ApiError::UriTooLong { length, limit: MAX_URI });
    }
    let length: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if length > MAX_HEADER_BYTES {
        return Err(error::ApiError::HeadersTooLarge { length, limit: MAX_HEADER_BYTES });
    }
    Ok(request)
}

/// What every response allows a browser to do with it. The console is its own files only: scripts
/// from this origin (the wasm compiled from them too), no inline script or style, no plugin, no
/// framing by another site (clickjacking), no sniffing a type other than the one sent, and the
/// address of a page is not sent to other sites.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
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
