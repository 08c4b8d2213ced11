//! The dispatcher: claims due deliveries in batches with a lease, sends them concurrently
//! (bounded per channel), and records each outcome: delivered with its receipt, retried with
//! exponential backoff, or dead. The queue lives in the database, so a restart loses nothing:
//! a lease that ran out (a crash mid-send) makes its delivery due again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures::StreamExt;

use super::channels::{
    Channel, ChannelConfigError, EmailChannel, LiveChannel, Outgoing, Receipt, SendError,
    SmsChannel, WarningMessage, WebhookChannel, http_client,
};
use crate::config::Settings;
use crate::db::{Db, DbError, Sql};
use crate::events::EventBus;

/// How often deliveries of channels without configuration are marked so, milliseconds.
const MARK_UNCONFIGURED_EVERY_MS: i64 = 60_000;
pub const NOT_CONFIGURED: &str = "channel not configured";

#[derive(Debug, Clone, sqlx::FromRow)]
struct Claimed {
    id: i64,
    warning_id: String,
    recipient_kind: String,
    recipient_id: String,
    town_code: Option<String>,
    channel: String,
    address: String,
    attempts: i64,
}

struct Lane {
    channel: Arc<dyn Channel>,
    concurrency: usize,
}

pub struct Dispatcher {
    db: Db,
    lanes: HashMap<&'static str, Lane>,
    unconfigured: Vec<&'static str>,
    batch_size: i64,
    lease_ms: i64,
    retry_base_ms: i64,
    retry_max_ms: i64,
    max_attempts: i64,
    last_mark: AtomicI64,
}

/// The running dispatcher of a server.
pub struct DispatcherTask {
    stop: Arc<tokio::sync::Notify>,
    handle: tokio::task::JoinHandle<()>,
}

impl DispatcherTask {
    /// Stops after the round in progress (its sends are recorded, nothing is left leased).
    pub async fn stop(self) {
        self.stop.notify_one();
        let _ = self.handle.await;
    }
}

impl Dispatcher {
    /// The channels the settings configure: webhook and live always, e-mail with an SMTP host,
    /// SMS with a gateway URL. `bus` is woken after live events are written.
    pub fn new(
        db: Db,
        settings: &Settings,
        bus: Option<Arc<EventBus>>,
    ) -> Result<Dispatcher, ChannelConfigError> {
        let s = &settings.dissemination;
        let public_url = settings.warning.public_url.as_str();
        let client = http_client(s);
        let mut lanes: HashMap<&'static str, Lane> = HashMap::new();
        let mut add = |ch: Arc<dyn Channel>, concurrency: usize| {
            lanes.insert(
                ch.key(),
                Lane {
                    channel: ch,
                    concurrency: concurrency.max(1),
                },
            );
        };
        add(
            Arc::new(WebhookChannel::new(client.clone(), s, public_url)),
            s.webhook_concurrency,
        );
        // Live events are one transaction each; a few at a time keep SQLite's writer free.
        add(Arc::new(LiveChannel::new(db.clone(), bus, public_url)), 4);
        if let Some(sms) = SmsChannel::new(client, s) {
            add(Arc::new(sms), s.sms_concurrency);
        }
        if let Some(email) = EmailChannel::new(s, public_url)? {
            add(Arc::new(email), s.email_concurrency);
        }
        let unconfigured = super::DELIVERY_CHANNELS
            .iter()
            .copied()
            .filter(|c| !lanes.contains_key(c))
            .collect();
        Ok(Dispatcher {
            db,
            lanes,
            unconfigured,
            batch_size: s.batch_size.max(1),
            lease_ms: s.lease_s * 1000,
            retry_base_ms: s.retry_base_s * 1000,
            retry_max_ms: s.retry_max_s * 1000,
            max_attempts: s.max_attempts,
            last_mark: AtomicI64::new(i64::MIN),
        })
    }

    /// Runs [`Dispatcher::run_once`] every `dissemination.tick_ms` with the wall clock until
    /// stopped. `None` when the setting is 0 (no dispatcher in this process).
    pub fn spawn(
        db: Db,
        settings: Arc<Settings>,
        bus: Option<Arc<EventBus>>,
    ) -> Result<Option<DispatcherTask>, ChannelConfigError> {
        let every = settings.dissemination.tick_ms;
        if every == 0 {
            return Ok(None);
        }
        let dispatcher = Dispatcher::new(db, &settings, bus)?;
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopped = stop.clone();
        let handle = tokio::spawn(async move {
            loop {
                match dispatcher.run_once(crate::db::now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(deliveries = n, "dispatched"),
                    Err(e) => tracing::warn!(error = %e, "dispatching warnings failed"),
                }
                tokio::select! {
                    _ = stopped.notified() => break,
                    _ = tokio::time::sleep(Duration::from_millis(every)) => {}
                }
            }
        });
        Ok(Some(DispatcherTask { stop, handle }))
    }

    /// The channels without configuration (their deliveries wait).
    pub fn unconfigured(&self) -> &[&'static str] {
        &self.unconfigured
    }

