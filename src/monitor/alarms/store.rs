//! Alarm records in the database: raising and clearing what the state machine decided,
//! people's actions, escalation, and the queries behind the API. Every change writes the
//! alarm, its timeline entry and its live event in one transaction.

use serde_json::json;

use super::model::{Alarm, AlarmChange, TimelineEntry};
use super::rules::{self, Action, Escalation, EscalationPolicy, LifecycleError, Status};
use crate::auth::Scope;
use crate::db::{Db, DbError, Sql, Tx};
use crate::monitor::alarm::{AlarmEvent, AlarmKind, Transition};

/// The alarm columns with the names the API shows, from `alarms a` and its joins.
const ALARM_SELECT: &str = "SELECT a.id, a.enterprise_id, e.name AS enterprise_name, a.town_code, e.lon, e.lat, \
     a.sensor_id, s.code AS sensor_code, s.name AS sensor_name, s.kind AS sensor_kind, s.unit_of_measure, \
     a.kind, a.threshold, a.raised_at, a.raised_value, a.cleared_at, a.cleared_value, a.status, \
     a.acknowledged_at, ua.display_name AS acknowledged_by, a.ack_note, a.disposed_at, ud.display_name AS disposed_by, \
     a.dispose_cause, a.dispose_measures, a.dispose_note, a.assignee_id, un.display_name AS assignee_name, \
     a.escalation, a.escalated_at, a.updated_at, \
     (SELECT hd.id FROM hidden_dangers hd WHERE hd.alarm_id = a.id) AS hidden_danger_id ";

const ALARM_FROM: &str = "FROM alarms a JOIN enterprises e ON e.id = a.enterprise_id \
     LEFT JOIN sensors s ON s.id = a.sensor_id \
     LEFT JOIN users ua ON ua.id = a.acknowledged_by \
     LEFT JOIN users ud ON ud.id = a.disposed_by \
     LEFT JOIN users un ON un.id = a.assignee_id WHERE 1 = 1";

#[derive(Debug, sqlx::FromRow)]
struct AlarmRow {
    id: String,
    enterprise_id: String,
    enterprise_name: String,
    town_code: String,
    lon: Option<f64>,
    lat: Option<f64>,
    sensor_id: Option<String>,
    sensor_code: Option<String>,
    sensor_name: Option<String>,
    sensor_kind: Option<String>,
    unit_of_measure: Option<String>,
    kind: String,
    threshold: Option<f64>,
    raised_at: i64,
    raised_value: Option<f64>,
    cleared_at: Option<i64>,
    cleared_value: Option<f64>,
    status: String,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<String>,
    ack_note: Option<String>,
    disposed_at: Option<i64>,
    disposed_by: Option<String>,
    dispose_cause: Option<String>,
    dispose_measures: Option<String>,
    dispose_note: Option<String>,
    assignee_id: Option<String>,
    assignee_name: Option<String>,
    escalation: String,
    escalated_at: Option<i64>,
    updated_at: i64,
    hidden_danger_id: Option<String>,
}

/// The kind stored under `code`; the CHECK constraint admits no other.
pub fn kind_of(code: &str) -> AlarmKind {
    AlarmKind::ALL
        .into_iter()
        .find(|k| k.code() == code)
        .unwrap_or(AlarmKind::SensorFault)
}

