//! Pure model of early warnings: event types and their CAP mappings, levels, areas, states and
//! the workflow rule of who may take which step. No I/O; see `docs/warnings.md`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;
use crate::colour::Colour;

/// One warning event type with its CAP category and default urgency and certainty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct EventType {
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// CAP `category`.
    pub category: &'static str,
    pub urgency: &'static str,
    pub certainty: &'static str,
}

const fn et(
    key: &'static str,
    zh: &'static str,
    en: &'static str,
    category: &'static str,
    urgency: &'static str,
    certainty: &'static str,
) -> EventType {
    EventType {
        key,
        zh,
        en,
        category,
        urgency,
        certainty,
    }
}

/// The documented list (meteorological, flood, geological, earthquake, forest fire,
/// accidents, public health, other). The GB/T 35561 codes are not verified, so the CAP
/// `eventCode` carries our key rather than a code we cannot vouch for.
pub const EVENT_TYPES: &[EventType] = &[
    et(
        "rainstorm",
        "暴雨",
        "Rainstorm",
        "Met",
        "Expected",
        "Likely",
    ),
    et("blizzard", "暴雪", "Blizzard", "Met", "Expected", "Likely"),
    et(
        "cold_wave",
        "寒潮",
        "Cold wave",
        "Met",
        "Expected",
        "Likely",
    ),
    et("gale", "大风", "Gale", "Met", "Expected", "Likely"),
    et("heatwave", "高温", "Heatwave", "Met", "Expected", "Likely"),
    et("fog", "大雾", "Fog", "Met", "Expected", "Likely"),
    et("haze", "霾", "Haze", "Met", "Expected", "Likely"),
    et(
        "thunderstorm_hail",
        "雷电冰雹",
        "Thunderstorm and hail",
        "Met",
        "Immediate",
        "Likely",
    ),
    et("drought", "干旱", "Drought", "Met", "Future", "Likely"),
    et("flood", "洪水", "Flood", "Met", "Expected", "Likely"),
    et(
        "geological",
        "地质灾害",
        "Geological hazard",
        "Geo",
        "Expected",
        "Possible",
    ),
    et(
        "land_subsidence",
        "地面沉降",
        "Land subsidence",
        "Geo",
        "Future",
        "Possible",
    ),
    et(
        "earthquake",
        "地震",
        "Earthquake",
        "Geo",
        "Immediate",
        "Observed",
    ),
    et(
        "forest_fire",
        "森林火灾",
        "Forest fire",
        "Fire",
        "Immediate",
        "Likely",
    ),
    et(
        "hazchem",
        "危险化学品事故",
        "Hazardous chemical accident",
        "CBRNE",
        "Immediate",
        "Observed",
    ),
    et(
        "production_safety",
        "生产安全事故",
        "Production safety accident",
        "Safety",
        "Immediate",
        "Observed",
    ),
    et(
        "public_health",
        "公共卫生事件",
        "Public health event",
        "Health",
        "Expected",
        "Likely",
    ),
    et("other", "其他", "Other", "Other", "Unknown", "Unknown"),
];

pub fn event_type(key: &str) -> Option<&'static EventType> {
    EVENT_TYPES.iter().find(|t| t.key == key.trim())
}

/// Our event type for an issuer's event name: the first of our types whose Chinese or English
/// name it contains (暴雨蓝色预警 → rainstorm), else by CAP category, else `other`.
pub fn classify_event(event: &str, category: Option<&str>) -> &'static str {
    let lower = event.to_lowercase();
    if let Some(t) = EVENT_TYPES.iter().find(|t| {
        t.key != "other" && (event.contains(t.zh) || lower.contains(&t.en.to_lowercase()))
    }) {
        return t.key;
    }
    // Common names that differ from ours.
    let aliases: &[(&str, &str)] = &[
        ("雷电", "thunderstorm_hail"),
        ("冰雹", "thunderstorm_hail"),
        ("雷雨", "thunderstorm_hail"),
        ("寒潮", "cold_wave"),
        ("降温", "cold_wave"),
        ("沙尘", "gale"),
        ("台风", "gale"),
        ("道路结冰", "blizzard"),
        ("霜冻", "cold_wave"),
        ("山洪", "flood"),
        ("内涝", "flood"),
        ("地质", "geological"),
        ("滑坡", "geological"),
        ("泥石流", "geological"),
        ("火险", "forest_fire"),
        ("火灾", "forest_fire"),
        ("化学", "hazchem"),
        ("泄漏", "hazchem"),
        ("疫情", "public_health"),
        ("thunder", "thunderstorm_hail"),
        ("storm", "rainstorm"),
        ("rain", "rainstorm"),
        ("snow", "blizzard"),
        ("wind", "gale"),
        ("heat", "heatwave"),
        ("chemical", "hazchem"),
    ];
    if let Some((_, k)) = aliases
        .iter()
        .find(|(a, _)| event.contains(a) || lower.contains(a))
    {
        return k;
    }
    match category {
        Some("Health") => "public_health",
        Some("Fire") => "forest_fire",
        Some("CBRNE") => "hazchem",
        Some("Safety") => "production_safety",
        _ => "other",
    }
}

