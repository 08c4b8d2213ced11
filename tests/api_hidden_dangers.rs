//! Hidden dangers end to end, on every backend: reporting, the state machine by role over
//! HTTP, the five-in-place plan, acceptance, closure with evidence, listing for supervision,
//! overdue flags on an injected clock, scope, photos, and the link from a monitoring alarm.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

const DAY: i64 = 86_400_000;

async fn report(app: &common::TestApp, token: &str, body: Value) -> (u16, Value) {
    app.send_json(Method::POST, token, "/api/v1/hidden-dangers", &body)
        .await
}

fn general(enterprise: &str) -> Value {
    json!({
        "enterprise_id": enterprise, "location": "储罐区 T-101", "description": "罐区防火堤排水阀常开",
        "source": "self_check", "category": "hazchem", "level": "general",
    })
}

fn major(enterprise: &str) -> Value {
    json!({
        "enterprise_id": enterprise, "location": "装置区", "description": "可燃气体检测报警器未接入控制室",
        "source": "inspection", "category": "major_hazard", "level": "major",
    })
}

fn plan(deadline: &str) -> Value {
    json!({
        "measures": "更换阀门并上锁", "funds": 12000.0, "responsible_person": "王工",
        "deadline": deadline, "contingency": "每班巡检两次",
    })
}

async fn act(
    app: &common::TestApp,
    token: &str,
    id: &str,
    action: &str,
    body: Value,
) -> (u16, Value) {
    app.send_json(
        Method::POST,
        token,
        &format!("/api/v1/hidden-dangers/{id}/{action}"),
        &body,
    )
    .await
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn tomorrow() -> String {
    yingji::time::rfc3339(yingji::db::now_ms() + DAY)
}

#[tokio::test]
async fn a_general_hidden_danger_goes_from_report_to_closure_with_its_timeline_and_audit() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let ent = app.login("enterprise").await;
        let admin = app.login("admin").await;

        // The enterprise reports for itself: no enterprise_id needed.
        let mut body = general(&f.a1);
        body.as_object_mut().map(|o| o.remove("enterprise_id"));
        let (s, hd) = report(&app, &ent, body).await;
        assert_eq!(s, 201, "{hd}");
        assert_eq!(hd["state"], "reported");
        assert_eq!(hd["enterprise_id"], f.a1.as_str());
        assert_eq!(hd["town_code"], common::TOWN_A);
        let id = id_of(&hd);

        // The five in place are all required, each named when missing.
        for field in [
            "measures",
            "funds",
            "responsible_person",
            "deadline",
            "contingency",
        ] {
            let mut p = plan(&tomorrow());
            p.as_object_mut().map(|o| o.remove(field));
            let (s, e) = act(&app, &ent, &id, "rectify", p).await;
            assert_eq!(s, 422, "{field}: {e}");
            assert_eq!(e["error"]["field"], field);
        }
        let (s, e) = act(&app, &ent, &id, "rectify", plan("2020-01-01")).await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("deadline")));
        let mut p = plan(&tomorrow());
        p["funds"] = json!(-1);
        let (s, e) = act(&app, &ent, &id, "rectify", p).await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("funds")));
        // Nothing was half-written by the refusals.
        let (_, still) = app
            .get_json(&ent, &format!("/api/v1/hidden-dangers/{id}"))
            .await;
        assert_eq!(still["state"], "reported");
        assert_eq!(still["measures"], Value::Null);

        let (s, hd) = act(&app, &ent, &id, "rectify", plan("2099-12-31")).await;
        assert_eq!(s, 200, "{hd}");
        assert_eq!(hd["state"], "rectifying");
        assert_eq!(hd["funds"], 12000.0);
        // A bare date is the end of that day in Beijing time.
        assert_eq!(hd["deadline"], "2099-12-31T15:59:59.999Z");

        let (s, e) = act(&app, &ent, &id, "submit", json!({})).await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("result")));
        let (s, hd) = act(&app, &ent, &id, "submit", json!({"result": "阀门已更换"})).await;
        assert_eq!(
            (s, hd["state"].as_str()),
            (200, Some("awaiting_acceptance"))
        );

        // Acceptance fails once: back to rectifying with the reason.
        let (s, hd) = act(&app, &ent, &id, "reject", json!({"reason": "未上锁"})).await;
        assert_eq!((s, hd["state"].as_str()), (200, Some("rectifying")));
        // The enterprise closes its own general hidden danger, with evidence only.
        let (s, e) = act(&app, &ent, &id, "close", json!({})).await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("evidence")));
        let (s, hd) = act(
            &app,
            &ent,
            &id,
            "close",
            json!({"evidence": "阀门已上锁，见照片"}),
        )
        .await;
        assert_eq!((s, hd["state"].as_str()), (200, Some("closed")), "{hd}");
        assert_eq!(hd["close_evidence"], "阀门已上锁，见照片");
        // Closed is final.
        let (s, e) = act(&app, &ent, &id, "submit", json!({"result": "x"})).await;
        assert_eq!(s, 409, "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("closed")
        );

        let (_, detail) = app
            .get_json(&ent, &format!("/api/v1/hidden-dangers/{id}"))
            .await;
        let actions: Vec<&str> = detail["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .map(|e| e["action"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            actions,
            ["reported", "rectify", "submit", "reject", "close"]
        );
        assert_eq!(detail["timeline"][3]["detail"]["reason"], "未上锁");
        assert_eq!(detail["timeline"][4]["from_state"], "rectifying");
        assert_eq!(detail["timeline"][4]["to_state"], "closed");

        let (s, audit) = app
            .get_json(
                &admin,
                &format!("/api/v1/audit?entity=hidden_danger&entity_id={id}"),
            )
            .await;
        assert_eq!(s, 200, "{audit}");
        assert_eq!(audit["total"], 5, "{audit}");

        app.stop().await;
    });
}

