//! Live events: what changed, pushed to browsers over Server-Sent Events (`GET /api/v1/events`).
//!
//! Every event is first a row of the `events` table, written in the same transaction as the
//! change it reports, so an event exists exactly when its change does. After the commit the
//! writer wakes the [`EventBus`], whose dispatcher reads the new rows in id order and fans them
//! out to the connected streams of this instance. With PostgreSQL, the insert also sends a
//! `NOTIFY`, delivered at commit to every instance's `LISTEN`, so a change made on one instance
//! reaches the browsers connected to the others; SQLite has one instance and needs nothing more.
//! A one-second poll backs both up.
//!
//! A stream resumes after a reconnect from the browser's `Last-Event-ID`: the rows after it are
//! replayed from the table (kept [`EVENT_RETENTION_MS`]) before live events continue.
//!
//! **Invariant:** ids become visible in increasing order. SQLite has one writer; on PostgreSQL
//! the insert takes a transaction-scoped advisory lock, so two transactions cannot commit
//! their event ids out of order and a dispatcher that has read up to id N never misses a
//! smaller id committed later.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::{Notify, broadcast};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::app::AppState;
use crate::auth::{CurrentUser, Permission, Scope};
use crate::db::{Db, DbError, Sql, Tx};
use crate::error::ApiError;

/// How long events are kept for resuming streams.
pub const EVENT_RETENTION_MS: i64 = 3 * 86_400_000;

/// The PostgreSQL notification channel that carries "new events" between instances.
const PG_CHANNEL: &str = "yingji_events";

/// Key of the advisory lock that orders event inserts on PostgreSQL ("yj" + 120114, the
/// district's code, to stay clear of other users of advisory locks).
const PG_EVENT_LOCK: i64 = 0x796a_0001_d532;

/// Most events replayed to one resuming stream; older ones are skipped.
const MAX_REPLAY: i64 = 10_000;

/// One live event.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub at: i64,
    /// The SSE event name, e.g. `alarm`.
    pub topic: String,
    /// The town the event belongs to; `None` with no enterprise means district-wide.
    pub town_code: Option<String>,
    pub enterprise_id: Option<String>,
    /// The JSON data.
    pub payload: String,
}

/// The town code of events for the district's own staff only (drafts, restricted warnings,
/// escalations): the district's code, which no town or enterprise scope allows.
pub const DISTRICT_STAFF: &str = crate::DISTRICT_CODE;

impl Event {
    /// Whether a user with `scope` may receive the event: district-wide events go to everyone,
    /// events of [`DISTRICT_STAFF`] to district roles only, the others by the same rule as the
    /// records they describe.
    pub fn visible_to(&self, scope: &Scope) -> bool {
        match (&self.town_code, &self.enterprise_id) {
            (None, None) => true,
            (town, enterprise) => {
                scope.allows(town.as_deref().unwrap_or(""), enterprise.as_deref())
            }
        }
    }
}

