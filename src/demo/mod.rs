//! The demo district: a deterministic generator and the code that seeds a store with it.

pub mod generator;
pub mod hazard;

use crate::audit::{self, Actor};
use crate::auth::Role;
use crate::auth::routes::{CreateUser, PatchUser};
use crate::db::{Db, Sql};
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
}

/// Fills an empty store with the demo district (units, enterprises, facilities) in one
/// transaction; a store that already has administrative units is left as it is.
pub async fn seed_if_empty(db: &Db) -> anyhow::Result<SeedReport> {
    if store::count_units(db).await? > 0 {
        return Ok(SeedReport::default());
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
        Some(&serde_json::json!({"units": units.len(), "enterprises": registry.enterprises.len(), "facilities": registry.facilities.len(), "hazard_units": hazard_units.len(), "seed": DEMO_SEED})),
    )
    .await?;
    tx.commit().await?;
    Ok(SeedReport {
        seeded: true,
        units: units.len(),
        enterprises: registry.enterprises.len(),
        facilities: registry.facilities.len(),
        hazard_units: hazard_units.len(),
    })
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
