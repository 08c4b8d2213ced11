//! HTTP routes of early warnings: compose, the workflow, CAP out and in, relays, the map
//! layer, and the public feed and page data (no login).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::model::{self, Area, Content, Step};
use super::store::{self, Dissemination, ListFilter, Relay, RelayFilter, Visibility, Warning};
use super::{area, atom, cap};
use crate::app::AppState;
use crate::auth::{CurrentUser, Permission, Role};
use crate::colour::Colour;
use crate::error::{ApiError, ErrorBody};
use crate::input::non_empty;
use crate::paging::{Page, Paging};

fn now() -> i64 {
    crate::db::now_ms()
}

fn visibility(user: &CurrentUser) -> Visibility {
    Visibility {
        unpublished: model::may_compose(user.role) || model::may_approve(user.role),
        restricted: user.role != Role::Enterprise,
    }
}

fn with_steps(mut w: Warning, user: &CurrentUser) -> Warning {
    w.available_steps =
        model::available_steps(w.state, user.role, &user.id, w.submitted_by.as_deref());
    w
}

async fn visible(state: &AppState, user: &CurrentUser, id: &str) -> Result<Warning, ApiError> {
    let w = store::get(&state.db, id, now())
        .await?
        .ok_or(ApiError::NotFound)?;
    let vis = visibility(user);
    if (w.state.is_unpublished() && !vis.unpublished) || (w.scope != "public" && !vis.restricted) {
        return Err(ApiError::NotFound);
    }
    Ok(with_steps(w, user))
}

/// What a composer sends: the content of a draft. Times are RFC 3339; `effective_at` defaults
/// to now; `urgency` and `certainty` default from the event type.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct WarningInput {
    /// `Actual` (default), `Exercise` or `Test`.
    pub status: Option<String>,
    /// `public` (default) or `restricted`.
    pub scope: Option<String>,
    pub event_type: String,
    /// `blue`, `yellow`, `orange` or `red`.
    pub level: String,
    pub urgency: Option<String>,
    pub certainty: Option<String>,
    pub response_type: Option<String>,
    pub headline: String,
    pub description: String,
    #[serde(default)]
    pub instruction: String,
    pub headline_en: Option<String>,
    pub description_en: Option<String>,
    pub instruction_en: Option<String>,
    /// `{"kind":"towns","town_codes":[...]}`, `{"kind":"polygon","polygon":[[lon,lat],...]}` or
    /// `{"kind":"circle","center":[lon,lat],"radius_km":5}`.
    #[schema(value_type = Object)]
    pub area: Value,
    #[serde(default)]
    pub area_desc: String,
    pub effective_at: Option<String>,
    pub onset_at: Option<String>,
    pub expires_at: String,
}

fn time_field(field: &str, v: &str) -> Result<i64, ApiError> {
    crate::time::parse_time(v)
        .map(|ms| ms - ms.rem_euclid(1000))
        .ok_or_else(|| ApiError::validation(field, format!("{field} must be an RFC 3339 time")))
}

impl WarningInput {
    /// The content, with defaults filled and times on whole seconds (CAP has no fractions).
    pub fn content(&self, now_ms: i64) -> Result<Content, ApiError> {
        let t = model::event_type(&self.event_type).ok_or_else(|| {
            ApiError::validation(
                "event_type",
                format!("unknown event type {:?}", self.event_type),
            )
        })?;
        let level = Colour::parse(&self.level)
            .ok_or_else(|| ApiError::validation("level", "level is blue, yellow, orange or red"))?;
        let area: Area = serde_json::from_value(self.area.clone()).map_err(|e| {
            ApiError::validation(
                "area",
                format!("an area is {{\"kind\":\"towns\"|\"polygon\"|\"circle\", ...}}: {e}"),
            )
        })?;
        let opt = |v: &Option<String>| non_empty(v).map(str::to_string);
        let effective_at = match non_empty(&self.effective_at) {
            Some(v) => time_field("effective_at", v)?,
            None => now_ms - now_ms.rem_euclid(1000),
        };
        let onset_at = non_empty(&self.onset_at)
            .map(|v| time_field("onset_at", v))
            .transpose()?;
        let expires_at = time_field("expires_at", &self.expires_at)?;
        Ok(Content {
            status: opt(&self.status).unwrap_or_else(|| "Actual".into()),
            scope: opt(&self.scope).unwrap_or_else(|| "public".into()),
            event_type: t.key.into(),
            level,
            urgency: opt(&self.urgency).unwrap_or_else(|| t.urgency.into()),
            certainty: opt(&self.certainty).unwrap_or_else(|| t.certainty.into()),
            response_type: opt(&self.response_type),
            headline: self.headline.trim().into(),
            description: self.description.trim().into(),
            instruction: self.instruction.trim().into(),
            headline_en: opt(&self.headline_en),
            description_en: opt(&self.description_en),
            instruction_en: opt(&self.instruction_en),
            area,
            area_desc: self.area_desc.trim().into(),
            effective_at,
            onset_at,
            expires_at,
        })
    }
}