pub const CAP_STATUSES: &[&str] = &["Actual", "Exercise", "System", "Test", "Draft"];
pub const CAP_URGENCIES: &[&str] = &["Immediate", "Expected", "Future", "Past", "Unknown"];
pub const CAP_SEVERITIES: &[&str] = &["Extreme", "Severe", "Moderate", "Minor", "Unknown"];
pub const CAP_CERTAINTIES: &[&str] = &["Observed", "Likely", "Possible", "Unlikely", "Unknown"];
pub const CAP_CATEGORIES: &[&str] = &[
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
];
pub const CAP_RESPONSE_TYPES: &[&str] = &[
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None",
];
pub const CAP_MSG_TYPES: &[&str] = &["Alert", "Update", "Cancel", "Ack", "Error"];
pub const CAP_SCOPES: &[&str] = &["Public", "Restricted", "Private"];

/// The statuses a local warning may be composed with (`System` and `Draft` are for
/// machines, not for people).
pub const COMPOSE_STATUSES: &[&str] = &["Actual", "Exercise", "Test"];

/// How a town reports it passed a warning on.
pub const RELAY_CHANNELS: &[&str] = &["loudspeaker", "sms", "wechat", "door_to_door", "other"];

/// The plan's KPI: public coverage of disaster warnings ≥ 90%.
pub const COVERAGE_TARGET: f64 = 0.9;

/// Warning levels (预警级别) and their CAP severity: red I Extreme, orange II Severe, yellow III
/// Moderate, blue IV Minor (STANDARDS.md §4).
pub fn severity(level: Colour) -> &'static str {
    match level {
        Colour::Red => "Extreme",
        Colour::Orange => "Severe",
        Colour::Yellow => "Moderate",
        Colour::Blue => "Minor",
    }
}

/// The level a CAP severity maps back to (imports without a colour parameter).
pub fn level_from_severity(severity: &str) -> Option<Colour> {
    match severity {
        "Extreme" => Some(Colour::Red),
        "Severe" => Some(Colour::Orange),
        "Moderate" => Some(Colour::Yellow),
        "Minor" => Some(Colour::Blue),
        _ => None,
    }
}

/// Roman grade I (red) … IV (blue).
pub fn grade(level: Colour) -> &'static str {
    match level {
        Colour::Red => "I",
        Colour::Orange => "II",
        Colour::Yellow => "III",
        Colour::Blue => "IV",
    }
}

pub fn level_zh(level: Colour) -> &'static str {
    match level {
        Colour::Red => "红色",
        Colour::Orange => "橙色",
        Colour::Yellow => "黄色",
        Colour::Blue => "蓝色",
    }
}

pub fn level_en(level: Colour) -> &'static str {
    match level {
        Colour::Red => "Red",
        Colour::Orange => "Orange",
        Colour::Yellow => "Yellow",
        Colour::Blue => "Blue",
    }
}

/// The level named by a colour word in Chinese or English (`红色`, `红`, `Red`, `red`).
pub fn level_from_name(name: &str) -> Option<Colour> {
    let n = name.trim();
    Colour::ALL.into_iter().find(|&c| {
        n == level_zh(c)
            || n.eq_ignore_ascii_case(level_en(c))
            || level_zh(c).starts_with(n) && !n.is_empty()
            || n.eq_ignore_ascii_case(grade(c))
    })
}

/// The target area as the composer gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Area {
    /// Whole towns chosen on the map.
    Towns { town_codes: Vec<String> },
    /// A drawn polygon, `[lon, lat]` vertices (closed or not).
    Polygon { polygon: Vec<[f64; 2]> },
    /// A drawn circle.
    Circle { center: [f64; 2], radius_km: f64 },
    /// The areas of an imported CAP message (kept in its document).
    Imported,
}

