//! Alarms end to end, on every backend: readings raise and clear alarms, people acknowledge,
//! dispose and assign them, unacknowledged alarms escalate on an injected clock, silent
//! sensors and enterprises go offline, the live stream respects scope and resumes.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

const MIN: i64 = 60_000;

async fn post_readings(app: &common::TestApp, gateway: &str, readings: Value) -> Value {
    let r = app
        .client
        .post(app.url("/api/v1/ingest/readings"))
        .bearer_auth(gateway)
        .json(&json!({ "readings": readings }))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

async fn alarms(app: &common::TestApp, token: &str, query: &str) -> Vec<Value> {
    let (s, v) = app
        .get_json(token, &format!("/api/v1/alarms?{query}"))
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().expect("items").clone()
}

fn kinds(list: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = list
        .iter()
        .map(|a| a["kind"].as_str().expect("kind").to_string())
        .collect();
    k.sort();
    k
}

/// A minimal Server-Sent Events reader over a streaming response.
struct EventStream {
    resp: reqwest::Response,
    buf: String,
}

#[derive(Debug)]
struct Received {
    id: String,
    event: String,
    data: Value,
}

impl EventStream {
    async fn open(app: &common::TestApp, token: &str, last_id: Option<&str>) -> EventStream {
        let mut req = app.client.get(app.url("/api/v1/events")).bearer_auth(token);
        if let Some(id) = last_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.expect("stream");
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .expect("type")
                .starts_with("text/event-stream")
        );
        EventStream {
            resp,
            buf: String::new(),
        }
    }

    /// The next event within `wait`, skipping keep-alive comments.
    async fn next(&mut self, wait: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if !data.is_empty() {
                    return Some(Received {
                        id,
                        event,
                        data: serde_json::from_str(&data).expect("event data is JSON"),
                    });
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .ok()?
                .expect("stream chunk")?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Every event arriving within `wait`.
    async fn drain(&mut self, wait: Duration) -> Vec<Received> {
        let mut out = Vec::new();
        while let Some(e) = self.next(wait).await {
            out.push(e);
        }
        out
    }
}

#[tokio::test]
async fn a_reading_over_hh_raises_h_and_hh_and_a_normal_reading_clears_them() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let (sensor_id, _) = common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        let gateway = common::ingest_token(&t.db, &f.a1).await;
        let app =
            common::TestApp::spawn_with(&t.db, common::TestApp::manual_clock_settings()).await;
        let duty = app.login("duty").await;
        let now = yingji::db::now_ms();

        post_readings(
            &app,
            &gateway,
            json!([
                {"sensor": "LT-101", "ts": now - 20_000, "value": 10.0},
                {"sensor": "LT-101", "ts": now - 10_000, "value": 18.5},
            ]),
        )
        .await;
        let open = alarms(&app, &duty, "").await;
        assert_eq!(kinds(&open), vec!["H", "HH"]);
        let hh = open.iter().find(|a| a["kind"] == "HH").expect("HH");
        assert_eq!(hh["severity"], "high");
        assert_eq!(hh["colour"], "red");
        assert_eq!(hh["threshold"], 18.0);
        assert_eq!(hh["raised_value"], 18.5);
        assert_eq!(hh["active"], true);
        assert_eq!(hh["status"], "unacknowledged");
        assert_eq!(hh["sensor_id"], sensor_id.as_str());
        assert_eq!(hh["sensor_code"], "LT-101");
        assert_eq!(hh["enterprise_id"], f.a1.as_str());
        assert_eq!(hh["town_code"], common::TOWN_A);
        let h = open.iter().find(|a| a["kind"] == "H").expect("H");
        assert_eq!(
            (h["severity"].as_str(), h["colour"].as_str()),
            (Some("low"), Some("yellow"))
        );

        // Resending the same readings raises nothing twice.
        post_readings(
            &app,
            &gateway,
            json!([{"sensor": "LT-101", "ts": now - 10_000, "value": 18.5}]),
        )
        .await;
        assert_eq!(alarms(&app, &duty, "state=all").await.len(), 2);

        post_readings(
            &app,
            &gateway,
            json!([{"sensor": "LT-101", "ts": now, "value": 10.0}]),
        )
        .await;
        let active = alarms(&app, &duty, "state=active").await;
        assert!(active.is_empty(), "{active:?}");
        // Cleared but never acknowledged: still open for the duty officer.
        let open = alarms(&app, &duty, "").await;
        assert_eq!(open.len(), 2);
        let id = open[0]["id"].as_str().expect("id");
        let (s, detail) = app.get_json(&duty, &format!("/api/v1/alarms/{id}")).await;
        assert_eq!(s, 200);
        assert_eq!(detail["active"], false);
        assert_eq!(detail["cleared_value"], 10.0);
        let actions: Vec<&str> = detail["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .map(|e| e["action"].as_str().expect("action"))
            .collect();
        assert_eq!(actions, vec!["raised", "cleared"]);

        // Out of the measuring range (0–20): stored, and a sensor fault.
        let report = post_readings(
            &app,
            &gateway,
            json!([{"sensor": "LT-101", "ts": now + 1000, "value": 25.0}]),
        )
        .await;
        assert_eq!(report["out_of_range"], 1);
        let active = alarms(&app, &duty, "state=active").await;
        assert_eq!(kinds(&active), vec!["sensor_fault"]);
        assert_eq!(active[0]["colour"], "blue");
        // A bad quality flag from the gateway is a fault too; a good value clears it.
        post_readings(
            &app,
            &gateway,
            json!([{"sensor": "LT-101", "ts": now + 2000, "value": 5.0}]),
        )
        .await;
        assert!(alarms(&app, &duty, "state=active").await.is_empty());
        post_readings(
            &app,
            &gateway,
            json!([{"sensor": "LT-101", "ts": now + 3000, "value": 5.0, "quality": "bad"}]),
        )
        .await;
        assert_eq!(
            kinds(&alarms(&app, &duty, "state=active").await),
            vec!["sensor_fault"]
        );

        let (s, summary) = app.get_json(&duty, "/api/v1/alarms/summary").await;
        assert_eq!(s, 200);
        assert_eq!(summary["active"], 1);
        assert_eq!(summary["unacknowledged"], 4);
        assert_eq!(summary["monitored_enterprises"], 1);
        assert_eq!(summary["by_kind"]["sensor_fault"], 1);

        let (s, e) = app.get_json(&duty, "/api/v1/alarms?kind=XX").await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("kind")));
        let (s, e) = app.get_json(&duty, "/api/v1/alarms?state=closed").await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("state")));
        app.stop().await;
    });
}