/// Writes an event row inside `tx`; the caller wakes the bus after committing.
pub async fn publish(
    tx: &mut Tx,
    at: i64,
    topic: &str,
    town_code: Option<&str>,
    enterprise_id: Option<&str>,
    payload: &serde_json::Value,
) -> Result<i64, DbError> {
    if matches!(tx, Tx::Postgres(_)) {
        tx.execute(&Sql::new("SELECT pg_advisory_xact_lock($1)").bind(PG_EVENT_LOCK))
            .await?;
    }
    let id: i64 = tx
        .fetch_scalar(
            &Sql::new(
                "INSERT INTO events (at, topic, town_code, enterprise_id, payload) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(at)
            .bind(topic)
            .bind(town_code.map(str::to_string))
            .bind(enterprise_id.map(str::to_string))
            .bind(payload.to_string()),
        )
        .await?;
    if matches!(tx, Tx::Postgres(_)) {
        tx.execute(&Sql::new("SELECT pg_notify($1, '')").bind(PG_CHANNEL))
            .await?;
    }
    Ok(id)
}

async fn events_after(db: &Db, after: i64, limit: i64) -> Result<Vec<Event>, DbError> {
    db.fetch_all(
        &Sql::new(
            "SELECT id, at, topic, town_code, enterprise_id, payload FROM events \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit),
    )
    .await
}

/// Fans committed events out to the streams of this instance.
pub struct EventBus {
    db: Db,
    sender: broadcast::Sender<Arc<Event>>,
    wake: Notify,
    /// The highest id dispatched so far.
    dispatched: AtomicI64,
    /// Set when the server shuts down: open streams end, so graceful shutdown does not wait
    /// for browsers to hang up.
    closing: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("dispatched", &self.dispatched.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl EventBus {
    /// A bus that starts after the newest stored event (older ones are only replayed on request).
    pub async fn open(db: Db) -> Result<Arc<EventBus>, DbError> {
        let last: i64 = db
            .fetch_scalar(&Sql::new(
                "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM events",
            ))
            .await?;
        let (sender, _) = broadcast::channel(4096);
        Ok(Arc::new(EventBus {
            db,
            sender,
            wake: Notify::new(),
            dispatched: AtomicI64::new(last),
            closing: tokio::sync::watch::Sender::new(false),
        }))
    }

    /// Tells the dispatcher that events were committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Ends every open stream (at shutdown).
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// Reads and broadcasts every committed event not dispatched yet; returns how many.
    pub async fn dispatch_pending(&self) -> Result<usize, DbError> {
        let mut total = 0;
        loop {
            let after = self.dispatched.load(Ordering::Acquire);
            let batch = events_after(&self.db, after, 1000).await?;
            let Some(last) = batch.last().map(|e| e.id) else {
                return Ok(total);
            };
            total += batch.len();
            for event in batch {
                // No receiver is not an error: nobody is watching.
                let _ = self.sender.send(Arc::new(event));
            }
            self.dispatched.store(last, Ordering::Release);
        }
    }

    /// Runs the dispatcher until stopped: on every wake, on every PostgreSQL notification
    /// and at least once a second.
    pub fn start(self: &Arc<Self>) -> BusTask {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let bus = self.clone();
        let handle = tokio::spawn(async move {
            let listener = bus.start_pg_listener(stopped.clone());
            let mut stopped = stopped;
            loop {
                if let Err(e) = bus.dispatch_pending().await {
                    tracing::warn!(error = %e, "cannot read new events");
                }
                tokio::select! {
                    _ = stopped.wait_for(|s| *s) => break,
                    _ = bus.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            if let Some(l) = listener {
                l.abort();
                let _ = l.await;
            }
        });
        BusTask { stop, handle }
    }

    /// With PostgreSQL, wakes the dispatcher on every notification from any instance.
    fn start_pg_listener(
        self: &Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let Db::Postgres(pool) = &self.db else {
            return None;
        };
        let pool = pool.clone();
        let bus = self.clone();
        Some(tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect_with(&pool).await {
                    Ok(mut listener) => {
                        if let Err(e) = listener.listen(PG_CHANNEL).await {
                            tracing::warn!(error = %e, "cannot LISTEN for events");
                        } else {
                            loop {
                                tokio::select! {
                                    _ = stop.wait_for(|s| *s) => return,
                                    n = listener.recv() => match n {
                                        Ok(_) => bus.wake(),
                                        Err(e) => {
                                            tracing::warn!(error = %e, "event notifications interrupted");
                                            break;
                                        }
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot connect for event notifications"),
                }
                // The one-second poll covers the gap; retry the listener in a while.
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
        }))
    }

    /// Deletes events older than the retention.
    pub async fn purge(&self, now_ms: i64) -> Result<u64, DbError> {
        self.db
            .execute(
                &Sql::new("DELETE FROM events WHERE at < $1").bind(now_ms - EVENT_RETENTION_MS),
            )
            .await
    }
}

/// The running dispatcher.
pub struct BusTask {
    stop: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

impl BusTask {
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.handle.await;
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Resume after this event id, for clients that cannot send the `Last-Event-ID` header.
    pub last_event_id: Option<i64>,
}

/// Where a stream stands: events up to `last` were sent.
struct StreamState {
    db: Db,
    scope: Scope,
    rx: broadcast::Receiver<Arc<Event>>,
    last: i64,
    backlog: std::collections::VecDeque<Arc<Event>>,
    closing: tokio::sync::watch::Receiver<bool>,
}

impl StreamState {
    /// The next event this user may see, waiting for one if need be.
    async fn next_event(&mut self) -> Option<Arc<Event>> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                if e.id <= self.last {
                    continue;
                }
                self.last = e.id;
                if e.visible_to(&self.scope) {
                    return Some(e);
                }
                continue;
            }
            let received = tokio::select! {
                r = self.rx.recv() => r,
                _ = self.closing.wait_for(|c| *c) => return None,
            };
            match received {
                Ok(e) => self.backlog.push_back(e),
                // Too slow to keep up: catch up from the table instead.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    match events_after(&self.db, self.last, MAX_REPLAY).await {
                        Ok(rows) => self.backlog.extend(rows.into_iter().map(Arc::new)),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot replay events");
                            return None;
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// The live event stream of the user's scope (Server-Sent Events). Event names: `alarm`
/// (data `{"action", "alarm"}`). Resumes after `Last-Event-ID` (or `last_event_id`) with the
/// events missed in between, kept three days.
#[utoipa::path(get, path = "/events", tag = "monitor", params(StreamParams),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"),
        (status = 401, body = crate::error::ErrorBody)))]
async fn stream(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Query(p): Query<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let resume = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(|| ApiError::validation("Last-Event-ID", "expected an event id"))?,
        ),
        None => p.last_event_id,
    };
    let bus = &state.monitor.events;
    // Subscribe before reading the backlog, so nothing falls between the two.
    let rx = bus.subscribe();
    let mut st = StreamState {
        db: state.db.clone(),
        scope: user.scope(),
        rx,
        last: bus.dispatched.load(Ordering::Acquire),
        backlog: Default::default(),
        closing: bus.closing.subscribe(),
    };
    if let Some(after) = resume {
        let oldest_kept = st.last.saturating_sub(MAX_REPLAY).max(after);
        st.last = oldest_kept;
        let rows = events_after(&state.db, oldest_kept, MAX_REPLAY).await?;
        st.backlog.extend(rows.into_iter().map(Arc::new));
    }
    let live = futures::stream::unfold(st, |mut st| async move {
        let e = st.next_event().await?;
        let sse = SseEvent::default()
            .id(e.id.to_string())
            .event(e.topic.clone())
            .data(e.payload.clone());
        Some((Ok(sse), st))
    });
    // A first comment at once, so clients and proxies see the stream open without waiting
    // for the first event or keep-alive.
    let opened = futures::stream::once(async { Ok(SseEvent::default().comment("connected")) });
    let stream = futures::StreamExt::chain(opened, live);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(town: Option<&str>, enterprise: Option<&str>) -> Event {
        Event {
            id: 1,
            at: 0,
            topic: "alarm".into(),
            town_code: town.map(Into::into),
            enterprise_id: enterprise.map(Into::into),
            payload: "{}".into(),
        }
    }

    #[test]
    fn an_event_reaches_the_scopes_that_may_see_its_record() {
        let e = event(Some("120114001"), Some("ent-a"));
        assert!(e.visible_to(&Scope::District));
        assert!(e.visible_to(&Scope::Town("120114001".into())));
        assert!(!e.visible_to(&Scope::Town("120114002".into())));
        assert!(e.visible_to(&Scope::Enterprise("ent-a".into())));
        assert!(!e.visible_to(&Scope::Enterprise("ent-b".into())));
        let district_wide = event(None, None);
        assert!(district_wide.visible_to(&Scope::Town("120114002".into())));
        assert!(district_wide.visible_to(&Scope::Enterprise("ent-b".into())));
        let staff_only = event(Some(DISTRICT_STAFF), None);
        assert!(staff_only.visible_to(&Scope::District));
        assert!(!staff_only.visible_to(&Scope::Town("120114001".into())));
        assert!(!staff_only.visible_to(&Scope::Enterprise("ent-a".into())));
    }
}
