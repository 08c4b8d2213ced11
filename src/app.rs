//! The application: state, router, listener, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tokio::net::TcpListener;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::{router::OpenApiRouter, routes};
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Settings;
use crate::db::Db;
use crate::error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub monitor: Arc<crate::monitor::ingest::Monitor>,
}

/// Routes that answer without a login. Every other route takes a `CurrentUser` and so
/// answers 401 to an anonymous request; `tests/api_auth.rs` checks that against the OpenAPI
/// document.
pub const PUBLIC_ROUTES: &[&str] = &[
    "/healthz",
    "/metrics",
    "/api/v1/auth/login",
    "/api/v1/openapi.json",
    "/api/docs",
    "/public/warnings.atom",
    "/public/warnings.json",
    "/public/warnings/{id}/cap.xml",
    "/public/subscribe",
    "/public/unsubscribe",
];

#[derive(OpenApi)]
#[openapi(
    info(title = "Yingji (应急) API", description = "Emergency-management platform of the Wuqing District. \
        Errors are `{\"error\": {\"code\", \"message\", \"field\"}}`; lists are `{\"items\", \"total\"}` with `limit`/`offset`; \
        times are RFC 3339 UTC; coordinates WGS84 longitude/latitude."),
    modifiers(&SecurityAddon),
    security(("bearer" = []), ("cookie" = [])),
    tags(
        (name = "auth", description = "Login, logout, the current user"),
        (name = "users", description = "User accounts (administrators)"),
        (name = "audit", description = "Audit log of every change"),
        (name = "registry", description = "Administrative units, enterprises, facilities"),
        (name = "map", description = "GeoJSON layers of the one-map"),
        (name = "meta", description = "Reference lists and capabilities"),
        (name = "hazard", description = "Major hazard sources (GB 18218-2018)"),
        (name = "rules", description = "Standards calculators"),
        (name = "monitor", description = "Sensors, ingest, readings and alarms"),
        (name = "dualprev", description = "Dual prevention: risk points, check tasks, hidden dangers, safety commitments"),
        (name = "warning", description = "Early warning: CAP 1.2 warnings, approval, relay to towns, dissemination, coverage"),
        (name = "ops", description = "Health and metrics"),
    )
)]
struct ApiDoc;

struct SecurityAddon;

#[cfg(test)]
mod tests {
    #[test]
    fn a_json_rejection_names_the_field_serde_blamed() {
        let m = "Failed to deserialize the JSON body into the target type: substances[0].quantity_t: invalid type: null, expected f64 at line 1 column 60";
        assert_eq!(
            super::rejected_field(m).as_deref(),
            Some("substances[0].quantity_t")
        );
        assert_eq!(
            super::rejected_field(
                "Failed to parse the request body as JSON: expected value at line 1 column 2"
            ),
            None
        );
    }
}

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Token from POST /api/v1/auth/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "ingest_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Per-enterprise ingest token from POST /api/v1/enterprises/{id}/ingest-tokens"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "Session cookie set by login",
            ))),
        );
    }
}

/// 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/healthz", tag = "ops", security(()),
    responses((status = 200, description = "Healthy", body = serde_json::Value), (status = 503, description = "Database unreachable", body = serde_json::Value)))]
async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => axum::Json(serde_json::json!({"status": "ok", "database": format!("{:?}", state.db.backend()).to_lowercase()})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({"status": "unavailable"}))).into_response()
        }
    }
}

/// Prometheus metrics in the text exposition format, labelled by route pattern.
#[utoipa::path(get, path = "/metrics", tag = "ops", security(()),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(),
    )
        .into_response()
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound
}

