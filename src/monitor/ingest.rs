//! Ingest of sensor readings: the in-memory sensor index, `POST /ingest/readings` for
//! gateways (per-enterprise bearer tokens) and the history of one sensor.
//!
//! A batch is validated item by item against the index, the valid readings are stored
//! durably in the reading store, and only then is the answer sent: an acknowledged reading
//! survives a killed process.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use std::time::Duration;

use super::alarm::{AlarmConfig, AlarmSettings, Quality};
use super::alarms::engine::{AlarmEngine, SensorSpec, Table, TableBuilder};
use super::alarms::rules::EscalationPolicy;
use super::alarms::store as alarm_store;
use super::readings::{Reading, ReadingStore, ReadingsError, StoreConfig};
use super::sensors;
use crate::app::AppState;
use crate::auth::{CurrentUser, Permission};
use crate::db::{Db, DbError, Sql};
use crate::error::{ApiError, ErrorBody};
use crate::events::EventBus;

/// Ingest limits. A batch over `max_batch` readings is refused whole (413).
#[derive(Debug, Clone)]
pub struct IngestLimits {
    pub max_batch: usize,
    /// Readings stamped further than this ahead of the server's clock are refused.
    pub max_clock_ahead_ms: i64,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            max_batch: 10_000,
            max_clock_ahead_ms: 300_000,
        }
    }
}

/// Sensors read per query when the sensor table is rebuilt.
const RELOAD_PAGE: i64 = 50_000;

/// The columns of a sensor the ingest path and the alarm engine need.
#[derive(Debug, sqlx::FromRow)]
struct SpecRow {
    id: String,
    num: i64,
    enterprise_id: String,
    code: String,
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
}

impl SpecRow {
    fn into_spec(self) -> Option<SensorSpec> {
        let num = u32::try_from(self.num).ok()?;
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
        match AlarmConfig::new(&settings) {
            Ok(config) => Some(SensorSpec {
                num,
                enterprise_id: self.enterprise_id,
                code: self.code,
                config,
            }),
            // Settings are validated on the way in; a row that fails now was written by hand.
            // It cannot be watched, and its readings are refused as from an unknown sensor.
            Err(e) => {
                tracing::warn!(sensor = %self.id, error = %e, "sensor has invalid alarm settings; not watched");
                None
            }
        }
    }
}

/// Alarm settings of the monitoring service.
#[derive(Debug, Clone)]
pub struct AlarmOptions {
    pub escalation: EscalationPolicy,
    /// No reading from any sensor of an enterprise within this long: enterprise offline.
    pub enterprise_offline_timeout: Duration,
}

impl Default for AlarmOptions {
    fn default() -> Self {
        AlarmOptions {
            escalation: EscalationPolicy::default(),
            enterprise_offline_timeout: crate::monitor::alarm::ENTERPRISE_OFFLINE_TIMEOUT,
        }
    }
}

/// The monitoring service shared by the handlers: reading store, sensor index, alarm engine
/// and the live event bus.
pub struct Monitor {
    db: Db,
    pub store: ReadingStore,
    pub limits: IngestLimits,
    pub alarms: AlarmEngine,
    pub events: Arc<EventBus>,
    pub escalation: EscalationPolicy,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").finish_non_exhaustive()
    }
}

impl Monitor {
    /// Opens the reading store (replaying its log), loads the sensor index and resumes the
    /// alarm states from the alarms active in the store.
    pub async fn open(
        db: Db,
        cfg: StoreConfig,
        limits: IngestLimits,
        alarms: AlarmOptions,
    ) -> Result<Monitor, ReadingsError> {
        let store = ReadingStore::open(db.clone(), cfg).await?;
        let events = EventBus::open(db.clone()).await?;
        let engine = AlarmEngine::new(
            db.clone(),
            events.clone(),
            alarms.enterprise_offline_timeout,
        );
        let m = Monitor {
            db,
            store,
            limits,
            alarms: engine,
            events,
            escalation: alarms.escalation,
        };
        m.reload_sensors().await?;
        Ok(m)
    }