impl AlarmRow {
    fn into_alarm(self) -> Alarm {
        let kind = kind_of(&self.kind);
        let time = |t: Option<i64>| t.map(crate::time::rfc3339);
        Alarm {
            id: self.id,
            enterprise_id: self.enterprise_id,
            enterprise_name: self.enterprise_name,
            town_code: self.town_code,
            lon: self.lon,
            lat: self.lat,
            sensor_id: self.sensor_id,
            sensor_code: self.sensor_code,
            sensor_name: self.sensor_name,
            sensor_kind: self.sensor_kind,
            unit_of_measure: self.unit_of_measure,
            kind,
            severity: kind.severity(),
            colour: kind.colour(),
            threshold: self.threshold,
            raised_at: crate::time::rfc3339(self.raised_at),
            raised_value: self.raised_value,
            active: self.cleared_at.is_none(),
            cleared_at: time(self.cleared_at),
            cleared_value: self.cleared_value,
            status: Status::parse(&self.status).unwrap_or(Status::Unacknowledged),
            acknowledged_at: time(self.acknowledged_at),
            acknowledged_by: self.acknowledged_by,
            ack_note: self.ack_note,
            disposed_at: time(self.disposed_at),
            disposed_by: self.disposed_by,
            dispose_cause: self.dispose_cause,
            dispose_measures: self.dispose_measures,
            dispose_note: self.dispose_note,
            assignee_id: self.assignee_id,
            assignee_name: self.assignee_name,
            escalation: Escalation::parse(&self.escalation).unwrap_or(Escalation::Enterprise),
            escalated_at: time(self.escalated_at),
            updated_at: crate::time::rfc3339(self.updated_at),
            hidden_danger_id: self.hidden_danger_id,
        }
    }
}

fn by_id(id: &str) -> Sql {
    Sql::new(format!("{ALARM_SELECT}{ALARM_FROM} AND a.id = $1")).bind(id)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Alarm>, DbError> {
    Ok(db
        .fetch_optional::<AlarmRow>(&by_id(id))
        .await?
        .map(AlarmRow::into_alarm))
}

async fn get_tx(tx: &mut Tx, id: &str) -> Result<Option<Alarm>, DbError> {
    Ok(tx
        .fetch_optional::<AlarmRow>(&by_id(id))
        .await?
        .map(AlarmRow::into_alarm))
}

/// Who did something: a user (id and display name), or the system.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub id: Option<String>,
    /// Display name, shown in the timeline.
    pub name: Option<String>,
    /// Login name, for the audit log.
    pub username: String,
}

/// Writes the timeline entry and the live event of one change, and returns the change.
async fn record(
    tx: &mut Tx,
    alarm_id: &str,
    at: i64,
    action: &str,
    actor: &Actor,
    detail: Option<serde_json::Value>,
) -> Result<Option<AlarmChange>, DbError> {
    tx.execute(
        &Sql::new(
            "INSERT INTO alarm_timeline (alarm_id, at, action, actor_id, actor_name, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(alarm_id)
        .bind(at)
        .bind(action)
        .bind(actor.id.clone())
        .bind(actor.name.clone())
        .bind(detail.map(|d| d.to_string())),
    )
    .await?;
    let Some(alarm) = get_tx(tx, alarm_id).await? else {
        return Ok(None);
    };
    let change = AlarmChange {
        action: action.to_string(),
        alarm,
    };
    let payload = serde_json::to_value(&change).unwrap_or_default();
    crate::events::publish(
        tx,
        crate::db::now_ms(),
        "alarm",
        Some(&change.alarm.town_code),
        Some(&change.alarm.enterprise_id),
        &payload,
    )
    .await?;
    Ok(Some(change))
}

/// A decision of the state machines, addressed to what it is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// A sensor by its compact number, with the threshold of a level kind.
    Sensor { num: u32, threshold: Option<f64> },
    /// An enterprise by id, for `EnterpriseOffline`.
    Enterprise(String),
}

