//! Parts (e) and the memory figure of `yingji bench ingest`: how long a reading takes to reach
//! a browser as an alarm, and how much memory each watched sensor costs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{IngestBenchArgs, SENSORS_PER_ENTERPRISE, fixture, rss_bytes};
use crate::app::Application;
use crate::config::Settings;
use crate::db::{Db, Sql};

/// Latency percentiles from reading to alarm on the SSE stream.
#[derive(Debug, Clone)]
pub struct LatencyReport {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub samples: usize,
    /// The ingest rate actually sustained while measuring.
    pub readings_per_s: f64,
}

/// The value of `sorted` at quantile `q` (nearest rank).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One gateway batch: 10 time steps of all 100 sensors of enterprise `e`, all normal except
/// sensor `excursion`, which reads above HH at the last step.
fn latency_batch(now_ms: i64, excursion: usize) -> String {
    let mut s = String::with_capacity(40 * 1000);
    s.push_str("{\"readings\":[");
    for k in 0..10_i64 {
        let ts = now_ms - (9 - k) * 10;
        for i in 0..SENSORS_PER_ENTERPRISE as usize {
            if k > 0 || i > 0 {
                s.push(',');
            }
            let v = if k == 9 && i == excursion { 19.0 } else { 10.0 };
            s.push_str(&format!(
                "{{\"sensor\":\"S{i:03}\",\"ts\":{ts},\"value\":{v}}}"
            ));
        }
    }
    s.push_str("]}");
    s
}

/// (e) Drives HTTP ingest at a fixed `readings_per_s` for `seconds` (batches of 1,000 from the
/// district's gateways in turn), each batch carrying one HH excursion, and times each
/// excursion from the moment its batch is sent to the moment its alarm arrives on an SSE
/// stream opened by a duty officer.
pub async fn alarm_latency(
    dir: &Path,
    sensors: u64,
    readings_per_s: u64,
    seconds: u64,
) -> anyhow::Result<LatencyReport> {
    let url = format!("sqlite://{}", dir.join("latency.db").display());
    let db = Db::connect(&url).await?;
    let args = IngestBenchArgs {
        sensors,
        ..IngestBenchArgs::quick()
    };
    let tokens = fixture(&db, &args).await?;
    let enterprises: Vec<String> = (0..tokens.len()).map(|e| format!("bench-{e:05}")).collect();
    let password = "bench-duty-password";
    crate::auth::routes::create_user(
        &db,
        &crate::audit::Actor::system("bench"),
        crate::auth::routes::CreateUser {
            username: "bench-duty".into(),
            display_name: "基准值班员".into(),
            password: password.into(),
            role: crate::auth::Role::Duty,
            town_code: None,
            enterprise_id: None,
        },
    )
    .await?;
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        db: url,
        ..Default::default()
    };
    let app = Application::build_with_db(settings, db.clone()).await?;
    let addr = app.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stop_rx.await;
    }));
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "bench-duty", "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["token"]
        .as_str()
        .context("login answered without a token")?
        .to_string();

    // (enterprise, sensor code) → when its excursion was sent.
    let sent: Arc<Mutex<HashMap<(String, String), Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let mut stream = client
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?;
    let reader = {
        let (sent, latencies) = (sent.clone(), latencies.clone());
        tokio::spawn(async move {
            let mut buf = String::new();
            while let Ok(Some(chunk)) = stream.chunk().await {
                let arrived = Instant::now();
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) else {
                        continue;
                    };
                    let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim()) else {
                        continue;
                    };
                    if v["action"] != "raised" {
                        continue;
                    }
                    let key = (
                        v["alarm"]["enterprise_id"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                        v["alarm"]["sensor_code"].as_str().unwrap_or("").to_string(),
                    );
                    // H and HH are raised together; the first one to arrive counts.
                    let started = sent.lock().ok().and_then(|mut m| m.remove(&key));
                    if let Some(t) = started
                        && let Ok(mut l) = latencies.lock()
                    {
                        l.push(arrived.duration_since(t).as_secs_f64() * 1000.0);
                    }
                }
            }
        })
    };

    let batches_per_s = (readings_per_s / 1000).max(1);
    let total = batches_per_s * seconds;
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / batches_per_s));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut posts = tokio::task::JoinSet::new();
    for b in 0..total {
        tick.tick().await;
        let e = (b as usize) % tokens.len();
        let round = (b as usize) / tokens.len();
        let excursion = round % SENSORS_PER_ENTERPRISE as usize;
        let body = latency_batch(crate::db::now_ms(), excursion);
        let key = (enterprises[e].clone(), format!("S{excursion:03}"));
        if let Ok(mut m) = sent.lock() {
            m.insert(key, Instant::now());
        }
        let (client, url, token) = (
            client.clone(),
            format!("{base}/api/v1/ingest/readings"),
            tokens[e].clone(),
        );
        posts.spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map(|_| ())
        });
        while let Some(done) = posts.try_join_next() {
            done??;
        }
    }
    while let Some(done) = posts.join_next().await {
        done??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Let the last alarms arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop_tx.send(());
    let _ = server.await;
    reader.abort();
    let mut l = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    let missing = sent.lock().map(|m| m.len()).unwrap_or_default();
    if missing > 0 {
        tracing::warn!(missing, "excursions whose alarm never arrived");
    }
    l.sort_by(f64::total_cmp);
    Ok(LatencyReport {
        p50_ms: percentile(&l, 0.5),
        p99_ms: percentile(&l, 0.99),
        max_ms: l.last().copied().unwrap_or(f64::NAN),
        samples: l.len(),
        readings_per_s: (total * 1000) as f64 / elapsed,
    })
}