/// Rejections produced by axum's extractors (bad JSON, bad query, wrong method) come as plain
/// text; API clients get the same JSON error body as everywhere else.
async fn json_errors(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&bytes).trim().to_string();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::NOT_FOUND => "not_found",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if message.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        message
    };
    let body = match rejected_field(&message) {
        Some(field) => {
            serde_json::json!({"error": {"code": code, "message": message, "field": field}})
        }
        None => serde_json::json!({"error": {"code": code, "message": message}}),
    };
    // The status stays: axum answers 400 for malformed JSON and 422 for JSON of the wrong shape.
    (status, axum::Json(body)).into_response()
}

/// The field serde blamed in a JSON body rejection ("… target type: substances[0].quantity_t:
/// invalid type: null …"), so forms can mark it.
fn rejected_field(message: &str) -> Option<String> {
    let rest = message.split_once("target type: ")?.1;
    let (path, _) = rest.split_once(": ")?;
    let looks_like_path = !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'));
    looks_like_path.then(|| path.to_string())
}

async fn track_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| {
            if req.uri().path().starts_with("/api/") {
                "unmatched".into()
            } else {
                "static".into()
            }
        });
    let method = req.method().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    crate::metrics::record_request(&method, &route, resp.status().as_u16(), started.elapsed());
    resp
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(crate::auth::routes::router())
        .merge(crate::audit::router())
        .merge(crate::meta::router())
        .merge(crate::registry::routes::router())
        .merge(crate::hazard::routes::router())
        .merge(crate::monitor::sensors::router())
        .merge(crate::monitor::ingest::router())
        .merge(crate::monitor::alarms::routes::router())
        .merge(crate::events::router())
        .merge(crate::monitor::gateway::router())
        .merge(crate::dualprev::hidden_routes::router())
        .merge(crate::dualprev::risk_routes::router())
        .merge(crate::dualprev::checks::router())
        .merge(crate::dualprev::stats::router())
        .merge(crate::dualprev::commitments::router())
        .merge(crate::dualprev::report::router())
        .merge(crate::warning::routes::router())
        .merge(crate::warning::dispatch::routes::router())
}

/// The whole router and its OpenAPI document.
pub fn router(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let body_limit = state.settings.import.max_bytes + 1024 * 1024;
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(metrics))
        .nest("/api/v1", api_routes())
        .merge(crate::warning::dispatch::routes::public_router())
        .split_for_parts();
    let router = api
        .merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", openapi.clone()))
        .merge(crate::warning::routes::public_router())
        .route("/api/{*rest}", any(api_not_found))
        .fallback_service(crate::web::router::<()>())
        .layer(middleware::from_fn(json_errors))
        .route_layer(middleware::from_fn(track_metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);
    (router, openapi)
}

/// A built application: connected, migrated and bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    db: Db,
    monitor: Arc<crate::monitor::ingest::Monitor>,
    mqtt: Option<crate::monitor::mqtt::MqttConfig>,
    tick_ms: u64,
    settings: Arc<Settings>,
}