/// Stores raises and clears decided by the state machines, in order. A raise for a kind that
/// is already active, or a clear with nothing active, changes nothing (the store is the truth
/// the state machines resume from).
pub async fn apply_events(
    tx: &mut Tx,
    events: &[(Subject, AlarmEvent)],
    now_ms: i64,
) -> Result<Vec<AlarmChange>, DbError> {
    let mut changes = Vec::new();
    for (subject, ev) in events {
        let kind = ev.kind;
        let id = match (ev.transition, subject) {
            (Transition::Raised, Subject::Sensor { num, threshold }) => {
                let id = crate::db::new_id();
                let n = tx
                    .execute(
                        &Sql::new(
                            "INSERT INTO alarms (id, enterprise_id, town_code, sensor_id, kind, severity, colour, threshold, \
                             raised_at, raised_value, updated_at) \
                             SELECT $1, s.enterprise_id, e.town_code, s.id, $2, $3, $4, $5, $6, $7, $8 \
                             FROM sensors s JOIN enterprises e ON e.id = s.enterprise_id WHERE s.num = $9 \
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(id.as_str())
                        .bind(kind.code())
                        .bind(severity_key(kind))
                        .bind(colour_key(kind))
                        .bind(*threshold)
                        .bind(ev.ts_ms)
                        .bind(ev.value)
                        .bind(now_ms)
                        .bind(i64::from(*num)),
                    )
                    .await?;
                (n == 1).then_some(id)
            }
            (Transition::Raised, Subject::Enterprise(enterprise_id)) => {
                let id = crate::db::new_id();
                let n = tx
                    .execute(
                        &Sql::new(
                            "INSERT INTO alarms (id, enterprise_id, town_code, sensor_id, kind, severity, colour, \
                             raised_at, updated_at) \
                             SELECT $1, e.id, e.town_code, NULL, $2, $3, $4, $5, $6 FROM enterprises e WHERE e.id = $7 \
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(id.as_str())
                        .bind(kind.code())
                        .bind(severity_key(kind))
                        .bind(colour_key(kind))
                        .bind(ev.ts_ms)
                        .bind(now_ms)
                        .bind(enterprise_id.as_str()),
                    )
                    .await?;
                (n == 1).then_some(id)
            }
            (Transition::Cleared, Subject::Sensor { num, .. }) => {
                tx.fetch_optional::<(String,)>(
                    &Sql::new(
                        "UPDATE alarms SET cleared_at = $1, cleared_value = $2, updated_at = $3 \
                         WHERE cleared_at IS NULL AND kind = $4 \
                         AND sensor_id = (SELECT id FROM sensors WHERE num = $5) RETURNING id",
                    )
                    .bind(ev.ts_ms)
                    .bind(ev.value)
                    .bind(now_ms)
                    .bind(kind.code())
                    .bind(i64::from(*num)),
                )
                .await?
                .map(|r| r.0)
            }
            (Transition::Cleared, Subject::Enterprise(enterprise_id)) => {
                tx.fetch_optional::<(String,)>(
                    &Sql::new(
                        "UPDATE alarms SET cleared_at = $1, updated_at = $2 \
                         WHERE cleared_at IS NULL AND kind = $3 AND enterprise_id = $4 RETURNING id",
                    )
                    .bind(ev.ts_ms)
                    .bind(now_ms)
                    .bind(kind.code())
                    .bind(enterprise_id.as_str()),
                )
                .await?
                .map(|r| r.0)
            }
        };
        let Some(id) = id else { continue };
        let action = match ev.transition {
            Transition::Raised => "raised",
            Transition::Cleared => "cleared",
        };
        let detail = ev.value.map(|v| json!({ "value": v }));
        if let Some(change) = record(tx, &id, ev.ts_ms, action, &Actor::default(), detail).await? {
            changes.push(change);
        }
    }
    Ok(changes)
}

fn severity_key(kind: AlarmKind) -> &'static str {
    match kind.severity() {
        crate::monitor::alarm::Severity::High => "high",
        crate::monitor::alarm::Severity::Low => "low",
    }
}

fn colour_key(kind: AlarmKind) -> &'static str {
    match kind.colour() {
        crate::monitor::alarm::Colour::Red => "red",
        crate::monitor::alarm::Colour::Orange => "orange",
        crate::monitor::alarm::Colour::Yellow => "yellow",
        crate::monitor::alarm::Colour::Blue => "blue",
    }
}

/// What the state machines resume from after a restart.
#[derive(Debug, Default)]
pub struct ActiveAlarms {
    /// Active kinds per sensor number.
    pub sensors: Vec<(u32, AlarmKind)>,
    /// Enterprises with an active enterprise-offline alarm.
    pub offline_enterprises: Vec<String>,
}

