//! WGS84 ⇄ GCJ-02 ("Mars coordinates", used by AMap/高德, Tencent and the
//! DataV outlines in `assets/geo`).
//!
//! Hand-written on purpose. crates.io has no maintained crate for this:
//! `eviltransform` is not published there; `gcj02` 0.1.0 is a single release
//! built on geo 0.24 (another `Coord` type than our geo 0.30) whose inverse
//! loops without an iteration bound; `coord-transform` 0.1.0 is a single
//! release whose inverse is the one-step approximation, off by metres. The
//! formula itself is the standard public one and fits in a page.
//!
//! The forward transform is the published formula on the Krasovsky 1940
//! ellipsoid. It has no closed-form inverse, so [`gcj02_to_wgs84`] solves
//! `forward(wgs) = gcj` by fixed-point iteration; the offset changes by well
//! under 1 % per degree, so each step gains more than two digits and three or
//! four steps reach the centimetre.

use geo::MapCoordsInPlace;

/// Semi-major axis of the Krasovsky 1940 ellipsoid, as the formula uses it.
const A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const EE: f64 = 0.006_693_421_622_965_943;
/// The inverse stops when the forward image is this close to the target
/// (1e-7° is about 1 cm at Wuqing).
const INVERSE_TOLERANCE_DEG: f64 = 1e-7;
/// A safety bound only: the iteration converges in a handful of steps.
const INVERSE_MAX_ITERATIONS: usize = 30;

/// The rectangle outside which the formula leaves coordinates unchanged.
/// It is the rough box every public implementation uses, not China's border.
pub fn out_of_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// The GCJ-02 offset (Δlon, Δlat) in degrees at a WGS84 position inside China.
fn offset(lon: f64, lat: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    let d_lat = transform_lat(lon - 105.0, lat - 35.0);
    let d_lon = transform_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let d_lat = d_lat * 180.0 / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let d_lon = d_lon * 180.0 / (A / sqrt_magic * rad_lat.cos() * PI);
    (d_lon, d_lat)
}

/// WGS84 → GCJ-02, `(lon, lat)` in degrees. Positions outside China are returned unchanged.
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (d_lon, d_lat) = offset(lon, lat);
    (lon + d_lon, lat + d_lat)
}

/// GCJ-02 → WGS84, `(lon, lat)` in degrees, exact to about a centimetre.
/// Positions outside China are returned unchanged.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (mut w_lon, mut w_lat) = (lon, lat);
    for _ in 0..INVERSE_MAX_ITERATIONS {
        let (g_lon, g_lat) = wgs84_to_gcj02(w_lon, w_lat);
        let (e_lon, e_lat) = (g_lon - lon, g_lat - lat);
        if e_lon.abs() < INVERSE_TOLERANCE_DEG && e_lat.abs() < INVERSE_TOLERANCE_DEG {
            break;
        }
        w_lon -= e_lon;
        w_lat -= e_lat;
    }
    (w_lon, w_lat)
}

/// Converts every coordinate of a `geo` geometry from GCJ-02 to WGS84, in place.
pub fn geo_gcj02_to_wgs84<G: MapCoordsInPlace<f64>>(geometry: &mut G) {
    geometry.map_coords_in_place(|c| {
        let (x, y) = gcj02_to_wgs84(c.x, c.y);
        geo::Coord { x, y }
    });
}

/// Converts every coordinate of a `geo` geometry from WGS84 to GCJ-02, in place.
pub fn geo_wgs84_to_gcj02<G: MapCoordsInPlace<f64>>(geometry: &mut G) {
    geometry.map_coords_in_place(|c| {
        let (x, y) = wgs84_to_gcj02(c.x, c.y);
        geo::Coord { x, y }
    });
}

/// Converts every position of a GeoJSON geometry from GCJ-02 to WGS84, in place.
/// A third (altitude) value of a position is kept.
pub fn geojson_gcj02_to_wgs84(geometry: &mut geojson::Geometry) {
    map_geojson_positions(&mut geometry.value, &gcj02_to_wgs84);
}

/// Converts every position of a GeoJSON geometry from WGS84 to GCJ-02, in place.
pub fn geojson_wgs84_to_gcj02(geometry: &mut geojson::Geometry) {
    map_geojson_positions(&mut geometry.value, &wgs84_to_gcj02);
}

