//! The demo district: a deterministic generator and the code that seeds a store with it.

pub mod dualprev;
pub mod generator;
pub mod hazard;
pub mod live;
pub mod seed_dualprev;
pub mod seed_warnings;
pub mod sensors;

use crate::audit::{self, Actor};
use crate::auth::Role;
use crate::auth::routes::{CreateUser, PatchUser};
use std::collections::HashMap;

use crate::db::{Db, Sql, Tx};
use crate::hazard::model::{EquipmentKind, HazardUnitKind};
use crate::registry::store;

/// Seed of the demo generator: the same district every time.
pub const DEMO_SEED: u64 = 20_211_231;

pub const DEMO_TOWN: &str = "120114001"; // 杨村街道

#[derive(Debug, Default)]
pub struct SeedReport {
    pub seeded: bool,
    pub units: usize,
    pub enterprises: usize,
    pub facilities: usize,
    pub hazard_units: usize,
    /// Demo sensors added: at seeding, or to an older demo store that had none.
    pub sensors: usize,
    /// Risk points, hidden dangers and commitments added: at seeding, or to an older demo
    /// store that had none.
    pub dualprev: seed_dualprev::DualPrevReport,
}

/// Fills an empty store with the demo district (units, enterprises, facilities) in one
/// transaction; a store that already has administrative units is left as it is.
///
/// A demo store seeded before the demo had sensors gets them now, in a transaction of its
/// own, so that an existing demo database comes alive too.
pub async fn seed_if_empty(db: &Db) -> anyhow::Result<SeedReport> {
    if store::count_units(db).await? > 0 {
        let existing: i64 = db
            .fetch_scalar(&Sql::new("SELECT COUNT(*) FROM sensors"))
            .await?;
        let mut report = SeedReport::default();
        if existing == 0 && is_demo_store(db).await? {
            let mut tx = db.begin().await?;
            report.sensors = insert_demo_sensors(&mut tx).await?;
            if report.sensors > 0 {
                audit::record(
                    &mut tx,
                    &Actor::system("demo"),
                    "registry",
                    crate::DISTRICT_CODE,
                    "seed",
                    None,
                    Some(&serde_json::json!({"sensors": report.sensors, "seed": DEMO_SEED})),
                )
                .await?;
            }
            tx.commit().await?;
        }
        if is_demo_store(db).await? {
            report.dualprev = seed_dualprev::seed(db, DEMO_SEED, crate::db::now_ms()).await?;
        }
        return Ok(report);
    }
    let units = generator::demo_admin_units()?;
    let registry = generator::demo_registry(DEMO_SEED, &units);
    let mut tx = db.begin().await?;
    for u in &units {
        let area = u.geometry.as_ref().and_then(area_km2_of_geojson);
        store::upsert_unit(&mut tx, u, area).await?;
    }
    let mut ids = std::collections::HashMap::new();
    for e in &registry.enterprises {
        let id = crate::db::new_id();
        store::insert_enterprise(&mut tx, &id, e).await?;
        ids.insert(e.credit_code.clone(), id);
    }
    let hazard_units = hazard::demo_hazard_units(DEMO_SEED, &registry.enterprises);
    for (credit_code, unit) in &hazard_units {
        let Some(enterprise_id) = ids.get(credit_code) else {
            continue;
        };
        let unit = crate::hazard::model::HazardUnitInput {
            enterprise_id: enterprise_id.clone(),
            ..unit.clone()
        };
        let (unit, grading) = crate::hazard::validate_and_grade(&unit)
            .map_err(|e| anyhow::anyhow!("demo hazard unit: {e}"))?;
        crate::hazard::store::save(&mut tx, &crate::db::new_id(), &unit, &grading, false).await?;
    }
    let sensors = insert_demo_sensors(&mut tx).await?;
    for f in &registry.facilities {
        store::insert_facility(&mut tx, &crate::db::new_id(), f).await?;
    }
    audit::record(
        &mut tx,
        &Actor::system("demo"),
        "registry",
        crate::DISTRICT_CODE,
        "seed",
        None,
        Some(&serde_json::json!({"units": units.len(), "enterprises": registry.enterprises.len(), "facilities": registry.facilities.len(), "hazard_units": hazard_units.len(), "sensors": sensors, "seed": DEMO_SEED})),
    )
    .await?;
    tx.commit().await?;
    let dualprev = seed_dualprev::seed(db, DEMO_SEED, crate::db::now_ms()).await?;
    Ok(SeedReport {
        seeded: true,
        units: units.len(),
        enterprises: registry.enterprises.len(),
        facilities: registry.facilities.len(),
        hazard_units: hazard_units.len(),
        sensors,
        dualprev,
    })
}

