//! Points in polygons, containment and area.

use geo::orient::{Direction, Orient};
use geo::{BoundingRect, Contains, GeodesicArea, InteriorPoint, Intersects, MultiPolygon, Point};
use rand::Rng;

/// Rejection sampling gives up after this many draws. Township cells fill
/// 30–80 % of their bounding boxes, so the chance of needing more than a few
/// dozen is nil; the bound only protects against slivers.
const MAX_TRIES: usize = 1000;

/// A uniformly random point strictly inside `area`, or `None` when the area
/// is empty or degenerate.
///
/// Draws points in the bounding box until one falls inside. For a sliver
/// that rejects every draw, it falls back to geo's interior point, so the
/// result is always inside, only no longer random.
pub fn random_point_in(rng: &mut impl Rng, area: &MultiPolygon<f64>) -> Option<Point<f64>> {
    let bbox = area.bounding_rect()?;
    let (min, max) = (bbox.min(), bbox.max());
    if [min.x, min.y, max.x, max.y].iter().all(|v| v.is_finite()) {
        for _ in 0..MAX_TRIES {
            let p = Point::new(rng.gen_range(min.x..=max.x), rng.gen_range(min.y..=max.y));
            if area.contains(&p) {
                return Some(p);
            }
        }
    }
    area.interior_point().filter(|p| area.intersects(p))
}

/// Whether the point lies in the area or on its boundary. Boundary points
/// count as inside so that a seat placed on a shared edge belongs somewhere.
pub fn contains_point(area: &MultiPolygon<f64>, point: &Point<f64>) -> bool {
    area.intersects(point)
}

/// The area on the WGS84 ellipsoid in km² of a lon/lat multipolygon.
///
/// Rings are oriented first: the geodesic area of a clockwise exterior ring
/// is the rest of the globe, and outlines from the wild (DataV among them)
/// come either way round.
pub fn area_km2(area: &MultiPolygon<f64>) -> f64 {
    area.orient(Direction::Default).geodesic_area_unsigned() / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};
    use rand::SeedableRng;

    fn thin_triangle() -> MultiPolygon<f64> {
        MultiPolygon::new(vec![Polygon::new(
            LineString::from(vec![
                (117.0, 39.0),
                (117.5, 39.0),
                (117.0, 39.5),
                (117.0, 39.0),
            ]),
            vec![],
        )])
    }

    #[test]
    fn random_points_fall_inside_and_spread_over_the_area() {
        let tri = thin_triangle();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let points: Vec<_> = (0..500)
            .map(|_| random_point_in(&mut rng, &tri).unwrap())
            .collect();
        assert!(points.iter().all(|p| tri.contains(p)));
        // Uniform in the triangle: the mean is near the centroid (117.167, 39.167).
        let mean_x = points.iter().map(|p| p.x()).sum::<f64>() / 500.0;
        assert!((mean_x - 117.1667).abs() < 0.02, "{mean_x}");
    }

    #[test]
    fn a_sliver_falls_back_to_an_interior_point() {
        let sliver = MultiPolygon::new(vec![Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (10.0, 10.0),
                (10.0, 10.000_000_001),
                (0.0, 0.0),
            ]),
            vec![],
        )]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let p = random_point_in(&mut rng, &sliver).unwrap();
        assert!(contains_point(&sliver, &p));
    }

    #[test]
    fn an_empty_area_has_no_point() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert_eq!(random_point_in(&mut rng, &MultiPolygon::new(vec![])), None);
    }

    #[test]
    fn a_boundary_point_counts_as_contained() {
        assert!(contains_point(&thin_triangle(), &Point::new(117.0, 39.2)));
        assert!(!contains_point(&thin_triangle(), &Point::new(117.4, 39.4)));
    }

    #[test]
    fn a_one_degree_cell_at_39_degrees_is_about_9600_km2() {
        let cell = MultiPolygon::new(vec![Polygon::new(
            LineString::from(vec![
                (117.0, 39.0),
                (118.0, 39.0),
                (118.0, 40.0),
                (117.0, 40.0),
                (117.0, 39.0),
            ]),
            vec![],
        )]);
        // 111.0 km × 111.32·cos(39.5°) km ≈ 9,540 km².
        let a = area_km2(&cell);
        assert!((9450.0..9650.0).contains(&a), "{a}");
    }

    #[test]
    fn a_clockwise_ring_has_the_same_area_as_a_counter_clockwise_one() {
        let ring = vec![
            (117.0, 39.0),
            (117.0, 40.0),
            (118.0, 40.0),
            (118.0, 39.0),
            (117.0, 39.0),
        ];
        let cw = MultiPolygon::new(vec![Polygon::new(LineString::from(ring), vec![])]);
        let a = area_km2(&cw);
        assert!((9450.0..9650.0).contains(&a), "{a}");
    }
}
