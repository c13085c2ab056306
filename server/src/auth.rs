//! Staff authentication: argon2 password hashes, session cookies and the `CurrentUser` extractor.
//!
//! A session token is 32 random bytes, handed to the browser once in an `HttpOnly`,
//! `SameSite=Strict` cookie; the database keeps only its SHA-256 digest, so a leaked database does
//! not leak live sessions. Writes authenticated by cookie must also carry `X-Rebound-Csrf: 1`, a
//! header a cross-site form cannot send and a cross-site script cannot add without a CORS grant.

use std::time::{SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use rand::RngCore;
use rebound_api::v1::Role;
use rebound_store::User;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "rebound_session";
pub const CSRF_HEADER: &str = "x-rebound-csrf";

/// The current time in Unix seconds.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Hashes a password with argon2id (a fresh random salt, the crate's default cost).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
}

/// Checks a password against a stored argon2 hash. A malformed hash never verifies.
pub fn verify_password(stored_hash: &str, password: &str) -> bool {
    PasswordHash::new(stored_hash)
        .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A new random session token (hex, for the cookie) and its digest (for the database).
pub fn new_session_token() -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let digest = token_digest(&token);
    (token, digest)
}

pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A random password for a generated account: 24 characters from an unambiguous alphabet
/// (about 137 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..24).map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char).collect()
}

/// The value of a named cookie in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

/// The signed-in staff member making this request.
pub struct CurrentUser(pub User);

impl CurrentUser {
    /// Refuses the request unless the user's role is at least `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        let rank = |r: Role| match r {
            Role::Viewer => 0,
            Role::Operator => 1,
            Role::Admin => 2,
        };
        if rank(self.0.role) >= rank(needed) { Ok(()) } else { Err(ApiError::Forbidden) }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(ApiError::Unauthenticated)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe && parts.headers.get(CSRF_HEADER).is_none_or(|v| v.as_bytes() != b"1") {
            return Err(ApiError::MissingCsrfHeader);
        }
        let user = state
            .store
            .session_user(&token_digest(token), now())
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ApiError::Unauthenticated)?;
        Ok(CurrentUser(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "correct horsE"));
        assert!(!verify_password("not a hash", "correct horse"));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; rebound_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
    }
}
