//! Request extractors whose failures use the same error shape as everything else.
//!
//! They also refuse a NUL character in any text a request carries, naming the field, except in
//! the fields that hold bounce text as a remote system sent it (`RAW_TEXT_FIELDS`), which is kept
//! byte for byte. PostgreSQL cannot store a NUL in text, SQLite can: refusing it at the door, the
//! same on both, means no route ever fails half way on one database and not the other, and a NUL
//! is never part of a note, a name, a key or a filter.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// A JSON body. Unlike `axum::Json`, a bad body is answered with an `ErrorBody` that names the
/// field at fault (`reply`, `items[3].email`) and what is wrong with it.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Query-string parameters, with failures reported like body fields (`limit`, `active`, ...).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        if let Some((name, _)) = form_urlencoded::parse(query.as_bytes()).find(|(_, v)| v.contains('\0')) {
            return Err(nul_refused(name.into_owned()));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            let field = if path == "." { named_in_message(&inner) } else { Some(path) };
            ApiError::Invalid { code: "invalid_parameter", message: inner, field }
        })
    }
}

/// A body that could not be read: too large (413), or cut off by the client (400).
pub fn body_error(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
    match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => ApiError::PayloadTooLarge,
        other => ApiError::Invalid {
            code: "unreadable_body",
            message: format!("the request body could not be read: {other}"),
            field: None,
        },
    }
}

/// The request declares a JSON body (`application/json` or `application/*+json`).
pub fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).is_some_and(|mime| {
        let mime = mime.trim().to_ascii_lowercase();
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
    })
}

/// Fields that carry bounce text as received (an SMTP reply, a bounce email, a log record's
/// response): a NUL there is part of what the remote system said.
const RAW_TEXT_FIELDS: &[&str] = &["reply", "message", "content"];

fn nul_refused(field: String) -> ApiError {
    ApiError::invalid_field(field, "must not contain a NUL character (\\u0000)")
}

/// The path of the first string (or object key) holding a NUL outside `RAW_TEXT_FIELDS`.
fn nul_path(value: &Value, path: &str, name: &str) -> Option<String> {
    match value {
        Value::String(s) => (s.contains('\0') && !RAW_TEXT_FIELDS.contains(&name)).then(|| path.to_owned()),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| nul_path(item, &format!("{path}[{i}]"), name))
        }
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            if key.contains('\0') { Some(path) } else { nul_path(item, &path, key) }
        }),
        _ => None,
    }
}

/// Deserialises JSON, reporting the path of the field that failed; a NUL outside the raw bounce
/// text fields is refused (see the module documentation).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // A NUL can only arrive escaped: JSON does not allow raw control characters in strings.
    if memchr::memmem::find(bytes, b"\\u0000").is_some()
        && let Ok(value) = serde_json::from_slice::<Value>(bytes)
        && let Some(path) = nul_path(&value, "", "")
    {
        return Err(nul_refused(if path.is_empty() { "body".to_owned() } else { path }));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::Invalid {
                code: "malformed_json",
                message: format!("the body is not valid JSON: {inner}"),
                field: None,
            };
        }
        let field = if path == "." { named_in_message(&inner.to_string()) } else { Some(path) };
        ApiError::Invalid { code: "invalid_field", message: inner.to_string(), field }
    })?;
    // Something after the JSON value (`{...} garbage`) is refused, not ignored.
    de.end().map_err(|e| ApiError::Invalid {
        code: "malformed_json",
        message: format!("the body is not valid JSON: {e}"),
        field: None,
    })?;
    Ok(value)
}

/// serde reports missing and unknown fields at the parent's path, naming the field in backquotes.
fn named_in_message(message: &str) -> Option<String> {
    ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rebound_api::v1::ClassifyRequest;

    fn field_of(json: &str) -> (Option<String>, &'static str) {
        match parse_json::<ClassifyRequest>(json.as_bytes()) {
            Err(ApiError::Invalid { field, code, .. }) => (field, code),
            other => panic!("expected an invalid-input error, got {:?}", other.err()),
        }
    }

    #[test]
    fn names_the_field_with_the_wrong_type() {
        assert_eq!(field_of(r#"{"reply": 5}"#), (Some("reply".into()), "invalid_field"));
    }

    #[test]
    fn names_missing_and_unknown_fields() {
        assert_eq!(field_of(r#"{}"#).0.as_deref(), Some("reply"));
        assert_eq!(field_of(r#"{"reply": "x", "extra": 1}"#).0.as_deref(), Some("extra"));
    }

    #[test]
    fn a_nul_is_refused_outside_raw_bounce_text() {
        let refused = |json: &str| match parse_json::<Value>(json.as_bytes()) {
            Err(ApiError::Invalid { field, .. }) => field,
            Ok(_) => None,
            Err(other) => panic!("{other:?}"),
        };
        assert_eq!(
            refused(r#"{"events": [{"reply": "5\u00000"}, {"note": "a\u0000"}]}"#).as_deref(),
            Some("events[1].note")
        );
        assert_eq!(refused(r#"{"reply": "550\u0000 gone", "message": "\u0000", "x": {"content": "\u0000"}}"#), None);
        assert_eq!(refused(r#"[{"id": "\u0000"}]"#).as_deref(), Some("[0].id"));
        assert_eq!(refused(r#"{"q": "a\\u0000"}"#), None, "an escaped backslash before u0000 is no NUL");
        assert_eq!(refused(r#""\u0000""#).as_deref(), Some("body"));
    }

    #[test]
    fn malformed_json_is_its_own_code() {
        assert_eq!(field_of(r#"{"reply": "#).1, "malformed_json");
        assert_eq!(field_of(r#"{"reply": "550"} trailing"#).1, "malformed_json");
        assert_eq!(field_of(r#"{"reply": "550", "reply": "551"}"#).0.as_deref(), Some("reply"));
    }
}
