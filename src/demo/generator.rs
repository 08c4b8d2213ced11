//! The demo district: Wuqing's real township units with generated detail,
//! and a deterministic registry of enterprises and public facilities sized
//! to the figures of the district's 14th Five-Year emergency plan.
//!
//! Pure: the geography files are embedded at compile time, randomness comes
//! from a seeded ChaCha generator, and nothing touches a store. Call
//! [`demo_admin_units`] once, then [`demo_registry`] with a seed and those
//! units.
//!
//! What is real and what is made up is recorded per unit in
//! `AdminUnitSeed::source` and the `*_approximate` flags: codes, names, the
//! district outline, 7 seats and the district population are sourced;
//! the other 30 seats, every township boundary (Voronoi cells) and every
//! township population are generated. Every enterprise and facility is
//! invented.

use std::collections::{HashMap, HashSet};

use geo::{MultiPolygon, Point};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use crate::geo::{area_km2, contains_point, gcj02, random_point_in, voronoi_partition};
use crate::registry::credit_code;
use crate::registry::model::{
    AdminUnitSeed, EnterpriseInput, FacilityInput, FacilityKind, HazardFlag, Scale, UnitKind,
};

/// Statistical code of the Wuqing district.
pub const DISTRICT_CODE: &str = "120114";
/// Name of the district.
pub const DISTRICT_NAME: &str = "武清区";
/// Resident population of the district in the 7th census (2020).
pub const DISTRICT_POPULATION_2020: i64 = 1_153_235;
/// Enterprises registered for hidden-danger self-checks (plan, §5 of DESIGN.md).
pub const ENTERPRISE_COUNT: usize = 1528;
/// Hazardous-chemical enterprises on 24-hour online monitoring.
pub const HAZCHEM_COUNT: usize = 145;
/// Warehousing/logistics firms.
pub const WAREHOUSING_COUNT: usize = 72;
/// Gas stations ("90+" in the plan).
pub const GAS_STATION_COUNT: usize = 92;

const BOUNDARY_GEOJSON: &str = include_str!("../../assets/geo/wuqing_boundary.geojson");
const TOWNS_CSV: &str = include_str!("../../assets/geo/wuqing_towns.csv");
const SEATS_CSV: &str = include_str!("../../assets/geo/wuqing_town_seats.csv");
const APPROXIMATE_SEATS_CSV: &str = include_str!("../../assets/geo/approximate_seats.csv");

const BOUNDARY_SOURCE: &str = "outline: DataV.GeoAtlas/AMap via GitHub tnnevol/gmap 120114.json \
     @b248aaaefc0c13f6bd006a4dc2fa4530d2cfd9b5, converted GCJ-02 to WGS84";
const TOWNS_SOURCE: &str = "code and name: NBS 统计用区划代码 2022-10-31 via GitHub \
     modood/Administrative-divisions-of-China dist/streets.csv @57a0aa9cef47169a2eb74cf057b0245052a34e8c";

/// Why the demo district could not be built. Only a broken embedded asset
/// can cause it, so seeing one means the build shipped bad files.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("embedded asset {file} is malformed: {message}")]
    Asset { file: &'static str, message: String },
    #[error("township unit {code} ({name}) has no seat in either seat file")]
    MissingSeat { code: String, name: String },
}

fn asset_error(file: &'static str) -> impl Fn(String) -> DemoError {
    move |message| DemoError::Asset { file, message }
}

/// The generated registry of the demo district.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoRegistry {
    pub enterprises: Vec<EnterpriseInput>,
    pub facilities: Vec<FacilityInput>,
}

#[derive(Deserialize)]
struct TownRow {
    code: String,
    name: String,
}

#[derive(Deserialize)]
struct SeatRow {
    code: String,
    lon_wgs84: f64,
    lat_wgs84: f64,
    #[serde(alias = "note")]
    source: String,
}

/// The district outline in WGS84, converted from the embedded GCJ-02 file.
pub fn district_outline_wgs84() -> Result<MultiPolygon<f64>, DemoError> {
    let err = asset_error("wuqing_boundary.geojson");
    let gj: geojson::GeoJson = BOUNDARY_GEOJSON.parse().map_err(|e| err(format!("{e}")))?;
    let geojson::GeoJson::FeatureCollection(fc) = gj else {
        return Err(err("not a FeatureCollection".into()));
    };
    let geometry = fc
        .features
        .into_iter()
        .find_map(|f| f.geometry)
        .ok_or_else(|| err("no feature with a geometry".into()))?;
    let mut outline = multipolygon_from_value(&geometry.value)
        .ok_or_else(|| err("the geometry is not a (Multi)Polygon".into()))?;
    gcj02::geo_gcj02_to_wgs84(&mut outline);
    Ok(outline)
}

fn multipolygon_from_value(value: &geojson::Value) -> Option<MultiPolygon<f64>> {
    match value {
        geojson::Value::MultiPolygon(_) => MultiPolygon::try_from(value).ok(),
        geojson::Value::Polygon(_) => geo::Polygon::try_from(value)
            .ok()
            .map(|p| MultiPolygon::new(vec![p])),
        _ => None,
    }
}

/// The geometry of a unit as a `geo` multipolygon, if it has a Polygon or
/// MultiPolygon GeoJSON geometry.
pub fn unit_geometry(unit: &AdminUnitSeed) -> Option<MultiPolygon<f64>> {
    let value = unit.geometry.as_ref()?;
    let geometry: geojson::Geometry = serde_json::from_value(value.clone()).ok()?;
    multipolygon_from_value(&geometry.value)
}

fn geometry_json(mp: &MultiPolygon<f64>) -> Option<serde_json::Value> {
    serde_json::to_value(geojson::Geometry::new(geojson::Value::from(mp))).ok()
}

fn read_csv<T: for<'de> Deserialize<'de>>(
    file: &'static str,
    text: &str,
) -> Result<Vec<T>, DemoError> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| asset_error(file)(e.to_string()))
}

/// The kind of a township-level unit from the last three digits of its code:
/// 001–099 street (街道), 100–399 town (镇, 乡), 400+ development zone/park.
pub fn kind_from_code(code: &str) -> Option<UnitKind> {
    let n: u32 = code.get(6..9)?.parse().ok()?;
    Some(match n {
        1..=99 => UnitKind::Street,
        100..=399 => UnitKind::Town,
        400..=999 => UnitKind::Park,
        _ => return None,
    })
}

/// Population of the streets, which are the built-up area of 杨村 and are
/// far denser than their cell area suggests. Invented, in proportion to what
/// a district seat of ~0.5 million urban residents looks like.
fn street_population(code: &str) -> i64 {
    match code {
        "120114001" => 182_000,
        "120114002" => 78_000,
        "120114003" => 64_000,
        "120114004" => 52_000,
        "120114005" => 58_000,
        _ => 61_000,
    }
}

const TOWN_POP_MIN: f64 = 15_000.0;
const TOWN_POP_MAX: f64 = 60_000.0;

