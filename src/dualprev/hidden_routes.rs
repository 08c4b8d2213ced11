//! HTTP routes of hidden dangers: report, list, detail, the state machine's moves, the boards,
//! photos, and the one action that turns a monitoring alarm into a hidden danger.

use axum::Json;
use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::hidden::{
    self, Board, Filter, HdActor, HiddenDanger, HiddenDangerDetail, Move, NewHiddenDanger,
};
use super::rules::{self, HdLevel, HdState, TransitionError};
use crate::app::AppState;
use crate::auth::{CurrentUser, Permission, Role, Scope};
use crate::error::{ApiError, ErrorBody};
use crate::input::{non_empty, optional_text, required_text};
use crate::paging::{Page, Paging};

/// A deadline or due date: RFC 3339, epoch ms, or a bare `YYYY-MM-DD` meaning the end of that
/// Asia/Shanghai day.
pub fn parse_deadline(field: &str, v: &str) -> Result<i64, ApiError> {
    let v = v.trim();
    if let Some(day) = rules::parse_day(v) {
        return Ok(rules::end_of_day_ms(day));
    }
    crate::time::parse_time(v).ok_or_else(|| {
        ApiError::validation(
            field,
            format!("{field} must be a date (YYYY-MM-DD) or an RFC 3339 time"),
        )
    })
}

fn actor(user: &CurrentUser) -> HdActor {
    HdActor {
        id: Some(user.id.clone()),
        name: if user.display_name.is_empty() {
            user.username.clone()
        } else {
            user.display_name.clone()
        },
        username: user.username.clone(),
    }
}

async fn visible(state: &AppState, user: &CurrentUser, id: &str) -> Result<HiddenDanger, ApiError> {
    let hd = hidden::get(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !user.scope().allows(&hd.town_code, Some(&hd.enterprise_id)) {
        return Err(ApiError::NotFound);
    }
    Ok(hd)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `reported`, `rectifying`, `awaiting_acceptance`, `closed`, or `open` (any but closed).
    pub state: Option<String>,
    /// `general` or `major`.
    pub level: Option<String>,
    pub source: Option<String>,
    pub category: Option<String>,
    pub town_code: Option<String>,
    pub enterprise_id: Option<String>,
    pub risk_point_id: Option<String>,
    /// `true`: open and past the deadline.
    pub overdue: Option<bool>,
    /// `true`: listed for supervision.
    pub supervised: Option<bool>,
    /// Found at or after (RFC 3339, epoch ms or YYYY-MM-DD in Asia/Shanghai).
    pub from: Option<String>,
    /// Found before.
    pub to: Option<String>,
    /// Text in the description, the location or the enterprise name.
    pub q: Option<String>,
}

/// A day bound of a list filter: `YYYY-MM-DD` is the start of that Shanghai day.
pub fn parse_from_to(field: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    non_empty(v)
        .map(|s| {
            if let Some(day) = rules::parse_day(s) {
                return Ok(rules::shanghai_ms(day, chrono::NaiveTime::MIN));
            }
            crate::time::parse_time(s).ok_or_else(|| {
                ApiError::validation(field, "expected YYYY-MM-DD, RFC 3339 or epoch milliseconds")
            })
        })
        .transpose()
}

impl ListParams {
    fn filter(&self) -> Result<Filter, ApiError> {
        let (state, open) = match non_empty(&self.state) {
            None => (None, false),
            Some("open") => (None, true),
            Some(s) => (
                Some(HdState::parse(s).ok_or_else(|| {
                    ApiError::validation(
                        "state",
                        "state must be reported, rectifying, awaiting_acceptance, closed or open",
                    )
                })?),
                false,
            ),
        };
        let level = non_empty(&self.level)
            .map(|l| {
                HdLevel::parse(l)
                    .ok_or_else(|| ApiError::validation("level", "level must be general or major"))
            })
            .transpose()?;
        let source = non_empty(&self.source).map(str::to_string);
        if let Some(s) = &source
            && !rules::is_key(&rules::SOURCES, s)
        {
            return Err(ApiError::validation(
                "source",
                format!("unknown source {s}"),
            ));
        }
        let category = non_empty(&self.category).map(str::to_string);
        if let Some(c) = &category
            && !rules::is_key(&rules::CATEGORIES, c)
        {
            return Err(ApiError::validation(
                "category",
                format!("unknown category {c}"),
            ));
        }
        Ok(Filter {
            state,
            open,
            level,
            source,
            category,
            town_code: non_empty(&self.town_code).map(str::to_string),
            enterprise_id: non_empty(&self.enterprise_id).map(str::to_string),
            risk_point_id: non_empty(&self.risk_point_id).map(str::to_string),
            overdue: self.overdue,
            supervised: self.supervised,
            from_ms: parse_from_to("from", &self.from)?,
            to_ms: parse_from_to("to", &self.to)?,
            q: non_empty(&self.q).map(str::to_string),
        })
    }
}

/// Hidden dangers in the caller's scope, newest found first.
#[utoipa::path(get, path = "/hidden-dangers", tag = "dualprev", params(ListParams, Paging),
    responses((status = 200, body = Page<HiddenDanger>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<HiddenDanger>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let (items, total) = hidden::list(
        &state.db,
        &user.scope(),
        &params.filter()?,
        paging.checked()?,
    )
    .await?;
    Ok(Json(Page { items, total }))
}

/// Counts per state, overdue, open major and supervised, in the caller's scope.
#[utoipa::path(get, path = "/hidden-dangers/board", tag = "dualprev",
    responses((status = 200, body = Board), (status = 401, body = ErrorBody)))]
