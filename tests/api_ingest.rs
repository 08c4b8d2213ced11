//! Ingest of readings over HTTP and the history of a sensor, on every backend; and the
//! durability of acknowledged readings when the process is killed.

mod common;

use serde_json::{Value, json};

#[tokio::test]
async fn a_batch_is_stored_with_each_bad_item_reported_and_the_history_shows_it() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let (sensor_id, _) = common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        common::seed_sensor(&t.db, &f.b1, "LT-201").await;
        let gateway = common::ingest_token(&t.db, &f.a1).await;
        let app = common::TestApp::spawn(&t.db).await;
        let now = yingji::db::now_ms();
        let t0 = now - 3_600_000;
        let mut readings: Vec<Value> = (0..360).map(|i| json!({"sensor": "LT-101", "ts": t0 + i * 10_000, "value": 5.0 + (i % 10) as f64})).collect();
        readings.push(json!({"sensor": "LT-201", "ts": now, "value": 1.0}));
        readings.push(json!({"sensor": "LT-101", "ts": now + 86_400_000, "value": 1.0}));
        readings.push(json!({"sensor": "LT-101", "ts": now, "value": null}));
        readings.push(json!({"sensor": "LT-101", "ts": now - 1, "value": 25.0}));
        let r = app
            .client
            .post(app.url("/api/v1/ingest/readings"))
            .bearer_auth(&gateway)
            .json(&json!({"readings": readings}))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 200);
        let report: Value = r.json().await.expect("json");
        assert_eq!(report["accepted"], 361, "{report}");
        assert_eq!(report["out_of_range"], 1);
        let reasons: Vec<&str> = report["rejected"]
            .as_array()
            .expect("rejected")
            .iter()
            .map(|r| r["reason"].as_str().expect("reason"))
            .collect();
        assert_eq!(
            reasons,
            vec!["unknown_sensor", "future_timestamp", "non_finite_value"]
        );
        // Sending the same batch again changes nothing in the history.
        let again = json!({"readings": readings[..360]});
        let r = app
            .client
            .post(app.url("/api/v1/ingest/readings"))
            .bearer_auth(&gateway)
            .json(&again)
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 200);

        let token = app.login("enterprise").await;
        let (s, raw) = app
            .get_json(
                &token,
                &format!(
                    "/api/v1/sensors/{sensor_id}/readings?from={}&to={}",
                    t0, now
                ),
            )
            .await;
        assert_eq!(s, 200, "{raw}");
        let points = raw["points"].as_array().expect("points");
        assert_eq!(points.len(), 361, "each timestamp once");
        assert_eq!(points[0]["t"], t0);
        let (_, buckets) = app
            .get_json(
                &token,
                &format!(
                    "/api/v1/sensors/{sensor_id}/readings?from={t0}&to={}&bucket=600",
                    t0 + 3_600_000
                ),
            )
            .await;
        let buckets = buckets["buckets"].as_array().expect("buckets");
        assert_eq!(buckets.len(), 6);
        assert_eq!(buckets[0]["count"], 60);
        assert_eq!(buckets[0]["min"], 5.0);
        assert_eq!(buckets[0]["max"], 14.0);
        assert_eq!(buckets[0]["avg"], 9.5);
        // Another enterprise's user cannot read this sensor.
        let (s, _) = app
            .get_json(
                &app.login("town").await,
                &format!("/api/v1/sensors/{sensor_id}/readings"),
            )
            .await;
        assert_eq!(s, 200, "town A covers enterprise A1");
        let (s, body) = app
            .get_json(
                &token,
                &format!("/api/v1/sensors/{sensor_id}/readings?bucket=-5"),
            )
            .await;
        assert_eq!((s, body["error"]["field"].as_str()), (422, Some("bucket")));
        app.stop().await;
    });
}

#[tokio::test]
async fn ingest_refuses_bad_tokens_oversized_batches_and_malformed_bodies() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        let gateway = common::ingest_token(&t.db, &f.a1).await;
        let mut settings = yingji::config::Settings {
            bind: "127.0.0.1:0".into(),
            ..Default::default()
        };
        settings.monitor.max_batch = 100;
        let app = common::TestApp::spawn_with(&t.db, settings).await;
        let one =
            json!({"readings": [{"sensor": "LT-101", "ts": yingji::db::now_ms(), "value": 1.0}]});
        let r = app
            .client
            .post(app.url("/api/v1/ingest/readings"))
            .bearer_auth("yjg_wrong")
            .json(&one)
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 401);
        let r = app
            .client
            .post(app.url("/api/v1/ingest/readings"))
            .json(&one)
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 401);
        // A user's session token is not a gateway token.
        let user = app.login("enterprise").await;
        let r = app
            .client
            .post(app.url("/api/v1/ingest/readings"))
            .bearer_auth(&user)
            .json(&one)
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 401);
        let big: Vec<Value> = (0..101)
            .map(|i| json!({"sensor": "LT-101", "ts": 1_700_000_000_000_i64 + i, "value": 1.0}))
            .collect();
        let r = app
            .client
            .post(app.url("/api/v1/ingest/readings"))
            .bearer_auth(&gateway)
            .json(&json!({"readings": big}))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 413);
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["error"]["code"], "payload_too_large");
        let r = app
            .client
            .post(app.url("/api/v1/ingest/readings"))
            .bearer_auth(&gateway)
            .body("{\"readings\": 5}")
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 400);
        app.stop().await;
    });
}

#[cfg(unix)]
#[tokio::test]
async fn readings_acknowledged_before_a_sigkill_are_all_there_after_restart() {
    use std::process::Command;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("kill.db").display());
    let db = yingji::db::Db::connect(&url).await.expect("db");
    let f = common::seed_fixture(&db).await;
    let (_, num) = common::seed_sensor(&db, &f.a1, "LT-101").await;
    let gateway = common::ingest_token(&db, &f.a1).await;
    db.close().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_yingji"))
        .args([
            "serve",
            "--db",
            &url,
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .env("YINGJI_LOG__LEVEL", "warn")
        .spawn()
        .expect("spawn");
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t0 = 1_700_000_000_000_i64;
    let mut acknowledged = 0usize;
    for batch in 0..20 {
        let readings: Vec<Value> = (0..500).map(|i| json!({"sensor": "LT-101", "ts": t0 + (batch * 500 + i) * 1000, "value": (i % 17) as f64})).collect();
        let r = client
            .post(format!("{base}/api/v1/ingest/readings"))
            .bearer_auth(&gateway)
            .json(&json!({"readings": readings}))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 200);
        acknowledged += 500;
    }
    // Killed at once after the last acknowledgement: no chance to flush or compact.
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    let db = yingji::db::Db::connect(&url).await.expect("reopen");
    let store = yingji::monitor::readings::ReadingStore::open(db.clone(), Default::default())
        .await
        .expect("store replays its log");
    let points = store
        .raw(num as u32, t0, t0 + 10_000_000, 100_000)
        .await
        .expect("raw");
    assert_eq!(
        points.len(),
        acknowledged,
        "every acknowledged reading survived, once"
    );
    assert!(points.windows(2).all(|w| w[0].ts_ms < w[1].ts_ms));
}
