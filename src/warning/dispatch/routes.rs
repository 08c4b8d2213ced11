//! HTTP API of dissemination: subscribers (staff), public subscribe/unsubscribe, a warning's
//! deliveries, delivery statistics and coverage, the district coverage KPI.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::coverage::{self, CoverageKpi, WarningCoverage};
use super::subscribers::{self, ListParams, PublicSubscribe, Subscriber, SubscriberInput};
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::{CurrentUser, Permission, Role, Scope};
use crate::db::Sql;
use crate::error::{ApiError, ErrorBody};
use crate::paging::{Page, Paging};

/// Reading subscribers: those who manage them, and supervisors and leaders (read only).
fn may_read_subscribers(user: &CurrentUser) -> Result<(), ApiError> {
    if user.role.has(Permission::SubscriberManage)
        || matches!(user.role, Role::Supervisor | Role::Leader)
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "the {} role may not read subscribers",
            user.role.key()
        )))
    }
}

/// Deliveries and coverage: district roles and town users (their town), not enterprises.
fn may_read_dissemination(user: &CurrentUser) -> Result<(), ApiError> {
    if user.role == Role::Enterprise {
        return Err(ApiError::forbidden(
            "the enterprise role may not read dissemination figures",
        ));
    }
    user.require(Permission::RegistryRead)
}

fn own_town(user: &CurrentUser) -> Option<String> {
    match user.scope() {
        Scope::Town(t) => Some(t),
        _ => None,
    }
}

/// The warning's target towns; 404 when it does not exist or (for a town user) does not
/// concern the caller's town.
async fn visible_warning(state: &AppState, user: &CurrentUser, id: &str) -> Result<(), ApiError> {
    let towns: Option<(String,)> = state
        .db
        .fetch_optional(&Sql::new("SELECT town_codes FROM warnings WHERE id = $1").bind(id))
        .await?;
    let towns: Vec<String> = towns
        .map(|t| serde_json::from_str(&t.0).unwrap_or_default())
        .ok_or(ApiError::NotFound)?;
    match own_town(user) {
        Some(t) if !towns.contains(&t) => Err(ApiError::NotFound),
        _ => Ok(()),
    }
}

