//! Warnings and their relays in the database. Every step of the workflow changes the rows,
//! writes the audit entry and the live event in one transaction; publishing also freezes the
//! CAP document, creates the towns' relays and queues the deliveries, so a published warning
//! always has all three. Steps are conditional updates on the expected state: of two
//! concurrent approvers, one wins and the other gets 409.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::area::{self, TownShape};
use super::cap;
use super::model::{self, Area, Content, State, Step};
use crate::audit::Actor;
use crate::colour::Colour;
use crate::config::WarningSettings;
use crate::db::{Db, DbError, Sql, Tx};
use crate::error::ApiError;

/// The district's administrative code (GB/T 2260), first part of every CAP identifier.
pub const DISTRICT_CODE: &str = "120114";

/// An import without `<expires>` is taken to be in force this long after it takes effect.
pub const IMPORT_DEFAULT_VALIDITY_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Warning {
    pub id: String,
    /// CAP identifier: set at publish (GB/T 35965.1), the issuer's for imports.
    pub identifier: Option<String>,
    pub sender: String,
    pub sender_name: String,
    /// `local` or `imported`.
    pub source: String,
    /// `Alert`, `Update` or `Cancel`.
    pub msg_type: String,
    /// CAP status: `Actual`, `Exercise`, `Test` (imports may carry `System`, `Draft`).
    pub status: String,
    /// `public` or `restricted` (imports may be `private`).
    pub scope: String,
    pub event_type: String,
    /// The event as the issuer named it (imports) or the type's Chinese name.
    pub event_name: String,
    pub level: Option<Colour>,
    pub urgency: String,
    pub severity: String,
    pub certainty: String,
    pub response_type: Option<String>,
    pub headline: String,
    pub description: String,
    pub instruction: String,
    pub headline_en: Option<String>,
    pub description_en: Option<String>,
    pub instruction_en: Option<String>,
    /// The area as composed: `{"kind":"towns"|"polygon"|"circle"|"imported", ...}`.
    pub area: Value,
    pub area_desc: String,
    /// The target towns.
    pub town_codes: Vec<String>,
    pub town_names: Vec<String>,
    /// GeoJSON geometry of the area (MultiPolygon).
    pub geometry: Option<Value>,
    pub effective_at: String,
    pub onset_at: Option<String>,
    pub expires_at: String,
    pub state: State,
    /// Live (published, imported or relayed) and not yet expired.
    pub in_force: bool,
    pub references_id: Option<String>,
    pub superseded_by_id: Option<String>,
    /// CAP `sent`.
    pub sent_at: Option<String>,
    pub created_by: Option<String>,
    pub created_by_name: Option<String>,
    pub submitted_by: Option<String>,
    pub submitted_by_name: Option<String>,
    pub submitted_at: Option<String>,
    pub approved_by: Option<String>,
    pub approved_by_name: Option<String>,
    pub approved_at: Option<String>,
    pub published_by: Option<String>,
    pub published_by_name: Option<String>,
    pub published_at: Option<String>,
    pub reject_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The steps the caller may take now (filled per request).
    #[serde(default)]
    pub available_steps: Vec<Step>,
}

const NAME: &str = "CASE WHEN {u}.display_name = '' THEN {u}.username ELSE {u}.display_name END";

fn select() -> String {
    let n = |u: &str| NAME.replace("{u}", u);
    format!(
        "SELECT w.id, w.identifier, w.sender, w.sender_name, w.source, w.msg_type, w.status, w.scope, w.event_type, \
         w.event_name, w.level, w.urgency, w.severity, w.certainty, w.response_type, w.headline, w.description, \
         w.instruction, w.headline_en, w.description_en, w.instruction_en, w.area, w.area_desc, w.town_codes, \
         w.geometry, w.effective_at, w.onset_at, w.expires_at, w.state, w.references_id, w.superseded_by_id, \
         w.sent_at, w.created_by, {} AS created_by_name, w.submitted_by, {} AS submitted_by_name, w.submitted_at, \
         w.approved_by, {} AS approved_by_name, w.approved_at, w.published_by, {} AS published_by_name, \
         w.published_at, w.reject_reason, w.cancel_reason, w.created_at, w.updated_at ",
        n("uc"),
        n("us"),
        n("ua"),
        n("up")
    )
}

const FROM: &str = "FROM warnings w LEFT JOIN users uc ON uc.id = w.created_by \
     LEFT JOIN users us ON us.id = w.submitted_by LEFT JOIN users ua ON ua.id = w.approved_by \
     LEFT JOIN users up ON up.id = w.published_by WHERE 1 = 1";

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: String,
    identifier: Option<String>,
    sender: String,
    sender_name: String,
    source: String,
    msg_type: String,
    status: String,
    scope: String,
    event_type: String,
    event_name: String,
    level: Option<String>,
    urgency: String,
    severity: String,
    certainty: String,
    response_type: Option<String>,
    headline: String,
    description: String,
    instruction: String,
    headline_en: Option<String>,
    description_en: Option<String>,
    instruction_en: Option<String>,
    area: String,
    area_desc: String,
    town_codes: String,
    geometry: Option<String>,
    effective_at: i64,
    onset_at: Option<i64>,
    expires_at: i64,
    state: String,
    references_id: Option<String>,
    superseded_by_id: Option<String>,
    sent_at: Option<i64>,
    created_by: Option<String>,
    created_by_name: Option<String>,
    submitted_by: Option<String>,
    submitted_by_name: Option<String>,
    submitted_at: Option<i64>,
    approved_by: Option<String>,
    approved_by_name: Option<String>,
    approved_at: Option<i64>,
    published_by: Option<String>,
    published_by_name: Option<String>,
    published_at: Option<i64>,
    reject_reason: Option<String>,
    cancel_reason: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl Row {
    fn into_model(self, now_ms: i64, names: &HashMap<String, String>) -> Warning {
        let t = |v: Option<i64>| v.map(crate::time::rfc3339);
        // CHECK constraints admit no other values.
        let state = State::parse(&self.state).unwrap_or(State::Draft);
        let town_codes: Vec<String> = serde_json::from_str(&self.town_codes).unwrap_or_default();
        Warning {
            town_names: town_codes
                .iter()
                .map(|c| names.get(c).cloned().unwrap_or_else(|| c.clone()))
                .collect(),
            town_codes,
            in_force: model::in_force(state, self.expires_at, now_ms),
            id: self.id,
            identifier: self.identifier,
            sender: self.sender,
            sender_name: self.sender_name,
            source: self.source,
            msg_type: self.msg_type,
            status: self.status,
            scope: self.scope,
            event_type: self.event_type,
            event_name: self.event_name,
            level: self.level.as_deref().and_then(Colour::parse),
            urgency: self.urgency,
            severity: self.severity,
            certainty: self.certainty,
            response_type: self.response_type,
            headline: self.headline,
            description: self.description,
            instruction: self.instruction,
            headline_en: self.headline_en,
            description_en: self.description_en,
            instruction_en: self.instruction_en,
            area: serde_json::from_str(&self.area).unwrap_or(Value::Null),
            area_desc: self.area_desc,
            geometry: self.geometry.and_then(|g| serde_json::from_str(&g).ok()),
            effective_at: crate::time::rfc3339(self.effective_at),
            onset_at: t(self.onset_at),
            expires_at: crate::time::rfc3339(self.expires_at),
            state,
            references_id: self.references_id,
            superseded_by_id: self.superseded_by_id,
            sent_at: t(self.sent_at),
            created_by: self.created_by,
            created_by_name: self.created_by_name,
            submitted_by: self.submitted_by,
            submitted_by_name: self.submitted_by_name,
            submitted_at: t(self.submitted_at),
            approved_by: self.approved_by,
            approved_by_name: self.approved_by_name,
            approved_at: t(self.approved_at),
            published_by: self.published_by,
            published_by_name: self.published_by_name,
            published_at: t(self.published_at),
            reject_reason: self.reject_reason,
            cancel_reason: self.cancel_reason,
            created_at: crate::time::rfc3339(self.created_at),
            updated_at: crate::time::rfc3339(self.updated_at),
            available_steps: vec![],
        }
    }

    /// The content a local message was composed with (for CAP and for copies).
    fn content(&self) -> Content {
        Content {
            status: self.status.clone(),
            scope: self.scope.clone(),
            event_type: self.event_type.clone(),
            level: self
                .level
                .as_deref()
                .and_then(Colour::parse)
                .or_else(|| model::level_from_severity(&self.severity))
                .unwrap_or(Colour::Blue),
            urgency: self.urgency.clone(),
            certainty: self.certainty.clone(),
            response_type: self.response_type.clone(),
            headline: self.headline.clone(),
            description: self.description.clone(),
            instruction: self.instruction.clone(),
            headline_en: self.headline_en.clone(),
            description_en: self.description_en.clone(),
            instruction_en: self.instruction_en.clone(),
            area: serde_json::from_str(&self.area).unwrap_or(Area::Imported),
            area_desc: self.area_desc.clone(),
            effective_at: self.effective_at,
            onset_at: self.onset_at,
            expires_at: self.expires_at,
        }
    }

    /// The stored content with its towns, area description and geometry, as composed.
    fn composed(&self) -> Composed {
        Composed {
            content: self.content(),
            town_codes: self.town_codes(),
            area_desc: self.area_desc.clone(),
            geometry: self
                .geometry
                .as_deref()
                .and_then(|g| serde_json::from_str(g).ok())
                .unwrap_or(Value::Null),
        }
    }

    fn town_codes(&self) -> Vec<String> {
        serde_json::from_str(&self.town_codes).unwrap_or_default()
    }
}