/// Whether the store was seeded by the demo (its seed left an audit entry by the system
/// actor `demo`). Demo sensors and simulated readings go only into such a store: `yingji demo`
/// pointed at a real database by mistake must not add fake sensors to real enterprises or
/// feed fake readings to real ones.
pub async fn is_demo_store(db: &Db) -> anyhow::Result<bool> {
    let n: i64 = db
        .fetch_scalar(
            &Sql::new(
                "SELECT COUNT(*) FROM audit_log WHERE entity = $1 AND action = $2 AND username = $3 AND user_id IS NULL",
            )
            .bind("registry")
            .bind("seed")
            .bind("demo"),
        )
        .await?;
    Ok(n > 0)
}

/// Gives every enterprise with hazard-source units (in the demo: the 145 hazardous-chemical
/// enterprises, the ones the district monitors) its sensors, derived from the units as
/// stored: the equipment ids exist only once the units are saved. Returns how many.
async fn insert_demo_sensors(tx: &mut Tx) -> anyhow::Result<usize> {
    let units: Vec<(String, String, String, String, String)> = tx
        .fetch_all(&Sql::new(
            "SELECT h.id, h.enterprise_id, e.credit_code, h.name, h.kind FROM hazard_units h \
             JOIN enterprises e ON e.id = h.enterprise_id ORDER BY e.credit_code, h.name, h.id",
        ))
        .await?;
    let equipment: Vec<(String, String, String, String, String)> = tx
        .fetch_all(&Sql::new(
            "SELECT unit_id, id, name, kind, capacity FROM hazard_equipment ORDER BY unit_id, created_at, name",
        ))
        .await?;
    let substances: Vec<(String, String)> = tx
        .fetch_all(&Sql::new(
            "SELECT unit_id, name FROM hazard_substances ORDER BY unit_id, position",
        ))
        .await?;
    let mut by_unit: HashMap<&str, sensors::DemoUnit> = HashMap::new();
    for (id, _, _, name, kind) in &units {
        let Some(kind) = HazardUnitKind::parse(kind) else {
            continue;
        };
        by_unit.insert(
            id,
            sensors::DemoUnit {
                id: id.clone(),
                name: name.clone(),
                kind,
                substances: Vec::new(),
                equipment: Vec::new(),
            },
        );
    }
    for (unit_id, id, name, kind, capacity) in equipment {
        if let (Some(u), Some(kind)) = (
            by_unit.get_mut(unit_id.as_str()),
            EquipmentKind::parse(&kind),
        ) {
            u.equipment.push(sensors::DemoEquipment {
                id,
                name,
                kind,
                capacity,
            });
        }
    }
    for (unit_id, name) in substances {
        if let Some(u) = by_unit.get_mut(unit_id.as_str()) {
            u.substances.push(name);
        }
    }
    // Units arrive ordered by enterprise: one run of them per enterprise.
    let mut count = 0;
    for run in units.chunk_by(|a, b| a.1 == b.1) {
        let (enterprise_id, credit_code) = (&run[0].1, &run[0].2);
        let demo_units: Vec<sensors::DemoUnit> = run
            .iter()
            .filter_map(|u| by_unit.remove(u.0.as_str()))
            .collect();
        for s in sensors::demo_sensors(DEMO_SEED, enterprise_id, credit_code, &demo_units) {
            s.alarm_config()
                .map_err(|e| anyhow::anyhow!("demo sensor {} of {credit_code}: {e}", s.code))?;
            crate::monitor::sensors::insert(tx, &crate::db::new_id(), &s).await?;
            count += 1;
        }
    }
    Ok(count)
}