    /// Rebuilds the sensor index and the alarm engine's sensor set from the database (after a
    /// sensor is created, changed or deleted).
    pub async fn reload_sensors(&self) -> Result<(), DbError> {
        let now = crate::db::now_ms();
        alarm_store::clear_orphans(&self.db, now).await?;
        let active = alarm_store::active(&self.db).await?;
        let count: i64 = self
            .db
            .fetch_scalar(&Sql::new("SELECT CAST(COUNT(*) AS BIGINT) FROM sensors"))
            .await?;
        let mut builder =
            TableBuilder::new(&active, now, usize::try_from(count).unwrap_or_default());
        // A page at a time, in number order: a million sensors never sit in memory as rows.
        let mut after = -1_i64;
        loop {
            let page: Vec<SpecRow> = self
                .db
                .fetch_all(
                    &Sql::new(
                        "SELECT id, num, enterprise_id, code, range_min, range_max, ll, l, h, hh, deadband, \
                         on_delay_s, off_delay_s, offline_timeout_s FROM sensors WHERE num > $1 ORDER BY num LIMIT $2",
                    )
                    .bind(after)
                    .bind(RELOAD_PAGE),
                )
                .await?;
            let Some(last) = page.last().map(|r| r.num) else {
                break;
            };
            after = last;
            for row in page {
                if let Some(spec) = row.into_spec() {
                    builder.push(&spec);
                }
            }
        }
        self.alarms.install(builder.finish());
        Ok(())
    }

    /// The periodic work of the alarm side at `now_ms`: offline alarms due and escalations due.
    /// The server calls it every `monitor.tick_ms`; tests call it with the time they choose.
    pub async fn tick(&self, now_ms: i64) -> Result<(), DbError> {
        if let Some(stored) = self.alarms.sweep_offline(now_ms) {
            let _ = stored.await;
        }
        let escalated = alarm_store::escalate(&self.db, &self.escalation, now_ms).await?;
        if !escalated.is_empty() {
            metrics::counter!("yingji_alarm_escalations_total").increment(escalated.len() as u64);
            self.events.wake();
        }
        Ok(())
    }

    /// Runs [`crate::app::tick`] (this service's sweep and the other areas' deadlines) every
    /// `every` with the wall clock, and purges old live events hourly, until stopped.
    pub fn start_ticker(self: &Arc<Self>, every: Duration) -> Ticker {
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopped = stop.clone();
        let monitor = self.clone();
        let handle = tokio::spawn(async move {
            let mut last_purge = 0_i64;
            loop {
                tokio::select! {
                    _ = stopped.notified() => break,
                    _ = tokio::time::sleep(every) => {}
                }
                let now = crate::db::now_ms();
                if let Err(e) = crate::app::tick(&monitor, now).await {
                    tracing::warn!(error = %e, "periodic sweep failed");
                }
                if now - last_purge > 3_600_000 {
                    last_purge = now;
                    if let Err(e) = monitor.events.purge(now).await {
                        tracing::warn!(error = %e, "cannot purge old events");
                    }
                }
            }
        });
        Ticker { stop, handle }
    }
}

/// The running alarm sweep.
pub struct Ticker {
    stop: Arc<tokio::sync::Notify>,
    handle: tokio::task::JoinHandle<()>,
}

