//! `/hazard-sources`, `/map/hazard-sources` and the GB 18218 calculator `/rules/gb18218`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::gb18218::{Gb18218Input, Gb18218Result};
use super::model::HazardUnitInput;
use super::store::{self, HazardFilter, HazardUnit};
use crate::app::AppState;
use crate::audit;
use crate::auth::{CurrentUser, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::paging::{Page, Paging};

/// Major hazard source units visible to the caller, with their identification and grade.
#[utoipa::path(get, path = "/hazard-sources", tag = "hazard", params(HazardFilter, Paging),
    responses((status = 200, body = Page<HazardUnit>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_units(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(filter): Query<HazardFilter>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<HazardUnit>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(
        store::list(&state.db, &user.scope(), &filter, Some(paging.checked()?)).await?,
    ))
}

async fn visible_unit(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
) -> Result<HazardUnit, ApiError> {
    let u = store::get(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    if !user.scope().allows(&u.town_code, Some(&u.enterprise_id)) {
        return Err(ApiError::NotFound);
    }
    Ok(u)
}

/// One unit with its chemicals, equipment and every term of its evaluation.
#[utoipa::path(get, path = "/hazard-sources/{id}", tag = "hazard", params(("id" = String, Path)),
    responses((status = 200, body = HazardUnit), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_unit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<HazardUnit>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(visible_unit(&state, &user, &id).await?))
}

/// Creates a unit; its identification and grade are computed from its chemicals.
#[utoipa::path(post, path = "/hazard-sources", tag = "hazard", request_body = HazardUnitInput,
    responses((status = 201, body = HazardUnit), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_unit(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<HazardUnitInput>,
) -> Result<(StatusCode, Json<HazardUnit>), ApiError> {
    user.require(Permission::RegistryWrite)?;
    crate::registry::routes::check_writable_enterprise(&state, &user, &input.enterprise_id).await?;
    let (input, grading) = super::validate_and_grade(&input)?;
    let id = crate::db::new_id();
    let mut tx = state.db.begin().await?;
    store::save(&mut tx, &id, &input, &grading, false).await?;
    let after = store::get_tx(&mut tx, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    audit::record(
        &mut tx,
        &user.actor(),
        "hazard_unit",
        &id,
        "create",
        None,
        Some(&json!(after)),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(after)))
}

/// Replaces a unit's fields, chemicals and equipment; the grade is recomputed.
#[utoipa::path(put, path = "/hazard-sources/{id}", tag = "hazard", params(("id" = String, Path)), request_body = HazardUnitInput,
    responses((status = 200, body = HazardUnit), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_unit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(input): Json<HazardUnitInput>,
) -> Result<Json<HazardUnit>, ApiError> {
    user.require(Permission::RegistryWrite)?;
    let before = visible_unit(&state, &user, &id).await?;
    crate::registry::routes::check_writable_enterprise(&state, &user, &input.enterprise_id).await?;
    let (input, grading) = super::validate_and_grade(&input)?;
    let mut tx = state.db.begin().await?;
    store::save(&mut tx, &id, &input, &grading, true).await?;
    let after = store::get_tx(&mut tx, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    audit::record(
        &mut tx,
        &user.actor(),
        "hazard_unit",
        &id,
        "update",
        Some(&json!(before)),
        Some(&json!(after)),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Deletes a unit with its chemicals and equipment.
#[utoipa::path(delete, path = "/hazard-sources/{id}", tag = "hazard", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete_unit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    user.require(Permission::RegistryWrite)?;
    let before = visible_unit(&state, &user, &id).await?;
    let mut tx = state.db.begin().await?;
    store::delete(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "hazard_unit",
        &id,
        "delete",
        Some(&json!(before)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Hazard-source units as GeoJSON points with their grade (for the one-map layer).
#[utoipa::path(get, path = "/map/hazard-sources", tag = "map", params(HazardFilter),
    responses((status = 200, body = serde_json::Value, description = "GeoJSON FeatureCollection"), (status = 401, body = ErrorBody)))]
async fn map_units(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(filter): Query<HazardFilter>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let points = store::points(&state.db, &user.scope(), &filter).await?;
    let features: Vec<serde_json::Value> = points
        .into_iter()
        .map(|p| {
            json!({"type": "Feature", "id": p.id, "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]}, "properties": {
                "id": p.id, "name": p.name, "enterprise_id": p.enterprise_id, "enterprise_name": p.enterprise_name,
                "grade": p.grade, "is_major": p.is_major, "r": p.r,
            }})
        })
        .collect();
    Ok(Json(
        json!({"type": "FeatureCollection", "features": features}),
    ))
}

/// GB 18218-2018 identification and grading of a unit's chemicals: S, β, α, R, grade, with
/// every term. The same JSON as `yingji rules gb18218 FILE.json`.
#[utoipa::path(post, path = "/rules/gb18218", tag = "rules", request_body = Gb18218Input,
    responses((status = 200, body = Gb18218Result), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn rules_gb18218(
    // Any logged-in user may calculate: taking the extractor is what requires the login.
    _user: CurrentUser,
    Json(input): Json<Gb18218Input>,
) -> Result<Json<Gb18218Result>, ApiError> {
    Ok(Json(super::gb18218::evaluate(&input)?))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_units, create_unit))
        .routes(routes!(get_unit, update_unit, delete_unit))
        .routes(routes!(map_units))
        .routes(routes!(rules_gb18218))
}
