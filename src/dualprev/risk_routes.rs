//! HTTP routes of risk grading and control: `/risk-points` with their assessments, the LEC and
//! LS calculators under `/rules`, the colour roll-ups `/risk-map/...` and the one-map layers
//! `/map/risk-points` and `/map/risk-towns`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::checks;
use super::risk::{
    self, Assessment, AssessmentInput, EnterpriseRisk, Filter, RiskPoint, RiskPointInput, TownRisk,
};
use super::rules::{self, Bands, LecResult, LsResult};
use crate::app::AppState;
use crate::audit;
use crate::auth::{CurrentUser, Permission, Scope};
use crate::colour::Colour;
use crate::error::{ApiError, ErrorBody};
use crate::input::non_empty;
use crate::paging::{Page, Paging};

async fn visible(state: &AppState, user: &CurrentUser, id: &str) -> Result<RiskPoint, ApiError> {
    let rp = risk::get(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    if !user.scope().allows(&rp.town_code, Some(&rp.enterprise_id)) {
        return Err(ApiError::NotFound);
    }
    Ok(rp)
}

/// The enterprise a risk point is written for: given, or the enterprise user's own; it must
/// exist (422) and be within the caller's scope (403). Returns its id and town.
async fn target_enterprise(
    state: &AppState,
    user: &CurrentUser,
    given: &Option<String>,
) -> Result<(String, String), ApiError> {
    let id = match (non_empty(given), user.scope()) {
        (Some(e), _) => e.to_string(),
        (None, Scope::Enterprise(own)) => own,
        (None, _) => {
            return Err(ApiError::validation(
                "enterprise_id",
                "enterprise_id is required",
            ));
        }
    };
    crate::registry::routes::check_writable_enterprise(state, user, &id).await?;
    let e = crate::registry::store::get_enterprise(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::validation("enterprise_id", format!("unknown enterprise {id}")))?;
    Ok((e.id, e.town_code))
}

/// The live event of a change (topic `risk_point`), in the change's transaction.
async fn publish(
    tx: &mut crate::db::Tx,
    now_ms: i64,
    action: &str,
    rp: &RiskPoint,
) -> Result<(), ApiError> {
    crate::events::publish(
        tx,
        now_ms,
        "risk_point",
        Some(&rp.town_code),
        Some(&rp.enterprise_id),
        &json!({"action": action, "risk_point": rp}),
    )
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub enterprise_id: Option<String>,
    pub town_code: Option<String>,
    /// `red`, `orange`, `yellow`, `blue`, or `unassessed`.
    pub colour: Option<String>,
    /// Text in the name, the location or the enterprise name.
    pub q: Option<String>,
}

impl ListParams {
    fn filter(&self) -> Result<Filter, ApiError> {
        let colour = match non_empty(&self.colour) {
            None => None,
            Some("unassessed") => Some(None),
            Some(c) => Some(Some(Colour::parse(c).ok_or_else(|| {
                ApiError::validation(
                    "colour",
                    "colour must be red, orange, yellow, blue or unassessed",
                )
            })?)),
        };
        Ok(Filter {
            enterprise_id: non_empty(&self.enterprise_id).map(str::to_string),
            town_code: non_empty(&self.town_code).map(str::to_string),
            colour,
            q: non_empty(&self.q).map(str::to_string),
        })
    }
}

/// Risk points in the caller's scope, the most dangerous first.
#[utoipa::path(get, path = "/risk-points", tag = "dualprev", params(ListParams, Paging),
    responses((status = 200, body = Page<RiskPoint>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ListParams>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<RiskPoint>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let (items, total) =
        risk::list(&state.db, &user.scope(), &p.filter()?, paging.checked()?).await?;
    Ok(Json(Page { items, total }))
}

/// One risk point.
#[utoipa::path(get, path = "/risk-points/{id}", tag = "dualprev", params(("id" = String, Path)),
    responses((status = 200, body = RiskPoint), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<RiskPoint>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(visible(&state, &user, &id).await?))
}

/// Saves a risk point (new when `before` is none) with its check tasks, audit entry and live
/// event in one transaction, and returns it as stored.
#[allow(clippy::too_many_arguments)]
async fn store_point(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    enterprise_id: &str,
    town_code: &str,
    fields: &risk::RiskPointFields,
    before: Option<&RiskPoint>,
    now: i64,
) -> Result<RiskPoint, ApiError> {
    let mut tx = state.db.begin().await?;
    risk::save(&mut tx, id, enterprise_id, town_code, fields, now).await?;
    checks::sync_tasks(
        &mut tx,
        id,
        enterprise_id,
        town_code,
        &fields.control_measures,
        &fields.responsible_person,
        before.map(|b| b.responsible_person.as_str()),
        now,
    )
    .await?;
    let after = risk::get_tx(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let action = if before.is_some() { "update" } else { "create" };
    audit::record(
        &mut tx,
        &user.actor(),
        "risk_point",
        id,
        action,
        before.map(|b| json!(b)).as_ref(),
        Some(&json!(after)),
    )
    .await?;
    publish(&mut tx, now, action, &after).await?;
    tx.commit().await?;
    state.monitor.events.wake();
    Ok(after)
}

/// Creates a risk point; each control measure with a check cycle gets its check task.
#[utoipa::path(post, path = "/risk-points", tag = "dualprev", request_body = RiskPointInput,
    responses((status = 201, body = RiskPoint), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<RiskPointInput>,
) -> Result<(StatusCode, Json<RiskPoint>), ApiError> {
    user.require(Permission::RiskWrite)?;
    let (enterprise_id, town_code) = target_enterprise(&state, &user, &input.enterprise_id).await?;
    let fields = risk::validate_fields(&input)?;
    let now = crate::db::now_ms();
    let id = crate::db::new_id();
    let after = store_point(
        &state,
        &user,
        &id,
        &enterprise_id,
        &town_code,
        &fields,
        None,
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(after)))
}

/// Replaces a risk point's fields (not its assessment); its check tasks follow the measures.
#[utoipa::path(put, path = "/risk-points/{id}", tag = "dualprev", params(("id" = String, Path)), request_body = RiskPointInput,
    responses((status = 200, body = RiskPoint), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(input): Json<RiskPointInput>,
) -> Result<Json<RiskPoint>, ApiError> {
    user.require(Permission::RiskWrite)?;
    let before = visible(&state, &user, &id).await?;
    let given = input
        .enterprise_id
        .clone()
        .or_else(|| Some(before.enterprise_id.clone()));
    let (enterprise_id, town_code) = target_enterprise(&state, &user, &given).await?;
    let fields = risk::validate_fields(&input)?;
    let now = crate::db::now_ms();
    let after = store_point(
        &state,
        &user,
        &id,
        &enterprise_id,
        &town_code,
        &fields,
        Some(&before),
        now,
    )
    .await?;
    Ok(Json(after))
}

/// Deletes a risk point with its assessments, check tasks and records; hidden dangers found at
/// it stay, without the link.
#[utoipa::path(delete, path = "/risk-points/{id}", tag = "dualprev", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    user.require(Permission::RiskWrite)?;
    let before = visible(&state, &user, &id).await?;
    let mut tx = state.db.begin().await?;
    risk::delete(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "risk_point",
        &id,
        "delete",
        Some(&json!(before)),
        None,
    )
    .await?;
    publish(&mut tx, crate::db::now_ms(), "delete", &before).await?;
    tx.commit().await?;
    state.monitor.events.wake();
    Ok(StatusCode::NO_CONTENT)
}