#[tokio::test]
async fn people_acknowledge_dispose_and_assign_alarms_within_their_scope() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        common::seed_sensor(&t.db, &f.b1, "LT-201").await;
        let gw_a = common::ingest_token(&t.db, &f.a1).await;
        let gw_b = common::ingest_token(&t.db, &f.b1).await;
        let app =
            common::TestApp::spawn_with(&t.db, common::TestApp::manual_clock_settings()).await;
        let now = yingji::db::now_ms();
        post_readings(
            &app,
            &gw_a,
            json!([{"sensor": "LT-101", "ts": now, "value": 19.0}]),
        )
        .await;
        post_readings(
            &app,
            &gw_b,
            json!([{"sensor": "LT-201", "ts": now, "value": 19.0}]),
        )
        .await;

        let enterprise = app.login("enterprise").await; // of A1
        let town = app.login("town").await; // of town A
        let leader = app.login("leader").await;
        let duty = app.login("duty").await;

        let own = alarms(&app, &enterprise, "kind=HH").await;
        assert_eq!(own.len(), 1, "the enterprise sees only its own");
        assert_eq!(own[0]["enterprise_id"], f.a1.as_str());
        assert_eq!(
            alarms(&app, &town, "kind=HH").await.len(),
            1,
            "the town sees only its own"
        );
        let all = alarms(&app, &duty, "kind=HH").await;
        assert_eq!(all.len(), 2);
        let a_id = own[0]["id"].as_str().expect("id").to_string();
        let b_id = all
            .iter()
            .find(|a| a["enterprise_id"] == f.b1.as_str())
            .and_then(|a| a["id"].as_str())
            .expect("b alarm")
            .to_string();

        let path = |id: &str, what: &str| format!("/api/v1/alarms/{id}/{what}");
        let post = reqwest::Method::POST;
        // Out of scope: as if it did not exist.
        let (s, _) = app
            .get_json(&enterprise, &format!("/api/v1/alarms/{b_id}"))
            .await;
        assert_eq!(s, 404);
        let (s, _) = app
            .send_json(post.clone(), &town, &path(&b_id, "acknowledge"), &json!({}))
            .await;
        assert_eq!(s, 404);
        // Leaders watch, they do not handle.
        let (s, _) = app
            .send_json(
                post.clone(),
                &leader,
                &path(&a_id, "acknowledge"),
                &json!({}),
            )
            .await;
        assert_eq!(s, 403);

        let (s, a) = app
            .send_json(
                post.clone(),
                &enterprise,
                &path(&a_id, "acknowledge"),
                &json!({"note": "值班人员已到现场"}),
            )
            .await;
        assert_eq!(s, 200, "{a}");
        assert_eq!(a["status"], "acknowledged");
        assert!(a["acknowledged_at"].is_string());
        assert_eq!(a["ack_note"], "值班人员已到现场");
        let (s, e) = app
            .send_json(
                post.clone(),
                &enterprise,
                &path(&a_id, "acknowledge"),
                &json!({}),
            )
            .await;
        assert_eq!((s, e["error"]["code"].as_str()), (409, Some("conflict")));

        let (s, e) = app
            .send_json(
                post.clone(),
                &enterprise,
                &path(&a_id, "dispose"),
                &json!({"cause": " ", "measures": "关闭进料阀"}),
            )
            .await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("cause")));
        let (s, e) = app
            .send_json(
                post.clone(),
                &enterprise,
                &path(&a_id, "dispose"),
                &json!({"cause": "进料阀未关"}),
            )
            .await;
        assert_eq!(s, 422, "measures is required: {e}");

        let (s, people) = app.get_json(&duty, &path(&a_id, "assignees")).await;
        assert_eq!(s, 200);
        let names: Vec<&str> = people
            .as_array()
            .expect("list")
            .iter()
            .map(|p| p["role"].as_str().expect("role"))
            .collect();
        assert!(
            names.contains(&"enterprise") && names.contains(&"town") && names.contains(&"duty")
        );
        assert!(!names.contains(&"leader"));
        let enterprise_user = people
            .as_array()
            .expect("list")
            .iter()
            .find(|p| p["role"] == "enterprise")
            .expect("enterprise user");
        let (s, a) = app
            .send_json(
                post.clone(),
                &duty,
                &path(&a_id, "assign"),
                &json!({"assignee_id": enterprise_user["id"]}),
            )
            .await;
        assert_eq!(s, 200, "{a}");
        assert_eq!(a["assignee_id"], enterprise_user["id"]);
        let (s, e) = app
            .send_json(
                post.clone(),
                &duty,
                &path(&a_id, "assign"),
                &json!({"assignee_id": "nobody"}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (422, Some("assignee_id"))
        );

        let (s, a) = app
            .send_json(post.clone(), &enterprise, &path(&a_id, "dispose"),
                &json!({"cause": "进料阀未关", "measures": "关闭进料阀，液位回落", "note": "已通报车间"}))
            .await;
        assert_eq!(s, 200, "{a}");
        assert_eq!(a["status"], "disposed");
        assert_eq!(a["dispose_measures"], "关闭进料阀，液位回落");
        assert_eq!(a["active"], true, "disposal does not end the condition");
        let (s, _) = app
            .send_json(
                post.clone(),
                &enterprise,
                &path(&a_id, "dispose"),
                &json!({"cause": "x", "measures": "y"}),
            )
            .await;
        assert_eq!(s, 409);

        // Disposing an unacknowledged alarm acknowledges it too.
        let (s, b) = app
            .send_json(
                post.clone(),
                &duty,
                &path(&b_id, "dispose"),
                &json!({"cause": "仪表漂移", "measures": "校准"}),
            )
            .await;
        assert_eq!(s, 200);
        assert!(b["acknowledged_at"].is_string());
        assert!(b["acknowledged_by"].is_string());

        let (s, detail) = app.get_json(&duty, &format!("/api/v1/alarms/{a_id}")).await;
        assert_eq!(s, 200);
        let steps: Vec<(&str, Option<&str>)> = detail["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .map(|e| (e["action"].as_str().expect("action"), e["actor"].as_str()))
            .collect();
        assert_eq!(
            steps.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec!["raised", "acknowledged", "assigned", "disposed"]
        );
        assert_eq!(steps[0].1, None, "the system raised it");
        assert!(steps[1].1.is_some());
        // People's actions are in the audit log too.
        let admin = app.login("admin").await;
        let (s, audit) = app
            .get_json(
                &admin,
                &format!("/api/v1/audit?entity=alarm&entity_id={a_id}"),
            )
            .await;
        assert_eq!(s, 200);
        let mut actions: Vec<(&str, &str)> = audit["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().expect("action"),
                    e["username"].as_str().expect("user"),
                )
            })
            .collect();
        actions.sort();
        assert_eq!(
            actions,
            vec![
                ("acknowledged", "enterprise"),
                ("assigned", "duty"),
                ("disposed", "enterprise")
            ]
        );
        app.stop().await;
    });
}