#[tokio::test]
async fn a_major_hidden_danger_is_accepted_by_a_regulator_and_listed_for_supervision() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let ent = app.login("enterprise").await;
        let sup = app.login("supervisor").await;
        let town = app.login("town").await;

        let (s, hd) = report(&app, &sup, major(&f.a1)).await;
        assert_eq!(s, 201, "{hd}");
        let id = id_of(&hd);

        // Listing: town staff at town level only; a general one is never listed.
        let listing = |level: &str| json!({"level": level, "officer": "李督办", "due": "2099-06-30", "note": "限期整改"});
        let (s, e) = act(&app, &town, &id, "list", listing("district")).await;
        assert_eq!(s, 403, "{e}");
        let (s, hd) = act(&app, &town, &id, "list", listing("town")).await;
        assert_eq!(s, 200, "{hd}");
        assert_eq!(hd["supervision"]["level"], "town");
        assert_eq!(hd["state"], "reported");
        let sup_user: Value = app.get_json(&sup, "/api/v1/me").await.1;
        let (s, hd) = act(
            &app,
            &sup,
            &id,
            "list",
            json!({"level": "district", "officer_id": sup_user["id"], "due": "2099-03-31"}),
        )
        .await;
        assert_eq!(s, 200, "{hd}");
        assert_eq!(hd["supervision"]["level"], "district");
        assert!(
            hd["supervision"]["officer"]
                .as_str()
                .is_some_and(|o| !o.is_empty())
        );
        let (s, e) = act(
            &app,
            &sup,
            &id,
            "list",
            json!({"level": "district", "due": "2099-03-31"}),
        )
        .await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("officer")));

        let (s, g) = report(&app, &sup, general(&f.a1)).await;
        assert_eq!(s, 201);
        let (s, e) = act(&app, &sup, &id_of(&g), "list", listing("town")).await;
        assert_eq!(s, 409, "{e}");

        let (_, board) = app
            .get_json(&sup, "/api/v1/hidden-dangers/supervision")
            .await;
        assert_eq!(board["total"], 1);
        assert_eq!(board["items"][0]["id"], id.as_str());

        act(&app, &ent, &id, "rectify", plan(&tomorrow())).await;
        let (s, _) = act(&app, &ent, &id, "submit", json!({"result": "已接入"})).await;
        assert_eq!(s, 200);
        // The enterprise may not accept its own major hidden danger.
        let (s, e) = act(&app, &ent, &id, "accept", json!({"evidence": "x"})).await;
        assert_eq!(s, 403, "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("major")
        );
        let (s, e) = act(&app, &ent, &id, "close", json!({"evidence": "x"})).await;
        assert_eq!(s, 403, "{e}");
        let (s, hd) = act(&app, &town, &id, "accept", json!({"note": "现场验收合格"})).await;
        assert_eq!((s, hd["state"].as_str()), (200, Some("closed")), "{hd}");

        // Closed: off the supervision board.
        let (_, board) = app
            .get_json(&sup, "/api/v1/hidden-dangers/supervision")
            .await;
        assert_eq!(board["total"], 0);
        let (_, counts) = app.get_json(&sup, "/api/v1/hidden-dangers/board").await;
        assert_eq!(
            (counts["closed"].as_i64(), counts["reported"].as_i64()),
            (Some(1), Some(1))
        );
        app.stop().await;
    });
}