pub async fn active(db: &Db) -> Result<ActiveAlarms, DbError> {
    let rows: Vec<(i64, String)> = db
        .fetch_all(&Sql::new(
            "SELECT s.num, a.kind FROM alarms a JOIN sensors s ON s.id = a.sensor_id \
             WHERE a.cleared_at IS NULL",
        ))
        .await?;
    let offline: Vec<(String,)> = db
        .fetch_all(&Sql::new(
            "SELECT enterprise_id FROM alarms WHERE cleared_at IS NULL AND kind = 'enterprise_offline'",
        ))
        .await?;
    Ok(ActiveAlarms {
        sensors: rows
            .into_iter()
            .filter_map(|(num, kind)| Some((u32::try_from(num).ok()?, kind_of(&kind))))
            .collect(),
        offline_enterprises: offline.into_iter().map(|r| r.0).collect(),
    })
}

/// Ends the alarms of sensors that no longer exist: nothing will ever clear them otherwise.
pub async fn clear_orphans(db: &Db, now_ms: i64) -> Result<u64, DbError> {
    db.execute(
        &Sql::new(
            "UPDATE alarms SET cleared_at = $1, updated_at = $1 \
             WHERE cleared_at IS NULL AND sensor_id IS NULL AND kind <> 'enterprise_offline'",
        )
        .bind(now_ms),
    )
    .await
}

/// Why a person's action on an alarm failed.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a person does, with its details.
#[derive(Debug, Clone)]
pub enum Act {
    Acknowledge {
        note: Option<String>,
    },
    Dispose {
        cause: String,
        measures: String,
        note: Option<String>,
    },
    Assign {
        assignee_id: String,
        assignee_name: String,
    },
}

/// Applies a person's action in one transaction, checking the lifecycle against the row as
/// it is inside the transaction.
pub async fn act(
    db: &Db,
    id: &str,
    actor: &Actor,
    act: Act,
    now_ms: i64,
) -> Result<AlarmChange, ActError> {
    let mut tx = db.begin().await?;
    let status: Option<(String,)> = tx
        .fetch_optional(&Sql::new("SELECT status FROM alarms WHERE id = $1").bind(id))
        .await?;
    let status = status
        .and_then(|s| Status::parse(&s.0))
        .ok_or(ActError::NotFound)?;
    let user = actor.id.clone();
    let (action, sql, detail) = match act {
        Act::Acknowledge { note } => {
            rules::apply(status, Action::Acknowledge)?;
            (
                "acknowledged",
                Sql::new(
                    "UPDATE alarms SET status = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2, \
                     ack_note = $3, updated_at = $1 WHERE id = $4",
                )
                .bind(now_ms)
                .bind(user)
                .bind(note.clone())
                .bind(id),
                note.map(|n| json!({ "note": n })),
            )
        }
        Act::Dispose {
            cause,
            measures,
            note,
        } => {
            rules::apply(status, Action::Dispose)?;
            let detail = json!({ "cause": cause, "measures": measures, "note": note });
            (
                "disposed",
                Sql::new(
                    "UPDATE alarms SET status = 'disposed', disposed_at = $1, disposed_by = $2, dispose_cause = $3, \
                     dispose_measures = $4, dispose_note = $5, \
                     acknowledged_at = COALESCE(acknowledged_at, $1), acknowledged_by = COALESCE(acknowledged_by, $2), \
                     updated_at = $1 WHERE id = $6",
                )
                .bind(now_ms)
                .bind(user)
                .bind(cause)
                .bind(measures)
                .bind(note)
                .bind(id),
                Some(detail),
            )
        }
        Act::Assign {
            assignee_id,
            assignee_name,
        } => {
            rules::apply(status, Action::Assign)?;
            (
                "assigned",
                Sql::new("UPDATE alarms SET assignee_id = $1, updated_at = $2 WHERE id = $3")
                    .bind(assignee_id.as_str())
                    .bind(now_ms)
                    .bind(id),
                Some(json!({ "assignee_id": assignee_id, "assignee_name": assignee_name })),
            )
        }
    };
    let before = get_tx(&mut tx, id).await?;
    tx.execute(&sql).await?;
    let change = record(&mut tx, id, now_ms, action, actor, detail)
        .await?
        .ok_or(ActError::NotFound)?;
    let audit_actor = crate::audit::Actor {
        user_id: actor.id.clone(),
        username: actor.username.clone(),
    };
    let before = before.and_then(|b| serde_json::to_value(b).ok());
    let after = serde_json::to_value(&change.alarm).ok();
    crate::audit::record(
        &mut tx,
        &audit_actor,
        "alarm",
        id,
        action,
        before.as_ref(),
        after.as_ref(),
    )
    .await?;
    tx.commit().await?;
    Ok(change)
}