/// The district (first) and its 37 township-level units, with WGS84
/// geometries, seats and populations, ready to be stored.
pub fn demo_admin_units() -> Result<Vec<AdminUnitSeed>, DemoError> {
    let outline = district_outline_wgs84()?;
    let towns: Vec<TownRow> = read_csv("wuqing_towns.csv", TOWNS_CSV)?;
    let sourced: Vec<SeatRow> = read_csv("wuqing_town_seats.csv", SEATS_CSV)?;
    let placed: Vec<SeatRow> = read_csv("approximate_seats.csv", APPROXIMATE_SEATS_CSV)?;
    let sourced: HashMap<&str, &SeatRow> = sourced.iter().map(|s| (s.code.as_str(), s)).collect();
    let placed: HashMap<&str, &SeatRow> = placed.iter().map(|s| (s.code.as_str(), s)).collect();

    // (seat, approximate?, seat source) per town, in CSV order.
    let mut seats = Vec::with_capacity(towns.len());
    for t in &towns {
        let (row, approximate) = match (sourced.get(t.code.as_str()), placed.get(t.code.as_str())) {
            (Some(r), _) => (*r, false),
            (None, Some(r)) => (*r, true),
            (None, None) => {
                return Err(DemoError::MissingSeat {
                    code: t.code.clone(),
                    name: t.name.clone(),
                });
            }
        };
        seats.push((
            Point::new(row.lon_wgs84, row.lat_wgs84),
            approximate,
            row.source.as_str(),
        ));
    }
    let points: Vec<Point<f64>> = seats.iter().map(|s| s.0).collect();
    let cells = voronoi_partition(&points, &outline);

    let kinds: Vec<UnitKind> = towns
        .iter()
        .map(|t| {
            kind_from_code(&t.code).ok_or_else(|| {
                asset_error("wuqing_towns.csv")(format!("code {} is not a township code", t.code))
            })
        })
        .collect::<Result<_, _>>()?;
    let areas: Vec<f64> = cells.iter().map(area_km2).collect();
    let populations = split_population(&towns, &kinds, &areas);

    let mut units = Vec::with_capacity(towns.len() + 1);
    units.push(AdminUnitSeed {
        code: DISTRICT_CODE.to_string(),
        name: DISTRICT_NAME.to_string(),
        kind: UnitKind::District,
        parent_code: None,
        population: Some(DISTRICT_POPULATION_2020),
        population_approximate: false,
        geometry: geometry_json(&outline),
        geometry_approximate: false,
        seat: Some([117.06028, 39.36389]),
        seat_approximate: false,
        source: format!(
            "{BOUNDARY_SOURCE}; population: 7th national census 2020 district total; \
             seat: GeoNames 1787646 \"Yangcun\" (CC BY 4.0)"
        ),
    });
    for (i, t) in towns.iter().enumerate() {
        let (seat, seat_approximate, seat_source) = seats[i];
        let seat_part = if seat_approximate {
            "seat: placed by hand for the demo (assets/geo/approximate_seats.csv)".to_string()
        } else {
            format!("seat: {seat_source}")
        };
        units.push(AdminUnitSeed {
            code: t.code.clone(),
            name: t.name.clone(),
            kind: kinds[i],
            parent_code: Some(DISTRICT_CODE.to_string()),
            population: Some(populations[i]),
            population_approximate: true,
            geometry: geometry_json(&cells[i]),
            geometry_approximate: true,
            seat: Some([seat.x(), seat.y()]),
            seat_approximate,
            source: format!(
                "{TOWNS_SOURCE}; {seat_part}; geometry: Voronoi cell of the 37 seats clipped \
                 to the district outline (generated); population: generated share of the 2020 \
                 census district total"
            ),
        });
    }
    Ok(units)
}