/// The wrong part of an area, for a 422 naming the field.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaError {
    pub field: &'static str,
    pub message: String,
}

fn valid_lon_lat(p: [f64; 2]) -> bool {
    p[0].is_finite()
        && p[1].is_finite()
        && (-180.0..=180.0).contains(&p[0])
        && (-90.0..=90.0).contains(&p[1])
}

impl Area {
    /// Checks the shape (not whether towns exist: that needs the registry).
    pub fn validate(&self) -> Result<(), AreaError> {
        match self {
            Area::Towns { town_codes } => {
                if town_codes.is_empty() {
                    return Err(AreaError {
                        field: "area.town_codes",
                        message: "choose at least one town".into(),
                    });
                }
            }
            Area::Polygon { polygon } => {
                if polygon.iter().any(|p| !valid_lon_lat(*p)) {
                    return Err(AreaError {
                        field: "area.polygon",
                        message: "every vertex must be [lon, lat] in WGS84 degrees".into(),
                    });
                }
                if self.ring().map_or(0, |r| r.len()) < 4 {
                    return Err(AreaError {
                        field: "area.polygon",
                        message: "a polygon needs at least three distinct vertices".into(),
                    });
                }
            }
            Area::Circle { center, radius_km } => {
                if !valid_lon_lat(*center) {
                    return Err(AreaError {
                        field: "area.center",
                        message: "the centre must be [lon, lat] in WGS84 degrees".into(),
                    });
                }
                if !(radius_km.is_finite() && *radius_km > 0.0 && *radius_km <= 200.0) {
                    return Err(AreaError {
                        field: "area.radius_km",
                        message: "the radius must be more than 0 and at most 200 km".into(),
                    });
                }
            }
            Area::Imported => {
                return Err(AreaError {
                    field: "area.kind",
                    message: "an area is towns, polygon or circle".into(),
                });
            }
        }
        Ok(())
    }

    /// The polygon's closed ring without repeated consecutive vertices (first = last), as
    /// CAP requires.
    pub fn ring(&self) -> Option<Vec<[f64; 2]>> {
        let Area::Polygon { polygon } = self else {
            return None;
        };
        let mut ring: Vec<[f64; 2]> = Vec::with_capacity(polygon.len() + 1);
        for p in polygon {
            if ring.last() != Some(p) {
                ring.push(*p);
            }
        }
        if ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        if ring.len() < 3 {
            return Some(ring);
        }
        let first = ring[0];
        ring.push(first);
        Some(ring)
    }

    /// The circle as a polygon of `n` vertices (closed), for maps and town intersection.
    /// Uses a local equirectangular approximation: adequate for radii of a district.
    pub fn circle_ring(center: [f64; 2], radius_km: f64, n: usize) -> Vec<[f64; 2]> {
        let lat_rad = center[1].to_radians();
        let dlat = radius_km / 110.574;
        let dlon = radius_km / (111.320 * lat_rad.cos().max(1e-6));
        let mut ring: Vec<[f64; 2]> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                [center[0] + dlon * a.cos(), center[1] + dlat * a.sin()]
            })
            .collect();
        ring.push(ring[0]);
        ring
    }
}

/// What a composer writes: the content of one local CAP message, checked by
/// [`Content::validate`]. The store resolves its towns; `cap::build` turns it into CAP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Content {
    /// CAP status: `Actual`, `Exercise` or `Test`.
    pub status: String,
    /// `public` or `restricted`.
    pub scope: String,
    pub event_type: String,
    pub level: Colour,
    pub urgency: String,
    pub certainty: String,
    pub response_type: Option<String>,
    pub headline: String,
    pub description: String,
    pub instruction: String,
    pub headline_en: Option<String>,
    pub description_en: Option<String>,
    pub instruction_en: Option<String>,
    pub area: Area,
    pub area_desc: String,
    pub effective_at: i64,
    pub onset_at: Option<i64>,
    pub expires_at: i64,
}

/// Longest headline accepted (CAP recommends under 160 characters for SMS).
pub const HEADLINE_MAX_CHARS: usize = 140;

