//! Risk points (风险点) in the database: their validation, CRUD, assessments by LEC or LS with
//! the bands in force, and the colour roll-ups per enterprise and per town behind the
//! four-colour map. The routes are in `risk_routes.rs`; check tasks follow the control measures
//! in `checks.rs`, inside the same transactions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{self, Bands, ColourCounts, Cycle};
use crate::auth::Scope;
use crate::colour::Colour;
use crate::db::{Db, DbError, Sql, Tx};
use crate::error::ApiError;

pub const KINDS: [&str; 3] = ["place", "equipment", "activity"];
pub const CONTROL_LEVELS: [&str; 4] = ["company", "workshop", "team", "post"];

/// A control measure of a risk point; one with a `check_cycle` generates a check task.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ControlMeasure {
    /// `engineering`, `management`, `training`, `ppe` or `emergency`.
    pub category: String,
    pub text: String,
    pub check_cycle: Option<Cycle>,
}

/// A control measure as sent: the cycle is a string so that a wrong one is a 422 naming it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ControlMeasureInput {
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub text: String,
    /// `daily`, `weekly`, `monthly`, `quarterly`, `yearly` or null.
    pub check_cycle: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RiskPointInput {
    /// Optional for an enterprise user (their own enterprise).
    pub enterprise_id: Option<String>,
    #[serde(default)]
    pub name: String,
    /// `place`, `equipment` or `activity`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub location: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    #[serde(default)]
    pub hazards: Vec<String>,
    /// GB 6441 accident type codes `01`–`20`.
    #[serde(default)]
    pub accident_types: Vec<String>,
    #[serde(default)]
    pub control_measures: Vec<ControlMeasureInput>,
    /// `company`, `workshop`, `team` or `post`.
    #[serde(default)]
    pub control_level: String,
    #[serde(default)]
    pub responsible_person: String,
    #[serde(default)]
    pub responsible_phone: String,
}

/// The validated fields of a risk point (the enterprise is checked by the routes).
#[derive(Debug, Clone, PartialEq)]
pub struct RiskPointFields {
    pub name: String,
    pub kind: String,
    pub location: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub hazards: Vec<String>,
    pub accident_types: Vec<String>,
    pub control_measures: Vec<ControlMeasure>,
    pub control_level: String,
    pub responsible_person: String,
    pub responsible_phone: String,
}

const MAX_ITEMS: usize = 50;

fn required(field: &str, v: &str, max: usize) -> Result<String, ApiError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(ApiError::validation(field, format!("{field} is required")));
    }
    optional(field, v, max)
}

fn optional(field: &str, v: &str, max: usize) -> Result<String, ApiError> {
    let v = v.trim();
    if v.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(v.to_string())
}

fn one_of(field: &str, v: &str, allowed: &[&str]) -> Result<String, ApiError> {
    let v = v.trim();
    if allowed.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(ApiError::validation(
            field,
            format!("{field} must be one of {}", allowed.join(", ")),
        ))
    }
}

fn at_most(field: &str, n: usize) -> Result<(), ApiError> {
    if n > MAX_ITEMS {
        return Err(ApiError::validation(
            field,
            format!("{field} holds more than {MAX_ITEMS} entries"),
        ));
    }
    Ok(())
}

