//! Sensors: their registry (CRUD under `/sensors`) and per-enterprise ingest tokens.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::alarm::{AlarmConfig, AlarmSettings};
use crate::app::AppState;
use crate::audit;
use crate::auth::{CurrentUser, Permission, Scope};
use crate::db::{Db, DbError, Sql, Tx};
use crate::error::{ApiError, ErrorBody};
use crate::paging::{Page, Paging};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    Level,
    Temperature,
    Pressure,
    Flow,
    /// Flammable gas, %LEL.
    GasLel,
    /// Toxic gas, ppm.
    GasToxic,
    Other,
}

impl SensorKind {
    pub const ALL: [SensorKind; 7] = [
        SensorKind::Level,
        SensorKind::Temperature,
        SensorKind::Pressure,
        SensorKind::Flow,
        SensorKind::GasLel,
        SensorKind::GasToxic,
        SensorKind::Other,
    ];
    pub fn key(self) -> &'static str {
        match self {
            SensorKind::Level => "level",
            SensorKind::Temperature => "temperature",
            SensorKind::Pressure => "pressure",
            SensorKind::Flow => "flow",
            SensorKind::GasLel => "gas_lel",
            SensorKind::GasToxic => "gas_toxic",
            SensorKind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<SensorKind> {
        SensorKind::ALL.into_iter().find(|k| k.key() == s)
    }
    pub fn zh(self) -> &'static str {
        match self {
            SensorKind::Level => "液位",
            SensorKind::Temperature => "温度",
            SensorKind::Pressure => "压力",
            SensorKind::Flow => "流量",
            SensorKind::GasLel => "可燃气体",
            SensorKind::GasToxic => "有毒气体",
            SensorKind::Other => "其他",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            SensorKind::Level => "Level",
            SensorKind::Temperature => "Temperature",
            SensorKind::Pressure => "Pressure",
            SensorKind::Flow => "Flow",
            SensorKind::GasLel => "Flammable gas (%LEL)",
            SensorKind::GasToxic => "Toxic gas (ppm)",
            SensorKind::Other => "Other",
        }
    }
}

/// The editable fields of a sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SensorInput {
    pub enterprise_id: String,
    /// The hazard-source unit it belongs to.
    #[serde(default)]
    pub unit_id: Option<String>,
    /// The piece of equipment (tank, reactor) it is mounted on.
    #[serde(default)]
    pub equipment_id: Option<String>,
    /// Code of the sensor within its enterprise (what gateways send).
    pub code: String,
    #[serde(default)]
    pub name: String,
    pub kind: SensorKind,
    /// Unit of measure, e.g. `m`, `℃`, `MPa`, `%LEL`, `ppm`.
    #[serde(default)]
    pub unit_of_measure: String,
    pub range_min: f64,
    pub range_max: f64,
    #[serde(default)]
    pub ll: Option<f64>,
    #[serde(default)]
    pub l: Option<f64>,
    #[serde(default)]
    pub h: Option<f64>,
    #[serde(default)]
    pub hh: Option<f64>,
    #[serde(default)]
    pub deadband: f64,
    #[serde(default)]
    pub on_delay_s: f64,
    #[serde(default)]
    pub off_delay_s: f64,
    /// No reading within this many seconds → offline alarm (default 300).
    #[serde(default = "default_offline_timeout")]
    pub offline_timeout_s: f64,
}

fn default_offline_timeout() -> f64 {
    300.0
}