impl Content {
    /// Checks every field; the error names the first wrong one.
    pub fn validate(&self) -> Result<(), AreaError> {
        let bad = |field: &'static str, message: String| Err(AreaError { field, message });
        if !COMPOSE_STATUSES.contains(&self.status.as_str()) {
            return bad(
                "status",
                format!("status is one of {}", COMPOSE_STATUSES.join(", ")),
            );
        }
        if !matches!(self.scope.as_str(), "public" | "restricted") {
            return bad("scope", "scope is public or restricted".into());
        }
        if event_type(&self.event_type).is_none() {
            return bad(
                "event_type",
                format!("unknown event type {:?}", self.event_type),
            );
        }
        if !CAP_URGENCIES.contains(&self.urgency.as_str()) {
            return bad(
                "urgency",
                format!("urgency is one of {}", CAP_URGENCIES.join(", ")),
            );
        }
        if !CAP_CERTAINTIES.contains(&self.certainty.as_str()) {
            return bad(
                "certainty",
                format!("certainty is one of {}", CAP_CERTAINTIES.join(", ")),
            );
        }
        if let Some(r) = &self.response_type
            && !CAP_RESPONSE_TYPES.contains(&r.as_str())
        {
            return bad(
                "response_type",
                format!("response_type is one of {}", CAP_RESPONSE_TYPES.join(", ")),
            );
        }
        if self.headline.trim().is_empty() {
            return bad("headline", "a headline is required".into());
        }
        if self.headline.chars().count() > HEADLINE_MAX_CHARS {
            return bad(
                "headline",
                format!("a headline has at most {HEADLINE_MAX_CHARS} characters"),
            );
        }
        if self.description.trim().is_empty() {
            return bad("description", "a description is required".into());
        }
        if let Some(h) = &self.headline_en
            && h.chars().count() > HEADLINE_MAX_CHARS
        {
            return bad(
                "headline_en",
                format!("a headline has at most {HEADLINE_MAX_CHARS} characters"),
            );
        }
        if self.headline_en.is_none()
            && (self.description_en.is_some() || self.instruction_en.is_some())
        {
            return bad(
                "headline_en",
                "an English text needs an English headline".into(),
            );
        }
        self.area.validate()?;
        if let Some(onset) = self.onset_at
            && onset >= self.expires_at
        {
            return bad("onset_at", "the onset must be before the expiry".into());
        }
        if self.expires_at <= self.effective_at {
            return bad(
                "expires_at",
                "the expiry must be after the effective time".into(),
            );
        }
        Ok(())
    }
}

/// A target town with its boundary, as the store resolves it for CAP areas and maps.
#[derive(Debug, Clone, PartialEq)]
pub struct TownArea {
    pub code: String,
    pub name: String,
    /// Outer rings of the boundary, `[lon, lat]`, closed. Empty when the town has none.
    pub rings: Vec<Vec<[f64; 2]>>,
}

/// Where a warning is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Draft,
    Submitted,
    Approved,
    Published,
    Imported,
    Relayed,
    Superseded,
    Cancelled,
    Expired,
}

impl State {
    pub const ALL: [State; 9] = [
        State::Draft,
        State::Submitted,
        State::Approved,
        State::Published,
        State::Imported,
        State::Relayed,
        State::Superseded,
        State::Cancelled,
        State::Expired,
    ];

    pub fn key(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Submitted => "submitted",
            State::Approved => "approved",
            State::Published => "published",
            State::Imported => "imported",
            State::Relayed => "relayed",
            State::Superseded => "superseded",
            State::Cancelled => "cancelled",
            State::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.key() == s.trim())
    }

    /// Out in the world and not yet replaced, cancelled or expired by the sweep.
    pub fn is_live(self) -> bool {
        matches!(self, State::Published | State::Imported | State::Relayed)
    }

    /// Not yet published: visible only to those who compose or approve.
    pub fn is_unpublished(self) -> bool {
        matches!(self, State::Draft | State::Submitted | State::Approved)
    }
}

