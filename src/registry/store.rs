//! Registry tables: administrative units, enterprises, facilities.

use std::collections::HashSet;

use serde::Serialize;
use utoipa::ToSchema;

use super::industry;
use super::model::{
    AdminUnitSeed, EnterpriseInput, FacilityInput, FacilityKind, HazardFlag, Scale, UnitKind,
};
use super::rules::{flags_from_db, flags_to_db};
use crate::auth::Scope;
use crate::db::{Db, DbError, Sql, Tx};
use crate::paging::{Page, Paging};

// ---------- administrative units ----------

/// A township-level unit with the counts of what it holds (within the reader's scope).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminUnit {
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_code: Option<String>,
    pub population: Option<i64>,
    /// The population is generated for the demo, not an official figure.
    pub population_approximate: bool,
    /// The boundary is generated (Voronoi cell of the seats), not surveyed.
    pub geometry_approximate: bool,
    /// Seat as [lon, lat], WGS84.
    pub seat: Option<[f64; 2]>,
    pub seat_approximate: bool,
    pub area_km2: Option<f64>,
    pub enterprise_count: i64,
    pub hazchem_count: i64,
    pub facility_count: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct UnitRow {
    code: String,
    name: String,
    kind: String,
    parent_code: Option<String>,
    population: Option<i64>,
    population_approximate: bool,
    geometry_approximate: bool,
    seat_lon: Option<f64>,
    seat_lat: Option<f64>,
    seat_approximate: bool,
    area_km2: Option<f64>,
}

impl UnitRow {
    fn into_unit(self) -> AdminUnit {
        AdminUnit {
            kind: UnitKind::parse(&self.kind).unwrap_or(UnitKind::Town),
            code: self.code,
            name: self.name,
            parent_code: self.parent_code,
            population: self.population,
            population_approximate: self.population_approximate,
            geometry_approximate: self.geometry_approximate,
            seat: self.seat_lon.zip(self.seat_lat).map(|(a, b)| [a, b]),
            seat_approximate: self.seat_approximate,
            area_km2: self.area_km2,
            enterprise_count: 0,
            hazchem_count: 0,
            facility_count: 0,
        }
    }
}

const UNIT_COLUMNS: &str = "code, name, kind, parent_code, population, population_approximate, geometry_approximate, \
     seat_lon, seat_lat, seat_approximate, area_km2";

pub async fn upsert_unit(
    tx: &mut Tx,
    u: &AdminUnitSeed,
    area_km2: Option<f64>,
) -> Result<(), DbError> {
    tx.execute(
        &Sql::new(
            "INSERT INTO admin_units (code, name, kind, parent_code, population, population_approximate, geometry, \
             geometry_approximate, seat_lon, seat_lat, seat_approximate, area_km2, source, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, parent_code = excluded.parent_code, \
             population = excluded.population, population_approximate = excluded.population_approximate, \
             geometry = excluded.geometry, geometry_approximate = excluded.geometry_approximate, seat_lon = excluded.seat_lon, \
             seat_lat = excluded.seat_lat, seat_approximate = excluded.seat_approximate, area_km2 = excluded.area_km2, \
             source = excluded.source, updated_at = excluded.updated_at",
        )
        .bind(&u.code)
        .bind(&u.name)
        .bind(u.kind.as_str())
        .bind(u.parent_code.clone())
        .bind(u.population)
        .bind(u.population_approximate)
        .bind(u.geometry.as_ref().map(|g| g.to_string()))
        .bind(u.geometry_approximate)
        .bind(u.seat.map(|s| s[0]))
        .bind(u.seat.map(|s| s[1]))
        .bind(u.seat_approximate)
        .bind(area_km2)
        .bind(&u.source)
        .bind(crate::db::now_ms()),
    )
    .await?;
    Ok(())
}