    /// Sends everything due at `now_ms`: leases that ran out are released, then batches are
    /// claimed, sent and recorded until nothing is due. Returns the sends attempted.
    pub async fn run_once(&self, now_ms: i64) -> Result<usize, DbError> {
        self.mark_unconfigured(now_ms).await?;
        self.release_expired(now_ms).await?;
        let mut messages: HashMap<String, Arc<WarningMessage>> = HashMap::new();
        let mut total = 0;
        loop {
            let batch = self.claim(now_ms).await?;
            if batch.is_empty() {
                break;
            }
            let n = batch.len();
            self.load_messages(&batch, &mut messages).await?;
            let outcomes = self.send_all(batch, &messages, now_ms).await;
            self.record(outcomes, now_ms).await?;
            total += n;
            if (n as i64) < self.batch_size {
                break;
            }
        }
        Ok(total)
    }

    /// Deliveries of channels without configuration stay queued, attempts untouched, with the
    /// reason shown; they go out once the channel is configured (and the server restarted).
    async fn mark_unconfigured(&self, now_ms: i64) -> Result<(), DbError> {
        let last = self.last_mark.load(Ordering::Relaxed);
        if self.unconfigured.is_empty()
            || (last != i64::MIN && now_ms - last < MARK_UNCONFIGURED_EVERY_MS)
        {
            return Ok(());
        }
        self.last_mark.store(now_ms, Ordering::Relaxed);
        let mut sql = Sql::new("UPDATE deliveries SET last_error = ");
        let reason = sql.arg(NOT_CONFIGURED);
        let now = sql.arg(now_ms);
        let list = super::in_list(
            &mut sql,
            &self
                .unconfigured
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>(),
        );
        sql.push(&format!(
            "{reason}, updated_at = {now} WHERE state IN ('queued', 'failed') \
             AND next_attempt_at <= {now} AND channel IN ({list}) \
             AND (last_error IS NULL OR last_error <> {reason})"
        ));
        self.db.execute(&sql).await?;
        Ok(())
    }

    /// A send that outlived its lease was interrupted (the process died, or the far end hung
    /// past every timeout): the delivery is due again, as a retry.
    async fn release_expired(&self, now_ms: i64) -> Result<u64, DbError> {
        self.db
            .execute(
                &Sql::new(
                    "UPDATE deliveries SET state = 'failed', next_attempt_at = $1, lease_until = NULL, \
                     last_error = 'interrupted: the lease ran out before the send was recorded', \
                     updated_at = $1 WHERE state = 'sending' AND lease_until <= $1",
                )
                .bind(now_ms),
            )
            .await
    }

    /// Takes up to a batch of due deliveries of configured channels: `sending`, leased, one
    /// attempt more (the attempt count fences a stale sender out of the row). On PostgreSQL,
    /// `SKIP LOCKED` lets several instances take disjoint batches; SQLite has one writer.
    async fn claim(&self, now_ms: i64) -> Result<Vec<Claimed>, DbError> {
        let mut sql =
            Sql::new("UPDATE deliveries SET state = 'sending', attempts = attempts + 1, ");
        let lease = sql.arg(now_ms + self.lease_ms);
        let now = sql.arg(now_ms);
        let channels: Vec<String> = self.lanes.keys().map(|c| c.to_string()).collect();
        sql.push(&format!(
            "lease_until = {lease}, updated_at = {now} WHERE id IN (SELECT id FROM deliveries \
             WHERE state IN ('queued', 'failed') AND next_attempt_at <= {now} AND channel IN ("
        ));
        let list = super::in_list(&mut sql, &channels);
        let limit = sql.arg(self.batch_size);
        sql.push(&format!(
            "{list}) ORDER BY next_attempt_at LIMIT {limit}{}) \
             RETURNING id, warning_id, recipient_kind, recipient_id, town_code, channel, address, attempts",
            match self.db {
                Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
                Db::Sqlite(_) => "",
            }
        ));
        self.db.fetch_all(&sql).await
    }

    async fn load_messages(
        &self,
        batch: &[Claimed],
        cache: &mut HashMap<String, Arc<WarningMessage>>,
    ) -> Result<(), DbError> {
        let mut missing: Vec<String> = batch
            .iter()
            .filter(|c| !cache.contains_key(&c.warning_id))
            .map(|c| c.warning_id.clone())
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new(format!(
            "SELECT {} FROM warnings WHERE id IN (",
            WarningMessage::COLUMNS
        ));
        let list = super::in_list(&mut sql, &missing);
        sql.push(&format!("{list})"));
        for w in self.db.fetch_all::<WarningMessage>(&sql).await? {
            cache.insert(w.id.clone(), Arc::new(w));
        }
        Ok(())
    }

