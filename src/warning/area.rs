//! Where a warning applies: the target towns of a drawn shape, the boundaries CAP carries,
//! and the GeoJSON the maps draw. Pure apart from [`load_towns`].

use geo::{Contains, Coord, Intersects, LineString, MultiPolygon, Polygon};
use serde_json::{Value, json};

use super::cap::{Alert, CapArea};
use super::model::{Area, TownArea};
use crate::db::{Db, DbError};

/// Circles become polygons of this many vertices for maps and intersection.
const CIRCLE_VERTICES: usize = 64;

/// A town with its boundary.
#[derive(Debug, Clone)]
pub struct TownShape {
    pub code: String,
    pub name: String,
    pub population: Option<i64>,
    pub shape: MultiPolygon<f64>,
}

impl TownShape {
    /// The town as CAP needs it: code, name and its outer rings.
    pub fn town_area(&self) -> TownArea {
        TownArea {
            code: self.code.clone(),
            name: self.name.clone(),
            rings: self
                .shape
                .iter()
                .map(|p| p.exterior().coords().map(|c| [c.x, c.y]).collect())
                .collect(),
        }
    }
}

/// The towns (streets, parks) of the district with their boundaries; a town without a stored
/// boundary has an empty shape and is reached only by being chosen.
pub async fn load_towns(db: &Db) -> Result<Vec<TownShape>, DbError> {
    let units = crate::registry::store::unit_geometries(db, false).await?;
    Ok(units
        .into_iter()
        .map(|u| TownShape {
            shape: u
                .geometry
                .as_deref()
                .and_then(parse_multipolygon)
                .unwrap_or_else(|| MultiPolygon(vec![])),
            code: u.code,
            name: u.name,
            population: u.population,
        })
        .collect())
}

fn parse_multipolygon(geojson_text: &str) -> Option<MultiPolygon<f64>> {
    let g: geojson::Geometry = geojson_text.parse().ok()?;
    match geo::Geometry::<f64>::try_from(g).ok()? {
        geo::Geometry::Polygon(p) => Some(MultiPolygon(vec![p])),
        geo::Geometry::MultiPolygon(m) => Some(m),
        _ => None,
    }
}

fn polygon_of(ring: &[[f64; 2]]) -> Polygon<f64> {
    Polygon::new(
        LineString(ring.iter().map(|p| Coord { x: p[0], y: p[1] }).collect()),
        vec![],
    )
}

/// The shape of a drawn area (`None` for chosen towns and imports).
pub fn drawn_shape(area: &Area) -> Option<Polygon<f64>> {
    match area {
        Area::Polygon { .. } => area.ring().map(|r| polygon_of(&r)),
        Area::Circle { center, radius_km } => Some(polygon_of(&Area::circle_ring(
            *center,
            *radius_km,
            CIRCLE_VERTICES,
        ))),
        Area::Towns { .. } | Area::Imported => None,
    }
}

/// Why the target towns cannot be resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Unresolved {
    pub field: &'static str,
    pub message: String,
}

/// The target towns of an area, in the district's code order: the chosen ones (each must
/// exist), or the towns a drawn shape touches (at least one).
pub fn resolve<'a>(area: &Area, towns: &'a [TownShape]) -> Result<Vec<&'a TownShape>, Unresolved> {
    match area {
        Area::Towns { town_codes } => {
            if let Some(unknown) = town_codes
                .iter()
                .find(|c| !towns.iter().any(|t| &t.code == *c))
            {
                return Err(Unresolved {
                    field: "area.town_codes",
                    message: format!("{unknown} is not a town, street or park of the district"),
                });
            }
            Ok(towns
                .iter()
                .filter(|t| town_codes.contains(&t.code))
                .collect())
        }
        Area::Polygon { .. } | Area::Circle { .. } => {
            let shape = drawn_shape(area).ok_or(Unresolved {
                field: "area",
                message: "the area has no shape".into(),
            })?;
            let hit: Vec<&TownShape> = towns
                .iter()
                .filter(|t| t.shape.intersects(&shape))
                .collect();
            if hit.is_empty() {
                return Err(Unresolved {
                    field: if matches!(area, Area::Circle { .. }) {
                        "area.center"
                    } else {
                        "area.polygon"
                    },
                    message: "the area does not touch any town of the district".into(),
                });
            }
            Ok(hit)
        }
        Area::Imported => Ok(vec![]),
    }
}

/// The default area description: the towns' names, joined with the Chinese enumeration comma.
pub fn default_area_desc(towns: &[&TownShape]) -> String {
    towns
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join("、")
}

fn rings_json<'a>(rings: impl Iterator<Item = &'a Polygon<f64>>) -> Value {
    let polys: Vec<Value> = rings
        .map(|p| {
            let ring: Vec<[f64; 2]> = p.exterior().coords().map(|c| [c.x, c.y]).collect();
            json!([ring])
        })
        .collect();
    json!({"type": "MultiPolygon", "coordinates": polys})
}

/// GeoJSON geometry (MultiPolygon) of a composed area, for maps.
pub fn geometry(area: &Area, towns: &[&TownShape]) -> Value {
    match drawn_shape(area) {
        Some(p) => rings_json(std::iter::once(&p)),
        None => rings_json(towns.iter().flat_map(|t| t.shape.iter())),
    }
}