#[tokio::test]
async fn only_the_roles_the_rules_name_may_move_a_hidden_danger() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let sup = app.login("supervisor").await;
        let (_, hd) = report(&app, &sup, general(&f.a1)).await;
        let id = id_of(&hd);
        // Rectification is the enterprise's: every other role but the administrator gets 403.
        for role in ["duty", "supervisor", "leader", "town"] {
            let token = app.login(role).await;
            let (s, e) = act(&app, &token, &id, "rectify", plan(&tomorrow())).await;
            assert_eq!(s, 403, "{role}: {e}");
            assert!(
                !e["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty()
            );
        }
        // Leaders do not report either.
        let leader = app.login("leader").await;
        let (s, _) = report(&app, &leader, general(&f.a1)).await;
        assert_eq!(s, 403);
        // A move that the state does not allow is 409 with the reason.
        let ent = app.login("enterprise").await;
        let (s, e) = act(&app, &ent, &id, "submit", json!({"result": "x"})).await;
        assert_eq!(s, 409);
        assert_eq!(
            e["error"]["message"],
            "cannot submit a hidden danger that is reported"
        );
        let admin = app.login("admin").await;
        let (s, _) = act(&app, &admin, &id, "rectify", plan(&tomorrow())).await;
        assert_eq!(s, 200);
        // The capabilities the UI reads say the same.
        let (_, meta) = app.get_json(&ent, "/api/v1/meta").await;
        assert_eq!(
            meta["capabilities"]["hidden_danger_actions"]["major"],
            json!(["rectify", "submit"])
        );
        app.stop().await;
    });
}

#[tokio::test]
async fn an_open_hidden_danger_is_flagged_overdue_one_millisecond_after_its_deadline() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app =
            common::TestApp::spawn_with(&t.db, common::TestApp::manual_clock_settings()).await;
        let ent = app.login("enterprise").await;
        let (_, hd) = report(&app, &ent, general(&f.a1)).await;
        let id = id_of(&hd);
        let deadline = yingji::db::now_ms() + 3 * DAY;
        let (s, hd) = act(
            &app,
            &ent,
            &id,
            "rectify",
            plan(&yingji::time::rfc3339(deadline)),
        )
        .await;
        assert_eq!(s, 200, "{hd}");
        // A second one closed before its deadline never becomes overdue.
        let (_, other) = report(&app, &ent, general(&f.a1)).await;
        let other = id_of(&other);
        act(
            &app,
            &ent,
            &other,
            "rectify",
            plan(&yingji::time::rfc3339(deadline)),
        )
        .await;
        let (s, _) = act(&app, &ent, &other, "close", json!({"evidence": "done"})).await;
        assert_eq!(s, 200);

        yingji::app::tick(&app.monitor, deadline)
            .await
            .expect("tick");
        let (_, now) = app
            .get_json(&ent, &format!("/api/v1/hidden-dangers/{id}"))
            .await;
        assert_eq!(now["overdue"], false, "at the deadline itself: not yet");
        yingji::app::tick(&app.monitor, deadline + 1)
            .await
            .expect("tick");
        let (_, now) = app
            .get_json(&ent, &format!("/api/v1/hidden-dangers/{id}"))
            .await;
        assert_eq!(now["overdue"], true, "{now}");
        assert_eq!(now["overdue_at"], yingji::time::rfc3339(deadline + 1));
        let last = &now["timeline"]
            .as_array()
            .expect("timeline")
            .last()
            .cloned()
            .unwrap_or_default();
        assert_eq!(last["action"], "overdue");
        // Flagged once, whatever the number of sweeps.
        yingji::app::tick(&app.monitor, deadline + DAY)
            .await
            .expect("tick");
        let (_, list) = app
            .get_json(&ent, "/api/v1/hidden-dangers?overdue=true")
            .await;
        assert_eq!(list["total"], 1, "{list}");
        assert_eq!(list["items"][0]["id"], id.as_str());
        let (_, again) = app
            .get_json(&ent, &format!("/api/v1/hidden-dangers/{id}"))
            .await;
        assert_eq!(
            again["timeline"].as_array().map(Vec::len),
            now["timeline"].as_array().map(Vec::len)
        );

        // The flag went out on the live stream, scoped to the enterprise and its town.
        let events: Vec<(String, Option<String>, String)> = t
            .db
            .fetch_all(&yingji::db::Sql::new(
                "SELECT topic, enterprise_id, payload FROM events WHERE topic = 'hidden_danger' ORDER BY id",
            ))
            .await
            .expect("events");
        let overdue: Vec<Value> = events
            .iter()
            .filter_map(|(_, _, p)| serde_json::from_str::<Value>(p).ok())
            .filter(|p| p["action"] == "overdue")
            .collect();
        assert_eq!(overdue.len(), 1);
        assert_eq!(overdue[0]["hidden_danger"]["id"], id.as_str());
        app.stop().await;
    });
}