impl Ticker {
    pub async fn stop(self) {
        self.stop.notify_one();
        let _ = self.handle.await;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{count} readings in one batch; the limit is {limit}")]
    TooLarge { count: usize, limit: usize },
    #[error(transparent)]
    Store(#[from] ReadingsError),
}

impl From<DbError> for IngestError {
    fn from(e: DbError) -> Self {
        IngestError::Store(ReadingsError::from(e))
    }
}

impl Monitor {
    /// Checks and stores one batch of an enterprise's gateway, then runs it through the alarm
    /// state machines; returns once the accepted readings are durable and the alarms they
    /// raised or cleared are stored. Shared by HTTP and MQTT ingest.
    pub async fn ingest(
        &self,
        enterprise_id: &str,
        batch: &IngestBatch,
    ) -> Result<IngestReport, IngestError> {
        if batch.readings.len() > self.limits.max_batch {
            return Err(IngestError::TooLarge {
                count: batch.readings.len(),
                limit: self.limits.max_batch,
            });
        }
        let now = crate::db::now_ms();
        let aliases = self.resolve_ids(enterprise_id, batch).await?;
        let checked = self.alarms.with_table(|table| {
            check_batch(table, enterprise_id, batch, &aliases, now, &self.limits)
        });
        self.store.append(&checked.readings).await?;
        metrics::counter!("yingji_readings_ingested_total")
            .increment(checked.readings.len() as u64);
        if let Some(stored) = self
            .alarms
            .evaluate(&checked.readings, &checked.qualities, now)
        {
            // The readings are durable whatever happens to their alarms: a failure here is
            // logged by the writer, and resending the batch would not help.
            let _ = stored.await;
        }
        Ok(IngestReport {
            accepted: checked.readings.len(),
            rejected: checked.rejected,
            out_of_range: checked.out_of_range,
        })
    }

    /// Sensors a batch names by id instead of code, looked up in the database: gateways
    /// rarely do it, so the in-memory table holds only codes. Names that are codes cost
    /// nothing here.
    async fn resolve_ids(
        &self,
        enterprise_id: &str,
        batch: &IngestBatch,
    ) -> Result<HashMap<String, IdAlias>, DbError> {
        // Only names shaped like ids are looked up, so a batch of codes costs no second
        // pass over the table and no lock.
        let candidates: Vec<&str> = batch
            .readings
            .iter()
            .map(|r| r.sensor.as_str())
            .filter(|name| name.len() == 26 && ulid::Ulid::from_string(name).is_ok())
            .collect();
        if candidates.is_empty() {
            return Ok(HashMap::new());
        }
        let unknown: std::collections::BTreeSet<&str> = self.alarms.with_table(|table| {
            candidates
                .into_iter()
                .filter(|name| table.lookup(enterprise_id, name).is_none())
                .collect()
        });
        let mut aliases = HashMap::new();
        if unknown.is_empty() {
            return Ok(aliases);
        }
        let mut sql = Sql::new("SELECT id, enterprise_id, code FROM sensors WHERE id IN (");
        let params: Vec<String> = unknown.iter().map(|id| sql.arg(*id)).collect();
        sql.push(&params.join(", "));
        sql.push(")");
        let rows: Vec<(String, String, String)> = self.db.fetch_all(&sql).await?;
        for (id, owner, code) in rows {
            let alias = if owner == enterprise_id {
                IdAlias::Code(code)
            } else {
                IdAlias::OtherEnterprise
            };
            aliases.insert(id, alias);
        }
        Ok(aliases)
    }

    /// The database the service stores in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The enterprise whose unified social credit code is `code` (MQTT topics name it).
    pub async fn enterprise_by_credit_code(&self, code: &str) -> Result<Option<String>, DbError> {
        let row: Option<(String,)> = self
            .db
            .fetch_optional(
                &crate::db::Sql::new("SELECT id FROM enterprises WHERE credit_code = $1")
                    .bind(code),
            )
            .await?;
        Ok(row.map(|r| r.0))
    }
}

/// A timestamp as gateways send it: epoch milliseconds or RFC 3339.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Timestamp {
    EpochMs(i64),
    Text(String),
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IngestItem {
    /// The sensor's code within the token's enterprise (or its id).
    pub sensor: String,
    /// Time of measurement: epoch milliseconds or RFC 3339.
    pub ts: Timestamp,
    /// The measured value; must be a finite number.
    #[schema(value_type = f64)]
    pub value: serde_json::Value,
    /// Optional quality flag from the gateway (`good`/`bad` or a number, 0 = good).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub quality: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IngestBatch {
    pub readings: Vec<IngestItem>,
}

#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct RejectedItem {
    /// Position of the item in `readings`.
    pub index: usize,
    pub sensor: String,
    /// `unknown_sensor`, `other_enterprise`, `non_finite_value`, `bad_timestamp`, `future_timestamp`.
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestReport {
    /// Readings stored (a resent reading counts again: storing it is idempotent).
    pub accepted: usize,
    pub rejected: Vec<RejectedItem>,
    /// Accepted readings outside their sensor's measuring range (stored; they raise a
    /// sensor-fault alarm).
    pub out_of_range: usize,
}

fn reject(index: usize, sensor: &str, reason: &str, message: impl Into<String>) -> RejectedItem {
    RejectedItem {
        index,
        sensor: sensor.to_string(),
        reason: reason.into(),
        message: message.into(),
    }
}

/// What a sensor id named in a batch stands for.
#[derive(Debug, Clone, PartialEq)]
enum IdAlias {
    /// A sensor of the batch's enterprise, with this code.
    Code(String),
    /// A sensor of another enterprise.
    OtherEnterprise,
}

/// A batch after checking.
#[derive(Debug, Default)]
struct CheckedBatch {
    readings: Vec<Reading>,
    /// The gateway's quality flag of each reading, parallel to `readings`.
    qualities: Vec<Quality>,
    rejected: Vec<RejectedItem>,
    /// Accepted readings outside their sensor's measuring range.
    out_of_range: usize,
}

/// A gateway's quality flag: `good`/`bad` (any case), or a number where 0 is good, as
/// OPC-style gateways send it. Anything else is not trusted.
fn quality_of(v: &Option<serde_json::Value>) -> Quality {
    match v {
        None | Some(serde_json::Value::Null) => Quality::Good,
        Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("good") => Quality::Good,
        Some(serde_json::Value::Number(n)) if n.as_f64() == Some(0.0) => Quality::Good,
        Some(serde_json::Value::Bool(true)) => Quality::Good,
        Some(_) => Quality::Bad,
    }
}

/// Checks every item of a batch for one enterprise; returns the readings to store and the
/// rejected items. Pure apart from the index it is given.
fn check_batch(
    table: &Table,
    enterprise_id: &str,
    batch: &IngestBatch,
    aliases: &HashMap<String, IdAlias>,
    now_ms: i64,
    limits: &IngestLimits,
) -> CheckedBatch {
    let mut readings = Vec::with_capacity(batch.readings.len());
    let mut qualities = Vec::with_capacity(batch.readings.len());
    let mut rejected = Vec::new();
    let mut out_of_range = 0;
    for (i, item) in batch.readings.iter().enumerate() {
        let code = match aliases.get(&item.sensor) {
            Some(IdAlias::Code(code)) => code.as_str(),
            Some(IdAlias::OtherEnterprise) => {
                rejected.push(reject(
                    i,
                    &item.sensor,
                    "other_enterprise",
                    "the sensor belongs to another enterprise",
                ));
                continue;
            }
            None => item.sensor.as_str(),
        };
        let Some((num, range)) = table.lookup(enterprise_id, code) else {
            rejected.push(reject(
                i,
                &item.sensor,
                "unknown_sensor",
                "the enterprise has no sensor with this code",
            ));
            continue;
        };
        let ts_ms = match &item.ts {
            Timestamp::EpochMs(ms) => Some(*ms),
            Timestamp::Text(s) => crate::time::parse_time(s),
        };
        let Some(ts_ms) = ts_ms.filter(|t| *t > 0) else {
            rejected.push(reject(
                i,
                &item.sensor,
                "bad_timestamp",
                "ts must be epoch milliseconds or an RFC 3339 time",
            ));
            continue;
        };
        if ts_ms > now_ms + limits.max_clock_ahead_ms {
            rejected.push(reject(
                i,
                &item.sensor,
                "future_timestamp",
                format!(
                    "ts is more than {} s ahead of the server clock",
                    limits.max_clock_ahead_ms / 1000
                ),
            ));
            continue;
        }
        let Some(value) = item.value.as_f64().filter(|v| v.is_finite()) else {
            rejected.push(reject(
                i,
                &item.sensor,
                "non_finite_value",
                "value must be a finite number",
            ));
            continue;
        };
        if value < range.0 || value > range.1 {
            out_of_range += 1;
        }
        readings.push(Reading {
            sensor: num,
            ts_ms,
            value,
        });
        qualities.push(quality_of(&item.quality));
    }
    CheckedBatch {
        readings,
        qualities,
        rejected,
        out_of_range,
    }
}

/// Stores a batch of readings from an enterprise's gateway. Authenticate with the
/// enterprise's ingest token (`Authorization: Bearer yjg_…`). The answer comes after the
/// readings are durably stored; items that cannot be stored are listed with their reason.
#[utoipa::path(post, path = "/ingest/readings", tag = "monitor", request_body = IngestBatch,
    security(("ingest_token" = [])),
    responses((status = 200, body = IngestReport), (status = 400, body = ErrorBody, description = "Not a readings batch"),
        (status = 401, body = ErrorBody, description = "Missing, unknown or revoked ingest token"),
        (status = 413, body = ErrorBody, description = "More readings than the batch limit")))]
