//! `GET /meta`: reference lists the UI needs (roles, flags, industries) and the caller's
//! capabilities, so the UI never hard-codes what the server decides.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::app::AppState;
use crate::auth::{CurrentUser, Permission, Role};
use crate::error::{ApiError, ErrorBody};
use crate::registry::industry;
use crate::registry::model::{FacilityKind, HazardFlag};

#[derive(Debug, Serialize, ToSchema)]
pub struct Label {
    pub key: String,
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DivisionLabel {
    pub code: String,
    pub zh: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IndustrySection {
    pub section: String,
    pub zh: String,
    pub en: String,
    pub divisions: Vec<DivisionLabel>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HazardCategory {
    /// `J1`–`J5`, `W1.1`–`W11`.
    pub symbol: String,
    pub group: String,
    pub category_zh: String,
    pub description_zh: String,
    pub critical_t: f64,
    pub beta: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct District {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MapMeta {
    /// External MapLibre style, when configured; otherwise the UI's offline basemap is used.
    pub style_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Capabilities {
    pub can_edit_registry: bool,
    /// May create and edit hazard-source units and sensors of the enterprises in scope
    /// (an enterprise user: its own).
    pub can_edit_hazard_sources: bool,
    pub can_manage_users: bool,
    pub can_read_audit: bool,
    pub can_replace_boundaries: bool,
    /// May acknowledge, dispose and assign the monitoring alarms in scope.
    pub can_handle_alarms: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Meta {
    pub district: District,
    pub roles: Vec<Label>,
    pub flags: Vec<Label>,
    pub facility_kinds: Vec<Label>,
    pub scales: Vec<Label>,
    pub industries: Vec<IndustrySection>,
    /// Sensor kinds (`level`, `temperature`, …).
    pub sensor_kinds: Vec<Label>,
    /// GB 18218-2018 Table 2 hazard categories with their critical quantity and β.
    pub hazard_categories: Vec<HazardCategory>,
    pub map: MapMeta,
    pub capabilities: Capabilities,
}

fn label(key: &str, zh: &str, en: &str) -> Label {
    Label {
        key: key.into(),
        zh: zh.into(),
        en: en.into(),
    }
}

/// Reference lists and the caller's capabilities.
#[utoipa::path(get, path = "/meta", tag = "meta", responses((status = 200, body = Meta), (status = 401, body = ErrorBody)))]
async fn meta(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Meta>, ApiError> {
    let district = crate::registry::store::get_unit(&state.db, crate::DISTRICT_CODE).await?;
    Ok(Json(Meta {
        district: District {
            code: crate::DISTRICT_CODE.into(),
            name: district.map(|d| d.name).unwrap_or_else(|| "武清区".into()),
        },
        roles: Role::ALL
            .iter()
            .map(|r| label(r.key(), r.zh(), r.en()))
            .collect(),
        flags: HazardFlag::ALL
            .iter()
            .map(|f| label(f.key(), f.zh(), f.en()))
            .collect(),
        facility_kinds: FacilityKind::ALL
            .iter()
            .map(|k| label(k.key(), k.zh(), k.en()))
            .collect(),
        scales: vec![
            label("above", "规模以上", "Above designated size"),
            label("below", "规模以下", "Below designated size"),
        ],
        industries: industry::sections()
            .iter()
            .map(|s| IndustrySection {
                section: s.letter.to_string(),
                zh: s.zh.to_string(),
                en: s.en.to_string(),
                divisions: industry::divisions_of(s)
                    .map(|d| DivisionLabel {
                        code: d.code.to_string(),
                        zh: d.zh.to_string(),
                    })
                    .collect(),
            })
            .collect(),
        sensor_kinds: crate::monitor::sensors::SensorKind::ALL
            .iter()
            .map(|k| label(k.key(), k.zh(), k.en()))
            .collect(),
        hazard_categories: crate::hazard::gb18218::categories()
            .iter()
            .map(|c| HazardCategory {
                symbol: c.symbol.clone(),
                group: c.group.clone(),
                category_zh: c.category_zh.clone(),
                description_zh: c.description_zh.clone(),
                critical_t: c.critical_t,
                beta: c.beta,
            })
            .collect(),
        map: MapMeta {
            style_url: state.settings.map.style_url.clone(),
        },
        capabilities: Capabilities {
            can_edit_registry: user.role.has(Permission::RegistryWrite)
                && user.role != Role::Enterprise,
            can_edit_hazard_sources: user.role.has(Permission::RegistryWrite),
            can_manage_users: user.role.has(Permission::ManageUsers),
            can_read_audit: user.role.has(Permission::AuditRead),
            can_replace_boundaries: user.role.has(Permission::BoundariesWrite),
            can_handle_alarms: user.role.has(Permission::AlarmHandle),
        },
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(meta))
}