/// Replaces a unit's boundary with a surveyed one.
pub async fn set_unit_geometry(
    tx: &mut Tx,
    code: &str,
    geometry: &serde_json::Value,
    area_km2: f64,
    source: &str,
) -> Result<u64, DbError> {
    tx.execute(
        &Sql::new(
            "UPDATE admin_units SET geometry = $1, geometry_approximate = $2, area_km2 = $3, source = $4, updated_at = $5 WHERE code = $6",
        )
        .bind(geometry.to_string())
        .bind(false)
        .bind(area_km2)
        .bind(source)
        .bind(crate::db::now_ms())
        .bind(code),
    )
    .await
}

pub async fn count_units(db: &Db) -> Result<i64, DbError> {
    db.fetch_scalar(&Sql::new("SELECT COUNT(*) FROM admin_units"))
        .await
}

/// Codes of the township-level units (what `town_code` fields may hold).
pub async fn town_codes(db: &Db) -> Result<HashSet<String>, DbError> {
    let rows: Vec<(String,)> = db
        .fetch_all(&Sql::new(
            "SELECT code FROM admin_units WHERE kind <> 'district'",
        ))
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Name → code of the township-level units, for imports that name the town.
pub async fn town_names(db: &Db) -> Result<Vec<(String, String)>, DbError> {
    db.fetch_all(&Sql::new(
        "SELECT name, code FROM admin_units WHERE kind <> 'district' ORDER BY code",
    ))
    .await
}

#[derive(Debug, sqlx::FromRow)]
struct CountRow {
    town_code: String,
    n: i64,
    hazchem: i64,
}

/// Township-level units with counts of enterprises, hazardous-chemical enterprises and
/// facilities visible in `scope`.
pub async fn list_units(db: &Db, scope: &Scope) -> Result<Vec<AdminUnit>, DbError> {
    let rows: Vec<UnitRow> = db
        .fetch_all(&Sql::new(format!(
            "SELECT {UNIT_COLUMNS} FROM admin_units WHERE kind <> 'district' ORDER BY code"
        )))
        .await?;
    let mut ent = Sql::new(
        "SELECT town_code, COUNT(*) AS n, CAST(SUM(CASE WHEN flags LIKE '%,hazchem_%' THEN 1 ELSE 0 END) AS BIGINT) AS hazchem \
         FROM enterprises WHERE 1 = 1",
    );
    scope.filter(&mut ent, "town_code", Some("id"));
    ent.push(" GROUP BY town_code");
    let ent_counts: Vec<CountRow> = db.fetch_all(&ent).await?;
    let mut fac = Sql::new(
        "SELECT town_code, COUNT(*) AS n, CAST(0 AS BIGINT) AS hazchem FROM facilities WHERE 1 = 1",
    );
    scope.filter(&mut fac, "town_code", None);
    fac.push(" GROUP BY town_code");
    let fac_counts: Vec<CountRow> = db.fetch_all(&fac).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut u = r.into_unit();
            if let Some(c) = ent_counts.iter().find(|c| c.town_code == u.code) {
                u.enterprise_count = c.n;
                u.hazchem_count = c.hazchem;
            }
            if let Some(c) = fac_counts.iter().find(|c| c.town_code == u.code) {
                u.facility_count = c.n;
            }
            u
        })
        .collect())
}

pub async fn get_unit(db: &Db, code: &str) -> Result<Option<AdminUnit>, DbError> {
    let row: Option<UnitRow> = db
        .fetch_optional(
            &Sql::new(format!(
                "SELECT {UNIT_COLUMNS} FROM admin_units WHERE code = $1"
            ))
            .bind(code),
        )
        .await?;
    Ok(row.map(UnitRow::into_unit))
}

#[derive(Debug, sqlx::FromRow)]
pub struct UnitGeometry {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub population: Option<i64>,
    pub population_approximate: bool,
    pub geometry_approximate: bool,
    pub geometry: Option<String>,
}

