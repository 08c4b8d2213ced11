//! Users and sessions in the database.

use serde::Serialize;
use utoipa::ToSchema;

use super::{CurrentUser, Role};
use crate::db::{Db, DbError, Sql, Tx};

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub town_code: Option<String>,
    pub enterprise_id: Option<String>,
    /// Name of the town or enterprise the account belongs to.
    pub scope_name: Option<String>,
    pub disabled: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
}

#[derive(Debug, sqlx::FromRow)]
struct UserRow {
    id: String,
    username: String,
    display_name: String,
    role: String,
    town_code: Option<String>,
    enterprise_id: Option<String>,
    scope_name: Option<String>,
    disabled: bool,
    created_at: i64,
}

impl UserRow {
    fn into_user(self) -> User {
        User {
            id: self.id,
            username: self.username,
            display_name: self.display_name,
            role: Role::parse(&self.role).unwrap_or(Role::Leader),
            town_code: self.town_code,
            enterprise_id: self.enterprise_id,
            scope_name: self.scope_name,
            disabled: self.disabled,
            created_at: crate::time::rfc3339(self.created_at),
        }
    }
}

const USER_SELECT: &str = "SELECT u.id, u.username, u.display_name, u.role, u.town_code, u.enterprise_id, \
     COALESCE(e.name, a.name) AS scope_name, u.disabled, u.created_at \
     FROM users u LEFT JOIN admin_units a ON a.code = u.town_code \
     LEFT JOIN enterprises e ON e.id = u.enterprise_id";

/// What the login check needs.
#[derive(Debug, sqlx::FromRow)]
pub struct LoginRow {
    pub id: String,
    pub password_hash: String,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub town_code: Option<String>,
    pub enterprise_id: Option<String>,
}

pub async fn insert_user(tx: &mut Tx, u: &NewUser) -> Result<String, DbError> {
    let id = crate::db::new_id();
    let now = crate::db::now_ms();
    tx.execute(
        &Sql::new(
            "INSERT INTO users (id, username, display_name, password_hash, role, town_code, enterprise_id, \
             disabled, failed_logins, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,0,$9,$9)",
        )
        .bind(&id)
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(&u.password_hash)
        .bind(u.role.key())
        .bind(u.town_code.clone())
        .bind(u.enterprise_id.clone())
        .bind(false)
        .bind(now),
    )
    .await?;
    Ok(id)
}

pub async fn get_user(db: &Db, id: &str) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> = db.fetch_optional(&Sql::new(format!("{USER_SELECT} WHERE u.id = $1")).bind(id)).await?;
    Ok(row.map(UserRow::into_user))
}

pub async fn get_user_tx(tx: &mut Tx, id: &str) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> = tx.fetch_optional(&Sql::new(format!("{USER_SELECT} WHERE u.id = $1")).bind(id)).await?;
    Ok(row.map(UserRow::into_user))
}

pub async fn get_user_by_name(db: &Db, username: &str) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> =
        db.fetch_optional(&Sql::new(format!("{USER_SELECT} WHERE u.username = $1")).bind(username)).await?;
    Ok(row.map(UserRow::into_user))
}

pub async fn list_users(db: &Db, limit: i64, offset: i64) -> Result<(Vec<User>, i64), DbError> {
    let rows: Vec<UserRow> = db
        .fetch_all(&Sql::new(format!("{USER_SELECT} ORDER BY u.username LIMIT $1 OFFSET $2")).bind(limit).bind(offset))
        .await?;
    let total: i64 = db.fetch_scalar(&Sql::new("SELECT COUNT(*) FROM users")).await?;
    Ok((rows.into_iter().map(UserRow::into_user).collect(), total))
}

pub async fn login_row(db: &Db, username: &str) -> Result<Option<LoginRow>, DbError> {
    db.fetch_optional(
        &Sql::new("SELECT id, password_hash, disabled, failed_logins, locked_until FROM users WHERE username = $1")
            .bind(username),
    )
    .await
}