/// Assesses a risk point by LEC or LS with the bands in force; the point takes the result.
#[utoipa::path(post, path = "/risk-points/{id}/assessments", tag = "dualprev", params(("id" = String, Path)),
    request_body = AssessmentInput,
    responses((status = 201, body = Assessment), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assess(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(input): Json<AssessmentInput>,
) -> Result<(StatusCode, Json<Assessment>), ApiError> {
    user.require(Permission::RiskWrite)?;
    let before = visible(&state, &user, &id).await?;
    let bands = state.settings.dualprev.bands();
    let graded = risk::grade(&input, &bands)?;
    let now = crate::db::now_ms();
    let name = if user.display_name.is_empty() {
        user.username.clone()
    } else {
        user.display_name.clone()
    };
    let mut tx = state.db.begin().await?;
    let assessment =
        risk::assess(&mut tx, &id, &graded, &bands, Some(&user.id), &name, now).await?;
    let after = risk::get_tx(&mut tx, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    audit::record(
        &mut tx,
        &user.actor(),
        "risk_point",
        &id,
        "assess",
        Some(&json!(before)),
        Some(&json!({"risk_point": after, "assessment": assessment})),
    )
    .await?;
    publish(&mut tx, now, "assess", &after).await?;
    tx.commit().await?;
    state.monitor.events.wake();
    Ok((StatusCode::CREATED, Json(assessment)))
}

/// The assessments of a risk point, newest first.
#[utoipa::path(get, path = "/risk-points/{id}/assessments", tag = "dualprev", params(("id" = String, Path)),
    responses((status = 200, body = Page<Assessment>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn assessments(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Page<Assessment>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    visible(&state, &user, &id).await?;
    let items = risk::assessments(&state.db, &id).await?;
    Ok(Json(Page {
        total: items.len() as i64,
        items,
    }))
}

// ---------- calculators ----------

#[derive(Debug, Deserialize, ToSchema)]
pub struct LecInput {
    pub l: Option<f64>,
    pub e: Option<f64>,
    pub c: Option<f64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LsInput {
    pub l: Option<f64>,
    pub s: Option<f64>,
}

fn factor(field: &'static str, v: Option<f64>) -> Result<f64, ApiError> {
    v.ok_or_else(|| ApiError::validation(field, format!("{field} is required")))
}

/// LEC with the bands in force: D = L × E × C, its classic grade and its colour. A value
/// outside its table is a 422 naming `l`, `e` or `c`.
#[utoipa::path(post, path = "/rules/lec", tag = "dualprev", request_body = LecInput,
    responses((status = 200, body = LecResult), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn calc_lec(
    State(state): State<AppState>,
    _user: CurrentUser,
    Json(i): Json<LecInput>,
) -> Result<Json<LecResult>, ApiError> {
    rules::lec(
        factor("l", i.l)?,
        factor("e", i.e)?,
        factor("c", i.c)?,
        &state.settings.dualprev.bands(),
    )
    .map(Json)
    .map_err(|e| ApiError::validation(e.field, e.to_string()))
}

/// The LS matrix with the bands in force: R = L × S and its colour. L and S are 1–5.
#[utoipa::path(post, path = "/rules/ls", tag = "dualprev", request_body = LsInput,
    responses((status = 200, body = LsResult), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn calc_ls(
    State(state): State<AppState>,
    _user: CurrentUser,
    Json(i): Json<LsInput>,
) -> Result<Json<LsResult>, ApiError> {
    rules::ls(
        factor("l", i.l)?,
        factor("s", i.s)?,
        &state.settings.dualprev.bands(),
    )
    .map(Json)
    .map_err(|e| ApiError::validation(e.field, e.to_string()))
}

/// The colour bands in force.
#[utoipa::path(get, path = "/rules/risk-bands", tag = "dualprev",
    responses((status = 200, body = Bands), (status = 401, body = ErrorBody)))]
async fn risk_bands(State(state): State<AppState>, _user: CurrentUser) -> Json<Bands> {
    Json(state.settings.dualprev.bands())
}

// ---------- roll-ups and map layers ----------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RiskMapParams {
    pub town_code: Option<String>,
}

/// Per enterprise with risk points in scope: the colour of its highest point and its counts.
#[utoipa::path(get, path = "/risk-map/enterprises", tag = "dualprev", params(RiskMapParams),
    responses((status = 200, body = Page<EnterpriseRisk>), (status = 401, body = ErrorBody)))]
async fn map_enterprises(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<RiskMapParams>,
) -> Result<Json<Page<EnterpriseRisk>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let items = risk::enterprise_rollup(&state.db, &user.scope(), non_empty(&p.town_code)).await?;
    Ok(Json(Page {
        total: items.len() as i64,
        items,
    }))
}

/// Per town: risk points and enterprises per colour (in scope) and the town's shade.
#[utoipa::path(get, path = "/risk-map/towns", tag = "dualprev",
    responses((status = 200, body = Page<TownRisk>), (status = 401, body = ErrorBody)))]
