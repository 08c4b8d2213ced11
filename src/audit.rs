//! The audit log: who changed what, when, with the record before and after as JSON.
//! Entries are written in the same transaction as the change they describe.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::app::AppState;
use crate::auth::{CurrentUser, Permission};
use crate::db::{Db, DbError, Sql, Tx};
use crate::error::{ApiError, ErrorBody};
use crate::paging::{Page, Paging};

/// Who made a change: a user, or the system (`user_id` empty) such as the demo seeder or the CLI.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<String>,
    pub username: String,
}

impl Actor {
    pub fn system(name: &str) -> Actor {
        Actor {
            user_id: None,
            username: name.to_string(),
        }
    }
}

pub async fn record(
    tx: &mut Tx,
    actor: &Actor,
    entity: &str,
    entity_id: &str,
    action: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<(), DbError> {
    let now = crate::db::now_ms();
    record_at(tx, now, actor, entity, entity_id, action, before, after).await
}

/// [`record`] at a given time: for changes made on the platform's clock (sweeps and the
/// workflows driven by it), whose entries must carry the time of the change.
#[allow(clippy::too_many_arguments)]
pub async fn record_at(
    tx: &mut Tx,
    at: i64,
    actor: &Actor,
    entity: &str,
    entity_id: &str,
    action: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<(), DbError> {
    tx.execute(
        &Sql::new(
            "INSERT INTO audit_log (id, ts, user_id, username, entity, entity_id, action, before, after) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(crate::db::new_id())
        .bind(at)
        .bind(actor.user_id.clone())
        .bind(actor.username.as_str())
        .bind(entity)
        .bind(entity_id)
        .bind(action)
        .bind(before.map(|v| v.to_string()))
        .bind(after.map(|v| v.to_string())),
    )
    .await?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    /// RFC 3339, UTC.
    pub ts: String,
    pub user_id: Option<String>,
    pub username: String,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, sqlx::FromRow)]
struct AuditRow {
    id: String,
    ts: i64,
    user_id: Option<String>,
    username: String,
    entity: String,
    entity_id: String,
    action: String,
    before: Option<String>,
    after: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Entity type, e.g. `enterprise`, `facility`, `user`.
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// Username of the actor.
    pub user: Option<String>,
    pub action: Option<String>,
    /// From this time (RFC 3339 or epoch ms), inclusive.
    pub from: Option<String>,
    /// Until this time (RFC 3339 or epoch ms), exclusive.
    pub to: Option<String>,
}

pub async fn list(db: &Db, f: &AuditFilter, paging: Paging) -> Result<Page<AuditEntry>, ApiError> {
    let mut sql = Sql::new(" FROM audit_log WHERE 1 = 1");
    for (col, val) in [
        ("entity", &f.entity),
        ("entity_id", &f.entity_id),
        ("username", &f.user),
        ("action", &f.action),
    ] {
        if let Some(v) = val.as_deref().filter(|v| !v.is_empty()) {
            let p = sql.arg(v);
            sql.push(&format!(" AND {col} = {p}"));
        }
    }
    for (op, field, val) in [(">=", "from", &f.from), ("<", "to", &f.to)] {
        if let Some(v) = val.as_deref().filter(|v| !v.is_empty()) {
            let ms = crate::time::parse_time(v).ok_or_else(|| {
                ApiError::validation(field, "expected an RFC 3339 time or epoch milliseconds")
            })?;
            let p = sql.arg(ms);
            sql.push(&format!(" AND ts {op} {p}"));
        }
    }
    let mut count = sql.clone();
    count.text = format!("SELECT COUNT(*){}", sql.text);
    let total: i64 = db.fetch_scalar(&count).await?;
    let lim = sql.arg(paging.limit);
    let off = sql.arg(paging.offset);
    sql.text = format!(
        "SELECT id, ts, user_id, username, entity, entity_id, action, before, after{} ORDER BY ts DESC, id DESC LIMIT {lim} OFFSET {off}",
        sql.text
    );
    let rows: Vec<AuditRow> = db.fetch_all(&sql).await?;
    let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    Ok(Page {
        items: rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                ts: crate::time::rfc3339(r.ts),
                user_id: r.user_id,
                username: r.username,
                entity: r.entity,
                entity_id: r.entity_id,
                action: r.action,
                before: parse(r.before),
                after: parse(r.after),
            })
            .collect(),
        total,
    })
}

/// Lists audit entries, newest first. Admins and supervisors only.
#[utoipa::path(get, path = "/audit", tag = "audit",
    params(AuditFilter, Paging),
    responses(
        (status = 200, body = Page<AuditEntry>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_audit(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(filter): Query<AuditFilter>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    user.require(Permission::AuditRead)?;
    Ok(Json(list(&state.db, &filter, paging.checked()?).await?))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}
