//! Alarms as the API shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{Escalation, Status};
use crate::monitor::alarm::{AlarmKind, Colour, Severity};

/// One alarm: what was raised, whether its condition still holds, and how people handled it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Alarm {
    pub id: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub town_code: String,
    /// The enterprise's location (WGS84).
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// `null` for an enterprise-offline alarm, or once the sensor was deleted.
    pub sensor_id: Option<String>,
    pub sensor_code: Option<String>,
    pub sensor_name: Option<String>,
    pub sensor_kind: Option<String>,
    pub unit_of_measure: Option<String>,
    /// `HH`, `H`, `L`, `LL`, `offline`, `sensor_fault` or `enterprise_offline`.
    #[schema(value_type = String)]
    pub kind: AlarmKind,
    #[schema(value_type = String)]
    pub severity: Severity,
    /// The colour on the one-map: `red`, `orange`, `yellow`, `blue`.
    #[schema(value_type = String)]
    pub colour: Colour,
    /// The threshold crossed, for level alarms.
    pub threshold: Option<f64>,
    pub raised_at: String,
    pub raised_value: Option<f64>,
    /// Whether the condition still holds.
    pub active: bool,
    pub cleared_at: Option<String>,
    pub cleared_value: Option<f64>,
    pub status: Status,
    pub acknowledged_at: Option<String>,
    /// Display name of who acknowledged it.
    pub acknowledged_by: Option<String>,
    pub ack_note: Option<String>,
    pub disposed_at: Option<String>,
    pub disposed_by: Option<String>,
    pub dispose_cause: Option<String>,
    pub dispose_measures: Option<String>,
    pub dispose_note: Option<String>,
    pub assignee_id: Option<String>,
    pub assignee_name: Option<String>,
    /// Who the alarm has been raised to for want of acknowledgement.
    pub escalation: Escalation,
    pub escalated_at: Option<String>,
    pub updated_at: String,
    /// The hidden danger created from this alarm, if any.
    pub hidden_danger_id: Option<String>,
}

/// One step in an alarm's life.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TimelineEntry {
    pub at: String,
    /// `raised`, `cleared`, `acknowledged`, `disposed`, `assigned` or `escalated`.
    pub action: String,
    /// Display name of the person; `null` for the system.
    pub actor: Option<String>,
    /// Action details: the value for raised/cleared, `{"to"}` for escalated, the note …
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

/// An alarm with its timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlarmDetail {
    #[serde(flatten)]
    pub alarm: Alarm,
    pub timeline: Vec<TimelineEntry>,
}

/// The live event sent for every change of an alarm (`event: alarm`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlarmChange {
    /// `raised`, `cleared`, `acknowledged`, `disposed`, `assigned` or `escalated`.
    pub action: String,
    pub alarm: Alarm,
}