#[utoipa::path(get, path = "/subscribers", tag = "warning", params(ListParams, Paging),
    responses((status = 200, body = Page<Subscriber>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_subscribers(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ListParams>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<Subscriber>>, ApiError> {
    may_read_subscribers(&user)?;
    let (rows, total) = subscribers::list(&state.db, &user.scope(), &p, paging.checked()?).await?;
    Ok(Json(Page {
        items: rows.into_iter().map(Subscriber::from).collect(),
        total,
    }))
}

fn check_own_town(user: &CurrentUser, town_code: &str) -> Result<(), ApiError> {
    match own_town(user) {
        Some(t) if t != town_code => Err(ApiError::validation(
            "town_code",
            "a town user registers subscribers of their own town only",
        )),
        _ => Ok(()),
    }
}

#[utoipa::path(post, path = "/subscribers", tag = "warning", request_body = SubscriberInput,
    responses((status = 201, body = Subscriber), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The address is already subscribed for the town"), (status = 422, body = ErrorBody)))]
async fn create_subscriber(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<SubscriberInput>,
) -> Result<(StatusCode, Json<Subscriber>), ApiError> {
    user.require(Permission::SubscriberManage)?;
    let v = subscribers::validate(&input)?;
    check_own_town(&user, &v.town_code)?;
    subscribers::check_town(&state.db, &v.town_code).await?;
    let (s, _token) = subscribers::create(
        &state.db,
        &user.actor(),
        &v,
        "staff-entered",
        Some(&user.id),
        crate::db::now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(s)))
}

#[utoipa::path(put, path = "/subscribers/{id}", tag = "warning", params(("id" = String, Path)), request_body = SubscriberInput,
    responses((status = 200, body = Subscriber), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_subscriber(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(input): Json<SubscriberInput>,
) -> Result<Json<Subscriber>, ApiError> {
    user.require(Permission::SubscriberManage)?;
    let before = subscribers::get(&state.db, &id)
        .await?
        .filter(|s| user.scope().allows(&s.town_code, None))
        .ok_or(ApiError::NotFound)?;
    if before.unsubscribed_at.is_some() {
        return Err(ApiError::Conflict {
            field: None,
            message: "the subscriber has unsubscribed; register them again with their consent"
                .into(),
        });
    }
    let v = subscribers::validate(&input)?;
    check_own_town(&user, &v.town_code)?;
    subscribers::check_town(&state.db, &v.town_code).await?;
    let s = subscribers::update(&state.db, &user.actor(), &before, &v, crate::db::now_ms()).await?;
    Ok(Json(s))
}

#[utoipa::path(delete, path = "/subscribers/{id}", tag = "warning", params(("id" = String, Path)),
    responses((status = 204, description = "Unsubscribed (kept as history)"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_subscriber(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    user.require(Permission::SubscriberManage)?;
    subscribers::get(&state.db, &id)
        .await?
        .filter(|s| user.scope().allows(&s.town_code, None))
        .ok_or(ApiError::NotFound)?;
    subscribers::unsubscribe(&state.db, &user.actor(), &id, crate::db::now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Subscribed {
    pub id: String,
    /// Shown only now: the token in it is stored hashed.
    pub unsubscribe_url: String,
}

/// Self-registration of a member of the public (no login).
#[utoipa::path(post, path = "/public/subscribe", tag = "warning", security(()), request_body = PublicSubscribe,
    responses((status = 201, body = Subscribed), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn public_subscribe(
    State(state): State<AppState>,
    Json(input): Json<PublicSubscribe>,
) -> Result<(StatusCode, Json<Subscribed>), ApiError> {
    let v = subscribers::validate_public(&input)?;
    subscribers::check_town(&state.db, &v.town_code).await?;
    let (s, token) = subscribers::create(
        &state.db,
        &Actor::system("public"),
        &v,
        "public",
        None,
        crate::db::now_ms(),
    )
    .await?;
    let base = state.settings.warning.public_url.trim_end_matches('/');
    Ok((
        StatusCode::CREATED,
        Json(Subscribed {
            id: s.id,
            unsubscribe_url: format!("{base}/public/unsubscribe?token={token}"),
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenParam {
    /// The token of the unsubscribe URL.
    pub token: Option<String>,
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body style=\"font-family:sans-serif;max-width:32em;margin:2em auto\">\
         <h1>{title}</h1>{body}</body></html>"
    )
}

/// The unsubscribe page: what the link shows, with a button that unsubscribes (a GET never
/// unsubscribes, since mail scanners follow links).
#[utoipa::path(get, path = "/public/unsubscribe", tag = "warning", security(()), params(TokenParam),
    responses((status = 200, description = "HTML confirmation page", content_type = "text/html"),
        (status = 404, description = "Unknown token", content_type = "text/html")))]
async fn unsubscribe_page(
    State(state): State<AppState>,
    Query(p): Query<TokenParam>,
) -> Result<Response, ApiError> {
    let token = p.token.unwrap_or_default();
    let s = match token.trim() {
        "" => None,
        t => subscribers::by_token(&state.db, t).await?,
    };
    Ok(match s {
        None => (
            StatusCode::NOT_FOUND,
            Html(page(
                "退订预警信息",
                "<p>链接无效或已过期。The link is not valid.</p>",
            )),
        )
            .into_response(),
        Some(s) if s.unsubscribed_at.is_some() => Html(page(
            "已退订",
            "<p>您已退订武清区预警信息。You have unsubscribed.</p>",
        ))
        .into_response(),
        Some(s) => {
            let token_attr: String = token
                .trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                .collect();
            Html(page(
                "退订预警信息",
                &format!(
                    "<p>退订 {} 的武清区预警信息？Stop receiving warnings at {}?</p>\
                     <form method=\"post\" action=\"?token={token_attr}\"><button type=\"submit\">确认退订 Unsubscribe</button></form>",
                    subscribers::mask(&s.address),
                    subscribers::mask(&s.address)
                ),
            ))
            .into_response()
        }
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Unsubscribed {
    pub unsubscribed: bool,
}

/// Unsubscribes (the token from the query, or a JSON or form body `token`). Answers HTML to a
/// browser's form, JSON otherwise.
#[utoipa::path(post, path = "/public/unsubscribe", tag = "warning", security(()), params(TokenParam),
    responses((status = 200, body = Unsubscribed), (status = 404, body = ErrorBody)))]
async fn unsubscribe(
    State(state): State<AppState>,
    Query(p): Query<TokenParam>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, ApiError> {
    let from_body = || {
        serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("token")?.as_str().map(str::to_string))
            .or_else(|| {
                body.split('&')
                    .find_map(|kv| kv.strip_prefix("token=").map(str::to_string))
            })
    };
    let token = p
        .token
        .filter(|t| !t.trim().is_empty())
        .or_else(from_body)
        .unwrap_or_default();
    let s = match token.trim() {
        "" => None,
        t => subscribers::by_token(&state.db, t).await?,
    }
    .ok_or(ApiError::NotFound)?;
    subscribers::unsubscribe(
        &state.db,
        &Actor::system("public"),
        &s.id,
        crate::db::now_ms(),
    )
    .await?;
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    Ok(if wants_html {
        Html(page(
            "已退订",
            "<p>您已退订武清区预警信息。You have unsubscribed.</p>",
        ))
        .into_response()
    } else {
        Json(Unsubscribed { unsubscribed: true }).into_response()
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// queued, sending, delivered, failed (retrying) or dead.
    pub state: Option<String>,
    /// webhook, email, sms or live.
    pub channel: Option<String>,
    pub town_code: Option<String>,
    /// staff, enterprise or subscriber.
    pub recipient_kind: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    recipient_kind: String,
    recipient_id: String,
    town_code: Option<String>,
    channel: String,
    address: String,
    reach: i64,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    receipt: Option<String>,
    delivered_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub recipient_kind: String,
    pub recipient_id: String,
    pub town_code: Option<String>,
    pub channel: String,
    /// Masked unless the caller manages subscribers.
    pub address: String,
    pub reach: i64,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    /// The gateway's message id, HTTP status or SMTP reply.
    pub receipt: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn one_of(field: &str, v: &Option<String>, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match crate::input::non_empty(v) {
        None => Ok(None),
        Some(s) if allowed.contains(&s) => Ok(Some(s.to_string())),
        Some(_) => Err(ApiError::validation(
            field,
            format!("{field} must be one of {}", allowed.join(", ")),
        )),
    }
}

#[utoipa::path(get, path = "/warnings/{id}/deliveries", tag = "warning", params(("id" = String, Path), DeliveryParams, Paging),
    responses((status = 200, body = Page<Delivery>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn deliveries(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(p): Query<DeliveryParams>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<Delivery>>, ApiError> {
    may_read_dissemination(&user)?;
    let paging = paging.checked()?;
    visible_warning(&state, &user, &id).await?;
    let mut filter = Sql::new(" WHERE warning_id = ");
    let a = filter.arg(id.as_str());
    filter.push(&a);
    user.scope().filter(&mut filter, "town_code", None);
    for (col, v) in [
        ("state", one_of("state", &p.state, &super::DELIVERY_STATES)?),
        (
            "channel",
            one_of("channel", &p.channel, &super::DELIVERY_CHANNELS)?,
        ),
        (
            "recipient_kind",
            one_of(
                "recipient_kind",
                &p.recipient_kind,
                &["staff", "enterprise", "subscriber"],
            )?,
        ),
        (
            "town_code",
            crate::input::non_empty(&p.town_code).map(str::to_string),
        ),
    ] {
        if let Some(v) = v {
            let a = filter.arg(v);
            filter.push(&format!(" AND {col} = {a}"));
        }
    }
    let (rows, total) = state
        .db
        .fetch_page::<DeliveryRow>(
            "FROM deliveries",
            "SELECT id, recipient_kind, recipient_id, town_code, channel, address, reach, state, \
             attempts, next_attempt_at, last_error, receipt, delivered_at, created_at, updated_at FROM deliveries",
            filter,
            "ORDER BY id",
            Some(paging),
        )
        .await?;
    let full = user.role.has(Permission::SubscriberManage);
    let items = rows
        .into_iter()
        .map(|r| Delivery {
            id: r.id,
            recipient_kind: r.recipient_kind,
            recipient_id: r.recipient_id,
            town_code: r.town_code,
            channel: r.channel,
            address: if full || r.address.is_empty() {
                r.address
            } else {
                subscribers::mask(&r.address)
            },
            reach: r.reach,
            state: r.state,
            attempts: r.attempts,
            next_attempt_at: crate::time::rfc3339(r.next_attempt_at),
            last_error: r.last_error,
            receipt: r.receipt,
            delivered_at: r.delivered_at.map(crate::time::rfc3339),
            created_at: crate::time::rfc3339(r.created_at),
            updated_at: crate::time::rfc3339(r.updated_at),
        })
        .collect();
    Ok(Json(Page { items, total }))
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, ToSchema)]
pub struct StateCounts {
    pub queued: i64,
    pub sending: i64,
    pub delivered: i64,
    /// Failed, to be retried.
    pub failed: i64,
    pub dead: i64,
    pub total: i64,
}

impl StateCounts {
    fn add(&mut self, state: &str, n: i64) {
        match state {
            "queued" => self.queued += n,
            "sending" => self.sending += n,
            "delivered" => self.delivered += n,
            "failed" => self.failed += n,
            _ => self.dead += n,
        }
        self.total += n;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChannelCounts {
    pub channel: String,
    #[serde(flatten)]
    pub counts: StateCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeliveryStats {
    pub by_channel: Vec<ChannelCounts>,
    pub total: StateCounts,
}

#[utoipa::path(get, path = "/warnings/{id}/delivery-stats", tag = "warning", params(("id" = String, Path)),
    responses((status = 200, body = DeliveryStats), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delivery_stats(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<DeliveryStats>, ApiError> {
    may_read_dissemination(&user)?;
    visible_warning(&state, &user, &id).await?;
    let mut sql = Sql::new("SELECT channel, state, COUNT(*) FROM deliveries WHERE warning_id = ");
    let a = sql.arg(id.as_str());
    sql.push(&a);
    user.scope().filter(&mut sql, "town_code", None);
    sql.push(" GROUP BY channel, state");
    let rows: Vec<(String, String, i64)> = state.db.fetch_all(&sql).await?;
    let mut total = StateCounts::default();
    let mut by_channel: Vec<ChannelCounts> = super::DELIVERY_CHANNELS
        .iter()
        .map(|c| ChannelCounts {
            channel: c.to_string(),
            counts: StateCounts::default(),
        })
        .collect();
    for (channel, st, n) in rows {
        total.add(&st, n);
        if let Some(c) = by_channel.iter_mut().find(|c| c.channel == channel) {
            c.counts.add(&st, n);
        }
    }
    Ok(Json(DeliveryStats { by_channel, total }))
}

#[utoipa::path(get, path = "/warnings/{id}/coverage", tag = "warning", params(("id" = String, Path)),
    responses((status = 200, body = WarningCoverage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn warning_coverage(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<WarningCoverage>, ApiError> {
    may_read_dissemination(&user)?;
    visible_warning(&state, &user, &id).await?;
    let town = own_town(&user);
    coverage::warning_coverage(&state.db, &id, town.as_deref())
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KpiParams {
    /// Start (RFC 3339 or YYYY-MM-DD, Asia/Shanghai midnight), inclusive; default 30 days ago.
    pub from: Option<String>,
    /// End, exclusive; default now.
    pub to: Option<String>,
}

fn parse_bound(field: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    let Some(s) = crate::input::non_empty(v) else {
        return Ok(None);
    };
    if let Some(ms) = crate::time::parse_time(s) {
        return Ok(Some(ms));
    }
    let day = crate::dualprev::rules::parse_day(s).ok_or_else(|| {
        ApiError::validation(field, format!("{field} must be RFC 3339 or YYYY-MM-DD"))
    })?;
    use chrono::TimeZone;
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| Some(t.timestamp_millis()))
        .ok_or_else(|| ApiError::validation(field, format!("{field} is not a valid day")))
}

#[utoipa::path(get, path = "/warnings/coverage-kpi", tag = "warning", params(KpiParams),
    responses((status = 200, body = CoverageKpi), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn coverage_kpi(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<KpiParams>,
) -> Result<Json<CoverageKpi>, ApiError> {
    may_read_dissemination(&user)?;
    let now = crate::db::now_ms();
    let to = parse_bound("to", &p.to)?.unwrap_or(now);
    let from = parse_bound("from", &p.from)?.unwrap_or(to - 30 * 86_400_000);
    if from >= to {
        return Err(ApiError::validation("to", "to must be after from"));
    }
    let town = own_town(&user);
    Ok(Json(
        coverage::kpi(&state.db, from, to, town.as_deref()).await?,
    ))
}

/// The authenticated routes (under `/api/v1`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_subscribers, create_subscriber))
        .routes(routes!(update_subscriber, delete_subscriber))
        .routes(routes!(deliveries))
        .routes(routes!(delivery_stats))
        .routes(routes!(warning_coverage))
        .routes(routes!(coverage_kpi))
}

/// The public routes (at the root, no login; listed in `app::PUBLIC_ROUTES`).
pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_subscribe))
        .routes(routes!(unsubscribe_page, unsubscribe))
}
