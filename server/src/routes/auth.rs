//! `/api/v1/auth`: signing in and out, and who am I.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use rebound_api::v1::{LoginRequest, Me};
use rebound_store::NewSession;

use crate::AppState;
use crate::auth::{self as session, CurrentUser, SESSION_COOKIE};
use crate::error::ApiError;
use crate::extract::ApiJson;

/// Verified against when the user does not exist, so that a wrong name costs as much time as a
/// wrong password and does not reveal which names exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$9eJ7PV3wk0VwqJh7Rr5mBbGGhG8Qj1fd+ExmVYzD8f4";

pub fn router() -> Router<AppState> {
    Router::new().route("/auth/login", post(login)).route("/auth/logout", post(logout)).route("/auth/me", get(me))
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(wait) = state.logins.check(peer.ip(), &request.username) {
        return Err(ApiError::RateLimited { retry_after: wait.as_secs().max(1) });
    }
    let user = state.store.user_by_name(&request.username).await?;
    let hash = user.as_ref().map_or(DUMMY_HASH, |u| u.password_hash.as_str()).to_owned();
    let password = request.password;
    let verified = tokio::task::spawn_blocking(move || session::verify_password(&hash, &password))
        .await
        .map_err(|e| ApiError::Internal(format!("password check failed: {e}")))?;
    let user = match user {
        Some(user) if verified && !user.disabled => user,
        _ => {
            state.logins.failed(peer.ip(), &request.username);
            return Err(ApiError::BadCredentials);
        }
    };
    state.logins.succeeded(peer.ip(), &request.username);
    let (token, digest) = session::new_session_token();
    let now = state.clock.now();
    let ttl = state.config.session_ttl.as_secs();
    state
        .store
        .create_session(NewSession {
            token_digest: &digest,
            user_id: user.id,
            created_at: now,
            expires_at: now.saturating_add_unsigned(ttl),
        })
        .await?;
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ttl}{secure}");
    let mut headers = HeaderMap::new();
    headers.insert(SET_COOKIE, HeaderValue::try_from(cookie).map_err(|e| ApiError::Internal(e.to_string()))?);
    Ok((headers, Json(Me { username: user.username, role: user.role })))
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _user: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(token) = session::cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&session::token_digest(token)).await?;
    }
    let expired = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    let mut out = HeaderMap::new();
    out.insert(SET_COOKIE, HeaderValue::try_from(expired).map_err(|e| ApiError::Internal(e.to_string()))?);
    Ok((StatusCode::NO_CONTENT, out))
}

async fn me(CurrentUser(user): CurrentUser) -> Json<Me> {
    Json(Me { username: user.username, role: user.role })
}
