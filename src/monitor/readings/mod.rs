//! The reading store: sensor readings (sensor, ts, value), durable on acknowledgement,
//! at hundreds of thousands of readings a second into embedded SQLite, with history
//! queries as raw points or min/max/avg buckets.
//!
//! It is shaped like a small LSM tree because the obvious design, a table indexed by
//! (sensor, ts), rewrites index pages all over the file on every batch and slows from
//! ~100k to ~56k rows/s as it grows. Here:
//!
//! - **Log.** `append` encodes a batch into one compact blob and inserts it as one row of
//!   `reading_log`; the call returns after that commit. A single writer task takes batches
//!   from a channel and commits every batch that is waiting as one row (group commit), so
//!   concurrent callers share commits.
//! - **Memtable.** The readings of uncompacted log rows are also kept in one flat columnar
//!   buffer for all sensors, bounded by count (`StoreConfig::memtable_limit`), never per
//!   sensor, so memory does not grow with the number of sensors.
//! - **Compaction.** When the memtable is full (or on a timer) it is frozen, sorted by
//!   (sensor, ts), deduplicated (the last write wins) and written as one `reading_blocks`
//!   row per sensor and UTC day. The blocks are committed in slices of about a megabyte, and
//!   the log rows they came from are deleted in the last slice's transaction, so the log
//!   writer never waits for SQLite's single write lock longer than one slice (writing all
//!   of a two-million-reading compaction in one transaction stalled every acknowledgement
//!   for most of a second). A `reading_compaction` row marks a compaction as unfinished
//!   until then; after a crash `open` deletes the blocks it had committed and rebuilds the
//!   memtable from the log, so blocks and log never hold the same reading once a compaction
//!   is finished, and nothing is lost or counted twice.
//! - **One write connection.** On SQLite every write of the store (log rows, compaction
//!   slices, merges, purges) goes through a pool of one connection of its own
//!   ([`Db::single_writer`]): they queue in order in the process instead of meeting in
//!   SQLite's busy handler, which sleeps in steps of up to 100 ms and is not fair. That
//!   connection never checkpoints the WAL inside a commit (an automatic checkpoint copies
//!   megabytes and fsyncs twice, and stalled acknowledgements by up to 160 ms); a
//!   background task checkpoints beside it every `checkpoint_every`. On PostgreSQL, which
//!   locks rows, the store writes through the shared pool.
//! - **Merge.** In the background, the blocks of one sensor and one finished UTC day are
//!   merged into one, so a 30-day chart reads about 30 blocks. Today's blocks are merged
//!   size-tiered (the newest blocks up to one bigger than all of them together), so a busy
//!   day's data is rewritten a logarithmic number of times, not once per merge. Each
//!   (sensor, day) is merged under the maintenance lock on its own, so compaction never
//!   waits behind a whole merge run.
//! - **Two levels.** Compaction and today's merges write level-0 blocks; a finished day's
//!   merged block is level 1. Each level has its own partial (sensor, t_max) index, so a
//!   compaction's ten thousand inserts go into an index of about a day of blocks instead of
//!   one that holds the whole retained history, where each of them landed on a different
//!   page (four times the insert time at 400 days, measured); and the merge looks for work
//!   in level 0 only. Blocks keep one id sequence across levels, so "the later write wins"
//!   still ranks by id.
//! - **Queries** read the blocks that may overlap the range plus the memtable, and
//!   deduplicate: a reading written again after compaction is in a block and in the
//!   memtable, and the later write wins.
//!
//! **Invariant:** one `ReadingStore` writes to a database at a time. Compaction deletes the
//! log rows by `seq` range, which is only its own rows when it is the only writer; several
//! `yingji serve` instances on one PostgreSQL must route ingest to one of them.

mod codec;
mod memtable;
mod query;
mod sql;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, Notify, mpsc, oneshot, watch};
use tracing::Instrument;

use crate::db::{Db, DbError};
pub use codec::CodecError;
use memtable::{BlockDraft, Memtable, NewBlock};

/// Milliseconds in a UTC day: blocks never cross midnight.
pub const DAY_MS: i64 = 86_400_000;