impl SensorInput {
    /// The alarm settings, validated by the alarm rules (thresholds in order, range, delays).
    pub fn alarm_config(&self) -> Result<AlarmConfig, ApiError> {
        let settings = AlarmSettings {
            ll: self.ll,
            l: self.l,
            h: self.h,
            hh: self.hh,
            deadband: self.deadband,
            on_delay_s: self.on_delay_s,
            off_delay_s: self.off_delay_s,
            offline_timeout_s: self.offline_timeout_s,
            ..AlarmSettings::new(self.range_min, self.range_max)
        };
        AlarmConfig::new(&settings).map_err(|e| ApiError::validation(e.field(), e.to_string()))
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sensor {
    pub id: String,
    /// Compact key of the sensor in the reading store.
    pub num: i64,
    pub enterprise_name: String,
    pub town_code: String,
    #[serde(flatten)]
    pub input: SensorInput,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, sqlx::FromRow)]
struct SensorRow {
    id: String,
    num: i64,
    enterprise_id: String,
    enterprise_name: String,
    town_code: String,
    unit_id: Option<String>,
    equipment_id: Option<String>,
    code: String,
    name: String,
    kind: String,
    unit_of_measure: String,
    range_min: f64,
    range_max: f64,
    ll: Option<f64>,
    l: Option<f64>,
    h: Option<f64>,
    hh: Option<f64>,
    deadband: f64,
    on_delay_s: f64,
    off_delay_s: f64,
    offline_timeout_s: f64,
    created_at: i64,
    updated_at: i64,
}

impl SensorRow {
    fn into_sensor(self) -> Sensor {
        Sensor {
            id: self.id,
            num: self.num,
            enterprise_name: self.enterprise_name,
            town_code: self.town_code,
            input: SensorInput {
                enterprise_id: self.enterprise_id,
                unit_id: self.unit_id,
                equipment_id: self.equipment_id,
                code: self.code,
                name: self.name,
                kind: SensorKind::parse(&self.kind).unwrap_or(SensorKind::Other),
                unit_of_measure: self.unit_of_measure,
                range_min: self.range_min,
                range_max: self.range_max,
                ll: self.ll,
                l: self.l,
                h: self.h,
                hh: self.hh,
                deadband: self.deadband,
                on_delay_s: self.on_delay_s,
                off_delay_s: self.off_delay_s,
                offline_timeout_s: self.offline_timeout_s,
            },
            created_at: crate::time::rfc3339(self.created_at),
            updated_at: crate::time::rfc3339(self.updated_at),
        }
    }
}

const SENSOR_SELECT: &str = "SELECT s.id, s.num, s.enterprise_id, e.name AS enterprise_name, e.town_code, s.unit_id, \
     s.equipment_id, s.code, s.name, s.kind, s.unit_of_measure, s.range_min, s.range_max, s.ll, s.l, s.h, s.hh, s.deadband, \
     s.on_delay_s, s.off_delay_s, s.offline_timeout_s, s.created_at, s.updated_at \
     FROM sensors s JOIN enterprises e ON e.id = s.enterprise_id";

#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SensorFilter {
    pub enterprise: Option<String>,
    pub unit: Option<String>,
    pub town: Option<String>,
    pub kind: Option<String>,
}

pub async fn list(
    db: &Db,
    scope: &Scope,
    f: &SensorFilter,
    paging: Option<Paging>,
) -> Result<Page<Sensor>, DbError> {
    let mut sql = Sql::new(" WHERE 1 = 1");
    scope.filter(&mut sql, "e.town_code", Some("s.enterprise_id"));
    for (col, v) in [
        ("s.enterprise_id", &f.enterprise),
        ("s.unit_id", &f.unit),
        ("e.town_code", &f.town),
        ("s.kind", &f.kind),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            let p = sql.arg(v);
            sql.push(&format!(" AND {col} = {p}"));
        }
    }
    let (rows, total): (Vec<SensorRow>, i64) = db
        .fetch_page(
            "FROM sensors s JOIN enterprises e ON e.id = s.enterprise_id",
            SENSOR_SELECT,
            sql,
            "ORDER BY s.enterprise_id, s.code",
            paging,
        )
        .await?;
    Ok(Page {
        items: rows.into_iter().map(SensorRow::into_sensor).collect(),
        total,
    })
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Sensor>, DbError> {
    let row: Option<SensorRow> = db
        .fetch_optional(&Sql::new(format!("{SENSOR_SELECT} WHERE s.id = $1")).bind(id))
        .await?;
    Ok(row.map(SensorRow::into_sensor))
}

async fn get_tx(tx: &mut Tx, id: &str) -> Result<Option<Sensor>, DbError> {
    let row: Option<SensorRow> = tx
        .fetch_optional(&Sql::new(format!("{SENSOR_SELECT} WHERE s.id = $1")).bind(id))
        .await?;
    Ok(row.map(SensorRow::into_sensor))
}

/// Every sensor of the district (for the ingest pipeline's in-memory index).
pub async fn all(db: &Db) -> Result<Vec<Sensor>, DbError> {
    let rows: Vec<SensorRow> = db
        .fetch_all(&Sql::new(format!("{SENSOR_SELECT} ORDER BY s.num")))
        .await?;
    Ok(rows.into_iter().map(SensorRow::into_sensor).collect())
}