/// Units with their stored GeoJSON geometry; `district` picks the district or the townships.
pub async fn unit_geometries(db: &Db, district: bool) -> Result<Vec<UnitGeometry>, DbError> {
    let cond = if district {
        "kind = 'district'"
    } else {
        "kind <> 'district'"
    };
    db.fetch_all(&Sql::new(format!(
        "SELECT code, name, kind, population, population_approximate, geometry_approximate, geometry FROM admin_units WHERE {cond} ORDER BY code"
    )))
    .await
}

// ---------- enterprises ----------

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Enterprise {
    pub id: String,
    pub credit_code: String,
    pub name: String,
    pub town_code: String,
    pub town_name: String,
    pub address: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub industry_section: String,
    pub industry_division: Option<String>,
    /// Name of the division if given, else of the section (GB/T 4754-2017).
    pub industry_name: String,
    pub scale: Scale,
    pub staff_count: Option<i64>,
    pub legal_rep: String,
    pub safety_manager: String,
    pub safety_phone: String,
    pub flags: Vec<HazardFlag>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, sqlx::FromRow)]
struct EnterpriseRow {
    id: String,
    credit_code: String,
    name: String,
    town_code: String,
    town_name: Option<String>,
    address: String,
    lon: Option<f64>,
    lat: Option<f64>,
    industry_section: String,
    industry_division: Option<String>,
    scale: String,
    staff_count: Option<i64>,
    legal_rep: String,
    safety_manager: String,
    safety_phone: String,
    flags: String,
    created_at: i64,
    updated_at: i64,
}

impl EnterpriseRow {
    fn into_enterprise(self) -> Enterprise {
        Enterprise {
            industry_name: industry::industry_name(
                &self.industry_section,
                self.industry_division.as_deref(),
            )
            .unwrap_or_default(),
            id: self.id,
            credit_code: self.credit_code,
            name: self.name,
            town_code: self.town_code,
            town_name: self.town_name.unwrap_or_default(),
            address: self.address,
            lon: self.lon,
            lat: self.lat,
            industry_section: self.industry_section,
            industry_division: self.industry_division,
            scale: Scale::parse(&self.scale).unwrap_or(Scale::Below),
            staff_count: self.staff_count,
            legal_rep: self.legal_rep,
            safety_manager: self.safety_manager,
            safety_phone: self.safety_phone,
            flags: flags_from_db(&self.flags),
            created_at: crate::time::rfc3339(self.created_at),
            updated_at: crate::time::rfc3339(self.updated_at),
        }
    }
}

impl Enterprise {
    pub fn input(&self) -> EnterpriseInput {
        EnterpriseInput {
            credit_code: self.credit_code.clone(),
            name: self.name.clone(),
            town_code: self.town_code.clone(),
            address: self.address.clone(),
            lon: self.lon,
            lat: self.lat,
            industry_section: self.industry_section.clone(),
            industry_division: self.industry_division.clone(),
            scale: self.scale,
            staff_count: self.staff_count,
            legal_rep: self.legal_rep.clone(),
            safety_manager: self.safety_manager.clone(),
            safety_phone: self.safety_phone.clone(),
            flags: self.flags.clone(),
        }
    }
}

const ENTERPRISE_SELECT: &str = "SELECT e.id, e.credit_code, e.name, e.town_code, a.name AS town_name, e.address, e.lon, e.lat, \
     e.industry_section, e.industry_division, e.scale, e.staff_count, e.legal_rep, e.safety_manager, e.safety_phone, \
     e.flags, e.created_at, e.updated_at FROM enterprises e LEFT JOIN admin_units a ON a.code = e.town_code";

/// Filters of the enterprise list, the map layer and the export.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnterpriseFilter {
    /// Text search in name, credit code, address, legal representative and safety manager.
    pub q: Option<String>,
    /// Township code.
    pub town: Option<String>,
    /// GB/T 4754 section letter (`C`) or division code (`26`).
    pub industry: Option<String>,
    /// Hazard flag key, or `hazchem` for any of the four hazardous-chemical flags.
    pub flag: Option<String>,
    /// `above` or `below` designated size.
    pub scale: Option<String>,
}