#[tokio::test]
async fn an_unacknowledged_alarm_escalates_to_the_town_then_the_district_on_the_clock() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        common::seed_sensor(&t.db, &f.a1, "LT-102").await;
        let gateway = common::ingest_token(&t.db, &f.a1).await;
        let app =
            common::TestApp::spawn_with(&t.db, common::TestApp::manual_clock_settings()).await;
        let duty = app.login("duty").await;
        let enterprise = app.login("enterprise").await;
        let t0 = yingji::db::now_ms();
        post_readings(
            &app,
            &gateway,
            json!([
                {"sensor": "LT-101", "ts": t0, "value": 18.2},
                {"sensor": "LT-102", "ts": t0, "value": 18.2},
            ]),
        )
        .await;
        let hh = alarms(&app, &duty, "kind=HH").await;
        assert_eq!(hh.len(), 2);
        let raised_at =
            yingji::time::parse_time(hh[0]["raised_at"].as_str().expect("t")).expect("time");
        assert_eq!(raised_at, t0);
        // The enterprise acknowledges one of the two in time.
        let acked = hh
            .iter()
            .find(|a| a["sensor_code"] == "LT-102")
            .expect("LT-102");
        let (s, _) = app
            .send_json(
                reqwest::Method::POST,
                &enterprise,
                &format!(
                    "/api/v1/alarms/{}/acknowledge",
                    acked["id"].as_str().expect("id")
                ),
                &json!({}),
            )
            .await;
        assert_eq!(s, 200);

        let escalation = |list: &[Value], code: &str| {
            list.iter()
                .find(|a| a["sensor_code"] == code && a["kind"] == "HH")
                .map(|a| a["escalation"].as_str().expect("escalation").to_string())
                .expect("alarm")
        };
        app.monitor.tick(t0 + 5 * MIN - 1).await.expect("tick");
        assert_eq!(
            escalation(&alarms(&app, &duty, "").await, "LT-101"),
            "enterprise"
        );
        app.monitor.tick(t0 + 5 * MIN).await.expect("tick");
        let list = alarms(&app, &duty, "").await;
        assert_eq!(escalation(&list, "LT-101"), "town");
        assert_eq!(
            escalation(&list, "LT-102"),
            "enterprise",
            "acknowledged in time"
        );
        let (_, summary) = app.get_json(&duty, "/api/v1/alarms/summary").await;
        // H and HH of LT-101, and H of LT-102 (only its HH was acknowledged).
        assert_eq!(summary["escalated_town"], 3);
        assert_eq!(alarms(&app, &duty, "escalation=town").await.len(), 3);

        app.monitor.tick(t0 + 15 * MIN).await.expect("tick");
        let list = alarms(&app, &duty, "escalation=district").await;
        assert_eq!(kinds(&list), vec!["H", "H", "HH"]);
        let id = list
            .iter()
            .find(|a| a["kind"] == "HH")
            .and_then(|a| a["id"].as_str())
            .expect("id");
        let (_, detail) = app.get_json(&duty, &format!("/api/v1/alarms/{id}")).await;
        let steps: Vec<String> = detail["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .map(|e| match e["detail"]["to"].as_str() {
                Some(to) => format!("{}:{to}", e["action"].as_str().expect("a")),
                None => e["action"].as_str().expect("a").to_string(),
            })
            .collect();
        // The sensors also went offline in the simulated 15 minutes; that does not matter here.
        assert_eq!(
            steps,
            vec!["raised", "escalated:town", "escalated:district"]
        );
        let (_, summary) = app.get_json(&duty, "/api/v1/alarms/summary").await;
        assert_eq!(summary["escalated_district"], 3);
        app.stop().await;
    });
}