/// Splits the census total: fixed figures for the streets, 3–15 thousand for
/// the parks by area, and the rest over the towns in proportion to area,
/// held within 15–60 thousand. The last person goes to the largest town so
/// that the sum is exact.
fn split_population(towns: &[TownRow], kinds: &[UnitKind], areas: &[f64]) -> Vec<i64> {
    let mut pops = vec![0i64; towns.len()];
    let mut remaining = DISTRICT_POPULATION_2020;
    for (i, t) in towns.iter().enumerate() {
        pops[i] = match kinds[i] {
            UnitKind::Street => street_population(&t.code),
            UnitKind::Park => {
                ((areas[i] * 250.0).clamp(3_000.0, 15_000.0) / 10.0).round() as i64 * 10
            }
            _ => continue,
        };
        remaining -= pops[i];
    }
    let town_idx: Vec<usize> = (0..towns.len())
        .filter(|&i| kinds[i] == UnitKind::Town)
        .collect();
    let mut fixed: HashMap<usize, f64> = HashMap::new();
    let mut shares: HashMap<usize, f64> = HashMap::new();
    // Water-filling: towns pushed outside the band are pinned to its edge and
    // the rest is shared again; each round pins at least one, so it ends.
    for _ in 0..=town_idx.len() {
        let free: Vec<usize> = town_idx
            .iter()
            .copied()
            .filter(|i| !fixed.contains_key(i))
            .collect();
        let free_area: f64 = free.iter().map(|&i| areas[i]).sum();
        let free_pop = remaining as f64 - fixed.values().sum::<f64>();
        let mut changed = false;
        for &i in &free {
            let p = if free_area > 0.0 {
                free_pop * areas[i] / free_area
            } else {
                free_pop / free.len() as f64
            };
            shares.insert(i, p);
            if p < TOWN_POP_MIN {
                fixed.insert(i, TOWN_POP_MIN);
                changed = true;
            } else if p > TOWN_POP_MAX {
                fixed.insert(i, TOWN_POP_MAX);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for &i in &town_idx {
        let p = fixed
            .get(&i)
            .or_else(|| shares.get(&i))
            .copied()
            .unwrap_or(TOWN_POP_MIN);
        pops[i] = p.round() as i64;
    }
    let residue = DISTRICT_POPULATION_2020 - pops.iter().sum::<i64>();
    if let Some(&largest) = town_idx.iter().max_by_key(|&&i| pops[i]) {
        pops[largest] += residue;
    }
    pops
}

// ---------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------

/// A township unit as the registry generator sees it.
struct Town<'a> {
    unit: &'a AdminUnitSeed,
    area: Option<MultiPolygon<f64>>,
    short: String,
}

impl Town<'_> {
    fn code(&self) -> &str {
        &self.unit.code
    }

    fn kind(&self) -> UnitKind {
        self.unit.kind
    }

    /// A random point in the unit, or its seat when it has no usable geometry.
    fn random_point(&self, rng: &mut ChaCha8Rng) -> Option<Point<f64>> {
        self.area
            .as_ref()
            .and_then(|a| random_point_in(rng, a))
            .or_else(|| self.unit.seat.map(|[x, y]| Point::new(x, y)))
    }

    /// A point within about 1.5 km of the seat and inside the unit: public
    /// facilities cluster in the town centre.
    fn point_near_seat(&self, rng: &mut ChaCha8Rng) -> Option<Point<f64>> {
        if let (Some([x, y]), Some(area)) = (self.unit.seat, self.area.as_ref()) {
            for _ in 0..50 {
                let p = Point::new(
                    x + rng.gen_range(-0.018..0.018),
                    y + rng.gen_range(-0.014..0.014),
                );
                if contains_point(area, &p) {
                    return Some(p);
                }
            }
        }
        self.random_point(rng)
    }

    fn address(&self, rng: &mut ChaCha8Rng) -> String {
        let road = ROADS[rng.gen_range(0..ROADS.len())];
        format!(
            "天津市武清区{}{}{}号",
            self.unit.name,
            road,
            rng.gen_range(1..=288)
        )
    }
}

/// A short name for names of things in a unit: "杨村" for 杨村街道, "梅厂"
/// for 梅厂镇, a customary abbreviation for the parks.
fn short_name(unit: &AdminUnitSeed) -> String {
    let by_code = match unit.code.as_str() {
        "120114400" => Some("逸仙园"),
        "120114401" => Some("开发区"),
        "120114403" => Some("京滨园"),
        "120114404" => Some("电商园"),
        "120114405" => Some("汽车园"),
        "120114406" => Some("科技谷"),
        "120114407" => Some("高村科创园"),
        _ => None,
    };
    if let Some(s) = by_code {
        return s.to_string();
    }
    let name = unit.name.as_str();
    name.strip_suffix("街道")
        .or_else(|| name.strip_suffix('镇'))
        .or_else(|| name.strip_suffix('乡'))
        .unwrap_or(name)
        .to_string()
}

/// Towns with a manufacturing tradition (王庆坨 bicycles, 大王古庄 and 陈咀
/// steel and metal products, ...), which get more enterprises.
const INDUSTRIAL_TOWNS: [&str; 10] = [
    "120114114",
    "120114118",
    "120114119",
    "120114112",
    "120114115",
    "120114103",
    "120114104",
    "120114101",
    "120114113",
    "120114111",
];

/// Towns along the Beijing–Tianjin expressways and railways, where logistics settles.
const CORRIDOR_TOWNS: [&str; 8] = [
    "120114109",
    "120114101",
    "120114106",
    "120114104",
    "120114103",
    "120114123",
    "120114004",
    "120114005",
];

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Category {
    Hazchem,
    Warehousing,
    GasStation,
    General,
}

fn town_weight(town: &Town<'_>, category: Category) -> f64 {
    if town.kind() == UnitKind::District {
        return 0.0;
    }
    let code = town.code();
    let industrial = INDUSTRIAL_TOWNS.contains(&code);
    let corridor = CORRIDOR_TOWNS.contains(&code);
    match (category, town.kind()) {
        (Category::General, UnitKind::Park) => 4.0,
        (Category::General, UnitKind::Street) if code == "120114001" => 3.0,
        (Category::General, UnitKind::Street) => 1.5,
        (Category::General, _) if industrial => 1.6,
        (Category::General, _) => 0.7,
        (Category::Hazchem, UnitKind::Park) if code == "120114400" || code == "120114401" => 6.0,
        (Category::Hazchem, UnitKind::Park) => 2.5,
        (Category::Hazchem, UnitKind::Street) => 0.4,
        (Category::Hazchem, _) if industrial => 1.6,
        (Category::Hazchem, _) => 0.5,
        (Category::Warehousing, UnitKind::Park) if code == "120114404" => 6.0,
        (Category::Warehousing, UnitKind::Park) => 2.0,
        (Category::Warehousing, _) if corridor => 1.5,
        (Category::Warehousing, _) => 0.4,
        (Category::GasStation, UnitKind::Park) => 0.4,
        (Category::GasStation, UnitKind::Street) => 1.2,
        (Category::GasStation, _) => 1.0,
    }
}

fn weighted_pick(rng: &mut ChaCha8Rng, weights: &[f64]) -> Option<usize> {
    let total: f64 = weights.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
    if total <= 0.0 {
        return None;
    }
    let mut x = rng.gen_range(0.0..total);
    for (i, &w) in weights.iter().enumerate() {
        if !(w.is_finite() && w > 0.0) {
            continue;
        }
        if x < w {
            return Some(i);
        }
        x -= w;
    }
    weights.iter().rposition(|w| w.is_finite() && *w > 0.0)
}

/// An industry template: section, division, the word that goes into a
/// company name, how likely it is above designated size, and the chances of
/// the non-exclusive hazard flags.
struct Trade {
    section: &'static str,
    division: &'static str,
    words: &'static [&'static str],
    weight: f64,
    above: f64,
    dust: f64,
    ammonia: f64,
    confined: f64,
    metallurgy: f64,
}

const fn trade(
    section: &'static str,
    division: &'static str,
    words: &'static [&'static str],
    weight: f64,
    above: f64,
) -> Trade {
    Trade {
        section,
        division,
        words,
        weight,
        above,
        dust: 0.0,
        ammonia: 0.0,
        confined: 0.0,
        metallurgy: 0.0,
    }
}

/// The general (non-hazchem, non-logistics, non-fuel) enterprises.
/// Weights follow a manufacturing district on the Beijing–Tianjin corridor.
const GENERAL_TRADES: &[Trade] = &[
    Trade {
        dust: 0.35,
        ammonia: 0.3,
        confined: 0.5,
        ..trade("C", "13", &["食品", "粮油", "肉类食品", "饲料"], 6.0, 0.35)
    },
    Trade {
        dust: 0.15,
        ammonia: 0.2,
        confined: 0.35,
        ..trade("C", "14", &["食品", "乳业", "调味品"], 5.0, 0.3)
    },
    Trade {
        confined: 0.6,
        ..trade("C", "15", &["饮料", "酒业"], 1.5, 0.3)
    },
    trade("C", "17", &["纺织", "织造"], 2.0, 0.2),
    trade("C", "18", &["服饰", "服装"], 2.5, 0.15),
    Trade {
        dust: 0.6,
        ..trade("C", "20", &["木业", "木制品"], 2.0, 0.15)
    },
    Trade {
        dust: 0.55,
        ..trade("C", "21", &["家具"], 3.0, 0.2)
    },
    Trade {
        confined: 0.6,
        ..trade("C", "22", &["纸业", "包装制品"], 3.0, 0.3)
    },
    trade("C", "23", &["印刷", "印务"], 2.5, 0.15),
    trade("C", "24", &["文体用品", "玩具"], 2.5, 0.2),
    trade("C", "29", &["塑料制品", "橡塑制品"], 5.0, 0.25),
    Trade {
        dust: 0.2,
        ..trade("C", "30", &["建材", "新型建材", "玻璃制品"], 3.0, 0.3)
    },
    Trade {
        metallurgy: 1.0,
        confined: 0.2,
        ..trade("C", "31", &["钢铁", "钢管", "轧钢"], 2.5, 0.6)
    },
    Trade {
        metallurgy: 1.0,
        dust: 0.25,
        ..trade("C", "32", &["铝业", "有色金属"], 1.5, 0.5)
    },
    Trade {
        metallurgy: 0.35,
        dust: 0.25,
        ..trade("C", "33", &["金属制品", "五金制品", "钢结构"], 9.0, 0.25)
    },
    trade("C", "34", &["机械设备", "通用机械"], 7.0, 0.3),
    trade("C", "35", &["专用设备", "环保设备"], 5.0, 0.3),
    Trade {
        dust: 0.1,
        ..trade("C", "36", &["汽车零部件", "汽车配件"], 7.0, 0.4)
    },
    Trade {
        dust: 0.15,
        ..trade("C", "37", &["自行车", "电动车"], 5.0, 0.3)
    },
    trade("C", "38", &["电气", "电器", "电线电缆"], 5.0, 0.3),
    trade("C", "39", &["电子科技", "电子"], 5.0, 0.35),
    trade("C", "40", &["仪器仪表"], 1.5, 0.3),
    trade("C", "41", &["制品"], 1.0, 0.1),
    Trade {
        confined: 0.3,
        ..trade("C", "42", &["再生资源", "资源回收"], 1.0, 0.1)
    },
    trade("C", "43", &["设备维修"], 0.8, 0.1),
    Trade {
        confined: 0.5,
        ..trade("D", "44", &["热力", "能源"], 1.0, 0.6)
    },
    Trade {
        confined: 1.0,
        ..trade("D", "46", &["水务", "供水"], 0.8, 0.5)
    },
    trade("E", "47", &["建筑工程", "建设"], 4.0, 0.3),
    Trade {
        confined: 0.3,
        ..trade("E", "48", &["市政工程", "路桥工程"], 2.0, 0.3)
    },
    trade("E", "49", &["安装工程", "机电安装"], 1.5, 0.2),
    trade("E", "50", &["装饰工程", "装饰"], 2.0, 0.1),
    trade("F", "51", &["商贸", "贸易"], 5.0, 0.2),
    Trade {
        ammonia: 0.05,
        ..trade("F", "52", &["超市", "商业"], 3.0, 0.2)
    },
    trade("G", "54", &["运输", "货运"], 2.0, 0.2),
    trade("H", "61", &["酒店"], 1.0, 0.2),
    trade("H", "62", &["餐饮"], 1.0, 0.1),
    trade("I", "65", &["信息技术", "软件"], 1.5, 0.2),
    trade("K", "70", &["物业", "置业"], 1.5, 0.3),
    trade("L", "72", &["商务服务", "企业管理"], 1.0, 0.1),
    trade("M", "73", &["科技", "新材料科技"], 1.0, 0.2),
    Trade {
        confined: 1.0,
        ..trade("N", "77", &["环保", "污水处理"], 1.0, 0.3)
    },
];