/// The WHERE clause (after `WHERE 1 = 1`) of an enterprise query.
fn enterprise_where(
    sql: &mut Sql,
    scope: &Scope,
    f: &EnterpriseFilter,
) -> Result<(), super::rules::FieldError> {
    use super::rules::FieldError;
    scope.filter(sql, "e.town_code", Some("e.id"));
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        sql.push_contains(
            q,
            &[
                "e.name",
                "e.credit_code",
                "e.address",
                "e.legal_rep",
                "e.safety_manager",
            ],
        );
    }
    if let Some(t) = f.town.as_deref().filter(|t| !t.is_empty()) {
        let p = sql.arg(t);
        sql.push(&format!(" AND e.town_code = {p}"));
    }
    if let Some(i) = f
        .industry
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        if i.len() == 1 && i.chars().all(|c| c.is_ascii_alphabetic()) {
            let p = sql.arg(i.to_ascii_uppercase());
            sql.push(&format!(" AND e.industry_section = {p}"));
        } else if i.len() == 2 && i.chars().all(|c| c.is_ascii_digit()) {
            let p = sql.arg(i);
            sql.push(&format!(" AND e.industry_division = {p}"));
        } else {
            return Err(FieldError::new(
                "industry",
                "expected a section letter (C) or a two-digit division (26)",
            ));
        }
    }
    if let Some(flag) = f.flag.as_deref().filter(|x| !x.is_empty()) {
        if flag == "hazchem" {
            sql.push(" AND e.flags LIKE '%,hazchem_%'");
        } else {
            let fl = HazardFlag::parse(flag)
                .ok_or_else(|| FieldError::new("flag", format!("unknown hazard flag {flag}")))?;
            let p = sql.arg(format!("%,{},%", fl.key()));
            sql.push(&format!(" AND e.flags LIKE {p}"));
        }
    }
    if let Some(s) = f.scale.as_deref().filter(|x| !x.is_empty()) {
        let sc =
            Scale::parse(s).ok_or_else(|| FieldError::new("scale", "expected above or below"))?;
        let p = sql.arg(sc.as_str());
        sql.push(&format!(" AND e.scale = {p}"));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Field(#[from] super::rules::FieldError),
}

impl From<StoreError> for crate::error::ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Db(e) => e.into(),
            StoreError::Field(e) => e.into(),
        }
    }
}

pub async fn list_enterprises(
    db: &Db,
    scope: &Scope,
    f: &EnterpriseFilter,
    paging: Option<Paging>,
) -> Result<Page<Enterprise>, StoreError> {
    let mut sql = Sql::new(" WHERE 1 = 1");
    enterprise_where(&mut sql, scope, f)?;
    let (rows, total): (Vec<EnterpriseRow>, i64) = db
        .fetch_page(
            "FROM enterprises e",
            ENTERPRISE_SELECT,
            sql,
            "ORDER BY e.town_code, e.name, e.id",
            paging,
        )
        .await?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(EnterpriseRow::into_enterprise)
            .collect(),
        total,
    })
}

pub async fn get_enterprise(db: &Db, id: &str) -> Result<Option<Enterprise>, DbError> {
    let row: Option<EnterpriseRow> = db
        .fetch_optional(&Sql::new(format!("{ENTERPRISE_SELECT} WHERE e.id = $1")).bind(id))
        .await?;
    Ok(row.map(EnterpriseRow::into_enterprise))
}

pub async fn get_enterprise_tx(tx: &mut Tx, id: &str) -> Result<Option<Enterprise>, DbError> {
    let row: Option<EnterpriseRow> = tx
        .fetch_optional(&Sql::new(format!("{ENTERPRISE_SELECT} WHERE e.id = $1")).bind(id))
        .await?;
    Ok(row.map(EnterpriseRow::into_enterprise))
}

