//! The live demo: simulated readings of every demo sensor, fed in-process through
//! [`Monitor::ingest`] (the path HTTP and MQTT readings take, minus the transport), first as
//! a backfilled history, then every few seconds while the demo runs.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;

use crate::db::{Db, DbError};
use crate::monitor::ingest::{IngestBatch, IngestError, IngestItem, Monitor, Timestamp};
use crate::monitor::simulate::{SimConfig, SimSensor, Simulator};

/// Batches stored at once: enough for the store's group commit to gather several of them
/// into one transaction, few enough not to hold thousands of batches in memory.
const CONCURRENT_BATCHES: usize = 8;

/// The simulated sensors with their keys in the reading store.
#[derive(Debug)]
pub struct LiveDemo {
    pub sim: Simulator,
    nums: Vec<u32>,
}

impl LiveDemo {
    /// Every sensor in the store, each enterprise a gateway, with demo event rates.
    /// Sensors created later are not fed: they belong to whoever created them.
    pub async fn load(db: &Db, seed: u64) -> Result<LiveDemo, DbError> {
        let mut sensors = Vec::new();
        let mut nums = Vec::new();
        for s in crate::monitor::sensors::all(db).await? {
            let Ok(num) = u32::try_from(s.num) else {
                continue;
            };
            let i = s.input;
            sensors.push(SimSensor {
                gateway: i.enterprise_id,
                code: i.code,
                kind: i.kind,
                range_min: i.range_min,
                range_max: i.range_max,
                ll: i.ll,
                l: i.l,
                h: i.h,
                hh: i.hh,
            });
            nums.push(num);
        }
        Ok(LiveDemo {
            sim: Simulator::new(
                sensors,
                // Livelier than a real district (0.4 excursions an hour), so that a visitor sees
                // alarms come and go within minutes rather than hours.
                SimConfig {
                    seed,
                    excursions_per_hour: 6.0,
                    faults_per_hour: 1.0,
                    ..SimConfig::default()
                },
            ),
            nums,
        })
    }

    pub fn sensor_count(&self) -> usize {
        self.nums.len()
    }

    /// Where the history to backfill starts: `history` before `now`, or just after the
    /// newest reading already stored when a previous run got further, so a restarted demo
    /// fills only its gap.
    pub async fn backfill_start(
        &self,
        monitor: &Monitor,
        now_ms: i64,
        history: Duration,
    ) -> Result<i64, IngestError> {
        let mut from = now_ms - i64::try_from(history.as_millis()).unwrap_or(i64::MAX / 2);
        // The first sensor of a few gateways: one of them may have been in an outage.
        for g in 0..self.sim.gateways().len().min(5) {
            if let Some(&i) = self.sim.sensors_of(g).first()
                && let Some(p) = monitor.store.latest(self.nums[i]).await?
            {
                from = from.max(p.ts_ms + 1);
            }
        }
        Ok(from)
    }

    /// Stores the readings of every online gateway at each multiple of `step_ms` in
    /// `[from_ms, to_ms)`; returns how many readings were accepted.
    pub async fn backfill(
        &self,
        monitor: &Monitor,
        from_ms: i64,
        to_ms: i64,
        step_ms: i64,
    ) -> Result<usize, IngestError> {
        let step_ms = step_ms.max(1000);
        let first = from_ms.div_euclid(step_ms) * step_ms
            + if from_ms.rem_euclid(step_ms) == 0 {
                0
            } else {
                step_ms
            };
        let max_batch = monitor.limits.max_batch.max(1);
        let mut batches: Vec<(usize, IngestBatch)> = Vec::new();
        for g in 0..self.sim.gateways().len() {
            let mut batch = IngestBatch {
                readings: Vec::new(),
            };
            let mut t = first;
            while t < to_ms {
                for (i, v) in self.sim.gateway_readings(g, t) {
                    batch.readings.push(item(&self.sim.sensors()[i].code, t, v));
                    if batch.readings.len() == max_batch {
                        batches.push((g, std::mem::replace(&mut batch, empty())));
                    }
                }
                t += step_ms;
            }
            if !batch.readings.is_empty() {
                batches.push((g, batch));
            }
        }
        self.store(monitor, batches).await
    }

    /// One live round: the readings of every online gateway at `t_ms`.
    pub async fn tick(&self, monitor: &Monitor, t_ms: i64) -> Result<usize, IngestError> {
        let batches = (0..self.sim.gateways().len())
            .filter_map(|g| {
                let readings: Vec<IngestItem> = self
                    .sim
                    .gateway_readings(g, t_ms)
                    .into_iter()
                    .map(|(i, v)| item(&self.sim.sensors()[i].code, t_ms, v))
                    .collect();
                (!readings.is_empty()).then_some((g, IngestBatch { readings }))
            })
            .collect();
        self.store(monitor, batches).await
    }