/// The enterprise the demo `enterprise` account belongs to: the first hazardous-chemical
/// enterprise of 杨村街道 by credit code, so that it has something to show.
pub async fn demo_enterprise(db: &Db) -> anyhow::Result<Option<(String, String)>> {
    Ok(db
        .fetch_optional(
            &Sql::new(
                "SELECT id, name FROM enterprises WHERE town_code = $1 AND flags LIKE '%,hazchem_%' ORDER BY credit_code LIMIT 1",
            )
            .bind(DEMO_TOWN),
        )
        .await?)
}

/// Name of the ingest token `yingji demo` issues at each start.
pub const DEMO_GATEWAY_TOKEN_NAME: &str = "演示网关 (yingji demo)";

/// A new ingest token for the demo enterprise's gateway, printed at start so that
/// `yingji simulate` can be tried at once. Tokens are stored hashed and cannot be shown again,
/// so each start issues one and revokes the previous start's.
pub async fn demo_gateway_token(db: &Db) -> anyhow::Result<Option<(String, String)>> {
    let Some((enterprise_id, name)) = demo_enterprise(db).await? else {
        return Ok(None);
    };
    let mut tx = db.begin().await?;
    tx.execute(
        &Sql::new(
            "UPDATE ingest_tokens SET revoked = $1 WHERE enterprise_id = $2 AND name = $3 AND revoked = $4",
        )
        .bind(true)
        .bind(enterprise_id.as_str())
        .bind(DEMO_GATEWAY_TOKEN_NAME)
        .bind(false),
    )
    .await?;
    let (token, hash) =
        crate::monitor::sensors::create_token(&mut tx, &enterprise_id, DEMO_GATEWAY_TOKEN_NAME)
            .await?;
    audit::record(
        &mut tx,
        &Actor::system("demo"),
        "ingest_token",
        &hash[..12],
        "create",
        None,
        Some(&serde_json::json!({"enterprise_id": enterprise_id, "name": DEMO_GATEWAY_TOKEN_NAME})),
    )
    .await?;
    tx.commit().await?;
    Ok(Some((name, token)))
}

/// A demo account as printed at start.
pub struct DemoAccount {
    pub username: &'static str,
    pub role: Role,
    pub note: String,
}

/// Creates the demo accounts, or resets their password when they exist, so that the printed
/// credentials always work.
pub async fn ensure_demo_accounts(db: &Db, password: &str) -> anyhow::Result<Vec<DemoAccount>> {
    let actor = Actor::system("demo");
    let enterprise = demo_enterprise(db).await?;
    let town_name: Option<(String,)> = db
        .fetch_optional(&Sql::new("SELECT name FROM admin_units WHERE code = $1").bind(DEMO_TOWN))
        .await?;
    let mut out = Vec::new();
    for role in Role::ALL {
        let username = role.key();
        let (town_code, enterprise_id, note) = match role {
            Role::Town => (
                Some(DEMO_TOWN.to_string()),
                None,
                town_name.clone().map(|t| t.0).unwrap_or_default(),
            ),
            Role::Enterprise => match &enterprise {
                Some((id, name)) => (None, Some(id.clone()), name.clone()),
                None => continue,
            },
            _ => (None, None, String::new()),
        };
        match crate::auth::store::get_user_by_name(db, username).await? {
            Some(existing) => {
                let patch = PatchUser {
                    password: Some(password.to_string()),
                    disabled: Some(false),
                    ..Default::default()
                };
                crate::auth::routes::patch_user(db, &actor, &existing.id, patch)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            None => {
                let req = CreateUser {
                    username: username.to_string(),
                    display_name: format!("演示{}", role.zh()),
                    password: password.to_string(),
                    role,
                    town_code,
                    enterprise_id,
                };
                crate::auth::routes::create_user(db, &actor, req)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
        out.push(DemoAccount {
            username,
            role,
            note,
        });
    }
    Ok(out)
}

fn area_km2_of_geojson(g: &serde_json::Value) -> Option<f64> {
    let g: geojson::Geometry = serde_json::from_value(g.clone()).ok()?;
    match geo::Geometry::<f64>::try_from(g.value).ok()? {
        geo::Geometry::Polygon(p) => Some(crate::geo::area_km2(&geo::MultiPolygon(vec![p]))),
        geo::Geometry::MultiPolygon(m) => Some(crate::geo::area_km2(&m)),
        _ => None,
    }
}