/// What a hazardous-chemical enterprise does with its chemicals, and in which trade.
struct HazchemKind {
    section: &'static str,
    division: &'static str,
    words: &'static [&'static str],
    count: usize,
    flags: &'static [HazardFlag],
    maybe_storage: bool,
    above: f64,
}

/// 145 in all: producers, users and traders, in proportions typical of a
/// district without a chemical park of its own.
const HAZCHEM_KINDS: &[HazchemKind] = &[
    HazchemKind {
        section: "C",
        division: "26",
        words: &["化工", "化学品", "精细化工"],
        count: 22,
        flags: &[HazardFlag::HazchemProduction, HazardFlag::HazchemStorage],
        maybe_storage: false,
        above: 0.6,
    },
    HazchemKind {
        section: "C",
        division: "26",
        words: &["涂料", "油墨", "胶粘剂"],
        count: 14,
        flags: &[
            HazardFlag::HazchemProduction,
            HazardFlag::HazchemStorage,
            HazardFlag::HazchemUse,
        ],
        maybe_storage: false,
        above: 0.5,
    },
    HazchemKind {
        section: "C",
        division: "25",
        words: &["石油化工", "燃料"],
        count: 4,
        flags: &[HazardFlag::HazchemProduction, HazardFlag::HazchemStorage],
        maybe_storage: false,
        above: 0.8,
    },
    HazchemKind {
        section: "C",
        division: "27",
        words: &["制药", "医药", "生物医药"],
        count: 12,
        flags: &[HazardFlag::HazchemUse],
        maybe_storage: true,
        above: 0.6,
    },
    HazchemKind {
        section: "C",
        division: "28",
        words: &["化纤", "化学纤维"],
        count: 3,
        flags: &[HazardFlag::HazchemUse],
        maybe_storage: true,
        above: 0.5,
    },
    HazchemKind {
        section: "C",
        division: "29",
        words: &["橡胶制品", "塑胶"],
        count: 12,
        flags: &[HazardFlag::HazchemUse],
        maybe_storage: true,
        above: 0.35,
    },
    HazchemKind {
        section: "C",
        division: "33",
        words: &["表面处理", "电镀", "喷涂"],
        count: 14,
        flags: &[HazardFlag::HazchemUse],
        maybe_storage: true,
        above: 0.3,
    },
    HazchemKind {
        section: "C",
        division: "36",
        words: &["汽车涂装", "汽车部件"],
        count: 6,
        flags: &[HazardFlag::HazchemUse],
        maybe_storage: true,
        above: 0.6,
    },
    HazchemKind {
        section: "C",
        division: "39",
        words: &["电子材料", "半导体"],
        count: 6,
        flags: &[HazardFlag::HazchemUse],
        maybe_storage: true,
        above: 0.6,
    },
    HazchemKind {
        section: "D",
        division: "45",
        words: &["燃气", "液化气"],
        count: 8,
        flags: &[HazardFlag::HazchemStorage, HazardFlag::HazchemTrading],
        maybe_storage: false,
        above: 0.5,
    },
    HazchemKind {
        section: "F",
        division: "51",
        words: &["化工贸易", "化工产品销售"],
        count: 34,
        flags: &[HazardFlag::HazchemTrading],
        maybe_storage: false,
        above: 0.1,
    },
    HazchemKind {
        section: "F",
        division: "51",
        words: &["化工储运", "化学品经营"],
        count: 10,
        flags: &[HazardFlag::HazchemTrading, HazardFlag::HazchemStorage],
        maybe_storage: false,
        above: 0.3,
    },
];

/// Logistics and warehousing: 72 in all.
struct LogisticsKind {
    division: &'static str,
    words: &'static [&'static str],
    count: usize,
    cold: bool,
}

const LOGISTICS_KINDS: &[LogisticsKind] = &[
    LogisticsKind {
        division: "59",
        words: &["物流", "仓储", "供应链管理"],
        count: 40,
        cold: false,
    },
    LogisticsKind {
        division: "59",
        words: &["冷链物流", "冷藏仓储"],
        count: 12,
        cold: true,
    },
    LogisticsKind {
        division: "58",
        words: &["国际货运代理", "物流"],
        count: 8,
        cold: false,
    },
    LogisticsKind {
        division: "60",
        words: &["快递", "速递"],
        count: 12,
        cold: false,
    },
];

const BRAND_FIRST: &[&str] = &[
    "华", "鑫", "津", "宏", "恒", "瑞", "金", "永", "德", "海", "盛", "泰", "嘉", "润", "兴", "联",
    "中", "万", "博", "创", "国", "福", "天", "东", "北", "新", "正", "诚", "信", "广", "顺", "安",
];
const BRAND_SECOND: &[&str] = &[
    "泰", "达", "润", "远", "通", "丰", "盛", "兴", "利", "辰", "源", "运", "禾", "泽", "隆", "合",
    "科", "通", "宇", "航", "邦", "发", "晟", "凯", "昌", "诺", "诚", "祥", "鼎", "辉", "峰", "信",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "程", "曹", "袁",
    "邓", "许", "傅", "沈", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛", "田", "任",
    "姜", "范", "石", "姚", "谭", "邹", "金", "郝", "孔", "白", "崔", "康", "孟", "侯", "邵", "常",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "霞", "平", "刚", "辉", "鹏", "华", "红", "玉", "宁", "斌", "亮", "健", "兰", "凤", "建",
    "国", "志", "春", "海", "立", "宝", "淑", "永", "庆", "文", "新", "德", "俊", "浩", "博", "雪",
];

