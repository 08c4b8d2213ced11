//! Hazard-source units as the API and the store see them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use super::gb18218::{CategoryInput, SubstanceInput};

/// A production unit (生产单元) or a storage unit (储存单元: a tank farm within its dike,
/// a warehouse within its building).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HazardUnitKind {
    Production,
    Storage,
}

impl HazardUnitKind {
    pub fn key(self) -> &'static str {
        match self {
            HazardUnitKind::Production => "production",
            HazardUnitKind::Storage => "storage",
        }
    }
    pub fn parse(s: &str) -> Option<HazardUnitKind> {
        match s {
            "production" => Some(HazardUnitKind::Production),
            "storage" => Some(HazardUnitKind::Storage),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EquipmentKind {
    Tank,
    Reactor,
    Warehouse,
    Pipeline,
    Other,
}

impl EquipmentKind {
    pub fn key(self) -> &'static str {
        match self {
            EquipmentKind::Tank => "tank",
            EquipmentKind::Reactor => "reactor",
            EquipmentKind::Warehouse => "warehouse",
            EquipmentKind::Pipeline => "pipeline",
            EquipmentKind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<EquipmentKind> {
        Some(match s {
            "tank" => EquipmentKind::Tank,
            "reactor" => EquipmentKind::Reactor,
            "warehouse" => EquipmentKind::Warehouse,
            "pipeline" => EquipmentKind::Pipeline,
            "other" => EquipmentKind::Other,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EquipmentInput {
    /// Keep the id of existing equipment when editing, so its sensors stay attached.
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    pub kind: EquipmentKind,
    /// Free text, e.g. `1000 m³`.
    #[serde(default)]
    pub capacity: String,
}

/// The editable fields of a hazard-source unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HazardUnitInput {
    pub enterprise_id: String,
    pub name: String,
    pub kind: HazardUnitKind,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub lat: Option<f64>,
    /// Permanent residents within 500 m of the plant boundary (GB 18218 Table 5).
    #[serde(default)]
    pub exposed_population: i64,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub substances: Vec<SubstanceInput>,
    #[serde(default)]
    pub equipment: Vec<EquipmentInput>,
}
