//! Registry records as the API and the stores see them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The kind of an administrative unit. Township-level units are streets (街道),
/// towns (镇) and development zones/parks (园区) with township-level codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    District,
    Street,
    Town,
    Park,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::District => "district",
            UnitKind::Street => "street",
            UnitKind::Town => "town",
            UnitKind::Park => "park",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "district" => UnitKind::District,
            "street" => UnitKind::Street,
            "town" => UnitKind::Town,
            "park" => UnitKind::Park,
            _ => return None,
        })
    }
}

/// An administrative unit to be stored: the district or one of its township-level units.
/// `geometry` is a GeoJSON geometry (Polygon or MultiPolygon) in WGS84.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminUnitSeed {
    /// 9-digit township code (e.g. `120114001`) or the 6-digit district code `120114`.
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    /// `None` for the district itself.
    pub parent_code: Option<String>,
    pub population: Option<i64>,
    /// True when the population is generated, not official.
    pub population_approximate: bool,
    pub geometry: Option<serde_json::Value>,
    /// True when the geometry is generated (e.g. a Voronoi cell), not surveyed.
    pub geometry_approximate: bool,
    /// Seat (government location) as [lon, lat] WGS84.
    pub seat: Option<[f64; 2]>,
    /// True when the seat was placed by the generator, not taken from a source.
    pub seat_approximate: bool,
    /// Where the data came from, for the record.
    pub source: String,
}

/// Hazard flags of an enterprise. The keys are the stable API values.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HazardFlag {
    HazchemProduction,
    HazchemStorage,
    HazchemUse,
    HazchemTrading,
    CombustibleDust,
    AmmoniaRefrigeration,
    ConfinedSpace,
    Metallurgy,
    Warehousing,
    GasStation,
}

impl HazardFlag {
    pub const ALL: [HazardFlag; 10] = [
        HazardFlag::HazchemProduction,
        HazardFlag::HazchemStorage,
        HazardFlag::HazchemUse,
        HazardFlag::HazchemTrading,
        HazardFlag::CombustibleDust,
        HazardFlag::AmmoniaRefrigeration,
        HazardFlag::ConfinedSpace,
        HazardFlag::Metallurgy,
        HazardFlag::Warehousing,
        HazardFlag::GasStation,
    ];

    pub fn key(self) -> &'static str {
        match self {
            HazardFlag::HazchemProduction => "hazchem_production",
            HazardFlag::HazchemStorage => "hazchem_storage",
            HazardFlag::HazchemUse => "hazchem_use",
            HazardFlag::HazchemTrading => "hazchem_trading",
            HazardFlag::CombustibleDust => "combustible_dust",
            HazardFlag::AmmoniaRefrigeration => "ammonia_refrigeration",
            HazardFlag::ConfinedSpace => "confined_space",
            HazardFlag::Metallurgy => "metallurgy",
            HazardFlag::Warehousing => "warehousing",
            HazardFlag::GasStation => "gas_station",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            HazardFlag::HazchemProduction => "危化品生产",
            HazardFlag::HazchemStorage => "危化品储存",
            HazardFlag::HazchemUse => "危化品使用",
            HazardFlag::HazchemTrading => "危化品经营",
            HazardFlag::CombustibleDust => "粉尘涉爆",
            HazardFlag::AmmoniaRefrigeration => "涉氨制冷",
            HazardFlag::ConfinedSpace => "有限空间",
            HazardFlag::Metallurgy => "冶金",
            HazardFlag::Warehousing => "仓储物流",
            HazardFlag::GasStation => "加油加气站",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            HazardFlag::HazchemProduction => "Hazardous chemicals: production",
            HazardFlag::HazchemStorage => "Hazardous chemicals: storage",
            HazardFlag::HazchemUse => "Hazardous chemicals: use",
            HazardFlag::HazchemTrading => "Hazardous chemicals: trading",
            HazardFlag::CombustibleDust => "Combustible dust",
            HazardFlag::AmmoniaRefrigeration => "Ammonia refrigeration",
            HazardFlag::ConfinedSpace => "Confined space",
            HazardFlag::Metallurgy => "Metallurgy",
            HazardFlag::Warehousing => "Warehousing / logistics",
            HazardFlag::GasStation => "Gas station",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        HazardFlag::ALL
            .into_iter()
            .find(|f| f.key() == s || f.zh() == s)
    }

    /// Any of the four hazardous-chemical flags.
    pub fn is_hazchem(self) -> bool {
        matches!(
            self,
            HazardFlag::HazchemProduction
                | HazardFlag::HazchemStorage
                | HazardFlag::HazchemUse
                | HazardFlag::HazchemTrading
        )
    }
}

/// Enterprise scale: above or below designated size (规模以上/规模以下).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    Above,
    Below,
}

impl Scale {
    pub fn as_str(self) -> &'static str {
        match self {
            Scale::Above => "above",
            Scale::Below => "below",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "above" | "规上" | "规模以上" => Some(Scale::Above),
            "below" | "规下" | "规模以下" => Some(Scale::Below),
            _ => None,
        }
    }
}

/// The editable fields of an enterprise, as created or replaced through the API,
/// an import row or the demo generator. Validation lives in `registry::rules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EnterpriseInput {
    /// Unified social credit code (统一社会信用代码), 18 characters, check digit validated.
    pub credit_code: String,
    pub name: String,
    /// Township code, e.g. `120114001`.
    pub town_code: String,
    #[serde(default)]
    pub address: String,
    /// WGS84 longitude.
    pub lon: Option<f64>,
    /// WGS84 latitude.
    pub lat: Option<f64>,
    /// GB/T 4754-2017 section letter, A–T.
    pub industry_section: String,
    /// GB/T 4754-2017 division (2 digits), optional; must belong to the section.
    #[serde(default)]
    pub industry_division: Option<String>,
    pub scale: Scale,
    #[serde(default)]
    pub staff_count: Option<i64>,
    #[serde(default)]
    pub legal_rep: String,
    #[serde(default)]
    pub safety_manager: String,
    #[serde(default)]
    pub safety_phone: String,
    #[serde(default)]
    pub flags: Vec<HazardFlag>,
}

/// Kinds of public facility that matter in an emergency (people to protect or evacuate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FacilityKind {
    School,
    Hospital,
    ElderlyHome,
    Market,
}

impl FacilityKind {
    pub const ALL: [FacilityKind; 4] = [
        FacilityKind::School,
        FacilityKind::Hospital,
        FacilityKind::ElderlyHome,
        FacilityKind::Market,
    ];
    pub fn key(self) -> &'static str {
        match self {
            FacilityKind::School => "school",
            FacilityKind::Hospital => "hospital",
            FacilityKind::ElderlyHome => "elderly_home",
            FacilityKind::Market => "market",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            FacilityKind::School => "学校",
            FacilityKind::Hospital => "医院",
            FacilityKind::ElderlyHome => "养老机构",
            FacilityKind::Market => "商场市场",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            FacilityKind::School => "School",
            FacilityKind::Hospital => "Hospital",
            FacilityKind::ElderlyHome => "Elderly home",
            FacilityKind::Market => "Market",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        FacilityKind::ALL
            .into_iter()
            .find(|k| k.key() == s || k.zh() == s)
    }
}

/// The editable fields of a facility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FacilityInput {
    pub name: String,
    pub kind: FacilityKind,
    pub town_code: String,
    #[serde(default)]
    pub address: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Number of people usually present (pupils and staff, beds, residents, ...).
    #[serde(default)]
    pub people: Option<i64>,
}
