//! The alarm engine: one [`SensorState`] per sensor and one [`EnterpriseWatch`] per enterprise
//! in memory, fed by every ingested batch and by a periodic offline sweep, with a single writer
//! task that stores the decisions.
//!
//! Decisions are taken under one lock and queued to the writer under the same lock, so the
//! writer stores them in the order they were taken: a clear can never overtake its raise.
//! The writer commits every job waiting as one transaction (group commit) and then wakes the
//! event bus, so the live stream sees the alarm as soon as it is stored.
//!
//! Memory is flat: sensors live in a vector indexed by their compact number (`sensors.num`),
//! about 180 bytes each, and nothing per reading.
//!
//! After a restart the states resume from the alarms active in the store. A crash between a
//! batch's commit and its alarms' commit loses those decisions; the next reading that still
//! meets the condition raises the alarm again (with the on-delay restarted), and an active
//! alarm whose condition ended clears at the next normal reading.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::store::{self, ActiveAlarms, Subject};
use crate::db::Db;
use crate::events::EventBus;
use crate::monitor::alarm::{
    AlarmConfig, AlarmEvent, AlarmKind, EnterpriseWatch, Quality, Reading as AlarmReading,
    SensorState,
};
use crate::monitor::readings::Reading;

/// What the engine needs to know of a sensor.
#[derive(Debug, Clone)]
pub struct SensorSpec {
    pub num: u32,
    pub enterprise_id: String,
    pub config: AlarmConfig,
}

#[derive(Debug, Clone)]
struct Slot {
    state: SensorState,
    cfg: AlarmConfig,
    enterprise: u32,
}

#[derive(Debug)]
struct EnterpriseSlot {
    id: String,
    watch: EnterpriseWatch,
}

#[derive(Debug, Default)]
struct Inner {
    slots: Vec<Option<Slot>>,
    enterprises: Vec<EnterpriseSlot>,
    scratch: Vec<AlarmEvent>,
}

/// Decisions to store, and who waits for them.
struct Job {
    events: Vec<(Subject, AlarmEvent)>,
    done: oneshot::Sender<bool>,
}

/// A pending store of decisions: resolves to whether they were stored.
pub type Stored = oneshot::Receiver<bool>;

pub struct AlarmEngine {
    inner: Mutex<Inner>,
    writer: mpsc::UnboundedSender<Job>,
    enterprise_timeout: Duration,
}

impl std::fmt::Debug for AlarmEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlarmEngine").finish_non_exhaustive()
    }
}