async fn ingest_readings(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IngestReport>, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    let enterprise_id = sensors::enterprise_of_token(&state.db, token.trim())
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let batch: IngestBatch = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("not a readings batch: {e}")))?;
    state
        .monitor
        .ingest(&enterprise_id, &batch)
        .await
        .map(Json)
        .map_err(|e| match e {
            IngestError::TooLarge { .. } => ApiError::PayloadTooLarge(e.to_string()),
            IngestError::Store(e) => ApiError::Internal(e.into()),
        })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Start (RFC 3339 or epoch ms), inclusive; default 24 hours before `to`.
    pub from: Option<String>,
    /// End (RFC 3339 or epoch ms), exclusive; default now.
    pub to: Option<String>,
    /// Bucket width in seconds, or `auto` for about 1,000 buckets over the range; without it
    /// the raw points are returned (at most `limit`).
    pub bucket: Option<String>,
    /// Most raw points returned (default 10,000, at most 100,000).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPoint {
    /// Epoch milliseconds, UTC.
    pub t: i64,
    pub value: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryBucket {
    /// Start of the bucket, epoch milliseconds.
    pub t: i64,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub sensor_id: String,
    pub from: i64,
    pub to: i64,
    /// Bucket width in ms, when bucketed.
    pub bucket_ms: Option<i64>,
    pub points: Option<Vec<HistoryPoint>>,
    pub buckets: Option<Vec<HistoryBucket>>,
}

