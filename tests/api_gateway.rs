//! What a gateway sees with its ingest token (`GET /ingest/sensors`), and `yingji simulate`
//! posting to a real server, on every backend.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

async fn sensor(db: &yingji::db::Db, enterprise_id: &str, body: Value) -> (String, i64) {
    let mut body = body;
    body["enterprise_id"] = json!(enterprise_id);
    let input: yingji::monitor::sensors::SensorInput =
        serde_json::from_value(body).expect("sensor input");
    let id = yingji::db::new_id();
    let mut tx = db.begin().await.expect("begin");
    let num = yingji::monitor::sensors::insert(&mut tx, &id, &input)
        .await
        .expect("sensor");
    tx.commit().await.expect("commit");
    (id, num)
}

#[tokio::test]
async fn a_gateway_lists_its_own_enterprises_sensors_and_nothing_else() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        sensor(
            &t.db,
            &f.a1,
            json!({"code": "GT-201", "name": "1号罐区可燃气体1#", "kind": "gas_lel", "unit_of_measure": "%LEL",
                   "range_min": 0, "range_max": 100, "h": 25, "hh": 50, "deadband": 2,
                   "on_delay_s": 3, "off_delay_s": 10, "offline_timeout_s": 120}),
        )
        .await;
        common::seed_sensor(&t.db, &f.b1, "LT-901").await;
        let gateway = common::ingest_token(&t.db, &f.a1).await;
        let app = common::TestApp::spawn(&t.db).await;
        let url = app.url("/api/v1/ingest/sensors");

        let r = app.client.get(&url).send().await.expect("req");
        assert_eq!(r.status(), 401, "no token");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"]["code"], "unauthorized");
        for bad in ["yjg_not-a-token", "", "   "] {
            let r = app
                .client
                .get(&url)
                .bearer_auth(bad)
                .send()
                .await
                .expect("req");
            assert_eq!(r.status(), 401, "token {bad:?}");
        }
        // A user's login token is not a gateway token.
        let user = app.login("admin").await;
        let r = app
            .client
            .get(&url)
            .bearer_auth(&user)
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 401, "a session token");

        let r = app
            .client
            .get(&url)
            .bearer_auth(&gateway)
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["enterprise_id"], f.a1.as_str());
        assert_eq!(body["credit_code"], common::credit_code(1));
        assert_eq!(body["enterprise_name"], "甲一化工有限公司");
        let sensors = body["sensors"].as_array().expect("sensors");
        let codes: Vec<&str> = sensors
            .iter()
            .map(|s| s["code"].as_str().expect("code"))
            .collect();
        assert_eq!(codes, vec!["GT-201", "LT-101"], "own sensors only, by code");
        assert_eq!(
            sensors[0],
            json!({"code": "GT-201", "name": "1号罐区可燃气体1#", "kind": "gas_lel", "unit_of_measure": "%LEL",
                   "range_min": 0.0, "range_max": 100.0, "ll": null, "l": null, "h": 25.0, "hh": 50.0,
                   "deadband": 2.0, "on_delay_s": 3.0, "off_delay_s": 10.0, "offline_timeout_s": 120.0})
        );
        assert_eq!(
            sensors[1]["offline_timeout_s"], 300.0,
            "the default timeout"
        );

        // Revoked: 401 again.
        let fingerprint = yingji::auth::token_hash(&gateway)[..12].to_string();
        let (s, _) = app
            .send_json(
                reqwest::Method::DELETE,
                &user,
                &format!("/api/v1/enterprises/{}/ingest-tokens/{fingerprint}", f.a1),
                &json!({}),
            )
            .await;
        assert_eq!(s, 204);
        let r = app
            .client
            .get(&url)
            .bearer_auth(&gateway)
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 401, "a revoked token");
        app.stop().await;
    });
}

#[tokio::test]
async fn yingji_simulate_posts_readings_the_history_then_shows() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let (level, _) = common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        let (temperature, _) = sensor(
            &t.db,
            &f.a1,
            json!({"code": "TT-102", "kind": "temperature", "unit_of_measure": "℃",
                   "range_min": -20, "range_max": 60, "h": 40, "hh": 50}),
        )
        .await;
        let (other, _) = common::seed_sensor(&t.db, &f.b1, "LT-901").await;
        let gateway = common::ingest_token(&t.db, &f.a1).await;
        let app = common::TestApp::spawn(&t.db).await;
        let started = yingji::db::now_ms();

        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_yingji"))
            .env_remove("YINGJI_INGEST_TOKEN")
            .args(["simulate", "--url", &app.url(""), "--token", &gateway])
            .args(["--interval-s", "1", "--duration-s", "3.5", "--speed", "60"])
            // No outages or faults: this test counts readings and checks their range.
            .args(["--outages-per-day", "0", "--faults-per-hour", "0"])
            .output()
            .await
            .expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("0 rejected"), "{stdout}");
        assert!(
            stdout.lines().filter(|l| l.starts_with('[')).count() >= 3,
            "a line per round: {stdout}"
        );

        let user = app.login("enterprise").await;
        for (id, lo, hi) in [(&level, 0.0, 20.0), (&temperature, -20.0, 60.0)] {
            let (s, history) = app
                .get_json(
                    &user,
                    &format!(
                        "/api/v1/sensors/{id}/readings?from={}&to={}",
                        started - 1000,
                        yingji::db::now_ms() + 1000
                    ),
                )
                .await;
            assert_eq!(s, 200, "{history}");
            let points = history["points"].as_array().expect("points");
            assert!(
                (3..=5).contains(&points.len()),
                "a reading a round: {history}"
            );
            for p in points {
                let v = p["value"].as_f64().expect("value");
                assert!((lo..=hi).contains(&v), "{v} within {lo}–{hi}");
            }
        }
        // The other enterprise's sensor got nothing.
        let admin = app.login("admin").await;
        let (_, history) = app
            .get_json(&admin, &format!("/api/v1/sensors/{other}/readings"))
            .await;
        assert_eq!(history["points"], json!([]));

        // A bad token stops the simulator at once, saying why.
        let out = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::process::Command::new(env!("CARGO_BIN_EXE_yingji"))
                .args(["simulate", "--url", &app.url(""), "--token", "yjg_wrong"])
                .output(),
        )
        .await
        .expect("does not hang")
        .expect("runs");
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("refused"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        app.stop().await;
    });
}