fn map_geojson_positions(value: &mut geojson::Value, f: &dyn Fn(f64, f64) -> (f64, f64)) {
    use geojson::Value;
    // A position with fewer than two numbers is invalid GeoJSON; it is left
    // alone rather than guessed at, and the GeoJSON validator reports it.
    let pos = |p: &mut Vec<f64>| {
        if p.len() >= 2 {
            let (x, y) = f(p[0], p[1]);
            p[0] = x;
            p[1] = y;
        }
    };
    match value {
        Value::Point(p) => pos(p),
        Value::MultiPoint(ps) | Value::LineString(ps) => ps.iter_mut().for_each(pos),
        Value::MultiLineString(ls) | Value::Polygon(ls) => {
            ls.iter_mut().flatten().for_each(pos);
        }
        Value::MultiPolygon(polys) => polys.iter_mut().flatten().flatten().for_each(pos),
        Value::GeometryCollection(gs) => {
            for g in gs {
                map_geojson_positions(&mut g.value, f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiananmen_square_moves_to_its_published_gcj02_position() {
        // The usual test pair of public implementations (WGS84 116.397128,
        // 39.916527 → GCJ-02 116.40337, 39.91793).
        let (lon, lat) = wgs84_to_gcj02(116.397128, 39.916527);
        assert!((lon - 116.403_372_494).abs() < 1e-6, "{lon}");
        assert!((lat - 39.917_930_749).abs() < 1e-6, "{lat}");
    }

    #[test]
    fn the_inverse_undoes_the_forward_transform_to_the_centimetre() {
        for &(lon, lat) in &[
            (116.397128, 39.916527),
            (117.06028, 39.36389),
            (116.785, 39.12),
            (117.34, 39.71),
            (121.47, 31.23),
            (113.26, 23.13),
        ] {
            let (g_lon, g_lat) = wgs84_to_gcj02(lon, lat);
            let (w_lon, w_lat) = gcj02_to_wgs84(g_lon, g_lat);
            assert!((w_lon - lon).abs() < 1e-6, "{lon},{lat}: {w_lon}");
            assert!((w_lat - lat).abs() < 1e-6, "{lon},{lat}: {w_lat}");
            // The one-step approximation would be off by about 1e-5°.
            assert!((w_lon - lon).abs() < 2e-7 && (w_lat - lat).abs() < 2e-7);
        }
    }

    #[test]
    fn at_wuqing_the_offset_is_about_550_m_east_and_120_m_north() {
        // SOURCES.md: +0.0059…0.0064° longitude and +0.0009…0.0013° latitude
        // (rounded: 城关 in the far west gets 0.00589°, 石各庄 0.000896°).
        let seats = [
            (117.06028, 39.36389),
            (117.07750, 39.33778),
            (116.9539, 39.6225),
            (116.86806, 39.52722),
            (116.90000, 39.29861),
            (117.25694, 39.38944),
            (117.0019, 39.2919),
        ];
        for (lon, lat) in seats {
            let (g_lon, g_lat) = wgs84_to_gcj02(lon, lat);
            let (d_lon, d_lat) = (g_lon - lon, g_lat - lat);
            assert!((0.0058..=0.0065).contains(&d_lon), "{lon},{lat}: {d_lon}");
            assert!((0.00085..=0.0013).contains(&d_lat), "{lon},{lat}: {d_lat}");
        }
    }

    #[test]
    fn positions_outside_china_are_unchanged_both_ways() {
        assert_eq!(wgs84_to_gcj02(2.35, 48.85), (2.35, 48.85));
        assert_eq!(gcj02_to_wgs84(-74.0, 40.7), (-74.0, 40.7));
    }

    #[test]
    fn a_geojson_polygon_is_converted_in_place_keeping_altitude() {
        let mut g = geojson::Geometry::new(geojson::Value::Polygon(vec![vec![
            vec![117.0, 39.3, 5.0],
            vec![117.1, 39.3],
            vec![117.1, 39.4],
            vec![117.0, 39.3, 5.0],
        ]]));
        geojson_wgs84_to_gcj02(&mut g);
        geojson_gcj02_to_wgs84(&mut g);
        let geojson::Value::Polygon(rings) = &g.value else {
            panic!("still a polygon")
        };
        assert!((rings[0][0][0] - 117.0).abs() < 1e-6);
        assert!((rings[0][2][1] - 39.4).abs() < 1e-6);
        assert_eq!(rings[0][0][2], 5.0);
    }

    #[test]
    fn a_geo_multipolygon_is_converted_in_place() {
        let mut mp = geo::MultiPolygon::new(vec![geo::Polygon::new(
            geo::LineString::from(vec![
                (117.0, 39.3),
                (117.1, 39.3),
                (117.1, 39.4),
                (117.0, 39.3),
            ]),
            vec![],
        )]);
        geo_wgs84_to_gcj02(&mut mp);
        let first = mp.0[0].exterior().0[0];
        assert!((first.x - 117.0 - 0.0063).abs() < 0.0005, "{first:?}");
        geo_gcj02_to_wgs84(&mut mp);
        let first = mp.0[0].exterior().0[0];
        assert!((first.x - 117.0).abs() < 1e-6 && (first.y - 39.3).abs() < 1e-6);
    }
}