/// Town code → name, for the lists.
pub async fn town_names(db: &Db) -> Result<HashMap<String, String>, DbError> {
    #[derive(sqlx::FromRow)]
    struct N {
        code: String,
        name: String,
    }
    let rows: Vec<N> = db
        .fetch_all(&Sql::new("SELECT code, name FROM admin_units"))
        .await?;
    Ok(rows.into_iter().map(|n| (n.code, n.name)).collect())
}

fn by_id(id: &str) -> Sql {
    Sql::new(format!("{}{FROM} AND w.id = $1", select())).bind(id)
}

pub async fn get(db: &Db, id: &str, now_ms: i64) -> Result<Option<Warning>, DbError> {
    let names = town_names(db).await?;
    Ok(db
        .fetch_optional::<Row>(&by_id(id))
        .await?
        .map(|r| r.into_model(now_ms, &names)))
}

async fn row_tx(tx: &mut Tx, id: &str) -> Result<Option<Row>, DbError> {
    tx.fetch_optional::<Row>(&by_id(id)).await
}

/// The stored CAP document (published or imported).
pub async fn cap_xml(db: &Db, id: &str) -> Result<Option<String>, DbError> {
    db.fetch_scalar::<Option<String>>(
        &Sql::new("SELECT cap_xml FROM warnings WHERE id = $1").bind(id),
    )
    .await
    .or_else(|e| match e {
        DbError::Sqlx(sqlx::Error::RowNotFound) => Ok(None),
        e => Err(e),
    })
}

/// A stored warning's content as composed (the CAP preview of a draft).
pub async fn composed_of(db: &Db, id: &str) -> Result<Option<(Composed, String)>, DbError> {
    Ok(db
        .fetch_optional::<Row>(&by_id(id))
        .await?
        .map(|r| (r.composed(), r.msg_type)))
}

/// Filters of the warning list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ListFilter {
    /// One state, or several separated by commas.
    pub state: Option<String>,
    /// `local` or `imported`.
    pub source: Option<String>,
    pub event_type: Option<String>,
    pub level: Option<String>,
    /// `true`: in force now; `false`: not (drafts, past).
    pub in_force: Option<bool>,
    /// Warnings targeting this town.
    pub town_code: Option<String>,
    /// Text in the headline, description, area or identifier.
    pub q: Option<String>,
    /// Created, sent or published at or after (RFC 3339).
    pub from: Option<String>,
    pub to: Option<String>,
}

/// What the caller may see besides published warnings.
#[derive(Debug, Clone, Copy)]
pub struct Visibility {
    /// Drafts, submitted and approved ones (composers and approvers).
    pub unpublished: bool,
    /// Restricted ones (staff, not enterprises).
    pub restricted: bool,
}

const LIVE_STATES: &str = "('published', 'imported', 'relayed')";

pub async fn list(
    db: &Db,
    f: &ListFilter,
    vis: Visibility,
    paging: crate::paging::Paging,
    now_ms: i64,
) -> Result<crate::paging::Page<Warning>, ApiError> {
    let mut sql = Sql::new("");
    if !vis.unpublished {
        sql.push(" AND w.state NOT IN ('draft', 'submitted', 'approved')");
    }
    if !vis.restricted {
        sql.push(" AND w.scope = 'public'");
    }
    if let Some(states) = crate::input::non_empty(&f.state) {
        let mut keys = vec![];
        for s in states.split(',') {
            let st = State::parse(s).ok_or_else(|| {
                ApiError::validation("state", format!("unknown state {:?}", s.trim()))
            })?;
            keys.push(sql.arg(st.key()));
        }
        sql.push(&format!(" AND w.state IN ({})", keys.join(", ")));
    }
    if let Some(s) = crate::input::non_empty(&f.source) {
        if !matches!(s, "local" | "imported") {
            return Err(ApiError::validation(
                "source",
                "source is local or imported",
            ));
        }
        let p = sql.arg(s);
        sql.push(&format!(" AND w.source = {p}"));
    }
    if let Some(t) = crate::input::non_empty(&f.event_type) {
        let p = sql.arg(t);
        sql.push(&format!(" AND w.event_type = {p}"));
    }
    if let Some(l) = crate::input::non_empty(&f.level) {
        let c = Colour::parse(l)
            .ok_or_else(|| ApiError::validation("level", "level is blue, yellow, orange or red"))?;
        let p = sql.arg(c.key());
        sql.push(&format!(" AND w.level = {p}"));
    }
    if let Some(live) = f.in_force {
        let p = sql.arg(now_ms);
        if live {
            sql.push(&format!(
                " AND w.state IN {LIVE_STATES} AND w.expires_at > {p}"
            ));
        } else {
            sql.push(&format!(
                " AND NOT (w.state IN {LIVE_STATES} AND w.expires_at > {p})"
            ));
        }
    }
    if let Some(town) = crate::input::non_empty(&f.town_code) {
        let p = sql.arg(format!("%\"{town}\"%"));
        sql.push(&format!(" AND w.town_codes LIKE {p}"));
    }
    if let Some(q) = crate::input::non_empty(&f.q) {
        sql.push_contains(
            q,
            &["w.headline", "w.description", "w.area_desc", "w.identifier"],
        );
    }
    let at = "COALESCE(w.published_at, w.sent_at, w.created_at)";
    if let Some(from) = crate::input::non_empty(&f.from) {
        let ms = crate::time::parse_time(from)
            .ok_or_else(|| ApiError::validation("from", "from must be an RFC 3339 time"))?;
        let p = sql.arg(ms);
        sql.push(&format!(" AND {at} >= {p}"));
    }
    if let Some(to) = crate::input::non_empty(&f.to) {
        let ms = crate::time::parse_time(to)
            .ok_or_else(|| ApiError::validation("to", "to must be an RFC 3339 time"))?;
        let p = sql.arg(ms);
        sql.push(&format!(" AND {at} < {p}"));
    }
    let names = town_names(db).await?;
    let (rows, total) = db
        .fetch_page::<Row>(
            "FROM warnings w WHERE 1 = 1",
            &format!("{}{FROM}", select()),
            sql,
            &format!("ORDER BY {at} DESC, w.id DESC"),
            Some(paging),
        )
        .await?;
    Ok(crate::paging::Page {
        items: rows
            .into_iter()
            .map(|r| r.into_model(now_ms, &names))
            .collect(),
        total,
    })
}

