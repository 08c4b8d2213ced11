//! Import of real township boundaries (GeoJSON), replacing the generated ones.

use crate::audit::{self, Actor};
use crate::db::Db;
use crate::error::ApiError;

/// Validates every feature first, then replaces the geometries in one transaction.
pub async fn import(db: &Db, actor: &Actor, body: &[u8], gcj02: bool) -> Result<usize, ApiError> {
    let fc: geojson::FeatureCollection = serde_json::from_slice::<geojson::GeoJson>(body)
        .map_err(|e| ApiError::validation("body", format!("not GeoJSON: {e}")))
        .and_then(|g| match g {
            geojson::GeoJson::FeatureCollection(fc) => Ok(fc),
            _ => Err(ApiError::validation("body", "expected a GeoJSON FeatureCollection")),
        })?;
    let names = super::store::town_names(db).await?;
    let mut updates = Vec::new();
    for (i, f) in fc.features.iter().enumerate() {
        let field = format!("features[{i}]");
        let prop = |k: &str| {
            f.property(k).and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.trim().to_string()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        let code = match prop("code") {
            Some(c) => names
                .iter()
                .find(|(_, code)| *code == c)
                .map(|(_, code)| code.clone())
                .ok_or_else(|| ApiError::validation(&field, format!("{c} is not a township code of the district")))?,
            None => {
                let name = prop("name").ok_or_else(|| ApiError::validation(&field, "a feature needs properties.code or properties.name"))?;
                names
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, code)| code.clone())
                    .ok_or_else(|| ApiError::validation(&field, format!("{name} is not a township of the district")))?
            }
        };
        let geometry = f.geometry.as_ref().ok_or_else(|| ApiError::validation(&field, "the feature has no geometry"))?;
        let mut mp: geo::MultiPolygon<f64> = match geo::Geometry::<f64>::try_from(geometry.value.clone()) {
            Ok(geo::Geometry::Polygon(p)) => geo::MultiPolygon(vec![p]),
            Ok(geo::Geometry::MultiPolygon(m)) => m,
            _ => return Err(ApiError::validation(&field, "the geometry must be a Polygon or MultiPolygon")),
        };
        if gcj02 {
            crate::geo::gcj02::geo_gcj02_to_wgs84(&mut mp);
        }
        if !within_china(&mp) {
            return Err(ApiError::validation(&field, "coordinates must be longitude/latitude within China"));
        }
        let area = crate::geo::area_km2(&mp);
        let gj = geojson::Geometry::from(&mp);
        let value = serde_json::to_value(&gj).map_err(|e| ApiError::Internal(e.into()))?;
        updates.push((code, value, area));
    }
    if updates.is_empty() {
        return Err(ApiError::validation("body", "the FeatureCollection has no features"));
    }
    let source = if gcj02 { "imported boundary (converted from GCJ-02 to WGS84)" } else { "imported boundary (WGS84)" };
    let mut tx = db.begin().await?;
    for (code, geometry, area) in &updates {
        super::store::set_unit_geometry(&mut tx, code, geometry, *area, source).await?;
        audit::record(&mut tx, actor, "admin_unit", code, "update", None,
            Some(&serde_json::json!({"geometry": "replaced", "area_km2": area, "source": source}))).await?;
    }
    tx.commit().await?;
    Ok(updates.len())
}

/// Every vertex inside the longitude/latitude box of China: catches projected coordinates
/// (metres) and swapped axes.
fn within_china(mp: &geo::MultiPolygon<f64>) -> bool {
    use geo::CoordsIter;
    mp.coords_iter().all(|c| (73.0..=136.0).contains(&c.x) && (3.0..=54.0).contains(&c.y))
}
