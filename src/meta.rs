//! `GET /meta`: reference lists the UI needs (roles, flags, industries) and the caller's
//! capabilities, so the UI never hard-codes what the server decides.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::app::AppState;
use crate::auth::{CurrentUser, Permission, Role};
use crate::dualprev::rules;
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
    /// May create, edit and assess risk points and their check tasks in scope.
    pub can_write_risk: bool,
    /// May report hidden dangers and record checks in scope.
    pub can_report_hidden_dangers: bool,
    /// May file the daily safety commitment of their enterprise.
    pub can_file_commitment: bool,
    /// May draft, edit and submit warnings.
    pub can_compose_warning: bool,
    /// May approve (签发), publish and cancel warnings, import CAP and relay imports.
    pub can_approve_warning: bool,
    /// May acknowledge relayed warnings and report onward dissemination.
    pub can_relay_warning: bool,
    pub can_manage_subscribers: bool,
    /// Hidden-danger actions this role may ever take (`rectify`, `submit`, `accept`, `reject`,
    /// `close`, `list`), for a general and for a major one; the state decides the rest.
    pub hidden_danger_actions: HiddenDangerActions,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HiddenDangerActions {
    pub general: Vec<String>,
    pub major: Vec<String>,
}

/// Reference lists of dual prevention, and the colour bands in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct DualPrevMeta {
    pub hidden_danger_sources: Vec<Label>,
    pub hidden_danger_categories: Vec<Label>,
    /// GB 6441-1986 accident types, keyed by code.
    pub accident_types: Vec<Label>,
    pub measure_categories: Vec<Label>,
    /// The eight special operations of GB 30871-2022.
    pub special_operations: Vec<Label>,
    pub bands: crate::dualprev::rules::Bands,
    /// `HH:MM`, Asia/Shanghai.
    pub commitment_deadline: String,
    pub photo_max_bytes: usize,
}

/// A warning level with its names and CAP severity.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarningLevel {
    pub key: String,
    pub zh: String,
    pub en: String,
    /// I (red) … IV (blue).
    pub grade: String,
    pub severity: String,
}

/// Reference lists of early warning.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarningMeta {
    pub event_types: Vec<crate::warning::model::EventType>,
    /// Most severe first.
    pub levels: Vec<WarningLevel>,
    pub statuses: Vec<String>,
    pub urgencies: Vec<String>,
    pub certainties: Vec<String>,
    pub response_types: Vec<String>,
    /// How towns pass a warning on.
    pub relay_channels: Vec<String>,
    pub relay_ack_minutes: i64,
    /// Public coverage target (0.9).
    pub coverage_target: f64,
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
    pub dualprev: DualPrevMeta,
    pub warning: WarningMeta,
    pub capabilities: Capabilities,
}

fn labels(list: &[(&str, &str, &str)]) -> Vec<Label> {
    list.iter().map(|(k, zh, en)| label(k, zh, en)).collect()
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
        dualprev: DualPrevMeta {
            hidden_danger_sources: labels(&rules::SOURCES),
            hidden_danger_categories: labels(&rules::CATEGORIES),
            accident_types: labels(&rules::ACCIDENT_TYPES),
            measure_categories: labels(&rules::MEASURE_CATEGORIES),
            special_operations: labels(&rules::SPECIAL_OPERATIONS),
            bands: state.settings.dualprev.bands(),
            commitment_deadline: state.settings.dualprev.commitment_deadline.clone(),
            photo_max_bytes: state.settings.dualprev.photo_max_bytes,
        },
        warning: {
            use crate::warning::model as wm;
            let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            WarningMeta {
                event_types: wm::EVENT_TYPES.to_vec(),
                levels: crate::colour::Colour::ALL
                    .into_iter()
                    .rev()
                    .map(|c| WarningLevel {
                        key: c.key().into(),
                        zh: wm::level_zh(c).into(),
                        en: wm::level_en(c).into(),
                        grade: wm::grade(c).into(),
                        severity: wm::severity(c).into(),
                    })
                    .collect(),
                statuses: strings(wm::COMPOSE_STATUSES),
                urgencies: strings(wm::CAP_URGENCIES),
                certainties: strings(wm::CAP_CERTAINTIES),
                response_types: strings(wm::CAP_RESPONSE_TYPES),
                relay_channels: strings(wm::RELAY_CHANNELS),
                relay_ack_minutes: state.settings.warning.relay_ack_minutes,
                coverage_target: wm::COVERAGE_TARGET,
            }
        },
        capabilities: Capabilities {
            can_compose_warning: user.role.has(Permission::WarningCompose),
            can_approve_warning: user.role.has(Permission::WarningApprove),
            can_relay_warning: user.role.has(Permission::WarningRelay),
            can_manage_subscribers: user.role.has(Permission::SubscriberManage),
            can_edit_registry: user.role.has(Permission::RegistryWrite)
                && user.role != Role::Enterprise,
            can_edit_hazard_sources: user.role.has(Permission::RegistryWrite),
            can_manage_users: user.role.has(Permission::ManageUsers),
            can_read_audit: user.role.has(Permission::AuditRead),
            can_replace_boundaries: user.role.has(Permission::BoundariesWrite),
            can_handle_alarms: user.role.has(Permission::AlarmHandle),
            can_write_risk: user.role.has(Permission::RiskWrite),
            can_report_hidden_dangers: user.role.has(Permission::HiddenDangerReport),
            can_file_commitment: user.role.has(Permission::CommitmentFile),
            hidden_danger_actions: HiddenDangerActions {
                general: allowed_actions(user.role, rules::HdLevel::General),
                major: allowed_actions(user.role, rules::HdLevel::Major),
            },
        },
    }))
}

fn allowed_actions(role: Role, level: rules::HdLevel) -> Vec<String> {
    rules::HdAction::ALL
        .into_iter()
        .filter(|a| rules::role_may(role, *a, level).is_ok())
        .map(|a| a.key().to_string())
        .collect()
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(meta))
}