/// Inserts an already validated sensor, giving it the next free `num`.
pub async fn insert(tx: &mut Tx, id: &str, s: &SensorInput) -> Result<i64, DbError> {
    let num: i64 = tx
        .fetch_scalar(&Sql::new(
            "SELECT CAST(COALESCE(MAX(num), 0) + 1 AS BIGINT) FROM sensors",
        ))
        .await?;
    let now = crate::db::now_ms();
    tx.execute(
        &Sql::new(
            "INSERT INTO sensors (id, num, enterprise_id, unit_id, equipment_id, code, name, kind, unit_of_measure, range_min, \
             range_max, ll, l, h, hh, deadband, on_delay_s, off_delay_s, offline_timeout_s, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$20)",
        )
        .bind(id)
        .bind(num)
        .bind(&s.enterprise_id)
        .bind(s.unit_id.clone())
        .bind(s.equipment_id.clone())
        .bind(&s.code)
        .bind(&s.name)
        .bind(s.kind.key())
        .bind(&s.unit_of_measure)
        .bind(s.range_min)
        .bind(s.range_max)
        .bind(s.ll)
        .bind(s.l)
        .bind(s.h)
        .bind(s.hh)
        .bind(s.deadband)
        .bind(s.on_delay_s)
        .bind(s.off_delay_s)
        .bind(s.offline_timeout_s)
        .bind(now),
    )
    .await?;
    Ok(num)
}

pub async fn update(tx: &mut Tx, id: &str, s: &SensorInput) -> Result<u64, DbError> {
    tx.execute(
        &Sql::new(
            "UPDATE sensors SET unit_id = $1, equipment_id = $2, code = $3, name = $4, kind = $5, unit_of_measure = $6, \
             range_min = $7, range_max = $8, ll = $9, l = $10, h = $11, hh = $12, deadband = $13, on_delay_s = $14, \
             off_delay_s = $15, offline_timeout_s = $16, updated_at = $17 WHERE id = $18",
        )
        .bind(s.unit_id.clone())
        .bind(s.equipment_id.clone())
        .bind(&s.code)
        .bind(&s.name)
        .bind(s.kind.key())
        .bind(&s.unit_of_measure)
        .bind(s.range_min)
        .bind(s.range_max)
        .bind(s.ll)
        .bind(s.l)
        .bind(s.h)
        .bind(s.hh)
        .bind(s.deadband)
        .bind(s.on_delay_s)
        .bind(s.off_delay_s)
        .bind(s.offline_timeout_s)
        .bind(crate::db::now_ms())
        .bind(id),
    )
    .await
}

/// Checks a sensor's own fields and that its unit and equipment belong to its enterprise.
async fn validate(db: &Db, input: &SensorInput) -> Result<SensorInput, ApiError> {
    let mut s = input.clone();
    s.code = s.code.trim().to_string();
    let code_ok = (1..=64).contains(&s.code.chars().count())
        && s.code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if !code_ok {
        return Err(ApiError::validation(
            "code",
            "1–64 characters: letters, digits, - _ . /",
        ));
    }
    s.name = s.name.trim().to_string();
    s.alarm_config()?;
    if let Some(unit) = s.unit_id.as_deref().filter(|u| !u.is_empty()) {
        let n: i64 = db
            .fetch_scalar(
                &Sql::new("SELECT COUNT(*) FROM hazard_units WHERE id = $1 AND enterprise_id = $2")
                    .bind(unit)
                    .bind(&s.enterprise_id),
            )
            .await?;
        if n == 0 {
            return Err(ApiError::validation(
                "unit_id",
                "no such hazard-source unit in this enterprise",
            ));
        }
    } else {
        s.unit_id = None;
    }
    if let Some(eq) = s.equipment_id.as_deref().filter(|u| !u.is_empty()) {
        let unit: Option<(String,)> = db
            .fetch_optional(
                &Sql::new("SELECT q.unit_id FROM hazard_equipment q JOIN hazard_units h ON h.id = q.unit_id WHERE q.id = $1 AND h.enterprise_id = $2")
                    .bind(eq)
                    .bind(&s.enterprise_id),
            )
            .await?;
        match unit {
            None => {
                return Err(ApiError::validation(
                    "equipment_id",
                    "no such equipment in this enterprise",
                ));
            }
            Some((unit_id,)) => {
                if s.unit_id.as_deref().is_some_and(|u| u != unit_id) {
                    return Err(ApiError::validation(
                        "equipment_id",
                        "the equipment belongs to another unit",
                    ));
                }
                s.unit_id = Some(unit_id);
            }
        }
    } else {
        s.equipment_id = None;
    }
    Ok(s)
}

async fn visible(state: &AppState, user: &CurrentUser, id: &str) -> Result<Sensor, ApiError> {
    let s = get(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    if !user
        .scope()
        .allows(&s.town_code, Some(&s.input.enterprise_id))
    {
        return Err(ApiError::NotFound);
    }
    Ok(s)
}

/// Sensors visible to the caller.
#[utoipa::path(get, path = "/sensors", tag = "monitor", params(SensorFilter, Paging),
    responses((status = 200, body = Page<Sensor>), (status = 401, body = ErrorBody)))]