impl AlarmEngine {
    /// An engine with no sensors yet and its writer task (needs a Tokio runtime).
    pub fn new(db: Db, bus: Arc<EventBus>, enterprise_timeout: Duration) -> AlarmEngine {
        let (writer, rx) = mpsc::unbounded_channel();
        tokio::spawn(run_writer(db, bus, rx));
        AlarmEngine {
            inner: Mutex::new(Inner::default()),
            writer,
            enterprise_timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the sensor set. Sensors already watched keep their state (with the new
    /// settings); new ones resume from `active` and are watched from `now_ms`.
    pub fn rebuild(&self, sensors: &[SensorSpec], active: &ActiveAlarms, now_ms: i64) {
        let mut by_num: HashMap<u32, Vec<AlarmKind>> = HashMap::new();
        for (num, kind) in &active.sensors {
            by_num.entry(*num).or_default().push(*kind);
        }
        let mut inner = self.lock();
        let mut old_enterprises: HashMap<String, EnterpriseWatch> = inner
            .enterprises
            .drain(..)
            .map(|e| (e.id, e.watch))
            .collect();
        let old_slots = std::mem::take(&mut inner.slots);
        let mut enterprise_ix: HashMap<&str, u32> = HashMap::new();
        let max = sensors
            .iter()
            .map(|s| s.num as usize + 1)
            .max()
            .unwrap_or(0);
        let mut slots: Vec<Option<Slot>> = vec![None; max];
        for s in sensors {
            let ix = match enterprise_ix.get(s.enterprise_id.as_str()) {
                Some(ix) => *ix,
                None => {
                    let ix = inner.enterprises.len() as u32;
                    let watch = old_enterprises.remove(&s.enterprise_id).unwrap_or_else(|| {
                        EnterpriseWatch::new(active.offline_enterprises.contains(&s.enterprise_id))
                    });
                    inner.enterprises.push(EnterpriseSlot {
                        id: s.enterprise_id.clone(),
                        watch,
                    });
                    enterprise_ix.insert(&s.enterprise_id, ix);
                    ix
                }
            };
            let state = match old_slots.get(s.num as usize) {
                Some(Some(old)) => old.state.clone(),
                _ => SensorState::resume(
                    now_ms,
                    None,
                    by_num.get(&s.num).map(Vec::as_slice).unwrap_or(&[]),
                ),
            };
            slots[s.num as usize] = Some(Slot {
                state,
                cfg: s.config,
                enterprise: ix,
            });
        }
        inner.slots = slots;
    }

    /// Runs a stored batch through the state machines. Readings are taken in time order
    /// (per sensor that is all the machine needs); `qualities` is parallel to `readings`.
    /// Returns the pending store when anything was decided.
    pub fn evaluate(
        &self,
        readings: &[Reading],
        qualities: &[Quality],
        received_ms: i64,
    ) -> Option<Stored> {
        let mut order: Vec<u32> = (0..readings.len() as u32).collect();
        order.sort_by_key(|&i| readings[i as usize].ts_ms);
        let mut guard = self.lock();
        let inner = &mut *guard;
        let mut decided: Vec<(Subject, AlarmEvent)> = Vec::new();
        for i in order {
            let r = readings[i as usize];
            let Some(Some(slot)) = inner.slots.get_mut(r.sensor as usize) else {
                continue;
            };
            let reading = AlarmReading {
                ts_ms: r.ts_ms,
                received_ms,
                value: r.value,
                quality: qualities.get(i as usize).copied().unwrap_or_default(),
            };
            inner.scratch.clear();
            let outcome = slot
                .state
                .on_reading(&slot.cfg, reading, &mut inner.scratch);
            for ev in inner.scratch.drain(..) {
                let threshold = slot.cfg.threshold(ev.kind);
                decided.push((
                    Subject::Sensor {
                        num: r.sensor,
                        threshold,
                    },
                    ev,
                ));
            }
            if outcome.is_accepted()
                && let Some(ent) = inner.enterprises.get_mut(slot.enterprise as usize)
                && ent.watch.is_offline()
            {
                let mut out = Vec::new();
                ent.watch.check(
                    std::iter::once(received_ms),
                    received_ms,
                    self.enterprise_timeout,
                    &mut out,
                );
                decided.extend(
                    out.into_iter()
                        .map(|ev| (Subject::Enterprise(ent.id.clone()), ev)),
                );
            }
        }
        self.queue(decided)
    }

    /// Raises the offline alarms due at `now_ms`: sensors silent for their timeout and
    /// enterprises none of whose sensors reported within the enterprise timeout.
    pub fn sweep_offline(&self, now_ms: i64) -> Option<Stored> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let mut latest: Vec<Option<i64>> = vec![None; inner.enterprises.len()];
        let mut decided = Vec::new();
        for (num, slot) in inner.slots.iter_mut().enumerate() {
            let Some(slot) = slot else { continue };
            if now_ms >= slot.state.offline_deadline_ms(&slot.cfg) {
                inner.scratch.clear();
                slot.state
                    .check_offline(&slot.cfg, now_ms, &mut inner.scratch);
                decided.extend(inner.scratch.drain(..).map(|ev| {
                    (
                        Subject::Sensor {
                            num: num as u32,
                            threshold: None,
                        },
                        ev,
                    )
                }));
            }
            if let Some(l) = latest.get_mut(slot.enterprise as usize) {
                let seen = slot.state.last_seen_ms();
                *l = Some(l.map_or(seen, |x| x.max(seen)));
            }
        }
        for (ent, last) in inner.enterprises.iter_mut().zip(latest) {
            let mut out = Vec::new();
            ent.watch
                .check(last, now_ms, self.enterprise_timeout, &mut out);
            decided.extend(
                out.into_iter()
                    .map(|ev| (Subject::Enterprise(ent.id.clone()), ev)),
            );
        }
        self.queue(decided)
    }

    /// Queues decisions for the writer; called with the lock held, so the queue keeps the
    /// order in which they were decided.
    fn queue(&self, events: Vec<(Subject, AlarmEvent)>) -> Option<Stored> {
        if events.is_empty() {
            return None;
        }
        metrics::counter!("yingji_alarm_transitions_total").increment(events.len() as u64);
        let (done, stored) = oneshot::channel();
        if self.writer.send(Job { events, done }).is_err() {
            tracing::error!("the alarm writer has stopped; alarm decisions are lost");
            return None;
        }
        Some(stored)
    }

    /// Active kinds of a sensor, as the engine sees them.
    pub fn active_kinds(&self, num: u32) -> Vec<AlarmKind> {
        let inner = self.lock();
        match inner.slots.get(num as usize) {
            Some(Some(slot)) => slot.state.active().collect(),
            _ => Vec::new(),
        }
    }

    /// Last arrival per enterprise id, and whether the engine holds it offline.
    pub fn enterprise_liveness(&self) -> HashMap<String, (Option<i64>, bool)> {
        let inner = self.lock();
        let mut out: HashMap<String, (Option<i64>, bool)> = inner
            .enterprises
            .iter()
            .map(|e| (e.id.clone(), (None, e.watch.is_offline())))
            .collect();
        for slot in inner.slots.iter().flatten() {
            if let Some(ent) = inner.enterprises.get(slot.enterprise as usize)
                && slot.state.last_reading_ms().is_some()
                && let Some(entry) = out.get_mut(&ent.id)
            {
                let seen = slot.state.last_seen_ms();
                entry.0 = Some(entry.0.map_or(seen, |x| x.max(seen)));
            }
        }
        out
    }

    /// Bytes held per watched sensor slot (for the memory benchmark).
    pub fn slot_bytes() -> usize {
        std::mem::size_of::<Option<Slot>>()
    }
}

/// Stores queued decisions in order, many jobs per transaction, and wakes the event bus.
async fn run_writer(db: Db, bus: Arc<EventBus>, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut jobs = Vec::new();
    while rx.recv_many(&mut jobs, 256).await > 0 {
        let events: Vec<(Subject, AlarmEvent)> =
            jobs.iter().flat_map(|j| j.events.iter().cloned()).collect();
        let mut stored = false;
        for attempt in 0..3u32 {
            match persist(&db, &events).await {
                Ok(()) => {
                    stored = true;
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, attempt, "cannot store alarm decisions");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt + 1))).await;
                }
            }
        }
        if stored {
            bus.wake();
        }
        for job in jobs.drain(..) {
            let _ = job.done.send(stored);
        }
    }
}

async fn persist(db: &Db, events: &[(Subject, AlarmEvent)]) -> Result<(), crate::db::DbError> {
    let mut tx = db.begin().await?;
    store::apply_events(&mut tx, events, crate::db::now_ms()).await?;
    tx.commit().await
}