/// Live warnings in force now, newest first (maps, the public feed).
pub async fn in_force(db: &Db, public_only: bool, now_ms: i64) -> Result<Vec<Warning>, DbError> {
    let mut sql = Sql::new(format!(
        "{}{FROM} AND w.state IN {LIVE_STATES} AND w.expires_at > $1",
        select()
    ))
    .bind(now_ms);
    if public_only {
        // The public sees what the district put out: its own messages and relayed imports.
        sql.push(" AND w.scope = 'public' AND w.status = 'Actual' AND w.state <> 'imported'");
    }
    sql.push(" ORDER BY COALESCE(w.sent_at, w.created_at) DESC");
    let names = town_names(db).await?;
    Ok(db
        .fetch_all::<Row>(&sql)
        .await?
        .into_iter()
        .map(|r| r.into_model(now_ms, &names))
        .collect())
}

/// What the public feed carries: public warnings in force, and the Cancel messages of the
/// last day so that a feed reader learns a warning was lifted rather than seeing it vanish.
pub async fn feed_messages(db: &Db, now_ms: i64) -> Result<Vec<Warning>, DbError> {
    let sql = Sql::new(format!(
        "{}{FROM} AND w.scope = 'public' AND w.status = 'Actual' AND ((w.state IN ('published', 'relayed') \
         AND w.expires_at > $1) OR (w.msg_type = 'Cancel' AND w.source = 'local' AND w.sent_at > $2)) \
         ORDER BY COALESCE(w.sent_at, w.created_at) DESC",
        select()
    ))
    .bind(now_ms)
    .bind(now_ms - 86_400_000);
    let names = town_names(db).await?;
    Ok(db
        .fetch_all::<Row>(&sql)
        .await?
        .into_iter()
        .map(|r| r.into_model(now_ms, &names))
        .collect())
}

/// A composed warning with its target towns resolved.
pub struct Composed {
    pub content: Content,
    pub town_codes: Vec<String>,
    pub area_desc: String,
    pub geometry: Value,
}

/// Resolves the towns of composed content (422 naming the area field when it reaches none).
pub fn compose(content: Content, towns: &[TownShape]) -> Result<Composed, ApiError> {
    content
        .validate()
        .map_err(|e| ApiError::validation(e.field, e.message))?;
    let hit = area::resolve(&content.area, towns)
        .map_err(|e| ApiError::validation(e.field, e.message))?;
    let area_desc = match content.area_desc.trim() {
        "" => area::default_area_desc(&hit),
        d => d.to_string(),
    };
    Ok(Composed {
        town_codes: hit.iter().map(|t| t.code.clone()).collect(),
        geometry: area::geometry(&content.area, &hit),
        area_desc,
        content,
    })
}

/// Builds the CAP document of composed content (preview and publish share this).
pub fn build_cap(
    c: &Composed,
    towns: &[TownShape],
    settings: &WarningSettings,
    identifier: &str,
    sent_ms: i64,
    msg_type: &str,
    references: Vec<cap::Reference>,
) -> String {
    let targets: Vec<model::TownArea> = towns
        .iter()
        .filter(|t| c.town_codes.contains(&t.code))
        .map(TownShape::town_area)
        .collect();
    let mut content = c.content.clone();
    content.area_desc = c.area_desc.clone();
    let web = public_page(settings);
    let whole_district = !towns.is_empty() && targets.len() == towns.len();
    let ctx = cap::BuildContext {
        district_code: whole_district.then_some(DISTRICT_CODE),
        identifier,
        sender: &settings.sender,
        sender_name: &settings.sender_name,
        sent_ms,
        msg_type,
        references,
        towns: &targets,
        web: Some(web.as_str()),
        note: None,
    };
    cap::to_xml(&cap::build(&content, &ctx))
}

/// The public page's address (CAP `web`).
pub fn public_page(settings: &WarningSettings) -> String {
    format!("{}/public", settings.public_url.trim_end_matches('/'))
}

fn actor_of(user: &crate::auth::CurrentUser) -> Actor {
    user.actor()
}

async fn audit_and_event(
    tx: &mut Tx,
    actor: &Actor,
    id: &str,
    action: &str,
    before: Option<&Warning>,
    names: &HashMap<String, String>,
    now_ms: i64,
) -> Result<Warning, ApiError> {
    let after = row_tx(tx, id)
        .await?
        .ok_or(ApiError::NotFound)?
        .into_model(now_ms, names);
    let before_json = before.and_then(|b| serde_json::to_value(b).ok());
    let after_json = serde_json::to_value(&after).ok();
    crate::audit::record_at(
        tx,
        now_ms,
        actor,
        "warning",
        id,
        action,
        before_json.as_ref(),
        after_json.as_ref(),
    )
    .await?;
    // Drafts and restricted warnings are not news for towns' and enterprises' screens.
    let audience = (after.state.is_unpublished() || after.scope != "public")
        .then_some(crate::events::DISTRICT_STAFF);
    crate::events::publish(
        tx,
        crate::db::now_ms(),
        "warning",
        audience,
        None,
        &json!({"id": after.id, "action": action, "state": after.state, "headline": after.headline,
                "level": after.level, "event_type": after.event_type, "in_force": after.in_force}),
    )
    .await?;
    Ok(after)
}

/// The columns a composer writes, in the order [`bind_content`] binds them: a draft's insert
/// and its edit share them.
const CONTENT_COLUMNS: [&str; 22] = [
    "status",
    "scope",
    "event_type",
    "event_name",
    "level",
    "urgency",
    "severity",
    "certainty",
    "response_type",
    "headline",
    "description",
    "instruction",
    "headline_en",
    "description_en",
    "instruction_en",
    "area",
    "area_desc",
    "town_codes",
    "geometry",
    "effective_at",
    "onset_at",
    "expires_at",
];

fn bind_content(sql: Sql, c: &Composed) -> Sql {
    let k = &c.content;
    sql.bind(k.status.as_str())
        .bind(k.scope.as_str())
        .bind(k.event_type.as_str())
        .bind(model::event_type(&k.event_type).map_or("", |t| t.zh))
        .bind(k.level.key())
        .bind(k.urgency.as_str())
        .bind(model::severity(k.level))
        .bind(k.certainty.as_str())
        .bind(k.response_type.clone())
        .bind(k.headline.as_str())
        .bind(k.description.as_str())
        .bind(k.instruction.as_str())
        .bind(k.headline_en.clone())
        .bind(k.description_en.clone())
        .bind(k.instruction_en.clone())
        .bind(json!(k.area).to_string())
        .bind(c.area_desc.as_str())
        .bind(json!(c.town_codes).to_string())
        .bind(c.geometry.to_string())
        .bind(k.effective_at)
        .bind(k.onset_at)
        .bind(k.expires_at)
}

