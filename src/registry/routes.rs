//! HTTP routes of the registry: `/admin-units`, `/enterprises`, `/facilities` and the
//! `/map/...` GeoJSON layers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::import::{self, ExportError, ImportError, ImportReport, RowError};
use super::model::{EnterpriseInput, FacilityInput};
use super::rules;
use super::store::{self, AdminUnit, Enterprise, EnterpriseFilter, Facility, FacilityFilter};
use super::table::{Format, TableError};
use crate::app::AppState;
use crate::audit;
use crate::auth::{CurrentUser, Permission, Scope};
use crate::error::{ApiError, ErrorBody};
use crate::paging::{Page, Paging};

// ---------- administrative units ----------

/// Township-level units (streets, towns, parks) with counts of the records visible to the caller.
#[utoipa::path(get, path = "/admin-units", tag = "registry",
    responses((status = 200, body = Page<AdminUnit>), (status = 401, body = ErrorBody)))]
async fn list_units(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Page<AdminUnit>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let items = store::list_units(&state.db, &user.scope()).await?;
    let total = items.len() as i64;
    Ok(Json(Page { items, total }))
}

/// One administrative unit (the district `120114` or a township code).
#[utoipa::path(get, path = "/admin-units/{code}", tag = "registry", params(("code" = String, Path)),
    responses((status = 200, body = AdminUnit), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_unit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(code): Path<String>,
) -> Result<Json<AdminUnit>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(
        store::get_unit(&state.db, &code)
            .await?
            .ok_or(ApiError::NotFound)?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoundaryParams {
    /// Coordinate system of the uploaded file: `wgs84` (default) or `gcj02` (AMap/Tencent data,
    /// converted to WGS84 on import).
    pub crs: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoundaryReport {
    pub updated: usize,
}

/// Replaces township boundaries with real ones: a GeoJSON FeatureCollection whose features
/// carry `properties.code` (township code) or `properties.name`, with Polygon or MultiPolygon
/// geometries. All or nothing. Administrators only.
#[utoipa::path(put, path = "/admin-units/boundaries", tag = "registry", params(BoundaryParams),
    request_body(content = serde_json::Value, description = "GeoJSON FeatureCollection"),
    responses((status = 200, body = BoundaryReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn put_boundaries(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<BoundaryParams>,
    body: Bytes,
) -> Result<Json<BoundaryReport>, ApiError> {
    user.require(Permission::BoundariesWrite)?;
    let gcj02 = match params.crs.as_deref().unwrap_or("wgs84") {
        "wgs84" | "WGS84" => false,
        "gcj02" | "GCJ02" | "gcj-02" | "GCJ-02" => true,
        other => {
            return Err(ApiError::validation(
                "crs",
                format!("unknown coordinate system {other}: use wgs84 or gcj02"),
            ));
        }
    };
    let updated = super::boundaries::import(&state.db, &user.actor(), &body, gcj02).await?;
    Ok(Json(BoundaryReport { updated }))
}

// ---------- enterprises ----------

/// Enterprises visible to the caller, filtered and paged.
#[utoipa::path(get, path = "/enterprises", tag = "registry", params(EnterpriseFilter, Paging),
    responses((status = 200, body = Page<Enterprise>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_enterprises(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(filter): Query<EnterpriseFilter>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<Enterprise>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(
        store::list_enterprises(&state.db, &user.scope(), &filter, Some(paging.checked()?)).await?,
    ))
}

async fn visible_enterprise(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
) -> Result<Enterprise, ApiError> {
    let e = store::get_enterprise(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !user.scope().allows(&e.town_code, Some(&e.id)) {
        return Err(ApiError::NotFound);
    }
    Ok(e)
}

/// One enterprise. Out of the caller's scope it does not exist (404).
#[utoipa::path(get, path = "/enterprises/{id}", tag = "registry", params(("id" = String, Path)),
    responses((status = 200, body = Enterprise), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_enterprise(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Enterprise>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(visible_enterprise(&state, &user, &id).await?))
}

/// For records that belong to an enterprise (hazard-source units, sensors): the enterprise
/// must exist (422) and be one the caller may edit (403): any for district roles with write
/// permission, its own township's for a town user, itself for an enterprise user.
pub async fn check_writable_enterprise(
    state: &AppState,
    user: &CurrentUser,
    enterprise_id: &str,
) -> Result<(), ApiError> {
    let e = store::get_enterprise(&state.db, enterprise_id)
        .await?
        .ok_or_else(|| {
            ApiError::validation(
                "enterprise_id",
                format!("unknown enterprise {enterprise_id}"),
            )
        })?;
    let ok = match user.scope() {
        Scope::District => true,
        Scope::Town(t) => t == e.town_code,
        Scope::Enterprise(own) => own == e.id,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::forbidden("the enterprise is outside your scope"))
    }
}

/// Refuses records the caller may not create or move into: another town, or any new
/// record for an enterprise account.
fn check_target_scope(user: &CurrentUser, town_code: &str) -> Result<(), ApiError> {
    match user.scope() {
        Scope::District => Ok(()),
        Scope::Town(t) if t == town_code => Ok(()),
        Scope::Town(_) => Err(ApiError::forbidden(
            "a town user may only create or move records within their own township",
        )),
        Scope::Enterprise(_) => Err(ApiError::forbidden(
            "an enterprise user may not create registry records",
        )),
    }
}

/// Creates an enterprise.
#[utoipa::path(post, path = "/enterprises", tag = "registry", request_body = EnterpriseInput,
    responses((status = 201, body = Enterprise), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_enterprise(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<EnterpriseInput>,
) -> Result<(StatusCode, Json<Enterprise>), ApiError> {
    user.require(Permission::RegistryWrite)?;
    check_target_scope(&user, input.town_code.trim())?;
    let towns = store::town_codes(&state.db).await?;
    let valid = rules::enterprise(&input, &towns)?;
    let id = crate::db::new_id();
    let mut tx = state.db.begin().await?;
    store::insert_enterprise(&mut tx, &id, &valid).await?;
    let after = store::get_enterprise_tx(&mut tx, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    audit::record(
        &mut tx,
        &user.actor(),
        "enterprise",
        &id,
        "create",
        None,
        Some(&json!(after)),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(after)))
}

/// Replaces the editable fields of an enterprise.
#[utoipa::path(put, path = "/enterprises/{id}", tag = "registry", params(("id" = String, Path)), request_body = EnterpriseInput,
    responses((status = 200, body = Enterprise), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_enterprise(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(input): Json<EnterpriseInput>,
) -> Result<Json<Enterprise>, ApiError> {
    user.require(Permission::RegistryWrite)?;
    let before = visible_enterprise(&state, &user, &id).await?;
    if let Scope::Enterprise(_) = user.scope() {
        // An enterprise keeps its identity: the registry (town, credit code) is the regulator's.
        if input.town_code.trim() != before.town_code
            || input.credit_code.trim().to_uppercase() != before.credit_code
        {
            return Err(ApiError::forbidden(
                "an enterprise user may not change its credit code or township",
            ));
        }
    } else {
        check_target_scope(&user, input.town_code.trim())?;
    }
    let towns = store::town_codes(&state.db).await?;
    let valid = rules::enterprise(&input, &towns)?;
    let mut tx = state.db.begin().await?;
    store::update_enterprise(&mut tx, &id, &valid).await?;
    let after = store::get_enterprise_tx(&mut tx, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    audit::record(
        &mut tx,
        &user.actor(),
        "enterprise",
        &id,
        "update",
        Some(&json!(before)),
        Some(&json!(after)),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Deletes an enterprise (not possible while user accounts belong to it).
#[utoipa::path(delete, path = "/enterprises/{id}", tag = "registry", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_enterprise(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    user.require(Permission::RegistryWrite)?;
    let before = visible_enterprise(&state, &user, &id).await?;
    if let Scope::Enterprise(_) = user.scope() {
        return Err(ApiError::forbidden(
            "an enterprise user may not delete registry records",
        ));
    }
    let mut tx = state.db.begin().await?;
    if store::users_of_enterprise(&mut tx, &id).await? > 0 {
        return Err(ApiError::Conflict {
            field: None,
            message: "user accounts belong to this enterprise; disable or rebind them first".into(),
        });
    }
    store::delete_enterprise(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "enterprise",
        &id,
        "delete",
        Some(&json!(before)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Write the valid rows and report the others, instead of writing nothing when any row is bad.
    #[serde(default)]
    pub skip_invalid: bool,
}

/// Body of a 422 answer to an import with invalid rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvalidRowsBody {
    pub error: crate::error::ErrorDetail,
    pub written: usize,
    pub total_rows: usize,
    pub rejected: Vec<RowError>,
}

fn import_error(e: ImportError) -> Response {
    match e {
        ImportError::InvalidRows(report) => {
            let body = InvalidRowsBody {
                error: crate::error::ErrorDetail {
                    code: "invalid_rows".into(),
                    message: format!(
                        "{} of {} rows are invalid; nothing was written",
                        report.rejected.len(),
                        report.total_rows
                    ),
                    field: None,
                },
                written: 0,
                total_rows: report.total_rows,
                rejected: report.rejected,
            };
            (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
        }
        ImportError::MissingColumn(c) => {
            ApiError::validation("file", format!("missing column {c}")).into_response()
        }
        ImportError::Table(TableError::UnsupportedType) => {
            ApiError::validation("file", TableError::UnsupportedType.to_string()).into_response()
        }
        ImportError::Table(t) => ApiError::validation("file", t.to_string()).into_response(),
        ImportError::Db(e) => ApiError::from(e).into_response(),
    }
}

/// Reads the `file` part of a multipart upload.
async fn upload(
    mut multipart: Multipart,
    max_bytes: usize,
) -> Result<(Option<String>, Bytes), ApiError> {
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::BadRequest(format!("bad multipart body: {e}")))?
    {
        if field.name() == Some("file") {
            let name = field.file_name().map(str::to_string);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::BadRequest(format!("bad multipart body: {e}")))?;
            if bytes.len() > max_bytes {
                return Err(ApiError::PayloadTooLarge(format!(
                    "the file is larger than {max_bytes} bytes"
                )));
            }
            return Ok((name, bytes));
        }
    }
    Err(ApiError::validation(
        "file",
        "a multipart field named file is required",
    ))
}

/// Imports enterprises from CSV (UTF-8 or GBK) or XLSX, uploaded as multipart field `file`.
/// Headers may be the API field names or the Chinese headers of the export. A row whose
/// credit code exists updates that enterprise.
#[utoipa::path(post, path = "/enterprises/import", tag = "registry", params(ImportParams),
    request_body(content_type = "multipart/form-data", description = "field `file`: .csv or .xlsx"),
    responses((status = 200, body = ImportReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = InvalidRowsBody)))]
async fn import_enterprises(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ImportParams>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    user.require(Permission::RegistryWrite)?;
    if let Scope::Enterprise(_) = user.scope() {
        return Err(ApiError::forbidden(
            "an enterprise user may not import registry records",
        ));
    }
    let (name, bytes) = upload(multipart, state.settings.import.max_bytes).await?;
    Ok(
        match import::import_enterprises(
            &state.db,
            &user.actor(),
            &user.scope(),
            name.as_deref(),
            &bytes,
            params.skip_invalid,
        )
        .await
        {
            Ok(report) => Json(report).into_response(),
            Err(e) => import_error(e),
        },
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (UTF-8 with BOM, default) or `xlsx`.
    pub format: Option<String>,
}

fn export_format(p: &ExportParams) -> Result<Format, ApiError> {
    match p.format.as_deref().unwrap_or("csv") {
        "csv" => Ok(Format::Csv),
        "xlsx" => Ok(Format::Xlsx),
        other => Err(ApiError::validation(
            "format",
            format!("unknown format {other}: use csv or xlsx"),
        )),
    }
}

fn file_response(f: import::ExportFile) -> Response {
    let disposition = format!("attachment; filename=\"{}\"", f.file_name);
    (
        [
            (header::CONTENT_TYPE, f.content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        f.bytes,
    )
        .into_response()
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Store(s) => s.into(),
            ExportError::Write(w) => ApiError::Internal(anyhow::anyhow!(w)),
        }
    }
}

/// Exports the enterprises matching the filters as CSV or XLSX (re-importable).
#[utoipa::path(get, path = "/enterprises/export", tag = "registry", params(ExportParams, EnterpriseFilter),
    responses((status = 200, description = "The file", content_type = "text/csv"), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn export_enterprises(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ExportParams>,
    Query(filter): Query<EnterpriseFilter>,
) -> Result<Response, ApiError> {
    user.require(Permission::RegistryRead)?;
    let format = export_format(&params)?;
    Ok(file_response(
        import::export_enterprises(&state.db, &user.scope(), &filter, format).await?,
    ))
}

// ---------- facilities ----------

/// Public facilities (schools, hospitals, elderly homes, markets) visible to the caller.
#[utoipa::path(get, path = "/facilities", tag = "registry", params(FacilityFilter, Paging),
    responses((status = 200, body = Page<Facility>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_facilities(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(filter): Query<FacilityFilter>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<Facility>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(
        store::list_facilities(&state.db, &user.scope(), &filter, Some(paging.checked()?)).await?,
    ))
}

async fn visible_facility(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
) -> Result<Facility, ApiError> {
    let f = store::get_facility(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !user.scope().allows(&f.town_code, None) {
        return Err(ApiError::NotFound);
    }
    Ok(f)
}

/// One facility.
#[utoipa::path(get, path = "/facilities/{id}", tag = "registry", params(("id" = String, Path)),
    responses((status = 200, body = Facility), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_facility(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Facility>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(visible_facility(&state, &user, &id).await?))
}

/// Creates a facility.
#[utoipa::path(post, path = "/facilities", tag = "registry", request_body = FacilityInput,
    responses((status = 201, body = Facility), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_facility(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<FacilityInput>,
) -> Result<(StatusCode, Json<Facility>), ApiError> {
    user.require(Permission::RegistryWrite)?;
    check_target_scope(&user, input.town_code.trim())?;
    let towns = store::town_codes(&state.db).await?;
    let valid = rules::facility(&input, &towns)?;
    let id = crate::db::new_id();
    let mut tx = state.db.begin().await?;
    store::insert_facility(&mut tx, &id, &valid).await?;
    let after = store::get_facility_tx(&mut tx, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    audit::record(
        &mut tx,
        &user.actor(),
        "facility",
        &id,
        "create",
        None,
        Some(&json!(after)),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(after)))
}

/// Replaces the editable fields of a facility.
#[utoipa::path(put, path = "/facilities/{id}", tag = "registry", params(("id" = String, Path)), request_body = FacilityInput,
    responses((status = 200, body = Facility), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_facility(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(input): Json<FacilityInput>,
) -> Result<Json<Facility>, ApiError> {
    user.require(Permission::RegistryWrite)?;
    let before = visible_facility(&state, &user, &id).await?;
    check_target_scope(&user, input.town_code.trim())?;
    let towns = store::town_codes(&state.db).await?;
    let valid = rules::facility(&input, &towns)?;
    let mut tx = state.db.begin().await?;
    store::update_facility(&mut tx, &id, &valid).await?;
    let after = store::get_facility_tx(&mut tx, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    audit::record(
        &mut tx,
        &user.actor(),
        "facility",
        &id,
        "update",
        Some(&json!(before)),
        Some(&json!(after)),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Deletes a facility.
#[utoipa::path(delete, path = "/facilities/{id}", tag = "registry", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete_facility(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    user.require(Permission::RegistryWrite)?;
    let before = visible_facility(&state, &user, &id).await?;
    let mut tx = state.db.begin().await?;
    store::delete_facility(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "facility",
        &id,
        "delete",
        Some(&json!(before)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Imports facilities from CSV or XLSX (multipart field `file`). A row whose town and name
/// match an existing facility updates it.
#[utoipa::path(post, path = "/facilities/import", tag = "registry", params(ImportParams),
    request_body(content_type = "multipart/form-data", description = "field `file`: .csv or .xlsx"),
    responses((status = 200, body = ImportReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = InvalidRowsBody)))]
async fn import_facilities(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ImportParams>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    user.require(Permission::RegistryWrite)?;
    if let Scope::Enterprise(_) = user.scope() {
        return Err(ApiError::forbidden(
            "an enterprise user may not import registry records",
        ));
    }
    let (name, bytes) = upload(multipart, state.settings.import.max_bytes).await?;
    Ok(
        match import::import_facilities(
            &state.db,
            &user.actor(),
            &user.scope(),
            name.as_deref(),
            &bytes,
            params.skip_invalid,
        )
        .await
        {
            Ok(report) => Json(report).into_response(),
            Err(e) => import_error(e),
        },
    )
}

/// Exports the facilities matching the filters as CSV or XLSX.
#[utoipa::path(get, path = "/facilities/export", tag = "registry", params(ExportParams, FacilityFilter),
    responses((status = 200, description = "The file", content_type = "text/csv"), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn export_facilities(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ExportParams>,
    Query(filter): Query<FacilityFilter>,
) -> Result<Response, ApiError> {
    user.require(Permission::RegistryRead)?;
    let format = export_format(&params)?;
    Ok(file_response(
        import::export_facilities(&state.db, &user.scope(), &filter, format).await?,
    ))
}

// ---------- map layers ----------

fn feature_collection(features: Vec<serde_json::Value>) -> Json<serde_json::Value> {
    Json(json!({"type": "FeatureCollection", "features": features}))
}

/// The district outline (WGS84) as a FeatureCollection of one feature.
#[utoipa::path(get, path = "/map/district", tag = "map",
    responses((status = 200, body = serde_json::Value, description = "GeoJSON FeatureCollection"), (status = 401, body = ErrorBody)))]
async fn map_district(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let units = store::unit_geometries(&state.db, true).await?;
    Ok(feature_collection(
        units
            .into_iter()
            .filter_map(|u| {
                let g: serde_json::Value = serde_json::from_str(u.geometry.as_deref()?).ok()?;
                Some(json!({"type": "Feature", "id": u.code, "properties": {"code": u.code, "name": u.name, "population": u.population}, "geometry": g}))
            })
            .collect(),
    ))
}

/// Township polygons as a FeatureCollection, each feature with the properties `props` gives its
/// unit (a unit it gives none for, or without a stored geometry, is left out): the base of
/// every per-town map layer.
pub async fn town_polygons(
    db: &crate::db::Db,
    mut props: impl FnMut(&store::UnitGeometry) -> Option<serde_json::Value>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let geoms = store::unit_geometries(db, false).await?;
    Ok(feature_collection(
        geoms
            .iter()
            .filter_map(|g| {
                let geometry: serde_json::Value = serde_json::from_str(g.geometry.as_deref()?).ok()?;
                let properties = props(g)?;
                Some(json!({"type": "Feature", "id": g.code, "geometry": geometry, "properties": properties}))
            })
            .collect(),
    ))
}

/// Township areas with their counts, as GeoJSON.
#[utoipa::path(get, path = "/map/admin-units", tag = "map",
    responses((status = 200, body = serde_json::Value, description = "GeoJSON FeatureCollection"), (status = 401, body = ErrorBody)))]
async fn map_units(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let units = store::list_units(&state.db, &user.scope()).await?;
    town_polygons(&state.db, |g| {
        let u = units.iter().find(|u| u.code == g.code)?;
        Some(json!({
            "code": u.code, "name": u.name, "kind": u.kind, "population": u.population,
            "population_approximate": u.population_approximate, "geometry_approximate": u.geometry_approximate,
            "enterprise_count": u.enterprise_count, "hazchem_count": u.hazchem_count, "facility_count": u.facility_count,
            "seat": u.seat,
        }))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapEnterpriseParams {
    pub q: Option<String>,
    pub town: Option<String>,
    pub flag: Option<String>,
}

/// Enterprises as GeoJSON points for the one-map (those with a location).
#[utoipa::path(get, path = "/map/enterprises", tag = "map", params(MapEnterpriseParams),
    responses((status = 200, body = serde_json::Value, description = "GeoJSON FeatureCollection"), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn map_enterprises(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<MapEnterpriseParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let filter = EnterpriseFilter {
        q: p.q,
        town: p.town,
        flag: p.flag,
        ..Default::default()
    };
    let points = store::enterprise_points(&state.db, &user.scope(), &filter).await?;
    Ok(feature_collection(
        points
            .into_iter()
            .map(|e| {
                let flags = rules::flags_from_db(&e.flags);
                json!({"type": "Feature", "id": e.id, "geometry": {"type": "Point", "coordinates": [e.lon, e.lat]}, "properties": {
                    "id": e.id, "name": e.name, "town_code": e.town_code, "town_name": e.town_name,
                    "industry_name": super::industry::industry_name(&e.industry_section, e.industry_division.as_deref()),
                    "scale": e.scale,
                    // A string, not an array: MapLibre flattens array properties in clustered sources.
                    "flags": flags.iter().map(|f| f.key()).collect::<Vec<_>>().join(","),
                    "primary_flag": rules::primary_flag(&flags).map(|f| f.key()),
                }})
            })
            .collect(),
    ))
}

/// Facilities as GeoJSON points.
#[utoipa::path(get, path = "/map/facilities", tag = "map", params(FacilityFilter),
    responses((status = 200, body = serde_json::Value, description = "GeoJSON FeatureCollection"), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn map_facilities(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(filter): Query<FacilityFilter>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let points = store::facility_points(&state.db, &user.scope(), &filter).await?;
    Ok(feature_collection(
        points
            .into_iter()
            .map(|f| {
                json!({"type": "Feature", "id": f.id, "geometry": {"type": "Point", "coordinates": [f.lon, f.lat]}, "properties": {
                    "id": f.id, "name": f.name, "kind": f.kind, "town_code": f.town_code, "town_name": f.town_name, "people": f.people,
                }})
            })
            .collect(),
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_units))
        .routes(routes!(put_boundaries))
        .routes(routes!(get_unit))
        .routes(routes!(list_enterprises, create_enterprise))
        .routes(routes!(import_enterprises))
        .routes(routes!(export_enterprises))
        .routes(routes!(
            get_enterprise,
            update_enterprise,
            delete_enterprise
        ))
        .routes(routes!(list_facilities, create_facility))
        .routes(routes!(import_facilities))
        .routes(routes!(export_facilities))
        .routes(routes!(get_facility, update_facility, delete_facility))
        .routes(routes!(map_district))
        .routes(routes!(map_units))
        .routes(routes!(map_enterprises))
        .routes(routes!(map_facilities))
}