/// A step of the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Edit,
    Submit,
    Approve,
    Reject,
    Publish,
    Update,
    Cancel,
    Relay,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Edit,
        Step::Submit,
        Step::Approve,
        Step::Reject,
        Step::Publish,
        Step::Update,
        Step::Cancel,
        Step::Relay,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Step::Edit => "edit",
            Step::Submit => "submit",
            Step::Approve => "approve",
            Step::Reject => "reject",
            Step::Publish => "publish",
            Step::Update => "update",
            Step::Cancel => "cancel",
            Step::Relay => "relay",
        }
    }

    /// The states a step starts from.
    pub fn from_states(self) -> &'static [State] {
        match self {
            Step::Edit | Step::Submit => &[State::Draft],
            Step::Approve | Step::Reject => &[State::Submitted],
            Step::Publish => &[State::Approved],
            Step::Update => &[State::Published],
            Step::Cancel => &[State::Published, State::Imported, State::Relayed],
            Step::Relay => &[State::Imported],
        }
    }

    /// Whether a role may take the step at all (scope is not involved: warnings are
    /// district business).
    pub fn role_may(self, role: Role) -> bool {
        match self {
            Step::Edit | Step::Submit | Step::Update => may_compose(role),
            Step::Approve | Step::Reject | Step::Publish | Step::Cancel | Step::Relay => {
                may_approve(role)
            }
        }
    }
}

pub fn may_compose(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Duty | Role::Supervisor)
}

/// Approving (签发), publishing, cancelling and relaying: the duty officer, the leader, the
/// administrator.
pub fn may_approve(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Duty | Role::Leader)
}

/// Acknowledging a relay and reporting onward dissemination (a town user: own town only).
pub fn may_relay(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Duty | Role::Town)
}

pub fn may_manage_subscribers(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Duty | Role::Town)
}

/// Why a step is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The role may not take this step (403).
    Role(String),
    /// The warning's state does not allow it, or the approver is the submitter (409).
    State(String),
}

/// Whether `role` (user `user_id`) may take `step` on a warning in `state` submitted by
/// `submitted_by`. The four-eyes rule: the approver is never the submitter.
pub fn check_step(
    step: Step,
    state: State,
    role: Role,
    user_id: &str,
    submitted_by: Option<&str>,
) -> Result<(), Refusal> {
    if !step.role_may(role) {
        return Err(Refusal::Role(format!(
            "the {} role may not {} a warning",
            role.key(),
            step.key()
        )));
    }
    if !step.from_states().contains(&state) {
        let from: Vec<&str> = step.from_states().iter().map(|s| s.key()).collect();
        return Err(Refusal::State(format!(
            "a {} warning cannot be {}: only from {}",
            state.key(),
            past(step),
            from.join(" or ")
        )));
    }
    if matches!(step, Step::Approve) && submitted_by == Some(user_id) {
        return Err(Refusal::State(
            "the approver must be another user than the one who submitted it".into(),
        ));
    }
    Ok(())
}

fn past(step: Step) -> &'static str {
    match step {
        Step::Edit => "edited",
        Step::Submit => "submitted",
        Step::Approve => "approved",
        Step::Reject => "rejected",
        Step::Publish => "published",
        Step::Update => "updated",
        Step::Cancel => "cancelled",
        Step::Relay => "relayed",
    }
}

/// The steps `role` may take on a warning now (for the UI's buttons).
pub fn available_steps(
    state: State,
    role: Role,
    user_id: &str,
    submitted_by: Option<&str>,
) -> Vec<Step> {
    Step::ALL
        .into_iter()
        .filter(|&s| check_step(s, state, role, user_id, submitted_by).is_ok())
        .collect()
}

/// Whether a live warning is in force at `now_ms`.
pub fn in_force(state: State, expires_at: i64, now_ms: i64) -> bool {
    state.is_live() && now_ms < expires_at
}

/// Coverage of one town: people reached against the population, capped at 1.
pub fn coverage(people_reached: i64, population: i64) -> Option<f64> {
    if population <= 0 {
        return None;
    }
    Some((people_reached.max(0) as f64 / population as f64).min(1.0))
}