async fn composed(
    state: &AppState,
    input: &WarningInput,
) -> Result<(store::Composed, Vec<area::TownShape>), ApiError> {
    let towns = area::load_towns(&state.db).await?;
    let c = store::compose(input.content(now())?, &towns)?;
    Ok((c, towns))
}

/// Warnings, newest first: drafts and approvals only for composers and approvers, restricted
/// ones only for staff.
#[utoipa::path(get, path = "/warnings", tag = "warning", params(ListFilter, Paging),
    responses((status = 200, body = Page<Warning>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<ListFilter>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<Warning>>, ApiError> {
    let mut page = store::list(&state.db, &f, visibility(&user), paging.checked()?, now()).await?;
    page.items = page
        .items
        .into_iter()
        .map(|w| with_steps(w, &user))
        .collect();
    Ok(Json(page))
}

/// Submitted warnings waiting for approval (签发), oldest first.
#[utoipa::path(get, path = "/warnings/approval-queue", tag = "warning",
    responses((status = 200, body = Page<Warning>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn approval_queue(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Page<Warning>>, ApiError> {
    user.require(Permission::WarningApprove)?;
    let f = ListFilter {
        state: Some("submitted".into()),
        ..Default::default()
    };
    let mut page = store::list(
        &state.db,
        &f,
        visibility(&user),
        Paging {
            limit: 500,
            offset: 0,
        },
        now(),
    )
    .await?;
    page.items.reverse();
    page.items = page
        .items
        .into_iter()
        .map(|w| with_steps(w, &user))
        .collect();
    Ok(Json(page))
}

/// Saves a new draft.
#[utoipa::path(post, path = "/warnings", tag = "warning", request_body = WarningInput,
    responses((status = 201, body = Warning), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<WarningInput>,
) -> Result<(StatusCode, Json<Warning>), ApiError> {
    user.require(Permission::WarningCompose)?;
    let (c, _) = composed(&state, &input).await?;
    let w = store::create_draft(
        &state.db,
        &c,
        &user,
        &state.settings.warning,
        "Alert",
        None,
        now(),
    )
    .await?;
    state.monitor.events.wake();
    Ok((StatusCode::CREATED, Json(with_steps(w, &user))))
}

/// One warning, with the steps the caller may take.
#[utoipa::path(get, path = "/warnings/{id}", tag = "warning", params(("id" = String, Path)),
    responses((status = 200, body = Warning), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Warning>, ApiError> {
    Ok(Json(visible(&state, &user, &id).await?))
}

/// Replaces a draft's content.
#[utoipa::path(put, path = "/warnings/{id}", tag = "warning", params(("id" = String, Path)), request_body = WarningInput,
    responses((status = 200, body = Warning), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(input): Json<WarningInput>,
) -> Result<Json<Warning>, ApiError> {
    visible(&state, &user, &id).await?;
    user.require(Permission::WarningCompose)?;
    let (c, _) = composed(&state, &input).await?;
    let w = store::update_draft(&state.db, &id, &c, &user, now()).await?;
    state.monitor.events.wake();
    Ok(Json(with_steps(w, &user)))
}

/// Deletes a draft.
#[utoipa::path(delete, path = "/warnings/{id}", tag = "warning", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    visible(&state, &user, &id).await?;
    store::delete_draft(&state.db, &id, &user, now()).await?;
    state.monitor.events.wake();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReasonInput {
    pub reason: Option<String>,
}

fn reason(input: Option<Json<ReasonInput>>) -> Result<String, ApiError> {
    let r = input.and_then(|Json(r)| r.reason).unwrap_or_default();
    crate::input::required_text("reason", &r, 1000)
}

/// Submits a draft for approval.
#[utoipa::path(post, path = "/warnings/{id}/submit", tag = "warning", params(("id" = String, Path)),
    responses((status = 200, body = Warning), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Warning>, ApiError> {
    visible(&state, &user, &id).await?;
    let w = store::review(&state.db, &id, Step::Submit, None, &user, now()).await?;
    state.monitor.events.wake();
    Ok(Json(with_steps(w, &user)))
}

/// Approves (签发) a submitted warning; the approver must not be its submitter.
#[utoipa::path(post, path = "/warnings/{id}/approve", tag = "warning", params(("id" = String, Path)),
    responses((status = 200, body = Warning), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn approve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Warning>, ApiError> {
    visible(&state, &user, &id).await?;
    let w = store::review(&state.db, &id, Step::Approve, None, &user, now()).await?;
    state.monitor.events.wake();
    Ok(Json(with_steps(w, &user)))
}

/// Sends a submitted warning back to draft with a reason.
#[utoipa::path(post, path = "/warnings/{id}/reject", tag = "warning", params(("id" = String, Path)), request_body = ReasonInput,
    responses((status = 200, body = Warning), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reject(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    input: Option<Json<ReasonInput>>,
) -> Result<Json<Warning>, ApiError> {
    visible(&state, &user, &id).await?;
    user.require(Permission::WarningApprove)?;
    let r = reason(input)?;
    let w = store::review(&state.db, &id, Step::Reject, Some(&r), &user, now()).await?;
    state.monitor.events.wake();
    Ok(Json(with_steps(w, &user)))
}

/// Publishes an approved warning: CAP identifier and document, relays to the towns, deliveries.
#[utoipa::path(post, path = "/warnings/{id}/publish", tag = "warning", params(("id" = String, Path)),
    responses((status = 200, body = Warning), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn publish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Warning>, ApiError> {
    visible(&state, &user, &id).await?;
    let w = store::publish(&state.db, &id, &user, &state.settings.warning, now()).await?;
    state.monitor.events.wake();
    Ok(Json(with_steps(w, &user)))
}

/// Starts an update of a published warning: a new draft referencing it.
#[utoipa::path(post, path = "/warnings/{id}/update", tag = "warning", params(("id" = String, Path)),
    responses((status = 201, body = Warning), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn start_update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Warning>), ApiError> {
    visible(&state, &user, &id).await?;
    let w = store::start_update(&state.db, &id, &user, &state.settings.warning, now()).await?;
    state.monitor.events.wake();
    Ok((StatusCode::CREATED, Json(with_steps(w, &user))))
}

/// Cancels a live warning: a Cancel message is published at once.
#[utoipa::path(post, path = "/warnings/{id}/cancel", tag = "warning", params(("id" = String, Path)), request_body = ReasonInput,
    responses((status = 200, body = Warning, description = "the Cancel message"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    input: Option<Json<ReasonInput>>,
) -> Result<Json<Warning>, ApiError> {
    visible(&state, &user, &id).await?;
    user.require(Permission::WarningApprove)?;
    let r = reason(input)?;
    let w = store::cancel(&state.db, &id, &r, &user, &state.settings.warning, now()).await?;
    state.monitor.events.wake();
    Ok(Json(with_steps(w, &user)))
}

/// Relays an imported warning to the towns it covers.
#[utoipa::path(post, path = "/warnings/{id}/relay", tag = "warning", params(("id" = String, Path)),
    responses((status = 200, body = Warning), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn relay(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Warning>, ApiError> {
    visible(&state, &user, &id).await?;
    let w = store::relay_imported(&state.db, &id, &user, &state.settings.warning, now()).await?;
    state.monitor.events.wake();
    Ok(Json(with_steps(w, &user)))
}

fn xml_response(xml: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

/// The CAP document of unsaved draft content (the compose form's live preview).
#[utoipa::path(post, path = "/warnings/preview", tag = "warning", request_body = WarningInput,
    responses((status = 200, content_type = "application/cap+xml", body = String), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn preview(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<WarningInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::WarningCompose)?;
    let (c, towns) = composed(&state, &input).await?;
    Ok(xml_response(preview_xml(
        &state,
        &c,
        &towns,
        "Alert",
        vec![],
    )))
}

fn preview_xml(
    state: &AppState,
    c: &store::Composed,
    towns: &[area::TownShape],
    msg_type: &str,
    references: Vec<cap::Reference>,
) -> String {
    let now_ms = now();
    let sent = now_ms - now_ms.rem_euclid(1000);
    let s = &state.settings.warning;
    let identifier = cap::identifier(store::DISTRICT_CODE, &s.org_code, sent, 0);
    store::build_cap(c, towns, s, &identifier, sent, msg_type, references)
}

/// The CAP 1.2 document: as published (frozen), as imported (the original), or a draft's
/// preview.
#[utoipa::path(get, path = "/warnings/{id}/cap.xml", tag = "warning", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/cap+xml", body = String), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn cap_xml(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    visible(&state, &user, &id).await?;
    if let Some(xml) = store::cap_xml(&state.db, &id).await? {
        return Ok(xml_response(xml));
    }
    let (c, msg_type) = store::composed_of(&state.db, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let towns = area::load_towns(&state.db).await?;
    Ok(xml_response(preview_xml(
        &state,
        &c,
        &towns,
        &msg_type,
        vec![],
    )))
}

/// Imports a CAP 1.2 message of another issuer (body: the XML). 201 when new, 200 with the
/// stored warning when the same issuer's identifier was imported before.
#[utoipa::path(post, path = "/warnings/import", tag = "warning", request_body(content = String, content_type = "application/cap+xml"),
    responses((status = 201, body = Warning), (status = 200, body = Warning, description = "already imported"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Warning>), ApiError> {
    user.require(Permission::WarningApprove)?;
    if let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        let ct = ct.to_ascii_lowercase();
        if !(ct.contains("xml")
            || ct.starts_with("text/plain")
            || ct.starts_with("application/octet-stream"))
        {
            return Err(ApiError::validation(
                "content-type",
                format!(
                    "send the CAP document as application/cap+xml or application/xml, not {ct}"
                ),
            ));
        }
    }
    if body.len() > state.settings.import.max_bytes {
        return Err(ApiError::PayloadTooLarge(format!(
            "a CAP document is at most {} bytes",
            state.settings.import.max_bytes
        )));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::validation("document", "the document is not UTF-8 text"))?;
    let alert = cap::parse(text).map_err(|e| match e.status {
        400 => ApiError::BadRequest(format!("{}: {}", e.field, e.message)),
        _ => ApiError::validation(e.field, e.message),
    })?;
    let imported = store::import(&state.db, text, &alert, &user, now()).await?;
    state.monitor.events.wake();
    let status = if imported.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(with_steps(imported.warning, &user))))
}

/// The warning's history: every step, relay acknowledgement and escalation.
#[utoipa::path(get, path = "/warnings/{id}/timeline", tag = "warning", params(("id" = String, Path)),
    responses((status = 200, body = Page<serde_json::Value>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn timeline(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Page<Value>>, ApiError> {
    visible(&state, &user, &id).await?;
    let items = store::timeline(&state.db, &id).await?;
    Ok(Json(Page {
        total: items.len() as i64,
        items,
    }))
}

/// The relay board: for each target town, whether and when it acknowledged.
#[utoipa::path(get, path = "/warnings/{id}/relays", tag = "warning", params(("id" = String, Path)),
    responses((status = 200, body = Page<Relay>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn relay_board(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Page<Relay>>, ApiError> {
    visible(&state, &user, &id).await?;
    let scope = user.scope();
    let items: Vec<Relay> = store::relays_of(&state.db, &id)
        .await?
        .into_iter()
        .filter(|r| {
            scope.allows(&r.town_code, None) || matches!(scope, crate::auth::Scope::Enterprise(_))
        })
        .collect();
    Ok(Json(Page {
        total: items.len() as i64,
        items,
    }))
}

/// Relays in the caller's scope (a town user's inbox), newest first.
#[utoipa::path(get, path = "/relays", tag = "warning", params(RelayFilter, Paging),
    responses((status = 200, body = Page<Relay>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn relays(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<RelayFilter>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<Relay>>, ApiError> {
    if user.role == Role::Enterprise {
        return Err(ApiError::forbidden("relays go to towns, not enterprises"));
    }
    Ok(Json(
        store::list_relays(&state.db, &f, &user.scope(), paging.checked()?).await?,
    ))
}

/// A town acknowledges a relayed warning.
#[utoipa::path(post, path = "/relays/{id}/ack", tag = "warning", params(("id" = String, Path)),
    responses((status = 200, body = Relay), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn acknowledge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Relay>, ApiError> {
    user.require(Permission::WarningRelay)?;
    let r = store::acknowledge(&state.db, &id, &user, now()).await?;
    state.monitor.events.wake();
    Ok(Json(r))
}

/// A town reports how it passed the warning on (and acknowledges it if not yet).
#[utoipa::path(post, path = "/relays/{id}/dissemination", tag = "warning", params(("id" = String, Path)), request_body = Dissemination,
    responses((status = 200, body = Relay), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn dissemination(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(d): Json<Dissemination>,
) -> Result<Json<Relay>, ApiError> {
    user.require(Permission::WarningRelay)?;
    let r = store::record_dissemination(&state.db, &id, &d, &user, now()).await?;
    state.monitor.events.wake();
    Ok(Json(r))
}

fn feature(w: &Warning) -> Option<Value> {
    let geometry = w.geometry.clone()?;
    Some(
        json!({"type": "Feature", "id": w.id, "geometry": geometry, "properties": {
        "id": w.id, "headline": w.headline, "level": w.level, "event_type": w.event_type,
        "event_name": w.event_name, "area_desc": w.area_desc, "source": w.source, "sender_name": w.sender_name,
        "effective_at": w.effective_at, "expires_at": w.expires_at, "msg_type": w.msg_type}}),
    )
}

/// Warnings in force as a GeoJSON layer of the one-map.
#[utoipa::path(get, path = "/map/warnings", tag = "map",
    responses((status = 200, body = serde_json::Value, description = "GeoJSON FeatureCollection"), (status = 401, body = ErrorBody)))]
async fn map_layer(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, ApiError> {
    let vis = visibility(&user);
    let items = store::in_force(&state.db, !vis.restricted, now()).await?;
    Ok(Json(
        json!({"type": "FeatureCollection", "features": items.iter().filter_map(feature).collect::<Vec<_>>()}),
    ))
}

/// The absolute address the public links start with: `warning.public_url`, else the address
/// the request came to (Host, and X-Forwarded-Proto behind a proxy), so that feed readers get
/// absolute links either way.
fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    let configured = state.settings.warning.public_url.trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_string();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    // Only a plausible host name is echoed back into the feed.
    match header("host").filter(|h| {
        h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    }) {
        Some(host) => {
            let proto = match header("x-forwarded-proto") {
                Some("https") => "https",
                _ => "http",
            };
            format!("{proto}://{host}")
        }
        None => String::new(),
    }
}

/// Public warnings in force (no login): the public page's data, with GeoJSON areas and the
/// towns' outlines for the map.
async fn public_json(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let now_ms = now();
    let items = store::in_force(&state.db, true, now_ms).await?;
    let base = public_base(&state, &headers);
    let warnings: Vec<Value> = items
        .iter()
        .map(|w| {
            json!({"id": w.id, "identifier": w.identifier, "sender_name": w.sender_name, "msg_type": w.msg_type,
                "event_type": w.event_type, "event_name": w.event_name, "level": w.level, "headline": w.headline,
                "description": w.description, "instruction": w.instruction, "headline_en": w.headline_en,
                "description_en": w.description_en, "instruction_en": w.instruction_en, "area_desc": w.area_desc,
                "town_codes": w.town_codes, "town_names": w.town_names, "effective_at": w.effective_at,
                "onset_at": w.onset_at, "expires_at": w.expires_at, "sent_at": w.sent_at, "geometry": w.geometry,
                "cap_url": format!("{base}/public/warnings/{}/cap.xml", w.id)})
        })
        .collect();
    let towns = area::load_towns(&state.db).await?;
    let outlines: Vec<Value> = towns
        .iter()
        .filter(|t| !t.shape.0.is_empty())
        .map(|t| {
            let polys: Vec<Value> = t
                .shape
                .iter()
                .map(|p| {
                    json!([p
                        .exterior()
                        .coords()
                        .map(|c| [c.x, c.y])
                        .collect::<Vec<_>>()])
                })
                .collect();
            json!({"type": "Feature", "id": t.code, "properties": {"code": t.code, "name": t.name},
                   "geometry": {"type": "MultiPolygon", "coordinates": polys}})
        })
        .collect();
    Ok(Json(json!({
        "generated_at": crate::time::rfc3339(now_ms),
        "items": warnings,
        "total": items.len(),
        "towns": {"type": "FeatureCollection", "features": outlines},
        "atom_url": format!("{base}/public/warnings.atom"),
    })))
}

/// The Atom feed of public warnings in force, each entry linking its CAP document.
async fn public_atom(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now_ms = now();
    let items = store::feed_messages(&state.db, now_ms).await?;
    let base = public_base(&state, &headers);
    let entries: Vec<atom::FeedEntry> = items
        .iter()
        .map(|w| {
            let sent = w
                .sent_at
                .as_deref()
                .and_then(crate::time::parse_time)
                .unwrap_or(now_ms);
            let updated = crate::time::parse_time(&w.updated_at).unwrap_or(sent);
            atom::FeedEntry {
                id: format!(
                    "urn:cap:{}:{}",
                    w.sender,
                    w.identifier.clone().unwrap_or_else(|| w.id.clone())
                ),
                title: w.headline.clone(),
                summary: if w.instruction.is_empty() {
                    w.description.clone()
                } else {
                    format!("{} {}", w.description, w.instruction)
                },
                updated_ms: updated,
                published_ms: sent,
                cap_url: format!("{base}/public/warnings/{}/cap.xml", w.id),
                html_url: Some(format!("{base}/public")),
                level: w.level.map(|l| model::level_zh(l).to_string()),
                event: w.event_name.clone(),
            }
        })
        .collect();
    let updated = entries.iter().map(|e| e.updated_ms).max().unwrap_or(now_ms);
    let feed = atom::feed(
        &format!("{}预警信息", state.settings.warning.sender_name),
        &format!("urn:yingji:{}:warnings", store::DISTRICT_CODE),
        &format!("{base}/public/warnings.atom"),
        updated,
        &entries,
    );
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        feed,
    )
        .into_response())
}

/// A public warning's CAP document (published or relayed ones, in force or past).
async fn public_cap(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let w = store::get(&state.db, &id, now())
        .await?
        .ok_or(ApiError::NotFound)?;
    if w.scope != "public" || w.state.is_unpublished() || w.state == model::State::Imported {
        return Err(ApiError::NotFound);
    }
    let xml = store::cap_xml(&state.db, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(xml_response(xml))
}

/// The routes that answer without a login (listed in `app::PUBLIC_ROUTES`).
pub fn public_router() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/public/warnings.atom", get(public_atom))
        .route("/public/warnings.json", get(public_json))
        .route("/public/warnings/{id}/cap.xml", get(public_cap))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(approval_queue))
        .routes(routes!(preview))
        .routes(routes!(import))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(submit))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(publish))
        .routes(routes!(start_update))
        .routes(routes!(cancel))
        .routes(routes!(relay))
        .routes(routes!(cap_xml))
        .routes(routes!(timeline))
        .routes(routes!(relay_board))
        .routes(routes!(relays))
        .routes(routes!(acknowledge))
        .routes(routes!(dissemination))
        .routes(routes!(map_layer))
}
