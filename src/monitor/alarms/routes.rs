//! HTTP routes of alarms and of the monitoring overview (which enterprises are online, what
//! their sensors read now).

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::model::{Alarm, AlarmDetail};
use super::rules::{Escalation, Status};
use super::store::{self, Act, ActError, Actor, AlarmFilter, Summary};
use crate::app::AppState;
use crate::auth::{CurrentUser, Permission, Role};
use crate::db::Sql;
use crate::error::{ApiError, ErrorBody};
use crate::input::{non_empty, optional_text, required_text};
use crate::monitor::alarm::{AlarmKind, Colour};
use crate::paging::{Page, Paging};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlarmListParams {
    /// `open` (default: active or not yet disposed), `active` (condition holds) or `all`.
    pub state: Option<String>,
    /// `unacknowledged`, `acknowledged` or `disposed`.
    pub status: Option<String>,
    /// `high` or `low`.
    pub severity: Option<String>,
    /// `HH`, `H`, `L`, `LL`, `offline`, `sensor_fault`, `enterprise_offline`.
    pub kind: Option<String>,
    pub town_code: Option<String>,
    pub enterprise_id: Option<String>,
    /// `enterprise`, `town` or `district`.
    pub escalation: Option<String>,
    /// Raised at or after (RFC 3339 or epoch ms).
    pub from: Option<String>,
    /// Raised before (RFC 3339 or epoch ms).
    pub to: Option<String>,
}

impl AlarmListParams {
    fn filter(&self) -> Result<AlarmFilter, ApiError> {
        let state = match non_empty(&self.state) {
            None => None,
            Some(s @ ("open" | "active" | "all")) => Some(s.to_string()),
            Some(_) => {
                return Err(ApiError::validation(
                    "state",
                    "state must be open, active or all",
                ));
            }
        };
        let status = non_empty(&self.status)
            .map(|s| {
                Status::parse(s).ok_or_else(|| {
                    ApiError::validation(
                        "status",
                        "status must be unacknowledged, acknowledged or disposed",
                    )
                })
            })
            .transpose()?;
        let severity = match non_empty(&self.severity) {
            None => None,
            Some(s @ ("high" | "low")) => Some(s.to_string()),
            Some(_) => {
                return Err(ApiError::validation(
                    "severity",
                    "severity must be high or low",
                ));
            }
        };
        let kind = non_empty(&self.kind)
            .map(|k| {
                AlarmKind::ALL
                    .into_iter()
                    .find(|x| x.code() == k)
                    .ok_or_else(|| ApiError::validation("kind", format!("unknown alarm kind {k}")))
            })
            .transpose()?;
        let escalation = non_empty(&self.escalation)
            .map(|e| {
                Escalation::parse(e).ok_or_else(|| {
                    ApiError::validation(
                        "escalation",
                        "escalation must be enterprise, town or district",
                    )
                })
            })
            .transpose()?;
        let time = |field: &str, v: &Option<String>| -> Result<Option<i64>, ApiError> {
            non_empty(v)
                .map(|s| {
                    crate::time::parse_time(s).ok_or_else(|| {
                        ApiError::validation(
                            field,
                            "expected an RFC 3339 time or epoch milliseconds",
                        )
                    })
                })
                .transpose()
        };
        Ok(AlarmFilter {
            state,
            status,
            severity,
            kind,
            town_code: non_empty(&self.town_code).map(str::to_string),
            enterprise_id: non_empty(&self.enterprise_id).map(str::to_string),
            escalation,
            from_ms: time("from", &self.from)?,
            to_ms: time("to", &self.to)?,
        })
    }
}

/// Alarms in the caller's scope, newest first.
#[utoipa::path(get, path = "/alarms", tag = "monitor", params(AlarmListParams, Paging),
    responses((status = 200, body = Page<Alarm>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_alarms(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<AlarmListParams>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<Alarm>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let (items, total) = store::list(
        &state.db,
        &user.scope(),
        &params.filter()?,
        paging.checked()?,
    )
    .await?;
    Ok(Json(Page { items, total }))
}

/// Counts for the duty officer's dashboard, in the caller's scope.
#[utoipa::path(get, path = "/alarms/summary", tag = "monitor",
    responses((status = 200, body = Summary), (status = 401, body = ErrorBody)))]
async fn alarm_summary(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Summary>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(store::summary(&state.db, &user.scope()).await?))
}