pub fn meets_target(coverage: Option<f64>) -> bool {
    coverage.is_some_and(|c| c + 1e-12 >= COVERAGE_TARGET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_maps_to_cap_values() {
        for t in EVENT_TYPES {
            assert!(CAP_CATEGORIES.contains(&t.category), "{}", t.key);
            assert!(CAP_URGENCIES.contains(&t.urgency), "{}", t.key);
            assert!(CAP_CERTAINTIES.contains(&t.certainty), "{}", t.key);
            assert_eq!(event_type(t.key), Some(t));
        }
        assert_eq!(event_type("tsunami"), None);
    }

    #[test]
    fn levels_map_to_severity_and_back() {
        assert_eq!(severity(Colour::Red), "Extreme");
        assert_eq!(severity(Colour::Orange), "Severe");
        assert_eq!(severity(Colour::Yellow), "Moderate");
        assert_eq!(severity(Colour::Blue), "Minor");
        for c in Colour::ALL {
            assert_eq!(level_from_severity(severity(c)), Some(c));
            assert_eq!(level_from_name(level_zh(c)), Some(c));
            assert_eq!(level_from_name(level_en(c)), Some(c));
            assert_eq!(level_from_name(grade(c)), Some(c));
        }
        assert_eq!(level_from_name("红"), Some(Colour::Red));
        assert_eq!(level_from_name(""), None);
        assert_eq!(level_from_severity("Unknown"), None);
    }

    #[test]
    fn a_polygon_ring_is_closed_and_deduplicated() {
        let a = Area::Polygon {
            polygon: vec![[117.0, 39.4], [117.1, 39.4], [117.1, 39.4], [117.1, 39.5]],
        };
        assert_eq!(a.validate(), Ok(()));
        let r = a.ring().unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(r.first(), r.last());
        let closed = Area::Polygon {
            polygon: vec![[117.0, 39.4], [117.1, 39.4], [117.1, 39.5], [117.0, 39.4]],
        };
        assert_eq!(closed.ring().unwrap().len(), 4);
        let degenerate = Area::Polygon {
            polygon: vec![[117.0, 39.4], [117.1, 39.4], [117.0, 39.4]],
        };
        assert_eq!(degenerate.validate().unwrap_err().field, "area.polygon");
        let outside = Area::Polygon {
            polygon: vec![[217.0, 39.4], [117.1, 39.4], [117.1, 39.5]],
        };
        assert_eq!(outside.validate().unwrap_err().field, "area.polygon");
    }

    #[test]
    fn circles_and_towns_are_checked() {
        assert_eq!(
            Area::Circle {
                center: [117.0, 39.4],
                radius_km: 0.0
            }
            .validate()
            .unwrap_err()
            .field,
            "area.radius_km"
        );
        assert_eq!(
            Area::Towns { town_codes: vec![] }
                .validate()
                .unwrap_err()
                .field,
            "area.town_codes"
        );
        let ring = Area::circle_ring([117.0, 39.4], 10.0, 32);
        assert_eq!(ring.len(), 33);
        assert_eq!(ring.first(), ring.last());
        // 10 km north is about 0.0904 degrees of latitude.
        let north = ring.iter().map(|p| p[1]).fold(f64::MIN, f64::max);
        assert!((north - 39.4 - 0.0904).abs() < 0.001, "{north}");
    }

    #[test]
    fn the_workflow_refuses_by_role_then_state_then_four_eyes() {
        use Role::*;
        assert_eq!(
            check_step(Step::Submit, State::Draft, Duty, "u1", None),
            Ok(())
        );
        assert!(matches!(
            check_step(Step::Submit, State::Draft, Town, "u1", None),
            Err(Refusal::Role(_))
        ));
        assert!(matches!(
            check_step(
                Step::Approve,
                State::Submitted,
                Supervisor,
                "u2",
                Some("u1")
            ),
            Err(Refusal::Role(_))
        ));
        assert!(matches!(
            check_step(Step::Approve, State::Submitted, Duty, "u1", Some("u1")),
            Err(Refusal::State(_))
        ));
        assert_eq!(
            check_step(Step::Approve, State::Submitted, Leader, "u2", Some("u1")),
            Ok(())
        );
        assert!(matches!(
            check_step(Step::Publish, State::Submitted, Duty, "u2", Some("u1")),
            Err(Refusal::State(_))
        ));
        assert_eq!(
            check_step(Step::Cancel, State::Imported, Duty, "u2", None),
            Ok(())
        );
        assert!(matches!(
            check_step(Step::Relay, State::Published, Duty, "u2", None),
            Err(Refusal::State(_))
        ));
        assert_eq!(
            available_steps(State::Draft, Duty, "u1", None),
            vec![Step::Edit, Step::Submit]
        );
        assert_eq!(
            available_steps(State::Submitted, Duty, "u1", Some("u1")),
            vec![Step::Reject]
        );
        assert!(available_steps(State::Published, Enterprise, "u1", None).is_empty());
    }

    #[test]
    fn coverage_is_capped_and_compared_with_the_target() {
        assert_eq!(coverage(900, 1000), Some(0.9));
        assert!(meets_target(coverage(900, 1000)));
        assert!(!meets_target(coverage(899, 1000)));
        assert_eq!(coverage(2000, 1000), Some(1.0));
        assert_eq!(coverage(5, 0), None);
        assert!(!meets_target(None));
    }
}
