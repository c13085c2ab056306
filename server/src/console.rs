//! Serving the built console (Trunk's `dist/`): hashed assets cached for a year, everything else
//! (`index.html` above all) revalidated on every load, precompressed `.br`/`.gz` siblings used when
//! present, and every unknown path answered with `index.html` so client-side routes survive a reload
//! — except the service worker's script, which is a 404 when missing and is never cached.

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::services::{ServeDir, ServeFile};

/// Where the console registers its service worker (`frontend/sw.js`); served from the root, as
/// its scope is the whole console.
const SERVICE_WORKER: &str = "/sw.js";

/// The console as a router with only a fallback, to be used as the application's fallback.
pub fn router(dir: &Path) -> Router {
    let index = ServeFile::new(dir.join("index.html"));
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip().fallback(index);
    let worker = ServeFile::new(dir.join("sw.js")).precompressed_br().precompressed_gzip();
    Router::new()
        .route_service(SERVICE_WORKER, worker)
        .fallback_service(files)
        .layer(middleware::from_fn(cache_control))
}

async fn cache_control(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    // The browser checks the worker for a new build at every load; no cache may answer for it.
    let worker = path == SERVICE_WORKER;
    let immutable = is_hashed_asset(path);
    let mut response = next.run(request).await;
    let value = if worker {
        "no-store"
    } else if immutable && response.status().is_success() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

/// Trunk names assets `name-<hash>.ext` (and `name-<hash>_bg.wasm`), the hash a 64-bit number in hex
/// without leading zeros (16 digits, fewer one build in sixteen); such a name changes whenever the
/// content does.
fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| (8..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::is_hashed_asset;

    #[test]
    fn only_hashed_names_are_immutable() {
        assert!(is_hashed_asset("/rebound-console-4f1c2a9b8e7d6c5b_bg.wasm"));
        assert!(is_hashed_asset("/rebound-console-4f1c2a9b8e7d6c5b.js"));
        assert!(is_hashed_asset("/rebound-console-d188398bcb45490_bg.wasm"), "a hash with a leading zero dropped");
        assert!(!is_hashed_asset("/style-abc.css"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/suppressions/jane-doe"));
    }
}