/// Today's blocks of a sensor are merged once there are more than this many; finished
/// days are merged into one block whatever their count.
const MERGE_TODAY_OVER: i64 = 32;

/// Bytes of block data per compaction transaction on SQLite. A slice holds the write lock for
/// a few milliseconds, which is how long an acknowledgement may wait for it; smaller slices
/// would add commits without shortening that wait much.
const SLICE_BYTES_SQLITE: usize = 1 << 20;

/// Blocks deleted per purge transaction.
const PURGE_BATCH: usize = 2_000;

/// WAL frames (4 KiB pages, so 64 MiB) past which a checkpoint is finished on the store's
/// write connection. SQLite starts the WAL over only once a checkpoint has copied all of it;
/// under sustained ingest new frames arrive during every checkpoint that runs beside the
/// writer, so the WAL would grow without end. On the write connection no store write comes
/// in between, and what is left to copy is only what arrived during the first checkpoint.
const WAL_RESTART_FRAMES: i64 = 16_384;

/// The most buckets one query may ask for.
pub const MAX_BUCKETS: i64 = 100_000;

/// One sensor reading: the sensor's compact number (`sensors.num`), the time of
/// measurement in UTC epoch milliseconds, and the value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub sensor: u32,
    pub ts_ms: i64,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub ts_ms: i64,
    pub value: f64,
}

/// Aggregates of the readings in `[start_ms, start_ms + bucket_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub start_ms: i64,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    pub count: u64,
}