/// Saves a new draft (`references` for an update of a published warning).
pub async fn create_draft(
    db: &Db,
    c: &Composed,
    user: &crate::auth::CurrentUser,
    settings: &WarningSettings,
    msg_type: &str,
    references_id: Option<&str>,
    now_ms: i64,
) -> Result<Warning, ApiError> {
    let id = crate::db::new_id();
    let names = town_names(db).await?;
    let mut tx = db.begin().await?;
    let columns = CONTENT_COLUMNS.join(", ");
    let values = (8..8 + CONTENT_COLUMNS.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = Sql::new(format!(
        "INSERT INTO warnings (id, sender, sender_name, source, msg_type, references_id, created_by, state, created_at, \
         updated_at, {columns}) VALUES ($1, $2, $3, 'local', $4, $5, $6, 'draft', $7, $7, {values})"
    ))
    .bind(id.as_str())
    .bind(settings.sender.as_str())
    .bind(settings.sender_name.as_str())
    .bind(msg_type)
    .bind(references_id.map(str::to_string))
    .bind(user.id.as_str());
    tx.execute(&bind_content(sql.bind(now_ms), c)).await?;
    let w = audit_and_event(&mut tx, &actor_of(user), &id, "draft", None, &names, now_ms).await?;
    tx.commit().await?;
    Ok(w)
}

/// Replaces a draft's content.
pub async fn update_draft(
    db: &Db,
    id: &str,
    c: &Composed,
    user: &crate::auth::CurrentUser,
    now_ms: i64,
) -> Result<Warning, ApiError> {
    let names = town_names(db).await?;
    let mut tx = db.begin().await?;
    let row = row_tx(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    check(Step::Edit, &row, user)?;
    let before = Some(row.into_model(now_ms, &names));
    let sets = CONTENT_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, col)| format!("{col} = ${}", i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = Sql::new(format!(
        "UPDATE warnings SET updated_at = $2, {sets} WHERE id = $1 AND state = 'draft'"
    ))
    .bind(id)
    .bind(now_ms);
    let n = tx.execute(&bind_content(sql, c)).await?;
    if n == 0 {
        return Err(changed_meanwhile());
    }
    let w = audit_and_event(
        &mut tx,
        &actor_of(user),
        id,
        "edit",
        before.as_ref(),
        &names,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(w)
}

pub async fn delete_draft(
    db: &Db,
    id: &str,
    user: &crate::auth::CurrentUser,
    now_ms: i64,
) -> Result<(), ApiError> {
    let names = town_names(db).await?;
    let mut tx = db.begin().await?;
    let row = row_tx(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    check(Step::Edit, &row, user)?;
    let before = row.into_model(now_ms, &names);
    let n = tx
        .execute(&Sql::new("DELETE FROM warnings WHERE id = $1 AND state = 'draft'").bind(id))
        .await?;
    if n == 0 {
        return Err(changed_meanwhile());
    }
    let before_json = serde_json::to_value(&before).ok();
    crate::audit::record_at(
        &mut tx,
        now_ms,
        &actor_of(user),
        "warning",
        id,
        "delete",
        before_json.as_ref(),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn changed_meanwhile() -> ApiError {
    ApiError::Conflict {
        field: Some("state".into()),
        message: "the warning changed meanwhile; reload it".into(),
    }
}

fn check(step: Step, row: &Row, user: &crate::auth::CurrentUser) -> Result<(), ApiError> {
    let state = State::parse(&row.state).unwrap_or(State::Draft);
    model::check_step(
        step,
        state,
        user.role,
        &user.id,
        row.submitted_by.as_deref(),
    )
    .map_err(|r| match r {
        model::Refusal::Role(m) => ApiError::forbidden(m),
        model::Refusal::State(m) => ApiError::Conflict {
            field: Some("state".into()),
            message: m,
        },
    })
}

/// Submit, approve or reject: a state change with who and when.
pub async fn review(
    db: &Db,
    id: &str,
    step: Step,
    reason: Option<&str>,
    user: &crate::auth::CurrentUser,
    now_ms: i64,
) -> Result<Warning, ApiError> {
    let names = town_names(db).await?;
    let mut tx = db.begin().await?;
    let row = row_tx(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    check(step, &row, user)?;
    let before = row.into_model(now_ms, &names);
    let sql = match step {
        Step::Submit => Sql::new(
            "UPDATE warnings SET state = 'submitted', submitted_by = $2, submitted_at = $3, reject_reason = NULL, \
             updated_at = $3 WHERE id = $1 AND state = 'draft'",
        ),
        Step::Approve => Sql::new(
            "UPDATE warnings SET state = 'approved', approved_by = $2, approved_at = $3, updated_at = $3 \
             WHERE id = $1 AND state = 'submitted'",
        ),
        Step::Reject => Sql::new(
            "UPDATE warnings SET state = 'draft', reject_reason = $4, approved_by = NULL, approved_at = NULL, \
             updated_at = $3 WHERE id = $1 AND state = 'submitted' AND $2 <> ''",
        ),
        _ => return Err(ApiError::BadRequest("not a review step".into())),
    };
    let mut sql = sql.bind(id).bind(user.id.as_str()).bind(now_ms);
    if step == Step::Reject {
        sql = sql.bind(reason.unwrap_or_default());
    }
    if tx.execute(&sql).await? == 0 {
        return Err(changed_meanwhile());
    }
    let w = audit_and_event(
        &mut tx,
        &actor_of(user),
        id,
        step.key(),
        Some(&before),
        &names,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(w)
}

/// The next free GB/T 35965.1 identifier at `sent_ms` (the sequence digit tells apart up to ten
/// messages of one second; past that the sent time moves on a second).
async fn next_identifier(
    tx: &mut Tx,
    settings: &WarningSettings,
    mut sent_ms: i64,
) -> Result<(String, i64), DbError> {
    loop {
        for seq in 0..10u8 {
            let id = cap::identifier(DISTRICT_CODE, &settings.org_code, sent_ms, seq);
            let taken: i64 = tx
                .fetch_scalar(
                    &Sql::new(
                        "SELECT COUNT(*) FROM warnings WHERE sender = $1 AND identifier = $2",
                    )
                    .bind(settings.sender.as_str())
                    .bind(id.as_str()),
                )
                .await?;
            if taken == 0 {
                return Ok((id, sent_ms));
            }
        }
        sent_ms += 1000;
    }
}

async fn reference_of(tx: &mut Tx, id: &str) -> Result<Option<cap::Reference>, DbError> {
    #[derive(sqlx::FromRow)]
    struct RefRow {
        sender: String,
        identifier: Option<String>,
        sent_at: Option<i64>,
    }
    let r: Option<RefRow> = tx
        .fetch_optional(
            &Sql::new("SELECT sender, identifier, sent_at FROM warnings WHERE id = $1").bind(id),
        )
        .await?;
    Ok(r.and_then(|r| {
        let sent = r.sent_at?;
        Some(cap::Reference {
            sender: r.sender,
            identifier: r.identifier?,
            sent_ms: sent,
            sent_text: cap::format_time(sent),
        })
    }))
}

/// Creates the relay of each target town (due for acknowledgement after the setting) and
/// queues the deliveries of a message just put out.
async fn put_out(
    tx: &mut Tx,
    id: &str,
    town_codes: &[String],
    settings: &WarningSettings,
    headline: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    let due = now_ms + settings.relay_ack_minutes * 60_000;
    for town in town_codes {
        let relay_id = crate::db::new_id();
        tx.execute(
            &Sql::new(
                "INSERT INTO warning_relays (id, warning_id, town_code, created_at, due_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(relay_id.as_str())
            .bind(id)
            .bind(town.as_str())
            .bind(now_ms)
            .bind(due),
        )
        .await?;
        crate::events::publish(
            tx,
            crate::db::now_ms(),
            "warning_relay",
            Some(town),
            None,
            &json!({"id": relay_id, "warning_id": id, "town_code": town, "action": "created", "headline": headline}),
        )
        .await?;
    }
    super::dispatch::enqueue_for_warning(tx, id, now_ms).await?;
    Ok(())
}

/// Publishes an approved warning: identifier, frozen CAP, supersedes the message it updates,
/// relays, deliveries.
pub async fn publish(
    db: &Db,
    id: &str,
    user: &crate::auth::CurrentUser,
    settings: &WarningSettings,
    now_ms: i64,
) -> Result<Warning, ApiError> {
    let names = town_names(db).await?;
    let towns = area::load_towns(db).await?;
    let mut tx = db.begin().await?;
    let row = row_tx(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    check(Step::Publish, &row, user)?;
    let sent = now_ms - now_ms.rem_euclid(1000);
    let (identifier, sent) = next_identifier(&mut tx, settings, sent).await?;
    let references = match &row.references_id {
        Some(r) => reference_of(&mut tx, r).await?.into_iter().collect(),
        None => vec![],
    };
    let composed = row.composed();
    let xml = build_cap(
        &composed,
        &towns,
        settings,
        &identifier,
        sent,
        &row.msg_type,
        references,
    );
    let before = row.clone().into_model(now_ms, &names);
    let n = tx
        .execute(
            &Sql::new(
                "UPDATE warnings SET state = 'published', identifier = $2, sent_at = $3, cap_xml = $4, published_by = $5, \
                 published_at = $6, updated_at = $6 WHERE id = $1 AND state = 'approved'",
            )
            .bind(id)
            .bind(identifier.as_str())
            .bind(sent)
            .bind(xml)
            .bind(user.id.as_str())
            .bind(now_ms),
        )
        .await?;
    if n == 0 {
        return Err(changed_meanwhile());
    }
    if let Some(old) = &row.references_id {
        end_live(
            &mut tx,
            old,
            "superseded",
            Some(id),
            None,
            &actor_of(user),
            &names,
            now_ms,
        )
        .await?;
    }
    put_out(
        &mut tx,
        id,
        &composed.town_codes,
        settings,
        &row.headline,
        now_ms,
    )
    .await?;
    let w = audit_and_event(
        &mut tx,
        &actor_of(user),
        id,
        "publish",
        Some(&before),
        &names,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(w)
}

/// Ends a live message: superseded by a newer one, or cancelled. Its queued deliveries are
/// dropped (the new message has its own).
#[allow(clippy::too_many_arguments)]
async fn end_live(
    tx: &mut Tx,
    id: &str,
    state: &str,
    superseded_by: Option<&str>,
    reason: Option<&str>,
    actor: &Actor,
    names: &HashMap<String, String>,
    now_ms: i64,
) -> Result<(), ApiError> {
    let Some(old) = row_tx(tx, id).await? else {
        return Ok(());
    };
    let before = old.into_model(now_ms, names);
    let n = tx
        .execute(
            &Sql::new(format!(
                "UPDATE warnings SET state = $2, superseded_by_id = COALESCE($3, superseded_by_id), \
                 cancel_reason = COALESCE($4, cancel_reason), updated_at = $5 WHERE id = $1 AND state IN {LIVE_STATES}"
            ))
            .bind(id)
            .bind(state)
            .bind(superseded_by.map(str::to_string))
            .bind(reason.map(str::to_string))
            .bind(now_ms),
        )
        .await?;
    if n > 0 {
        super::dispatch::cancel_pending(tx, id, now_ms).await?;
        audit_and_event(tx, actor, id, state, Some(&before), names, now_ms).await?;
    }
    Ok(())
}

/// Starts an update of a published warning: a new draft with the same content that
/// references it; publishing the draft supersedes the old message.
pub async fn start_update(
    db: &Db,
    id: &str,
    user: &crate::auth::CurrentUser,
    settings: &WarningSettings,
    now_ms: i64,
) -> Result<Warning, ApiError> {
    let row = db
        .fetch_optional::<Row>(&by_id(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    check(Step::Update, &row, user)?;
    let open: i64 = db
        .fetch_scalar(
            &Sql::new(
                "SELECT COUNT(*) FROM warnings WHERE references_id = $1 AND state IN ('draft', 'submitted', 'approved')",
            )
            .bind(id),
        )
        .await?;
    if open > 0 {
        return Err(ApiError::Conflict {
            field: None,
            message: "an update of this warning is already being prepared".into(),
        });
    }
    let composed = row.composed();
    create_draft(db, &composed, user, settings, "Update", Some(id), now_ms).await
}

/// Cancels a live warning: a Cancel message referencing it is published at once (towns and
/// recipients are told it is lifted) and the old one ends.
pub async fn cancel(
    db: &Db,
    id: &str,
    reason: &str,
    user: &crate::auth::CurrentUser,
    settings: &WarningSettings,
    now_ms: i64,
) -> Result<Warning, ApiError> {
    let names = town_names(db).await?;
    let towns = area::load_towns(db).await?;
    let mut tx = db.begin().await?;
    let row = row_tx(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    check(Step::Cancel, &row, user)?;
    let town_codes = row.town_codes();
    let mut content = row.content();
    content.headline = truncate(&format!("解除{}", row.headline), model::HEADLINE_MAX_CHARS);
    content.description = reason.to_string();
    content.instruction = String::new();
    content.headline_en = row
        .headline_en
        .as_ref()
        .map(|h| truncate(&format!("Cancelled: {h}"), model::HEADLINE_MAX_CHARS));
    content.description_en = row.headline_en.as_ref().map(|_| reason.to_string());
    content.instruction_en = None;
    content.urgency = "Past".into();
    content.expires_at = content.expires_at.max(now_ms + 1000);
    if !model::COMPOSE_STATUSES.contains(&content.status.as_str()) {
        content.status = "Actual".into();
    }
    if !matches!(content.scope.as_str(), "public" | "restricted") {
        content.scope = "restricted".into();
    }
    if model::event_type(&content.event_type).is_none() {
        content.event_type = "other".into();
    }
    let composed = Composed {
        content,
        ..row.composed()
    };
    let sent = now_ms - now_ms.rem_euclid(1000);
    let (identifier, sent) = next_identifier(&mut tx, settings, sent).await?;
    let references = reference_of(&mut tx, id).await?.into_iter().collect();
    let xml = build_cap(
        &composed,
        &towns,
        settings,
        &identifier,
        sent,
        "Cancel",
        references,
    );
    let new_id = crate::db::new_id();
    let k = &composed.content;
    tx.execute(
        &Sql::new(
            "INSERT INTO warnings (id, identifier, sender, sender_name, source, msg_type, status, scope, event_type, event_name, \
             level, urgency, severity, certainty, response_type, headline, description, instruction, headline_en, description_en, \
             instruction_en, area, area_desc, town_codes, geometry, effective_at, onset_at, expires_at, state, references_id, \
             sent_at, cap_xml, created_by, published_by, published_at, cancel_reason, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'local', 'Cancel', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, '', $16, $17, NULL, \
             $18, $19, $20, $21, $22, $23, $24, 'cancelled', $25, $26, $27, $28, $28, $29, $30, $29, $29)",
        )
        .bind(new_id.as_str())
        .bind(identifier.as_str())
        .bind(settings.sender.as_str())
        .bind(settings.sender_name.as_str())
        .bind(k.status.as_str())
        .bind(k.scope.as_str())
        .bind(k.event_type.as_str())
        .bind(row.event_name.as_str())
        .bind(row.level.clone())
        .bind(k.urgency.as_str())
        .bind(row.severity.as_str())
        .bind(k.certainty.as_str())
        .bind(k.response_type.clone())
        .bind(k.headline.as_str())
        .bind(k.description.as_str())
        .bind(k.headline_en.clone())
        .bind(k.description_en.clone())
        .bind(row.area.as_str())
        .bind(row.area_desc.as_str())
        .bind(row.town_codes.as_str())
        .bind(row.geometry.clone())
        .bind(now_ms)
        .bind(None::<i64>)
        .bind(k.expires_at)
        .bind(id)
        .bind(sent)
        .bind(xml)
        .bind(user.id.as_str())
        .bind(now_ms)
        .bind(reason),
    )
    .await?;
    end_live(
        &mut tx,
        id,
        "cancelled",
        None,
        Some(reason),
        &actor_of(user),
        &names,
        now_ms,
    )
    .await?;
    put_out(&mut tx, &new_id, &town_codes, settings, &k.headline, now_ms).await?;
    let w = audit_and_event(
        &mut tx,
        &actor_of(user),
        &new_id,
        "cancel",
        None,
        &names,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(w)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Relays an imported warning to the towns it covers.
pub async fn relay_imported(
    db: &Db,
    id: &str,
    user: &crate::auth::CurrentUser,
    settings: &WarningSettings,
    now_ms: i64,
) -> Result<Warning, ApiError> {
    let names = town_names(db).await?;
    let mut tx = db.begin().await?;
    let row = row_tx(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    check(Step::Relay, &row, user)?;
    let town_codes = row.town_codes();
    if town_codes.is_empty() {
        return Err(ApiError::Conflict {
            field: None,
            message: "this warning covers no town of the district; there is no one to relay it to"
                .into(),
        });
    }
    if row.expires_at <= now_ms {
        return Err(ApiError::Conflict {
            field: None,
            message: "this warning has expired".into(),
        });
    }
    let before = row.clone().into_model(now_ms, &names);
    let n = tx
        .execute(
            &Sql::new(
                "UPDATE warnings SET state = 'relayed', published_by = $2, published_at = $3, updated_at = $3 \
                 WHERE id = $1 AND state = 'imported'",
            )
            .bind(id)
            .bind(user.id.as_str())
            .bind(now_ms),
        )
        .await?;
    if n == 0 {
        return Err(changed_meanwhile());
    }
    put_out(&mut tx, id, &town_codes, settings, &row.headline, now_ms).await?;
    let w = audit_and_event(
        &mut tx,
        &actor_of(user),
        id,
        "relay",
        Some(&before),
        &names,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(w)
}

/// The result of an import: the stored warning and whether it was new.
pub struct Imported {
    pub warning: Warning,
    pub created: bool,
}

/// Stores a CAP message of another issuer (parsed and validated by the caller), keeping the
/// original document. The same issuer's identifier again returns the stored one. An update or
/// cancel ends the messages it references that we hold.
pub async fn import(
    db: &Db,
    xml: &str,
    alert: &cap::Alert,
    user: &crate::auth::CurrentUser,
    now_ms: i64,
) -> Result<Imported, ApiError> {
    if !matches!(alert.msg_type.as_str(), "Alert" | "Update" | "Cancel") {
        return Err(ApiError::validation(
            "msgType",
            format!(
                "a {} message is not a warning; only Alert, Update and Cancel are imported",
                alert.msg_type
            ),
        ));
    }
    let names = town_names(db).await?;
    if let Some(r) = existing(db, alert).await? {
        return Ok(Imported {
            warning: r.into_model(now_ms, &names),
            created: false,
        });
    }
    let towns = area::load_towns(db).await?;
    let covered = area::cap_towns(alert, &towns, DISTRICT_CODE);
    let geometry = area::cap_geometry(alert, &covered);
    let fields = imported_fields(alert, now_ms);
    let town_codes: Vec<String> = covered.iter().map(|t| t.code.clone()).collect();
    let id = crate::db::new_id();
    let state = if alert.msg_type == "Cancel" {
        "cancelled"
    } else {
        "imported"
    };
    let mut tx = db.begin().await?;
    let inserted = tx
        .execute(
            &Sql::new(
                "INSERT INTO warnings (id, identifier, sender, sender_name, source, msg_type, status, scope, event_type, event_name, \
                 level, urgency, severity, certainty, response_type, headline, description, instruction, headline_en, description_en, \
                 instruction_en, area, area_desc, town_codes, geometry, effective_at, onset_at, expires_at, state, sent_at, cap_xml, \
                 created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, 'imported', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                 $15, $16, $17, $18, $19, $20, '{\"kind\":\"imported\"}', $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $31)",
            )
            .bind(id.as_str())
            .bind(alert.identifier.as_str())
            .bind(alert.sender.as_str())
            .bind(fields.sender_name.as_str())
            .bind(alert.msg_type.as_str())
            .bind(alert.status.as_str())
            .bind(alert.scope.to_lowercase())
            .bind(fields.event_type)
            .bind(fields.event_name.as_str())
            .bind(fields.level.map(|l| l.key()))
            .bind(fields.urgency.as_str())
            .bind(fields.severity.as_str())
            .bind(fields.certainty.as_str())
            .bind(fields.response_type.clone())
            .bind(fields.headline.as_str())
            .bind(fields.description.as_str())
            .bind(fields.instruction.as_str())
            .bind(fields.headline_en.clone())
            .bind(fields.description_en.clone())
            .bind(fields.instruction_en.clone())
            .bind(fields.area_desc.as_str())
            .bind(json!(town_codes).to_string())
            .bind(geometry.map(|g| g.to_string()))
            .bind(fields.effective_at)
            .bind(fields.onset_at)
            .bind(fields.expires_at)
            .bind(state)
            .bind(alert.sent_ms)
            .bind(xml)
            .bind(user.id.as_str())
            .bind(now_ms),
        )
        .await;
    match inserted {
        Ok(_) => {}
        // Another import of the same message won the race: it is the same message.
        Err(e) if e.unique_violation().is_some() => {
            drop(tx);
            if let Some(r) = existing(db, alert).await? {
                return Ok(Imported {
                    warning: r.into_model(now_ms, &names),
                    created: false,
                });
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    }
    let end_state = if alert.msg_type == "Cancel" {
        "cancelled"
    } else {
        "superseded"
    };
    for r in &alert.references {
        let old: Option<String> = tx
            .fetch_optional::<(String,)>(
                &Sql::new("SELECT id FROM warnings WHERE sender = $1 AND identifier = $2")
                    .bind(r.sender.as_str())
                    .bind(r.identifier.as_str()),
            )
            .await?
            .map(|(id,)| id);
        if let Some(old) = old {
            let reason = (end_state == "cancelled").then_some(fields.description.as_str());
            end_live(
                &mut tx,
                &old,
                end_state,
                (end_state == "superseded").then_some(id.as_str()),
                reason,
                &actor_of(user),
                &names,
                now_ms,
            )
            .await?;
        }
    }
    let w = audit_and_event(
        &mut tx,
        &actor_of(user),
        &id,
        "import",
        None,
        &names,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(Imported {
        warning: w,
        created: true,
    })
}

async fn existing(db: &Db, alert: &cap::Alert) -> Result<Option<Row>, DbError> {
    db.fetch_optional::<Row>(
        &Sql::new(format!(
            "{}{FROM} AND w.sender = $1 AND w.identifier = $2",
            select()
        ))
        .bind(alert.sender.as_str())
        .bind(alert.identifier.as_str()),
    )
    .await
}

/// The list fields of an imported message, from its Chinese info block (else the first).
pub struct ImportedFields {
    pub sender_name: String,
    pub event_type: &'static str,
    pub event_name: String,
    pub level: Option<Colour>,
    pub urgency: String,
    pub severity: String,
    pub certainty: String,
    pub response_type: Option<String>,
    pub headline: String,
    pub description: String,
    pub instruction: String,
    pub headline_en: Option<String>,
    pub description_en: Option<String>,
    pub instruction_en: Option<String>,
    pub area_desc: String,
    pub effective_at: i64,
    pub onset_at: Option<i64>,
    pub expires_at: i64,
}

pub fn imported_fields(alert: &cap::Alert, now_ms: i64) -> ImportedFields {
    let zh = alert.main_info();
    let en = alert
        .infos
        .iter()
        .find(|i| i.language.to_lowercase().starts_with("en") && Some(*i) != zh);
    let areas: Vec<&str> = alert
        .infos
        .iter()
        .flat_map(|i| i.areas.iter().map(|a| a.area_desc.as_str()))
        .collect();
    let mut area_desc: Vec<&str> = vec![];
    for a in areas {
        if !area_desc.contains(&a) {
            area_desc.push(a);
        }
    }
    let effective = zh.and_then(|i| i.effective_ms).unwrap_or(alert.sent_ms);
    let expires = zh
        .and_then(|i| i.expires_ms)
        .unwrap_or(effective + IMPORT_DEFAULT_VALIDITY_MS);
    let headline = zh
        .and_then(|i| i.headline.clone().or_else(|| Some(i.event.clone())))
        .unwrap_or_else(|| format!("{} {}", alert.msg_type, alert.identifier));
    ImportedFields {
        sender_name: zh
            .and_then(|i| i.sender_name.clone())
            .unwrap_or_else(|| alert.sender.clone()),
        event_type: zh.map_or("other", |i| i.event_type().key),
        event_name: zh.map(|i| i.event.clone()).unwrap_or_default(),
        level: zh.and_then(cap::Info::level),
        urgency: zh.map_or_else(|| "Unknown".into(), |i| i.urgency.clone()),
        severity: zh.map_or_else(|| "Unknown".into(), |i| i.severity.clone()),
        certainty: zh.map_or_else(|| "Unknown".into(), |i| i.certainty.clone()),
        response_type: zh.and_then(|i| i.response_types.first().cloned()),
        headline: truncate(&headline, 500),
        description: zh.and_then(|i| i.description.clone()).unwrap_or_default(),
        instruction: zh.and_then(|i| i.instruction.clone()).unwrap_or_default(),
        headline_en: en.and_then(|i| i.headline.clone()),
        description_en: en.and_then(|i| i.description.clone()),
        instruction_en: en.and_then(|i| i.instruction.clone()),
        area_desc: area_desc.join("; "),
        effective_at: effective,
        onset_at: zh.and_then(|i| i.onset_ms),
        expires_at: if expires > effective {
            expires
        } else {
            now_ms.max(effective) + IMPORT_DEFAULT_VALIDITY_MS
        },
    }
}

// ---------- relays ----------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Relay {
    pub id: String,
    pub warning_id: String,
    pub headline: String,
    pub level: Option<Colour>,
    pub town_code: String,
    pub town_name: String,
    /// `pending`, `escalated` (still pending, past its due time) or `acknowledged`.
    pub state: String,
    pub created_at: String,
    pub due_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub escalated_at: Option<String>,
    pub disseminated_at: Option<String>,
    pub disseminated_by: Option<String>,
    pub channels: Vec<String>,
    pub people_reached: Option<i64>,
    pub note: String,
    /// Minutes from creation to acknowledgement.
    pub ack_minutes: Option<f64>,
}

#[derive(Debug, sqlx::FromRow)]
struct RelayRow {
    id: String,
    warning_id: String,
    headline: String,
    level: Option<String>,
    town_code: String,
    town_name: Option<String>,
    created_at: i64,
    due_at: i64,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<String>,
    escalated_at: Option<i64>,
    disseminated_at: Option<i64>,
    disseminated_by: Option<String>,
    channels: String,
    people_reached: Option<i64>,
    note: String,
}

impl RelayRow {
    fn into_model(self) -> Relay {
        let t = |v: Option<i64>| v.map(crate::time::rfc3339);
        let state = match (self.acknowledged_at, self.escalated_at) {
            (Some(_), _) => "acknowledged",
            (None, Some(_)) => "escalated",
            (None, None) => "pending",
        };
        Relay {
            ack_minutes: self
                .acknowledged_at
                .map(|a| ((a - self.created_at) as f64 / 60_000.0 * 10.0).round() / 10.0),
            id: self.id,
            warning_id: self.warning_id,
            headline: self.headline,
            level: self.level.as_deref().and_then(Colour::parse),
            town_name: self.town_name.unwrap_or_else(|| self.town_code.clone()),
            town_code: self.town_code,
            state: state.into(),
            created_at: crate::time::rfc3339(self.created_at),
            due_at: crate::time::rfc3339(self.due_at),
            acknowledged_at: t(self.acknowledged_at),
            acknowledged_by: self.acknowledged_by,
            escalated_at: t(self.escalated_at),
            disseminated_at: t(self.disseminated_at),
            disseminated_by: self.disseminated_by,
            channels: serde_json::from_str(&self.channels).unwrap_or_default(),
            people_reached: self.people_reached,
            note: self.note,
        }
    }
}

fn relay_select() -> String {
    format!(
        "SELECT r.id, r.warning_id, w.headline, w.level, r.town_code, u.name AS town_name, r.created_at, r.due_at, \
         r.acknowledged_at, {} AS acknowledged_by, r.escalated_at, r.disseminated_at, {} AS disseminated_by, r.channels, \
         r.people_reached, r.note FROM warning_relays r JOIN warnings w ON w.id = r.warning_id \
         LEFT JOIN admin_units u ON u.code = r.town_code LEFT JOIN users ua ON ua.id = r.acknowledged_by \
         LEFT JOIN users ud ON ud.id = r.disseminated_by WHERE 1 = 1",
        NAME.replace("{u}", "ua"),
        NAME.replace("{u}", "ud")
    )
}

/// The relay board of one warning, in town order.
pub async fn relays_of(db: &Db, warning_id: &str) -> Result<Vec<Relay>, DbError> {
    Ok(db
        .fetch_all::<RelayRow>(
            &Sql::new(format!(
                "{} AND r.warning_id = $1 ORDER BY r.town_code",
                relay_select()
            ))
            .bind(warning_id),
        )
        .await?
        .into_iter()
        .map(RelayRow::into_model)
        .collect())
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct RelayFilter {
    /// `pending` (includes escalated), `escalated`, `acknowledged`.
    pub state: Option<String>,
    pub town_code: Option<String>,
    pub warning_id: Option<String>,
}

pub async fn list_relays(
    db: &Db,
    f: &RelayFilter,
    scope: &crate::auth::Scope,
    paging: crate::paging::Paging,
) -> Result<crate::paging::Page<Relay>, ApiError> {
    let mut sql = Sql::new("");
    scope.filter(&mut sql, "r.town_code", None);
    match crate::input::non_empty(&f.state) {
        None => {}
        Some("pending") => {
            sql.push(" AND r.acknowledged_at IS NULL");
        }
        Some("escalated") => {
            sql.push(" AND r.acknowledged_at IS NULL AND r.escalated_at IS NOT NULL");
        }
        Some("acknowledged") => {
            sql.push(" AND r.acknowledged_at IS NOT NULL");
        }
        Some(_) => {
            return Err(ApiError::validation(
                "state",
                "state is pending, escalated or acknowledged",
            ));
        }
    }
    if let Some(t) = crate::input::non_empty(&f.town_code) {
        let p = sql.arg(t);
        sql.push(&format!(" AND r.town_code = {p}"));
    }
    if let Some(w) = crate::input::non_empty(&f.warning_id) {
        let p = sql.arg(w);
        sql.push(&format!(" AND r.warning_id = {p}"));
    }
    let (rows, total) = db
        .fetch_page::<RelayRow>(
            "FROM warning_relays r WHERE 1 = 1",
            &relay_select(),
            sql,
            "ORDER BY r.created_at DESC, r.town_code",
            Some(paging),
        )
        .await?;
    Ok(crate::paging::Page {
        items: rows.into_iter().map(RelayRow::into_model).collect(),
        total,
    })
}

async fn relay_tx(tx: &mut Tx, id: &str) -> Result<Option<Relay>, DbError> {
    Ok(tx
        .fetch_optional::<RelayRow>(&Sql::new(format!("{} AND r.id = $1", relay_select())).bind(id))
        .await?
        .map(RelayRow::into_model))
}

async fn relay_changed(
    tx: &mut Tx,
    now_ms: i64,
    actor: &Actor,
    id: &str,
    action: &str,
    before: Option<&Relay>,
    district_wide: bool,
) -> Result<Relay, ApiError> {
    let after = relay_tx(tx, id).await?.ok_or(ApiError::NotFound)?;
    let b = before.and_then(|b| serde_json::to_value(b).ok());
    let a = serde_json::to_value(&after).ok();
    crate::audit::record_at(
        tx,
        now_ms,
        actor,
        "warning_relay",
        id,
        action,
        b.as_ref(),
        a.as_ref(),
    )
    .await?;
    let payload = json!({"id": after.id, "warning_id": after.warning_id, "town_code": after.town_code,
        "town_name": after.town_name, "action": action, "state": after.state, "headline": after.headline});
    // The town sees its own relays; an escalation goes to the district's duty officers.
    let town = if district_wide {
        crate::events::DISTRICT_STAFF
    } else {
        after.town_code.as_str()
    };
    crate::events::publish(
        tx,
        crate::db::now_ms(),
        "warning_relay",
        Some(town),
        None,
        &payload,
    )
    .await?;
    Ok(after)
}

/// A town acknowledges a relayed warning (409 the second time).
pub async fn acknowledge(
    db: &Db,
    id: &str,
    user: &crate::auth::CurrentUser,
    now_ms: i64,
) -> Result<Relay, ApiError> {
    let mut tx = db.begin().await?;
    let before = relay_tx(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    if !user.scope().allows(&before.town_code, None) {
        return Err(ApiError::NotFound);
    }
    let n = tx
        .execute(
            &Sql::new(
                "UPDATE warning_relays SET acknowledged_at = $2, acknowledged_by = $3 WHERE id = $1 AND acknowledged_at IS NULL",
            )
            .bind(id)
            .bind(now_ms)
            .bind(user.id.as_str()),
        )
        .await?;
    if n == 0 {
        return Err(ApiError::Conflict {
            field: None,
            message: "this relay is already acknowledged".into(),
        });
    }
    let r = relay_changed(
        &mut tx,
        now_ms,
        &actor_of(user),
        id,
        "acknowledge",
        Some(&before),
        false,
    )
    .await?;
    tx.commit().await?;
    Ok(r)
}

/// What a town did to pass the warning on.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Dissemination {
    /// `loudspeaker`, `sms`, `wechat`, `door_to_door`, `other`.
    pub channels: Vec<String>,
    pub people_reached: i64,
    #[serde(default)]
    pub note: Option<String>,
}

/// Records (or corrects) a town's onward dissemination; acknowledges the relay if not yet.
pub async fn record_dissemination(
    db: &Db,
    id: &str,
    d: &Dissemination,
    user: &crate::auth::CurrentUser,
    now_ms: i64,
) -> Result<Relay, ApiError> {
    if d.channels.is_empty() {
        return Err(ApiError::validation(
            "channels",
            "name at least one channel",
        ));
    }
    if let Some(bad) = d
        .channels
        .iter()
        .find(|c| !model::RELAY_CHANNELS.contains(&c.as_str()))
    {
        return Err(ApiError::validation(
            "channels",
            format!(
                "unknown channel {bad:?}; one of {}",
                model::RELAY_CHANNELS.join(", ")
            ),
        ));
    }
    if !(0..=10_000_000).contains(&d.people_reached) {
        return Err(ApiError::validation(
            "people_reached",
            "people_reached is a count from 0 to 10,000,000",
        ));
    }
    let note = crate::input::optional_text("note", &d.note, 2000)?.unwrap_or_default();
    let mut tx = db.begin().await?;
    let before = relay_tx(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    if !user.scope().allows(&before.town_code, None) {
        return Err(ApiError::NotFound);
    }
    // Each town reaches at most its population: the coverage arithmetic relies on it.
    let population: Option<i64> = tx
        .fetch_scalar(
            &Sql::new("SELECT population FROM admin_units WHERE code = $1")
                .bind(before.town_code.as_str()),
        )
        .await?;
    if let Some(p) = population
        && d.people_reached > p
    {
        return Err(ApiError::validation(
            "people_reached",
            format!("more than the town's population ({p})"),
        ));
    }
    tx.execute(
        &Sql::new(
            "UPDATE warning_relays SET acknowledged_at = COALESCE(acknowledged_at, $2), \
             acknowledged_by = COALESCE(acknowledged_by, $3), disseminated_at = $2, disseminated_by = $3, \
             channels = $4, people_reached = $5, note = $6 WHERE id = $1",
        )
        .bind(id)
        .bind(now_ms)
        .bind(user.id.as_str())
        .bind(json!(d.channels).to_string())
        .bind(d.people_reached)
        .bind(note),
    )
    .await?;
    let r = relay_changed(
        &mut tx,
        now_ms,
        &actor_of(user),
        id,
        "disseminate",
        Some(&before),
        false,
    )
    .await?;
    tx.commit().await?;
    Ok(r)
}

/// The clock's sweep: relays past their acknowledgement time escalate to the duty officer;
/// live warnings past their expiry expire. Returns how many rows changed.
pub async fn sweep(db: &Db, now_ms: i64) -> Result<usize, ApiError> {
    let system = Actor::system("system");
    let mut changed = 0;
    let due: Vec<(String,)> = db
        .fetch_all(
            &Sql::new(format!(
                "SELECT r.id FROM warning_relays r JOIN warnings w ON w.id = r.warning_id \
                 WHERE r.acknowledged_at IS NULL AND r.escalated_at IS NULL AND r.due_at <= $1 \
                 AND w.state IN {LIVE_STATES} AND w.expires_at > $1"
            ))
            .bind(now_ms),
        )
        .await?;
    for (id,) in due {
        let mut tx = db.begin().await?;
        let before = relay_tx(&mut tx, &id).await?;
        let n = tx
            .execute(
                &Sql::new(
                    "UPDATE warning_relays SET escalated_at = $2 WHERE id = $1 AND acknowledged_at IS NULL AND escalated_at IS NULL",
                )
                .bind(id.as_str())
                .bind(now_ms),
            )
            .await?;
        if n > 0 {
            relay_changed(
                &mut tx,
                now_ms,
                &system,
                &id,
                "escalate",
                before.as_ref(),
                true,
            )
            .await?;
            changed += 1;
        }
        tx.commit().await?;
    }
    let expired: Vec<(String,)> = db
        .fetch_all(
            &Sql::new(format!(
                "SELECT id FROM warnings WHERE state IN {LIVE_STATES} AND expires_at <= $1"
            ))
            .bind(now_ms),
        )
        .await?;
    if !expired.is_empty() {
        let names = town_names(db).await?;
        for (id,) in expired {
            let mut tx = db.begin().await?;
            let before = row_tx(&mut tx, &id)
                .await?
                .map(|r| r.into_model(now_ms, &names));
            let n = tx
                .execute(
                    &Sql::new(format!(
                        "UPDATE warnings SET state = 'expired', updated_at = $2 WHERE id = $1 AND state IN {LIVE_STATES}"
                    ))
                    .bind(id.as_str())
                    .bind(now_ms),
                )
                .await?;
            if n > 0 {
                super::dispatch::cancel_pending(&mut tx, &id, now_ms).await?;
                audit_and_event(
                    &mut tx,
                    &system,
                    &id,
                    "expire",
                    before.as_ref(),
                    &names,
                    now_ms,
                )
                .await?;
                changed += 1;
            }
            tx.commit().await?;
        }
    }
    Ok(changed)
}

/// The warning's history: its audit entries and those of its relays, oldest first.
pub async fn timeline(db: &Db, id: &str) -> Result<Vec<Value>, DbError> {
    #[derive(sqlx::FromRow)]
    struct E {
        ts: i64,
        username: String,
        entity: String,
        entity_id: String,
        action: String,
        after: Option<String>,
    }
    let rows: Vec<E> = db
        .fetch_all(
            &Sql::new(
                "SELECT ts, username, entity, entity_id, action, after FROM audit_log \
                 WHERE (entity = 'warning' AND entity_id = $1) \
                 OR (entity = 'warning_relay' AND entity_id IN (SELECT id FROM warning_relays WHERE warning_id = $1)) \
                 ORDER BY ts, id",
            )
            .bind(id),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|e| {
            let after: Value = e
                .after
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok())
                .unwrap_or(Value::Null);
            json!({"at": crate::time::rfc3339(e.ts), "actor": e.username, "entity": e.entity,
                   "entity_id": e.entity_id, "action": e.action,
                   "state": after.get("state"), "town_name": after.get("town_name"),
                   "reason": after.get("reject_reason").filter(|r| !r.is_null()).or(after.get("cancel_reason"))})
        })
        .collect())
}