#[tokio::test]
async fn silent_sensors_and_enterprises_go_offline_and_come_back_with_the_next_reading() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        let gateway = common::ingest_token(&t.db, &f.a1).await;
        let app =
            common::TestApp::spawn_with(&t.db, common::TestApp::manual_clock_settings()).await;
        let duty = app.login("duty").await;
        let now = yingji::db::now_ms();
        post_readings(
            &app,
            &gateway,
            json!([{"sensor": "LT-101", "ts": now, "value": 5.0}]),
        )
        .await;

        app.monitor.tick(now + 200_000).await.expect("tick");
        assert!(alarms(&app, &duty, "state=active").await.is_empty());
        // The sensor's timeout is 300 s (by arrival time, which is at or after `now`).
        app.monitor.tick(now + 301_000 + 5_000).await.expect("tick");
        let active = alarms(&app, &duty, "state=active").await;
        assert_eq!(kinds(&active), vec!["offline"]);
        let (_, list) = app.get_json(&duty, "/api/v1/monitoring/enterprises").await;
        assert_eq!(
            list[0]["online"], true,
            "one sensor offline is not the enterprise offline"
        );

        // The enterprise's timeout is 600 s.
        app.monitor.tick(now + 601_000 + 5_000).await.expect("tick");
        let active = alarms(&app, &duty, "state=active").await;
        assert_eq!(kinds(&active), vec!["enterprise_offline", "offline"]);
        let ent = active
            .iter()
            .find(|a| a["kind"] == "enterprise_offline")
            .expect("alarm");
        assert_eq!(ent["severity"], "high");
        assert_eq!(ent["colour"], "orange");
        assert!(ent["sensor_id"].is_null());
        let (_, summary) = app.get_json(&duty, "/api/v1/alarms/summary").await;
        assert_eq!(summary["offline_enterprises"], 1);
        let (_, list) = app.get_json(&duty, "/api/v1/monitoring/enterprises").await;
        assert_eq!(list.as_array().map(Vec::len), Some(1));
        assert_eq!(list[0]["online"], false);
        assert_eq!(list[0]["worst_colour"], "orange");
        let (s, detail) = app
            .get_json(&duty, &format!("/api/v1/monitoring/enterprises/{}", f.a1))
            .await;
        assert_eq!(s, 200, "{detail}");
        assert_eq!(detail["sensors"][0]["state"], "offline");
        assert_eq!(detail["sensors"][0]["latest"]["value"], 5.0);

        post_readings(
            &app,
            &gateway,
            json!([{"sensor": "LT-101", "ts": yingji::db::now_ms(), "value": 5.5}]),
        )
        .await;
        assert!(alarms(&app, &duty, "state=active").await.is_empty());
        let (_, detail) = app
            .get_json(&duty, &format!("/api/v1/monitoring/enterprises/{}", f.a1))
            .await;
        assert_eq!(detail["online"], true);
        assert_eq!(detail["sensors"][0]["state"], "normal");
        assert_eq!(detail["sensors"][0]["latest"]["value"], 5.5);
        app.stop().await;
    });
}

