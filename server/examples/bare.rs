//! The baseline for `scripts/bench-service.sh`: a bare axum server that answers every request
//! with the same small JSON body, so the pre-send check's throughput can be compared with the
//! cost of HTTP alone on the same machine, in the same run.

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8099".to_owned());
    let app = Router::new().fallback(get(|| async {
        ([("content-type", "application/json")], r#"{"email":"a@example.com","suppressed":false}"#)
    }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