async fn map_towns(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Page<TownRisk>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let items = risk::town_rollup(&state.db, &user.scope()).await?;
    Ok(Json(Page {
        total: items.len() as i64,
        items,
    }))
}

/// Risk points as GeoJSON points (their own location, else their enterprise's).
#[utoipa::path(get, path = "/map/risk-points", tag = "map", params(ListParams),
    responses((status = 200, body = serde_json::Value, description = "GeoJSON FeatureCollection"), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn layer_points(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ListParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let points = risk::map_points(&state.db, &user.scope(), &p.filter()?).await?;
    let features: Vec<serde_json::Value> = points
        .into_iter()
        .map(|p| {
            json!({"type": "Feature", "id": p.id, "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]}, "properties": {
                "id": p.id, "name": p.name, "enterprise_id": p.enterprise_id, "enterprise_name": p.enterprise_name,
                "colour": p.colour, "score": p.score, "method": p.method,
            }})
        })
        .collect();
    Ok(Json(
        json!({"type": "FeatureCollection", "features": features}),
    ))
}

/// Township polygons with their risk counts (in scope) and shade, as GeoJSON.
#[utoipa::path(get, path = "/map/risk-towns", tag = "map",
    responses((status = 200, body = serde_json::Value, description = "GeoJSON FeatureCollection"), (status = 401, body = ErrorBody)))]
async fn layer_towns(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let enterprises = risk::enterprise_rollup(&state.db, &user.scope(), None).await?;
    crate::registry::routes::town_polygons(&state.db, |g| {
        let t = risk::town_risk(g.code.clone(), g.name.clone(), &enterprises);
        // Flat properties: map styles read them in expressions without nested lookups.
        Some(json!({
            "code": t.town_code, "name": t.town_name, "shade": t.shade,
            "points_red": t.points.red, "points_orange": t.points.orange,
            "points_yellow": t.points.yellow, "points_blue": t.points.blue,
            "enterprises_red": t.enterprises.red, "enterprises_orange": t.enterprises.orange,
            "enterprises_yellow": t.enterprises.yellow, "enterprises_blue": t.enterprises.blue,
        }))
    })
    .await
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(assess, assessments))
        .routes(routes!(calc_lec))
        .routes(routes!(calc_ls))
        .routes(routes!(risk_bands))
        .routes(routes!(map_enterprises))
        .routes(routes!(map_towns))
        .routes(routes!(layer_points))
        .routes(routes!(layer_towns))
}