pub async fn enterprise_id_by_credit_code(
    tx: &mut Tx,
    code: &str,
) -> Result<Option<String>, DbError> {
    let row: Option<(String,)> = tx
        .fetch_optional(&Sql::new("SELECT id FROM enterprises WHERE credit_code = $1").bind(code))
        .await?;
    Ok(row.map(|r| r.0))
}

/// Inserts an already validated enterprise.
pub async fn insert_enterprise(tx: &mut Tx, id: &str, e: &EnterpriseInput) -> Result<(), DbError> {
    let now = crate::db::now_ms();
    tx.execute(
        &Sql::new(
            "INSERT INTO enterprises (id, credit_code, name, town_code, address, lon, lat, industry_section, industry_division, \
             scale, staff_count, legal_rep, safety_manager, safety_phone, flags, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$16)",
        )
        .bind(id)
        .bind(&e.credit_code)
        .bind(&e.name)
        .bind(&e.town_code)
        .bind(&e.address)
        .bind(e.lon)
        .bind(e.lat)
        .bind(&e.industry_section)
        .bind(e.industry_division.clone())
        .bind(e.scale.as_str())
        .bind(e.staff_count)
        .bind(&e.legal_rep)
        .bind(&e.safety_manager)
        .bind(&e.safety_phone)
        .bind(flags_to_db(&e.flags))
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Replaces the editable fields of an already validated enterprise.
/// Tables that keep a copy of their enterprise's town, so that scope filters need no join.
const TOWN_COPIES: [&str; 6] = [
    "alarms",
    "risk_points",
    "check_tasks",
    "check_records",
    "hidden_dangers",
    "commitments",
];

/// Updates an enterprise. When it moves to another town, the records that copy its town move
/// with it in the same transaction: the new town's staff see its alarms, risk points and
/// hidden dangers, the old town's no longer do.
pub async fn update_enterprise(tx: &mut Tx, id: &str, e: &EnterpriseInput) -> Result<u64, DbError> {
    for table in TOWN_COPIES {
        tx.execute(
            &Sql::new(format!(
                "UPDATE {table} SET town_code = $1 WHERE enterprise_id = $2 AND town_code <> $1"
            ))
            .bind(&e.town_code)
            .bind(id),
        )
        .await?;
    }
    tx.execute(
        &Sql::new(
            "UPDATE enterprises SET credit_code = $1, name = $2, town_code = $3, address = $4, lon = $5, lat = $6, \
             industry_section = $7, industry_division = $8, scale = $9, staff_count = $10, legal_rep = $11, \
             safety_manager = $12, safety_phone = $13, flags = $14, updated_at = $15 WHERE id = $16",
        )
        .bind(&e.credit_code)
        .bind(&e.name)
        .bind(&e.town_code)
        .bind(&e.address)
        .bind(e.lon)
        .bind(e.lat)
        .bind(&e.industry_section)
        .bind(e.industry_division.clone())
        .bind(e.scale.as_str())
        .bind(e.staff_count)
        .bind(&e.legal_rep)
        .bind(&e.safety_manager)
        .bind(&e.safety_phone)
        .bind(flags_to_db(&e.flags))
        .bind(crate::db::now_ms())
        .bind(id),
    )
    .await
}

pub async fn delete_enterprise(tx: &mut Tx, id: &str) -> Result<u64, DbError> {
    tx.execute(&Sql::new("DELETE FROM enterprises WHERE id = $1").bind(id))
        .await
}

pub async fn users_of_enterprise(tx: &mut Tx, id: &str) -> Result<i64, DbError> {
    tx.fetch_scalar(&Sql::new("SELECT COUNT(*) FROM users WHERE enterprise_id = $1").bind(id))
        .await
}

pub async fn count_enterprises(db: &Db) -> Result<i64, DbError> {
    db.fetch_scalar(&Sql::new("SELECT COUNT(*) FROM enterprises"))
        .await
}

/// A point of the enterprise map layer.
#[derive(Debug, sqlx::FromRow)]
pub struct EnterprisePoint {
    pub id: String,
    pub name: String,
    pub town_code: String,
    pub town_name: Option<String>,
    pub industry_section: String,
    pub industry_division: Option<String>,
    pub scale: String,
    pub flags: String,
    pub lon: f64,
    pub lat: f64,
}

pub async fn enterprise_points(
    db: &Db,
    scope: &Scope,
    f: &EnterpriseFilter,
) -> Result<Vec<EnterprisePoint>, StoreError> {
    let mut sql = Sql::new(" WHERE e.lon IS NOT NULL AND e.lat IS NOT NULL");
    enterprise_where(&mut sql, scope, f)?;
    sql.text = format!(
        "SELECT e.id, e.name, e.town_code, a.name AS town_name, e.industry_section, e.industry_division, e.scale, e.flags, e.lon, e.lat \
         FROM enterprises e LEFT JOIN admin_units a ON a.code = e.town_code{} ORDER BY e.id",
        sql.text
    );
    Ok(db.fetch_all(&sql).await?)
}

// ---------- facilities ----------

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Facility {
    pub id: String,
    pub name: String,
    pub kind: FacilityKind,
    pub town_code: String,
    pub town_name: String,
    pub address: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Number of people usually present.
    pub people: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

impl Facility {
    pub fn input(&self) -> FacilityInput {
        FacilityInput {
            name: self.name.clone(),
            kind: self.kind,
            town_code: self.town_code.clone(),
            address: self.address.clone(),
            lon: self.lon,
            lat: self.lat,
            people: self.people,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct FacilityRow {
    id: String,
    name: String,
    kind: String,
    town_code: String,
    town_name: Option<String>,
    address: String,
    lon: Option<f64>,
    lat: Option<f64>,
    people: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl FacilityRow {
    fn into_facility(self) -> Facility {
        Facility {
            kind: FacilityKind::parse(&self.kind).unwrap_or(FacilityKind::Market),
            id: self.id,
            name: self.name,
            town_code: self.town_code,
            town_name: self.town_name.unwrap_or_default(),
            address: self.address,
            lon: self.lon,
            lat: self.lat,
            people: self.people,
            created_at: crate::time::rfc3339(self.created_at),
            updated_at: crate::time::rfc3339(self.updated_at),
        }
    }
}

const FACILITY_SELECT: &str = "SELECT f.id, f.name, f.kind, f.town_code, a.name AS town_name, f.address, f.lon, f.lat, f.people, \
     f.created_at, f.updated_at FROM facilities f LEFT JOIN admin_units a ON a.code = f.town_code";

#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FacilityFilter {
    /// Text search in name and address.
    pub q: Option<String>,
    /// Township code.
    pub town: Option<String>,
    /// `school`, `hospital`, `elderly_home` or `market`.
    pub kind: Option<String>,
}

fn facility_where(
    sql: &mut Sql,
    scope: &Scope,
    f: &FacilityFilter,
) -> Result<(), super::rules::FieldError> {
    scope.filter(sql, "f.town_code", None);
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        sql.push_contains(q, &["f.name", "f.address"]);
    }
    if let Some(t) = f.town.as_deref().filter(|t| !t.is_empty()) {
        let p = sql.arg(t);
        sql.push(&format!(" AND f.town_code = {p}"));
    }
    if let Some(k) = f.kind.as_deref().filter(|k| !k.is_empty()) {
        let kind = FacilityKind::parse(k).ok_or_else(|| {
            super::rules::FieldError::new("kind", format!("unknown facility kind {k}"))
        })?;
        let p = sql.arg(kind.key());
        sql.push(&format!(" AND f.kind = {p}"));
    }
    Ok(())
}

pub async fn list_facilities(
    db: &Db,
    scope: &Scope,
    f: &FacilityFilter,
    paging: Option<Paging>,
) -> Result<Page<Facility>, StoreError> {
    let mut sql = Sql::new(" WHERE 1 = 1");
    facility_where(&mut sql, scope, f)?;
    let (rows, total): (Vec<FacilityRow>, i64) = db
        .fetch_page(
            "FROM facilities f",
            FACILITY_SELECT,
            sql,
            "ORDER BY f.town_code, f.kind, f.name, f.id",
            paging,
        )
        .await?;
    Ok(Page {
        items: rows.into_iter().map(FacilityRow::into_facility).collect(),
        total,
    })
}

pub async fn get_facility(db: &Db, id: &str) -> Result<Option<Facility>, DbError> {
    let row: Option<FacilityRow> = db
        .fetch_optional(&Sql::new(format!("{FACILITY_SELECT} WHERE f.id = $1")).bind(id))
        .await?;
    Ok(row.map(FacilityRow::into_facility))
}

pub async fn get_facility_tx(tx: &mut Tx, id: &str) -> Result<Option<Facility>, DbError> {
    let row: Option<FacilityRow> = tx
        .fetch_optional(&Sql::new(format!("{FACILITY_SELECT} WHERE f.id = $1")).bind(id))
        .await?;
    Ok(row.map(FacilityRow::into_facility))
}

/// Facilities have no natural key; an import matches an existing one by town and name.
pub async fn facility_id_by_name(
    tx: &mut Tx,
    town_code: &str,
    name: &str,
) -> Result<Option<String>, DbError> {
    let row: Option<(String,)> = tx
        .fetch_optional(
            &Sql::new("SELECT id FROM facilities WHERE town_code = $1 AND name = $2")
                .bind(town_code)
                .bind(name),
        )
        .await?;
    Ok(row.map(|r| r.0))
}

pub async fn insert_facility(tx: &mut Tx, id: &str, f: &FacilityInput) -> Result<(), DbError> {
    let now = crate::db::now_ms();
    tx.execute(
        &Sql::new(
            "INSERT INTO facilities (id, name, kind, town_code, address, lon, lat, people, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9)",
        )
        .bind(id)
        .bind(&f.name)
        .bind(f.kind.key())
        .bind(&f.town_code)
        .bind(&f.address)
        .bind(f.lon)
        .bind(f.lat)
        .bind(f.people)
        .bind(now),
    )
    .await?;
    Ok(())
}

pub async fn update_facility(tx: &mut Tx, id: &str, f: &FacilityInput) -> Result<u64, DbError> {
    tx.execute(
        &Sql::new(
            "UPDATE facilities SET name = $1, kind = $2, town_code = $3, address = $4, lon = $5, lat = $6, people = $7, \
             updated_at = $8 WHERE id = $9",
        )
        .bind(&f.name)
        .bind(f.kind.key())
        .bind(&f.town_code)
        .bind(&f.address)
        .bind(f.lon)
        .bind(f.lat)
        .bind(f.people)
        .bind(crate::db::now_ms())
        .bind(id),
    )
    .await
}

pub async fn delete_facility(tx: &mut Tx, id: &str) -> Result<u64, DbError> {
    tx.execute(&Sql::new("DELETE FROM facilities WHERE id = $1").bind(id))
        .await
}

#[derive(Debug, sqlx::FromRow)]
pub struct FacilityPoint {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub town_code: String,
    pub town_name: Option<String>,
    pub people: Option<i64>,
    pub lon: f64,
    pub lat: f64,
}

pub async fn facility_points(
    db: &Db,
    scope: &Scope,
    f: &FacilityFilter,
) -> Result<Vec<FacilityPoint>, StoreError> {
    let mut sql = Sql::new(" WHERE f.lon IS NOT NULL AND f.lat IS NOT NULL");
    facility_where(&mut sql, scope, f)?;
    sql.text = format!(
        "SELECT f.id, f.name, f.kind, f.town_code, a.name AS town_name, f.people, f.lon, f.lat \
         FROM facilities f LEFT JOIN admin_units a ON a.code = f.town_code{} ORDER BY f.id",
        sql.text
    );
    Ok(db.fetch_all(&sql).await?)
}