#[tokio::test]
async fn no_one_sees_or_moves_a_hidden_danger_outside_their_scope() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let sup = app.login("supervisor").await;
        let ent = app.login("enterprise").await;
        let town = app.login("town").await;
        let (_, b) = report(&app, &sup, general(&f.b1)).await;
        let b = id_of(&b);
        let (_, a2) = report(&app, &sup, general(&f.a2)).await;
        let a2 = id_of(&a2);
        let png = tiny_png();
        let (s, photo) = upload(&app, &sup, &b, "p.png", png.clone(), None).await;
        assert_eq!(s, 201, "{photo}");
        let photo_url = photo["url"].as_str().expect("url").to_string();

        for (token, id) in [(&ent, &b), (&ent, &a2), (&town, &b)] {
            let (s, _) = app
                .get_json(token, &format!("/api/v1/hidden-dangers/{id}"))
                .await;
            assert_eq!(s, 404);
            let (s, _) = act(&app, token, id, "rectify", plan(&tomorrow())).await;
            assert_eq!(s, 404);
        }
        let r = app.get(&ent, &photo_url).await;
        assert_eq!(r.status(), 404);
        let r = app.get(&town, &photo_url).await;
        assert_eq!(r.status(), 404);
        let r = app.get(&sup, &photo_url).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.expect("bytes").to_vec(), png);

        // Lists are scoped too; an enterprise cannot report for another enterprise.
        let (_, list) = app.get_json(&ent, "/api/v1/hidden-dangers").await;
        assert_eq!(list["total"], 0);
        let (_, list) = app.get_json(&town, "/api/v1/hidden-dangers").await;
        assert_eq!(list["total"], 1);
        let (s, e) = report(&app, &ent, general(&f.b1)).await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (422, Some("enterprise_id"))
        );
        app.stop().await;
    });
}

fn tiny_png() -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    v.extend_from_slice(&[0u8; 64]);
    v
}

async fn upload(
    app: &common::TestApp,
    token: &str,
    id: &str,
    name: &str,
    bytes: Vec<u8>,
    stage: Option<&str>,
) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    if let Some(s) = stage {
        form = form.text("stage", s.to_string());
    }
    let r = app
        .client
        .post(app.url(&format!("/api/v1/hidden-dangers/{id}/photos")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("request");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn photos_are_checked_for_type_and_size_and_listed_with_the_hidden_danger() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let mut settings = common::TestApp::manual_clock_settings();
        settings.dualprev.photo_max_bytes = 1024;
        let app = common::TestApp::spawn_with(&t.db, settings).await;
        let ent = app.login("enterprise").await;
        let (_, hd) = report(&app, &ent, general(&f.a1)).await;
        let id = id_of(&hd);

        let (s, p) = upload(&app, &ent, &id, "site.png", tiny_png(), None).await;
        assert_eq!(s, 201, "{p}");
        assert_eq!(
            (p["stage"].as_str(), p["content_type"].as_str()),
            (Some("found"), Some("image/png"))
        );
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
        jpeg.extend_from_slice(&[1u8; 100]);
        let (s, p) = upload(&app, &ent, &id, "after.jpg", jpeg, Some("rectified")).await;
        assert_eq!((s, p["content_type"].as_str()), (201, Some("image/jpeg")));

        // A text file named .png is not an image.
        let (s, e) = upload(&app, &ent, &id, "fake.png", b"hello, world".to_vec(), None).await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("file")));
        let (s, e) = upload(&app, &ent, &id, "x.png", tiny_png(), Some("later")).await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("stage")));
        let mut big = tiny_png();
        big.resize(2048, 0);
        let (s, e) = upload(&app, &ent, &id, "big.png", big, None).await;
        assert_eq!(s, 413, "{e}");
        let (s, e) = upload(&app, &ent, &id, "empty.png", Vec::new(), None).await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("file")));

        let (_, detail) = app
            .get_json(&ent, &format!("/api/v1/hidden-dangers/{id}"))
            .await;
        assert_eq!(
            detail["photos"].as_array().map(Vec::len),
            Some(2),
            "{detail}"
        );
        let r = app
            .get(
                &ent,
                detail["photos"][0]["url"].as_str().unwrap_or_default(),
            )
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/png");
        app.stop().await;
    });
}

