//! `yingji bench ingest`: the ingest benchmark of issue 3, measured on this machine with the
//! real server, the real store and real HTTP clients. Each figure is printed as it is
//! measured; the last line is one JSON object with all of them (`null` where a part is not
//! measured yet).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use crate::app::Application;
use crate::config::Settings;
use crate::db::{Db, Sql};

mod alarms;

#[derive(Debug, Clone)]
pub struct IngestBenchArgs {
    pub readings: u64,
    pub sensors: u64,
    pub batch: u64,
    pub clients: usize,
    /// Rows for the plain-table measurements (b) and (c).
    pub table_rows: u64,
    pub dir: Option<PathBuf>,
    /// Seconds of (e), the alarm latency at a fixed 20,000 readings/s.
    pub latency_seconds: u64,
    /// Sensors for the memory figure (issue 3: measure with a million).
    pub memory_sensors: u64,
    /// PostgreSQL for part (d): the same HTTP ingest with the store on it, and binary COPY
    /// into a plain table, each in a schema of its own that is dropped afterwards.
    pub pg: Option<String>,
}

impl IngestBenchArgs {
    pub fn full() -> IngestBenchArgs {
        IngestBenchArgs {
            readings: 20_000_000,
            sensors: 10_000,
            batch: 1_000,
            clients: 8,
            table_rows: 20_000_000,
            dir: None,
            latency_seconds: 30,
            memory_sensors: 1_000_000,
            pg: None,
        }
    }
    pub fn quick() -> IngestBenchArgs {
        IngestBenchArgs {
            readings: 5_000_000,
            table_rows: 5_000_000,
            latency_seconds: 10,
            ..IngestBenchArgs::full()
        }
    }
}

const SENSORS_PER_ENTERPRISE: u64 = 100;
const STEP_MS: i64 = 10_000;

/// Readings of batch `b`: one gateway (enterprise) reporting 10 timestamps of its 100
/// sensors, as a district's gateways do.
fn batch_body(b: u64, args: &IngestBenchArgs, t0: i64) -> (usize, String) {
    let enterprises = (args.sensors / SENSORS_PER_ENTERPRISE).max(1);
    let e = (b % enterprises) as usize;
    let round = (b / enterprises) as i64;
    let per_ts = SENSORS_PER_ENTERPRISE.min(args.batch);
    let stamps = (args.batch / per_ts).max(1) as i64;
    let mut s = String::with_capacity(args.batch as usize * 48);
    s.push_str("{\"readings\":[");
    let mut first = true;
    for k in 0..stamps {
        let ts = t0 + (round * stamps + k) * STEP_MS;
        for i in 0..per_ts {
            if !first {
                s.push(',');
            }
            first = false;
            let v = 10.0 + ((b as f64 + i as f64 * 0.37 + k as f64) * 0.1).sin() * 5.0;
            s.push_str(&format!(
                "{{\"sensor\":\"S{i:03}\",\"ts\":{ts},\"value\":{v:.3}}}"
            ));
        }
    }
    s.push_str("]}");
    (e, s)
}

fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Creates the district, `sensors / 100` enterprises with 100 sensors each and a gateway token each.
async fn fixture(db: &Db, args: &IngestBenchArgs) -> anyhow::Result<Vec<String>> {
    let units = crate::demo::generator::demo_admin_units()?;
    let mut tx = db.begin().await?;
    for u in &units {
        crate::registry::store::upsert_unit(&mut tx, u, None).await?;
    }
    let enterprises = (args.sensors / SENSORS_PER_ENTERPRISE).max(1);
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(7);
    let mut tokens = Vec::new();
    for e in 0..enterprises {
        let id = format!("bench-{e:05}");
        let input = crate::registry::model::EnterpriseInput {
            credit_code: crate::registry::credit_code::generate(&mut rng, "120114")
                .as_str()
                .to_string(),
            name: format!("基准测试企业{e}"),
            town_code: "120114001".into(),
            address: String::new(),
            lon: None,
            lat: None,
            industry_section: "C".into(),
            industry_division: Some("26".into()),
            scale: crate::registry::model::Scale::Above,
            staff_count: None,
            legal_rep: String::new(),
            safety_manager: String::new(),
            safety_phone: String::new(),
            flags: vec![crate::registry::model::HazardFlag::HazchemStorage],
        };
        crate::registry::store::insert_enterprise(&mut tx, &id, &input).await?;
        for i in 0..SENSORS_PER_ENTERPRISE {
            let s: crate::monitor::sensors::SensorInput = serde_json::from_value(json!({
                "enterprise_id": id, "code": format!("S{i:03}"), "kind": "level", "range_min": 0, "range_max": 20,
                "h": 16, "hh": 18, "deadband": 0.2,
            }))?;
            crate::monitor::sensors::insert(&mut tx, &crate::db::new_id(), &s).await?;
        }
        let (token, _) = crate::monitor::sensors::create_token(&mut tx, &id, "bench").await?;
        tokens.push(token);
    }
    tx.commit().await?;
    Ok(tokens)
}