/// Checks every field of a risk point; the error names the first bad one (list entries as
/// `control_measures[2].check_cycle`).
pub fn validate_fields(input: &RiskPointInput) -> Result<RiskPointFields, ApiError> {
    let name = required("name", &input.name, 200)?;
    let kind = one_of("kind", &input.kind, &KINDS)?;
    let location = optional("location", &input.location, 500)?;
    crate::registry::rules::check_location(input.lon, input.lat)
        .map_err(|e| ApiError::validation(e.field.clone(), e.message.clone()))?;
    at_most("hazards", input.hazards.len())?;
    let mut hazards = Vec::new();
    for (i, h) in input.hazards.iter().enumerate() {
        let h = optional(&format!("hazards[{i}]"), h, 200)?;
        if !h.is_empty() && !hazards.contains(&h) {
            hazards.push(h);
        }
    }
    let mut accident_types: Vec<String> = Vec::new();
    for (i, a) in input.accident_types.iter().enumerate() {
        let a = a.trim();
        if !rules::is_key(&rules::ACCIDENT_TYPES, a) {
            return Err(ApiError::validation(
                format!("accident_types[{i}]"),
                format!("{a} is not a GB 6441 accident type code (01–20)"),
            ));
        }
        if !accident_types.iter().any(|x| x == a) {
            accident_types.push(a.to_string());
        }
    }
    at_most("control_measures", input.control_measures.len())?;
    let categories: Vec<&str> = rules::MEASURE_CATEGORIES.iter().map(|c| c.0).collect();
    let mut control_measures = Vec::new();
    for (i, m) in input.control_measures.iter().enumerate() {
        let category = one_of(
            &format!("control_measures[{i}].category"),
            &m.category,
            &categories,
        )?;
        let text = required(&format!("control_measures[{i}].text"), &m.text, 1000)?;
        let check_cycle = match m.check_cycle.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(Cycle::parse(c).ok_or_else(|| {
                ApiError::validation(
                    format!("control_measures[{i}].check_cycle"),
                    "check_cycle must be daily, weekly, monthly, quarterly, yearly or null",
                )
            })?),
        };
        control_measures.push(ControlMeasure {
            category,
            text,
            check_cycle,
        });
    }
    Ok(RiskPointFields {
        name,
        kind,
        location,
        lon: input.lon,
        lat: input.lat,
        hazards,
        accident_types,
        control_measures,
        control_level: one_of("control_level", &input.control_level, &CONTROL_LEVELS)?,
        responsible_person: required("responsible_person", &input.responsible_person, 100)?,
        responsible_phone: optional("responsible_phone", &input.responsible_phone, 30)?,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RiskPoint {
    pub id: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub town_code: String,
    pub town_name: Option<String>,
    pub name: String,
    pub kind: String,
    pub location: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub hazards: Vec<String>,
    pub accident_types: Vec<String>,
    pub control_measures: Vec<ControlMeasure>,
    pub control_level: String,
    pub responsible_person: String,
    pub responsible_phone: String,
    /// Of the latest assessment: `lec` or `ls`.
    pub method: Option<String>,
    pub l: Option<f64>,
    pub e: Option<f64>,
    pub c: Option<f64>,
    pub s: Option<f64>,
    /// D of LEC or R of LS.
    pub score: Option<f64>,
    pub colour: Option<Colour>,
    pub assessed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const SELECT: &str = "SELECT rp.id, rp.enterprise_id, e.name AS enterprise_name, rp.town_code, u.name AS town_name, \
     rp.name, rp.kind, rp.location, rp.lon, rp.lat, rp.hazards, rp.accident_types, rp.control_measures, \
     rp.control_level, rp.responsible_person, rp.responsible_phone, rp.method, rp.l, rp.e, rp.c, rp.s, rp.score, \
     rp.colour, rp.assessed_at, rp.created_at, rp.updated_at ";

const FROM: &str = "FROM risk_points rp JOIN enterprises e ON e.id = rp.enterprise_id \
     LEFT JOIN admin_units u ON u.code = rp.town_code WHERE 1 = 1";

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: String,
    enterprise_id: String,
    enterprise_name: String,
    town_code: String,
    town_name: Option<String>,
    name: String,
    kind: String,
    location: String,
    lon: Option<f64>,
    lat: Option<f64>,
    hazards: String,
    accident_types: String,
    control_measures: String,
    control_level: String,
    responsible_person: String,
    responsible_phone: String,
    method: Option<String>,
    l: Option<f64>,
    e: Option<f64>,
    c: Option<f64>,
    s: Option<f64>,
    score: Option<f64>,
    colour: Option<String>,
    assessed_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl Row {
    fn into_model(self) -> RiskPoint {
        RiskPoint {
            id: self.id,
            enterprise_id: self.enterprise_id,
            enterprise_name: self.enterprise_name,
            town_code: self.town_code,
            town_name: self.town_name,
            name: self.name,
            kind: self.kind,
            location: self.location,
            lon: self.lon,
            lat: self.lat,
            hazards: serde_json::from_str(&self.hazards).unwrap_or_default(),
            accident_types: serde_json::from_str(&self.accident_types).unwrap_or_default(),
            control_measures: serde_json::from_str(&self.control_measures).unwrap_or_default(),
            control_level: self.control_level,
            responsible_person: self.responsible_person,
            responsible_phone: self.responsible_phone,
            method: self.method,
            l: self.l,
            e: self.e,
            c: self.c,
            s: self.s,
            score: self.score,
            colour: self.colour.as_deref().and_then(Colour::parse),
            assessed_at: self.assessed_at.map(crate::time::rfc3339),
            created_at: crate::time::rfc3339(self.created_at),
            updated_at: crate::time::rfc3339(self.updated_at),
        }
    }
}

fn by_id(id: &str) -> Sql {
    Sql::new(format!("{SELECT}{FROM} AND rp.id = $1")).bind(id)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<RiskPoint>, DbError> {
    Ok(db
        .fetch_optional::<Row>(&by_id(id))
        .await?
        .map(Row::into_model))
}

pub async fn get_tx(tx: &mut Tx, id: &str) -> Result<Option<RiskPoint>, DbError> {
    Ok(tx
        .fetch_optional::<Row>(&by_id(id))
        .await?
        .map(Row::into_model))
}

fn json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Stores a validated risk point of `enterprise_id` in `town_code`: a new one, or the
/// editable fields of an existing one (its assessment and creation time stay).
pub async fn save(
    tx: &mut Tx,
    id: &str,
    enterprise_id: &str,
    town_code: &str,
    f: &RiskPointFields,
    now_ms: i64,
) -> Result<(), DbError> {
    tx.execute(
        &Sql::new(
            "INSERT INTO risk_points (id, enterprise_id, town_code, name, kind, location, lon, lat, hazards, accident_types, \
             control_measures, control_level, responsible_person, responsible_phone, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
             ON CONFLICT (id) DO UPDATE SET enterprise_id = excluded.enterprise_id, town_code = excluded.town_code, \
             name = excluded.name, kind = excluded.kind, location = excluded.location, lon = excluded.lon, \
             lat = excluded.lat, hazards = excluded.hazards, accident_types = excluded.accident_types, \
             control_measures = excluded.control_measures, control_level = excluded.control_level, \
             responsible_person = excluded.responsible_person, responsible_phone = excluded.responsible_phone, \
             updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(enterprise_id)
        .bind(town_code)
        .bind(f.name.as_str())
        .bind(f.kind.as_str())
        .bind(f.location.as_str())
        .bind(f.lon)
        .bind(f.lat)
        .bind(json_text(&f.hazards))
        .bind(json_text(&f.accident_types))
        .bind(json_text(&f.control_measures))
        .bind(f.control_level.as_str())
        .bind(f.responsible_person.as_str())
        .bind(f.responsible_phone.as_str())
        .bind(now_ms),
    )
    .await?;
    Ok(())
}

/// Deletes a risk point; its assessments, check tasks and their records go with it, and
/// hidden dangers found at it lose the link (foreign keys).
pub async fn delete(tx: &mut Tx, id: &str) -> Result<u64, DbError> {
    tx.execute(&Sql::new("DELETE FROM risk_points WHERE id = $1").bind(id))
        .await
}

/// Filters of the risk-point list and map layer.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub enterprise_id: Option<String>,
    pub town_code: Option<String>,
    /// A colour, or `None` for any; `unassessed` lists those without a colour.
    pub colour: Option<Option<Colour>>,
    pub q: Option<String>,
}

impl Filter {
    fn sql(&self, scope: &Scope) -> Sql {
        let mut sql = Sql::new("");
        scope.filter(&mut sql, "rp.town_code", Some("rp.enterprise_id"));
        for (col, v) in [
            ("rp.enterprise_id", &self.enterprise_id),
            ("rp.town_code", &self.town_code),
        ] {
            if let Some(v) = v {
                let p = sql.arg(v.as_str());
                sql.push(&format!(" AND {col} = {p}"));
            }
        }
        match self.colour {
            Some(Some(c)) => {
                let p = sql.arg(c.key());
                sql.push(&format!(" AND rp.colour = {p}"));
            }
            Some(None) => {
                sql.push(" AND rp.colour IS NULL");
            }
            None => {}
        }
        if let Some(q) = self.q.as_deref().filter(|q| !q.is_empty()) {
            sql.push_contains(q, &["rp.name", "rp.location", "e.name"]);
        }
        sql
    }
}

/// Risk points in scope, the most dangerous first.
pub async fn list(
    db: &Db,
    scope: &Scope,
    filter: &Filter,
    paging: crate::paging::Paging,
) -> Result<(Vec<RiskPoint>, i64), DbError> {
    let (rows, total) = db
        .fetch_page::<Row>(
            FROM,
            &format!("{SELECT}{FROM}"),
            filter.sql(scope),
            "ORDER BY rp.colour_rank DESC, e.name, rp.name, rp.id",
            Some(paging),
        )
        .await?;
    Ok((rows.into_iter().map(Row::into_model).collect(), total))
}

// ---------------------------------------------------------------------------------------------
// Assessments

/// An assessment as sent: `method` decides which factors are needed.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AssessmentInput {
    /// `lec` or `ls`.
    pub method: String,
    pub l: Option<f64>,
    /// LEC only.
    pub e: Option<f64>,
    /// LEC only.
    pub c: Option<f64>,
    /// LS only.
    pub s: Option<f64>,
    pub note: Option<String>,
}

/// A graded assessment, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    pub method: &'static str,
    pub l: f64,
    pub e: Option<f64>,
    pub c: Option<f64>,
    pub s: Option<f64>,
    pub score: f64,
    pub colour: Colour,
    pub note: String,
}

fn factor(field: &'static str, v: Option<f64>) -> Result<f64, ApiError> {
    v.ok_or_else(|| ApiError::validation(field, format!("{field} is required")))
}

fn factor_error(e: rules::FactorError) -> ApiError {
    ApiError::validation(e.field, e.to_string())
}

/// Grades an assessment with the bands in force; a factor outside its table is a 422 naming it.
pub fn grade(input: &AssessmentInput, bands: &Bands) -> Result<Graded, ApiError> {
    let note = optional("note", input.note.as_deref().unwrap_or_default(), 2000)?;
    match input.method.trim() {
        "lec" => {
            let r = rules::lec(
                factor("l", input.l)?,
                factor("e", input.e)?,
                factor("c", input.c)?,
                bands,
            )
            .map_err(factor_error)?;
            Ok(Graded {
                method: "lec",
                l: r.l,
                e: Some(r.e),
                c: Some(r.c),
                s: None,
                score: r.d,
                colour: r.colour,
                note,
            })
        }
        "ls" => {
            let r = rules::ls(factor("l", input.l)?, factor("s", input.s)?, bands)
                .map_err(factor_error)?;
            Ok(Graded {
                method: "ls",
                l: f64::from(r.l),
                e: None,
                c: None,
                s: Some(f64::from(r.s)),
                score: f64::from(r.r),
                colour: r.colour,
                note,
            })
        }
        _ => Err(ApiError::validation("method", "method must be lec or ls")),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Assessment {
    pub id: String,
    pub risk_point_id: String,
    /// `lec` or `ls`.
    pub method: String,
    pub l: f64,
    pub e: Option<f64>,
    pub c: Option<f64>,
    pub s: Option<f64>,
    /// D of LEC or R of LS.
    pub score: f64,
    pub colour: Colour,
    /// 重大风险, 较大风险, 一般风险 or 低风险.
    pub level_zh: String,
    /// The bands it was graded with.
    pub bands: Option<Bands>,
    pub note: String,
    pub assessed_at: String,
    pub assessor_name: String,
}

#[derive(Debug, sqlx::FromRow)]
struct AssessmentRow {
    id: String,
    risk_point_id: String,
    method: String,
    l: f64,
    e: Option<f64>,
    c: Option<f64>,
    s: Option<f64>,
    score: f64,
    colour: String,
    bands: String,
    note: String,
    assessed_at: i64,
    assessor_name: String,
}

impl AssessmentRow {
    fn into_model(self) -> Assessment {
        // The CHECK constraint admits only the four colours.
        let colour = Colour::parse(&self.colour).unwrap_or(Colour::Blue);
        Assessment {
            id: self.id,
            risk_point_id: self.risk_point_id,
            method: self.method,
            l: self.l,
            e: self.e,
            c: self.c,
            s: self.s,
            score: self.score,
            colour,
            level_zh: colour.risk_level_zh().to_string(),
            bands: serde_json::from_str(&self.bands).ok(),
            note: self.note,
            assessed_at: crate::time::rfc3339(self.assessed_at),
            assessor_name: self.assessor_name,
        }
    }
}

const ASSESSMENT_SELECT: &str = "SELECT id, risk_point_id, method, l, e, c, s, score, colour, bands, note, assessed_at, \
     assessor_name FROM risk_assessments";

/// Stores an assessment with the bands it was graded with; the risk point takes its result.
#[allow(clippy::too_many_arguments)]
pub async fn assess(
    tx: &mut Tx,
    risk_point_id: &str,
    g: &Graded,
    bands: &Bands,
    assessor_id: Option<&str>,
    assessor_name: &str,
    now_ms: i64,
) -> Result<Assessment, DbError> {
    let id = crate::db::new_id();
    tx.execute(
        &Sql::new(
            "INSERT INTO risk_assessments (id, risk_point_id, method, l, e, c, s, score, colour, bands, note, \
             assessed_at, assessed_by, assessor_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(id.as_str())
        .bind(risk_point_id)
        .bind(g.method)
        .bind(g.l)
        .bind(g.e)
        .bind(g.c)
        .bind(g.s)
        .bind(g.score)
        .bind(g.colour.key())
        .bind(json_text(bands))
        .bind(g.note.as_str())
        .bind(now_ms)
        .bind(assessor_id)
        .bind(assessor_name),
    )
    .await?;
    tx.execute(
        &Sql::new(
            "UPDATE risk_points SET method = $2, l = $3, e = $4, c = $5, s = $6, score = $7, colour = $8, \
             colour_rank = $9, assessed_at = $10, updated_at = $10 WHERE id = $1",
        )
        .bind(risk_point_id)
        .bind(g.method)
        .bind(g.l)
        .bind(g.e)
        .bind(g.c)
        .bind(g.s)
        .bind(g.score)
        .bind(g.colour.key())
        .bind(g.colour.rank())
        .bind(now_ms),
    )
    .await?;
    let row: AssessmentRow = tx
        .fetch_optional(&Sql::new(format!("{ASSESSMENT_SELECT} WHERE id = $1")).bind(id.as_str()))
        .await?
        .ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))?;
    Ok(row.into_model())
}

/// The assessments of a risk point, newest first.
pub async fn assessments(db: &Db, risk_point_id: &str) -> Result<Vec<Assessment>, DbError> {
    let rows: Vec<AssessmentRow> = db
        .fetch_all(
            &Sql::new(format!(
                "{ASSESSMENT_SELECT} WHERE risk_point_id = $1 ORDER BY assessed_at DESC, id DESC"
            ))
            .bind(risk_point_id),
        )
        .await?;
    Ok(rows.into_iter().map(AssessmentRow::into_model).collect())
}

// ---------------------------------------------------------------------------------------------
// Roll-ups

/// An enterprise on the risk map: the colour of its highest risk point and its counts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct EnterpriseRisk {
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub town_code: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// The highest colour of its assessed risk points; null when none is assessed.
    pub colour: Option<Colour>,
    /// Assessed risk points per colour.
    pub counts: ColourCounts,
    /// Risk points not assessed yet.
    pub unassessed: i64,
}

/// A town on the risk map.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TownRisk {
    pub town_code: String,
    pub town_name: String,
    /// Assessed risk points per colour.
    pub points: ColourCounts,
    /// Enterprises per colour (each by its highest risk point).
    pub enterprises: ColourCounts,
    /// See `rules::town_shade`; null when no enterprise of the town is assessed.
    pub shade: Option<Colour>,
}

#[derive(Debug, sqlx::FromRow)]
struct GroupRow {
    enterprise_id: String,
    enterprise_name: String,
    town_code: String,
    lon: Option<f64>,
    lat: Option<f64>,
    colour: Option<String>,
    n: i64,
}

/// Per enterprise with risk points in scope (optionally of one town), the most dangerous first.
pub async fn enterprise_rollup(
    db: &Db,
    scope: &Scope,
    town_code: Option<&str>,
) -> Result<Vec<EnterpriseRisk>, DbError> {
    let mut sql = Sql::new(
        "SELECT rp.enterprise_id, e.name AS enterprise_name, rp.town_code, e.lon, e.lat, rp.colour, \
         CAST(COUNT(*) AS BIGINT) AS n FROM risk_points rp JOIN enterprises e ON e.id = rp.enterprise_id WHERE 1 = 1",
    );
    scope.filter(&mut sql, "rp.town_code", Some("rp.enterprise_id"));
    if let Some(t) = town_code {
        let p = sql.arg(t);
        sql.push(&format!(" AND rp.town_code = {p}"));
    }
    sql.push(" GROUP BY rp.enterprise_id, e.name, rp.town_code, e.lon, e.lat, rp.colour");
    let rows: Vec<GroupRow> = db.fetch_all(&sql).await?;
    let mut by: BTreeMap<String, EnterpriseRisk> = BTreeMap::new();
    for r in rows {
        let entry = by
            .entry(r.enterprise_id.clone())
            .or_insert_with(|| EnterpriseRisk {
                enterprise_id: r.enterprise_id.clone(),
                enterprise_name: r.enterprise_name.clone(),
                town_code: r.town_code.clone(),
                lon: r.lon,
                lat: r.lat,
                colour: None,
                counts: ColourCounts::default(),
                unassessed: 0,
            });
        match r.colour.as_deref().and_then(Colour::parse) {
            Some(c) => entry.counts.add(c, r.n),
            None => entry.unassessed += r.n,
        }
    }
    let mut out: Vec<EnterpriseRisk> = by
        .into_values()
        .map(|mut e| {
            e.colour = e.counts.worst();
            e
        })
        .collect();
    out.sort_by(|a, b| {
        b.colour
            .cmp(&a.colour)
            .then_with(|| a.enterprise_name.cmp(&b.enterprise_name))
            .then_with(|| a.enterprise_id.cmp(&b.enterprise_id))
    });
    Ok(out)
}

/// Every town with its counts in scope and its shade (towns without assessed points have
/// zero counts and no shade).
pub async fn town_rollup(db: &Db, scope: &Scope) -> Result<Vec<TownRisk>, DbError> {
    let towns: Vec<(String, String)> = db
        .fetch_all(&Sql::new(
            "SELECT code, name FROM admin_units WHERE kind <> 'district' ORDER BY code",
        ))
        .await?;
    let enterprises = enterprise_rollup(db, scope, None).await?;
    Ok(towns
        .into_iter()
        .map(|(code, name)| town_risk(code, name, &enterprises))
        .collect())
}

/// A town's counts and shade from the roll-up of its enterprises.
pub fn town_risk(town_code: String, town_name: String, enterprises: &[EnterpriseRisk]) -> TownRisk {
    let mut points = ColourCounts::default();
    let mut per_enterprise = ColourCounts::default();
    for e in enterprises.iter().filter(|e| e.town_code == town_code) {
        for c in Colour::ALL {
            let n = match c {
                Colour::Red => e.counts.red,
                Colour::Orange => e.counts.orange,
                Colour::Yellow => e.counts.yellow,
                Colour::Blue => e.counts.blue,
            };
            points.add(c, n);
        }
        if let Some(c) = e.colour {
            per_enterprise.add(c, 1);
        }
    }
    TownRisk {
        shade: rules::town_shade(&per_enterprise),
        town_code,
        town_name,
        points,
        enterprises: per_enterprise,
    }
}

/// A risk point on the map: its own location, else its enterprise's.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MapPoint {
    pub id: String,
    pub name: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub lon: f64,
    pub lat: f64,
    pub colour: Option<String>,
    pub score: Option<f64>,
    pub method: Option<String>,
}

pub async fn map_points(db: &Db, scope: &Scope, filter: &Filter) -> Result<Vec<MapPoint>, DbError> {
    let f = filter.sql(scope);
    let sql = Sql {
        text: format!(
            "SELECT rp.id, rp.name, rp.enterprise_id, e.name AS enterprise_name, COALESCE(rp.lon, e.lon) AS lon, \
             COALESCE(rp.lat, e.lat) AS lat, rp.colour, rp.score, rp.method {FROM}{} \
             AND COALESCE(rp.lon, e.lon) IS NOT NULL AND COALESCE(rp.lat, e.lat) IS NOT NULL \
             ORDER BY rp.colour_rank, rp.id",
            f.text
        ),
        args: f.args,
    };
    db.fetch_all(&sql).await
}