#[tokio::test]
async fn one_action_turns_a_monitoring_alarm_into_a_linked_hidden_danger() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        let gateway = common::ingest_token(&t.db, &f.a1).await;
        let app = common::TestApp::spawn(&t.db).await;
        let now = yingji::db::now_ms();
        let r = app
            .client
            .post(app.url("/api/v1/ingest/readings"))
            .bearer_auth(&gateway)
            .json(&json!({"readings": [{"sensor": "LT-101", "ts": now - 1000, "value": 19.0}]}))
            .send()
            .await
            .expect("ingest");
        assert_eq!(r.status(), 200);
        let duty = app.login("duty").await;
        let (_, alarms) = app.get_json(&duty, "/api/v1/alarms?kind=HH").await;
        let alarm_id = alarms["items"][0]["id"]
            .as_str()
            .expect("alarm")
            .to_string();

        let path = format!("/api/v1/alarms/{alarm_id}/hidden-danger");
        let (s, hd) = app
            .send_json(Method::POST, &duty, &path, &json!({"level": "major"}))
            .await;
        assert_eq!(s, 201, "{hd}");
        assert_eq!(hd["source"], "sensor_alarm");
        assert_eq!(hd["alarm_id"], alarm_id.as_str());
        assert_eq!(hd["level"], "major");
        assert!(
            hd["description"]
                .as_str()
                .unwrap_or_default()
                .contains("LT-101"),
            "{hd}"
        );
        let (_, alarm) = app
            .get_json(&duty, &format!("/api/v1/alarms/{alarm_id}"))
            .await;
        assert_eq!(alarm["hidden_danger_id"], hd["id"]);
        // Once only.
        let (s, e) = app.send_json(Method::POST, &duty, &path, &json!({})).await;
        assert_eq!(s, 409, "{e}");
        // Leaders watch.
        let leader = app.login("leader").await;
        let (s, _) = app
            .send_json(Method::POST, &leader, &path, &json!({}))
            .await;
        assert_eq!(s, 403);
        app.stop().await;
    });
}

#[tokio::test]
async fn an_enterprise_moved_to_another_town_takes_its_hidden_dangers_and_risk_points_along() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let sup = app.login("supervisor").await;
        let town_a = app.login("town").await;
        let (_, hd) = report(&app, &sup, general(&f.a1)).await;
        let id = id_of(&hd);
        let (s, rp) = app
            .send_json(
                Method::POST,
                &sup,
                "/api/v1/risk-points",
                &json!({"enterprise_id": f.a1, "name": "储罐区", "kind": "place", "control_level": "company",
                        "responsible_person": "王工", "control_measures": [{"category": "management", "text": "每日巡检", "check_cycle": "daily"}]}),
            )
            .await;
        assert_eq!(s, 201, "{rp}");
        let (s, _) = app
            .get_json(&town_a, &format!("/api/v1/hidden-dangers/{id}"))
            .await;
        assert_eq!(s, 200);

        let admin = app.login("admin").await;
        let moved = common::enterprise_input(1, common::TOWN_B, "甲一化工有限公司");
        let (s, e) = app
            .send_json(
                Method::PUT,
                &admin,
                &format!("/api/v1/enterprises/{}", f.a1),
                &serde_json::to_value(&moved).expect("json"),
            )
            .await;
        assert_eq!(s, 200, "{e}");

        // The old town no longer sees them; the records say the new town.
        let (s, _) = app
            .get_json(&town_a, &format!("/api/v1/hidden-dangers/{id}"))
            .await;
        assert_eq!(s, 404);
        let (_, list) = app.get_json(&town_a, "/api/v1/risk-points").await;
        assert_eq!(list["total"], 0, "{list}");
        let (_, now) = app
            .get_json(&sup, &format!("/api/v1/hidden-dangers/{id}"))
            .await;
        assert_eq!(now["town_code"], common::TOWN_B);
        let (_, tasks) = app
            .get_json(
                &sup,
                &format!(
                    "/api/v1/check-tasks?risk_point_id={}",
                    rp["id"].as_str().unwrap_or_default()
                ),
            )
            .await;
        assert_eq!(tasks["items"][0]["town_code"], common::TOWN_B, "{tasks}");
        app.stop().await;
    });
}