/// Raises every unacknowledged alarm whose deadline has passed to the level due at `now_ms`,
/// one timeline step per level, in one transaction. Returns the changes to announce.
pub async fn escalate(
    db: &Db,
    policy: &EscalationPolicy,
    now_ms: i64,
) -> Result<Vec<AlarmChange>, DbError> {
    let candidates: Vec<(String, String, i64)> = db
        .fetch_all(
            &Sql::new(
                "SELECT id, escalation, raised_at FROM alarms \
                 WHERE status = 'unacknowledged' AND escalation <> 'district' AND raised_at <= $1 \
                 ORDER BY raised_at",
            )
            .bind(now_ms - policy.to_town_ms.min(policy.to_district_ms)),
        )
        .await?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = db.begin().await?;
    let mut changes = Vec::new();
    for (id, current, raised_at) in candidates {
        let mut current = Escalation::parse(&current).unwrap_or(Escalation::Enterprise);
        let Some(target) = policy.due(Status::Unacknowledged, current, raised_at, now_ms) else {
            continue;
        };
        // Only if nobody acknowledged it in the meantime.
        let n = tx
            .execute(
                &Sql::new(
                    "UPDATE alarms SET escalation = $1, escalated_at = $2, updated_at = $2 \
                     WHERE id = $3 AND status = 'unacknowledged' AND escalation = $4",
                )
                .bind(target.key())
                .bind(now_ms)
                .bind(id.as_str())
                .bind(current.key()),
            )
            .await?;
        if n == 0 {
            continue;
        }
        while current < target {
            current = match current {
                Escalation::Enterprise => Escalation::Town,
                _ => Escalation::District,
            };
            if let Some(c) = record(
                &mut tx,
                &id,
                now_ms,
                "escalated",
                &Actor::default(),
                Some(json!({ "to": current.key() })),
            )
            .await?
            {
                changes.push(c);
            }
        }
    }
    tx.commit().await?;
    Ok(changes)
}

/// Filters of the alarm list.
#[derive(Debug, Clone, Default)]
pub struct AlarmFilter {
    /// `open` (active or not disposed, the default), `active` or `all`.
    pub state: Option<String>,
    pub status: Option<Status>,
    pub severity: Option<String>,
    pub kind: Option<AlarmKind>,
    pub town_code: Option<String>,
    pub enterprise_id: Option<String>,
    pub escalation: Option<Escalation>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

pub async fn list(
    db: &Db,
    scope: &Scope,
    f: &AlarmFilter,
    paging: crate::paging::Paging,
) -> Result<(Vec<Alarm>, i64), DbError> {
    let mut sql = Sql::new("");
    match f.state.as_deref() {
        Some("all") => {}
        Some("active") => {
            sql.push(" AND a.cleared_at IS NULL");
        }
        _ => {
            sql.push(" AND (a.cleared_at IS NULL OR a.status <> 'disposed')");
        }
    }
    if let Some(s) = f.status {
        let p = sql.arg(s.key());
        sql.push(&format!(" AND a.status = {p}"));
    }
    if let Some(s) = &f.severity {
        let p = sql.arg(s.as_str());
        sql.push(&format!(" AND a.severity = {p}"));
    }
    if let Some(k) = f.kind {
        let p = sql.arg(k.code());
        sql.push(&format!(" AND a.kind = {p}"));
    }
    if let Some(t) = &f.town_code {
        let p = sql.arg(t.as_str());
        sql.push(&format!(" AND a.town_code = {p}"));
    }
    if let Some(e) = &f.enterprise_id {
        let p = sql.arg(e.as_str());
        sql.push(&format!(" AND a.enterprise_id = {p}"));
    }
    if let Some(e) = f.escalation {
        let p = sql.arg(e.key());
        sql.push(&format!(" AND a.escalation = {p}"));
    }
    if let Some(t) = f.from_ms {
        let p = sql.arg(t);
        sql.push(&format!(" AND a.raised_at >= {p}"));
    }
    if let Some(t) = f.to_ms {
        let p = sql.arg(t);
        sql.push(&format!(" AND a.raised_at < {p}"));
    }
    scope.filter(&mut sql, "a.town_code", Some("a.enterprise_id"));
    let (rows, total) = db
        .fetch_page::<AlarmRow>(
            ALARM_FROM,
            &format!("{ALARM_SELECT}{ALARM_FROM}"),
            sql,
            "ORDER BY a.raised_at DESC, a.id DESC",
            Some(paging),
        )
        .await?;
    Ok((rows.into_iter().map(AlarmRow::into_alarm).collect(), total))
}

pub async fn timeline(db: &Db, id: &str) -> Result<Vec<TimelineEntry>, DbError> {
    let rows: Vec<(i64, String, Option<String>, Option<String>)> = db
        .fetch_all(
            &Sql::new(
                "SELECT at, action, actor_name, detail FROM alarm_timeline WHERE alarm_id = $1 ORDER BY id",
            )
            .bind(id),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(at, action, actor, detail)| TimelineEntry {
            at: crate::time::rfc3339(at),
            action,
            actor,
            detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
        })
        .collect())
}

