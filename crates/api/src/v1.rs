//! Version 1 of the REST API's bodies.

use serde::{Deserialize, Serialize};

pub use rebound_core::Verdict;

/// The body of every 4xx and 5xx response: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A machine-readable `code` (stable, snake_case), a sentence for people, and the offending
/// request field when one is to blame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub database: String,
}

/// `POST /api/v1/classify`: one SMTP reply, as an MTA or provider reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyRequest {
    pub reply: String,
}

/// The answer to `POST /api/v1/classify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassifyResponse {
    pub verdict: Verdict,
}

/// What a staff member may do. Viewers read; operators also change suppressions; admins also
/// manage users, keys and settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Operator,
    Viewer,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "operator" => Some(Role::Operator),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The signed-in staff member (`GET /api/v1/auth/me`, and the answer to a login).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub username: String,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_omits_absent_field() {
        let body =
            ErrorBody { error: ErrorDetail { code: "not_found".into(), message: "no such thing".into(), field: None } };
        assert_eq!(
            serde_json::to_string(&body).ok().as_deref(),
            Some(r#"{"error":{"code":"not_found","message":"no such thing"}}"#)
        );
    }
}