async fn list_sensors(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(filter): Query<SensorFilter>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<Sensor>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(
        list(&state.db, &user.scope(), &filter, Some(paging.checked()?)).await?,
    ))
}

/// One sensor.
#[utoipa::path(get, path = "/sensors/{id}", tag = "monitor", params(("id" = String, Path)),
    responses((status = 200, body = Sensor), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_sensor(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Sensor>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(visible(&state, &user, &id).await?))
}

/// Creates a sensor. Thresholds must be ordered LL < L < H < HH within the measuring range.
#[utoipa::path(post, path = "/sensors", tag = "monitor", request_body = SensorInput,
    responses((status = 201, body = Sensor), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_sensor(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<SensorInput>,
) -> Result<(StatusCode, Json<Sensor>), ApiError> {
    user.require(Permission::RegistryWrite)?;
    crate::registry::routes::check_writable_enterprise(&state, &user, &input.enterprise_id).await?;
    let valid = validate(&state.db, &input).await?;
    let id = crate::db::new_id();
    let mut tx = state.db.begin().await?;
    insert(&mut tx, &id, &valid)
        .await
        .map_err(sensor_conflict)?;
    let after = get_tx(&mut tx, &id).await?.ok_or(ApiError::NotFound)?;
    audit::record(
        &mut tx,
        &user.actor(),
        "sensor",
        &id,
        "create",
        None,
        Some(&json!(after)),
    )
    .await?;
    tx.commit().await?;
    state.monitor.reload_sensors().await?;
    Ok((StatusCode::CREATED, Json(after)))
}

fn sensor_conflict(e: DbError) -> ApiError {
    match e.unique_violation() {
        Some(c) if c.contains("code") => ApiError::Conflict {
            field: Some("code".into()),
            message: "the enterprise already has a sensor with this code".into(),
        },
        _ => e.into(),
    }
}

/// Replaces a sensor's fields (it stays with its enterprise).
#[utoipa::path(put, path = "/sensors/{id}", tag = "monitor", params(("id" = String, Path)), request_body = SensorInput,
    responses((status = 200, body = Sensor), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_sensor(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(input): Json<SensorInput>,
) -> Result<Json<Sensor>, ApiError> {
    user.require(Permission::RegistryWrite)?;
    let before = visible(&state, &user, &id).await?;
    if input.enterprise_id != before.input.enterprise_id {
        return Err(ApiError::validation(
            "enterprise_id",
            "a sensor cannot move to another enterprise",
        ));
    }
    let valid = validate(&state.db, &input).await?;
    let mut tx = state.db.begin().await?;
    update(&mut tx, &id, &valid)
        .await
        .map_err(sensor_conflict)?;
    let after = get_tx(&mut tx, &id).await?.ok_or(ApiError::NotFound)?;
    audit::record(
        &mut tx,
        &user.actor(),
        "sensor",
        &id,
        "update",
        Some(&json!(before)),
        Some(&json!(after)),
    )
    .await?;
    tx.commit().await?;
    state.monitor.reload_sensors().await?;
    Ok(Json(after))
}

/// Deletes a sensor (its stored readings age out with the retention period).
#[utoipa::path(delete, path = "/sensors/{id}", tag = "monitor", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete_sensor(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    user.require(Permission::RegistryWrite)?;
    let before = visible(&state, &user, &id).await?;
    let mut tx = state.db.begin().await?;
    tx.execute(&Sql::new("DELETE FROM sensors WHERE id = $1").bind(id.as_str()))
        .await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "sensor",
        &id,
        "delete",
        Some(&json!(before)),
        None,
    )
    .await?;
    tx.commit().await?;
    state.monitor.reload_sensors().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------- ingest tokens ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestToken {
    /// Shown once, at creation: gateways send it as `Authorization: Bearer …`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// First characters of the token's hash, to tell tokens apart.
    pub fingerprint: String,
    pub enterprise_id: String,
    pub name: String,
    pub created_at: String,
    pub revoked: bool,
}

#[derive(Debug, sqlx::FromRow)]
struct TokenRow {
    token_hash: String,
    enterprise_id: String,
    name: String,
    created_at: i64,
    revoked: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewIngestToken {
    /// A label, e.g. the gateway's name.
    #[serde(default)]
    pub name: String,
}

/// The enterprise an ingest token belongs to, if the token is valid and not revoked.
pub async fn enterprise_of_token(db: &Db, token: &str) -> Result<Option<String>, DbError> {
    let row: Option<(String,)> = db
        .fetch_optional(
            &Sql::new(
                "SELECT enterprise_id FROM ingest_tokens WHERE token_hash = $1 AND revoked = $2",
            )
            .bind(crate::auth::token_hash(token))
            .bind(false),
        )
        .await?;
    Ok(row.map(|r| r.0))
}

pub async fn create_token(
    tx: &mut Tx,
    enterprise_id: &str,
    name: &str,
) -> Result<(String, String), DbError> {
    let token = format!("yjg_{}", crate::auth::random_token());
    let hash = crate::auth::token_hash(&token);
    tx.execute(
        &Sql::new("INSERT INTO ingest_tokens (token_hash, enterprise_id, name, created_at, revoked) VALUES ($1,$2,$3,$4,$5)")
            .bind(hash.as_str())
            .bind(enterprise_id)
            .bind(name)
            .bind(crate::db::now_ms())
            .bind(false),
    )
    .await?;
    Ok((token, hash))
}

/// Issues an ingest token for an enterprise's sensor gateway. The token is shown only now.
#[utoipa::path(post, path = "/enterprises/{id}/ingest-tokens", tag = "monitor", params(("id" = String, Path)),
    request_body = NewIngestToken,
    responses((status = 201, body = IngestToken), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn post_token(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(req): Json<NewIngestToken>,
) -> Result<(StatusCode, Json<IngestToken>), ApiError> {
    user.require(Permission::RegistryWrite)?;
    let e = crate::registry::store::get_enterprise(&state.db, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !user.scope().allows(&e.town_code, Some(&e.id)) {
        return Err(ApiError::NotFound);
    }
    let mut tx = state.db.begin().await?;
    let (token, hash) = create_token(&mut tx, &id, req.name.trim()).await?;
    let fingerprint = hash[..12].to_string();
    audit::record(
        &mut tx,
        &user.actor(),
        "ingest_token",
        &fingerprint,
        "create",
        None,
        Some(&json!({"enterprise_id": id, "name": req.name})),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(IngestToken {
            token: Some(token),
            fingerprint,
            enterprise_id: id,
            name: req.name.trim().to_string(),
            created_at: crate::time::rfc3339(crate::db::now_ms()),
            revoked: false,
        }),
    ))
}

/// The ingest tokens of an enterprise (without the secrets).
#[utoipa::path(get, path = "/enterprises/{id}/ingest-tokens", tag = "monitor", params(("id" = String, Path)),
    responses((status = 200, body = Page<IngestToken>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_tokens(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Page<IngestToken>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let e = crate::registry::store::get_enterprise(&state.db, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !user.scope().allows(&e.town_code, Some(&e.id)) {
        return Err(ApiError::NotFound);
    }
    let rows: Vec<TokenRow> = state
        .db
        .fetch_all(&Sql::new("SELECT token_hash, enterprise_id, name, created_at, revoked FROM ingest_tokens WHERE enterprise_id = $1 ORDER BY created_at").bind(id.as_str()))
        .await?;
    let items: Vec<IngestToken> = rows
        .into_iter()
        .map(|r| IngestToken {
            token: None,
            fingerprint: r.token_hash[..12].to_string(),
            enterprise_id: r.enterprise_id,
            name: r.name,
            created_at: crate::time::rfc3339(r.created_at),
            revoked: r.revoked,
        })
        .collect();
    let total = items.len() as i64;
    Ok(Json(Page { items, total }))
}

/// Revokes an ingest token, named by its fingerprint.
#[utoipa::path(delete, path = "/enterprises/{id}/ingest-tokens/{fingerprint}", tag = "monitor",
    params(("id" = String, Path), ("fingerprint" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, fingerprint)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    user.require(Permission::RegistryWrite)?;
    let e = crate::registry::store::get_enterprise(&state.db, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !user.scope().allows(&e.town_code, Some(&e.id)) {
        return Err(ApiError::NotFound);
    }
    if fingerprint.len() < 12 || !fingerprint.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound);
    }
    let mut tx = state.db.begin().await?;
    let n = tx
        .execute(
            &Sql::new("UPDATE ingest_tokens SET revoked = $1 WHERE enterprise_id = $2 AND token_hash LIKE $3")
                .bind(true)
                .bind(id.as_str())
                .bind(format!("{}%", fingerprint.to_lowercase())),
        )
        .await?;
    if n == 0 {
        return Err(ApiError::NotFound);
    }
    audit::record(
        &mut tx,
        &user.actor(),
        "ingest_token",
        &fingerprint,
        "revoke",
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sensors, create_sensor))
        .routes(routes!(get_sensor, update_sensor, delete_sensor))
        .routes(routes!(list_tokens, post_token))
        .routes(routes!(revoke_token))
}