async fn visible(state: &AppState, user: &CurrentUser, id: &str) -> Result<Alarm, ApiError> {
    let alarm = store::get(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    if !user
        .scope()
        .allows(&alarm.town_code, Some(&alarm.enterprise_id))
    {
        return Err(ApiError::NotFound);
    }
    Ok(alarm)
}

/// One alarm with its timeline.
#[utoipa::path(get, path = "/alarms/{id}", tag = "monitor", params(("id" = String, Path)),
    responses((status = 200, body = AlarmDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_alarm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<AlarmDetail>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let alarm = visible(&state, &user, &id).await?;
    let timeline = store::timeline(&state.db, &id).await?;
    Ok(Json(AlarmDetail { alarm, timeline }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcknowledgeInput {
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DisposeInput {
    /// What caused the alarm.
    pub cause: String,
    /// What was done about it.
    pub measures: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignInput {
    pub assignee_id: String,
}

fn actor(user: &CurrentUser) -> Actor {
    Actor {
        id: Some(user.id.clone()),
        name: Some(if user.display_name.is_empty() {
            user.username.clone()
        } else {
            user.display_name.clone()
        }),
        username: user.username.clone(),
    }
}

async fn handle(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    act: Act,
) -> Result<Json<Alarm>, ApiError> {
    user.require(Permission::AlarmHandle)?;
    visible(state, user, id).await?;
    match store::act(&state.db, id, &actor(user), act, crate::db::now_ms()).await {
        Ok(change) => {
            state.monitor.events.wake();
            Ok(Json(change.alarm))
        }
        Err(ActError::NotFound) => Err(ApiError::NotFound),
        Err(ActError::Lifecycle(e)) => Err(ApiError::Conflict {
            field: None,
            message: e.to_string(),
        }),
        Err(ActError::Db(e)) => Err(e.into()),
    }
}

/// Acknowledges an alarm: someone has seen it and takes care of it. Stops its escalation.
#[utoipa::path(post, path = "/alarms/{id}/acknowledge", tag = "monitor", params(("id" = String, Path)),
    request_body = AcknowledgeInput,
    responses((status = 200, body = Alarm), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Already acknowledged or disposed")))]
async fn acknowledge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    body: Option<Json<AcknowledgeInput>>,
) -> Result<Json<Alarm>, ApiError> {
    let note = match body {
        Some(Json(b)) => optional_text("note", &b.note, 2000)?,
        None => None,
    };
    handle(&state, &user, &id, Act::Acknowledge { note }).await
}

/// Records how an alarm was dealt with (cause and measures). An unacknowledged alarm is
/// acknowledged at the same time. The condition may still hold: it clears on its own.
#[utoipa::path(post, path = "/alarms/{id}/dispose", tag = "monitor", params(("id" = String, Path)),
    request_body = DisposeInput,
    responses((status = 200, body = Alarm), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Already disposed"),
        (status = 422, body = ErrorBody)))]
async fn dispose(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(b): Json<DisposeInput>,
) -> Result<Json<Alarm>, ApiError> {
    let act = Act::Dispose {
        cause: required_text("cause", &b.cause, 2000)?,
        measures: required_text("measures", &b.measures, 4000)?,
        note: optional_text("note", &b.note, 4000)?,
    };
    handle(&state, &user, &id, act).await
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Assignee {
    pub id: String,
    pub display_name: String,
    pub role: String,
}

/// Users who may handle the alarm: active accounts allowed to handle alarms whose scope covers it.
async fn assignees_of(state: &AppState, alarm: &Alarm) -> Result<Vec<Assignee>, ApiError> {
    let roles: Vec<&str> = Role::ALL
        .into_iter()
        .filter(|r| r.has(Permission::AlarmHandle))
        .map(Role::key)
        .collect();
    let mut sql = Sql::new(
        "SELECT id, CASE WHEN display_name = '' THEN username ELSE display_name END AS display_name, role \
         FROM users WHERE disabled = $1",
    )
    .bind(false);
    let list: Vec<String> = roles.iter().map(|r| sql.arg(*r)).collect();
    sql.push(&format!(" AND role IN ({})", list.join(", ")));
    let t = sql.arg(alarm.town_code.as_str());
    let e = sql.arg(alarm.enterprise_id.as_str());
    sql.push(&format!(
        " AND ((role <> 'town' AND role <> 'enterprise') OR (role = 'town' AND town_code = {t}) \
         OR (role = 'enterprise' AND enterprise_id = {e})) ORDER BY role, display_name"
    ));
    Ok(state.db.fetch_all(&sql).await?)
}

/// Users the alarm can be assigned to.
#[utoipa::path(get, path = "/alarms/{id}/assignees", tag = "monitor", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Assignee>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn assignees(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<Assignee>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let alarm = visible(&state, &user, &id).await?;
    Ok(Json(assignees_of(&state, &alarm).await?))
}

/// Assigns the alarm to a person who may handle it.
#[utoipa::path(post, path = "/alarms/{id}/assign", tag = "monitor", params(("id" = String, Path)),
    request_body = AssignInput,
    responses((status = 200, body = Alarm), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assign(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(b): Json<AssignInput>,
) -> Result<Json<Alarm>, ApiError> {
    user.require(Permission::AlarmHandle)?;
    let alarm = visible(&state, &user, &id).await?;
    let candidates = assignees_of(&state, &alarm).await?;
    let Some(who) = candidates
        .into_iter()
        .find(|a| a.id == b.assignee_id.trim())
    else {
        return Err(ApiError::validation(
            "assignee_id",
            "no active user with this id may handle this alarm",
        ));
    };
    handle(
        &state,
        &user,
        &id,
        Act::Assign {
            assignee_id: who.id,
            assignee_name: who.display_name,
        },
    )
    .await
}

/// An enterprise's monitoring at a glance (for the one-map and the dashboard).
#[derive(Debug, Serialize, ToSchema)]
pub struct MonitoredEnterprise {
    pub enterprise_id: String,
    pub name: String,
    pub town_code: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub sensors: i64,
    /// False while an enterprise-offline alarm is active.
    pub online: bool,
    /// Arrival of its latest reading since this server started.
    pub last_seen_at: Option<String>,
    pub active_alarms: i64,
    pub unacknowledged: i64,
    #[schema(value_type = Option<String>)]
    pub worst_colour: Option<Colour>,
}

#[derive(Debug, sqlx::FromRow)]
struct MonitoredRow {
    id: String,
    name: String,
    town_code: String,
    lon: Option<f64>,
    lat: Option<f64>,
    sensors: i64,
}

async fn monitored(
    state: &AppState,
    user: &CurrentUser,
    enterprise_id: Option<&str>,
) -> Result<Vec<MonitoredEnterprise>, ApiError> {
    let mut sql = Sql::new(
        "SELECT e.id, e.name, e.town_code, e.lon, e.lat, CAST(COUNT(s.id) AS BIGINT) AS sensors \
         FROM enterprises e JOIN sensors s ON s.enterprise_id = e.id WHERE 1 = 1",
    );
    if let Some(id) = enterprise_id {
        let p = sql.arg(id);
        sql.push(&format!(" AND e.id = {p}"));
    }
    user.scope().filter(&mut sql, "e.town_code", Some("e.id"));
    sql.push(" GROUP BY e.id, e.name, e.town_code, e.lon, e.lat ORDER BY e.name");
    let rows: Vec<MonitoredRow> = state.db.fetch_all(&sql).await?;

    let mut a = Sql::new(
        "SELECT a.enterprise_id, a.kind, a.status, CASE WHEN a.cleared_at IS NULL THEN 1 ELSE 0 END AS active \
         FROM alarms a WHERE (a.cleared_at IS NULL OR a.status = 'unacknowledged')",
    );
    if let Some(id) = enterprise_id {
        let p = a.arg(id);
        a.push(&format!(" AND a.enterprise_id = {p}"));
    }
    user.scope()
        .filter(&mut a, "a.town_code", Some("a.enterprise_id"));
    let alarms: Vec<(String, String, String, i32)> = state.db.fetch_all(&a).await?;
    let mut counts: std::collections::HashMap<String, (i64, i64, Option<Colour>, bool)> =
        Default::default();
    for (ent, kind, status, active) in alarms {
        let c = counts.entry(ent).or_default();
        let kind = store::kind_of(&kind);
        if active == 1 {
            c.0 += 1;
            c.2 = c.2.max(Some(kind.colour()));
            if kind == AlarmKind::EnterpriseOffline {
                c.3 = true;
            }
        }
        if status == "unacknowledged" {
            c.1 += 1;
        }
    }
    let liveness = state.monitor.alarms.enterprise_liveness();
    Ok(rows
        .into_iter()
        .map(|r| {
            let (active, unack, worst, offline) = counts.remove(&r.id).unwrap_or_default();
            let last_seen = liveness.get(&r.id).and_then(|l| l.0);
            MonitoredEnterprise {
                enterprise_id: r.id,
                name: r.name,
                town_code: r.town_code,
                lon: r.lon,
                lat: r.lat,
                sensors: r.sensors,
                online: !offline,
                last_seen_at: last_seen.map(crate::time::rfc3339),
                active_alarms: active,
                unacknowledged: unack,
                worst_colour: worst,
            }
        })
        .collect())
}

/// Enterprises with sensors in the caller's scope: online or not, and their alarms.
#[utoipa::path(get, path = "/monitoring/enterprises", tag = "monitor",
    responses((status = 200, body = Vec<MonitoredEnterprise>), (status = 401, body = ErrorBody)))]
async fn monitored_enterprises(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<MonitoredEnterprise>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(monitored(&state, &user, None).await?))
}

/// A sensor with its latest value and alarm state.
#[derive(Debug, Serialize, ToSchema)]
pub struct SensorNow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub unit_of_measure: String,
    pub unit_id: Option<String>,
    pub equipment_id: Option<String>,
    pub range_min: f64,
    pub range_max: f64,
    pub ll: Option<f64>,
    pub l: Option<f64>,
    pub h: Option<f64>,
    pub hh: Option<f64>,
    pub latest: Option<LatestPoint>,
    /// `normal`, `alarm`, `offline`, `fault` or `no_data`.
    pub state: String,
    /// Active alarm kinds.
    pub active_kinds: Vec<String>,
    #[schema(value_type = Option<String>)]
    pub worst_colour: Option<Colour>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LatestPoint {
    /// Epoch milliseconds, UTC.
    pub t: i64,
    pub value: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnterpriseMonitoring {
    pub enterprise_id: String,
    pub name: String,
    pub town_code: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub online: bool,
    pub last_seen_at: Option<String>,
    pub active_alarms: i64,
    pub unacknowledged: i64,
    #[schema(value_type = Option<String>)]
    pub worst_colour: Option<Colour>,
    pub sensors: Vec<SensorNow>,
}

/// The state of an enterprise's sensors now: latest values, active alarms.
#[utoipa::path(get, path = "/monitoring/enterprises/{id}", tag = "monitor", params(("id" = String, Path)),
    responses((status = 200, body = EnterpriseMonitoring), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn enterprise_monitoring(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<EnterpriseMonitoring>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let enterprise = monitored(&state, &user, Some(&id))
        .await?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)?;
    let filter = crate::monitor::sensors::SensorFilter {
        enterprise: Some(id.clone()),
        ..Default::default()
    };
    let sensors = crate::monitor::sensors::list(&state.db, &user.scope(), &filter, None).await?;
    let mut list = Vec::with_capacity(sensors.items.len());
    for s in sensors.items {
        let num = u32::try_from(s.num).map_err(|e| ApiError::Internal(e.into()))?;
        let latest = state
            .monitor
            .store
            .latest(num)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        let kinds = state.monitor.alarms.active_kinds(num);
        let worst = kinds.iter().map(|k| k.colour()).max();
        let state_key = if kinds.contains(&AlarmKind::Offline) {
            "offline"
        } else if kinds.contains(&AlarmKind::SensorFault) {
            "fault"
        } else if !kinds.is_empty() {
            "alarm"
        } else if latest.is_none() {
            "no_data"
        } else {
            "normal"
        };
        list.push(SensorNow {
            id: s.id,
            code: s.input.code,
            name: s.input.name,
            kind: s.input.kind.key().to_string(),
            unit_of_measure: s.input.unit_of_measure,
            unit_id: s.input.unit_id,
            equipment_id: s.input.equipment_id,
            range_min: s.input.range_min,
            range_max: s.input.range_max,
            ll: s.input.ll,
            l: s.input.l,
            h: s.input.h,
            hh: s.input.hh,
            latest: latest.map(|p| LatestPoint {
                t: p.ts_ms,
                value: p.value,
            }),
            state: state_key.to_string(),
            active_kinds: kinds.iter().map(|k| k.code().to_string()).collect(),
            worst_colour: worst,
        });
    }
    let e = enterprise;
    Ok(Json(EnterpriseMonitoring {
        enterprise_id: e.enterprise_id,
        name: e.name,
        town_code: e.town_code,
        lon: e.lon,
        lat: e.lat,
        online: e.online,
        last_seen_at: e.last_seen_at,
        active_alarms: e.active_alarms,
        unacknowledged: e.unacknowledged,
        worst_colour: e.worst_colour,
        sensors: list,
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_alarms))
        .routes(routes!(alarm_summary))
        .routes(routes!(get_alarm))
        .routes(routes!(acknowledge))
        .routes(routes!(dispose))
        .routes(routes!(assign))
        .routes(routes!(assignees))
        .routes(routes!(monitored_enterprises))
        .routes(routes!(enterprise_monitoring))
}