    async fn store(
        &self,
        monitor: &Monitor,
        batches: Vec<(usize, IngestBatch)>,
    ) -> Result<usize, IngestError> {
        let gateways = self.sim.gateways();
        // Collected first: a lazy `map` inside the stream trips the compiler's `Send` check of
        // the spawned task (rust-lang/rust#102211).
        let pending: Vec<_> = batches
            .iter()
            .map(|(g, batch)| monitor.ingest(&gateways[*g], batch))
            .collect();
        let mut results = futures::stream::iter(pending).buffer_unordered(CONCURRENT_BATCHES);
        let mut accepted = 0;
        while let Some(r) = results.next().await {
            accepted += r?.accepted;
        }
        Ok(accepted)
    }
}

fn empty() -> IngestBatch {
    IngestBatch {
        readings: Vec::new(),
    }
}

fn item(code: &str, t_ms: i64, value: f64) -> IngestItem {
    IngestItem {
        sensor: code.to_string(),
        ts: Timestamp::EpochMs(t_ms),
        value: serde_json::Value::from(value),
        quality: None,
    }
}

/// How the running demo is fed.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    pub interval: Duration,
    pub history: Duration,
    pub history_step: Duration,
}

/// The background task feeding the demo; stop it before the store closes.
#[derive(Debug)]
pub struct LiveHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl LiveHandle {
    /// Finishes the round in progress, then ends the task.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Backfilled alarms that ended this long before the demo started count as handled.
const HANDLED_BEFORE_MS: i64 = 30 * 60_000;

/// What the duty officer of the demo wrote when disposing a past alarm of each kind.
fn past_disposal(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "HH" | "H" => (
            "进料调节阀开度偏大，参数超上限",
            "调小进料阀开度，参数回落至正常范围，已通知车间加强巡检",
        ),
        "LL" | "L" => ("出料过快，参数低于下限", "暂停出料并补料，参数恢复正常"),
        "sensor_fault" => ("变送器示值异常", "仪表工现场校准变送器，示值恢复正常"),
        _ => ("网关通信中断", "联系企业重启数据采集网关，通信恢复"),
    }
}

/// Disposes the backfilled alarms that ended before `before_ms`, as the demo's duty officer,
/// so the demo opens on a day whose past alarms were handled and only recent ones wait.
async fn settle_history(monitor: &Monitor, before_ms: i64) -> anyhow::Result<usize> {
    use crate::monitor::alarms::store::{Act, Actor, act};
    let db = monitor.db();
    let duty: Option<(String, String, String)> = db
        .fetch_optional(
            &crate::db::Sql::new(
                "SELECT id, username, display_name FROM users WHERE role = 'duty' ORDER BY created_at LIMIT 1",
            ),
        )
        .await?;
    let Some((id, username, name)) = duty else {
        return Ok(0);
    };
    let actor = Actor {
        id: Some(id),
        name: Some(name),
        username,
    };
    let past: Vec<(String, String)> = db
        .fetch_all(
            &crate::db::Sql::new(
                "SELECT id, kind FROM alarms WHERE cleared_at IS NOT NULL AND cleared_at < $1 \
                 AND status <> 'disposed'",
            )
            .bind(before_ms),
        )
        .await?;
    for (alarm, kind) in &past {
        let (cause, measures) = past_disposal(kind);
        let dispose = Act::Dispose {
            cause: cause.into(),
            measures: measures.into(),
            note: None,
        };
        act(db, alarm, &actor, dispose, crate::db::now_ms()).await?;
    }
    if !past.is_empty() {
        monitor.events.wake();
    }
    Ok(past.len())
}

/// Starts feeding: the history first, then a round every `interval` of wall-clock time.
/// Failures are logged and the next round tries again: the demo must not die of a busy disk.
pub fn spawn(monitor: Arc<Monitor>, live: LiveDemo, settings: LiveSettings) -> LiveHandle {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let now = crate::db::now_ms();
        let history = async {
            let from = live.backfill_start(&monitor, now, settings.history).await?;
            let step = i64::try_from(settings.history_step.as_millis()).unwrap_or(300_000);
            live.backfill(&monitor, from, now, step).await
        };
        let backfilled = tokio::select! {
            r = history => r,
            _ = stopped.changed() => return,
        };
        match backfilled {
            Ok(n) => tracing::info!(
                readings = n,
                sensors = live.sensor_count(),
                seconds = started.elapsed().as_secs_f64(),
                "demo history backfilled"
            ),
            Err(e) => tracing::warn!(error = %e, "demo history backfill failed"),
        }
        match settle_history(&monitor, now - HANDLED_BEFORE_MS).await {
            Ok(n) => tracing::info!(alarms = n, "demo history: past alarms disposed"),
            Err(e) => tracing::warn!(error = %e, "demo history: past alarms not disposed"),
        }
        let mut ticker = tokio::time::interval(settings.interval.max(Duration::from_secs(1)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stopped.changed() => return,
            }
            // Whole seconds: a gateway's clock does not tick in milliseconds.
            let t = crate::db::now_ms() / 1000 * 1000;
            match live.tick(&monitor, t).await {
                Ok(n) => tracing::debug!(readings = n, "demo readings simulated"),
                Err(e) => tracing::warn!(error = %e, "demo readings not stored"),
            }
        }
    });
    LiveHandle { stop, task }
}
