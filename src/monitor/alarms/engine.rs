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
//! 160 bytes each plus about 20 for their code and the two lookup tables, and nothing per
//! reading. The same table resolves the sensors a gateway names, so there is one index.
//!
//! After a restart the states resume from the alarms active in the store. A crash between a
//! batch's commit and its alarms' commit loses those decisions; the next reading that still
//! meets the condition raises the alarm again (with the on-delay restarted), and an active
//! alarm whose condition ended clears at the next normal reading.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hashbrown::{DefaultHashBuilder, HashTable};

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
    pub code: String,
    pub config: AlarmConfig,
}

/// Marks a vacant slot (a number no sensor has).
const VACANT: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Slot {
    state: SensorState,
    cfg: AlarmConfig,
    /// Index into `Table::enterprises`, or `VACANT`.
    enterprise: u32,
    /// Start of the code in `Table::codes`; it ends where the next slot's starts.
    code_start: u32,
}

#[derive(Debug)]
struct EnterpriseSlot {
    id: String,
    watch: EnterpriseWatch,
}

/// Every watched sensor, by compact number, with the lookup ingest needs: by (enterprise,
/// code). Written by hand on `hashbrown::HashTable` because the keys are not stored as
/// separate strings: codes live in one arena and the table holds only sensor numbers (4 bytes
/// each). With `HashMap<String, …>` keys the index alone would cost more than the 200 bytes
/// per sensor the whole engine is allowed. Sensors named by id, rare, are resolved by
/// the database before a batch is checked.
#[derive(Default)]
pub struct Table {
    slots: Vec<Slot>,
    codes: String,
    by_code: HashTable<u32>,
    enterprises: Vec<EnterpriseSlot>,
    enterprise_ix: HashMap<String, u32>,
    hasher: DefaultHashBuilder,
    scratch: Vec<AlarmEvent>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("sensors", &self.by_code.len())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Table`] from sensors given in increasing number order, a page at a time, so a
/// million sensors never sit in memory as full records.
pub struct TableBuilder {
    t: Table,
    active: HashMap<u32, Vec<AlarmKind>>,
    offline: std::collections::HashSet<String>,
    now_ms: i64,
}

impl TableBuilder {
    /// `capacity`: how many sensors will come, to size the tables once.
    pub fn new(active: &ActiveAlarms, now_ms: i64, capacity: usize) -> TableBuilder {
        let mut by_num: HashMap<u32, Vec<AlarmKind>> = HashMap::new();
        for (num, kind) in &active.sensors {
            by_num.entry(*num).or_default().push(*kind);
        }
        TableBuilder {
            t: Table {
                slots: Vec::with_capacity(capacity),
                by_code: HashTable::with_capacity(capacity),
                ..Table::default()
            },
            active: by_num,
            offline: active.offline_enterprises.iter().cloned().collect(),
            now_ms,
        }
    }

    /// Adds a sensor; numbers must increase (a repeated or smaller number is ignored).
    pub fn push(&mut self, s: &SensorSpec) {
        let t = &mut self.t;
        if t.slots.len() > s.num as usize {
            return;
        }
        while t.slots.len() < s.num as usize {
            t.slots.push(Slot {
                state: SensorState::new(self.now_ms),
                cfg: s.config,
                enterprise: VACANT,
                code_start: t.codes.len() as u32,
            });
        }
        let ix = match t.enterprise_ix.get(&s.enterprise_id) {
            Some(ix) => *ix,
            None => {
                let ix = t.enterprises.len() as u32;
                t.enterprises.push(EnterpriseSlot {
                    id: s.enterprise_id.clone(),
                    watch: EnterpriseWatch::new(self.offline.contains(&s.enterprise_id)),
                });
                t.enterprise_ix.insert(s.enterprise_id.clone(), ix);
                ix
            }
        };
        let state = SensorState::resume(
            self.now_ms,
            None,
            self.active.get(&s.num).map(Vec::as_slice).unwrap_or(&[]),
        );
        t.slots.push(Slot {
            state,
            cfg: s.config,
            enterprise: ix,
            code_start: t.codes.len() as u32,
        });
        t.codes.push_str(&s.code);
        let Table {
            slots,
            codes,
            by_code,
            hasher,
            ..
        } = t;
        let code_hash = hasher.hash_one((ix, s.code.as_str()));
        by_code.insert_unique(code_hash, s.num, |&n| {
            hasher.hash_one((slots[n as usize].enterprise, code_of(slots, codes, n)))
        });
    }

    pub fn finish(mut self) -> Table {
        self.t.codes.shrink_to_fit();
        self.t
    }
}

impl Table {
    /// A table of new sensors with no alarm active.
    pub fn new(specs: &[SensorSpec], now_ms: i64) -> Table {
        let mut sorted: Vec<&SensorSpec> = specs.iter().collect();
        sorted.sort_by_key(|s| s.num);
        let mut b = TableBuilder::new(&ActiveAlarms::default(), now_ms, specs.len());
        for s in sorted {
            b.push(s);
        }
        b.finish()
    }

    /// Carries the live state of every sensor and enterprise still present over from the
    /// table being replaced (new ones keep the state they were built with).
    fn carry_over(&mut self, old: &Table) {
        for (new, old) in self.slots.iter_mut().zip(&old.slots) {
            if new.enterprise != VACANT && old.enterprise != VACANT {
                new.state = old.state.clone();
            }
        }
        for e in &mut self.enterprises {
            if let Some(&ix) = old.enterprise_ix.get(&e.id)
                && let Some(o) = old.enterprises.get(ix as usize)
            {
                e.watch = o.watch;
            }
        }
    }

    /// Watched sensors.
    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    fn code(&self, num: u32) -> &str {
        code_of(&self.slots, &self.codes, num)
    }

    /// The number and measuring range of the enterprise's sensor with this code.
    pub fn lookup(&self, enterprise_id: &str, code: &str) -> Option<(u32, (f64, f64))> {
        let ix = *self.enterprise_ix.get(enterprise_id)?;
        let hash = self.hasher.hash_one((ix, code));
        let num = *self.by_code.find(hash, |&n| {
            self.slots[n as usize].enterprise == ix && self.code(n) == code
        })?;
        Some((num, self.slots[num as usize].cfg.range()))
    }
}

fn code_of<'a>(slots: &[Slot], codes: &'a str, num: u32) -> &'a str {
    let start = slots.get(num as usize).map_or(0, |s| s.code_start as usize);
    let end = slots
        .get(num as usize + 1)
        .map_or(codes.len(), |s| s.code_start as usize);
    codes.get(start..end).unwrap_or("")
}

/// Decisions to store, and who waits for them.
struct Job {
    events: Vec<(Subject, AlarmEvent)>,
    done: oneshot::Sender<bool>,
}

/// A pending store of decisions: resolves to whether they were stored.
pub type Stored = oneshot::Receiver<bool>;

pub struct AlarmEngine {
    inner: Mutex<Table>,
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
            inner: Mutex::new(Table::default()),
            writer,
            enterprise_timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the sensor set with `table`. Sensors already watched keep their state (with
    /// the new settings); new ones keep what they were built with.
    pub fn install(&self, mut table: Table) {
        let mut inner = self.lock();
        table.carry_over(&inner);
        *inner = table;
    }

    /// Runs `f` over the sensor table (for checking a batch against it).
    pub fn with_table<R>(&self, f: impl FnOnce(&Table) -> R) -> R {
        f(&self.lock())
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
            let Some(slot) = inner
                .slots
                .get_mut(r.sensor as usize)
                .filter(|s| s.enterprise != VACANT)
            else {
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
            if slot.enterprise == VACANT {
                continue;
            }
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
            Some(slot) if slot.enterprise != VACANT => slot.state.active().collect(),
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
        for slot in inner.slots.iter().filter(|s| s.enterprise != VACANT) {
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

    /// Bytes held per sensor slot, before the lookup tables and codes.
    pub fn slot_bytes() -> usize {
        std::mem::size_of::<Slot>()
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
