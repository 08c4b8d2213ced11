//! The daily safety commitment (安全承诺) of hazardous-chemical enterprises: filing (one per
//! enterprise and Asia/Shanghai day, with the contradiction check against the enterprise's
//! live alarms and major hidden dangers, in the filing transaction), the list, one record, and
//! the day's board of who filed on time, late, not yet or not at all.

use std::collections::{BTreeMap, HashSet};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::rules::{self, CommitmentStatus, Contradiction};
use crate::app::AppState;
use crate::auth::{CurrentUser, Permission, Scope};
use crate::db::{Db, DbError, Sql, Tx};
use crate::error::{ApiError, ErrorBody};
use crate::input::non_empty;
use crate::paging::{Page, Paging};

/// The states a major hazard source can be declared in.
pub const SOURCE_STATES: [&str; 4] = ["normal", "abnormal", "shutdown", "maintenance"];

/// The most of one special operation an enterprise can declare for a day: a typo guard.
const MAX_OPERATIONS: i64 = 10_000;

/// The declared state of one major hazard source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HazardSourceState {
    pub unit_id: String,
    /// The unit's name when filed.
    #[serde(default)]
    pub name: String,
    /// `normal`, `abnormal`, `shutdown` or `maintenance`.
    pub state: String,
    #[serde(default)]
    pub note: String,
}

/// Counts of the eight special operations of GB 30871-2022 planned for the day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Operations {
    pub hot_work: i64,
    pub confined_space: i64,
    pub blind_plate: i64,
    pub height: i64,
    pub lifting: i64,
    pub temp_power: i64,
    pub excavation: i64,
    pub road_closure: i64,
}

impl Operations {
    fn slot(&mut self, key: &str) -> Option<&mut i64> {
        Some(match key {
            "hot_work" => &mut self.hot_work,
            "confined_space" => &mut self.confined_space,
            "blind_plate" => &mut self.blind_plate,
            "height" => &mut self.height,
            "lifting" => &mut self.lifting,
            "temp_power" => &mut self.temp_power,
            "excavation" => &mut self.excavation,
            "road_closure" => &mut self.road_closure,
            _ => return None,
        })
    }

    pub fn total(&self) -> i64 {
        self.hot_work
            + self.confined_space
            + self.blind_plate
            + self.height
            + self.lifting
            + self.temp_power
            + self.excavation
            + self.road_closure
    }
}

/// A field error: the field to blame (`operations.hot_work`) and why.
pub type FieldError = (String, String);

