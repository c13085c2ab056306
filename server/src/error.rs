//! Errors, and their one mapping to HTTP: every 4xx/5xx body is an `api::v1::ErrorBody`.

use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rebound_api::v1::{ErrorBody, ErrorDetail};
use rebound_store::StoreError;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request was malformed; `field` names the offending part when one is to blame.
    #[error("{message}")]
    Invalid { code: &'static str, message: String, field: Option<String> },
    #[error("this endpoint reads JSON: send `Content-Type: application/json` (or what its documentation lists)")]
    UnsupportedMediaType,
    #[error("the request target is {length} bytes; the limit is {limit}")]
    UriTooLong { length: usize, limit: usize },
    #[error("the request headers are {length} bytes; the limit is {limit}")]
    HeadersTooLarge { length: usize, limit: usize },
    #[error(
        "the request body is larger than this endpoint accepts: {} MiB for /events and the MTA integrations, {} MiB \
         for POST /check, {} MiB for other JSON bodies",
        crate::MAX_EVENTS_BODY >> 20,
        crate::MAX_CHECK_BODY >> 20,
        crate::MAX_JSON_BODY >> 20
    )]
    PayloadTooLarge,
    #[error("sign in or send an API key")]
    Unauthenticated,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("cookie-authenticated writes must carry the `X-Rebound-Csrf: 1` header")]
    MissingCsrfHeader,
    #[error("your role may not do this")]
    Forbidden,
    #[error("too many failed attempts: try again in {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    #[error("no such resource: {0}")]
    NotFound(String),
    /// The resource is not in a state that allows this (409 with its own code).
    #[error("{message}")]
    State { code: &'static str, message: String },
    /// An idempotency key sent again with a different payload (409 naming the field).
    #[error("the idempotency key `{key}` was first sent with a different payload: give a new event a new key")]
    KeyReused { field: String, key: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 naming the field at fault.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid { code: "invalid_field", message: message.into(), field: Some(field.into()) }
    }

    /// The request was at fault (a 4xx), as opposed to the server or its store.
    pub fn is_client_error(&self) -> bool {
        self.status_and_code().0.is_client_error()
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Invalid { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UriTooLong { .. } => (StatusCode::URI_TOO_LONG, "uri_too_long"),
            ApiError::HeadersTooLarge { .. } => (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large"),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            ApiError::MissingCsrfHeader => (StatusCode::FORBIDDEN, "csrf_header_missing"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::State { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::KeyReused { .. } | ApiError::Store(StoreError::KeyReused { .. }) => {
                (StatusCode::CONFLICT, "idempotency_key_reused")
            }
            ApiError::Store(StoreError::Conflict { .. }) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Store(_) | ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "the server failed to handle this request; the error is in its log".to_owned()
        } else {
            self.to_string()
        };
        let retry_after = match &self {
            ApiError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        };
        let field = match self {
            ApiError::Invalid { field, .. } => field,
            ApiError::KeyReused { field, .. } => Some(field),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message, field } };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// Gives the error responses that axum and tower produce themselves (a 405 for a wrong method, a
/// 400 for an unreadable path parameter, a 408 after the request timeout) the same JSON shape as
/// every other error, keeping their text as the message.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).trim().to_owned());
    let message = match text {
        Ok(text) if !text.is_empty() => text,
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let code = match status {
        StatusCode::BAD_REQUEST => "invalid_parameter",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "invalid_request",
    };
    let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message, field: None } };
    let mut response = (status, Json(body)).into_response();
    for (name, value) in parts.headers.iter().filter(|(name, _)| *name == axum::http::header::ALLOW) {
        response.headers_mut().insert(name, value.clone());
    }
    response
}

/// Why the server or a command could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    /// An idempotency key sent again with a different payload (409 naming the field).
    #[error("the idempotency key `{key}` was first sent with a different payload: give a new event a new key")]
    KeyReused { field: String, key: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("{0}")]
    Usage(String),
    #[error(
        "the database's guards are missing: {}. They keep the suppression list and the audit log from being \
         deleted or rewritten; someone with access to the database dropped or disabled them, so neither can be \
         trusted now. Restore the database from a backup (then run `rebound audit verify`); Rebound will not serve \
         it as it is",
        .0.join(", ")
    )]
    GuardsMissing(Vec<&'static str>),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}
