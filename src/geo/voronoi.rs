//! A Voronoi partition of an outline by seat points: each place in the
//! outline goes to its nearest seat. The demo uses it to give township-level
//! units an approximate area where no surveyed boundary is available.

use geo::{
    BooleanOps, BoundingRect, ConvexHull, Coord, MultiPoint, MultiPolygon, Point, Polygon, Rect,
};
use spade::{DelaunayTriangulation, Point2, Triangulation};

/// How far out the four frame points sit, in multiples of the half-diagonal
/// of the region of interest. Anything above 3 keeps them out of every cell
/// inside the region; 10 leaves room for rounding.
const FRAME_FACTOR: f64 = 10.0;

/// One cell per seat, in the order of `seats`, each the part of `outline`
/// nearer to that seat than to any other. The cells cover the outline without
/// overlapping.
///
/// Coordinates are lon/lat degrees. Distances are measured in a plane in
/// which longitude differences are scaled by cos(latitude) at the outline's
/// centre, so that cells at 39° N are not stretched east–west by a third.
///
/// A seat with a non-finite coordinate, or a repeat of an earlier seat, gets
/// an empty cell, so that the cells still do not overlap.
///
/// The Delaunay triangulation comes from `spade` (already a dependency of
/// `geo`). Its Voronoi cells are unbounded at the hull, so four far-away frame
/// points are added: every real seat then has a bounded cell, made of the
/// circumcentres of its triangles, and within the outline the frame points
/// never win.
pub fn voronoi_partition(
    seats: &[Point<f64>],
    outline: &MultiPolygon<f64>,
) -> Vec<MultiPolygon<f64>> {
    let empty = || MultiPolygon::new(vec![]);
    let Some(bbox) = region(seats, outline) else {
        return seats.iter().map(|_| empty()).collect();
    };
    let plane = LocalPlane::new(bbox);

    let mut triangulation: DelaunayTriangulation<Point2<f64>> = DelaunayTriangulation::new();
    let half_diagonal = {
        let (w, h) = (
            plane.to_plane(bbox.max()).x - plane.to_plane(bbox.min()).x,
            bbox.height(),
        );
        (w * w + h * h).sqrt() / 2.0
    };
    // A single point (or all seats in one place) still needs a frame of some size.
    let r = FRAME_FACTOR * half_diagonal.max(1e-3);
    for (x, y) in [(-r, -r), (r, -r), (r, r), (-r, r)] {
        // Finite, moderate values: spade accepts them.
        let _ = triangulation.insert(Point2::new(x, y));
    }

    let mut handles = Vec::with_capacity(seats.len());
    for seat in seats {
        let p = plane.to_plane(seat.0);
        let handle = if p.x.is_finite() && p.y.is_finite() {
            triangulation.insert(Point2::new(p.x, p.y)).ok()
        } else {
            None
        };
        handles.push(handle);
    }

    let mut taken = std::collections::HashSet::new();
    handles
        .into_iter()
        .map(|handle| {
            let Some(handle) = handle else { return empty() };
            if !taken.insert(handle) {
                return empty();
            }
            let corners: Vec<Point<f64>> = triangulation
                .vertex(handle)
                .out_edges()
                .filter_map(|edge| edge.face().as_inner())
                .map(|face| {
                    let c = face.circumcenter();
                    Point::from(plane.to_lonlat(Coord { x: c.x, y: c.y }))
                })
                .collect();
            // The cell is convex; taking the hull of the circumcentres is
            // robust to their order and to repeated circumcentres of
            // co-circular seats.
            let cell: Polygon<f64> = MultiPoint::new(corners).convex_hull();
            cell.intersection(outline)
        })
        .collect()
}

/// The bounding box of the outline and the seats together.
fn region(seats: &[Point<f64>], outline: &MultiPolygon<f64>) -> Option<Rect<f64>> {
    let finite_seats = seats
        .iter()
        .filter(|p| p.x().is_finite() && p.y().is_finite())
        .copied();
    let all: MultiPoint<f64> = outline
        .0
        .iter()
        .flat_map(|p| p.exterior().points())
        .chain(finite_seats)
        .collect();
    all.bounding_rect()
}

/// An equirectangular plane centred on a region, in degrees of latitude.
struct LocalPlane {
    origin: Coord<f64>,
    cos_lat: f64,
}

impl LocalPlane {
    fn new(bbox: Rect<f64>) -> Self {
        let origin = bbox.center();
        // Near the poles cos → 0; clamping keeps the scale invertible.
        let cos_lat = origin.y.to_radians().cos().max(0.01);
        LocalPlane { origin, cos_lat }
    }