    async fn send_all(
        &self,
        batch: Vec<Claimed>,
        messages: &HashMap<String, Arc<WarningMessage>>,
        now_ms: i64,
    ) -> Vec<(Claimed, Result<Receipt, SendError>)> {
        let mut by_lane: HashMap<&str, Vec<Claimed>> = HashMap::new();
        for c in batch {
            by_lane
                .entry(self.lane_key(&c.channel))
                .or_default()
                .push(c);
        }
        let lanes = by_lane.into_iter().map(|(key, rows)| async move {
            let Some(lane) = self.lanes.get(key) else {
                return rows
                    .into_iter()
                    .map(|c| (c, Err(SendError::Transient(NOT_CONFIGURED.into()))))
                    .collect::<Vec<_>>();
            };
            futures::stream::iter(rows)
                .map(|c| async move {
                    let Some(warning) = messages.get(&c.warning_id).cloned() else {
                        return (c, Err(SendError::Permanent("the warning is gone".into())));
                    };
                    let out = Outgoing {
                        delivery_id: c.id,
                        attempt: c.attempts,
                        recipient_kind: c.recipient_kind.clone(),
                        recipient_id: c.recipient_id.clone(),
                        town_code: c.town_code.clone(),
                        now_ms,
                        warning,
                    };
                    let r = lane.channel.send(&out, &c.address).await;
                    (c, r)
                })
                .buffer_unordered(lane.concurrency)
                .collect::<Vec<_>>()
                .await
        });
        futures::future::join_all(lanes)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    fn lane_key(&self, channel: &str) -> &'static str {
        super::DELIVERY_CHANNELS
            .iter()
            .copied()
            .find(|c| *c == channel)
            .unwrap_or("webhook")
    }

    /// Wait before attempt `attempts + 1`: base × 2^(attempts-1), at most max.
    pub fn backoff_ms(&self, attempts: i64) -> i64 {
        let doublings = (attempts - 1).clamp(0, 30) as u32;
        self.retry_base_ms
            .saturating_mul(1_i64 << doublings)
            .min(self.retry_max_ms)
    }

    /// Every outcome of a batch in one transaction; each update only touches the row if this
    /// sender still holds it (state `sending` at the attempt it claimed).
    async fn record(
        &self,
        outcomes: Vec<(Claimed, Result<Receipt, SendError>)>,
        now_ms: i64,
    ) -> Result<(), DbError> {
        let mut tx = self.db.begin().await?;
        // Successes mostly share their receipt ("HTTP 200"): one statement per receipt and
        // slice instead of one per row, which is what a round trip to PostgreSQL costs.
        let mut delivered: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        let mut others = Vec::new();
        for (c, r) in outcomes {
            match r {
                Ok(Receipt(receipt)) => delivered
                    .entry(receipt)
                    .or_default()
                    .push((c.id, c.attempts)),
                Err(e) => others.push((c, e)),
            }
        }
        for (receipt, rows) in delivered {
            for slice in rows.chunks(400) {
                let mut sql = Sql::new(
                    "UPDATE deliveries SET state = 'delivered', delivered_at = $1, receipt = $2, \
                     last_error = NULL, lease_until = NULL, updated_at = $1 \
                     WHERE state = 'sending' AND (id, attempts) IN (VALUES ",
                );
                sql.args.push(now_ms.into());
                sql.args.push(receipt.as_str().into());
                let pairs: Vec<String> = slice
                    .iter()
                    .map(|(id, attempts)| format!("({}, {})", sql.arg(*id), sql.arg(*attempts)))
                    .collect();
                sql.push(&pairs.join(", "));
                sql.push(")");
                tx.execute(&sql).await?;
            }
        }
        for (c, e) in others {
            let fence = " WHERE id = $3 AND state = 'sending' AND attempts = $4";
            let (text, error, backoff) = match e {
                SendError::Transient(e) if e == NOT_CONFIGURED => (
                    "UPDATE deliveries SET state = 'queued', attempts = attempts - 1, \
                     lease_until = NULL, last_error = $2, updated_at = $1",
                    e,
                    None,
                ),
                SendError::Transient(e) if c.attempts < self.max_attempts => (
                    "UPDATE deliveries SET state = 'failed', next_attempt_at = $1 + $5, \
                     lease_until = NULL, last_error = $2, updated_at = $1",
                    e,
                    Some(self.backoff_ms(c.attempts)),
                ),
                SendError::Transient(e) => (
                    "UPDATE deliveries SET state = 'dead', lease_until = NULL, last_error = $2, \
                     updated_at = $1",
                    format!("gave up after {} attempts: {e}", c.attempts),
                    None,
                ),
                SendError::Permanent(e) => (
                    "UPDATE deliveries SET state = 'dead', lease_until = NULL, last_error = $2, \
                     updated_at = $1",
                    e,
                    None,
                ),
            };
            let mut sql = Sql::new(format!("{text}{fence}"))
                .bind(now_ms)
                .bind(error)
                .bind(c.id)
                .bind(c.attempts);
            if let Some(wait) = backoff {
                sql = sql.bind(wait);
            }
            tx.execute(&sql).await?;
        }
        tx.commit().await
    }
}