#[tokio::test]
async fn alarm_states_resume_after_a_restart_so_a_normal_reading_clears_what_was_active() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        let gateway = common::ingest_token(&t.db, &f.a1).await;
        let now = yingji::db::now_ms();
        let app =
            common::TestApp::spawn_with(&t.db, common::TestApp::manual_clock_settings()).await;
        post_readings(
            &app,
            &gateway,
            json!([{"sensor": "LT-101", "ts": now, "value": 19.0}]),
        )
        .await;
        app.stop().await;

        let db = t.reopen().await;
        let app = common::TestApp::spawn_with(&db, common::TestApp::manual_clock_settings()).await;
        let duty = app.login("duty").await;
        assert_eq!(
            kinds(&alarms(&app, &duty, "state=active").await),
            vec!["H", "HH"]
        );
        // Still high after the restart: no second alarm.
        post_readings(
            &app,
            &gateway,
            json!([{"sensor": "LT-101", "ts": now + 1000, "value": 19.5}]),
        )
        .await;
        assert_eq!(alarms(&app, &duty, "state=all").await.len(), 2);
        post_readings(
            &app,
            &gateway,
            json!([{"sensor": "LT-101", "ts": now + 2000, "value": 10.0}]),
        )
        .await;
        assert!(alarms(&app, &duty, "state=active").await.is_empty());
        app.stop().await;
    });
}