    fn to_plane(&self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: (c.x - self.origin.x) * self.cos_lat,
            y: c.y - self.origin.y,
        }
    }

    fn to_lonlat(&self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: c.x / self.cos_lat + self.origin.x,
            y: c.y + self.origin.y,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, Contains, Intersects};
    use rand::{Rng, SeedableRng};

    fn polygon_from_ring(coords: &[(f64, f64)]) -> Polygon<f64> {
        Polygon::new(geo::LineString::from(coords.to_vec()), vec![])
    }

    fn square_outline() -> MultiPolygon<f64> {
        MultiPolygon::new(vec![polygon_from_ring(&[
            (117.0, 39.3),
            (117.2, 39.3),
            (117.2, 39.5),
            (117.0, 39.5),
            (117.0, 39.3),
        ])])
    }

    fn l_shaped_outline() -> MultiPolygon<f64> {
        MultiPolygon::new(vec![polygon_from_ring(&[
            (116.8, 39.1),
            (117.3, 39.1),
            (117.3, 39.3),
            (117.0, 39.3),
            (117.0, 39.7),
            (116.8, 39.7),
            (116.8, 39.1),
        ])])
    }

    fn check_partition(seats: &[Point<f64>], outline: &MultiPolygon<f64>) {
        let cells = voronoi_partition(seats, outline);
        assert_eq!(cells.len(), seats.len());
        let total: f64 = cells.iter().map(|c| c.unsigned_area()).sum();
        let expected = outline.unsigned_area();
        assert!(
            (total - expected).abs() / expected < 1e-3,
            "cells {total} vs outline {expected}"
        );
        for (seat, cell) in seats.iter().zip(&cells) {
            if outline.contains(seat) {
                assert!(cell.intersects(seat), "seat {seat:?} not in its cell");
            }
        }
        for i in 0..cells.len() {
            for j in i + 1..cells.len() {
                let overlap = cells[i].intersection(&cells[j]).unsigned_area();
                // The overlay snaps to an integer grid, which leaves slivers of
                // about a square metre along shared edges.
                assert!(
                    overlap < expected * 1e-7,
                    "cells {i} and {j} overlap by {overlap}"
                );
            }
        }
    }

    #[test]
    fn cells_cover_a_square_without_overlap() {
        let seats = [
            Point::new(117.05, 39.35),
            Point::new(117.15, 39.35),
            Point::new(117.10, 39.45),
            Point::new(117.02, 39.48),
        ];
        check_partition(&seats, &square_outline());
    }

    #[test]
    fn cells_cover_a_concave_outline_with_many_random_seats() {
        let outline = l_shaped_outline();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut seats = Vec::new();
        while seats.len() < 30 {
            let p = Point::new(rng.gen_range(116.8..117.3), rng.gen_range(39.1..39.7));
            if outline.contains(&p) {
                seats.push(p);
            }
        }
        check_partition(&seats, &outline);
    }

    #[test]
    fn distances_are_measured_with_longitude_scaled_by_cos_latitude() {
        // Seats west, east (+0.1° lon) and north (+0.1° lat). The point
        // (+0.08° lon, +0.07° lat) is nearer the eastern seat in raw degrees
        // (0.0053 vs 0.0073) but nearer the northern one once a degree of
        // longitude counts cos(39.45°) = 0.77 of a degree of latitude
        // (0.0051 vs 0.0047), which is how the ground measures.
        let seats = [
            Point::new(117.0, 39.4),
            Point::new(117.1, 39.4),
            Point::new(117.0, 39.5),
        ];
        let cells = voronoi_partition(&seats, &square_outline_around());
        let p = Point::new(117.08, 39.47);
        assert!(cells[2].contains(&p));
        assert!(!cells[1].contains(&p));
    }

    fn square_outline_around() -> MultiPolygon<f64> {
        MultiPolygon::new(vec![polygon_from_ring(&[
            (116.9, 39.3),
            (117.2, 39.3),
            (117.2, 39.6),
            (116.9, 39.6),
            (116.9, 39.3),
        ])])
    }

    #[test]
    fn a_single_seat_gets_the_whole_outline() {
        let outline = square_outline();
        let cells = voronoi_partition(&[Point::new(117.1, 39.4)], &outline);
        let (a, b) = (cells[0].unsigned_area(), outline.unsigned_area());
        assert!((a - b).abs() / b < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn collinear_seats_still_partition_the_outline() {
        let seats = [
            Point::new(117.05, 39.4),
            Point::new(117.10, 39.4),
            Point::new(117.15, 39.4),
        ];
        check_partition(&seats, &square_outline());
    }

    #[test]
    fn a_repeated_or_invalid_seat_gets_an_empty_cell() {
        let seats = [
            Point::new(117.05, 39.35),
            Point::new(117.15, 39.45),
            Point::new(117.05, 39.35),
            Point::new(f64::NAN, 39.4),
        ];
        let cells = voronoi_partition(&seats, &square_outline());
        assert!(!cells[0].0.is_empty());
        assert!(cells[2].0.is_empty());
        assert!(cells[3].0.is_empty());
        let total: f64 = cells.iter().map(|c| c.unsigned_area()).sum();
        assert!((total - square_outline().unsigned_area()).abs() < 1e-9);
    }

    #[test]
    fn an_empty_outline_gives_empty_cells() {
        let cells = voronoi_partition(&[Point::new(1.0, 1.0)], &MultiPolygon::new(vec![]));
        assert_eq!(cells.len(), 1);
        assert!(cells[0].0.is_empty());
    }
}
