//! Storage: one SQL dialect for the embedded SQLite store and for PostgreSQL.
//!
//! Yingji keeps one set of SQL texts that both backends understand (`$1` placeholders,
//! `RETURNING`, `ON CONFLICT`, epoch-millisecond BIGINTs, JSON as TEXT) and dispatches each
//! statement to the backend chosen by the URL scheme. The alternative, a storage trait with
//! a hand-written implementation per backend, would double every query for no gain: where a
//! backend needs its own code (bulk ingest with COPY, LISTEN/NOTIFY), it gets a method of its
//! own here. Each backend owns its migrations (`migrations/sqlite`, `migrations/postgres`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{FromRow, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

pub mod pgcopy;
pub mod sql;
pub use sql::{Sql, Value};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (expected sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a value of {0} bytes does not fit a binary COPY field")]
    CopyFieldTooLarge(usize),
}

impl DbError {
    /// The name of the violated unique constraint, if this is a unique violation.
    pub fn unique_violation(&self) -> Option<String> {
        match self {
            DbError::Sqlx(sqlx::Error::Database(e)) if e.is_unique_violation() => Some(
                e.constraint()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.message().to_string()),
            ),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to one of the two backends.
#[derive(Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({:?})", self.backend())
    }
}

/// Rows that decode from both backends (derive `sqlx::FromRow` on a plain struct).
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// Scalars that decode from both backends.
pub trait Scalar:
    for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
    + Send
    + Unpin
{
}
impl<T> Scalar for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
        + Send
        + Unpin
{
}

impl Db {
    /// Connects by URL scheme and runs the backend's migrations.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        let db = Db::connect_without_migrating(url, None).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Connects; for PostgreSQL, `schema` sets the `search_path` (tests isolate themselves that way).
    pub async fn connect_without_migrating(url: &str, schema: Option<&str>) -> Result<Db, DbError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // WAL with synchronous=NORMAL is durable across process crashes; only an OS
                // crash can lose the last transactions. Ingest paths that must survive power
                // loss set FULL on their own connection.
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(opts)
                .await?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut opts = PgConnectOptions::from_str(url)?;
            if let Some(schema) = schema {
                opts = opts.options([("search_path", schema)]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(DbError::UnsupportedUrl(crate::config::redact_url(url)))
        }
    }

    /// A pool of its own for a component that writes heavily and must not wait long (the
    /// reading store). On SQLite: one connection, so its writes queue in order inside the
    /// process (the pool's queue is fair) instead of meeting in SQLite's busy handler, which
    /// sleeps in steps of up to 100 ms; and `wal_autocheckpoint=0`, so none of its commits
    /// stops to copy the WAL into the database and fsync both, which took up to 160 ms on
    /// this project's machine. The component must then checkpoint with
    /// [`Db::wal_checkpoint`]. On PostgreSQL, which locks rows, the same pool.
    pub async fn single_writer(&self) -> Result<Db, DbError> {
        match self {
            Db::Sqlite(p) => {
                let opts = (*p.connect_options())
                    .clone()
                    .pragma("wal_autocheckpoint", "0");
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    // Waiting for the connection is waiting for the other writes of the
                    // component: bounded by what it does, not by a guess.
                    .acquire_timeout(Duration::from_secs(600))
                    .test_before_acquire(false)
                    .connect_with(opts)
                    .await?;
                Ok(Db::Sqlite(pool))
            }
            Db::Postgres(_) => Ok(self.clone()),
        }
    }

    /// SQLite: a PASSIVE checkpoint (copies what it can of the WAL into the database without
    /// blocking any reader or writer); returns (WAL frames, frames copied). `None` on
    /// PostgreSQL.
    pub async fn wal_checkpoint(&self) -> Result<Option<(i64, i64)>, DbError> {
        match self {
            Db::Sqlite(p) => {
                let (_busy, log, done): (i64, i64, i64) =
                    sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                        .fetch_one(p)
                        .await?;
                Ok(Some((log, done)))
            }
            Db::Postgres(_) => Ok(None),
        }
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
            Db::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        self.fetch_scalar::<i64>(&Sql::new("SELECT CAST(1 AS BIGINT)"))
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }

    pub async fn begin(&self) -> Result<Tx, DbError> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    pub async fn execute(&self, sql: &Sql) -> Result<u64, DbError> {
        Ok(match self {
            Db::Sqlite(p) => sql::bind_sqlite(sqlx::query(&sql.text), &sql.args)
                .execute(p)
                .await?
                .rows_affected(),
            Db::Postgres(p) => sql::bind_pg(sqlx::query(&sql.text), &sql.args)
                .execute(p)
                .await?
                .rows_affected(),
        })
    }

    pub async fn fetch_all<T: Row>(&self, sql: &Sql) -> Result<Vec<T>, DbError> {
        Ok(match self {
            Db::Sqlite(p) => {
                sql::bind_sqlite_as(sqlx::query_as::<_, T>(&sql.text), &sql.args)
                    .fetch_all(p)
                    .await?
            }
            Db::Postgres(p) => {
                sql::bind_pg_as(sqlx::query_as::<_, T>(&sql.text), &sql.args)
                    .fetch_all(p)
                    .await?
            }
        })
    }