const ROADS: &[&str] = &[
    "泉州北路",
    "雍阳西道",
    "雍阳东道",
    "京津公路",
    "翠通路",
    "福源道",
    "广贤路",
    "泉兴路",
    "东兴路",
    "振华路",
    "和平路",
    "光明道",
    "新华路",
    "建设路",
    "工业东路",
    "工业西路",
    "开源道",
    "兴业路",
    "创业路",
    "发展路",
    "富民路",
    "育才路",
    "朝阳路",
    "前进道",
    "机场道",
    "杨崔公路",
    "津围公路",
    "京福公路",
    "武宁公路",
    "北运河路",
];

/// Prefixes of mainland mobile numbers in common use (China Mobile, Unicom, Telecom).
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "147", "150", "151",
    "152", "153", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "191", "193", "195",
    "198", "199",
];

const CN_DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list.choose(rng).copied().unwrap_or_default()
}

fn person_name(rng: &mut ChaCha8Rng) -> String {
    let mut s = pick(rng, SURNAMES).to_string();
    s.push_str(pick(rng, GIVEN));
    if rng.gen_bool(0.6) {
        s.push_str(pick(rng, GIVEN));
    }
    s
}

fn mobile(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{:08}",
        pick(rng, MOBILE_PREFIXES),
        rng.gen_range(0..100_000_000u32)
    )
}

/// Staff by scale: above-size firms have tens to hundreds, with a long tail.
fn staff(rng: &mut ChaCha8Rng, scale: Scale) -> i64 {
    match scale {
        Scale::Above => {
            let base: f64 = rng.gen_range(0.0..1.0);
            (60.0 + 1200.0 * base.powi(3)).round() as i64
        }
        Scale::Below => rng.gen_range(5..=80),
    }
}

/// Makes names unique by trying new brands, then numbering.
struct Names(HashSet<String>);

impl Names {
    fn company(&mut self, rng: &mut ChaCha8Rng, word: &str, above: bool) -> String {
        for attempt in 0..40 {
            let brand = format!("{}{}", pick(rng, BRAND_FIRST), pick(rng, BRAND_SECOND));
            let form = rng.gen_range(0..10);
            let name = match form {
                0..=3 => format!("天津{brand}{word}有限公司"),
                4..=6 => format!("天津市武清区{brand}{word}有限公司"),
                7 if above => format!("天津{brand}{word}股份有限公司"),
                _ => format!("天津市{brand}{word}有限公司"),
            };
            if attempt < 39 && !self.0.insert(name.clone()) {
                continue;
            }
            return name;
        }
        let mut n = 2;
        loop {
            let name = format!("天津{word}第{n}有限公司");
            if self.0.insert(name.clone()) {
                return name;
            }
            n += 1;
        }
    }

    fn unique(&mut self, candidate: String) -> String {
        if self.0.insert(candidate.clone()) {
            return candidate;
        }
        let mut n = 2;
        loop {
            let name = format!("{candidate}（{n}）");
            if self.0.insert(name.clone()) {
                return name;
            }
            n += 1;
        }
    }
}

fn credit_code(rng: &mut ChaCha8Rng, taken: &mut HashSet<String>) -> String {
    loop {
        let code = credit_code::generate(rng, DISTRICT_CODE).into_string();
        if taken.insert(code.clone()) {
            return code;
        }
    }
}

/// A generated enterprise before it is placed.
struct Draft {
    category: Category,
    section: &'static str,
    division: &'static str,
    word: &'static str,
    above: f64,
    flags: Vec<HazardFlag>,
}

fn drafts(rng: &mut ChaCha8Rng) -> Vec<Draft> {
    let mut out = Vec::with_capacity(ENTERPRISE_COUNT);
    for k in HAZCHEM_KINDS {
        for _ in 0..k.count {
            let mut flags = k.flags.to_vec();
            if k.maybe_storage && rng.gen_bool(0.4) {
                flags.push(HazardFlag::HazchemStorage);
            }
            if k.section == "C" && rng.gen_bool(0.5) {
                flags.push(HazardFlag::ConfinedSpace);
            }
            out.push(Draft {
                category: Category::Hazchem,
                section: k.section,
                division: k.division,
                word: pick(rng, k.words),
                above: k.above,
                flags,
            });
        }
    }
    for k in LOGISTICS_KINDS {
        for _ in 0..k.count {
            let mut flags = vec![HazardFlag::Warehousing];
            if k.cold && rng.gen_bool(0.6) {
                flags.push(HazardFlag::AmmoniaRefrigeration);
            }
            out.push(Draft {
                category: Category::Warehousing,
                section: "G",
                division: k.division,
                word: pick(rng, k.words),
                above: 0.3,
                flags,
            });
        }
    }
    for _ in 0..GAS_STATION_COUNT {
        out.push(Draft {
            category: Category::GasStation,
            section: "F",
            division: "52",
            word: "加油站",
            above: 0.0,
            flags: vec![HazardFlag::GasStation],
        });
    }
    let weights: Vec<f64> = GENERAL_TRADES.iter().map(|t| t.weight).collect();
    while out.len() < ENTERPRISE_COUNT {
        let Some(i) = weighted_pick(rng, &weights) else {
            break;
        };
        let t = &GENERAL_TRADES[i];
        let mut flags = Vec::new();
        for (p, f) in [
            (t.dust, HazardFlag::CombustibleDust),
            (t.ammonia, HazardFlag::AmmoniaRefrigeration),
            (t.confined, HazardFlag::ConfinedSpace),
            (t.metallurgy, HazardFlag::Metallurgy),
        ] {
            if p > 0.0 && rng.gen_bool(p.min(1.0)) {
                flags.push(f);
            }
        }
        out.push(Draft {
            category: Category::General,
            section: t.section,
            division: t.division,
            word: pick(rng, t.words),
            above: t.above,
            flags,
        });
    }
    out.shuffle(rng);
    out
}

fn gas_station_name(rng: &mut ChaCha8Rng, names: &mut Names, town: &Town<'_>) -> (String, Scale) {
    let road = pick(rng, ROADS);
    let road = road.trim_end_matches(['路', '道']).trim_end_matches("公");
    let brand = rng.gen_range(0..20);
    let name = match brand {
        0..=9 => format!(
            "中国石化销售股份有限公司天津武清{}{}加油站",
            town.short, road
        ),
        10..=16 => format!(
            "中国石油天然气股份有限公司天津销售分公司武清{}{}加油站",
            town.short, road
        ),
        _ => format!("天津市武清区{}{}加油站有限公司", town.short, road),
    };
    (names.unique(name), Scale::Below)
}