#[tokio::test]
async fn the_live_stream_carries_only_the_users_scope_and_resumes_after_last_event_id() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        common::seed_sensor(&t.db, &f.b1, "LT-201").await;
        let gw_a = common::ingest_token(&t.db, &f.a1).await;
        let gw_b = common::ingest_token(&t.db, &f.b1).await;
        let app =
            common::TestApp::spawn_with(&t.db, common::TestApp::manual_clock_settings()).await;
        let town = app.login("town").await; // town A
        let duty = app.login("duty").await;
        let enterprise = app.login("enterprise").await; // A1
        let mut town_stream = EventStream::open(&app, &town, None).await;
        let mut duty_stream = EventStream::open(&app, &duty, None).await;
        let mut ent_stream = EventStream::open(&app, &enterprise, None).await;

        let now = yingji::db::now_ms();
        post_readings(
            &app,
            &gw_b,
            json!([{"sensor": "LT-201", "ts": now, "value": 16.5}]),
        )
        .await;
        post_readings(
            &app,
            &gw_a,
            json!([{"sensor": "LT-101", "ts": now, "value": 16.5}]),
        )
        .await;

        let first = duty_stream
            .next(Duration::from_secs(5))
            .await
            .expect("event");
        assert_eq!(first.event, "alarm");
        assert_eq!(first.data["action"], "raised");
        assert_eq!(first.data["alarm"]["enterprise_id"], f.b1.as_str());
        assert_eq!(first.data["alarm"]["kind"], "H");
        let second = duty_stream
            .next(Duration::from_secs(5))
            .await
            .expect("event");
        assert_eq!(second.data["alarm"]["enterprise_id"], f.a1.as_str());
        assert!(second.id.parse::<i64>().expect("id") > first.id.parse::<i64>().expect("id"));

        let town_events = town_stream.drain(Duration::from_millis(800)).await;
        assert_eq!(
            town_events.len(),
            1,
            "town A must not receive town B's alarm: {town_events:?}"
        );
        assert_eq!(town_events[0].data["alarm"]["enterprise_id"], f.a1.as_str());
        assert_eq!(town_events[0].id, second.id);
        let ent_events = ent_stream.drain(Duration::from_millis(300)).await;
        assert_eq!(ent_events.len(), 1);
        assert_eq!(ent_events[0].data["alarm"]["enterprise_id"], f.a1.as_str());

        // Acknowledging is pushed too.
        let id = second.data["alarm"]["id"].as_str().expect("id");
        let (s, _) = app
            .send_json(
                reqwest::Method::POST,
                &enterprise,
                &format!("/api/v1/alarms/{id}/acknowledge"),
                &json!({}),
            )
            .await;
        assert_eq!(s, 200);
        let ack = town_stream
            .next(Duration::from_secs(5))
            .await
            .expect("ack event");
        assert_eq!(ack.data["action"], "acknowledged");
        assert_eq!(ack.data["alarm"]["status"], "acknowledged");

        // A reconnecting client resumes after the last id it saw, missing nothing.
        drop(duty_stream);
        post_readings(
            &app,
            &gw_a,
            json!([{"sensor": "LT-101", "ts": now + 1000, "value": 5.0}]),
        )
        .await;
        let mut resumed = EventStream::open(&app, &duty, Some(&second.id)).await;
        let replay = resumed.drain(Duration::from_millis(800)).await;
        let actions: Vec<&str> = replay
            .iter()
            .map(|e| e.data["action"].as_str().expect("action"))
            .collect();
        assert_eq!(actions, vec!["acknowledged", "cleared"], "{replay:?}");
        let (s, e) = app
            .client
            .get(app.url("/api/v1/events"))
            .bearer_auth(&duty)
            .header("Last-Event-ID", "yesterday")
            .send()
            .await
            .map(|r| (r.status().as_u16(), r))
            .expect("request");
        assert_eq!(s, 422);
        let e: Value = e.json().await.expect("json");
        assert_eq!(e["error"]["field"], "Last-Event-ID");
        let anonymous = app
            .client
            .get(app.url("/api/v1/events"))
            .send()
            .await
            .expect("req");
        assert_eq!(anonymous.status(), 401);
        drop(town_stream);
        drop(ent_stream);
        drop(resumed);
        app.stop().await;
    });
}