    pub async fn fetch_optional<T: Row>(&self, sql: &Sql) -> Result<Option<T>, DbError> {
        Ok(match self {
            Db::Sqlite(p) => {
                sql::bind_sqlite_as(sqlx::query_as::<_, T>(&sql.text), &sql.args)
                    .fetch_optional(p)
                    .await?
            }
            Db::Postgres(p) => {
                sql::bind_pg_as(sqlx::query_as::<_, T>(&sql.text), &sql.args)
                    .fetch_optional(p)
                    .await?
            }
        })
    }

    pub async fn fetch_scalar<T: Scalar>(&self, sql: &Sql) -> Result<T, DbError> {
        Ok(match self {
            Db::Sqlite(p) => {
                sql::bind_sqlite_scalar(sqlx::query_scalar::<_, T>(&sql.text), &sql.args)
                    .fetch_one(p)
                    .await?
            }
            Db::Postgres(p) => {
                sql::bind_pg_scalar(sqlx::query_scalar::<_, T>(&sql.text), &sql.args)
                    .fetch_one(p)
                    .await?
            }
        })
    }
}

/// An open transaction on either backend. Dropped without `commit`, it rolls back, so an
/// error anywhere in a multi-row change leaves nothing half-written.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn execute(&mut self, sql: &Sql) -> Result<u64, DbError> {
        Ok(match self {
            Tx::Sqlite(t) => sql::bind_sqlite(sqlx::query(&sql.text), &sql.args)
                .execute(&mut **t)
                .await?
                .rows_affected(),
            Tx::Postgres(t) => sql::bind_pg(sqlx::query(&sql.text), &sql.args)
                .execute(&mut **t)
                .await?
                .rows_affected(),
        })
    }

    pub async fn fetch_all<T: Row>(&mut self, sql: &Sql) -> Result<Vec<T>, DbError> {
        Ok(match self {
            Tx::Sqlite(t) => {
                sql::bind_sqlite_as(sqlx::query_as::<_, T>(&sql.text), &sql.args)
                    .fetch_all(&mut **t)
                    .await?
            }
            Tx::Postgres(t) => {
                sql::bind_pg_as(sqlx::query_as::<_, T>(&sql.text), &sql.args)
                    .fetch_all(&mut **t)
                    .await?
            }
        })
    }

    pub async fn fetch_optional<T: Row>(&mut self, sql: &Sql) -> Result<Option<T>, DbError> {
        Ok(match self {
            Tx::Sqlite(t) => {
                sql::bind_sqlite_as(sqlx::query_as::<_, T>(&sql.text), &sql.args)
                    .fetch_optional(&mut **t)
                    .await?
            }
            Tx::Postgres(t) => {
                sql::bind_pg_as(sqlx::query_as::<_, T>(&sql.text), &sql.args)
                    .fetch_optional(&mut **t)
                    .await?
            }
        })
    }

    pub async fn fetch_scalar<T: Scalar>(&mut self, sql: &Sql) -> Result<T, DbError> {
        Ok(match self {
            Tx::Sqlite(t) => {
                sql::bind_sqlite_scalar(sqlx::query_scalar::<_, T>(&sql.text), &sql.args)
                    .fetch_one(&mut **t)
                    .await?
            }
            Tx::Postgres(t) => {
                sql::bind_pg_scalar(sqlx::query_scalar::<_, T>(&sql.text), &sql.args)
                    .fetch_one(&mut **t)
                    .await?
            }
        })
    }
}

/// Milliseconds since the Unix epoch, UTC: how every timestamp is stored.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A new record id: a ULID, sortable by creation time and safe to show.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string().to_lowercase()
}

impl Db {
    /// A page of a filtered list and the total it is cut from, from one WHERE clause:
    /// `SELECT COUNT(*) {count_from}{filter}` and `{select}{filter} {order_by} LIMIT … OFFSET …`
    /// (no LIMIT without `paging`, for exports).
    pub async fn fetch_page<T: Row>(
        &self,
        count_from: &str,
        select: &str,
        filter: Sql,
        order_by: &str,
        paging: Option<crate::paging::Paging>,
    ) -> Result<(Vec<T>, i64), DbError> {
        let count = Sql {
            text: format!("SELECT COUNT(*) {count_from}{}", filter.text),
            args: filter.args.clone(),
        };
        let total: i64 = self.fetch_scalar(&count).await?;
        let mut sql = Sql {
            text: format!("{select}{} {order_by}", filter.text),
            args: filter.args,
        };
        if let Some(p) = paging {
            let l = sql.arg(p.limit);
            let o = sql.arg(p.offset);
            sql.push(&format!(" LIMIT {l} OFFSET {o}"));
        }
        Ok((self.fetch_all(&sql).await?, total))
    }
}