/// Counts for the duty dashboard, within a scope.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Alarms whose condition still holds.
    pub active: i64,
    /// Alarms nobody has acknowledged yet (active or not).
    pub unacknowledged: i64,
    /// Unacknowledged alarms raised to the town (not yet to the district).
    pub escalated_town: i64,
    /// Unacknowledged alarms raised to the district duty officer.
    pub escalated_district: i64,
    /// Active high-severity alarms (HH, LL, enterprise offline).
    pub high_active: i64,
    /// Enterprises with an active enterprise-offline alarm.
    pub offline_enterprises: i64,
    /// Enterprises with at least one sensor.
    pub monitored_enterprises: i64,
    /// Active alarms per kind.
    pub by_kind: std::collections::BTreeMap<String, i64>,
}

pub async fn summary(db: &Db, scope: &Scope) -> Result<Summary, DbError> {
    let mut sql = Sql::new(
        "SELECT a.kind, a.severity, a.status, a.escalation, \
         CAST(SUM(CASE WHEN a.cleared_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS active, \
         CAST(COUNT(*) AS BIGINT) AS n \
         FROM alarms a WHERE (a.cleared_at IS NULL OR a.status = 'unacknowledged')",
    );
    scope.filter(&mut sql, "a.town_code", Some("a.enterprise_id"));
    sql.push(" GROUP BY a.kind, a.severity, a.status, a.escalation");
    let rows: Vec<(String, String, String, String, i64, i64)> = db.fetch_all(&sql).await?;
    let mut s = Summary::default();
    for (kind, severity, status, escalation, active, n) in rows {
        s.active += active;
        if active > 0 {
            *s.by_kind.entry(kind.clone()).or_default() += active;
        }
        if severity == "high" {
            s.high_active += active;
        }
        if kind == "enterprise_offline" {
            s.offline_enterprises += active;
        }
        if status == "unacknowledged" {
            s.unacknowledged += n;
            match escalation.as_str() {
                "town" => s.escalated_town += n,
                "district" => s.escalated_district += n,
                _ => {}
            }
        }
    }
    let mut m = Sql::new(
        "SELECT CAST(COUNT(DISTINCT s.enterprise_id) AS BIGINT) FROM sensors s \
         JOIN enterprises e ON e.id = s.enterprise_id WHERE 1 = 1",
    );
    scope.filter(&mut m, "e.town_code", Some("s.enterprise_id"));
    s.monitored_enterprises = db.fetch_scalar(&m).await?;
    Ok(s)
}
