//! `/api/v1/users`: staff accounts (admin only). Passwords are hashed with argon2 and never
//! returned; a generated password is shown once, in the answer that creates it. Disabling an
//! account or resetting its password ends its sessions at once. The last active admin cannot be
//! demoted or disabled, so the console can never lock everyone out.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use rebound_api::v1::{CreateUser, Page, UpdateUser, UserInfo, UserWithPassword};
use rebound_store::ops::{self, UserRefusal};
use rebound_store::{NewUser, User};

use crate::AppState;
use crate::auth::{self, Permission, Principal};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::{PageParams, page_by_id, page_limit};
use crate::service::accounts::MIN_PASSWORD;
use crate::service::names;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", patch(update))
        .route("/users/{id}/reset-password", post(reset))
}

fn info(user: User) -> UserInfo {
    UserInfo {
        id: user.id,
        username: user.username,
        role: user.role,
        disabled: user.disabled,
        created_at: user.created_at,
    }
}

/// Hashes `given`, or a generated password (returned so it can be shown once).
async fn password_hash(given: Option<String>) -> Result<(String, Option<String>), ApiError> {
    let (password, generated) = match given {
        Some(p) if p.chars().count() < MIN_PASSWORD => {
            return Err(ApiError::invalid_field("password", format!("must have at least {MIN_PASSWORD} characters")));
        }
        Some(p) => (p, false),
        None => (auth::generate_password(), true),
    };
    let hashed = password.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&hashed))
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))??;
    Ok((hash, generated.then_some(password)))
}

/// A page of accounts, newest first.
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Page<UserInfo>>, ApiError> {
    principal.require(Permission::Admin)?;
    let limit = page_limit(p.limit)?;
    let users = state.store.users(p.cursor, limit + 1).await?.into_iter().map(info).collect();
    Ok(Json(page_by_id(users, limit, |u| u.id)))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<UserWithPassword>), ApiError> {
    principal.require(Permission::Admin)?;
    let username = names::label("username", &request.username)?;
    let (hash, password) = password_hash(request.password).await?;
    let new = NewUser { username: &username, password_hash: &hash, role: request.role, now: state.clock.now() };
    let user = ops::create_user(state.store.as_ref(), &new, &principal.actor()).await?;
    Ok((StatusCode::CREATED, Json(UserWithPassword { user: info(user), password })))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<UpdateUser>,
) -> Result<Json<UserInfo>, ApiError> {
    principal.require(Permission::Admin)?;
    let result = ops::update_user(
        state.store.as_ref(),
        id,
        request.role,
        request.disabled,
        &principal.actor(),
        state.clock.now(),
    )
    .await?;
    match result {
        Ok(user) => Ok(Json(info(user))),
        Err(UserRefusal::NotFound) => Err(ApiError::NotFound(format!("user {id}"))),
        Err(UserRefusal::LastAdmin) => Err(ApiError::State {
            code: "last_admin",
            message: "this is the last active admin: make another admin first".to_owned(),
        }),
    }
}

async fn reset(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<UserWithPassword>, ApiError> {
    principal.require(Permission::Admin)?;
    let (hash, password) = password_hash(None).await?;
    let user = ops::reset_password(state.store.as_ref(), id, &hash, &principal.actor(), state.clock.now())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("user {id}")))?;
    Ok(Json(UserWithPassword { user: info(user), password }))
}