/// Counts a failed login; locks the account once `lock_after` failures in a row are reached.
/// Returns the new failure count and the lock end, if locked.
pub async fn record_failed_login(
    db: &Db,
    user_id: &str,
    now: i64,
    lock_after: i64,
    lock_ms: i64,
) -> Result<(i64, Option<i64>), DbError> {
    let mut tx = db.begin().await?;
    let failed: i64 = tx
        .fetch_scalar(
            &Sql::new("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
                .bind(user_id),
        )
        .await?;
    let locked_until = if failed >= lock_after {
        let until = now + lock_ms;
        tx.execute(&Sql::new("UPDATE users SET locked_until = $1, failed_logins = 0 WHERE id = $2").bind(until).bind(user_id))
            .await?;
        Some(until)
    } else {
        None
    };
    tx.commit().await?;
    Ok((failed, locked_until))
}

pub async fn record_successful_login(db: &Db, user_id: &str) -> Result<(), DbError> {
    db.execute(&Sql::new("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1").bind(user_id))
        .await?;
    Ok(())
}

pub async fn create_session(db: &Db, user_id: &str, token_hash: &str, now: i64, expires_at: i64) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    // Expired sessions are swept on each login, so the table never grows without bound.
    tx.execute(&Sql::new("DELETE FROM sessions WHERE expires_at < $1").bind(now)).await?;
    tx.execute(
        &Sql::new("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(now)
            .bind(expires_at),
    )
    .await?;
    tx.commit().await
}

pub async fn delete_session(db: &Db, token_hash: &str) -> Result<(), DbError> {
    db.execute(&Sql::new("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash)).await?;
    Ok(())
}

pub async fn delete_sessions_of(tx: &mut Tx, user_id: &str) -> Result<(), DbError> {
    tx.execute(&Sql::new("DELETE FROM sessions WHERE user_id = $1").bind(user_id)).await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
struct SessionUserRow {
    id: String,
    username: String,
    display_name: String,
    role: String,
    town_code: Option<String>,
    enterprise_id: Option<String>,
}

pub async fn user_by_token(db: &Db, token_hash: &str, now: i64) -> Result<Option<CurrentUser>, DbError> {
    let row: Option<SessionUserRow> = db
        .fetch_optional(
            &Sql::new(
                "SELECT u.id, u.username, u.display_name, u.role, u.town_code, u.enterprise_id \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = $3",
            )
            .bind(token_hash)
            .bind(now)
            .bind(false),
        )
        .await?;
    Ok(row.and_then(|r| {
        Some(CurrentUser {
            role: Role::parse(&r.role)?,
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            town_code: r.town_code,
            enterprise_id: r.enterprise_id,
            token_hash: token_hash.to_string(),
        })
    }))
}

/// The stored fields of a user that `PATCH /users/{id}` and `yingji user` may change.
#[derive(Debug, Default, Clone)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub town_code: Option<Option<String>>,
    pub enterprise_id: Option<Option<String>>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
}

pub async fn update_user(tx: &mut Tx, id: &str, c: &UserChange) -> Result<u64, DbError> {
    let mut sql = Sql::new("UPDATE users SET updated_at = $1");
    sql.args.push(crate::db::now_ms().into());
    if let Some(v) = &c.display_name {
        let p = sql.arg(v.as_str());
        sql.push(&format!(", display_name = {p}"));
    }
    if let Some(v) = c.role {
        let p = sql.arg(v.key());
        sql.push(&format!(", role = {p}"));
    }
    if let Some(v) = &c.town_code {
        let p = sql.arg(v.clone());
        sql.push(&format!(", town_code = {p}"));
    }
    if let Some(v) = &c.enterprise_id {
        let p = sql.arg(v.clone());
        sql.push(&format!(", enterprise_id = {p}"));
    }
    if let Some(v) = c.disabled {
        let p = sql.arg(v);
        sql.push(&format!(", disabled = {p}"));
    }
    if let Some(v) = &c.password_hash {
        let p = sql.arg(v.as_str());
        sql.push(&format!(", password_hash = {p}, failed_logins = 0, locked_until = NULL"));
    }
    let p = sql.arg(id);
    sql.push(&format!(" WHERE id = {p}"));
    tx.execute(&sql).await
}
