//! Checks shared by the routes for the short names and texts that requests carry.

use rebound_policy::{Target, normalize};

use crate::error::ApiError;

/// Longest scope, source, campaign, stream or similar label.
const MAX_LABEL: usize = 64;

/// A label such as a scope, stream or source: 1 to 64 characters of letters, digits and
/// `_ - . : /`, so it is safe in URLs, logs and audit targets.
pub fn label(field: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_LABEL {
        return Err(ApiError::invalid_field(field, format!("must be 1 to {MAX_LABEL} characters")));
    }
    if !value.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/')) {
        return Err(ApiError::invalid_field(field, "may contain only letters, digits and _ - . : /"));
    }
    Ok(value.to_owned())
}

/// An optional label.
pub fn optional_label(field: &str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    value.map(|v| label(field, v)).transpose()
}

/// The first control character of a free text other than a tab or a line break: what no note,
/// reason or key may carry (a NUL above all: PostgreSQL cannot store one in text).
pub fn stray_control(value: &str) -> Option<char> {
    value.chars().find(|&c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Free text (notes, reasons, keys) of at most `max` characters; empty after trimming is refused,
/// and so is a control character other than a tab or a line break (a NUL above all: PostgreSQL
/// cannot store one in text).
pub fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::invalid_field(field, "must not be empty"));
    }
    if let Some(c) = stray_control(value) {
        return Err(ApiError::invalid_field(field, format!("must not contain the control character {c:?}")));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid_field(field, format!("must be at most {max} characters")));
    }
    Ok(value.to_owned())
}

/// Most of a refused value an error message repeats.
const ECHO: usize = 100;

/// An address or domain, normalised. The error repeats at most `ECHO` characters of the value.
pub fn target(field: &str, value: &str) -> Result<Target, ApiError> {
    normalize(value).map_err(|e| {
        let value = value.trim();
        let shown = match value.char_indices().nth(ECHO) {
            Some((at, _)) => format!("{}…", &value[..at]),
            None => value.to_owned(),
        };
        ApiError::invalid_field(field, format!("`{shown}` {e}"))
    })
}
