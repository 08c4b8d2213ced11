//! The reading store's SQL. Statements that bind a BLOB/BYTEA talk to sqlx directly,
//! because `db::Value` has no bytes variant; everything else goes through `Db`/`Tx` like the
//! rest of Yingji. The texts are the same on both backends.

use sqlx::{Postgres, Sqlite};

use super::memtable::NewBlock;
use super::query::StoredBlock;
use crate::db::pgcopy::BinaryCopy;
use crate::db::{Db, DbError, Sql, Tx};

/// Rows per multi-row INSERT of blocks on SQLite: 9 arguments each stays far below its
/// 32,766 bound parameters, and one statement text is prepared once.
const BLOCK_ROWS_PER_INSERT: usize = 256;

/// The two levels of blocks (see the migration `0004_reading_store_growth.sql`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Written by compaction and by today's merges: about a day of blocks.
    Fresh = 0,
    /// One block per sensor and finished UTC day, written once by the merge.
    Day = 1,
}

#[derive(sqlx::FromRow)]
pub struct LogRow {
    pub seq: i64,
    pub body: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct BlockRow {
    id: i64,
    t_min: i64,
    t_max: i64,
    n: i64,
    v_min: f64,
    v_max: f64,
    v_sum: f64,
    data: Vec<u8>,
}

impl From<BlockRow> for StoredBlock {
    fn from(r: BlockRow) -> Self {
        StoredBlock {
            id: r.id,
            t_min: r.t_min,
            t_max: r.t_max,
            n: r.n,
            v_min: r.v_min,
            v_max: r.v_max,
            v_sum: r.v_sum,
            data: r.data,
        }
    }
}

/// Appends one log row and returns its `seq` once it is committed. One statement in
/// autocommit mode rather than BEGIN/INSERT/COMMIT: it is just as atomic and saves two
/// round trips to the database on every group commit.
///
/// Not COPY on PostgreSQL, unlike the blocks: a group commit is one row (all its readings
/// in one body), and COPY saves per-row work, of which there is none here; it would also
/// need a second statement to learn the `seq`, which COPY cannot return. What a log write
/// costs on PostgreSQL is the commit's WAL flush, shared by every batch in the group.
pub async fn insert_log(db: &Db, received_ms: i64, body: &[u8]) -> Result<i64, DbError> {
    const TEXT: &str = "INSERT INTO reading_log (received_ms, body) VALUES ($1, $2) RETURNING seq";
    Ok(match db {
        Db::Sqlite(p) => {
            sqlx::query_scalar::<Sqlite, i64>(TEXT)
                .bind(received_ms)
                .bind(body)
                .fetch_one(p)
                .await?
        }
        Db::Postgres(p) => {
            sqlx::query_scalar::<Postgres, i64>(TEXT)
                .bind(received_ms)
                .bind(body)
                .fetch_one(p)
                .await?
        }
    })
}

/// Log rows with `seq > after`, oldest first, at most `limit`.
pub async fn log_rows_after(db: &Db, after: i64, limit: i64) -> Result<Vec<LogRow>, DbError> {
    db.fetch_all(
        &Sql::new("SELECT seq, body FROM reading_log WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after)
            .bind(limit),
    )
    .await
}

pub async fn delete_log_range(tx: &mut Tx, lo: i64, hi: i64) -> Result<u64, DbError> {
    tx.execute(
        &Sql::new("DELETE FROM reading_log WHERE seq >= $1 AND seq <= $2")
            .bind(lo)
            .bind(hi),
    )
    .await
}

/// Writes blocks in order, so their ids follow the order of `blocks`.
///
/// SQLite gets multi-row INSERTs with anonymous `?` parameters: sqlx resolves each numbered
/// `$n` with `sqlite3_bind_parameter_name`, which walks the statement's list of names, so
/// binding 2,048 numbered parameters cost quadratic time and was most of a compaction's
/// write (measured: ~5% of all CPU in the ingest benchmark). PostgreSQL gets one binary
/// COPY: no parameters to bind at all, and rows keep their order, so identity ids follow it.
pub async fn insert_blocks(tx: &mut Tx, blocks: &[NewBlock], level: Level) -> Result<(), DbError> {
    match tx {
        Tx::Sqlite(t) => {
            for chunk in blocks.chunks(BLOCK_ROWS_PER_INSERT) {
                let mut text = String::from(
                    "INSERT INTO reading_blocks (sensor_num, t_min, t_max, n, v_min, v_max, v_sum, data, level) VALUES ",
                );
                for i in 0..chunk.len() {
                    text.push_str(if i == 0 {
                        "(?,?,?,?,?,?,?,?,?)"
                    } else {
                        ",(?,?,?,?,?,?,?,?,?)"
                    });
                }
                let mut q = sqlx::query::<Sqlite>(&text);
                for b in chunk {
                    q = q
                        .bind(i64::from(b.sensor))
                        .bind(b.t_min)
                        .bind(b.t_max)
                        .bind(b.n)
                        .bind(b.v_min)
                        .bind(b.v_max)
                        .bind(b.v_sum)
                        .bind(b.data.as_slice())
                        .bind(level as i64);
                }
                q.execute(&mut **t).await?;
            }
        }
        Tx::Postgres(t) => {
            if blocks.is_empty() {
                return Ok(());
            }
            let bytes: usize = blocks.iter().map(|b| b.data.len() + 96).sum();
            let mut rows = BinaryCopy::with_capacity(bytes);
            for b in blocks {
                rows.row(9)
                    .i64(i64::from(b.sensor))
                    .i64(b.t_min)
                    .i64(b.t_max)
                    .i64(b.n)
                    .f64(b.v_min)
                    .f64(b.v_max)
                    .f64(b.v_sum)
                    .bytes(&b.data)?
                    .i16(level as i16);
            }
            let mut copy = t
                .copy_in_raw(
                    "COPY reading_blocks (sensor_num, t_min, t_max, n, v_min, v_max, v_sum, data, level) \
                     FROM STDIN (FORMAT binary)",
                )
                .await?;
            copy.send(rows.finish()).await?;
            copy.finish().await?;
        }
    }
    Ok(())
}

/// Starts a compaction inside its first transaction: discards the blocks of an unfinished
/// one (see [`discard_unfinished`]) and records the greatest block id, so the blocks this
/// compaction writes are those above it until [`finish_compaction`] commits.
pub async fn begin_compaction(tx: &mut Tx) -> Result<u64, DbError> {
    let discarded = discard_unfinished(tx).await?;
    tx.execute(&Sql::new(
        "INSERT INTO reading_compaction (id, after_block) \
         SELECT 1, CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM reading_blocks",
    ))
    .await?;
    Ok(discarded)
}

/// Ends a compaction inside its last transaction: its log rows go, and with them the record
/// that it is unfinished.
pub async fn finish_compaction(tx: &mut Tx, lo: i64, hi: i64) -> Result<u64, DbError> {
    let deleted = delete_log_range(tx, lo, hi).await?;
    tx.execute(&Sql::new("DELETE FROM reading_compaction"))
        .await?;
    Ok(deleted)
}

/// Deletes the blocks an unfinished compaction committed (ids above its record) and the
/// record. Their readings are still in the log, so nothing acknowledged is lost; returns
/// the number of blocks deleted.
pub async fn discard_unfinished(tx: &mut Tx) -> Result<u64, DbError> {
    let after: Option<(i64,)> = tx
        .fetch_optional(&Sql::new("SELECT after_block FROM reading_compaction"))
        .await?;
    let Some((after,)) = after else { return Ok(0) };
    let n = tx
        .execute(&Sql::new("DELETE FROM reading_blocks WHERE id > $1").bind(after))
        .await?;
    tx.execute(&Sql::new("DELETE FROM reading_compaction"))
        .await?;
    Ok(n)
}

const BLOCK_COLUMNS: &str = "id, t_min, t_max, n, v_min, v_max, v_sum, data";

/// `{select} AND level = 0 UNION ALL {select} AND level = 1`: a query over blocks as one
/// branch per level, each of which the planner answers from that level's partial index
/// (both SQLite and PostgreSQL use a partial index only when the query's WHERE repeats its
/// condition literally). `select` must end inside its WHERE clause.
fn both_levels(select: &str) -> String {
    format!("{select} AND level = 0 UNION ALL {select} AND level = 1")
}

/// Blocks of `sensor` that may hold points of [from, to), by id.
pub async fn blocks_in(
    db: &Db,
    sensor: u32,
    from: i64,
    to: i64,
) -> Result<Vec<StoredBlock>, DbError> {
    let select = format!(
        "SELECT {BLOCK_COLUMNS} FROM reading_blocks \
         WHERE sensor_num = $1 AND t_max >= $2 AND t_min < $3"
    );
    let rows: Vec<BlockRow> = db
        .fetch_all(
            &Sql::new(format!("{} ORDER BY id", both_levels(&select)))
                .bind(i64::from(sensor))
                .bind(from)
                .bind(to),
        )
        .await?;
    Ok(rows.into_iter().map(StoredBlock::from).collect())
}

/// The block of `sensor` with the greatest `t_max` (ties: the latest written).
pub async fn last_block(db: &Db, sensor: u32) -> Result<Option<StoredBlock>, DbError> {
    let last_of = |level: u8| {
        format!(
            "SELECT {BLOCK_COLUMNS} FROM (SELECT {BLOCK_COLUMNS} FROM reading_blocks \
             WHERE sensor_num = $1 AND level = {level} ORDER BY t_max DESC, id DESC LIMIT 1) AS l{level}"
        )
    };
    let row: Option<BlockRow> = db
        .fetch_optional(
            &Sql::new(format!(
                "{} UNION ALL {} ORDER BY t_max DESC, id DESC LIMIT 1",
                last_of(0),
                last_of(1)
            ))
            .bind(i64::from(sensor)),
        )
        .await?;
    Ok(row.map(StoredBlock::from))
}

/// Ids of blocks whose newest reading is older than `older_than_ms`, at most `limit`. A read,
/// so the scan holds no write lock; the levels' indexes cover it, so it does not read the
/// blocks' data.
pub async fn expired_blocks(db: &Db, older_than_ms: i64, limit: i64) -> Result<Vec<i64>, DbError> {
    let rows: Vec<(i64,)> = db
        .fetch_all(
            &Sql::new(format!(
                "{} LIMIT $2",
                both_levels("SELECT id FROM reading_blocks WHERE t_max < $1")
            ))
            .bind(older_than_ms)
            .bind(limit),
        )
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

#[derive(sqlx::FromRow)]
pub struct MergeCandidate {
    pub sensor_num: i64,
    pub day: i64,
}

/// (sensor, UTC day) pairs with level-0 blocks worth merging: a finished day (before
/// `today`), whose blocks become one level-1 block, or a day with more than `many` level-0
/// blocks, which happens today when the memtable fills every few seconds under heavy
/// ingest. Level 1 holds finished days only, so it is never looked at: this query costs
/// what level 0 holds, a day or so of blocks, however long the history.
///
/// The day is taken from `t_max` (a block never crosses midnight, so it is `t_min`'s day
/// too) because level 0's (sensor_num, t_max) index then covers the query, which does not
/// read the blocks' data.
pub async fn merge_candidates(
    db: &Db,
    today: i64,
    many: i64,
    limit: i64,
) -> Result<Vec<MergeCandidate>, DbError> {
    // Integer division on BIGINT truncates toward zero on both backends; days before 1970
    // would need floor division, and no sensor reports from then.
    db.fetch_all(
        &Sql::new(
            "SELECT sensor_num, t_max / 86400000 AS day FROM reading_blocks \
             WHERE t_max >= 0 AND level = 0 \
             GROUP BY sensor_num, t_max / 86400000 \
             HAVING t_max / 86400000 < $1 OR COUNT(*) > $2 \
             ORDER BY sensor_num, day LIMIT $3",
        )
        .bind(today)
        .bind(many)
        .bind(limit),
    )
    .await
}

/// (id, n) of the blocks of one sensor within one UTC day, both levels, by id: what the
/// merge policy decides on before it reads any data.
pub async fn day_block_sizes(db: &Db, sensor: i64, day: i64) -> Result<Vec<(i64, i64)>, DbError> {
    let select = "SELECT id, n FROM reading_blocks \
                  WHERE sensor_num = $1 AND t_max >= $2 AND t_max < $3";
    db.fetch_all(
        &Sql::new(format!("{} ORDER BY id", both_levels(select)))
            .bind(sensor)
            .bind(day * 86_400_000)
            .bind((day + 1) * 86_400_000),
    )
    .await
}

/// The blocks of one sensor within one UTC day with an id of at least `from_id`, both
/// levels, by id.
pub async fn day_blocks(
    db: &Db,
    sensor: i64,
    day: i64,
    from_id: i64,
) -> Result<Vec<StoredBlock>, DbError> {
    let select = format!(
        "SELECT {BLOCK_COLUMNS} FROM reading_blocks \
         WHERE sensor_num = $1 AND t_max >= $2 AND t_max < $3 AND id >= $4"
    );
    let rows: Vec<BlockRow> = db
        .fetch_all(
            &Sql::new(format!("{} ORDER BY id", both_levels(&select)))
                .bind(sensor)
                .bind(day * 86_400_000)
                .bind((day + 1) * 86_400_000)
                .bind(from_id),
        )
        .await?;
    Ok(rows.into_iter().map(StoredBlock::from).collect())
}

/// Moves a block to level 1 in place (a finished day that has one block): its id, and so
/// its rank among writes, stays.
pub async fn promote_block(tx: &mut Tx, id: i64) -> Result<u64, DbError> {
    tx.execute(&Sql::new("UPDATE reading_blocks SET level = 1 WHERE id = $1").bind(id))
        .await
}

pub async fn delete_blocks(tx: &mut Tx, ids: &[i64]) -> Result<(), DbError> {
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new("");
        let list: Vec<String> = chunk.iter().map(|&id| sql.arg(id)).collect();
        sql.text = format!(
            "DELETE FROM reading_blocks WHERE id IN ({})",
            list.join(",")
        );
        tx.execute(&sql).await?;
    }
    Ok(())
}

/// Counts for tests and benchmarks: (log rows, block rows, points in blocks).
pub async fn counts(db: &Db) -> Result<(i64, i64, i64), DbError> {
    let log: i64 = db
        .fetch_scalar(&Sql::new("SELECT COUNT(*) FROM reading_log"))
        .await?;
    let blocks: i64 = db
        .fetch_scalar(&Sql::new("SELECT COUNT(*) FROM reading_blocks"))
        .await?;
    let points: i64 = db
        .fetch_scalar(&Sql::new(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM reading_blocks",
        ))
        .await?;
    Ok((log, blocks, points))
}