impl Application {
    /// Connects to the configured database (running its migrations) and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let db = Db::connect(&settings.db).await?;
        Application::build_with_db(settings, db).await
    }

    /// Binds the listener (`127.0.0.1:0` picks a free port) for an already connected store.
    pub async fn build_with_db(mut settings: Settings, db: Db) -> anyhow::Result<Application> {
        crate::metrics::init();
        let listener = TcpListener::bind(&settings.bind).await?;
        // CAP documents, e-mails and webhooks link to the public page and CAP files: without a
        // configured address, the address this server answers on is the best guess.
        if settings.warning.public_url.trim().is_empty() {
            let addr = listener.local_addr()?;
            if addr.ip().is_unspecified() {
                tracing::warn!(
                    "warning.public_url is not set and the server listens on every interface: links in CAP messages, \
                     e-mails and webhooks are relative; set it to the platform's public address"
                );
            } else {
                settings.warning.public_url = format!("http://{addr}");
            }
        }
        let mqtt = crate::monitor::mqtt::MqttConfig::from_settings(
            &settings.monitor,
            listener.local_addr()?.port(),
        )
        .map_err(|e| anyhow::anyhow!("monitor.mqtt_url: {e}"))?;
        let monitor = Arc::new(
            crate::monitor::ingest::Monitor::open(
                db.clone(),
                settings.monitor.store_config(),
                settings.monitor.ingest_limits(),
                settings.monitor.alarm_options(),
            )
            .await?,
        );
        let tick_ms = settings.monitor.tick_ms;
        let settings = Arc::new(settings);
        let state = AppState {
            db: db.clone(),
            settings: settings.clone(),
            monitor: monitor.clone(),
        };
        let (router, _) = router(state);
        Ok(Application {
            listener,
            router,
            db,
            monitor,
            mqtt,
            tick_ms,
            settings,
        })
    }

    /// The monitoring service: for in-process producers of readings (the demo's simulator) and
    /// for callers that drive its clock ([`Monitor::tick`](crate::monitor::ingest::Monitor::tick)).
    pub fn monitor(&self) -> Arc<crate::monitor::ingest::Monitor> {
        self.monitor.clone()
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and closes the store.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // Warnings go out from the delivery queue (`dissemination.tick_ms`, 0: not here).
        let dispatcher = crate::warning::dispatch::Dispatcher::spawn(
            self.db.clone(),
            self.settings.clone(),
            Some(self.monitor.events.clone()),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        // Compaction, merging and retention purges run beside the server.
        let background = self.monitor.store.start_background();
        // Live events reach the streams; offline and escalation deadlines are checked.
        let bus = self.monitor.events.start();
        let ticker = (self.tick_ms > 0).then(|| {
            self.monitor
                .start_ticker(std::time::Duration::from_millis(self.tick_ms))
        });
        // MQTT ingest runs beside HTTP and stops after it, before the store closes, so the
        // batches it is storing still get their PUBACK.
        let mqtt = self
            .mqtt
            .map(|cfg| crate::monitor::mqtt::MqttSubscriber::start(cfg, self.monitor.clone()));
        let events = self.monitor.events.clone();
        let served = axum::serve(self.listener, self.router.into_make_service())
            .with_graceful_shutdown(async move {
                shutdown.await;
                events.close_streams();
            })
            .await;
        if let Some(mqtt) = mqtt {
            mqtt.stop().await;
        }
        if let Some(t) = ticker {
            t.stop().await;
        }
        if let Some(d) = dispatcher {
            d.stop().await;
        }
        bus.stop().await;
        served?;
        background.stop().await;
        self.db.close().await;
        Ok(())
    }
}

/// The platform's periodic work at `now_ms`: monitoring (sensor and enterprise offline,
/// alarm escalation) and dual prevention (hidden dangers past their deadline). The server runs
/// it every `monitor.tick_ms`; tests call it with the time they choose.
pub async fn tick(
    monitor: &crate::monitor::ingest::Monitor,
    now_ms: i64,
) -> Result<(), crate::db::DbError> {
    monitor.tick(now_ms).await?;
    if crate::dualprev::hidden::sweep_overdue(monitor.db(), now_ms).await? > 0 {
        monitor.events.wake();
    }
    match crate::warning::store::sweep(monitor.db(), now_ms).await {
        Ok(0) => {}
        Ok(_) => monitor.events.wake(),
        Err(crate::error::ApiError::Internal(e)) => tracing::warn!("warning sweep: {e:#}"),
        Err(e) => tracing::warn!("warning sweep: {e}"),
    }
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed by the call, not at the
/// first poll: call it before binding the listener, so that a signal sent as soon as the port
/// answers stops the server gracefully instead of killing it with the default action.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        {
            async fn wait(s: std::io::Result<tokio::signal::unix::Signal>, name: &str) {
                match s {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for {name}");
                        std::future::pending::<()>().await;
                    }
                }
            }
            tokio::select! {
                _ = wait(signals.0, "SIGINT") => {},
                _ = wait(signals.1, "SIGTERM") => {},
            }
        }
        #[cfg(not(unix))]
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}
