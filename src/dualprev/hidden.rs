//! Hidden dangers (隐患) in the database: reporting, the moves of the state machine with the
//! "five in place" rectification plan, listing for supervision, the overdue sweep, and the
//! queries behind the lists and boards. Every change writes the record, its timeline entry,
//! its audit entry and its live event in one transaction.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::rules::{self, HdAction, HdLevel, HdState};
use crate::audit::Actor;
use crate::auth::Scope;
use crate::db::{Db, DbError, Sql, Tx};
use crate::error::ApiError;

/// Listed for supervision (挂牌督办).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Supervision {
    /// `town` or `district`.
    pub level: String,
    pub officer_id: Option<String>,
    /// The supervising officer's name.
    pub officer: Option<String>,
    pub due: Option<String>,
    pub listed_at: Option<String>,
    pub note: Option<String>,
    /// Past its supervision due date and still open.
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HiddenDanger {
    pub id: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub town_code: String,
    pub town_name: Option<String>,
    /// GB/T 4754 section letter of the enterprise.
    pub industry_section: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub risk_point_id: Option<String>,
    pub risk_point_name: Option<String>,
    /// The monitoring alarm it was created from.
    pub alarm_id: Option<String>,
    pub location: String,
    pub description: String,
    /// `self_check`, `inspection`, `grid_patrol`, `public_report`, `sensor_alarm`.
    pub source: String,
    pub category: String,
    pub level: HdLevel,
    pub found_by: String,
    pub found_at: String,
    pub reported_by: Option<String>,
    pub state: HdState,
    /// The five in place: measures, funds (yuan), responsible person, deadline, contingency.
    pub measures: Option<String>,
    pub funds: Option<f64>,
    pub responsible_person: Option<String>,
    pub deadline: Option<String>,
    pub contingency: Option<String>,
    /// What the enterprise reported as done when submitting for acceptance.
    pub rectification_result: Option<String>,
    pub rectified_at: Option<String>,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub close_evidence: Option<String>,
    /// Open past its deadline (flagged by the sweep).
    pub overdue: bool,
    /// When the sweep first found it past its deadline.
    pub overdue_at: Option<String>,
    pub supervision: Option<Supervision>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TimelineEntry {
    pub at: String,
    /// `reported`, `rectify`, `submit`, `accept`, `reject`, `close`, `list`, `overdue`, `photo`.
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub actor_name: Option<String>,
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Photo {
    pub id: String,
    /// `found` or `rectified`.
    pub stage: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub uploaded_at: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HiddenDangerDetail {
    #[serde(flatten)]
    pub hidden_danger: HiddenDanger,
    pub timeline: Vec<TimelineEntry>,
    pub photos: Vec<Photo>,
}

const SELECT: &str = "SELECT h.id, h.enterprise_id, e.name AS enterprise_name, h.town_code, u.name AS town_name, \
     e.industry_section, e.lon, e.lat, h.risk_point_id, rp.name AS risk_point_name, h.alarm_id, h.location, \
     h.description, h.source, h.category, h.level, h.found_by, h.found_at, CASE WHEN ur.display_name = '' THEN ur.username ELSE ur.display_name END AS reported_by, h.state, \
     h.measures, h.funds, h.responsible_person, h.deadline, h.contingency, h.rectification_result, h.rectified_at, \
     h.closed_at, CASE WHEN uc.display_name = '' THEN uc.username ELSE uc.display_name END AS closed_by, h.close_evidence, h.overdue_at, h.supervision_level, \
     h.supervising_officer_id, h.supervising_officer, h.supervision_due, h.supervision_listed_at, h.supervision_note, \
     h.created_at, h.updated_at ";

const FROM: &str = "FROM hidden_dangers h JOIN enterprises e ON e.id = h.enterprise_id \
     LEFT JOIN admin_units u ON u.code = h.town_code \
     LEFT JOIN risk_points rp ON rp.id = h.risk_point_id \
     LEFT JOIN users ur ON ur.id = h.reported_by \
     LEFT JOIN users uc ON uc.id = h.closed_by WHERE 1 = 1";

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: String,
    enterprise_id: String,
    enterprise_name: String,
    town_code: String,
    town_name: Option<String>,
    industry_section: String,
    lon: Option<f64>,
    lat: Option<f64>,
    risk_point_id: Option<String>,
    risk_point_name: Option<String>,
    alarm_id: Option<String>,
    location: String,
    description: String,
    source: String,
    category: String,
    level: String,
    found_by: String,
    found_at: i64,
    reported_by: Option<String>,
    state: String,
    measures: Option<String>,
    funds: Option<f64>,
    responsible_person: Option<String>,
    deadline: Option<i64>,
    contingency: Option<String>,
    rectification_result: Option<String>,
    rectified_at: Option<i64>,
    closed_at: Option<i64>,
    closed_by: Option<String>,
    close_evidence: Option<String>,
    overdue_at: Option<i64>,
    supervision_level: Option<String>,
    supervising_officer_id: Option<String>,
    supervising_officer: Option<String>,
    supervision_due: Option<i64>,
    supervision_listed_at: Option<i64>,
    supervision_note: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl Row {
    fn into_model(self, now_ms: i64) -> HiddenDanger {
        let t = |v: Option<i64>| v.map(crate::time::rfc3339);
        // CHECK constraints admit no other values.
        let state = HdState::parse(&self.state).unwrap_or(HdState::Reported);
        let open = state != HdState::Closed;
        let supervision = self.supervision_level.map(|level| Supervision {
            level,
            officer_id: self.supervising_officer_id,
            officer: self.supervising_officer,
            due: t(self.supervision_due),
            listed_at: t(self.supervision_listed_at),
            note: self.supervision_note,
            overdue: open && self.supervision_due.is_some_and(|d| now_ms > d),
        });
        HiddenDanger {
            id: self.id,
            enterprise_id: self.enterprise_id,
            enterprise_name: self.enterprise_name,
            town_code: self.town_code,
            town_name: self.town_name,
            industry_section: self.industry_section,
            lon: self.lon,
            lat: self.lat,
            risk_point_id: self.risk_point_id,
            risk_point_name: self.risk_point_name,
            alarm_id: self.alarm_id,
            location: self.location,
            description: self.description,
            source: self.source,
            category: self.category,
            level: HdLevel::parse(&self.level).unwrap_or(HdLevel::General),
            found_by: self.found_by,
            found_at: crate::time::rfc3339(self.found_at),
            reported_by: self.reported_by,
            state,
            measures: self.measures,
            funds: self.funds,
            responsible_person: self.responsible_person,
            deadline: t(self.deadline),
            contingency: self.contingency,
            rectification_result: self.rectification_result,
            rectified_at: t(self.rectified_at),
            closed_at: t(self.closed_at),
            closed_by: self.closed_by,
            close_evidence: self.close_evidence,
            overdue: open && self.overdue_at.is_some(),
            overdue_at: t(self.overdue_at),
            supervision,
            created_at: crate::time::rfc3339(self.created_at),
            updated_at: crate::time::rfc3339(self.updated_at),
        }
    }
}

fn by_id(id: &str) -> Sql {
    Sql::new(format!("{SELECT}{FROM} AND h.id = $1")).bind(id)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<HiddenDanger>, DbError> {
    let now = crate::db::now_ms();
    Ok(db
        .fetch_optional::<Row>(&by_id(id))
        .await?
        .map(|r| r.into_model(now)))
}

async fn get_tx(tx: &mut Tx, id: &str) -> Result<Option<HiddenDanger>, DbError> {
    let now = crate::db::now_ms();
    Ok(tx
        .fetch_optional::<Row>(&by_id(id))
        .await?
        .map(|r| r.into_model(now)))
}

/// A validated new hidden danger.
#[derive(Debug, Clone)]
pub struct NewHiddenDanger {
    pub enterprise_id: String,
    pub town_code: String,
    pub risk_point_id: Option<String>,
    pub alarm_id: Option<String>,
    pub location: String,
    pub description: String,
    pub source: String,
    pub category: String,
    pub level: HdLevel,
    pub found_by: String,
    pub found_at: i64,
    pub deadline: Option<i64>,
}

/// Who acts, for the timeline (display name) and the audit log (login name).
#[derive(Debug, Clone)]
pub struct HdActor {
    pub id: Option<String>,
    pub name: String,
    pub username: String,
}

impl HdActor {
    pub fn system(name: &str) -> HdActor {
        HdActor {
            id: None,
            name: name.to_string(),
            username: name.to_string(),
        }
    }

    fn audit(&self) -> Actor {
        Actor {
            user_id: self.id.clone(),
            username: self.username.clone(),
        }
    }
}

/// Writes the timeline entry, the audit entry and the live event of one change.
#[allow(clippy::too_many_arguments)]
async fn record(
    tx: &mut Tx,
    id: &str,
    at: i64,
    action: &str,
    from: Option<HdState>,
    to: Option<HdState>,
    actor: &HdActor,
    detail: Option<serde_json::Value>,
    before: Option<&HiddenDanger>,
) -> Result<Option<HiddenDanger>, DbError> {
    tx.execute(
        &Sql::new(
            "INSERT INTO hidden_danger_timeline (hidden_danger_id, at, action, from_state, to_state, actor_id, actor_name, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(at)
        .bind(action)
        .bind(from.map(|s| s.key()))
        .bind(to.map(|s| s.key()))
        .bind(actor.id.clone())
        .bind(actor.name.as_str())
        .bind(detail.as_ref().map(|d| d.to_string())),
    )
    .await?;
    let Some(after) = get_tx(tx, id).await? else {
        return Ok(None);
    };
    let before_json = before.and_then(|b| serde_json::to_value(b).ok());
    let after_json = serde_json::to_value(&after).ok();
    crate::audit::record(
        tx,
        &actor.audit(),
        "hidden_danger",
        id,
        action,
        before_json.as_ref(),
        after_json.as_ref(),
    )
    .await?;
    crate::events::publish(
        tx,
        crate::db::now_ms(),
        "hidden_danger",
        Some(&after.town_code),
        Some(&after.enterprise_id),
        &json!({"action": action, "hidden_danger": after}),
    )
    .await?;
    Ok(Some(after))
}

/// Stores a new hidden danger in `tx` (the caller commits; a check record or an alarm link
/// may share the transaction).
pub async fn insert(
    tx: &mut Tx,
    new: &NewHiddenDanger,
    actor: &HdActor,
    now_ms: i64,
) -> Result<HiddenDanger, ApiError> {
    let id = crate::db::new_id();
    tx.execute(
        &Sql::new(
            "INSERT INTO hidden_dangers (id, enterprise_id, town_code, risk_point_id, alarm_id, location, description, \
             source, category, level, found_by, found_at, reported_by, state, deadline, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'reported', $14, $15, $15)",
        )
        .bind(id.as_str())
        .bind(new.enterprise_id.as_str())
        .bind(new.town_code.as_str())
        .bind(new.risk_point_id.clone())
        .bind(new.alarm_id.clone())
        .bind(new.location.as_str())
        .bind(new.description.as_str())
        .bind(new.source.as_str())
        .bind(new.category.as_str())
        .bind(new.level.key())
        .bind(new.found_by.as_str())
        .bind(new.found_at)
        .bind(actor.id.clone())
        .bind(new.deadline)
        .bind(now_ms),
    )
    .await?;
    let detail = new.alarm_id.as_ref().map(|a| json!({"alarm_id": a}));
    record(
        tx,
        &id,
        now_ms,
        "reported",
        None,
        Some(HdState::Reported),
        actor,
        detail,
        None,
    )
    .await?
    .ok_or(ApiError::NotFound)
}

/// What a move carries. Validated by the routes before it gets here.
#[derive(Debug, Clone)]
pub enum Move {
    Rectify {
        measures: String,
        funds: f64,
        responsible_person: String,
        deadline: i64,
        contingency: String,
    },
    Submit {
        result: String,
    },
    Accept {
        note: Option<String>,
        evidence: Option<String>,
    },
    Reject {
        reason: String,
    },
    Close {
        evidence: String,
    },
    List {
        level: String,
        officer_id: Option<String>,
        officer: Option<String>,
        due: i64,
        note: Option<String>,
    },
}

impl Move {
    pub fn action(&self) -> HdAction {
        match self {
            Move::Rectify { .. } => HdAction::Rectify,
            Move::Submit { .. } => HdAction::Submit,
            Move::Accept { .. } => HdAction::Accept,
            Move::Reject { .. } => HdAction::Reject,
            Move::Close { .. } => HdAction::Close,
            Move::List { .. } => HdAction::List,
        }
    }
}

/// Applies a move already allowed by [`rules::transition`] from `before.state` to `to`. The
/// update is conditional on the state read, so two people moving the same record at once get
/// one success and one [`DbError::Conflict`].
pub async fn apply_move(
    tx: &mut Tx,
    before: &HiddenDanger,
    to: HdState,
    mv: &Move,
    actor: &HdActor,
    now_ms: i64,
) -> Result<HiddenDanger, ApiError> {
    let id = before.id.as_str();
    let (sets, args, detail): (&str, Vec<crate::db::Value>, serde_json::Value) = match mv {
        Move::Rectify {
            measures,
            funds,
            responsible_person,
            deadline,
            contingency,
        } => (
            "measures = $4, funds = $5, responsible_person = $6, deadline = $7, contingency = $8",
            vec![
                measures.clone().into(),
                (*funds).into(),
                responsible_person.clone().into(),
                (*deadline).into(),
                contingency.clone().into(),
            ],
            json!({"measures": measures, "funds": funds, "responsible_person": responsible_person,
                   "deadline": crate::time::rfc3339(*deadline), "contingency": contingency}),
        ),
        Move::Submit { result } => (
            "rectification_result = $4, rectified_at = $5",
            vec![result.clone().into(), now_ms.into()],
            json!({"result": result}),
        ),
        Move::Accept { note, evidence } => (
            "closed_at = $4, closed_by = $5, close_evidence = COALESCE($6, close_evidence)",
            vec![
                now_ms.into(),
                actor.id.clone().into(),
                evidence.clone().into(),
            ],
            json!({"note": note, "evidence": evidence}),
        ),
        Move::Reject { reason } => ("rectified_at = NULL", vec![], json!({"reason": reason})),
        Move::Close { evidence } => (
            "closed_at = $4, closed_by = $5, close_evidence = $6",
            vec![
                now_ms.into(),
                actor.id.clone().into(),
                evidence.clone().into(),
            ],
            json!({"evidence": evidence}),
        ),
        Move::List {
            level,
            officer_id,
            officer,
            due,
            note,
        } => (
            "supervision_level = $4, supervising_officer_id = $5, supervising_officer = $6, \
             supervision_due = $7, supervision_note = $8, supervision_listed_at = $9",
            vec![
                level.clone().into(),
                officer_id.clone().into(),
                officer.clone().into(),
                (*due).into(),
                note.clone().into(),
                now_ms.into(),
            ],
            json!({"level": level, "officer": officer, "officer_id": officer_id,
                   "due": crate::time::rfc3339(*due), "note": note}),
        ),
    };
    let mut sql = Sql::new(format!(
        "UPDATE hidden_dangers SET state = $1, updated_at = $2{}{sets} WHERE id = $3 AND state = ${}",
        if sets.is_empty() { "" } else { ", " },
        args.len() + 4
    ))
    .bind(to.key())
    .bind(now_ms)
    .bind(id);
    for a in args {
        sql.args.push(a);
    }
    sql.args.push(before.state.key().into());
    if tx.execute(&sql).await? == 0 {
        return Err(ApiError::Conflict {
            field: None,
            message: "the hidden danger changed meanwhile; reload it".into(),
        });
    }
    let from = before.state;
    record(
        tx,
        id,
        now_ms,
        mv.action().key(),
        Some(from),
        Some(to),
        actor,
        Some(detail),
        Some(before),
    )
    .await?
    .ok_or(ApiError::NotFound)
}

/// Flags every open hidden danger past its deadline at `now_ms` (one millisecond after the
/// deadline, not at it), each with a timeline entry and a live event. Returns how many.
pub async fn sweep_overdue(db: &Db, now_ms: i64) -> Result<usize, DbError> {
    let due: Vec<(String,)> = db
        .fetch_all(
            &Sql::new(
                "SELECT id FROM hidden_dangers WHERE state <> 'closed' AND overdue_at IS NULL \
                 AND deadline IS NOT NULL AND deadline < $1 ORDER BY deadline LIMIT 1000",
            )
            .bind(now_ms),
        )
        .await?;
    let mut flagged = 0;
    let system = HdActor::system("system");
    for (id,) in due {
        let mut tx = db.begin().await?;
        let Some(before) = get_tx(&mut tx, &id).await? else {
            continue;
        };
        let deadline = before.deadline.as_deref().and_then(crate::time::parse_time);
        if !rules::is_overdue(before.state, deadline, now_ms) {
            continue;
        }
        let n = tx
            .execute(
                &Sql::new(
                    "UPDATE hidden_dangers SET overdue_at = $1, updated_at = $1 \
                     WHERE id = $2 AND overdue_at IS NULL AND state <> 'closed'",
                )
                .bind(now_ms)
                .bind(id.as_str()),
            )
            .await?;
        if n == 0 {
            continue;
        }
        record(
            &mut tx,
            &id,
            now_ms,
            "overdue",
            Some(before.state),
            Some(before.state),
            &system,
            Some(json!({"deadline": before.deadline})),
            Some(&before),
        )
        .await?;
        tx.commit().await?;
        flagged += 1;
    }
    if flagged > 0 {
        metrics::counter!("yingji_hidden_dangers_overdue_total").increment(flagged as u64);
    }
    Ok(flagged)
}

/// Filters of the hidden-danger list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<HdState>,
    /// `open`: any state but closed.
    pub open: bool,
    pub level: Option<HdLevel>,
    pub source: Option<String>,
    pub category: Option<String>,
    pub town_code: Option<String>,
    pub enterprise_id: Option<String>,
    pub risk_point_id: Option<String>,
    pub overdue: Option<bool>,
    pub supervised: Option<bool>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub q: Option<String>,
}

impl Filter {
    fn sql(&self, scope: &Scope) -> Sql {
        let mut sql = Sql::new("");
        scope.filter(&mut sql, "h.town_code", Some("h.enterprise_id"));
        if let Some(s) = self.state {
            let p = sql.arg(s.key());
            sql.push(&format!(" AND h.state = {p}"));
        }
        if self.open {
            sql.push(" AND h.state <> 'closed'");
        }
        if let Some(l) = self.level {
            let p = sql.arg(l.key());
            sql.push(&format!(" AND h.level = {p}"));
        }
        for (col, v) in [
            ("h.source", &self.source),
            ("h.category", &self.category),
            ("h.town_code", &self.town_code),
            ("h.enterprise_id", &self.enterprise_id),
            ("h.risk_point_id", &self.risk_point_id),
        ] {
            if let Some(v) = v {
                let p = sql.arg(v.as_str());
                sql.push(&format!(" AND {col} = {p}"));
            }
        }
        match self.overdue {
            Some(true) => {
                sql.push(" AND h.overdue_at IS NOT NULL AND h.state <> 'closed'");
            }
            Some(false) => {
                sql.push(" AND (h.overdue_at IS NULL OR h.state = 'closed')");
            }
            None => {}
        }
        match self.supervised {
            Some(true) => {
                sql.push(" AND h.supervision_level IS NOT NULL");
            }
            Some(false) => {
                sql.push(" AND h.supervision_level IS NULL");
            }
            None => {}
        }
        if let Some(f) = self.from_ms {
            let p = sql.arg(f);
            sql.push(&format!(" AND h.found_at >= {p}"));
        }
        if let Some(t) = self.to_ms {
            let p = sql.arg(t);
            sql.push(&format!(" AND h.found_at < {p}"));
        }
        if let Some(q) = self.q.as_deref().filter(|q| !q.is_empty()) {
            let pattern = format!(
                "%{}%",
                q.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            let p = sql.arg(pattern);
            sql.push(&format!(
                " AND (h.description LIKE {p} ESCAPE '\\' OR h.location LIKE {p} ESCAPE '\\' OR e.name LIKE {p} ESCAPE '\\')"
            ));
        }
        sql
    }
}

pub async fn list(
    db: &Db,
    scope: &Scope,
    filter: &Filter,
    paging: crate::paging::Paging,
) -> Result<(Vec<HiddenDanger>, i64), DbError> {
    let now = crate::db::now_ms();
    let (rows, total) = db
        .fetch_page::<Row>(
            FROM,
            &format!("{SELECT}{FROM}"),
            filter.sql(scope),
            "ORDER BY h.found_at DESC, h.id DESC",
            Some(paging),
        )
        .await?;
    Ok((rows.into_iter().map(|r| r.into_model(now)).collect(), total))
}

/// The supervision board: listed for supervision and not closed, the most urgent first.
pub async fn supervision_board(
    db: &Db,
    scope: &Scope,
    level: Option<&str>,
) -> Result<Vec<HiddenDanger>, DbError> {
    let now = crate::db::now_ms();
    let mut sql = Sql::new(format!(
        "{SELECT}{FROM} AND h.supervision_level IS NOT NULL AND h.state <> 'closed'"
    ));
    scope.filter(&mut sql, "h.town_code", Some("h.enterprise_id"));
    if let Some(l) = level {
        let p = sql.arg(l);
        sql.push(&format!(" AND h.supervision_level = {p}"));
    }
    sql.push(" ORDER BY h.supervision_due, h.found_at");
    Ok(db
        .fetch_all::<Row>(&sql)
        .await?
        .into_iter()
        .map(|r| r.into_model(now))
        .collect())
}

/// Counts per state, overdue and supervised, in scope: the board's header.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Board {
    pub reported: i64,
    pub rectifying: i64,
    pub awaiting_acceptance: i64,
    pub closed: i64,
    /// Open and past the deadline.
    pub overdue: i64,
    /// Open major hidden dangers.
    pub open_major: i64,
    /// Listed for supervision and not closed.
    pub supervised: i64,
}

pub async fn board(db: &Db, scope: &Scope) -> Result<Board, DbError> {
    let mut sql = Sql::new(
        "SELECT h.state, CAST(COUNT(*) AS BIGINT), \
         CAST(SUM(CASE WHEN h.overdue_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN h.level = 'major' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN h.supervision_level IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) \
         FROM hidden_dangers h WHERE 1 = 1",
    );
    scope.filter(&mut sql, "h.town_code", Some("h.enterprise_id"));
    sql.push(" GROUP BY h.state");
    let rows: Vec<(String, i64, i64, i64, i64)> = db.fetch_all(&sql).await?;
    let mut b = Board::default();
    for (state, n, overdue, major, supervised) in rows {
        match HdState::parse(&state) {
            Some(HdState::Reported) => b.reported = n,
            Some(HdState::Rectifying) => b.rectifying = n,
            Some(HdState::AwaitingAcceptance) => b.awaiting_acceptance = n,
            Some(HdState::Closed) => {
                b.closed = n;
                continue;
            }
            None => continue,
        }
        b.overdue += overdue;
        b.open_major += major;
        b.supervised += supervised;
    }
    Ok(b)
}

pub async fn timeline(db: &Db, id: &str) -> Result<Vec<TimelineEntry>, DbError> {
    #[derive(sqlx::FromRow)]
    struct T {
        at: i64,
        action: String,
        from_state: Option<String>,
        to_state: Option<String>,
        actor_name: Option<String>,
        detail: Option<String>,
    }
    let rows: Vec<T> = db
        .fetch_all(
            &Sql::new(
                "SELECT at, action, from_state, to_state, actor_name, detail FROM hidden_danger_timeline \
                 WHERE hidden_danger_id = $1 ORDER BY id",
            )
            .bind(id),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|t| TimelineEntry {
            at: crate::time::rfc3339(t.at),
            action: t.action,
            from_state: t.from_state,
            to_state: t.to_state,
            actor_name: t.actor_name,
            detail: t.detail.and_then(|d| serde_json::from_str(&d).ok()),
        })
        .collect())
}

/// Open major hidden dangers and, for the commitment rule, of one enterprise.
pub async fn open_major_count(tx: &mut Tx, enterprise_id: &str) -> Result<i64, DbError> {
    tx.fetch_scalar(
        &Sql::new(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM hidden_dangers \
             WHERE enterprise_id = $1 AND level = 'major' AND state <> 'closed'",
        )
        .bind(enterprise_id),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Photos

#[derive(Debug, sqlx::FromRow)]
pub struct PhotoRow {
    pub id: String,
    pub hidden_danger_id: String,
    pub stage: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub uploaded_at: i64,
}

impl PhotoRow {
    pub fn into_model(self) -> Photo {
        Photo {
            url: format!(
                "/api/v1/hidden-dangers/{}/photos/{}",
                self.hidden_danger_id, self.id
            ),
            id: self.id,
            stage: self.stage,
            file_name: self.file_name,
            content_type: self.content_type,
            size_bytes: self.size_bytes,
            uploaded_at: crate::time::rfc3339(self.uploaded_at),
        }
    }
}

const PHOTO_SELECT: &str = "SELECT id, hidden_danger_id, stage, file_name, content_type, size_bytes, uploaded_at \
     FROM hidden_danger_photos";

pub async fn photos(db: &Db, hidden_danger_id: &str) -> Result<Vec<Photo>, DbError> {
    let rows: Vec<PhotoRow> = db
        .fetch_all(
            &Sql::new(format!(
                "{PHOTO_SELECT} WHERE hidden_danger_id = $1 ORDER BY uploaded_at, id"
            ))
            .bind(hidden_danger_id),
        )
        .await?;
    Ok(rows.into_iter().map(PhotoRow::into_model).collect())
}

pub async fn photo(db: &Db, hidden_danger_id: &str, id: &str) -> Result<Option<PhotoRow>, DbError> {
    db.fetch_optional(
        &Sql::new(format!(
            "{PHOTO_SELECT} WHERE hidden_danger_id = $1 AND id = $2"
        ))
        .bind(hidden_danger_id)
        .bind(id),
    )
    .await
}

/// Records an uploaded photo (the file is already in place) with its timeline entry.
#[allow(clippy::too_many_arguments)]
pub async fn insert_photo(
    tx: &mut Tx,
    hd: &HiddenDanger,
    photo_id: &str,
    stage: &str,
    file_name: &str,
    content_type: &str,
    size_bytes: i64,
    sha256: &str,
    actor: &HdActor,
    now_ms: i64,
) -> Result<(), DbError> {
    tx.execute(
        &Sql::new(
            "INSERT INTO hidden_danger_photos (id, hidden_danger_id, stage, file_name, content_type, size_bytes, sha256, uploaded_at, uploaded_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(photo_id)
        .bind(hd.id.as_str())
        .bind(stage)
        .bind(file_name)
        .bind(content_type)
        .bind(size_bytes)
        .bind(sha256)
        .bind(now_ms)
        .bind(actor.id.clone()),
    )
    .await?;
    record(
        tx,
        &hd.id,
        now_ms,
        "photo",
        None,
        None,
        actor,
        Some(json!({"photo_id": photo_id, "stage": stage, "file_name": file_name})),
        None,
    )
    .await?;
    Ok(())
}
