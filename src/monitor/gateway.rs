//! What a gateway may ask of Yingji with its ingest token: `GET /ingest/sensors`, the sensors
//! of its enterprise with their codes, ranges and alarm settings. A gateway (or the
//! `yingji simulate` test gateway) configures itself from it instead of from a spreadsheet.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::sensors::{self, SensorFilter, SensorKind};
use crate::app::AppState;
use crate::auth::Scope;
use crate::error::{ApiError, ErrorBody};

/// A sensor as its gateway needs to know it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GatewaySensor {
    /// What the gateway sends as `sensor` in its readings.
    pub code: String,
    pub name: String,
    pub kind: SensorKind,
    /// e.g. `m`, `℃`, `MPa`, `%LEL`, `ppm`.
    pub unit_of_measure: String,
    /// Measuring range: values outside it are stored but count as a sensor fault.
    pub range_min: f64,
    pub range_max: f64,
    pub ll: Option<f64>,
    pub l: Option<f64>,
    pub h: Option<f64>,
    pub hh: Option<f64>,
    pub deadband: f64,
    pub on_delay_s: f64,
    pub off_delay_s: f64,
    /// Yingji raises an offline alarm when the sensor has sent nothing for this long: the
    /// gateway must report more often.
    pub offline_timeout_s: f64,
}

/// The token's enterprise and its sensors, ordered by code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GatewaySensors {
    pub enterprise_id: String,
    /// Unified social credit code: the MQTT topic is `yingji/{credit_code}/readings`.
    pub credit_code: String,
    pub enterprise_name: String,
    pub sensors: Vec<GatewaySensor>,
}

/// The token of `Authorization: Bearer …`, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The sensors of the ingest token's enterprise: codes to send readings under, measuring
/// ranges, alarm settings and offline timeouts. Authenticate with the enterprise's ingest
/// token (`Authorization: Bearer yjg_…`), as for `POST /ingest/readings`.
#[utoipa::path(get, path = "/ingest/sensors", tag = "monitor",
    security(("ingest_token" = [])),
    responses((status = 200, body = GatewaySensors),
        (status = 401, body = ErrorBody, description = "Missing, unknown or revoked ingest token")))]
async fn gateway_sensors(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<GatewaySensors>, ApiError> {
    let token = bearer(&headers).ok_or(ApiError::Unauthorized)?;
    let enterprise_id = sensors::enterprise_of_token(&state.db, token)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let enterprise = crate::registry::store::get_enterprise(&state.db, &enterprise_id)
        .await?
        // A token outliving its enterprise is as good as revoked.
        .ok_or(ApiError::Unauthorized)?;
    let filter = SensorFilter {
        enterprise: Some(enterprise_id.clone()),
        ..Default::default()
    };
    // The token already confines the answer to one enterprise.
    let mut page = sensors::list(&state.db, &Scope::District, &filter, None).await?;
    page.items.sort_by(|a, b| a.input.code.cmp(&b.input.code));
    Ok(Json(GatewaySensors {
        enterprise_id,
        credit_code: enterprise.credit_code,
        enterprise_name: enterprise.name,
        sensors: page
            .items
            .into_iter()
            .map(|s| {
                let s = s.input;
                GatewaySensor {
                    code: s.code,
                    name: s.name,
                    kind: s.kind,
                    unit_of_measure: s.unit_of_measure,
                    range_min: s.range_min,
                    range_max: s.range_max,
                    ll: s.ll,
                    l: s.l,
                    h: s.h,
                    hh: s.hh,
                    deadband: s.deadband,
                    on_delay_s: s.on_delay_s,
                    off_delay_s: s.off_delay_s,
                    offline_timeout_s: s.offline_timeout_s,
                }
            })
            .collect(),
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(gateway_sensors))
}
