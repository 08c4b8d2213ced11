//! Hazard-source units, their chemicals and equipment in the database.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{
    CategoryInput, EquipmentInput, EquipmentKind, HazardUnitInput, HazardUnitKind, SubstanceInput,
};
use crate::auth::Scope;
use crate::db::{Db, DbError, Sql, Tx};
use crate::paging::{Page, Paging};

/// The stored result of identification and grading.
#[derive(Debug, Clone, PartialEq)]
pub struct Grading {
    pub s: f64,
    pub is_major: bool,
    pub r: Option<f64>,
    pub grade: Option<i64>,
    /// The whole evaluation, every term, as the rules module returned it.
    pub evaluation: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Equipment {
    pub id: String,
    pub name: String,
    pub kind: EquipmentKind,
    pub capacity: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HazardUnit {
    pub id: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub town_code: String,
    pub town_name: String,
    pub name: String,
    pub kind: HazardUnitKind,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub exposed_population: i64,
    pub description: String,
    pub substances: Vec<SubstanceInput>,
    pub equipment: Vec<Equipment>,
    /// S = Σ q/Q.
    pub s: Option<f64>,
    /// S ≥ 1: a major hazard source.
    pub is_major: bool,
    /// R = α·Σ β·q/Q, for major hazard sources.
    pub r: Option<f64>,
    /// 1 (一级, highest) to 4 (四级), for major hazard sources.
    pub grade: Option<i64>,
    /// Every term of the GB 18218-2018 evaluation.
    pub evaluation: Option<serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
}

impl HazardUnit {
    pub fn input(&self) -> HazardUnitInput {
        HazardUnitInput {
            enterprise_id: self.enterprise_id.clone(),
            name: self.name.clone(),
            kind: self.kind,
            lon: self.lon,
            lat: self.lat,
            exposed_population: self.exposed_population,
            description: self.description.clone(),
            substances: self.substances.clone(),
            equipment: self
                .equipment
                .iter()
                .map(|e| EquipmentInput {
                    id: Some(e.id.clone()),
                    name: e.name.clone(),
                    kind: e.kind,
                    capacity: e.capacity.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct UnitRow {
    id: String,
    enterprise_id: String,
    enterprise_name: String,
    town_code: String,
    town_name: Option<String>,
    name: String,
    kind: String,
    lon: Option<f64>,
    lat: Option<f64>,
    exposed_population: i64,
    description: String,
    s: Option<f64>,
    r: Option<f64>,
    grade: Option<i64>,
    is_major: bool,
    evaluation: Option<String>,
    created_at: i64,
    updated_at: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct SubstanceRow {
    unit_id: String,
    name: String,
    cas: String,
    category: String,
    quantity_t: f64,
    critical_t: Option<f64>,
    beta: Option<f64>,
    override_reason: String,
}

#[derive(Debug, sqlx::FromRow)]
struct EquipmentRow {
    id: String,
    unit_id: String,
    name: String,
    kind: String,
    capacity: String,
}

const UNIT_SELECT: &str = "SELECT h.id, h.enterprise_id, e.name AS enterprise_name, e.town_code, a.name AS town_name, \
     h.name, h.kind, h.lon, h.lat, h.exposed_population, h.description, h.s, h.r, h.grade, h.is_major, h.evaluation, \
     h.created_at, h.updated_at FROM hazard_units h JOIN enterprises e ON e.id = h.enterprise_id \
     LEFT JOIN admin_units a ON a.code = e.town_code";

#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HazardFilter {
    /// Enterprise id.
    pub enterprise: Option<String>,
    /// Township code of the enterprise.
    pub town: Option<String>,
    /// Grade 1–4.
    pub grade: Option<i64>,
    /// Only major hazard sources (`true`) or only the others (`false`).
    pub major: Option<bool>,
    /// Text search in unit and enterprise names.
    pub q: Option<String>,
}

fn hazard_where(sql: &mut Sql, scope: &Scope, f: &HazardFilter) {
    scope.filter(sql, "e.town_code", Some("h.enterprise_id"));
    if let Some(v) = f.enterprise.as_deref().filter(|v| !v.is_empty()) {
        let p = sql.arg(v);
        sql.push(&format!(" AND h.enterprise_id = {p}"));
    }
    if let Some(v) = f.town.as_deref().filter(|v| !v.is_empty()) {
        let p = sql.arg(v);
        sql.push(&format!(" AND e.town_code = {p}"));
    }
    if let Some(g) = f.grade {
        let p = sql.arg(g);
        sql.push(&format!(" AND h.grade = {p}"));
    }
    if let Some(m) = f.major {
        let p = sql.arg(m);
        sql.push(&format!(" AND h.is_major = {p}"));
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let p = sql.arg(format!("%{}%", q.trim().to_lowercase()));
        sql.push(&format!(
            " AND (LOWER(h.name) LIKE {p} OR LOWER(e.name) LIKE {p})"
        ));
    }
}

fn attach(
    db_units: Vec<UnitRow>,
    subs: Vec<SubstanceRow>,
    equipment: Vec<EquipmentRow>,
) -> Vec<HazardUnit> {
    db_units
        .into_iter()
        .map(|u| HazardUnit {
            substances: subs
                .iter()
                .filter(|s| s.unit_id == u.id)
                .map(|s| SubstanceInput {
                    name: non_empty(&s.name),
                    cas: non_empty(&s.cas),
                    category: category_from_db(&s.category),
                    quantity_t: s.quantity_t,
                    critical_t: s.critical_t,
                    beta: s.beta,
                    override_reason: non_empty(&s.override_reason),
                })
                .collect(),
            equipment: equipment
                .iter()
                .filter(|e| e.unit_id == u.id)
                .map(|e| Equipment {
                    id: e.id.clone(),
                    name: e.name.clone(),
                    kind: EquipmentKind::parse(&e.kind).unwrap_or(EquipmentKind::Other),
                    capacity: e.capacity.clone(),
                })
                .collect(),
            kind: HazardUnitKind::parse(&u.kind).unwrap_or(HazardUnitKind::Storage),
            evaluation: u
                .evaluation
                .as_deref()
                .and_then(|e| serde_json::from_str(e).ok()),
            created_at: crate::time::rfc3339(u.created_at),
            updated_at: crate::time::rfc3339(u.updated_at),
            id: u.id,
            enterprise_id: u.enterprise_id,
            enterprise_name: u.enterprise_name,
            town_code: u.town_code,
            town_name: u.town_name.unwrap_or_default(),
            name: u.name,
            lon: u.lon,
            lat: u.lat,
            exposed_population: u.exposed_population,
            description: u.description,
            s: u.s,
            is_major: u.is_major,
            r: u.r,
            grade: u.grade,
        })
        .collect()
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Several Table 2 symbols are stored comma-separated.
fn category_to_db(c: &Option<CategoryInput>) -> String {
    match c {
        None => String::new(),
        Some(CategoryInput::One(s)) => s.clone(),
        Some(CategoryInput::Many(v)) => v.join(","),
    }
}

fn category_from_db(s: &str) -> Option<CategoryInput> {
    let parts: Vec<String> = s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next().map(CategoryInput::One),
        _ => Some(CategoryInput::Many(parts)),
    }
}

/// The children of the given units, fetched in one query each.
fn child_sql(table_cols: &str, ids: &[String]) -> Sql {
    let mut sql = Sql::new(format!("SELECT {table_cols} WHERE unit_id IN ("));
    for (i, id) in ids.iter().enumerate() {
        let p = sql.arg(id.as_str());
        if i > 0 {
            sql.push(", ");
        }
        sql.push(&p);
    }
    if ids.is_empty() {
        sql.push("NULL");
    }
    sql.push(")");
    sql
}

const SUBSTANCE_COLS: &str = "unit_id, name, cas, category, quantity_t, critical_t, beta, override_reason FROM hazard_substances";
const EQUIPMENT_COLS: &str = "id, unit_id, name, kind, capacity FROM hazard_equipment";

pub async fn list(
    db: &Db,
    scope: &Scope,
    f: &HazardFilter,
    paging: Option<Paging>,
) -> Result<Page<HazardUnit>, DbError> {
    let mut sql = Sql::new(" WHERE 1 = 1");
    hazard_where(&mut sql, scope, f);
    let (units, total): (Vec<UnitRow>, i64) = db
        .fetch_page(
            "FROM hazard_units h JOIN enterprises e ON e.id = h.enterprise_id",
            UNIT_SELECT,
            sql,
            "ORDER BY e.town_code, e.name, h.name, h.id",
            paging,
        )
        .await?;
    let ids: Vec<String> = units.iter().map(|u| u.id.clone()).collect();
    let mut subs: Vec<SubstanceRow> = Vec::new();
    let mut equipment: Vec<EquipmentRow> = Vec::new();
    // Chunks keep the bind count far below both backends' limits.
    for chunk in ids.chunks(500) {
        let mut s = child_sql(SUBSTANCE_COLS, chunk);
        s.push(" ORDER BY unit_id, position");
        subs.extend(db.fetch_all::<SubstanceRow>(&s).await?);
        let mut e = child_sql(EQUIPMENT_COLS, chunk);
        e.push(" ORDER BY unit_id, created_at, id");
        equipment.extend(db.fetch_all::<EquipmentRow>(&e).await?);
    }
    Ok(Page {
        items: attach(units, subs, equipment),
        total,
    })
}

pub async fn get(db: &Db, id: &str) -> Result<Option<HazardUnit>, DbError> {
    let mut tx = db.begin().await?;
    let u = get_tx(&mut tx, id).await?;
    tx.commit().await?;
    Ok(u)
}

pub async fn get_tx(tx: &mut Tx, id: &str) -> Result<Option<HazardUnit>, DbError> {
    let unit: Option<UnitRow> = tx
        .fetch_optional(&Sql::new(format!("{UNIT_SELECT} WHERE h.id = $1")).bind(id))
        .await?;
    let Some(unit) = unit else { return Ok(None) };
    let ids = [unit.id.clone()];
    let mut s = child_sql(SUBSTANCE_COLS, &ids);
    s.push(" ORDER BY position");
    let subs = tx.fetch_all::<SubstanceRow>(&s).await?;
    let mut e = child_sql(EQUIPMENT_COLS, &ids);
    e.push(" ORDER BY created_at, id");
    let equipment = tx.fetch_all::<EquipmentRow>(&e).await?;
    Ok(attach(vec![unit], subs, equipment).pop())
}

/// Writes a unit (insert when `existing` is false) with its chemicals and equipment and its
/// grading. Equipment keeps its id when the input names one of the unit's existing items;
/// items no longer listed are removed.
pub async fn save(
    tx: &mut Tx,
    id: &str,
    u: &HazardUnitInput,
    g: &Grading,
    existing: bool,
) -> Result<(), DbError> {
    let now = crate::db::now_ms();
    let evaluation = g.evaluation.to_string();
    if existing {
        tx.execute(
            &Sql::new(
                "UPDATE hazard_units SET enterprise_id = $1, name = $2, kind = $3, lon = $4, lat = $5, exposed_population = $6, \
                 description = $7, s = $8, r = $9, grade = $10, is_major = $11, evaluation = $12, evaluation_error = NULL, \
                 updated_at = $13 WHERE id = $14",
            )
            .bind(&u.enterprise_id)
            .bind(&u.name)
            .bind(u.kind.key())
            .bind(u.lon)
            .bind(u.lat)
            .bind(u.exposed_population)
            .bind(&u.description)
            .bind(g.s)
            .bind(g.r)
            .bind(g.grade)
            .bind(g.is_major)
            .bind(evaluation)
            .bind(now)
            .bind(id),
        )
        .await?;
    } else {
        tx.execute(
            &Sql::new(
                "INSERT INTO hazard_units (id, enterprise_id, name, kind, lon, lat, exposed_population, description, s, r, \
                 grade, is_major, evaluation, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$14)",
            )
            .bind(id)
            .bind(&u.enterprise_id)
            .bind(&u.name)
            .bind(u.kind.key())
            .bind(u.lon)
            .bind(u.lat)
            .bind(u.exposed_population)
            .bind(&u.description)
            .bind(g.s)
            .bind(g.r)
            .bind(g.grade)
            .bind(g.is_major)
            .bind(evaluation)
            .bind(now),
        )
        .await?;
    }
    tx.execute(&Sql::new("DELETE FROM hazard_substances WHERE unit_id = $1").bind(id))
        .await?;
    for (i, s) in u.substances.iter().enumerate() {
        tx.execute(
            &Sql::new(
                "INSERT INTO hazard_substances (id, unit_id, position, name, cas, category, quantity_t, critical_t, beta, override_reason) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
            )
            .bind(crate::db::new_id())
            .bind(id)
            .bind(i as i64)
            .bind(s.name.clone().unwrap_or_default())
            .bind(s.cas.clone().unwrap_or_default())
            .bind(category_to_db(&s.category))
            .bind(s.quantity_t)
            .bind(s.critical_t)
            .bind(s.beta)
            .bind(s.override_reason.clone().unwrap_or_default()),
        )
        .await?;
    }
    let current: Vec<(String,)> = tx
        .fetch_all(&Sql::new("SELECT id FROM hazard_equipment WHERE unit_id = $1").bind(id))
        .await?;
    let kept: Vec<&str> = u.equipment.iter().filter_map(|e| e.id.as_deref()).collect();
    for (old,) in &current {
        if !kept.contains(&old.as_str()) {
            tx.execute(&Sql::new("DELETE FROM hazard_equipment WHERE id = $1").bind(old.as_str()))
                .await?;
        }
    }
    for (i, e) in u.equipment.iter().enumerate() {
        match e
            .id
            .as_deref()
            .filter(|eid| current.iter().any(|(c,)| c == eid))
        {
            Some(eid) => {
                tx.execute(
                    &Sql::new("UPDATE hazard_equipment SET name = $1, kind = $2, capacity = $3 WHERE id = $4")
                        .bind(&e.name)
                        .bind(e.kind.key())
                        .bind(&e.capacity)
                        .bind(eid),
                )
                .await?;
            }
            None => {
                tx.execute(
                    &Sql::new(
                        "INSERT INTO hazard_equipment (id, unit_id, name, kind, capacity, created_at) VALUES ($1,$2,$3,$4,$5,$6)",
                    )
                    .bind(crate::db::new_id())
                    .bind(id)
                    .bind(&e.name)
                    .bind(e.kind.key())
                    .bind(&e.capacity)
                    // Keeps the listed order: created_at orders equipment within a unit.
                    .bind(now + i as i64),
                )
                .await?;
            }
        }
    }
    Ok(())
}

pub async fn delete(tx: &mut Tx, id: &str) -> Result<u64, DbError> {
    tx.execute(&Sql::new("DELETE FROM hazard_units WHERE id = $1").bind(id))
        .await
}

/// A point of the major-hazard-source map layer: the unit's location, else its enterprise's.
#[derive(Debug, sqlx::FromRow)]
pub struct HazardPoint {
    pub id: String,
    pub name: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub grade: Option<i64>,
    pub is_major: bool,
    pub r: Option<f64>,
    pub lon: f64,
    pub lat: f64,
}

pub async fn points(db: &Db, scope: &Scope, f: &HazardFilter) -> Result<Vec<HazardPoint>, DbError> {
    let mut sql = Sql::new(
        " WHERE COALESCE(h.lon, e.lon) IS NOT NULL AND COALESCE(h.lat, e.lat) IS NOT NULL",
    );
    hazard_where(&mut sql, scope, f);
    sql.text = format!(
        "SELECT h.id, h.name, h.enterprise_id, e.name AS enterprise_name, h.grade, h.is_major, h.r, \
         COALESCE(h.lon, e.lon) AS lon, COALESCE(h.lat, e.lat) AS lat \
         FROM hazard_units h JOIN enterprises e ON e.id = h.enterprise_id{} ORDER BY h.grade, h.id",
        sql.text
    );
    db.fetch_all(&sql).await
}
