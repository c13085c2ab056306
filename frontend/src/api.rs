//! Every HTTP request the console makes goes through here: one place for the base path, the CSRF
//! header on writes, and turning the server's `ErrorBody` into a message a person can read.

use gloo_net::http::{Request, Response};
use rebound_api::v1::{ErrorBody, LoginRequest, Me};

const BASE: &str = "/api/v1";
const CSRF_HEADER: &str = "X-Rebound-Csrf";

/// A failed request, with the server's message (or the network's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: Option<u16>,
    pub message: String,
    pub field: Option<String>,
}

impl ApiFailure {
    fn network(e: gloo_net::Error) -> Self {
        Self { status: None, message: format!("the server could not be reached ({e})"), field: None }
    }
}

async fn failure(response: Response) -> ApiFailure {
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => ApiFailure { status: Some(status), message: body.error.message, field: body.error.field },
        Err(_) => ApiFailure { status: Some(status), message: format!("the server answered {status}"), field: None },
    }
}

/// Signs in; the server sets the session cookie.
pub async fn login(username: String, password: String) -> Result<Me, ApiFailure> {
    let response = Request::post(&format!("{BASE}/auth/login"))
        .json(&LoginRequest { username, password })
        .map_err(ApiFailure::network)?
        .send()
        .await
        .map_err(ApiFailure::network)?;
    if !response.ok() {
        return Err(failure(response).await);
    }
    response.json::<Me>().await.map_err(ApiFailure::network)
}

/// The signed-in user, or `None` when the session is missing or expired.
pub async fn me() -> Result<Option<Me>, ApiFailure> {
    let response = Request::get(&format!("{BASE}/auth/me")).send().await.map_err(ApiFailure::network)?;
    match response.status() {
        401 => Ok(None),
        _ if response.ok() => response.json::<Me>().await.map(Some).map_err(ApiFailure::network),
        _ => Err(failure(response).await),
    }
}

pub async fn logout() -> Result<(), ApiFailure> {
    let response = Request::post(&format!("{BASE}/auth/logout"))
        .header(CSRF_HEADER, "1")
        .send()
        .await
        .map_err(ApiFailure::network)?;
    if response.ok() { Ok(()) } else { Err(failure(response).await) }
}