/// `ENTERPRISE_COUNT` enterprises and the public facilities of the demo
/// district, placed in the township units of `units` (the output of
/// [`demo_admin_units`]; the district row itself is skipped). The same seed
/// and units always give the same registry.
///
/// With no township units there is nowhere to put anything, and the
/// registry is empty.
pub fn demo_registry(seed: u64, units: &[AdminUnitSeed]) -> DemoRegistry {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let towns: Vec<Town<'_>> = units
        .iter()
        .filter(|u| u.kind != UnitKind::District)
        .map(|u| Town {
            unit: u,
            area: unit_geometry(u),
            short: short_name(u),
        })
        .collect();
    if towns.is_empty() {
        return DemoRegistry {
            enterprises: Vec::new(),
            facilities: Vec::new(),
        };
    }

    let mut names = Names(HashSet::new());
    let mut codes = HashSet::new();
    let weights_for =
        |c: Category| -> Vec<f64> { towns.iter().map(|t| town_weight(t, c)).collect() };
    let weights: HashMap<Category, Vec<f64>> = [
        Category::Hazchem,
        Category::Warehousing,
        Category::GasStation,
        Category::General,
    ]
    .into_iter()
    .map(|c| (c, weights_for(c)))
    .collect();

    let mut enterprises = Vec::with_capacity(ENTERPRISE_COUNT);
    for d in drafts(&mut rng) {
        let ti = weights
            .get(&d.category)
            .and_then(|w| weighted_pick(&mut rng, w))
            .unwrap_or_else(|| rng.gen_range(0..towns.len()));
        let town = &towns[ti];
        let (name, scale) = if d.category == Category::GasStation {
            gas_station_name(&mut rng, &mut names, town)
        } else {
            let scale = if rng.gen_bool(d.above.clamp(0.0, 1.0)) {
                Scale::Above
            } else {
                Scale::Below
            };
            (
                names.company(&mut rng, d.word, scale == Scale::Above),
                scale,
            )
        };
        let staff_count = if d.category == Category::GasStation {
            rng.gen_range(8..=24)
        } else {
            staff(&mut rng, scale)
        };
        let point = town.random_point(&mut rng);
        let legal_rep = person_name(&mut rng);
        let safety_manager = if scale == Scale::Below && rng.gen_bool(0.3) {
            legal_rep.clone()
        } else {
            person_name(&mut rng)
        };
        let mut flags = d.flags;
        flags.sort();
        flags.dedup();
        enterprises.push(EnterpriseInput {
            credit_code: credit_code(&mut rng, &mut codes),
            name,
            town_code: town.code().to_string(),
            address: town.address(&mut rng),
            lon: point.map(|p| p.x()),
            lat: point.map(|p| p.y()),
            industry_section: d.section.to_string(),
            industry_division: Some(d.division.to_string()),
            scale,
            staff_count: Some(staff_count),
            legal_rep,
            safety_manager,
            safety_phone: mobile(&mut rng),
            flags,
        });
    }

    let facilities = facilities(&mut rng, &towns, &mut names);
    DemoRegistry {
        enterprises,
        facilities,
    }
}