/// The readings of one sensor over a time range, raw or as min/max/avg per bucket.
#[utoipa::path(get, path = "/sensors/{id}/readings", tag = "monitor", params(("id" = String, Path), HistoryParams),
    responses((status = 200, body = History), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn sensor_history(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(p): Query<HistoryParams>,
) -> Result<Json<History>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let sensor = sensors::get(&state.db, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !user
        .scope()
        .allows(&sensor.town_code, Some(&sensor.input.enterprise_id))
    {
        return Err(ApiError::NotFound);
    }
    let parse = |field: &str, v: &Option<String>| -> Result<Option<i64>, ApiError> {
        match v.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => crate::time::parse_time(s).map(Some).ok_or_else(|| {
                ApiError::validation(field, "expected an RFC 3339 time or epoch milliseconds")
            }),
        }
    };
    let to = parse("to", &p.to)?.unwrap_or_else(crate::db::now_ms);
    let from = parse("from", &p.from)?.unwrap_or(to - 86_400_000);
    if to <= from {
        return Err(ApiError::validation("from", "from must be before to"));
    }
    let num = u32::try_from(sensor.num).map_err(|e| ApiError::Internal(e.into()))?;
    let bucket_ms = match p.bucket.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some("auto") => Some(((to - from) / 1000).max(1000)),
        Some(s) => match s.parse::<i64>() {
            Ok(secs) if secs > 0 => Some(secs * 1000),
            _ => {
                return Err(ApiError::validation(
                    "bucket",
                    "bucket must be a positive number of seconds or auto",
                ));
            }
        },
    };
    let store_err = |e: ReadingsError| match e {
        ReadingsError::InvalidRange | ReadingsError::InvalidBuckets => {
            ApiError::validation("bucket", e.to_string())
        }
        other => ApiError::Internal(other.into()),
    };
    let mut history = History {
        sensor_id: sensor.id,
        from,
        to,
        bucket_ms,
        points: None,
        buckets: None,
    };
    match bucket_ms {
        Some(b) => {
            let buckets = state
                .monitor
                .store
                .buckets(num, from, to, b)
                .await
                .map_err(store_err)?;
            history.buckets = Some(
                buckets
                    .into_iter()
                    .map(|k| HistoryBucket {
                        t: k.start_ms,
                        min: k.min,
                        max: k.max,
                        avg: k.avg,
                        count: k.count,
                    })
                    .collect(),
            );
        }
        None => {
            let limit = p.limit.unwrap_or(10_000).clamp(1, 100_000);
            let points = state
                .monitor
                .store
                .raw(num, from, to, limit)
                .await
                .map_err(store_err)?;
            history.points = Some(
                points
                    .into_iter()
                    .map(|q| HistoryPoint {
                        t: q.ts_ms,
                        value: q.value,
                    })
                    .collect(),
            );
        }
    }
    Ok(Json(history))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ingest_readings))
        .routes(routes!(sensor_history))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S1: &str = "01kb0000000000000000000001";
    const S9: &str = "01kb0000000000000000000009";

    fn table() -> Table {
        let config = crate::monitor::alarm::AlarmConfig::new(
            &crate::monitor::alarm::AlarmSettings::new(0.0, 20.0),
        )
        .expect("config");
        let spec = |num, ent: &str, code: &str| SensorSpec {
            num,
            enterprise_id: ent.into(),
            code: code.into(),
            config,
        };
        Table::new(&[spec(1, "e1", "LT-1"), spec(9, "e2", "LT-9")], 0)
    }

    fn item(sensor: &str, ts: Timestamp, value: serde_json::Value) -> IngestItem {
        IngestItem {
            sensor: sensor.into(),
            ts,
            value,
            quality: None,
        }
    }

    #[test]
    fn each_bad_item_is_rejected_with_its_reason_and_the_rest_is_kept() {
        let now = 1_800_000_000_000;
        let batch = IngestBatch {
            readings: vec![
                item(
                    "LT-1",
                    Timestamp::EpochMs(now - 1000),
                    serde_json::json!(5.5),
                ),
                item("NOPE", Timestamp::EpochMs(now), serde_json::json!(1)),
                item(S9, Timestamp::EpochMs(now), serde_json::json!(1)),
                item("LT-1", Timestamp::EpochMs(now), serde_json::json!("NaN")),
                item(
                    "LT-1",
                    Timestamp::EpochMs(now + 3_600_000),
                    serde_json::json!(1),
                ),
                item(
                    "LT-1",
                    Timestamp::Text("yesterday".into()),
                    serde_json::json!(1),
                ),
                item(
                    S1,
                    Timestamp::Text("2027-01-15T08:00:00+08:00".into()),
                    serde_json::json!(25.0),
                ),
            ],
        };
        let CheckedBatch {
            readings: ok,
            rejected,
            out_of_range,
            ..
        } = check_batch(
            &table(),
            "e1",
            &batch,
            &HashMap::from([
                (S1.to_string(), IdAlias::Code("LT-1".into())),
                (S9.to_string(), IdAlias::OtherEnterprise),
            ]),
            now,
            &IngestLimits::default(),
        );
        let reasons: Vec<(usize, &str)> = rejected
            .iter()
            .map(|r| (r.index, r.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (1, "unknown_sensor"),
                (2, "other_enterprise"),
                (3, "non_finite_value"),
                (4, "future_timestamp"),
                (5, "bad_timestamp")
            ]
        );
        assert_eq!(ok.len(), 2);
        assert_eq!(
            ok[0],
            Reading {
                sensor: 1,
                ts_ms: now - 1000,
                value: 5.5
            }
        );
        assert_eq!(
            ok[1],
            Reading {
                sensor: 1,
                ts_ms: 1_799_971_200_000,
                value: 25.0
            },
            "an RFC 3339 time with +08:00, by sensor id"
        );
        assert_eq!(
            out_of_range, 1,
            "25 is above the range 0–20: stored, flagged"
        );
    }
}
