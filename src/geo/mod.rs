//! Geography: coordinate systems, partitions and point sampling. Pure, no I/O.
//!
//! Everything works on lon/lat degrees. Yingji stores WGS84; GCJ-02 data is
//! converted with [`gcj02`] where it enters.

pub mod gcj02;
pub mod sample;
pub mod voronoi;

pub use gcj02::{gcj02_to_wgs84, wgs84_to_gcj02};
pub use sample::{area_km2, contains_point, random_point_in};
pub use voronoi::voronoi_partition;