#[tokio::test]
async fn a_gateway_may_name_a_sensor_by_id_but_not_another_enterprises() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let (own_id, _) = common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        let (other_id, _) = common::seed_sensor(&t.db, &f.b1, "LT-201").await;
        let gateway = common::ingest_token(&t.db, &f.a1).await;
        let app =
            common::TestApp::spawn_with(&t.db, common::TestApp::manual_clock_settings()).await;
        let now = yingji::db::now_ms();
        let report = post_readings(
            &app,
            &gateway,
            json!([
                {"sensor": own_id, "ts": now, "value": 19.0},
                {"sensor": other_id, "ts": now, "value": 1.0},
                {"sensor": "01kb0000000000000000000000", "ts": now, "value": 1.0},
            ]),
        )
        .await;
        assert_eq!(report["accepted"], 1, "{report}");
        let reasons: Vec<&str> = report["rejected"]
            .as_array()
            .expect("rejected")
            .iter()
            .map(|r| r["reason"].as_str().expect("reason"))
            .collect();
        assert_eq!(reasons, vec!["other_enterprise", "unknown_sensor"]);
        let duty = app.login("duty").await;
        assert_eq!(kinds(&alarms(&app, &duty, "").await), vec!["H", "HH"]);
        app.stop().await;
    });
}