async fn board(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Board>, ApiError> {
    user.require(Permission::RegistryRead)?;
    Ok(Json(hidden::board(&state.db, &user.scope()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SupervisionParams {
    /// `town` or `district`.
    pub level: Option<String>,
}

/// The supervision board (挂牌督办): major hidden dangers listed for supervision and not yet
/// closed, the earliest due first.
#[utoipa::path(get, path = "/hidden-dangers/supervision", tag = "dualprev", params(SupervisionParams),
    responses((status = 200, body = Page<HiddenDanger>), (status = 401, body = ErrorBody)))]
async fn supervision(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<SupervisionParams>,
) -> Result<Json<Page<HiddenDanger>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let level = match non_empty(&p.level) {
        None => None,
        Some(l @ ("town" | "district")) => Some(l),
        Some(_) => {
            return Err(ApiError::validation(
                "level",
                "level must be town or district",
            ));
        }
    };
    let items = hidden::supervision_board(&state.db, &user.scope(), level).await?;
    Ok(Json(Page {
        total: items.len() as i64,
        items,
    }))
}

/// One hidden danger with its timeline and photos.
#[utoipa::path(get, path = "/hidden-dangers/{id}", tag = "dualprev", params(("id" = String, Path)),
    responses((status = 200, body = HiddenDangerDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<HiddenDangerDetail>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let hidden_danger = visible(&state, &user, &id).await?;
    Ok(Json(HiddenDangerDetail {
        timeline: hidden::timeline(&state.db, &id).await?,
        photos: hidden::photos(&state.db, &id).await?,
        hidden_danger,
    }))
}

/// A hidden danger as reported.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HiddenDangerInput {
    /// Optional for an enterprise user (their own enterprise).
    pub enterprise_id: Option<String>,
    #[serde(default)]
    pub location: String,
    pub description: String,
    /// `self_check`, `inspection`, `grid_patrol`, `public_report` or `sensor_alarm`.
    pub source: String,
    pub category: String,
    /// `general` or `major`.
    pub level: String,
    /// Who found it; default: the reporting user.
    pub found_by: Option<String>,
    /// When it was found; default: now.
    pub found_at: Option<String>,
    pub risk_point_id: Option<String>,
    /// Rectification deadline set at reporting (e.g. by an inspector); the plan may set it later.
    pub deadline: Option<String>,
}

/// Validates a report against the caller's scope; the enterprise decides the town.
pub async fn validate_new(
    state: &AppState,
    user: &CurrentUser,
    input: &HiddenDangerInput,
    now_ms: i64,
) -> Result<NewHiddenDanger, ApiError> {
    user.require(Permission::HiddenDangerReport)?;
    let enterprise_id = match (non_empty(&input.enterprise_id), user.scope()) {
        (Some(e), _) => e.to_string(),
        (None, Scope::Enterprise(own)) => own,
        (None, _) => {
            return Err(ApiError::validation(
                "enterprise_id",
                "enterprise_id is required",
            ));
        }
    };
    let enterprise = crate::registry::store::get_enterprise(&state.db, &enterprise_id)
        .await?
        .filter(|e| user.scope().allows(&e.town_code, Some(&e.id)))
        .ok_or_else(|| {
            ApiError::validation(
                "enterprise_id",
                format!("unknown enterprise {enterprise_id}"),
            )
        })?;
    let description = required_text("description", &input.description, 4000)?;
    let location = input.location.trim().to_string();
    if location.chars().count() > 500 {
        return Err(ApiError::validation(
            "location",
            "location is longer than 500 characters",
        ));
    }
    let source = input.source.trim().to_string();
    if !rules::is_key(&rules::SOURCES, &source) {
        return Err(ApiError::validation(
            "source",
            "source must be self_check, inspection, grid_patrol, public_report or sensor_alarm",
        ));
    }
    let category = input.category.trim().to_string();
    if !rules::is_key(&rules::CATEGORIES, &category) {
        return Err(ApiError::validation(
            "category",
            format!(
                "unknown category {category} (see GET /meta, dualprev.hidden_danger_categories)"
            ),
        ));
    }
    let level = HdLevel::parse(&input.level)
        .ok_or_else(|| ApiError::validation("level", "level must be general or major"))?;
    let found_at = match non_empty(&input.found_at) {
        None => now_ms,
        Some(s) => crate::time::parse_time(s)
            .ok_or_else(|| ApiError::validation("found_at", "found_at must be an RFC 3339 time"))?,
    };
    // A few minutes of clock skew between a phone and the server are tolerated.
    if found_at > now_ms + 5 * 60_000 {
        return Err(ApiError::validation(
            "found_at",
            "found_at is in the future",
        ));
    }
    let deadline = non_empty(&input.deadline)
        .map(|d| parse_deadline("deadline", d))
        .transpose()?;
    if deadline.is_some_and(|d| d <= found_at) {
        return Err(ApiError::validation(
            "deadline",
            "deadline must be after found_at",
        ));
    }
    let found_by = match non_empty(&input.found_by) {
        Some(f) => required_text("found_by", f, 100)?,
        None => actor(user).name,
    };
    let risk_point_id = non_empty(&input.risk_point_id).map(str::to_string);
    if let Some(rp) = &risk_point_id {
        let owner: Option<(String,)> = state
            .db
            .fetch_optional(
                &crate::db::Sql::new("SELECT enterprise_id FROM risk_points WHERE id = $1")
                    .bind(rp.as_str()),
            )
            .await?;
        if owner.map(|o| o.0) != Some(enterprise.id.clone()) {
            return Err(ApiError::validation(
                "risk_point_id",
                "no such risk point of this enterprise",
            ));
        }
    }
    Ok(NewHiddenDanger {
        enterprise_id: enterprise.id,
        town_code: enterprise.town_code,
        risk_point_id,
        alarm_id: None,
        location,
        description,
        source,
        category,
        level,
        found_by,
        found_at,
        deadline,
    })
}

/// Reports a hidden danger.
#[utoipa::path(post, path = "/hidden-dangers", tag = "dualprev", request_body = HiddenDangerInput,
    responses((status = 201, body = HiddenDanger), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<HiddenDangerInput>,
) -> Result<(StatusCode, Json<HiddenDanger>), ApiError> {
    let now = crate::db::now_ms();
    let new = validate_new(&state, &user, &input, now).await?;
    let mut tx = state.db.begin().await?;
    let hd = hidden::insert(&mut tx, &new, &actor(&user), now).await?;
    tx.commit().await?;
    state.monitor.events.wake();
    Ok((StatusCode::CREATED, Json(hd)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AlarmHiddenDangerInput {
    /// Default: what the alarm says.
    pub description: Option<String>,
    /// Default: `hazchem` for a level alarm, `equipment` otherwise.
    pub category: Option<String>,
    /// Default `general`.
    pub level: Option<String>,
    pub location: Option<String>,
    pub deadline: Option<String>,
}

/// Creates a hidden danger from a monitoring alarm (source `sensor_alarm`), linked both ways.
/// A second one for the same alarm is 409 naming the first.
#[utoipa::path(post, path = "/alarms/{id}/hidden-danger", tag = "dualprev", params(("id" = String, Path)),
    request_body = AlarmHiddenDangerInput,
    responses((status = 201, body = HiddenDanger), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn from_alarm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(alarm_id): Path<String>,
    body: Option<Json<AlarmHiddenDangerInput>>,
) -> Result<(StatusCode, Json<HiddenDanger>), ApiError> {
    user.require(Permission::HiddenDangerReport)?;
    let alarm = crate::monitor::alarms::store::get(&state.db, &alarm_id)
        .await?
        .filter(|a| user.scope().allows(&a.town_code, Some(&a.enterprise_id)))
        .ok_or(ApiError::NotFound)?;
    let existing: Option<(String,)> = state
        .db
        .fetch_optional(
            &crate::db::Sql::new("SELECT id FROM hidden_dangers WHERE alarm_id = $1")
                .bind(alarm_id.as_str()),
        )
        .await?;
    if let Some((id,)) = existing {
        return Err(ApiError::Conflict {
            field: Some("alarm_id".into()),
            message: format!("hidden danger {id} was already created from this alarm"),
        });
    }
    let b = body.map(|Json(b)| b).unwrap_or(AlarmHiddenDangerInput {
        description: None,
        category: None,
        level: None,
        location: None,
        deadline: None,
    });
    let what = [alarm.sensor_code.clone(), alarm.sensor_name.clone()]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let what = if what.is_empty() {
        alarm.enterprise_name.clone()
    } else {
        what
    };
    let unit = alarm.unit_of_measure.clone().unwrap_or_default();
    let default_description = match (alarm.raised_value, alarm.threshold) {
        (Some(v), Some(t)) => format!(
            "{what}：{}报警，读数 {v} {unit}，阈值 {t} {unit}（{}）",
            alarm.kind.code(),
            crate::time::shanghai(crate::time::parse_time(&alarm.raised_at).unwrap_or_default())
        ),
        _ => format!(
            "{what}：{}报警（{}）",
            alarm.kind.code(),
            crate::time::shanghai(crate::time::parse_time(&alarm.raised_at).unwrap_or_default())
        ),
    };
    let level_alarm = matches!(alarm.kind.code(), "HH" | "H" | "L" | "LL");
    let input = HiddenDangerInput {
        enterprise_id: Some(alarm.enterprise_id.clone()),
        location: b.location.unwrap_or_else(|| what.clone()),
        description: b.description.unwrap_or(default_description),
        source: "sensor_alarm".into(),
        category: b
            .category
            .unwrap_or_else(|| if level_alarm { "hazchem" } else { "equipment" }.into()),
        level: b.level.unwrap_or_else(|| "general".into()),
        found_by: None,
        found_at: Some(alarm.raised_at.clone()),
        risk_point_id: None,
        deadline: b.deadline,
    };
    let now = crate::db::now_ms();
    let mut new = validate_new(&state, &user, &input, now).await?;
    new.alarm_id = Some(alarm_id.clone());
    let mut tx = state.db.begin().await?;
    let hd = hidden::insert(&mut tx, &new, &actor(&user), now).await?;
    tx.commit().await?;
    state.monitor.events.wake();
    Ok((StatusCode::CREATED, Json(hd)))
}

/// The body of a move; which fields are needed depends on the move (see each route).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct MoveInput {
    pub measures: Option<String>,
    /// Yuan.
    pub funds: Option<f64>,
    pub responsible_person: Option<String>,
    /// YYYY-MM-DD (end of that day, Asia/Shanghai) or RFC 3339.
    pub deadline: Option<String>,
    pub contingency: Option<String>,
    /// What was done (submit).
    pub result: Option<String>,
    pub note: Option<String>,
    /// Evidence of the rectification (close; accept by the enterprise).
    pub evidence: Option<String>,
    /// Why acceptance failed (reject).
    pub reason: Option<String>,
    /// `town` or `district` (list).
    pub level: Option<String>,
    /// The supervising officer: a user id, or a name.
    pub officer_id: Option<String>,
    pub officer: Option<String>,
    /// Supervision due date (list).
    pub due: Option<String>,
}

/// Checks the body of `action` and builds the move. Role and state are checked before.
async fn build_move(
    state: &AppState,
    user: &CurrentUser,
    action: rules::HdAction,
    b: &MoveInput,
    now_ms: i64,
) -> Result<Move, ApiError> {
    use rules::HdAction::*;
    Ok(match action {
        Rectify => {
            let funds = b
                .funds
                .ok_or_else(|| ApiError::validation("funds", "funds is required (yuan)"))?;
            if !funds.is_finite() || funds < 0.0 {
                return Err(ApiError::validation("funds", "funds must be zero or more"));
            }
            let deadline = parse_deadline(
                "deadline",
                non_empty(&b.deadline)
                    .ok_or_else(|| ApiError::validation("deadline", "deadline is required"))?,
            )?;
            if deadline <= now_ms {
                return Err(ApiError::validation(
                    "deadline",
                    "deadline must be in the future",
                ));
            }
            Move::Rectify {
                measures: required_text(
                    "measures",
                    b.measures.as_deref().unwrap_or_default(),
                    4000,
                )?,
                funds,
                responsible_person: required_text(
                    "responsible_person",
                    b.responsible_person.as_deref().unwrap_or_default(),
                    100,
                )?,
                deadline,
                contingency: required_text(
                    "contingency",
                    b.contingency.as_deref().unwrap_or_default(),
                    4000,
                )?,
            }
        }
        Submit => Move::Submit {
            result: required_text("result", b.result.as_deref().unwrap_or_default(), 4000)?,
        },
        Accept => Move::Accept {
            note: optional_text("note", &b.note, 4000)?,
            // An enterprise accepting its own rectification must show evidence.
            evidence: if user.role == Role::Enterprise {
                Some(required_text(
                    "evidence",
                    b.evidence.as_deref().unwrap_or_default(),
                    4000,
                )?)
            } else {
                optional_text("evidence", &b.evidence, 4000)?
            },
        },
        Reject => Move::Reject {
            reason: required_text("reason", b.reason.as_deref().unwrap_or_default(), 4000)?,
        },
        Close => Move::Close {
            evidence: required_text("evidence", b.evidence.as_deref().unwrap_or_default(), 4000)?,
        },
        List => {
            let level = match non_empty(&b.level) {
                Some(l @ ("town" | "district")) => l.to_string(),
                _ => {
                    return Err(ApiError::validation(
                        "level",
                        "level must be town or district",
                    ));
                }
            };
            if user.role == Role::Town && level == "district" {
                return Err(ApiError::forbidden(
                    "town staff list hidden dangers for supervision at town level only",
                ));
            }
            let officer_id = non_empty(&b.officer_id).map(str::to_string);
            let mut officer = optional_text("officer", &b.officer, 100)?;
            if let Some(oid) = &officer_id {
                let found = crate::auth::store::get_user(&state.db, oid)
                    .await?
                    .ok_or_else(|| ApiError::validation("officer_id", "no such user"))?;
                if officer.is_none() {
                    officer = Some(if found.display_name.is_empty() {
                        found.username
                    } else {
                        found.display_name
                    });
                }
            }
            if officer.is_none() {
                return Err(ApiError::validation(
                    "officer",
                    "a supervising officer (officer_id or officer) is required",
                ));
            }
            let due = parse_deadline(
                "due",
                non_empty(&b.due).ok_or_else(|| ApiError::validation("due", "due is required"))?,
            )?;
            if due <= now_ms {
                return Err(ApiError::validation("due", "due must be in the future"));
            }
            Move::List {
                level,
                officer_id,
                officer,
                due,
                note: optional_text("note", &b.note, 4000)?,
            }
        }
    })
}

async fn act(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    action: rules::HdAction,
    body: Option<Json<MoveInput>>,
) -> Result<Json<HiddenDanger>, ApiError> {
    let before = visible(state, user, id).await?;
    let to =
        rules::transition(user.role, action, before.level, before.state).map_err(|e| match e {
            TransitionError::Forbidden(m) => ApiError::Forbidden(m),
            TransitionError::Conflict(m) => ApiError::Conflict {
                field: None,
                message: m,
            },
        })?;
    let now = crate::db::now_ms();
    let input = body.map(|Json(b)| b).unwrap_or_default();
    let mv = build_move(state, user, action, &input, now).await?;
    let mut tx = state.db.begin().await?;
    let after = hidden::apply_move(&mut tx, &before, to, &mv, &actor(user), now).await?;
    tx.commit().await?;
    state.monitor.events.wake();
    Ok(Json(after))
}

macro_rules! move_route {
    ($name:ident, $path:literal, $action:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "dualprev", params(("id" = String, Path)),
            request_body = MoveInput,
            responses((status = 200, body = HiddenDanger), (status = 401, body = ErrorBody),
                (status = 403, body = ErrorBody, description = "The role may not take this action"),
                (status = 404, body = ErrorBody),
                (status = 409, body = ErrorBody, description = "Not allowed in the current state"),
                (status = 422, body = ErrorBody)))]
        async fn $name(
            State(state): State<AppState>,
            user: CurrentUser,
            Path(id): Path<String>,
            body: Option<Json<MoveInput>>,
        ) -> Result<Json<HiddenDanger>, ApiError> {
            act(&state, &user, &id, $action, body).await
        }
    };
}

move_route!(
    rectify,
    "/hidden-dangers/{id}/rectify",
    rules::HdAction::Rectify,
    "Starts rectification with the five in place: `measures`, `funds`, `responsible_person`, `deadline`, `contingency` (the enterprise)."
);
move_route!(
    submit,
    "/hidden-dangers/{id}/submit",
    rules::HdAction::Submit,
    "Submits the rectification for acceptance with its `result` (the enterprise)."
);
move_route!(
    accept,
    "/hidden-dangers/{id}/accept",
    rules::HdAction::Accept,
    "Accepts the rectification and closes the hidden danger (验收销号). A major one: a supervisor or the town; a general one also the enterprise, with `evidence`."
);
move_route!(
    reject,
    "/hidden-dangers/{id}/reject",
    rules::HdAction::Reject,
    "Acceptance failed: back to rectifying, with the `reason`."
);
move_route!(
    close,
    "/hidden-dangers/{id}/close",
    rules::HdAction::Close,
    "The enterprise closes its own general hidden danger with `evidence`."
);
move_route!(
    list_for_supervision,
    "/hidden-dangers/{id}/list",
    rules::HdAction::List,
    "Lists a major hidden danger for supervision (挂牌督办): `level` (town or district), `officer_id` or `officer`, `due`, `note`."
);

/// Recognises the image types accepted for photos by their first bytes. Why by hand: three
/// fixed signatures, and the client's declared type is not to be trusted.
fn sniff_image(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(("image/png", "png"))
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else {
        None
    }
}

fn photo_path(state: &AppState, hd_id: &str, photo_id: &str) -> std::path::PathBuf {
    state
        .settings
        .data_dir
        .join("photos")
        .join(hd_id)
        .join(photo_id)
}

/// Adds a photo (multipart: `file`, optional `stage` = `found` or `rectified`). JPEG, PNG or
/// WebP by content, at most `dualprev.photo_max_bytes`.
#[utoipa::path(post, path = "/hidden-dangers/{id}/photos", tag = "dualprev", params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "fields `file` and optional `stage`"),
    responses((status = 201, body = hidden::Photo), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn upload_photo(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<(StatusCode, Json<hidden::Photo>), ApiError> {
    user.require(Permission::HiddenDangerReport)?;
    let hd = visible(&state, &user, &id).await?;
    if hd.state == HdState::Closed {
        return Err(ApiError::Conflict {
            field: None,
            message: "the hidden danger is closed".into(),
        });
    }
    let max = state.settings.dualprev.photo_max_bytes;
    let mut stage: Option<String> = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::BadRequest(format!("bad multipart body: {e}"))
    };
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("stage") => stage = Some(field.text().await.map_err(bad)?.trim().to_string()),
            Some("file") => {
                let name = field
                    .file_name()
                    .map(|n| n.chars().take(200).collect::<String>())
                    .unwrap_or_else(|| "photo".into());
                let mut bytes = Vec::new();
                // Read chunk by chunk so an oversized upload is refused without holding it.
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    if bytes.len() + chunk.len() > max {
                        return Err(ApiError::PayloadTooLarge(format!(
                            "the photo is larger than {max} bytes"
                        )));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    let (file_name, bytes) = file
        .ok_or_else(|| ApiError::validation("file", "a multipart field named file is required"))?;
    if bytes.is_empty() {
        return Err(ApiError::validation("file", "the file is empty"));
    }
    let (content_type, _ext) = sniff_image(&bytes).ok_or_else(|| {
        ApiError::validation("file", "the file must be a JPEG, PNG or WebP image")
    })?;
    let stage = match stage.as_deref().filter(|s| !s.is_empty()) {
        None => if hd.state == HdState::Reported {
            "found"
        } else {
            "rectified"
        }
        .to_string(),
        Some(s @ ("found" | "rectified")) => s.to_string(),
        Some(_) => {
            return Err(ApiError::validation(
                "stage",
                "stage must be found or rectified",
            ));
        }
    };
    let photo_id = crate::db::new_id();
    let path = photo_path(&state, &hd.id, &photo_id);
    let sha = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as i64;
    // The file goes in place first (written to a temporary name, then renamed); the row
    // follows. A failed insert removes the file, so no row ever points at nothing.
    let dir = path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let tmp = dir.join(format!("{photo_id}.part"));
    let written = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(&tmp, &bytes).await?;
        tokio::fs::rename(&tmp, &path).await
    }
    .await;
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(ApiError::Internal(anyhow::anyhow!(
            "cannot store photo: {e}"
        )));
    }
    let now = crate::db::now_ms();
    let stored = async {
        let mut tx = state.db.begin().await?;
        hidden::insert_photo(
            &mut tx,
            &hd,
            &photo_id,
            &stage,
            &file_name,
            content_type,
            size,
            &sha,
            &actor(&user),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok::<(), crate::db::DbError>(())
    }
    .await;
    if let Err(e) = stored {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(e.into());
    }
    state.monitor.events.wake();
    let photo = hidden::photo(&state.db, &hd.id, &photo_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, Json(photo.into_model())))
}

/// A photo of a hidden danger, only to those who may see the hidden danger.
#[utoipa::path(get, path = "/hidden-dangers/{id}/photos/{photo_id}", tag = "dualprev",
    params(("id" = String, Path), ("photo_id" = String, Path)),
    responses((status = 200, description = "The image", content_type = "image/jpeg"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_photo(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, photo_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    user.require(Permission::RegistryRead)?;
    let hd = visible(&state, &user, &id).await?;
    let photo = hidden::photo(&state.db, &hd.id, &photo_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let bytes = tokio::fs::read(photo_path(&state, &hd.id, &photo.id))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, photo = %photo.id, "photo file missing");
            ApiError::NotFound
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, photo.content_type),
            (header::CACHE_CONTROL, "private, max-age=86400".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        Body::from(bytes),
    )
        .into_response())
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(board))
        .routes(routes!(supervision))
        .routes(routes!(get_one))
        .routes(routes!(rectify))
        .routes(routes!(submit))
        .routes(routes!(accept))
        .routes(routes!(reject))
        .routes(routes!(close))
        .routes(routes!(list_for_supervision))
        .routes(routes!(upload_photo))
        .routes(routes!(get_photo))
        .routes(routes!(from_alarm))
}
