//! The reading store's SQL. Statements that bind a BLOB/BYTEA talk to sqlx directly,
//! because `db::Value` has no bytes variant; everything else goes through `Db`/`Tx` like the
//! rest of Yingji. The texts are the same on both backends.

use sqlx::{Postgres, Sqlite};

use super::memtable::NewBlock;
use super::query::StoredBlock;
use crate::db::{Db, DbError, Sql, Tx};

/// Rows per multi-row INSERT of blocks: 8 arguments each stays far below SQLite's 32,766
/// and PostgreSQL's 65,535 bound parameters, and one statement text is prepared once.
const BLOCK_ROWS_PER_INSERT: usize = 256;

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
pub async fn insert_blocks(tx: &mut Tx, blocks: &[NewBlock]) -> Result<(), DbError> {
    for chunk in blocks.chunks(BLOCK_ROWS_PER_INSERT) {
        let mut text = String::from(
            "INSERT INTO reading_blocks (sensor_num, t_min, t_max, n, v_min, v_max, v_sum, data) VALUES ",
        );
        for i in 0..chunk.len() {
            let p = i * 8;
            if i > 0 {
                text.push(',');
            }
            text.push_str(&format!(
                "(${},${},${},${},${},${},${},${})",
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 6,
                p + 7,
                p + 8
            ));
        }
        macro_rules! bind_all {
            ($q:expr) => {{
                let mut q = $q;
                for b in chunk {
                    q = q
                        .bind(i64::from(b.sensor))
                        .bind(b.t_min)
                        .bind(b.t_max)
                        .bind(b.n)
                        .bind(b.v_min)
                        .bind(b.v_max)
                        .bind(b.v_sum)
                        .bind(b.data.as_slice());
                }
                q
            }};
        }
        match tx {
            Tx::Sqlite(t) => {
                bind_all!(sqlx::query::<Sqlite>(&text))
                    .execute(&mut **t)
                    .await?;
            }
            Tx::Postgres(t) => {
                bind_all!(sqlx::query::<Postgres>(&text))
                    .execute(&mut **t)
                    .await?;
            }
        }
    }
    Ok(())
}

const BLOCK_COLUMNS: &str = "id, t_min, t_max, n, v_min, v_max, v_sum, data";

/// Blocks of `sensor` that may hold points of [from, to), by id.
pub async fn blocks_in(
    db: &Db,
    sensor: u32,
    from: i64,
    to: i64,
) -> Result<Vec<StoredBlock>, DbError> {
    let rows: Vec<BlockRow> = db
        .fetch_all(
            &Sql::new(format!(
                "SELECT {BLOCK_COLUMNS} FROM reading_blocks \
                 WHERE sensor_num = $1 AND t_max >= $2 AND t_min < $3 ORDER BY id"
            ))
            .bind(i64::from(sensor))
            .bind(from)
            .bind(to),
        )
        .await?;
    Ok(rows.into_iter().map(StoredBlock::from).collect())
}

/// The block of `sensor` with the greatest `t_max` (ties: the latest written).
pub async fn last_block(db: &Db, sensor: u32) -> Result<Option<StoredBlock>, DbError> {
    let row: Option<BlockRow> = db
        .fetch_optional(
            &Sql::new(format!(
                "SELECT {BLOCK_COLUMNS} FROM reading_blocks WHERE sensor_num = $1 \
                 ORDER BY t_max DESC, id DESC LIMIT 1"
            ))
            .bind(i64::from(sensor)),
        )
        .await?;
    Ok(row.map(StoredBlock::from))
}

pub async fn purge_blocks(db: &Db, older_than_ms: i64) -> Result<u64, DbError> {
    db.execute(&Sql::new("DELETE FROM reading_blocks WHERE t_max < $1").bind(older_than_ms))
        .await
}

#[derive(sqlx::FromRow)]
pub struct MergeCandidate {
    pub sensor_num: i64,
    pub day: i64,
}

/// (sensor, UTC day) pairs worth merging: a finished day (before `today`) with more than
/// one block, or any day with more than `many` blocks, which happens today when the
/// memtable fills every few seconds under heavy ingest.
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
            "SELECT sensor_num, t_min / 86400000 AS day FROM reading_blocks WHERE t_min >= 0 \
             GROUP BY sensor_num, t_min / 86400000 \
             HAVING (t_min / 86400000 < $1 AND COUNT(*) > 1) OR COUNT(*) > $2 \
             ORDER BY sensor_num, day LIMIT $3",
        )
        .bind(today)
        .bind(many)
        .bind(limit),
    )
    .await
}

/// All blocks of one sensor within one UTC day, by id.
pub async fn day_blocks(db: &Db, sensor: i64, day: i64) -> Result<Vec<StoredBlock>, DbError> {
    let rows: Vec<BlockRow> = db
        .fetch_all(
            &Sql::new(format!(
                "SELECT {BLOCK_COLUMNS} FROM reading_blocks \
                 WHERE sensor_num = $1 AND t_min >= $2 AND t_min < $3 ORDER BY id"
            ))
            .bind(sensor)
            .bind(day * 86_400_000)
            .bind((day + 1) * 86_400_000),
        )
        .await?;
    Ok(rows.into_iter().map(StoredBlock::from).collect())
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