/// (a), and (d) on PostgreSQL: sustained ingest through HTTP into the store on `db` (connected
/// and migrated; the server closes it when it stops); returns (overall, last tenth).
///
/// The last tenth is timed from the moment a client takes the tenth's first batch to the
/// last answer, as the whole run is from the first batch, so neither includes work left
/// after it: the memtable still
/// holds up to `memtable_readings` uncompacted readings at the end, whose compaction (and
/// merges) the server does later. The first memtable fill has no compaction behind it, so
/// the overall rate is the flattering one; the last tenth runs beside the compactions of
/// what came before, which is what a store that has been ingesting for a while sustains.
/// With the default memtable of 2 M readings, the full run's last tenth (2 M) spans one
/// compaction cycle; the quick run's (0.5 M) is shorter than a cycle and holds all, part or
/// none of the compaction that starts at 4 M, so it spreads more from run to run.
async fn http_ingest(args: &IngestBenchArgs, db: Db, url: &str) -> anyhow::Result<(f64, f64)> {
    let tokens = fixture(&db, args).await?;
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        db: url.into(),
        ..Default::default()
    };
    let app = Application::build_with_db(settings, db.clone()).await?;
    let addr = app.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stop_rx.await;
    }));
    let batches = args.readings / args.batch;
    let t0 =
        crate::db::now_ms() - (args.readings / args.sensors.max(1)) as i64 * STEP_MS - 3_600_000;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let tenth_start = batches - batches / 10;
    let tenth_started = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (client, next, tokens, args, tenth_started) = (
            client.clone(),
            next.clone(),
            tokens.clone(),
            args.clone(),
            tenth_started.clone(),
        );
        let endpoint = format!("http://{addr}/api/v1/ingest/readings");
        tasks.push(tokio::spawn(async move {
            loop {
                let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if b >= batches {
                    return anyhow::Ok(());
                }
                if b == tenth_start
                    && let Ok(mut g) = tenth_started.lock()
                {
                    *g = Some(Instant::now());
                }
                let (e, body) = batch_body(b, &args, t0);
                let r = client
                    .post(&endpoint)
                    .bearer_auth(&tokens[e])
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                anyhow::ensure!(r.status().is_success(), "batch {b}: HTTP {}", r.status());
                let report: serde_json::Value = r.json().await?;
                anyhow::ensure!(
                    report["accepted"].as_u64() == Some(args.batch),
                    "batch {b}: {report}"
                );
                if b % (batches / 20).max(1) == 0 {
                    eprintln!(
                        "  … {b} / {batches} batches at {:.2} s",
                        started.elapsed().as_secs_f64()
                    );
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let tenth = tenth_started
        .lock()
        .ok()
        .and_then(|g| *g)
        .map(|t| t.elapsed().as_secs_f64())
        .unwrap_or(elapsed);
    let _ = stop_tx.send(());
    server.await??;
    Ok((
        (batches * args.batch) as f64 / elapsed,
        ((batches - tenth_start) * args.batch) as f64 / tenth,
    ))
}

/// A schema of its own on the PostgreSQL at `url`, dropped by [`PgSchema::drop_now`].
struct PgSchema {
    admin: Db,
    name: String,
}

impl PgSchema {
    async fn create(url: &str) -> anyhow::Result<(PgSchema, Db)> {
        let admin = Db::connect_without_migrating(url, None).await?;
        anyhow::ensure!(
            admin.backend() == crate::db::Backend::Postgres,
            "--pg needs a postgres:// URL"
        );
        let name = format!("bench_{}", crate::db::new_id());
        admin
            .execute(&Sql::new(format!("CREATE SCHEMA {name}")))
            .await?;
        let schema = PgSchema { admin, name };
        let db = match Db::connect_without_migrating(url, Some(&schema.name)).await {
            Ok(db) => db,
            Err(e) => {
                schema.drop_now().await;
                return Err(e.into());
            }
        };
        Ok((schema, db))
    }

    async fn drop_now(self) {
        let sql = Sql::new(format!("DROP SCHEMA {} CASCADE", self.name));
        if let Err(e) = self.admin.execute(&sql).await {
            eprintln!("could not drop schema {}: {e}", self.name);
        }
        self.admin.close().await;
    }
}

/// (d) The HTTP ingest of (a) with the store on PostgreSQL, in a fresh schema.
async fn pg_http_ingest(args: &IngestBenchArgs, url: &str) -> anyhow::Result<(f64, f64)> {
    let (schema, db) = PgSchema::create(url).await?;
    let result = async {
        db.migrate().await?;
        http_ingest(args, db.clone(), url).await
    }
    .await;
    db.close().await;
    schema.drop_now().await;
    result
}

/// (d) The rows of (b) written by binary COPY into a plain table without an index: as many
/// connections as HTTP clients, one COPY of `batch` rows each time, each its own committed
/// transaction, as an acknowledged batch would be.
async fn pg_copy(args: &IngestBenchArgs, url: &str) -> anyhow::Result<(f64, u64)> {
    let (schema, db) = PgSchema::create(url).await?;
    let result = pg_copy_into(args, &db).await;
    db.close().await;
    schema.drop_now().await;
    result
}

async fn pg_copy_into(args: &IngestBenchArgs, db: &Db) -> anyhow::Result<(f64, u64)> {
    let Db::Postgres(pool) = db else {
        anyhow::bail!("--pg needs a postgres:// URL");
    };
    db.execute(&Sql::new(
        "CREATE TABLE copy_bench (sensor INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL)",
    ))
    .await?;
    let batches = args.table_rows / args.batch.max(1);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (pool, next, batch) = (pool.clone(), next.clone(), args.batch);
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.acquire().await?;
            loop {
                let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if b >= batches {
                    return anyhow::Ok(());
                }
                let mut rows = crate::db::pgcopy::BinaryCopy::with_capacity(batch as usize * 38);
                for i in 0..batch {
                    let (sensor, ts, value) = table_row(b * batch + i);
                    rows.row(3).i32(sensor).i64(ts).f64(value);
                }
                let mut copy = conn
                    .copy_in_raw("COPY copy_bench (sensor, ts, value) FROM STDIN (FORMAT binary)")
                    .await?;
                copy.send(rows.finish()).await?;
                copy.finish().await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let written: i64 = db
        .fetch_scalar(&Sql::new("SELECT COUNT(*) FROM copy_bench"))
        .await?;
    let written = u64::try_from(written)?;
    anyhow::ensure!(written == batches * args.batch, "COPY wrote {written} rows");
    Ok((written as f64 / elapsed, written))
}

/// Row `n` of the plain-table measurements: the same order as the HTTP run, many sensors
/// per batch with time advancing.
fn table_row(n: u64) -> (i32, i64, f64) {
    const SENSORS: u64 = 10_000;
    (
        (n % SENSORS) as i32,
        1_700_000_000_000_i64 + (n / SENSORS) as i64 * STEP_MS,
        n as f64 * 0.001,
    )
}

/// (b) and (c): the same rows appended with one prepared statement and one transaction per
/// batch into a plain table, without an index and keyed by (sensor, ts), WAL as the store.
fn plain_table(
    dir: &std::path::Path,
    rows: u64,
    batch: u64,
    keyed: bool,
    limit: Duration,
) -> anyhow::Result<(f64, u64)> {
    let path = dir.join(if keyed { "naive.db" } else { "ceiling.db" });
    let mut conn = rusqlite::Connection::open(&path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let ddl = if keyed {
        "CREATE TABLE r (sensor INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (sensor, ts)) WITHOUT ROWID"
    } else {
        "CREATE TABLE r (sensor INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL)"
    };
    conn.execute(ddl, [])?;
    let started = Instant::now();
    let mut written = 0u64;
    while written < rows && started.elapsed() < limit {
        let tx = conn.transaction()?;
        {
            let mut stmt =
                tx.prepare_cached("INSERT INTO r (sensor, ts, value) VALUES (?1, ?2, ?3)")?;
            for i in 0..batch {
                let (sensor, ts, value) = table_row(written + i);
                stmt.execute(rusqlite::params![sensor, ts, value])?;
            }
        }
        tx.commit()?;
        written += batch;
    }
    Ok((written as f64 / started.elapsed().as_secs_f64(), written))
}

/// (f) A 30-day history of one sensor sampled every 10 s, bucketed to 1,000 points.
async fn history_query(db: &Db) -> anyhow::Result<f64> {
    let store =
        crate::monitor::readings::ReadingStore::open(db.clone(), Default::default()).await?;
    let num: i64 = db
        .fetch_scalar(&Sql::new("SELECT CAST(MIN(num) AS BIGINT) FROM sensors"))
        .await?;
    let num = u32::try_from(num)?;
    let end = crate::db::now_ms() - 40 * 86_400_000;
    let start = end - 30 * 86_400_000;
    let mut batch = Vec::with_capacity(10_000);
    let mut t = start;
    while t < end {
        batch.push(crate::monitor::readings::Reading {
            sensor: num,
            ts_ms: t,
            value: (t as f64 / 3.6e6).sin(),
        });
        if batch.len() == 10_000 {
            store.append(&batch).await?;
            batch.clear();
        }
        t += STEP_MS;
    }
    store.append(&batch).await?;
    store.compact_now().await?;
    store.merge_now(64).await?;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        let buckets = store.buckets(num, start, end, (end - start) / 1000).await?;
        best = best.min(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            buckets.len() >= 999,
            "expected about 1,000 buckets, got {}",
            buckets.len()
        );
    }
    Ok(best)
}

pub async fn ingest(args: IngestBenchArgs) -> anyhow::Result<()> {
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile_dir()?;
            tmp.clone()
        }
    };
    eprintln!(
        "bench ingest: {} readings, {} sensors, batches of {}, {} clients, in {}",
        args.readings,
        args.sensors,
        args.batch,
        args.clients,
        dir.display()
    );
    let rss_before = rss_bytes();
    let url = format!("sqlite://{}", dir.join("ingest.db").display());
    eprintln!("(a) HTTP ingest into the embedded store …");
    let (rate, last_tenth) = http_ingest(&args, Db::connect(&url).await?, &url).await?;
    eprintln!("(a) {rate:.0} readings/s overall, {last_tenth:.0} over the last tenth");
    let db = Db::connect(&url).await?;
    eprintln!("(f) 30-day history of one sensor …");
    let history_ms = history_query(&db).await?;
    eprintln!("(f) {history_ms:.1} ms for 1,000 buckets over 30 days (259,200 points)");
    let rss_after = rss_bytes();
    db.close().await;
    eprintln!(
        "(e) alarm latency at 20,000 readings/s over {} s …",
        args.latency_seconds
    );
    let latency = alarms::alarm_latency(&dir, args.sensors, 20_000, args.latency_seconds).await?;
    eprintln!(
        "(e) p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} alarms, at {:.0} readings/s",
        latency.p50_ms, latency.p99_ms, latency.max_ms, latency.samples, latency.readings_per_s
    );
    eprintln!(
        "memory: a monitoring service over {} sensors …",
        args.memory_sensors
    );
    let per_sensor = alarms::rss_per_sensor(&dir, args.memory_sensors).await?;
    eprintln!("memory: {per_sensor:.0} bytes per sensor beyond the reading store");
    eprintln!("(b) plain appends, no index …");
    let (d, rows, batch) = (dir.clone(), args.table_rows, args.batch);
    let (ceiling, ceiling_rows) = tokio::task::spawn_blocking(move || {
        plain_table(&d, rows, batch, false, Duration::from_secs(600))
    })
    .await??;
    eprintln!("(b) {ceiling:.0} rows/s over {ceiling_rows} rows");
    eprintln!("(c) a table keyed by (sensor, ts) …");
    let d = dir.clone();
    let (naive, naive_rows) = tokio::task::spawn_blocking(move || {
        plain_table(&d, rows, batch, true, Duration::from_secs(120))
    })
    .await??;
    eprintln!("(c) {naive:.0} rows/s over {naive_rows} rows (capped at 120 s)");
    let (mut pg_rate, mut pg_last_tenth, mut pg_copy_rate) = (None, None, None);
    if let Some(pg) = &args.pg {
        eprintln!("(d) HTTP ingest with the store on PostgreSQL …");
        let (r, t) = pg_http_ingest(&args, pg).await?;
        eprintln!("(d) {r:.0} readings/s overall, {t:.0} over the last tenth");
        eprintln!("(d) binary COPY into a plain PostgreSQL table …");
        let (c, rows) = pg_copy(&args, pg).await?;
        eprintln!("(d) {c:.0} rows/s over {rows} rows");
        (pg_rate, pg_last_tenth, pg_copy_rate) =
            (Some(r.round()), Some(t.round()), Some(c.round()));
    }
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let result = json!({
        "readings": args.readings,
        "sensors": args.sensors,
        "readings_per_s": rate.round(),
        "readings_per_s_last_tenth": last_tenth.round(),
        "ceiling_rows_per_s": ceiling.round(),
        "ratio_vs_ceiling": (rate / ceiling * 1000.0).round() / 1000.0,
        "naive_indexed_rows_per_s": naive.round(),
        "naive_indexed_rows": naive_rows,
        "alarm_latency_p50_ms": (latency.p50_ms * 10.0).round() / 10.0,
        "alarm_latency_p99_ms": (latency.p99_ms * 10.0).round() / 10.0,
        "alarm_latency_samples": latency.samples,
        // Measured only with --pg.
        "pg_readings_per_s": pg_rate,
        "pg_readings_per_s_last_tenth": pg_last_tenth,
        "pg_copy_rows_per_s": pg_copy_rate,
        "history_30d_ms": (history_ms * 10.0).round() / 10.0,
        "rss_bytes_per_sensor": per_sensor.round(),
        "rss_sensors": args.memory_sensors,
        "rss_growth_bytes": rss_before.zip(rss_after).map(|(b, a)| a.saturating_sub(b)),
    });
    println!("{result}");
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("yingji-bench-{}", crate::db::new_id()));
    std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_body_holds_the_batch_size_and_is_valid_json() {
        let args = IngestBenchArgs {
            readings: 10_000,
            ..IngestBenchArgs::quick()
        };
        let (e, body) = batch_body(3, &args, 1_700_000_000_000);
        assert_eq!(e, 3);
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["readings"].as_array().map(Vec::len), Some(1000));
    }
}