fn facilities(rng: &mut ChaCha8Rng, towns: &[Town<'_>], names: &mut Names) -> Vec<FacilityInput> {
    let mut out = Vec::new();
    let mut push = |rng: &mut ChaCha8Rng,
                    names: &mut Names,
                    town: &Town<'_>,
                    kind,
                    name: String,
                    people: i64| {
        let p = town.point_near_seat(rng);
        out.push(FacilityInput {
            name: names.unique(name),
            kind,
            town_code: town.code().to_string(),
            address: town.address(rng),
            lon: p.map(|p| p.x()),
            lat: p.map(|p| p.y()),
            people: Some(people),
        });
    };
    let streets: Vec<&Town<'_>> = towns
        .iter()
        .filter(|t| t.kind() == UnitKind::Street)
        .collect();
    let rural: Vec<&Town<'_>> = towns
        .iter()
        .filter(|t| t.kind() == UnitKind::Town)
        .collect();
    let parks: Vec<&Town<'_>> = towns
        .iter()
        .filter(|t| t.kind() == UnitKind::Park)
        .collect();
    let urban: Vec<&Town<'_>> = streets
        .iter()
        .chain(rural.iter())
        .chain(parks.iter())
        .copied()
        .collect();
    // District institutions stand in the seat (the streets of 杨村); without
    // streets they go wherever there is a unit.
    let seat_units: Vec<&Town<'_>> = if streets.is_empty() {
        urban.clone()
    } else {
        streets.clone()
    };
    let nth = |list: &[&'_ Town<'_>], i: usize| -> Option<usize> {
        if list.is_empty() {
            None
        } else {
            Some(i % list.len())
        }
    };

    // Schools: the numbered district middle schools and primaries in the
    // streets, a central primary and a middle school in every town.
    for (k, digit) in CN_DIGITS[1..=8].iter().enumerate() {
        if let Some(i) = nth(&seat_units, k) {
            let people = rng.gen_range(1500..=3200);
            push(
                rng,
                names,
                seat_units[i],
                FacilityKind::School,
                format!("天津市武清区杨村第{digit}中学"),
                people,
            );
        }
    }
    for (k, digit) in CN_DIGITS[1..=7].iter().enumerate() {
        if let Some(i) = nth(&seat_units, k + 2) {
            let people = rng.gen_range(900..=2400);
            push(
                rng,
                names,
                seat_units[i],
                FacilityKind::School,
                format!("天津市武清区杨村第{digit}小学"),
                people,
            );
        }
    }
    for t in &rural {
        let people = rng.gen_range(500..=1600);
        push(
            rng,
            names,
            t,
            FacilityKind::School,
            format!("天津市武清区{}镇中心小学", t.short),
            people,
        );
        let people = rng.gen_range(600..=2000);
        push(
            rng,
            names,
            t,
            FacilityKind::School,
            format!("天津市武清区{}中学", t.short),
            people,
        );
    }
    if let Some(i) = nth(&seat_units, 0) {
        push(
            rng,
            names,
            seat_units[i],
            FacilityKind::School,
            "天津市武清区职业中等专业学校".into(),
            2600,
        );
        push(
            rng,
            names,
            seat_units[i],
            FacilityKind::School,
            "天津市武清区特殊教育学校".into(),
            220,
        );
    }

    // Hospitals: the district hospitals in the seat, a health centre (卫生院) in every town.
    let district_hospitals = [
        ("天津市武清区人民医院", 1800),
        ("天津市武清区中医医院", 900),
        ("天津市武清区妇幼保健计划生育服务中心", 350),
        ("天津市武清区第二人民医院", 600),
        ("天津市武清区精神卫生中心", 300),
    ];
    for (k, (name, people)) in district_hospitals.into_iter().enumerate() {
        if let Some(i) = nth(&seat_units, k) {
            push(
                rng,
                names,
                seat_units[i],
                FacilityKind::Hospital,
                name.into(),
                people,
            );
        }
    }
    for t in &rural {
        let people = rng.gen_range(60..=220);
        push(
            rng,
            names,
            t,
            FacilityKind::Hospital,
            format!("天津市武清区{}镇卫生院", t.short),
            people,
        );
    }

    // Elderly homes: a 敬老院 in every town, the welfare home and private homes in the streets.
    for t in &rural {
        let people = rng.gen_range(40..=180);
        push(
            rng,
            names,
            t,
            FacilityKind::ElderlyHome,
            format!("天津市武清区{}镇敬老院", t.short),
            people,
        );
    }
    if let Some(i) = nth(&seat_units, 0) {
        push(
            rng,
            names,
            seat_units[i],
            FacilityKind::ElderlyHome,
            "天津市武清区社会福利院".into(),
            320,
        );
    }
    for k in 0..4 {
        if let Some(i) = nth(&seat_units, k + 1) {
            let brand = format!("{}{}", pick(rng, BRAND_FIRST), pick(rng, BRAND_SECOND));
            let people = rng.gen_range(80..=400);
            push(
                rng,
                names,
                seat_units[i],
                FacilityKind::ElderlyHome,
                format!("天津市武清区{brand}养老院"),
                people,
            );
        }
    }

    // Markets: a 集贸市场 in every town, a 农贸市场 in every street, shopping centres in 杨村.
    for t in &rural {
        let people = rng.gen_range(300..=2000);
        push(
            rng,
            names,
            t,
            FacilityKind::Market,
            format!("武清区{}集贸市场", t.short),
            people,
        );
    }
    for t in &streets {
        let people = rng.gen_range(500..=2500);
        push(
            rng,
            names,
            t,
            FacilityKind::Market,
            format!("武清区{}农贸市场", t.short),
            people,
        );
    }
    if let Some(i) = nth(&seat_units, 0) {
        push(
            rng,
            names,
            seat_units[i],
            FacilityKind::Market,
            "武清区杨村购物中心".into(),
            5000,
        );
    }
    if let Some(i) = nth(&seat_units, 1) {
        push(
            rng,
            names,
            seat_units[i],
            FacilityKind::Market,
            "京津名品奥特莱斯".into(),
            8000,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::credit_code::CreditCode;
    use crate::registry::industry;
    use geo::{Area, BooleanOps};
    use std::sync::OnceLock;

    fn units() -> &'static Vec<AdminUnitSeed> {
        static UNITS: OnceLock<Vec<AdminUnitSeed>> = OnceLock::new();
        UNITS.get_or_init(|| demo_admin_units().unwrap())
    }

    fn registry() -> &'static DemoRegistry {
        static REG: OnceLock<DemoRegistry> = OnceLock::new();
        REG.get_or_init(|| demo_registry(42, units()))
    }

    fn geometry_of(code: &str) -> MultiPolygon<f64> {
        let u = units().iter().find(|u| u.code == code).unwrap();
        unit_geometry(u).unwrap()
    }

    #[test]
    fn the_district_comes_first_then_37_township_units() {
        let u = units();
        assert_eq!(u.len(), 38);
        assert_eq!(u[0].code, "120114");
        assert_eq!(u[0].kind, UnitKind::District);
        assert_eq!(u[0].parent_code, None);
        assert!(
            u[1..]
                .iter()
                .all(|t| t.parent_code.as_deref() == Some("120114"))
        );
        let count = |k| u.iter().filter(|t| t.kind == k).count();
        assert_eq!(
            (
                count(UnitKind::Street),
                count(UnitKind::Town),
                count(UnitKind::Park)
            ),
            (6, 24, 7)
        );
        assert_eq!(u[1].name, "杨村街道");
    }

    #[test]
    fn kinds_follow_the_code_ranges() {
        assert_eq!(kind_from_code("120114006"), Some(UnitKind::Street));
        assert_eq!(kind_from_code("120114100"), Some(UnitKind::Town));
        assert_eq!(kind_from_code("120114399"), Some(UnitKind::Town));
        assert_eq!(kind_from_code("120114400"), Some(UnitKind::Park));
        assert_eq!(kind_from_code("120114000"), None);
        assert_eq!(kind_from_code("1201"), None);
    }

    #[test]
    fn the_district_outline_is_in_wgs84_and_about_1575_km2() {
        let outline = district_outline_wgs84().unwrap();
        let a = area_km2(&outline);
        assert!((1560.0..1590.0).contains(&a), "{a}");
        // GCJ-02 bbox starts at lon 116.785094; WGS84 is ~0.006° further west.
        let min_x = outline.0[0]
            .exterior()
            .0
            .iter()
            .map(|c| c.x)
            .fold(f64::MAX, f64::min);
        assert!((min_x - (116.785094 - 0.0060)).abs() < 0.0004, "{min_x}");
    }

    #[test]
    fn every_seat_lies_inside_the_district_and_no_two_are_within_2_km() {
        let outline = district_outline_wgs84().unwrap();
        let seats: Vec<(String, Point<f64>)> = units()[1..]
            .iter()
            .map(|u| {
                let [x, y] = u.seat.unwrap();
                (u.name.clone(), Point::new(x, y))
            })
            .collect();
        for (name, p) in &seats {
            assert!(
                contains_point(&outline, p),
                "{name} {p:?} is outside the district"
            );
        }
        let k = 39.4f64.to_radians().cos();
        for i in 0..seats.len() {
            for j in i + 1..seats.len() {
                let (a, b) = (seats[i].1, seats[j].1);
                let km = ((a.x() - b.x()) * k).hypot(a.y() - b.y()) * 111.2;
                assert!(
                    km >= 2.0,
                    "{} and {} are {km:.2} km apart",
                    seats[i].0,
                    seats[j].0
                );
            }
        }
    }

    #[test]
    fn approximate_seats_cover_exactly_the_units_without_a_sourced_seat() {
        let placed: Vec<SeatRow> =
            read_csv("approximate_seats.csv", APPROXIMATE_SEATS_CSV).unwrap();
        assert_eq!(placed.len(), 30);
        assert!(
            placed
                .iter()
                .all(|r| r.source == "approximate, placed for the demo")
        );
        let approx = units()[1..].iter().filter(|u| u.seat_approximate).count();
        assert_eq!(approx, 30);
        let yangcun = &units()[1];
        assert!(!yangcun.seat_approximate);
        assert!(yangcun.source.contains("GeoNames"));
    }

    #[test]
    fn each_seat_lies_in_its_own_cell() {
        for u in &units()[1..] {
            let [x, y] = u.seat.unwrap();
            let cell = unit_geometry(u).unwrap();
            assert!(contains_point(&cell, &Point::new(x, y)), "{}", u.name);
        }
    }

    #[test]
    fn the_cells_tile_the_district() {
        let outline = district_outline_wgs84().unwrap();
        let cells: Vec<MultiPolygon<f64>> = units()[1..]
            .iter()
            .map(|u| unit_geometry(u).unwrap())
            .collect();
        let total: f64 = cells.iter().map(|c| c.unsigned_area()).sum();
        let expected = outline.unsigned_area();
        assert!(
            (total - expected).abs() / expected < 1e-3,
            "{total} vs {expected}"
        );
        for i in 0..cells.len() {
            for j in i + 1..cells.len() {
                let overlap = cells[i].intersection(&cells[j]).unsigned_area();
                assert!(overlap < expected * 1e-7, "{i} and {j} overlap");
            }
        }
    }

    #[test]
    fn populations_add_up_to_the_2020_census_total() {
        let u = units();
        let sum: i64 = u[1..].iter().map(|t| t.population.unwrap()).sum();
        assert_eq!(sum, DISTRICT_POPULATION_2020);
        assert_eq!(u[0].population, Some(DISTRICT_POPULATION_2020));
        assert!(!u[0].population_approximate);
        let yangcun = u[1].population.unwrap();
        assert!((150_000..=200_000).contains(&yangcun));
        for t in &u[1..] {
            let p = t.population.unwrap();
            assert!(t.population_approximate && t.geometry_approximate);
            match t.kind {
                UnitKind::Town => assert!((15_000..=60_000).contains(&p), "{} {p}", t.name),
                UnitKind::Park => assert!((3_000..=15_000).contains(&p), "{} {p}", t.name),
                UnitKind::Street => assert!(p <= yangcun),
                UnitKind::District => unreachable!(),
            }
        }
    }

    #[test]
    fn the_registry_has_the_plan_counts() {
        let r = registry();
        assert_eq!(r.enterprises.len(), ENTERPRISE_COUNT);
        let with = |f: fn(&HazardFlag) -> bool| {
            r.enterprises
                .iter()
                .filter(|e| e.flags.iter().any(f))
                .count()
        };
        assert_eq!(with(|f| f.is_hazchem()), HAZCHEM_COUNT);
        assert_eq!(with(|f| *f == HazardFlag::Warehousing), WAREHOUSING_COUNT);
        assert_eq!(with(|f| *f == HazardFlag::GasStation), GAS_STATION_COUNT);
        assert!(with(|f| *f == HazardFlag::CombustibleDust) >= 30);
        assert!(with(|f| *f == HazardFlag::AmmoniaRefrigeration) >= 10);
        assert!(with(|f| *f == HazardFlag::ConfinedSpace) >= 50);
        assert!(with(|f| *f == HazardFlag::Metallurgy) >= 20);
        let facilities = |k| r.facilities.iter().filter(|f| f.kind == k).count();
        assert!(facilities(FacilityKind::School) >= 55);
        assert!(facilities(FacilityKind::Hospital) >= 12);
        assert!(facilities(FacilityKind::ElderlyHome) >= 20);
        assert!(facilities(FacilityKind::Market) >= 15);
    }

    #[test]
    fn gas_stations_are_fuel_retail_and_not_counted_as_hazchem() {
        for e in registry()
            .enterprises
            .iter()
            .filter(|e| e.flags.contains(&HazardFlag::GasStation))
        {
            assert_eq!(
                (e.industry_section.as_str(), e.industry_division.as_deref()),
                ("F", Some("52"))
            );
            assert!(!e.flags.iter().any(|f| f.is_hazchem()));
            assert!(
                e.name.ends_with("加油站") || e.name.contains("加油站"),
                "{}",
                e.name
            );
        }
    }

    #[test]
    fn metallurgy_is_only_in_divisions_31_to_33() {
        for e in registry()
            .enterprises
            .iter()
            .filter(|e| e.flags.contains(&HazardFlag::Metallurgy))
        {
            let d = e.industry_division.as_deref().unwrap();
            assert!(["31", "32", "33"].contains(&d), "{} {d}", e.name);
        }
    }

    #[test]
    fn warehousing_firms_are_in_transport_and_storage() {
        for e in registry()
            .enterprises
            .iter()
            .filter(|e| e.flags.contains(&HazardFlag::Warehousing))
        {
            assert_eq!(e.industry_section, "G");
        }
    }

    #[test]
    fn every_industry_pair_is_a_valid_classification() {
        for e in &registry().enterprises {
            industry::check(&e.industry_section, e.industry_division.as_deref()).unwrap();
        }
    }

    #[test]
    fn credit_codes_are_valid_distinct_and_registered_in_wuqing() {
        let mut seen = HashSet::new();
        for e in &registry().enterprises {
            let code = CreditCode::parse(&e.credit_code).unwrap();
            assert_eq!(code.division_code(), "120114");
            assert!(
                seen.insert(e.credit_code.clone()),
                "duplicate {}",
                e.credit_code
            );
        }
    }

    #[test]
    fn enterprise_and_facility_names_are_distinct() {
        let r = registry();
        let names: HashSet<&str> = r.enterprises.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names.len(), r.enterprises.len());
        let f: HashSet<&str> = r.facilities.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(f.len(), r.facilities.len());
    }

    #[test]
    fn everything_is_located_inside_its_own_town() {
        let r = registry();
        let mut cells: HashMap<&str, MultiPolygon<f64>> = HashMap::new();
        for u in &units()[1..] {
            cells.insert(u.code.as_str(), geometry_of(&u.code));
        }
        let located = r
            .enterprises
            .iter()
            .map(|e| (&e.name, &e.town_code, e.lon, e.lat))
            .chain(
                r.facilities
                    .iter()
                    .map(|f| (&f.name, &f.town_code, f.lon, f.lat)),
            );
        for (name, town, lon, lat) in located {
            let p = Point::new(lon.unwrap(), lat.unwrap());
            assert!(
                contains_point(&cells[town.as_str()], &p),
                "{name} not in {town}"
            );
        }
    }

    #[test]
    fn people_and_contacts_look_real() {
        for e in &registry().enterprises {
            assert_eq!(e.safety_phone.len(), 11);
            assert!(e.safety_phone.starts_with('1'));
            assert!(('3'..='9').contains(&e.safety_phone.chars().nth(1).unwrap()));
            assert!(e.safety_phone.chars().all(|c| c.is_ascii_digit()));
            let n = e.legal_rep.chars().count();
            assert!((2..=3).contains(&n), "{}", e.legal_rep);
            assert!(e.address.starts_with("天津市武清区") && e.address.ends_with('号'));
            let staff = e.staff_count.unwrap();
            match e.scale {
                Scale::Above => assert!(staff >= 60),
                Scale::Below => assert!(staff <= 80),
            }
        }
    }

    #[test]
    fn parks_and_streets_have_more_enterprises_per_unit_than_towns() {
        let r = registry();
        let mut per: HashMap<&str, usize> = HashMap::new();
        for e in &r.enterprises {
            *per.entry(e.town_code.as_str()).or_default() += 1;
        }
        let mean = |k: UnitKind| {
            let us: Vec<_> = units()[1..].iter().filter(|u| u.kind == k).collect();
            us.iter()
                .map(|u| per.get(u.code.as_str()).copied().unwrap_or(0))
                .sum::<usize>() as f64
                / us.len() as f64
        };
        assert!(mean(UnitKind::Park) > mean(UnitKind::Town));
        assert!(mean(UnitKind::Street) > mean(UnitKind::Town));
    }

    #[test]
    fn the_same_seed_gives_the_same_registry_and_another_seed_does_not() {
        let again = demo_registry(42, units());
        assert_eq!(&again, registry());
        let other = demo_registry(43, units());
        assert_ne!(other.enterprises[0], registry().enterprises[0]);
    }

    #[test]
    fn no_township_units_gives_an_empty_registry() {
        let r = demo_registry(1, &units()[..1]);
        assert!(r.enterprises.is_empty() && r.facilities.is_empty());
    }
}