/// Resident bytes per watched sensor beyond the reading store: the process's growth when a
/// monitoring service opens over `sensors` sensors (their table, codes, lookups and alarm
/// states), minus what the reading store itself holds.
pub async fn rss_per_sensor(dir: &Path, sensors: u64) -> anyhow::Result<f64> {
    let path = dir.join("sensors.db");
    let url = format!("sqlite://{}", path.display());
    let db = Db::connect(&url).await?;
    // One enterprise through the normal path (units, flags, token), the rest copied in bulk:
    // a million sensors through the API would measure the API, not the memory.
    fixture(
        &db,
        &IngestBenchArgs {
            sensors: SENSORS_PER_ENTERPRISE,
            ..IngestBenchArgs::quick()
        },
    )
    .await?;
    db.close().await;
    let enterprises = sensors.div_ceil(SENSORS_PER_ENTERPRISE);
    tokio::task::spawn_blocking(move || bulk_sensors(&path, enterprises)).await??;

    let db = Db::connect(&url).await?;
    let count: i64 = db
        .fetch_scalar(&Sql::new("SELECT CAST(COUNT(*) AS BIGINT) FROM sensors"))
        .await?;
    let before = rss_bytes().context("cannot read the resident set size")?;
    let settings = Settings::default();
    let monitor = crate::monitor::ingest::Monitor::open(
        db.clone(),
        settings.monitor.store_config(),
        settings.monitor.ingest_limits(),
        settings.monitor.alarm_options(),
    )
    .await?;
    let after = rss_bytes().context("cannot read the resident set size")?;
    let store = monitor.store.memory().bytes as u64;
    let watched = monitor.alarms.with_table(|t| t.len());
    anyhow::ensure!(
        watched as i64 == count,
        "{watched} sensors watched of {count}"
    );
    let per_sensor = after.saturating_sub(before).saturating_sub(store) as f64 / count as f64;
    drop(monitor);
    db.close().await;
    Ok(per_sensor)
}

/// Copies the fixture's enterprise `bench-00000` and its sensors until there are
/// `enterprises` of them, in one transaction.
fn bulk_sensors(path: &Path, enterprises: u64) -> anyhow::Result<()> {
    let mut conn = rusqlite::Connection::open(path)?;
    let tx = conn.transaction()?;
    {
        let mut ent = tx.prepare(
            "INSERT INTO enterprises (id, credit_code, name, town_code, address, lon, lat, industry_section, \
             industry_division, scale, staff_count, legal_rep, safety_manager, safety_phone, flags, created_at, updated_at) \
             SELECT ?1, ?2, name || ?1, town_code, address, lon, lat, industry_section, industry_division, scale, \
             staff_count, legal_rep, safety_manager, safety_phone, flags, created_at, updated_at \
             FROM enterprises WHERE id = 'bench-00000'",
        )?;
        let mut sen = tx.prepare(
            "INSERT INTO sensors (id, num, enterprise_id, code, name, kind, unit_of_measure, range_min, range_max, \
             ll, l, h, hh, deadband, on_delay_s, off_delay_s, offline_timeout_s, created_at, updated_at) \
             SELECT ?1, ?2, ?3, code, name, kind, unit_of_measure, range_min, range_max, ll, l, h, hh, deadband, \
             on_delay_s, off_delay_s, offline_timeout_s, created_at, updated_at FROM sensors WHERE num = ?4",
        )?;
        let mut num = SENSORS_PER_ENTERPRISE as i64;
        for e in 1..enterprises {
            let id = format!("bench-{e:05}");
            ent.execute(rusqlite::params![id, format!("X{e:017}")])?;
            for i in 1..=SENSORS_PER_ENTERPRISE as i64 {
                num += 1;
                sen.execute(rusqlite::params![
                    ulid::Ulid::new().to_string().to_lowercase(),
                    num,
                    id,
                    i
                ])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn a_latency_batch_holds_one_excursion_at_its_last_step() {
        let body = latency_batch(1_800_000_000_000, 7);
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        let r = v["readings"].as_array().expect("readings");
        assert_eq!(r.len(), 1000);
        let high: Vec<&serde_json::Value> = r.iter().filter(|x| x["value"] == 19.0).collect();
        assert_eq!(high.len(), 1);
        assert_eq!(high[0]["sensor"], "S007");
        assert_eq!(high[0]["ts"], 1_800_000_000_000_i64);
    }
}