/// What `append` returns once the readings are committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendReceipt {
    /// The log row holding the batch (shared with the batches of the same group commit);
    /// `None` for an empty batch, which writes nothing.
    pub seq: Option<i64>,
    pub count: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionReport {
    pub readings: usize,
    pub blocks: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryStats {
    /// Readings in the memtable (active and, during a compaction, frozen).
    pub readings: usize,
    /// Heap bytes the memtable holds.
    pub bytes: usize,
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Compact when the memtable holds this many readings (20 bytes each). Appends wait
    /// for a compaction when it holds twice as many, so memory stays bounded if the
    /// database falls behind.
    pub memtable_limit: usize,
    /// Compact at least this often, so a quiet store does not keep a long log to replay.
    pub compact_every: Duration,
    /// Merge the blocks of finished days this often.
    pub merge_every: Duration,
    /// Keep blocks whose newest reading is younger than this.
    pub retention: Duration,
    pub purge_every: Duration,
    /// The most readings one group commit writes as one log row.
    pub max_group_readings: usize,
    /// Batches that may wait for the writer before `append` waits to enqueue.
    pub queue_batches: usize,
    /// SQLite: checkpoint the WAL this often (beside the writer, which never does).
    pub checkpoint_every: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            memtable_limit: 2_000_000,
            compact_every: Duration::from_secs(300),
            merge_every: Duration::from_secs(600),
            retention: Duration::from_secs(400 * 86_400),
            purge_every: Duration::from_secs(3_600),
            max_group_readings: 50_000,
            queue_batches: 256,
            checkpoint_every: Duration::from_millis(250),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadingsError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// Shared by every batch of a failed group commit.
    #[error("writing the reading log failed: {0}")]
    Write(Arc<DbError>),
    #[error("stored readings are unreadable: {0}")]
    Corrupt(#[from] CodecError),
    #[error("log row {seq} is unreadable ({source}); the store will not open without it")]
    CorruptLog { seq: i64, source: CodecError },
    #[error("reading {index} has a value that is not a finite number")]
    NonFinite { index: usize },
    #[error("the time range is empty or too wide")]
    InvalidRange,
    #[error("the bucket width must be positive and give at most {MAX_BUCKETS} buckets")]
    InvalidBuckets,
    #[error("the reading store has stopped")]
    Stopped,
}

/// A batch on its way to the writer.
struct Job {
    chunk: Vec<u8>,
    readings: Vec<Reading>,
    reply: oneshot::Sender<Result<AppendReceipt, ReadingsError>>,
}

#[derive(Default)]
struct MemState {
    active: Memtable,
    /// The memtable being compacted: still visible to queries until its blocks commit.
    frozen: Option<Arc<Memtable>>,
}

/// What the writer task shares with the store.
struct Shared {
    db: Db,
    cfg: StoreConfig,
    mem: RwLock<MemState>,
    compact_due: Notify,
    /// Every write of the store goes through this (see the module notes); reads use `db`.
    write: Db,
}

impl Shared {
    fn mem_read(&self) -> std::sync::RwLockReadGuard<'_, MemState> {
        // A panic while holding the lock leaves plain vectors behind, still consistent.
        self.mem.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn mem_write(&self) -> std::sync::RwLockWriteGuard<'_, MemState> {
        self.mem.write().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Inner {
    shared: Arc<Shared>,
    jobs: mpsc::Sender<Job>,
    /// Serialises compaction, merge and purge: they all rewrite blocks, and a merge must
    /// not give an older block a newer id than a concurrent compaction's.
    maintenance: Mutex<()>,
}

/// The reading store. Cheap to clone; clones share one writer and one memtable. The writer
/// task ends when the last clone is dropped.
#[derive(Clone)]
pub struct ReadingStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ReadingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadingStore")
            .field("db", &self.inner.shared.db)
            .finish_non_exhaustive()
    }
}

impl ReadingStore {
    /// Opens the store on a migrated database and replays the log into the memtable, so
    /// readings acknowledged before a crash are visible again, exactly once.
    pub async fn open(db: Db, cfg: StoreConfig) -> Result<ReadingStore, ReadingsError> {
        // A compaction cut short by a crash committed some of its blocks but not the
        // deletion of its log rows: drop those blocks, the log below brings them back.
        let write = db.single_writer().await?;
        let mut tx = write.begin().await?;
        let discarded = sql::discard_unfinished(&mut tx).await?;
        tx.commit().await?;
        if discarded > 0 {
            tracing::info!(discarded, "blocks of an unfinished compaction discarded");
        }
        let mut mem = Memtable::default();
        let mut after = i64::MIN;
        loop {
            let rows = sql::log_rows_after(&db, after, 1_000).await?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for row in rows {
                let mut readings = Vec::new();
                codec::decode_log_body(&row.body, |r| readings.push(r)).map_err(|source| {
                    ReadingsError::CorruptLog {
                        seq: row.seq,
                        source,
                    }
                })?;
                mem.push_row(row.seq, readings);
            }
        }
        let replayed = mem.len();
        if replayed > 0 {
            tracing::info!(replayed, "reading log replayed into the memtable");
        }
        let over = replayed >= cfg.memtable_limit;
        let (jobs, rx) = mpsc::channel(cfg.queue_batches.max(1));
        let shared = Arc::new(Shared {
            db,
            write,
            cfg,
            mem: RwLock::new(MemState {
                active: mem,
                frozen: None,
            }),
            compact_due: Notify::new(),
        });
        if over {
            shared.compact_due.notify_one();
        }
        tokio::spawn(writer(shared.clone(), rx).instrument(tracing::info_span!("readings_writer")));
        Ok(ReadingStore {
            inner: Arc::new(Inner {
                shared,
                jobs,
                maintenance: Mutex::new(()),
            }),
        })
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Stores a batch durably: returns once the log row holding it is committed, so the
    /// caller may acknowledge (HTTP 2xx, MQTT PUBACK). Readings of one sensor and timestamp
    /// written again replace the earlier value (the same value for a resent batch).
    pub async fn append(&self, readings: &[Reading]) -> Result<AppendReceipt, ReadingsError> {
        if let Some(index) = readings.iter().position(|r| !r.value.is_finite()) {
            return Err(ReadingsError::NonFinite { index });
        }
        if readings.is_empty() {
            return Ok(AppendReceipt {
                seq: None,
                count: 0,
            });
        }
        // Backpressure: if compaction falls behind, the writer must not grow the memtable
        // without bound; the caller helps by compacting (or waiting for the running one).
        let hard = self.shared().cfg.memtable_limit.saturating_mul(2);
        if self.memory().readings >= hard {
            self.compact_if_over(hard).await?;
        }
        let mut chunk = Vec::new();
        codec::encode_log_chunk(readings, &mut chunk);
        let (reply, rx) = oneshot::channel();
        let job = Job {
            chunk,
            readings: readings.to_vec(),
            reply,
        };
        self.inner
            .jobs
            .send(job)
            .await
            .map_err(|_| ReadingsError::Stopped)?;
        rx.await.map_err(|_| ReadingsError::Stopped)?
    }

    /// Compacts if the active memtable holds `limit` readings or more (waiting for a running
    /// compaction first).
    async fn compact_if_over(&self, limit: usize) -> Result<(), ReadingsError> {
        let _g = self.inner.maintenance.lock().await;
        if self.shared().mem_read().active.len() >= limit {
            self.compact_locked().await?;
        }
        Ok(())
    }

    /// Moves the memtable into blocks now (the background task does this when due).
    pub async fn compact_now(&self) -> Result<CompactionReport, ReadingsError> {
        let _g = self.inner.maintenance.lock().await;
        self.compact_locked().await
    }

    #[tracing::instrument(skip_all, name = "readings_compact")]
    async fn compact_locked(&self) -> Result<CompactionReport, ReadingsError> {
        let sh = self.shared();
        // A frozen memtable left by a failed compaction goes first; otherwise freeze the
        // active one. Freezing is a swap, so appends wait only for that.
        let frozen = {
            let mut m = sh.mem_write();
            match &m.frozen {
                Some(f) => f.clone(),
                None if m.active.is_empty() => return Ok(CompactionReport::default()),
                None => {
                    let f = Arc::new(std::mem::take(&mut m.active));
                    m.frozen = Some(f.clone());
                    f
                }
            }
        };
        let Some((lo, hi)) = frozen.seq_range() else {
            sh.mem_write().frozen = None;
            return Ok(CompactionReport::default());
        };
        let started = std::time::Instant::now();
        let f = frozen.clone();
        // Sorting two million readings takes a fraction of a second: off the async threads.
        let blocks = tokio::task::spawn_blocking(move || {
            let mut out: Vec<NewBlock> = Vec::new();
            f.for_each_draft(|d| out.extend(d.encode()));
            out
        })
        .await
        .map_err(|_| ReadingsError::Stopped)?;
        let encoded = started.elapsed();
        let slices = slices(&blocks, slice_bytes(sh.db.backend()));
        let last = slices.len().saturating_sub(1);
        for (i, range) in slices.into_iter().enumerate() {
            let mut tx = sh.write.begin().await?;
            if i == 0 {
                let discarded = sql::begin_compaction(&mut tx).await?;
                if discarded > 0 {
                    tracing::info!(
                        discarded,
                        "blocks of a failed compaction discarded before its retry"
                    );
                }
            }
            sql::insert_blocks(&mut tx, &blocks[range], sql::Level::Fresh).await?;
            if i == last {
                sql::finish_compaction(&mut tx, lo, hi).await?;
            }
            tx.commit().await?;
        }
        sh.mem_write().frozen = None;
        let report = CompactionReport {
            readings: frozen.len(),
            blocks: blocks.len(),
        };
        tracing::debug!(
            readings = report.readings,
            blocks = report.blocks,
            encode_ms = encoded.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "compacted"
        );
        Ok(report)
    }

    /// Merges, for up to `max_days` (sensor, UTC day) pairs, blocks of the day into one:
    /// all of a finished day's, and today's newest ones (size-tiered, see [`tier_start`])
    /// when it has many. Returns how many pairs were merged.
    ///
    /// The maintenance lock is taken per pair, not for the whole run, so a compaction due
    /// meanwhile waits for one merge at most; and a pair is skipped while a compaction is
    /// unfinished, because retrying it deletes every block written after it began.
    #[tracing::instrument(skip_all, name = "readings_merge")]
    pub async fn merge_now(&self, max_days: usize) -> Result<usize, ReadingsError> {
        let sh = self.shared();
        let db = &sh.db;
        let today = crate::db::now_ms().div_euclid(DAY_MS);
        let limit = i64::try_from(max_days).unwrap_or(i64::MAX);
        let mut merged = 0;
        for c in sql::merge_candidates(db, today, MERGE_TODAY_OVER, limit).await? {
            let _g = self.inner.maintenance.lock().await;
            if sh.mem_read().frozen.is_some() {
                break;
            }
            let Ok(sensor) = u32::try_from(c.sensor_num) else {
                continue;
            };
            let sizes = sql::day_block_sizes(db, c.sensor_num, c.day).await?;
            let finished = c.day < today;
            if finished && let [(id, _)] = sizes[..] {
                // A finished day with one block: it only moves to level 1.
                let mut tx = sh.write.begin().await?;
                sql::promote_block(&mut tx, id).await?;
                tx.commit().await?;
                merged += 1;
                continue;
            }
            let from = if finished { 0 } else { tier_start(&sizes) };
            let Some(&(from_id, _)) = sizes.get(from) else {
                continue;
            };
            if sizes.len() - from < 2 {
                continue;
            }
            // Read outside the transaction: it then only writes, so on SQLite it never has
            // to upgrade a stale read snapshot (which fails at once with SQLITE_BUSY). The
            // maintenance lock keeps the blocks from changing meanwhile.
            let blocks = sql::day_blocks(db, c.sensor_num, c.day, from_id).await?;
            if blocks.len() < 2 {
                continue;
            }
            let points = query::merged_points(&blocks, &[], i64::MIN, i64::MAX)?;
            let mut d = BlockDraft::new(sensor);
            for p in &points {
                d.push(p.ts_ms, p.value);
            }
            let ids: Vec<i64> = blocks.iter().map(|b| b.id).collect();
            let level = if finished {
                sql::Level::Day
            } else {
                sql::Level::Fresh
            };
            let mut tx = sh.write.begin().await?;
            sql::insert_blocks(&mut tx, &d.encode().into_iter().collect::<Vec<_>>(), level).await?;
            sql::delete_blocks(&mut tx, &ids).await?;
            tx.commit().await?;
            merged += 1;
        }
        Ok(merged)
    }

    /// Deletes the blocks whose newest reading is older than `older_than_ms`, a few
    /// thousand per transaction so ingest never waits long for the write lock. Returns the
    /// number of blocks deleted.
    pub async fn purge(&self, older_than_ms: i64) -> Result<u64, ReadingsError> {
        let sh = self.shared();
        let mut deleted = 0;
        loop {
            let _g = self.inner.maintenance.lock().await;
            if sh.mem_read().frozen.is_some() {
                // An unfinished compaction's retry deletes blocks by id; leave it alone.
                return Ok(deleted);
            }
            let ids = sql::expired_blocks(&sh.db, older_than_ms, PURGE_BATCH as i64).await?;
            if ids.is_empty() {
                return Ok(deleted);
            }
            let mut tx = sh.write.begin().await?;
            sql::delete_blocks(&mut tx, &ids).await?;
            tx.commit().await?;
            deleted += ids.len() as u64;
            if ids.len() < PURGE_BATCH {
                return Ok(deleted);
            }
        }
    }

    /// Memtable points of `sensor` in [from, to): frozen first, then active, each in
    /// arrival order, which is the order of their writes.
    fn mem_points(&self, sensor: u32, from: i64, to: i64) -> Vec<(i64, f64)> {
        let m = self.shared().mem_read();
        let mut out = Vec::new();
        if let Some(f) = &m.frozen {
            f.scan(sensor, from, to, |_, t, v| out.push((t, v)));
        }
        m.active.scan(sensor, from, to, |_, t, v| out.push((t, v)));
        out
    }

    /// The readings of `sensor` in [from_ms, to_ms), sorted by time, one per timestamp, at
    /// most `limit` (the earliest).
    pub async fn raw(
        &self,
        sensor: u32,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<Point>, ReadingsError> {
        if to_ms <= from_ms {
            return Err(ReadingsError::InvalidRange);
        }
        // Memtable first, blocks second: a compaction committing in between then shows its
        // readings twice (deduplicated) instead of not at all.
        let mem = self.mem_points(sensor, from_ms, to_ms);
        let blocks = sql::blocks_in(&self.shared().db, sensor, from_ms, to_ms).await?;
        let mut points = query::merged_points(&blocks, &mem, from_ms, to_ms)?;
        points.truncate(limit);
        Ok(points)
    }

    /// Min/max/avg/count of `sensor` per bucket `[from_ms + k·bucket_ms, from_ms +
    /// (k+1)·bucket_ms)` within [from_ms, to_ms); buckets without readings are left out.
    pub async fn buckets(
        &self,
        sensor: u32,
        from_ms: i64,
        to_ms: i64,
        bucket_ms: i64,
    ) -> Result<Vec<Bucket>, ReadingsError> {
        let span = check_range(from_ms, to_ms)?;
        if bucket_ms <= 0 || span / bucket_ms >= MAX_BUCKETS {
            return Err(ReadingsError::InvalidBuckets);
        }
        let mem = self.mem_points(sensor, from_ms, to_ms);
        let blocks = sql::blocks_in(&self.shared().db, sensor, from_ms, to_ms).await?;
        Ok(query::bucketed(&blocks, &mem, from_ms, to_ms, bucket_ms)?)
    }

    /// The reading of `sensor` with the greatest timestamp.
    pub async fn latest(&self, sensor: u32) -> Result<Option<Point>, ReadingsError> {
        let mem = {
            let m = self.shared().mem_read();
            let frozen = m.frozen.as_ref().and_then(|f| f.latest(sensor));
            match (frozen, m.active.latest(sensor)) {
                (Some(f), Some(a)) => Some(if a.0 >= f.0 { a } else { f }),
                (f, a) => a.or(f),
            }
        };
        let block = match sql::last_block(&self.shared().db, sensor).await? {
            Some(b) => {
                let (mut ts, mut vs) = (Vec::new(), Vec::new());
                codec::decode_block(&b.data, &mut ts, &mut vs)?;
                ts.last().copied().zip(vs.last().copied())
            }
            None => None,
        };
        Ok(match (block, mem) {
            (Some(b), Some(m)) => Some(if m.0 >= b.0 { m } else { b }),
            (b, m) => m.or(b),
        }
        .map(|(ts_ms, value)| Point { ts_ms, value }))
    }

    pub fn memory(&self) -> MemoryStats {
        let m = self.shared().mem_read();
        let (fr, fb) = m.frozen.as_ref().map_or((0, 0), |f| (f.len(), f.bytes()));
        MemoryStats {
            readings: m.active.len() + fr,
            bytes: m.active.bytes() + fb,
        }
    }

    /// (log rows, block rows, readings in blocks), for tests and benchmarks.
    pub async fn table_counts(&self) -> Result<(i64, i64, i64), ReadingsError> {
        Ok(sql::counts(&self.shared().db).await?)
    }

    /// Starts the background tasks: compaction when the memtable is full or `compact_every`
    /// has passed; merges of finished days and retention purges; on SQLite, WAL
    /// checkpoints. They stop when the handle is stopped or dropped.
    ///
    /// Compaction has a task of its own so a long merge run never delays it (merges take
    /// the maintenance lock one (sensor, day) at a time), and so do checkpoints, which the
    /// store's write connection never does inside a commit.
    pub fn start_background(&self) -> Background {
        let (stop, stopped) = watch::channel(false);
        let cfg = self.shared().cfg.clone();
        let start = tokio::time::Instant::now();
        let every = |d: Duration| {
            // A zero period would make tokio panic.
            let d = d.max(Duration::from_millis(1));
            let mut t = tokio::time::interval_at(start + d, d);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        };
        let mut tasks = Vec::new();

        let (store, mut halt, mut compact) =
            (self.clone(), stopped.clone(), every(cfg.compact_every));
        let limit = cfg.memtable_limit;
        tasks.push(tokio::spawn(
            async move {
                loop {
                    let result = tokio::select! {
                        _ = halt.changed() => break,
                        // Only if still full: the writer may have signalled just before a
                        // compaction that has since emptied the memtable.
                        _ = store.shared().compact_due.notified() => store.compact_if_over(limit).await,
                        _ = compact.tick() => store.compact_now().await.map(drop),
                    };
                    if let Err(e) = result {
                        // Retried on the next trigger; the log keeps the data.
                        tracing::warn!(error = %e, "reading store compaction failed");
                    }
                }
            }
            .instrument(tracing::info_span!("readings_compaction")),
        ));

        let (store, mut halt) = (self.clone(), stopped.clone());
        let (mut merge, mut purge) = (every(cfg.merge_every), every(cfg.purge_every));
        tasks.push(tokio::spawn(
            async move {
                loop {
                    let result = tokio::select! {
                        _ = halt.changed() => break,
                        _ = merge.tick() => store.merge_now(10_000).await.map(drop),
                        _ = purge.tick() => {
                            let keep_ms = i64::try_from(cfg.retention.as_millis()).unwrap_or(i64::MAX);
                            store.purge(crate::db::now_ms().saturating_sub(keep_ms)).await.map(drop)
                        }
                    };
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "reading store merge or purge failed");
                    }
                }
            }
            .instrument(tracing::info_span!("readings_merge_purge")),
        ));

        if self.shared().db.backend() == crate::db::Backend::Sqlite {
            let (store, mut halt, mut tick) = (self.clone(), stopped, every(cfg.checkpoint_every));
            tasks.push(tokio::spawn(
                async move {
                    loop {
                        tokio::select! {
                            _ = halt.changed() => break,
                            _ = tick.tick() => {
                                if let Err(e) = store.checkpoint().await {
                                    tracing::warn!(error = %e, "WAL checkpoint failed");
                                }
                            }
                        }
                    }
                }
                .instrument(tracing::info_span!("readings_checkpoint")),
            ));
        }
        Background { stop, tasks }
    }

    /// SQLite: copies the WAL into the database beside the writer, so no commit of the store
    /// waits for it; see [`WAL_RESTART_FRAMES`] for when it finishes on the write connection.
    pub async fn checkpoint(&self) -> Result<(), ReadingsError> {
        let sh = self.shared();
        let started = std::time::Instant::now();
        let Some((log, done)) = sh.db.wal_checkpoint().await? else {
            return Ok(());
        };
        let beside_ms = started.elapsed().as_millis() as u64;
        // `done == log` only says the WAL as it was when the checkpoint began is copied;
        // the writer has appended since, so test the size, not what is left.
        if log > WAL_RESTART_FRAMES {
            sh.write.wal_checkpoint().await?;
            let total_ms = started.elapsed().as_millis() as u64;
            tracing::debug!(
                log,
                done,
                beside_ms,
                total_ms,
                "WAL checkpoint finished on the write connection"
            );
        } else if done > 0 {
            tracing::trace!(log, done, beside_ms, "WAL checkpoint");
        }
        Ok(())
    }
}

/// The background tasks of a [`ReadingStore`].
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    /// Stops after the current piece of work and waits for the tasks to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Validates [from, to) for buckets, whose arithmetic needs the width to fit in an i64,
/// and returns the width.
fn check_range(from_ms: i64, to_ms: i64) -> Result<i64, ReadingsError> {
    match to_ms.checked_sub(from_ms) {
        Some(span) if span > 0 => Ok(span),
        _ => Err(ReadingsError::InvalidRange),
    }
}

/// Where today's size-tiered merge starts among a day's blocks `(id, n)` in id order: the
/// newest blocks, extended backwards while the next older block holds no more points than
/// those already taken, and at least the two newest. Merging a suffix in id order is always
/// correct (the merged block gets the newest id, and every block it leaves out is older
/// than all it replaces); stopping at a bigger block keeps each point from being rewritten
/// more than a logarithmic number of times in a day.
fn tier_start(sizes: &[(i64, i64)]) -> usize {
    let Some(mut start) = sizes.len().checked_sub(1) else {
        return 0;
    };
    let mut taken = sizes[start].1;
    while start > 0 && sizes[start - 1].1 <= taken {
        start -= 1;
        taken = taken.saturating_add(sizes[start].1);
    }
    start.min(sizes.len().saturating_sub(2))
}

/// Block data bytes per compaction transaction: bounded on SQLite (one writer), all of it on
/// PostgreSQL (which locks rows, so ingest does not wait for the compaction).
fn slice_bytes(backend: crate::db::Backend) -> usize {
    match backend {
        crate::db::Backend::Sqlite => SLICE_BYTES_SQLITE,
        crate::db::Backend::Postgres => usize::MAX,
    }
}

/// Cuts `blocks` into consecutive ranges of about `max_bytes` of data (at least one block
/// each); one empty range for no blocks, so a compaction always has a transaction in
/// which to delete its log rows.
fn slices(blocks: &[NewBlock], max_bytes: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0usize);
    for (i, b) in blocks.iter().enumerate() {
        if i > start && bytes.saturating_add(b.data.len()) > max_bytes {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes = bytes.saturating_add(b.data.len());
    }
    out.push(start..blocks.len());
    out
}

/// The single writer: takes every batch waiting in the channel (up to
/// `max_group_readings`), commits them as one log row, adds them to the memtable and only
/// then answers each caller.
async fn writer(sh: Arc<Shared>, mut rx: mpsc::Receiver<Job>) {
    let max = sh.cfg.max_group_readings.max(1);
    let mut body = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut n = first.readings.len();
        let mut jobs = vec![first];
        while n < max {
            match rx.try_recv() {
                Ok(j) => {
                    n += j.readings.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        body.clear();
        for j in &jobs {
            body.extend_from_slice(&j.chunk);
        }
        let written = sql::insert_log(&sh.write, crate::db::now_ms(), &body).await;
        match written {
            Ok(seq) => {
                let full = {
                    let mut m = sh.mem_write();
                    for j in &jobs {
                        m.active.push_row(seq, j.readings.iter().copied());
                    }
                    m.active.len() >= sh.cfg.memtable_limit
                };
                if full {
                    sh.compact_due.notify_one();
                }
                for j in jobs {
                    let count = j.readings.len();
                    let _ = j.reply.send(Ok(AppendReceipt {
                        seq: Some(seq),
                        count,
                    }));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, batches = jobs.len(), "reading log write failed");
                let e = Arc::new(e);
                for j in jobs {
                    let _ = j.reply.send(Err(ReadingsError::Write(e.clone())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn todays_merge_takes_the_newest_blocks_up_to_a_bigger_one() {
        // A merged block of 1,000 points, then compactions of 10.
        let mut sizes = vec![(1, 1000)];
        sizes.extend((2..=34).map(|id| (id, 10)));
        assert_eq!(tier_start(&sizes), 1);
        // Next time the 330-point block of the last merge joins the new small ones …
        let mut sizes = vec![(1, 1000), (35, 330)];
        sizes.extend((36..=68).map(|id| (id, 10)));
        assert_eq!(tier_start(&sizes), 1);
        // … but not once it is bigger than them.
        let mut sizes = vec![(1, 1000), (69, 660)];
        sizes.extend((70..=102).map(|id| (id, 10)));
        assert_eq!(tier_start(&sizes), 2);
        // Equal blocks all go; at least the two newest always do.
        assert_eq!(tier_start(&[(1, 5), (2, 5), (3, 5)]), 0);
        assert_eq!(tier_start(&[(1, 500), (2, 50), (3, 5)]), 1);
        assert_eq!(tier_start(&[(1, 5)]), 0);
        assert_eq!(tier_start(&[]), 0);
    }

    fn block(bytes: usize) -> NewBlock {
        NewBlock {
            sensor: 1,
            t_min: 0,
            t_max: 0,
            n: 1,
            v_min: 0.0,
            v_max: 0.0,
            v_sum: 0.0,
            data: vec![0; bytes],
        }
    }

    #[test]
    fn slices_are_cut_by_bytes_with_at_least_one_block_each() {
        let blocks: Vec<NewBlock> = [400, 400, 400, 2000, 100].into_iter().map(block).collect();
        assert_eq!(slices(&blocks, 1000), vec![0..2, 2..3, 3..4, 4..5]);
        assert_eq!(slices(&blocks, usize::MAX), vec![0..5]);
        assert_eq!(slices(&[], 1000), vec![0..0]);
    }
}
