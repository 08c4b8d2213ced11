//! Check tasks (排查任务): one per control measure of a risk point that has a check cycle,
//! kept in step with the risk point in the same transaction, and their check records, one per
//! period. Which periods are done, due or missed is computed from the records with the pure
//! [`rules::Cycle::periods`] and [`rules::period_status`]; store functions take `now_ms` so
//! tests can pass the clock.

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::hidden::{self, HdActor, HiddenDanger, NewHiddenDanger};
use super::hidden_routes::HiddenDangerInput;
use super::risk::ControlMeasure;
use super::rules::{self, Cycle, PeriodStatus};
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::{CurrentUser, Permission, Scope};
use crate::db::{Db, DbError, Sql, Tx};
use crate::error::{ApiError, ErrorBody};
use crate::paging::{Page, Paging};

/// How many periods back a task's status looks (`missed` in the list, the periods of the
/// detail): twelve days of a daily task, twelve years of a yearly one.
pub const RECENT_PERIODS: usize = 12;

// ---------------------------------------------------------------------------------------------
// Pure status

/// The recent periods of a task (oldest first) with their status at `now_ms`. A task's first
/// period is the one holding its `starts_at`; a period is done when `recorded` holds its start.
pub fn period_statuses(
    cycle: Cycle,
    starts_at_ms: i64,
    recorded: &HashSet<i64>,
    now_ms: i64,
    limit: usize,
) -> Vec<(i64, i64, PeriodStatus)> {
    cycle
        .periods(starts_at_ms, now_ms, limit)
        .into_iter()
        .map(|(start, end)| {
            (
                start,
                end,
                rules::period_status(end, recorded.contains(&start), now_ms),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Model

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CheckTask {
    pub id: String,
    pub risk_point_id: String,
    pub risk_point_name: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub town_code: String,
    /// Which control measure of the risk point (0-based).
    pub measure_index: i64,
    /// The measure's text: what to check.
    pub content: String,
    pub cycle: Cycle,
    pub assignee_id: Option<String>,
    pub assignee_name: String,
    /// Periods are counted from the one holding this instant.
    pub starts_at: String,
    /// An inactive task (its measure lost its cycle, or it was switched off) has no status.
    pub active: bool,
    /// The current period's status; null when inactive.
    pub status: Option<PeriodStatus>,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    /// Missed periods among the recent ones (see `RECENT_PERIODS`).
    pub missed: i64,
    pub last_checked_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CheckRecord {
    pub id: String,
    pub task_id: String,
    pub period_start: String,
    pub checked_at: String,
    pub checker_name: String,
    /// `ok` or `findings`.
    pub result: String,
    pub findings: String,
    pub hidden_danger_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Period {
    pub start: String,
    pub end: String,
    pub status: PeriodStatus,
    pub record: Option<CheckRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CheckTaskDetail {
    #[serde(flatten)]
    pub task: CheckTask,
    /// The recent periods, newest first.
    pub periods: Vec<Period>,
}

const SELECT: &str = "SELECT t.id, t.risk_point_id, rp.name AS risk_point_name, t.enterprise_id, e.name AS enterprise_name, \
     t.town_code, t.measure_index, t.content, t.cycle, t.assignee_id, t.assignee_name, t.starts_at, t.active, \
     t.created_at, t.updated_at FROM check_tasks t JOIN risk_points rp ON rp.id = t.risk_point_id \
     JOIN enterprises e ON e.id = t.enterprise_id WHERE 1 = 1";

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: String,
    risk_point_id: String,
    risk_point_name: String,
    enterprise_id: String,
    enterprise_name: String,
    town_code: String,
    measure_index: i64,
    content: String,
    cycle: String,
    assignee_id: Option<String>,
    assignee_name: String,
    starts_at: i64,
    active: bool,
    created_at: i64,
    updated_at: i64,
}

impl Row {
    fn cycle(&self) -> Cycle {
        // The CHECK constraint admits only the five cycles.
        Cycle::parse(&self.cycle).unwrap_or(Cycle::Daily)
    }

    fn into_model(self, recorded: &HashSet<i64>, last: Option<i64>, now_ms: i64) -> CheckTask {
        let periods = period_statuses(
            self.cycle(),
            self.starts_at,
            recorded,
            now_ms,
            RECENT_PERIODS,
        );
        let current = periods.last().filter(|_| self.active);
        let t = crate::time::rfc3339;
        CheckTask {
            cycle: self.cycle(),
            status: current.map(|p| p.2),
            period_start: current.map(|p| t(p.0)),
            period_end: current.map(|p| t(p.1)),
            missed: if self.active {
                periods
                    .iter()
                    .filter(|p| p.2 == PeriodStatus::Missed)
                    .count() as i64
            } else {
                0
            },
            last_checked_at: last.map(t),
            id: self.id,
            risk_point_id: self.risk_point_id,
            risk_point_name: self.risk_point_name,
            enterprise_id: self.enterprise_id,
            enterprise_name: self.enterprise_name,
            town_code: self.town_code,
            measure_index: self.measure_index,
            content: self.content,
            assignee_id: self.assignee_id,
            assignee_name: self.assignee_name,
            starts_at: t(self.starts_at),
            active: self.active,
            created_at: t(self.created_at),
            updated_at: t(self.updated_at),
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct RecordRow {
    id: String,
    task_id: String,
    period_start: i64,
    checked_at: i64,
    checker_name: String,
    result: String,
    findings: String,
    hidden_danger_id: Option<String>,
}

impl RecordRow {
    fn into_model(self) -> CheckRecord {
        CheckRecord {
            id: self.id,
            task_id: self.task_id,
            period_start: crate::time::rfc3339(self.period_start),
            checked_at: crate::time::rfc3339(self.checked_at),
            checker_name: self.checker_name,
            result: self.result,
            findings: self.findings,
            hidden_danger_id: self.hidden_danger_id,
        }
    }
}

const RECORD_SELECT: &str = "SELECT r.id, r.task_id, r.period_start, r.checked_at, r.checker_name, r.result, r.findings, \
     r.hidden_danger_id FROM check_records r";

/// The start of the oldest of the `RECENT_PERIODS` periods of `cycle` up to `now_ms`: records
/// before it do not count for any task of that cycle.
pub fn recent_since(cycle: Cycle, now_ms: i64) -> i64 {
    let mut start = cycle.period_of(now_ms).0;
    for _ in 1..RECENT_PERIODS {
        start = cycle.period_of(start - 1).0;
    }
    start
}

// ---------------------------------------------------------------------------------------------
// Store

/// Brings the check tasks of a risk point in step with its control measures: a measure with a
/// cycle has an active task (created, or updated with the measure's text and cycle), any other
/// task is deactivated. A task whose cycle changes or that comes back into use starts counting
/// periods anew, so that it is not blamed for periods it did not have. A task still assigned
/// by default (to the previous responsible person, no user) follows the new responsible person.
#[allow(clippy::too_many_arguments)]
pub async fn sync_tasks(
    tx: &mut Tx,
    risk_point_id: &str,
    enterprise_id: &str,
    town_code: &str,
    measures: &[ControlMeasure],
    responsible_person: &str,
    previous_responsible: Option<&str>,
    now_ms: i64,
) -> Result<(), DbError> {
    #[derive(sqlx::FromRow)]
    struct Existing {
        id: String,
        measure_index: i64,
        cycle: String,
        assignee_id: Option<String>,
        assignee_name: String,
        active: bool,
    }
    let existing: Vec<Existing> = tx
        .fetch_all(
            &Sql::new(
                "SELECT id, measure_index, cycle, assignee_id, assignee_name, active FROM check_tasks \
                 WHERE risk_point_id = $1",
            )
            .bind(risk_point_id),
        )
        .await?;
    let mut seen = HashSet::new();
    for t in &existing {
        seen.insert(t.measure_index);
        let wanted = usize::try_from(t.measure_index)
            .ok()
            .and_then(|i| measures.get(i))
            .and_then(|m| m.check_cycle.map(|c| (m, c)));
        match wanted {
            Some((m, cycle)) => {
                let restart = !t.active || t.cycle != cycle.key();
                let follows_default = t.assignee_id.is_none()
                    && previous_responsible == Some(t.assignee_name.as_str());
                let assignee = if follows_default {
                    responsible_person
                } else {
                    t.assignee_name.as_str()
                };
                tx.execute(
                    &Sql::new(
                        "UPDATE check_tasks SET content = $2, cycle = $3, active = $4, assignee_name = $5, \
                         starts_at = CASE WHEN $6 THEN $7 ELSE starts_at END, enterprise_id = $8, town_code = $9, \
                         updated_at = $7 WHERE id = $1",
                    )
                    .bind(t.id.as_str())
                    .bind(m.text.as_str())
                    .bind(cycle.key())
                    .bind(true)
                    .bind(assignee)
                    .bind(restart)
                    .bind(now_ms)
                    .bind(enterprise_id)
                    .bind(town_code),
                )
                .await?;
            }
            None => {
                tx.execute(
                    &Sql::new(
                        "UPDATE check_tasks SET active = $2, enterprise_id = $3, town_code = $4, \
                         updated_at = CASE WHEN active THEN $5 ELSE updated_at END WHERE id = $1",
                    )
                    .bind(t.id.as_str())
                    .bind(false)
                    .bind(enterprise_id)
                    .bind(town_code)
                    .bind(now_ms),
                )
                .await?;
            }
        }
    }
    for (i, m) in measures.iter().enumerate() {
        let (Some(cycle), Ok(index)) = (m.check_cycle, i64::try_from(i)) else {
            continue;
        };
        if seen.contains(&index) {
            continue;
        }
        tx.execute(
            &Sql::new(
                "INSERT INTO check_tasks (id, risk_point_id, enterprise_id, town_code, measure_index, content, cycle, \
                 assignee_name, starts_at, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $9)",
            )
            .bind(crate::db::new_id())
            .bind(risk_point_id)
            .bind(enterprise_id)
            .bind(town_code)
            .bind(index)
            .bind(m.text.as_str())
            .bind(cycle.key())
            .bind(responsible_person)
            .bind(now_ms)
            .bind(true),
        )
        .await?;
    }
    Ok(())
}

/// Filters of the task list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub enterprise_id: Option<String>,
    pub risk_point_id: Option<String>,
    /// `due` and `done` look at the current period, `missed` at any recent one; only active
    /// tasks have a status.
    pub status: Option<PeriodStatus>,
    pub active: Option<bool>,
}

impl Filter {
    fn sql(&self, scope: &Scope) -> Sql {
        let mut sql = Sql::new("");
        scope.filter(&mut sql, "t.town_code", Some("t.enterprise_id"));
        for (col, v) in [
            ("t.enterprise_id", &self.enterprise_id),
            ("t.risk_point_id", &self.risk_point_id),
        ] {
            if let Some(v) = v {
                let p = sql.arg(v.as_str());
                sql.push(&format!(" AND {col} = {p}"));
            }
        }
        let active = if self.status.is_some() {
            Some(true)
        } else {
            self.active
        };
        if let Some(a) = active {
            let p = sql.arg(a);
            sql.push(&format!(" AND t.active = {p}"));
        }
        sql
    }

    fn matches(&self, t: &CheckTask) -> bool {
        match self.status {
            None => true,
            Some(PeriodStatus::Missed) => t.missed > 0,
            Some(s) => t.status == Some(s),
        }
    }
}

/// The recorded period starts and the latest check of each task matching `filter`, from `since`.
async fn recorded(
    db: &Db,
    filter: &Sql,
    now_ms: i64,
) -> Result<(HashMap<String, HashSet<i64>>, HashMap<String, i64>), DbError> {
    let mut sql = Sql {
        text: format!(
            "SELECT r.task_id, r.period_start, r.checked_at FROM check_records r JOIN check_tasks t ON t.id = r.task_id \
             WHERE 1 = 1{}",
            filter.text
        ),
        args: filter.args.clone(),
    };
    // Only the recent periods of each task's own cycle: a yearly task must not pull in years
    // of daily records.
    let mut cases = String::new();
    for c in Cycle::ALL {
        let k = sql.arg(c.key());
        let v = sql.arg(recent_since(c, now_ms));
        cases.push_str(&format!(" WHEN {k} THEN {v}"));
    }
    sql.push(&format!(
        " AND r.period_start >= CASE t.cycle{cases} ELSE r.period_start END"
    ));
    let rows: Vec<(String, i64, i64)> = db.fetch_all(&sql).await?;
    let mut periods: HashMap<String, HashSet<i64>> = HashMap::new();
    let mut last: HashMap<String, i64> = HashMap::new();
    for (task, start, at) in rows {
        periods.entry(task.clone()).or_default().insert(start);
        let l = last.entry(task).or_insert(at);
        *l = (*l).max(at);
    }
    Ok((periods, last))
}

async fn load(
    db: &Db,
    scope: &Scope,
    filter: &Filter,
    now_ms: i64,
) -> Result<Vec<CheckTask>, DbError> {
    let f = filter.sql(scope);
    let sql = Sql {
        text: format!(
            "{SELECT}{} ORDER BY e.name, rp.name, t.measure_index, t.id",
            f.text
        ),
        args: f.args.clone(),
    };
    let rows: Vec<Row> = db.fetch_all(&sql).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let (periods, last) = recorded(db, &f, now_ms).await?;
    let none = HashSet::new();
    Ok(rows
        .into_iter()
        .map(|r| {
            let rec = periods.get(&r.id).unwrap_or(&none);
            let l = last.get(&r.id).copied();
            r.into_model(rec, l, now_ms)
        })
        .filter(|t| filter.matches(t))
        .collect())
}

/// Tasks in scope matching `filter` at `now_ms`, by enterprise, risk point and measure.
pub async fn list(
    db: &Db,
    scope: &Scope,
    filter: &Filter,
    paging: Paging,
    now_ms: i64,
) -> Result<(Vec<CheckTask>, i64), DbError> {
    let all = load(db, scope, filter, now_ms).await?;
    let total = all.len() as i64;
    let items = all
        .into_iter()
        .skip(usize::try_from(paging.offset).unwrap_or(0))
        .take(usize::try_from(paging.limit).unwrap_or(0))
        .collect();
    Ok((items, total))
}

async fn row(db: &Db, id: &str) -> Result<Option<Row>, DbError> {
    db.fetch_optional(&Sql::new(format!("{SELECT} AND t.id = $1")).bind(id))
        .await
}

/// One task with its status at `now_ms`.
pub async fn get(db: &Db, id: &str, now_ms: i64) -> Result<Option<CheckTask>, DbError> {
    Ok(detail(db, id, now_ms).await?.map(|d| d.task))
}

/// One task with its recent periods (newest first) and their records, at `now_ms`.
pub async fn detail(db: &Db, id: &str, now_ms: i64) -> Result<Option<CheckTaskDetail>, DbError> {
    let Some(r) = row(db, id).await? else {
        return Ok(None);
    };
    let records: Vec<RecordRow> = db
        .fetch_all(
            &Sql::new(format!(
                "{RECORD_SELECT} WHERE r.task_id = $1 AND r.period_start >= $2 ORDER BY r.period_start"
            ))
            .bind(id)
            .bind(recent_since(r.cycle(), now_ms)),
        )
        .await?;
    let last: Option<i64> = db
        .fetch_scalar(
            &Sql::new("SELECT MAX(checked_at) FROM check_records WHERE task_id = $1").bind(id),
        )
        .await?;
    let by_start: HashMap<i64, RecordRow> =
        records.into_iter().map(|x| (x.period_start, x)).collect();
    let recorded: HashSet<i64> = by_start.keys().copied().collect();
    let mut periods: Vec<Period> =
        period_statuses(r.cycle(), r.starts_at, &recorded, now_ms, RECENT_PERIODS)
            .into_iter()
            .map(|(start, end, status)| Period {
                start: crate::time::rfc3339(start),
                end: crate::time::rfc3339(end),
                status,
                record: by_start.get(&start).cloned().map(RecordRow::into_model),
            })
            .collect();
    periods.reverse();
    Ok(Some(CheckTaskDetail {
        task: r.into_model(&recorded, last, now_ms),
        periods,
    }))
}

/// A validated check record.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// `ok` or `findings`.
    pub result: String,
    pub findings: String,
    /// Default: now.
    pub checked_at: Option<i64>,
}

/// Who records: the user for the audit log and the name shown.
#[derive(Debug, Clone)]
pub struct Checker {
    pub actor: Actor,
    pub name: String,
}

impl Checker {
    fn hd_actor(&self) -> HdActor {
        HdActor {
            id: self.actor.user_id.clone(),
            name: self.name.clone(),
            username: self.actor.username.clone(),
        }
    }
}

/// Records the check of the period holding `now_ms` and, with findings, the hidden danger they
/// revealed, in `tx` (the caller commits both or neither). 409 when the task is inactive or the
/// period is already recorded.
pub async fn insert_record(
    tx: &mut Tx,
    task_id: &str,
    rec: &NewRecord,
    hidden_danger: Option<&NewHiddenDanger>,
    checker: &Checker,
    now_ms: i64,
) -> Result<(CheckRecord, Option<HiddenDanger>), ApiError> {
    let task: Row = tx
        .fetch_optional(&Sql::new(format!("{SELECT} AND t.id = $1")).bind(task_id))
        .await?
        .ok_or(ApiError::NotFound)?;
    if !task.active {
        return Err(ApiError::Conflict {
            field: None,
            message: "the check task is inactive".into(),
        });
    }
    let (start, end) = task.cycle().period_of(now_ms);
    let checked_at = rec.checked_at.unwrap_or(now_ms);
    if checked_at < start.max(task.starts_at) || checked_at >= end {
        return Err(ApiError::validation(
            "checked_at",
            "checked_at must lie in the current period of the task",
        ));
    }
    let taken: Option<(String,)> = tx
        .fetch_optional(
            &Sql::new("SELECT id FROM check_records WHERE task_id = $1 AND period_start = $2")
                .bind(task_id)
                .bind(start),
        )
        .await?;
    if let Some((id,)) = taken {
        return Err(ApiError::Conflict {
            field: None,
            message: format!(
                "the check of the period from {} is already recorded ({id})",
                crate::time::shanghai(start)
            ),
        });
    }
    let hd = match hidden_danger {
        Some(new) => Some(hidden::insert(tx, new, &checker.hd_actor(), now_ms).await?),
        None => None,
    };
    let id = crate::db::new_id();
    tx.execute(
        &Sql::new(
            "INSERT INTO check_records (id, task_id, enterprise_id, town_code, period_start, checked_at, checked_by, \
             checker_name, result, findings, hidden_danger_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id.as_str())
        .bind(task_id)
        .bind(task.enterprise_id.as_str())
        .bind(task.town_code.as_str())
        .bind(start)
        .bind(checked_at)
        .bind(checker.actor.user_id.clone())
        .bind(checker.name.as_str())
        .bind(rec.result.as_str())
        .bind(rec.findings.as_str())
        .bind(hd.as_ref().map(|h| h.id.clone())),
    )
    .await?;
    let record: RecordRow = tx
        .fetch_optional(&Sql::new(format!("{RECORD_SELECT} WHERE r.id = $1")).bind(id.as_str()))
        .await?
        .ok_or(ApiError::NotFound)?;
    let record = record.into_model();
    crate::audit::record(
        tx,
        &checker.actor,
        "check_record",
        &id,
        "create",
        None,
        serde_json::to_value(&record).ok().as_ref(),
    )
    .await?;
    Ok((record, hd))
}

// ---------------------------------------------------------------------------------------------
// Routes

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn checker(user: &CurrentUser) -> Checker {
    Checker {
        actor: user.actor(),
        name: if user.display_name.is_empty() {
            user.username.clone()
        } else {
            user.display_name.clone()
        },
    }
}

async fn visible(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    now_ms: i64,
) -> Result<CheckTaskDetail, ApiError> {
    let d = detail(&state.db, id, now_ms)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !user
        .scope()
        .allows(&d.task.town_code, Some(&d.task.enterprise_id))
    {
        return Err(ApiError::NotFound);
    }
    Ok(d)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub enterprise_id: Option<String>,
    pub risk_point_id: Option<String>,
    /// `due` or `done` (the current period), `missed` (any recent period); active tasks only.
    pub status: Option<String>,
    /// Default: both.
    pub active: Option<bool>,
}

/// Check tasks in the caller's scope with the status of their current period.
#[utoipa::path(get, path = "/check-tasks", tag = "dualprev", params(ListParams, Paging),
    responses((status = 200, body = Page<CheckTask>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_tasks(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ListParams>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<CheckTask>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let status = match non_empty(&p.status) {
        None => None,
        Some("due") => Some(PeriodStatus::Due),
        Some("missed") => Some(PeriodStatus::Missed),
        Some("done") => Some(PeriodStatus::Done),
        Some(_) => {
            return Err(ApiError::validation(
                "status",
                "status must be due, missed or done",
            ));
        }
    };
    let filter = Filter {
        enterprise_id: non_empty(&p.enterprise_id).map(str::to_string),
        risk_point_id: non_empty(&p.risk_point_id).map(str::to_string),
        status,
        active: p.active,
    };
    let (items, total) = list(
        &state.db,
        &user.scope(),
        &filter,
        paging.checked()?,
        crate::db::now_ms(),
    )
    .await?;
    Ok(Json(Page { items, total }))
}

/// One check task with its recent periods, newest first, and their status and records.
#[utoipa::path(get, path = "/check-tasks/{id}", tag = "dualprev", params(("id" = String, Path)),
    responses((status = 200, body = CheckTaskDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_task(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<CheckTaskDetail>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(
        visible(&state, &user, &id, crate::db::now_ms()).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TaskUpdate {
    /// A user to assign; the name defaults to theirs.
    pub assignee_id: Option<String>,
    /// A name alone (no user account) when `assignee_id` is not given.
    pub assignee_name: Option<String>,
    pub active: Option<bool>,
}

/// Reassigns a check task or switches it off or on (a task whose measure has no cycle any
/// more cannot be switched on: 409).
#[utoipa::path(put, path = "/check-tasks/{id}", tag = "dualprev", params(("id" = String, Path)), request_body = TaskUpdate,
    responses((status = 200, body = CheckTaskDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_task(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(input): Json<TaskUpdate>,
) -> Result<Json<CheckTaskDetail>, ApiError> {
    user.require(Permission::RiskWrite)?;
    let now = crate::db::now_ms();
    let before = visible(&state, &user, &id, now).await?.task;
    let (assignee_id, assignee_name) = match non_empty(&input.assignee_id) {
        Some(uid) => {
            let u: Option<(String, String)> = state
                .db
                .fetch_optional(
                    &Sql::new("SELECT username, display_name FROM users WHERE id = $1").bind(uid),
                )
                .await?;
            let (username, display) = u.ok_or_else(|| {
                ApiError::validation("assignee_id", format!("unknown user {uid}"))
            })?;
            let name = match non_empty(&input.assignee_name) {
                Some(n) => n.to_string(),
                None if display.is_empty() => username,
                None => display,
            };
            (Some(uid.to_string()), Some(name))
        }
        None => match non_empty(&input.assignee_name) {
            Some(n) => (None, Some(n.to_string())),
            None if input.assignee_name.is_some() => {
                return Err(ApiError::validation(
                    "assignee_name",
                    "assignee_name must not be empty",
                ));
            }
            None => (before.assignee_id.clone(), None),
        },
    };
    if assignee_name
        .as_deref()
        .is_some_and(|n| n.chars().count() > 100)
    {
        return Err(ApiError::validation(
            "assignee_name",
            "assignee_name is longer than 100 characters",
        ));
    }
    let mut tx = state.db.begin().await?;
    let mut restart = false;
    if input.active == Some(true) && !before.active {
        let measures: Option<(String,)> = tx
            .fetch_optional(
                &Sql::new("SELECT control_measures FROM risk_points WHERE id = $1")
                    .bind(before.risk_point_id.as_str()),
            )
            .await?;
        let measures: Vec<ControlMeasure> = measures
            .and_then(|m| serde_json::from_str(&m.0).ok())
            .unwrap_or_default();
        let has_cycle = usize::try_from(before.measure_index)
            .ok()
            .and_then(|i| measures.get(i))
            .is_some_and(|m| m.check_cycle.is_some());
        if !has_cycle {
            return Err(ApiError::Conflict {
                field: Some("active".into()),
                message: "the control measure of this task has no check cycle any more".into(),
            });
        }
        // Back in use: periods count from now, not from when it was switched off.
        restart = true;
    }
    let active = input.active.unwrap_or(before.active);
    tx.execute(
        &Sql::new(
            "UPDATE check_tasks SET assignee_id = $2, assignee_name = COALESCE($3, assignee_name), \
             active = $4, starts_at = CASE WHEN $5 THEN $6 ELSE starts_at END, updated_at = $6 \
             WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(assignee_id)
        .bind(assignee_name)
        .bind(active)
        .bind(restart)
        .bind(now),
    )
    .await?;
    let after: Row = tx
        .fetch_optional(&Sql::new(format!("{SELECT} AND t.id = $1")).bind(id.as_str()))
        .await?
        .ok_or(ApiError::NotFound)?;
    let fields = |id: &Option<String>, name: &str, active: bool, starts_at: i64| {
        json!({"assignee_id": id, "assignee_name": name, "active": active,
               "starts_at": crate::time::rfc3339(starts_at)})
    };
    crate::audit::record(
        &mut tx,
        &user.actor(),
        "check_task",
        &id,
        "update",
        Some(&fields(
            &before.assignee_id,
            &before.assignee_name,
            before.active,
            crate::time::parse_time(&before.starts_at).unwrap_or_default(),
        )),
        Some(&fields(
            &after.assignee_id,
            &after.assignee_name,
            after.active,
            after.starts_at,
        )),
    )
    .await?;
    tx.commit().await?;
    let after = visible(&state, &user, &id, now).await?;
    Ok(Json(after))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RecordInput {
    /// `ok` or `findings`.
    pub result: String,
    /// What was found; required with `findings`.
    pub findings: Option<String>,
    /// When the check was made (within the current period); default: now.
    pub checked_at: Option<String>,
    /// With findings: a hidden danger to report in the same transaction (the fields of
    /// `POST /hidden-dangers`; `source` defaults to `self_check`, the enterprise and the risk
    /// point to the task's).
    #[schema(value_type = Option<Object>)]
    pub hidden_danger: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordResponse {
    #[serde(flatten)]
    pub record: CheckRecord,
    pub hidden_danger: Option<HiddenDanger>,
}

/// A hidden danger field's error, named inside `hidden_danger`.
fn nested(e: ApiError) -> ApiError {
    match e {
        ApiError::Validation { field, message } => ApiError::Validation {
            field: format!("hidden_danger.{field}"),
            message,
        },
        other => other,
    }
}

/// Records the check of the task's current period (409 when it is already recorded); with
/// findings, `hidden_danger` reports what was found in the same transaction.
#[utoipa::path(post, path = "/check-tasks/{id}/records", tag = "dualprev", params(("id" = String, Path)),
    request_body = RecordInput,
    responses((status = 201, body = RecordResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_record(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(input): Json<RecordInput>,
) -> Result<(StatusCode, Json<RecordResponse>), ApiError> {
    user.require(Permission::HiddenDangerReport)?;
    let now = crate::db::now_ms();
    let task = visible(&state, &user, &id, now).await?.task;
    let result = input.result.trim();
    if !matches!(result, "ok" | "findings") {
        return Err(ApiError::validation(
            "result",
            "result must be ok or findings",
        ));
    }
    let findings = non_empty(&input.findings).unwrap_or_default().to_string();
    if findings.chars().count() > 4000 {
        return Err(ApiError::validation(
            "findings",
            "findings is longer than 4000 characters",
        ));
    }
    if result == "findings" && findings.is_empty() {
        return Err(ApiError::validation(
            "findings",
            "findings is required when the result is findings",
        ));
    }
    let checked_at = non_empty(&input.checked_at)
        .map(|s| {
            crate::time::parse_time(s).ok_or_else(|| {
                ApiError::validation("checked_at", "checked_at must be an RFC 3339 time")
            })
        })
        .transpose()?;
    // A few minutes of clock skew between a phone and the server are tolerated.
    let checked_at = checked_at.map(|t| {
        if t > now && t <= now + 5 * 60_000 {
            now
        } else {
            t
        }
    });
    if checked_at.is_some_and(|t| t > now) {
        return Err(ApiError::validation(
            "checked_at",
            "checked_at is in the future",
        ));
    }
    let hidden_danger = match input.hidden_danger.filter(|v| !v.is_null()) {
        None => None,
        Some(_) if result != "findings" => {
            return Err(ApiError::validation(
                "hidden_danger",
                "a hidden danger comes with findings (result findings)",
            ));
        }
        Some(serde_json::Value::Object(mut body)) => {
            body.entry("source").or_insert(json!("self_check"));
            body.entry("risk_point_id")
                .or_insert(json!(task.risk_point_id));
            match body.get("enterprise_id") {
                None | Some(serde_json::Value::Null) => {
                    body.insert("enterprise_id".into(), json!(task.enterprise_id));
                }
                Some(e) if e.as_str() == Some(task.enterprise_id.as_str()) => {}
                Some(_) => {
                    return Err(ApiError::validation(
                        "hidden_danger.enterprise_id",
                        "the hidden danger belongs to the task's enterprise",
                    ));
                }
            }
            let hd: HiddenDangerInput = serde_json::from_value(serde_json::Value::Object(body))
                .map_err(|e| ApiError::validation("hidden_danger", e.to_string()))?;
            Some(
                super::hidden_routes::validate_new(&state, &user, &hd, now)
                    .await
                    .map_err(nested)?,
            )
        }
        Some(_) => {
            return Err(ApiError::validation(
                "hidden_danger",
                "hidden_danger must be an object",
            ));
        }
    };
    let rec = NewRecord {
        result: result.to_string(),
        findings,
        checked_at,
    };
    let mut tx = state.db.begin().await?;
    let (record, hidden_danger) = insert_record(
        &mut tx,
        &id,
        &rec,
        hidden_danger.as_ref(),
        &checker(&user),
        now,
    )
    .await?;
    tx.commit().await?;
    if hidden_danger.is_some() {
        state.monitor.events.wake();
    }
    Ok((
        StatusCode::CREATED,
        Json(RecordResponse {
            record,
            hidden_danger,
        }),
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks))
        .routes(routes!(get_task, update_task))
        .routes(routes!(create_record))
}