/// Every polygon and circle of a CAP message's areas as polygons.
fn cap_shapes(areas: &[&CapArea]) -> Vec<Polygon<f64>> {
    areas
        .iter()
        .flat_map(|a| a.rings(CIRCLE_VERTICES))
        .map(|r| polygon_of(&r))
        .collect()
}

fn all_areas(alert: &Alert) -> Vec<&CapArea> {
    alert.infos.iter().flat_map(|i| i.areas.iter()).collect()
}

/// GeoJSON geometry of an imported message's areas; `None` when it carries only codes (then
/// the towns it names are drawn).
pub fn cap_geometry(alert: &Alert, towns: &[&TownShape]) -> Option<Value> {
    let shapes = cap_shapes(&all_areas(alert));
    if shapes.is_empty() {
        if towns.is_empty() {
            return None;
        }
        return Some(rings_json(towns.iter().flat_map(|t| t.shape.iter())));
    }
    Some(rings_json(shapes.iter()))
}

/// The district's towns an imported message covers: those its geocodes name (a GB/T 2260
/// code of the district or of a town, 6 to 12 digits), and those its polygons and circles
/// touch. A foreign message about elsewhere covers none and is only shown.
pub fn cap_towns<'a>(
    alert: &Alert,
    towns: &'a [TownShape],
    district_code: &str,
) -> Vec<&'a TownShape> {
    let areas = all_areas(alert);
    let shapes = cap_shapes(&areas);
    let codes: Vec<&str> = areas
        .iter()
        .flat_map(|a| a.geocodes.iter().map(|(_, v)| v.trim()))
        .collect();
    towns
        .iter()
        .filter(|t| {
            codes.iter().any(|c| {
                *c == district_code
                    || c.starts_with(t.code.as_str())
                    || (c.len() >= 9 && t.code.starts_with(c))
            }) || shapes.iter().any(|s| t.shape.intersects(s))
        })
        .collect()
}

/// Whether a point lies within a warning's stored geometry (the public page's "am I
/// affected?").
pub fn covers(geometry: &Value, lon: f64, lat: f64) -> bool {
    let Ok(g) = serde_json::from_value::<geojson::Geometry>(geometry.clone()) else {
        return false;
    };
    match geo::Geometry::<f64>::try_from(g) {
        Ok(shape) => shape.contains(&geo::Point::new(lon, lat)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(code: &str, x0: f64, y0: f64) -> TownShape {
        TownShape {
            code: code.into(),
            name: format!("town {code}"),
            population: Some(1000),
            shape: MultiPolygon(vec![polygon_of(&[
                [x0, y0],
                [x0 + 0.1, y0],
                [x0 + 0.1, y0 + 0.1],
                [x0, y0 + 0.1],
                [x0, y0],
            ])]),
        }
    }

    fn towns() -> Vec<TownShape> {
        vec![
            square("120114001", 117.0, 39.4),
            square("120114002", 117.1, 39.4),
            square("120114003", 117.2, 39.4),
        ]
    }

    #[test]
    fn chosen_towns_must_exist() {
        let t = towns();
        let ok = resolve(
            &Area::Towns {
                town_codes: vec!["120114002".into(), "120114001".into()],
            },
            &t,
        )
        .unwrap();
        assert_eq!(
            ok.iter().map(|t| t.code.as_str()).collect::<Vec<_>>(),
            ["120114001", "120114002"]
        );
        let err = resolve(
            &Area::Towns {
                town_codes: vec!["120114999".into()],
            },
            &t,
        )
        .unwrap_err();
        assert_eq!(err.field, "area.town_codes");
        assert!(err.message.contains("120114999"));
    }

    #[test]
    fn a_drawn_shape_reaches_the_towns_it_touches() {
        let t = towns();
        let poly = Area::Polygon {
            polygon: vec![[117.05, 39.42], [117.15, 39.42], [117.15, 39.48]],
        };
        let hit = resolve(&poly, &t).unwrap();
        assert_eq!(
            hit.iter().map(|t| t.code.as_str()).collect::<Vec<_>>(),
            ["120114001", "120114002"]
        );
        // A 3 km circle in the middle of the third town touches only it.
        let circle = Area::Circle {
            center: [117.25, 39.45],
            radius_km: 3.0,
        };
        let hit = resolve(&circle, &t).unwrap();
        assert_eq!(hit.len(), 1);
        assert_eq!(hit[0].code, "120114003");
        let far = Area::Circle {
            center: [116.0, 38.0],
            radius_km: 3.0,
        };
        assert_eq!(resolve(&far, &t).unwrap_err().field, "area.center");
    }

    #[test]
    fn geometry_is_a_multipolygon_that_covers_the_area() {
        let t = towns();
        let chosen: Vec<&TownShape> = t.iter().take(2).collect();
        let g = geometry(
            &Area::Towns {
                town_codes: vec!["120114001".into(), "120114002".into()],
            },
            &chosen,
        );
        assert_eq!(g["type"], "MultiPolygon");
        assert_eq!(g["coordinates"].as_array().unwrap().len(), 2);
        assert!(covers(&g, 117.15, 39.45));
        assert!(!covers(&g, 117.25, 39.45));
        assert_eq!(default_area_desc(&chosen), "town 120114001、town 120114002");
    }
}