/// Reads `operations`: an object whose keys are those of `rules::SPECIAL_OPERATIONS`, each a
/// whole number from 0 to 10 000; an absent key counts as 0.
pub fn parse_operations(v: Option<&Value>) -> Result<Operations, FieldError> {
    let mut ops = Operations::default();
    let map = match v {
        None | Some(Value::Null) => return Ok(ops),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err((
                "operations".into(),
                "operations must be an object of counts".into(),
            ));
        }
    };
    for (key, value) in map {
        let field = format!("operations.{key}");
        if !rules::is_key(&rules::SPECIAL_OPERATIONS, key) {
            return Err((
                field,
                format!(
                    "unknown special operation {key}; expected one of {}",
                    rules::SPECIAL_OPERATIONS
                        .iter()
                        .map(|(k, _, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let n = match value {
            Value::Null => 0,
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| (field.clone(), format!("{field} must be a whole number")))?,
            _ => return Err((field.clone(), format!("{field} must be a number"))),
        };
        if !(0..=MAX_OPERATIONS).contains(&n) {
            return Err((
                field.clone(),
                format!("{field} must be between 0 and {MAX_OPERATIONS}"),
            ));
        }
        if let Some(slot) = ops.slot(key) {
            *slot = n;
        }
    }
    Ok(ops)
}

/// The day of a commitment may be today or yesterday (a night shift filing after midnight),
/// never in the future and not older.
pub fn check_day(day: NaiveDate, today: NaiveDate) -> Result<(), String> {
    if day > today {
        return Err(format!("day {day} is in the future"));
    }
    if day < today - Duration::days(1) {
        return Err(format!(
            "day {day} is more than one day in the past; a commitment is filed on the day"
        ));
    }
    Ok(())
}

/// Checks the declared hazard sources against the enterprise's major hazard source units
/// (`(id, name)`): each listed once, each known, each in a known state, none left out.
/// Returns the list with the units' names filled in, in the enterprise's order.
pub fn check_hazard_sources(
    listed: &[HazardSourceState],
    units: &[(String, String)],
) -> Result<Vec<HazardSourceState>, FieldError> {
    let mut seen = HashSet::new();
    let mut by_id = BTreeMap::new();
    for (i, s) in listed.iter().enumerate() {
        let unit_id = s.unit_id.trim();
        if !units.iter().any(|(id, _)| id == unit_id) {
            return Err((
                format!("hazard_sources[{i}].unit_id"),
                format!("{unit_id} is not a major hazard source of this enterprise"),
            ));
        }
        if !seen.insert(unit_id.to_string()) {
            return Err((
                format!("hazard_sources[{i}].unit_id"),
                format!("{unit_id} is listed twice"),
            ));
        }
        let state = s.state.trim();
        if !SOURCE_STATES.contains(&state) {
            return Err((
                format!("hazard_sources[{i}].state"),
                "state must be normal, abnormal, shutdown or maintenance".into(),
            ));
        }
        let note = s.note.trim();
        if note.chars().count() > 500 {
            return Err((
                format!("hazard_sources[{i}].note"),
                "note is longer than 500 characters".into(),
            ));
        }
        by_id.insert(unit_id.to_string(), (state.to_string(), note.to_string()));
    }
    let missing: Vec<&str> = units
        .iter()
        .filter(|(id, _)| !by_id.contains_key(id))
        .map(|(_, name)| name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err((
            "hazard_sources".into(),
            format!(
                "every major hazard source must be declared; missing: {}",
                missing.join(", ")
            ),
        ));
    }
    Ok(units
        .iter()
        .filter_map(|(id, name)| {
            by_id.remove(id).map(|(state, note)| HazardSourceState {
                unit_id: id.clone(),
                name: name.clone(),
                state,
                note,
            })
        })
        .collect())
}

/// The day's deadline as an instant (UTC ms).
pub fn deadline_ms(day: NaiveDate, deadline: chrono::NaiveTime) -> i64 {
    rules::shanghai_ms(day, deadline)
}

/// The board's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BoardTotals {
    /// Hazardous-chemical enterprises on the board.
    pub enterprises: i64,
    pub on_time: i64,
    pub late: i64,
    pub pending: i64,
    pub missing: i64,
    /// Filed commitments flagged as contradictory.
    pub contradictory: i64,
}

impl BoardTotals {
    pub fn add(&mut self, status: CommitmentStatus, contradictory: bool) {
        self.enterprises += 1;
        match status {
            CommitmentStatus::OnTime => self.on_time += 1,
            CommitmentStatus::Late => self.late += 1,
            CommitmentStatus::Pending => self.pending += 1,
            CommitmentStatus::Missing => self.missing += 1,
        }
        if contradictory {
            self.contradictory += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Store

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Commitment {
    pub id: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub town_code: String,
    pub town_name: Option<String>,
    /// The Asia/Shanghai day, YYYY-MM-DD.
    pub day: String,
    pub committed_at: String,
    /// The user who filed it.
    pub committed_by: Option<String>,
    /// The committing person (承诺人).
    pub committer: String,
    pub hazard_sources: Vec<HazardSourceState>,
    pub operations: Operations,
    pub startup_shutdown: bool,
    pub maintenance: bool,
    pub safe_state: bool,
    pub notes: String,
    /// Filed after the day's deadline.
    pub late: bool,
    /// `on_time` or `late`.
    pub status: CommitmentStatus,
    /// A declared safe state contradicted by the enterprise's state when filed.
    pub contradictory: bool,
    pub contradictions: Vec<Contradiction>,
}

const SELECT: &str = "SELECT c.id, c.enterprise_id, e.name AS enterprise_name, c.town_code, u.name AS town_name, c.day, \
     c.committed_at, CASE WHEN cu.display_name = '' THEN cu.username ELSE cu.display_name END AS committed_by, c.committer, c.hazard_sources, c.ops_hot_work, c.ops_confined_space, \
     c.ops_blind_plate, c.ops_height, c.ops_lifting, c.ops_temp_power, c.ops_excavation, c.ops_road_closure, \
     c.startup_shutdown, c.maintenance, c.safe_state, c.notes, c.late, c.contradictions ";

const FROM: &str = "FROM commitments c JOIN enterprises e ON e.id = c.enterprise_id \
     LEFT JOIN admin_units u ON u.code = c.town_code \
     LEFT JOIN users cu ON cu.id = c.committed_by WHERE 1 = 1";

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: String,
    enterprise_id: String,
    enterprise_name: String,
    town_code: String,
    town_name: Option<String>,
    day: String,
    committed_at: i64,
    committed_by: Option<String>,
    committer: String,
    hazard_sources: String,
    ops_hot_work: i64,
    ops_confined_space: i64,
    ops_blind_plate: i64,
    ops_height: i64,
    ops_lifting: i64,
    ops_temp_power: i64,
    ops_excavation: i64,
    ops_road_closure: i64,
    startup_shutdown: bool,
    maintenance: bool,
    safe_state: bool,
    notes: String,
    late: bool,
    contradictions: String,
}

impl Row {
    fn into_model(self) -> Commitment {
        let contradictions: Vec<Contradiction> =
            serde_json::from_str(&self.contradictions).unwrap_or_default();
        Commitment {
            id: self.id,
            enterprise_id: self.enterprise_id,
            enterprise_name: self.enterprise_name,
            town_code: self.town_code,
            town_name: self.town_name,
            day: self.day,
            committed_at: crate::time::rfc3339(self.committed_at),
            committed_by: self.committed_by,
            committer: self.committer,
            hazard_sources: serde_json::from_str(&self.hazard_sources).unwrap_or_default(),
            operations: Operations {
                hot_work: self.ops_hot_work,
                confined_space: self.ops_confined_space,
                blind_plate: self.ops_blind_plate,
                height: self.ops_height,
                lifting: self.ops_lifting,
                temp_power: self.ops_temp_power,
                excavation: self.ops_excavation,
                road_closure: self.ops_road_closure,
            },
            startup_shutdown: self.startup_shutdown,
            maintenance: self.maintenance,
            safe_state: self.safe_state,
            notes: self.notes,
            late: self.late,
            status: if self.late {
                CommitmentStatus::Late
            } else {
                CommitmentStatus::OnTime
            },
            contradictory: !contradictions.is_empty(),
            contradictions,
        }
    }
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Commitment>, DbError> {
    Ok(db
        .fetch_optional::<Row>(&Sql::new(format!("{SELECT}{FROM} AND c.id = $1")).bind(id))
        .await?
        .map(Row::into_model))
}

async fn get_tx(tx: &mut Tx, id: &str) -> Result<Option<Commitment>, DbError> {
    Ok(tx
        .fetch_optional::<Row>(&Sql::new(format!("{SELECT}{FROM} AND c.id = $1")).bind(id))
        .await?
        .map(Row::into_model))
}

/// The enterprise's major hazard source units, `(id, name)` by name.
pub async fn major_units(db: &Db, enterprise_id: &str) -> Result<Vec<(String, String)>, DbError> {
    db.fetch_all(
        &Sql::new(
            "SELECT id, name FROM hazard_units WHERE enterprise_id = $1 AND is_major = $2 ORDER BY name, id",
        )
        .bind(enterprise_id)
        .bind(true),
    )
    .await
}

/// A validated commitment, ready to store.
#[derive(Debug, Clone)]
pub struct NewCommitment {
    pub enterprise_id: String,
    pub town_code: String,
    pub day: NaiveDate,
    pub committer: String,
    pub hazard_sources: Vec<HazardSourceState>,
    pub operations: Operations,
    pub startup_shutdown: bool,
    pub maintenance: bool,
    pub safe_state: bool,
    pub notes: String,
}

/// Stores a commitment with its lateness and contradictions, its audit entry and its live
/// event. The counts behind the contradictions are read in the same transaction, so they are
/// the ones the commitment was filed against.
pub async fn insert(
    tx: &mut Tx,
    new: &NewCommitment,
    user: &CurrentUser,
    deadline: chrono::NaiveTime,
    now_ms: i64,
) -> Result<Commitment, ApiError> {
    let day = new.day.format("%Y-%m-%d").to_string();
    let existing: Option<(String,)> = tx
        .fetch_optional(
            &Sql::new("SELECT id FROM commitments WHERE enterprise_id = $1 AND day = $2")
                .bind(new.enterprise_id.as_str())
                .bind(day.as_str()),
        )
        .await?;
    if let Some((id,)) = existing {
        return Err(already_filed(&day, Some(&id)));
    }
    let alarms: i64 = tx
        .fetch_scalar(
            &Sql::new(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM alarms \
                 WHERE enterprise_id = $1 AND status = 'unacknowledged' AND severity = 'high'",
            )
            .bind(new.enterprise_id.as_str()),
        )
        .await?;
    let majors = super::hidden::open_major_count(tx, &new.enterprise_id).await?;
    let contradictions = rules::contradictions(new.safe_state, alarms, majors);
    let late = now_ms > deadline_ms(new.day, deadline);
    let id = crate::db::new_id();
    let o = &new.operations;
    let inserted = tx
        .execute(
            &Sql::new(
                "INSERT INTO commitments (id, enterprise_id, town_code, day, committed_at, committed_by, committer, \
                 hazard_sources, ops_hot_work, ops_confined_space, ops_blind_plate, ops_height, ops_lifting, \
                 ops_temp_power, ops_excavation, ops_road_closure, startup_shutdown, maintenance, notes, safe_state, \
                 late, contradictions) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
            )
            .bind(id.as_str())
            .bind(new.enterprise_id.as_str())
            .bind(new.town_code.as_str())
            .bind(day.as_str())
            .bind(now_ms)
            .bind(user.id.as_str())
            .bind(new.committer.as_str())
            .bind(serde_json::to_string(&new.hazard_sources).unwrap_or_else(|_| "[]".into()))
            .bind(o.hot_work)
            .bind(o.confined_space)
            .bind(o.blind_plate)
            .bind(o.height)
            .bind(o.lifting)
            .bind(o.temp_power)
            .bind(o.excavation)
            .bind(o.road_closure)
            .bind(new.startup_shutdown)
            .bind(new.maintenance)
            .bind(new.notes.as_str())
            .bind(new.safe_state)
            .bind(late)
            .bind(serde_json::to_string(&contradictions).unwrap_or_else(|_| "[]".into())),
        )
        .await;
    match inserted {
        Ok(_) => {}
        // Two filings racing past the check above: the second is the same conflict.
        Err(e) if e.unique_violation().is_some() => return Err(already_filed(&day, None)),
        Err(e) => return Err(e.into()),
    }
    let c = get_tx(tx, &id).await?.ok_or(ApiError::NotFound)?;
    let after = serde_json::to_value(&c).ok();
    crate::audit::record(
        tx,
        &user.actor(),
        "commitment",
        &id,
        "file",
        None,
        after.as_ref(),
    )
    .await?;
    crate::events::publish(
        tx,
        now_ms,
        "commitment",
        Some(&c.town_code),
        Some(&c.enterprise_id),
        &json!({"action": "filed", "commitment": c}),
    )
    .await?;
    Ok(c)
}

fn already_filed(day: &str, id: Option<&str>) -> ApiError {
    ApiError::Conflict {
        field: Some("day".into()),
        message: match id {
            Some(id) => format!("the commitment of {day} is already filed ({id})"),
            None => format!("the commitment of {day} is already filed"),
        },
    }
}

/// Filters of the commitment list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub enterprise_id: Option<String>,
    pub town_code: Option<String>,
    /// First day, YYYY-MM-DD (inclusive).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (inclusive).
    pub to: Option<String>,
}

fn parse_day(field: &str, v: &str) -> Result<NaiveDate, ApiError> {
    super::rules::parse_day(v)
        .ok_or_else(|| ApiError::validation(field, format!("{field} must be a date YYYY-MM-DD")))
}

pub async fn list(
    db: &Db,
    scope: &Scope,
    p: &ListParams,
    paging: Paging,
) -> Result<(Vec<Commitment>, i64), ApiError> {
    let mut filter = Sql::new("");
    scope.filter(&mut filter, "c.town_code", Some("c.enterprise_id"));
    if let Some(e) = non_empty(&p.enterprise_id) {
        let a = filter.arg(e);
        filter.push(&format!(" AND c.enterprise_id = {a}"));
    }
    if let Some(t) = non_empty(&p.town_code) {
        let a = filter.arg(t);
        filter.push(&format!(" AND c.town_code = {a}"));
    }
    // Days are stored as YYYY-MM-DD, so text order is calendar order.
    if let Some(f) = non_empty(&p.from) {
        let d = parse_day("from", f)?.format("%Y-%m-%d").to_string();
        let a = filter.arg(d);
        filter.push(&format!(" AND c.day >= {a}"));
    }
    if let Some(t) = non_empty(&p.to) {
        let d = parse_day("to", t)?.format("%Y-%m-%d").to_string();
        let a = filter.arg(d);
        filter.push(&format!(" AND c.day <= {a}"));
    }
    let (rows, total) = db
        .fetch_page::<Row>(
            FROM,
            &format!("{SELECT}{FROM}"),
            filter,
            "ORDER BY c.day DESC, e.name, c.id",
            Some(paging),
        )
        .await?;
    Ok((rows.into_iter().map(Row::into_model).collect(), total))
}

/// One enterprise on the day's board.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BoardRow {
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub town_code: String,
    pub town_name: Option<String>,
    /// `on_time`, `late`, `pending` (not filed, deadline ahead) or `missing` (not filed,
    /// deadline passed).
    pub status: CommitmentStatus,
    pub commitment_id: Option<String>,
    pub committed_at: Option<String>,
    pub committer: Option<String>,
    pub safe_state: Option<bool>,
    pub contradictory: bool,
    pub contradictions: Vec<Contradiction>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Board {
    pub day: String,
    /// The day's deadline.
    pub deadline: String,
    pub totals: BoardTotals,
    pub items: Vec<BoardRow>,
}

#[derive(Debug, sqlx::FromRow)]
struct BoardDbRow {
    enterprise_id: String,
    enterprise_name: String,
    town_code: String,
    town_name: Option<String>,
    commitment_id: Option<String>,
    committed_at: Option<i64>,
    committer: Option<String>,
    safe_state: Option<bool>,
    contradictions: Option<String>,
}

/// Every hazardous-chemical enterprise in scope with its commitment of `day`, if any.
pub async fn board(
    db: &Db,
    scope: &Scope,
    day: NaiveDate,
    town_code: Option<&str>,
    deadline: chrono::NaiveTime,
    now_ms: i64,
) -> Result<Board, DbError> {
    let day_s = day.format("%Y-%m-%d").to_string();
    let mut sql = Sql::new(
        "SELECT e.id AS enterprise_id, e.name AS enterprise_name, e.town_code, u.name AS town_name, \
         c.id AS commitment_id, c.committed_at, c.committer, c.safe_state, c.contradictions \
         FROM enterprises e LEFT JOIN admin_units u ON u.code = e.town_code \
         LEFT JOIN commitments c ON c.enterprise_id = e.id AND c.day = $1 \
         WHERE e.flags LIKE '%,hazchem_%'",
    )
    .bind(day_s.as_str());
    scope.filter(&mut sql, "e.town_code", Some("e.id"));
    if let Some(t) = town_code {
        let a = sql.arg(t);
        sql.push(&format!(" AND e.town_code = {a}"));
    }
    sql.push(" ORDER BY e.town_code, e.name, e.id");
    let rows: Vec<BoardDbRow> = db.fetch_all(&sql).await?;
    let deadline = deadline_ms(day, deadline);
    let mut totals = BoardTotals::default();
    let items = rows
        .into_iter()
        .map(|r| {
            let status = rules::commitment_status(r.committed_at, deadline, now_ms);
            let contradictions: Vec<Contradiction> = r
                .contradictions
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok())
                .unwrap_or_default();
            totals.add(status, !contradictions.is_empty());
            BoardRow {
                enterprise_id: r.enterprise_id,
                enterprise_name: r.enterprise_name,
                town_code: r.town_code,
                town_name: r.town_name,
                status,
                commitment_id: r.commitment_id,
                committed_at: r.committed_at.map(crate::time::rfc3339),
                committer: r.committer,
                safe_state: r.safe_state,
                contradictory: !contradictions.is_empty(),
                contradictions,
            }
        })
        .collect();
    Ok(Board {
        day: day_s,
        deadline: crate::time::rfc3339(deadline),
        totals,
        items,
    })
}

// ---------------------------------------------------------------------------------------------
// Routes

/// A daily safety commitment as filed.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CommitmentInput {
    /// Required for an administrator; an enterprise user files for its own enterprise.
    pub enterprise_id: Option<String>,
    /// The Asia/Shanghai day, YYYY-MM-DD: today (default) or yesterday.
    pub day: Option<String>,
    /// The state of every major hazard source of the enterprise.
    #[serde(default)]
    pub hazard_sources: Vec<HazardSourceState>,
    /// Counts of the special operations planned for the day, e.g. `{"hot_work": 2}`.
    #[schema(value_type = Object)]
    pub operations: Option<Value>,
    /// In start-up or shut-down (开停车).
    #[serde(default)]
    pub startup_shutdown: bool,
    /// In maintenance (检维修).
    #[serde(default)]
    pub maintenance: bool,
    /// Everything is in a safe state.
    pub safe_state: Option<bool>,
    /// The committing person (承诺人).
    pub committer: Option<String>,
    pub notes: Option<String>,
}

fn today() -> NaiveDate {
    rules::shanghai_day(crate::db::now_ms())
}

/// Files the day's safety commitment of an enterprise with a hazardous-chemical flag.
#[utoipa::path(post, path = "/commitments", tag = "dualprev", request_body = CommitmentInput,
    responses((status = 201, body = Commitment), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Already filed for the day"), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<CommitmentInput>,
) -> Result<(StatusCode, Json<Commitment>), ApiError> {
    user.require(Permission::CommitmentFile)?;
    let now = crate::db::now_ms();
    let enterprise_id = match (non_empty(&input.enterprise_id), user.scope()) {
        (Some(e), _) => e.to_string(),
        (None, Scope::Enterprise(own)) => own,
        (None, _) => {
            return Err(ApiError::validation(
                "enterprise_id",
                "enterprise_id is required",
            ));
        }
    };
    let enterprise = crate::registry::store::get_enterprise(&state.db, &enterprise_id)
        .await?
        .filter(|e| user.scope().allows(&e.town_code, Some(&e.id)))
        .ok_or_else(|| {
            ApiError::validation(
                "enterprise_id",
                format!("unknown enterprise {enterprise_id}"),
            )
        })?;
    if !enterprise.flags.iter().any(|f| f.is_hazchem()) {
        return Err(ApiError::validation(
            "enterprise_id",
            "only an enterprise with a hazardous-chemical flag files a daily safety commitment",
        ));
    }
    let today = rules::shanghai_day(now);
    let day = match non_empty(&input.day) {
        None => today,
        Some(d) => parse_day("day", d)?,
    };
    check_day(day, today).map_err(|m| ApiError::validation("day", m))?;
    let units = major_units(&state.db, &enterprise.id).await?;
    let hazard_sources = check_hazard_sources(&input.hazard_sources, &units)
        .map_err(|(f, m)| ApiError::validation(f, m))?;
    let operations =
        parse_operations(input.operations.as_ref()).map_err(|(f, m)| ApiError::validation(f, m))?;
    let safe_state = input.safe_state.ok_or_else(|| {
        ApiError::validation("safe_state", "safe_state is required (true or false)")
    })?;
    let committer = non_empty(&input.committer)
        .ok_or_else(|| ApiError::validation("committer", "committer is required"))?
        .to_string();
    if committer.chars().count() > 100 {
        return Err(ApiError::validation(
            "committer",
            "committer is longer than 100 characters",
        ));
    }
    let notes = non_empty(&input.notes).unwrap_or_default().to_string();
    if notes.chars().count() > 4000 {
        return Err(ApiError::validation(
            "notes",
            "notes is longer than 4000 characters",
        ));
    }
    let new = NewCommitment {
        enterprise_id: enterprise.id,
        town_code: enterprise.town_code,
        day,
        committer,
        hazard_sources,
        operations,
        startup_shutdown: input.startup_shutdown,
        maintenance: input.maintenance,
        safe_state,
        notes,
    };
    let mut tx = state.db.begin().await?;
    let c = insert(
        &mut tx,
        &new,
        &user,
        state.settings.dualprev.commitment_deadline_time(),
        now,
    )
    .await?;
    tx.commit().await?;
    state.monitor.events.wake();
    Ok((StatusCode::CREATED, Json(c)))
}

/// Commitments in the caller's scope, the newest day first.
#[utoipa::path(get, path = "/commitments", tag = "dualprev", params(ListParams, Paging),
    responses((status = 200, body = Page<Commitment>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_route(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<Commitment>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let (items, total) = list(&state.db, &user.scope(), &params, paging.checked()?).await?;
    Ok(Json(Page { items, total }))
}

/// One commitment.
#[utoipa::path(get, path = "/commitments/{id}", tag = "dualprev", params(("id" = String, Path)),
    responses((status = 200, body = Commitment), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Commitment>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let c = get(&state.db, &id)
        .await?
        .filter(|c| user.scope().allows(&c.town_code, Some(&c.enterprise_id)))
        .ok_or(ApiError::NotFound)?;
    Ok(Json(c))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardParams {
    /// YYYY-MM-DD (Asia/Shanghai); default today.
    pub day: Option<String>,
    pub town_code: Option<String>,
    /// Only rows of this status (`on_time`, `late`, `pending`, `missing`); totals count all.
    pub status: Option<String>,
}

/// The day's commitment board: every hazardous-chemical enterprise in scope with its status
/// and contradictions, and the totals.
#[utoipa::path(get, path = "/commitments/board", tag = "dualprev", params(BoardParams),
    responses((status = 200, body = Board), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn board_route(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<BoardParams>,
) -> Result<Json<Board>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let day = match non_empty(&p.day) {
        None => today(),
        Some(d) => parse_day("day", d)?,
    };
    let status = non_empty(&p.status)
        .map(|s| {
            serde_json::from_value::<CommitmentStatus>(Value::String(s.to_string())).map_err(|_| {
                ApiError::validation("status", "status must be on_time, late, pending or missing")
            })
        })
        .transpose()?;
    let mut b = board(
        &state.db,
        &user.scope(),
        day,
        non_empty(&p.town_code),
        state.settings.dualprev.commitment_deadline_time(),
        crate::db::now_ms(),
    )
    .await?;
    if let Some(s) = status {
        b.items.retain(|r| r.status == s);
    }
    Ok(Json(b))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, create))
        .routes(routes!(board_route))
        .routes(routes!(get_one))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn operations_default_to_zero_and_take_the_eight_keys() {
        assert_eq!(parse_operations(None), Ok(Operations::default()));
        let ops = parse_operations(Some(
            &json!({"hot_work": 2, "road_closure": 1, "height": null}),
        ))
        .expect("ops");
        assert_eq!((ops.hot_work, ops.road_closure, ops.height), (2, 1, 0));
        assert_eq!(ops.total(), 3);
        let all: serde_json::Map<String, Value> = rules::SPECIAL_OPERATIONS
            .iter()
            .map(|(k, _, _)| (k.to_string(), json!(1)))
            .collect();
        assert_eq!(
            parse_operations(Some(&Value::Object(all)))
                .expect("all")
                .total(),
            8
        );
    }

    #[test]
    fn a_negative_fractional_unknown_or_absurd_count_names_its_key() {
        let field = |v: Value| parse_operations(Some(&v)).expect_err("refused").0;
        assert_eq!(field(json!({"hot_work": -1})), "operations.hot_work");
        assert_eq!(field(json!({"lifting": 1.5})), "operations.lifting");
        assert_eq!(field(json!({"lifting": "2"})), "operations.lifting");
        assert_eq!(field(json!({"welding": 1})), "operations.welding");
        assert_eq!(field(json!({"height": 10_001})), "operations.height");
        assert_eq!(field(json!([1, 2])), "operations");
    }

    #[test]
    fn the_day_is_today_or_yesterday() {
        let today = d("2026-03-01");
        assert!(check_day(today, today).is_ok());
        assert!(check_day(d("2026-02-28"), today).is_ok());
        assert!(check_day(d("2026-02-27"), today).is_err());
        assert!(check_day(d("2026-03-02"), today).is_err());
    }

    fn units() -> Vec<(String, String)> {
        vec![("u1".into(), "罐区".into()), ("u2".into(), "仓库".into())]
    }

    fn s(unit: &str, state: &str) -> HazardSourceState {
        HazardSourceState {
            unit_id: unit.into(),
            name: String::new(),
            state: state.into(),
            note: String::new(),
        }
    }

    #[test]
    fn every_major_hazard_source_is_declared_once_in_a_known_state() {
        let ok =
            check_hazard_sources(&[s("u2", "shutdown"), s("u1", "normal")], &units()).expect("ok");
        assert_eq!(
            ok.iter()
                .map(|x| (x.unit_id.as_str(), x.name.as_str(), x.state.as_str()))
                .collect::<Vec<_>>(),
            vec![("u1", "罐区", "normal"), ("u2", "仓库", "shutdown")]
        );
        let err = |l: &[HazardSourceState]| check_hazard_sources(l, &units()).expect_err("no").0;
        assert_eq!(err(&[s("u1", "normal")]), "hazard_sources");
        assert_eq!(
            err(&[s("u1", "normal"), s("u3", "normal")]),
            "hazard_sources[1].unit_id"
        );
        assert_eq!(
            err(&[s("u1", "normal"), s("u1", "normal")]),
            "hazard_sources[1].unit_id"
        );
        assert_eq!(
            err(&[s("u1", "fine"), s("u2", "normal")]),
            "hazard_sources[0].state"
        );
        assert!(check_hazard_sources(&[], &[]).expect("none").is_empty());
    }

    #[test]
    fn board_totals_count_each_status_and_the_contradictory() {
        let mut t = BoardTotals::default();
        t.add(CommitmentStatus::OnTime, true);
        t.add(CommitmentStatus::Late, false);
        t.add(CommitmentStatus::Missing, false);
        t.add(CommitmentStatus::Pending, false);
        t.add(CommitmentStatus::OnTime, false);
        assert_eq!(
            t,
            BoardTotals {
                enterprises: 5,
                on_time: 2,
                late: 1,
                pending: 1,
                missing: 1,
                contradictory: 1
            }
        );
    }

    #[test]
    fn the_deadline_is_a_shanghai_wall_clock_time() {
        let ms = deadline_ms(
            d("2026-03-01"),
            chrono::NaiveTime::from_hms_opt(10, 0, 0).expect("time"),
        );
        assert_eq!(crate::time::rfc3339(ms), "2026-03-01T02:00:00.000Z");
    }
}
