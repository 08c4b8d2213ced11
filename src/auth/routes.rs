//! `/auth/login`, `/auth/logout`, `/me` and user management (`/users`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::store::{self, NewUser, User, UserChange};
use super::{CurrentUser, Permission, Role, SESSION_COOKIE, password};
use crate::app::AppState;
use crate::audit::{self, Actor};
use crate::db::{Db, Tx};
use crate::error::{ApiError, ErrorBody};
use crate::paging::{Page, Paging};

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Opaque bearer token for API clients (`Authorization: Bearer …`). The UI uses the
    /// HTTP-only cookie set by the same response instead.
    pub token: String,
    pub user: User,
}

/// Logs in with a username and password. Repeated failures are slowed down and then lock the
/// account for a while (see the `auth` settings).
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse, description = "Logged in; also sets the `yingji_session` cookie"),
        (status = 401, body = ErrorBody, description = "Wrong username or password"),
        (status = 429, body = ErrorBody, description = "Account locked after too many failures")),
    security(()))]
async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    Json(req): Json<LoginRequest>,
) -> Result<(CookieJar, Json<LoginResponse>), ApiError> {
    let auth = &state.settings.auth;
    let now = crate::db::now_ms();
    let invalid = || ApiError::InvalidCredentials("wrong username or password".into());
    let Some(row) = store::login_row(&state.db, req.username.trim()).await? else {
        // Same work as for a real account, so that timing does not reveal which names exist.
        let pw = req.password.clone();
        let _ = tokio::task::spawn_blocking(move || password::verify(&pw, password::dummy_hash())).await;
        return Err(invalid());
    };
    if let Some(until) = row.locked_until.filter(|u| *u > now) {
        return Err(ApiError::Locked(format!(
            "too many failed logins; the account is locked until {} (Beijing time)",
            crate::time::shanghai(until)
        )));
    }
    let pw = req.password.clone();
    let hash = row.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if !ok || row.disabled {
        let (failed, locked) =
            store::record_failed_login(&state.db, &row.id, now, auth.lock_after_failures, auth.lock_minutes * 60_000)
                .await?;
        if let Some(until) = locked {
            tracing::warn!(username = %req.username, "account locked after repeated failed logins");
            let mut tx = state.db.begin().await?;
            audit::record(&mut tx, &Actor::system("login"), "user", &row.id, "lock", None,
                Some(&serde_json::json!({"locked_until": crate::time::rfc3339(until)}))).await?;
            tx.commit().await?;
            return Err(ApiError::Locked(format!(
                "too many failed logins; the account is locked until {} (Beijing time)",
                crate::time::shanghai(until)
            )));
        }
        if failed > auth.slow_after_failures {
            // Each further failure costs the guesser one more second, up to five.
            let secs = (failed - auth.slow_after_failures).min(5) as u64;
            tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
        }
        return Err(invalid());
    }
    store::record_successful_login(&state.db, &row.id).await?;
    let token = super::random_token();
    let expires = now + auth.session_hours * 3_600_000;
    store::create_session(&state.db, &row.id, &super::token_hash(&token), now, expires).await?;
    let user = store::get_user(&state.db, &row.id).await?.ok_or(ApiError::NotFound)?;
    let cookie = Cookie::build((SESSION_COOKIE, token.clone()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(auth.secure_cookie)
        .path("/")
        .max_age(time::Duration::hours(auth.session_hours))
        .build();
    Ok((jar.add(cookie), Json(LoginResponse { token, user })))
}

/// Ends the current session (cookie or bearer token).
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out"), (status = 401, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, user: CurrentUser, jar: CookieJar) -> Result<impl IntoResponse, ApiError> {
    store::delete_session(&state.db, &user.token_hash).await?;
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/").build());
    Ok((StatusCode::NO_CONTENT, jar))
}

/// The logged-in user.
#[utoipa::path(get, path = "/me", tag = "auth",
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<AppState>, user: CurrentUser) -> Result<Json<User>, ApiError> {
    Ok(Json(store::get_user(&state.db, &user.id).await?.ok_or(ApiError::Unauthorized)?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUser {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: String,
    pub role: Role,
    /// Required for role `town`: the township code.
    pub town_code: Option<String>,
    /// Required for role `enterprise`: the enterprise id.
    pub enterprise_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PatchUser {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub town_code: Option<String>,
    pub enterprise_id: Option<String>,
    pub disabled: Option<bool>,
    /// A new password; also unlocks the account.
    pub password: Option<String>,
}

/// Checks that a username is acceptable: 2–64 letters, digits, `_`, `-`, `.`.
pub fn check_username(name: &str) -> Result<(), ApiError> {
    let ok = (2..=64).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation("username", "username must be 2–64 characters: letters, digits, _ - ."))
    }
}

/// Checks that the unit an account is bound to matches its role and exists.
async fn check_binding(
    tx: &mut Tx,
    role: Role,
    town_code: &Option<String>,
    enterprise_id: &Option<String>,
) -> Result<(), ApiError> {
    use crate::db::Sql;
    match role {
        Role::Town => {
            let code = town_code.as_deref().ok_or_else(|| ApiError::validation("town_code", "a town user needs town_code"))?;
            let n: i64 = tx
                .fetch_scalar(&Sql::new("SELECT COUNT(*) FROM admin_units WHERE code = $1 AND kind <> 'district'").bind(code))
                .await?;
            if n == 0 {
                return Err(ApiError::validation("town_code", format!("unknown township code {code}")));
            }
        }
        Role::Enterprise => {
            let id = enterprise_id
                .as_deref()
                .ok_or_else(|| ApiError::validation("enterprise_id", "an enterprise user needs enterprise_id"))?;
            let n: i64 = tx.fetch_scalar(&Sql::new("SELECT COUNT(*) FROM enterprises WHERE id = $1").bind(id)).await?;
            if n == 0 {
                return Err(ApiError::validation("enterprise_id", format!("unknown enterprise {id}")));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Creates a user (shared by the API and `yingji user add`).
pub async fn create_user(db: &Db, actor: &Actor, req: CreateUser) -> Result<User, ApiError> {
    let username = req.username.trim().to_string();
    check_username(&username)?;
    password::check_strength(&req.password).map_err(|e| ApiError::validation("password", e.to_string()))?;
    let (town_code, enterprise_id) = match req.role {
        Role::Town => (req.town_code, None),
        Role::Enterprise => (None, req.enterprise_id),
        _ => (None, None),
    };
    let pw = req.password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(e.into()))?;
    let mut tx = db.begin().await?;
    check_binding(&mut tx, req.role, &town_code, &enterprise_id).await?;
    let new = NewUser {
        username,
        display_name: req.display_name.trim().to_string(),
        password_hash: hash,
        role: req.role,
        town_code,
        enterprise_id,
    };
    let id = store::insert_user(&mut tx, &new).await?;
    let user = store::get_user_tx(&mut tx, &id).await?.ok_or(ApiError::NotFound)?;
    audit::record(&mut tx, actor, "user", &id, "create", None, Some(&serde_json::to_value(&user).unwrap_or_default()))
        .await?;
    tx.commit().await?;
    Ok(user)
}

/// Changes a user (shared by the API and `yingji user passwd|disable`).
pub async fn patch_user(db: &Db, actor: &Actor, id: &str, req: PatchUser) -> Result<User, ApiError> {
    let before = store::get_user(db, id).await?.ok_or(ApiError::NotFound)?;
    let role = req.role.unwrap_or(before.role);
    let town_code = match role {
        Role::Town => req.town_code.clone().or(before.town_code.clone()),
        _ => None,
    };
    let enterprise_id = match role {
        Role::Enterprise => req.enterprise_id.clone().or(before.enterprise_id.clone()),
        _ => None,
    };
    let password_hash = match req.password {
        Some(pw) => {
            password::check_strength(&pw).map_err(|e| ApiError::validation("password", e.to_string()))?;
            Some(
                tokio::task::spawn_blocking(move || password::hash(&pw))
                    .await
                    .map_err(|e| ApiError::Internal(e.into()))?
                    .map_err(|e| ApiError::Internal(e.into()))?,
            )
        }
        None => None,
    };
    let mut tx = db.begin().await?;
    check_binding(&mut tx, role, &town_code, &enterprise_id).await?;
    let change = UserChange {
        display_name: req.display_name.map(|s| s.trim().to_string()),
        role: Some(role),
        town_code: Some(town_code),
        enterprise_id: Some(enterprise_id),
        disabled: req.disabled,
        password_hash: password_hash.clone(),
    };
    store::update_user(&mut tx, id, &change).await?;
    // A disabled account or a new password ends every open session of that user.
    if req.disabled == Some(true) || password_hash.is_some() {
        store::delete_sessions_of(&mut tx, id).await?;
    }
    let after = store::get_user_tx(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let mut after_json = serde_json::to_value(&after).unwrap_or_default();
    if password_hash.is_some() {
        after_json["password"] = serde_json::Value::String("(changed)".into());
    }
    audit::record(&mut tx, actor, "user", id, "update", Some(&serde_json::to_value(&before).unwrap_or_default()), Some(&after_json))
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// Lists users (admins only).
#[utoipa::path(get, path = "/users", tag = "users", params(Paging),
    responses((status = 200, body = Page<User>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<User>>, ApiError> {
    user.require(Permission::ManageUsers)?;
    let p = paging.checked()?;
    let (items, total) = store::list_users(&state.db, p.limit, p.offset).await?;
    Ok(Json(Page { items, total }))
}

/// Creates a user (admins only).
#[utoipa::path(post, path = "/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn post_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(req): Json<CreateUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    user.require(Permission::ManageUsers)?;
    Ok((StatusCode::CREATED, Json(create_user(&state.db, &user.actor(), req).await?)))
}

/// One user (admins only).
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_user(State(state): State<AppState>, user: CurrentUser, Path(id): Path<String>) -> Result<Json<User>, ApiError> {
    user.require(Permission::ManageUsers)?;
    Ok(Json(store::get_user(&state.db, &id).await?.ok_or(ApiError::NotFound)?))
}

/// Changes a user: name, role and binding, disabled, password (admins only).
#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = String, Path)), request_body = PatchUser,
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(req): Json<PatchUser>,
) -> Result<Json<User>, ApiError> {
    user.require(Permission::ManageUsers)?;
    if id == user.id && (req.disabled == Some(true) || req.role.is_some_and(|r| r != Role::Admin)) {
        return Err(ApiError::Conflict { field: None, message: "an administrator cannot disable or demote their own account".into() });
    }
    Ok(Json(patch_user(&state.db, &user.actor(), &id, req).await?))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_users, post_user))
        .routes(routes!(get_user, update_user))
}
