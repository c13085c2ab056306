//! Authentication: staff sessions (argon2 password hashes, session cookies, `CurrentUser`) and
//! API keys (`Authorization: Bearer rb_...`), both resolved by the `Principal` extractor into
//! what the caller may do.
//!
//! A session token is 32 random bytes, handed to the browser once in an `HttpOnly`,
//! `SameSite=Strict` cookie; the database keeps only its SHA-256 digest, so a leaked database does
//! not leak live sessions. Writes authenticated by cookie must also carry `X-Rebound-Csrf: 1`, a
//! header a cross-site form cannot send and a cross-site script cannot add without a CORS grant.
//!
//! API keys are 32 random bytes too, stored as SHA-256 digests (a key is checked on every pre-send
//! request, so a slow password hash would cost milliseconds each time). Recently used keys are
//! cached in memory for `KEY_CACHE_TTL`; a revocation on this replica takes effect at once, on
//! other replicas within that time.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use rand::RngCore;
use rebound_api::v1::{ApiKey, KeyScope, Role};
use rebound_store::{Actor, User};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "rebound_session";
pub const CSRF_HEADER: &str = "x-rebound-csrf";
/// Every API key token starts with this, so leaked keys are easy to recognise and scan for.
pub const KEY_PREFIX: &str = "rb_";
/// How long a resolved key is trusted before it is looked up again.
pub const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
const KEY_CACHE_MAX: usize = 10_000;

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

/// A new API key token (`rb_` + 64 hex digits) and its digest.
pub fn new_api_token() -> (String, [u8; 32]) {
    let (hex, _) = new_session_token();
    let token = format!("{KEY_PREFIX}{hex}");
    let digest = token_digest(&token);
    (token, digest)
}

/// Creates an API key (audited) and returns it with its token, which exists only in this answer.
pub async fn create_api_key(
    store: &dyn rebound_store::Store,
    name: &str,
    mut scopes: Vec<KeyScope>,
    actor: &Actor,
    now: i64,
) -> Result<(ApiKey, String), ApiError> {
    let name = crate::service::names::label("name", name)?;
    if scopes.is_empty() {
        return Err(ApiError::invalid_field("scopes", "give at least one scope"));
    }
    scopes.sort();
    scopes.dedup();
    let (token, digest) = new_api_token();
    let created_by = actor.to_string();
    let new = rebound_store::NewApiKey {
        name: &name,
        prefix: &token[..KEY_PREFIX.len() + 7],
        token_digest: &digest,
        scopes: &scopes,
        created_by: &created_by,
        now,
    };
    let key = rebound_store::ops::create_api_key(store, &new, actor).await?;
    Ok((key, token))
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
            .session_user(&token_digest(token), state.clock.now())
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ApiError::Unauthenticated)?;
        Ok(CurrentUser(user))
    }
}

/// What a request may do. Roles and key scopes both map onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Ask whether addresses may be sent to.
    Check,
    /// Report events.
    EventsWrite,
    /// Read suppressions, events, the audit log and settings.
    Read,
    /// Change the suppression list.
    SuppressionsWrite,
    /// Settings, users and keys.
    Admin,
}

impl Permission {
    fn allowed_for_role(self, role: Role) -> bool {
        match role {
            Role::Admin => true,
            Role::Operator => self != Permission::Admin,
            Role::Viewer => self == Permission::Read,
        }
    }

    fn allowed_for_scopes(self, scopes: &[KeyScope]) -> bool {
        scopes.iter().any(|scope| match scope {
            KeyScope::Admin => true,
            KeyScope::Check => self == Permission::Check,
            KeyScope::EventsWrite => self == Permission::EventsWrite,
            KeyScope::SuppressionsRead => self == Permission::Read,
            KeyScope::SuppressionsWrite => matches!(self, Permission::SuppressionsWrite | Permission::Read),
        })
    }
}

/// Whoever is making the request: a signed-in staff member or an API key, or someone with shell
/// access running the `rebound` command on the server's database (who could write to it anyway).
pub enum Principal {
    User(User),
    Key(ApiKey),
    Cli,
    /// The bounce mailbox (`--smtp-listen`): it only ever writes events.
    Mailbox,
}

impl Principal {
    /// Refuses the request unless the caller holds `needed`.
    pub fn require(&self, needed: Permission) -> Result<(), ApiError> {
        let allowed = match self {
            Principal::User(user) => needed.allowed_for_role(user.role),
            Principal::Key(key) => needed.allowed_for_scopes(&key.scopes),
            Principal::Cli => true,
            Principal::Mailbox => needed == Permission::EventsWrite,
        };
        if allowed { Ok(()) } else { Err(ApiError::Forbidden) }
    }

    /// How the caller is named in the audit log.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::User(user) => Actor::User(user.username.clone()),
            Principal::Key(key) => Actor::Key { id: key.id, name: key.name.clone() },
            Principal::Cli => Actor::Cli,
            Principal::Mailbox => Actor::Mailbox,
        }
    }

    /// The event source a write defaults to: `api` for keys, `console` for staff, `cli` for the
    /// command, `smtp` for the bounce mailbox.
    pub fn default_source(&self) -> &'static str {
        match self {
            Principal::User(_) => "console",
            Principal::Key(_) => "api",
            Principal::Cli => "cli",
            Principal::Mailbox => "smtp",
        }
    }
}

/// Recently resolved API keys by token digest.
#[derive(Default)]
pub struct KeyCache(std::sync::Mutex<std::collections::HashMap<[u8; 32], (ApiKey, std::time::Instant)>>);

impl KeyCache {
    fn get(&self, digest: &[u8; 32]) -> Option<ApiKey> {
        let map = self.0.lock().ok()?;
        map.get(digest).filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL).map(|(key, _)| key.clone())
    }

    fn put(&self, digest: [u8; 32], key: ApiKey) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= KEY_CACHE_MAX {
                map.clear();
            }
            map.insert(digest, (key, std::time::Instant::now()));
        }
    }

    /// Forgets every cached key (after a revocation).
    pub fn clear(&self) {
        if let Ok(mut map) = self.0.lock() {
            map.clear();
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer(parts) else {
            return CurrentUser::from_request_parts(parts, state).await.map(|CurrentUser(user)| Principal::User(user));
        };
        if !token.starts_with(KEY_PREFIX) {
            return Err(ApiError::Unauthenticated);
        }
        let digest = token_digest(token);
        let key = match state.keys.get(&digest) {
            Some(key) => key,
            None => {
                let key = state.store.api_key_by_digest(&digest).await?.ok_or(ApiError::Unauthenticated)?;
                state.keys.put(digest, key.clone());
                key
            }
        };
        if key.revoked_at.is_some() {
            return Err(ApiError::Unauthenticated);
        }
        Ok(Principal::Key(key))
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
