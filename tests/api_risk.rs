//! Risk points, their assessments, the LEC and LS calculators and the colour roll-ups through
//! the HTTP API, on every backend.

mod common;

use common::{TOWN_A, TOWN_B};
use reqwest::Method;
use serde_json::{Value, json};

fn point(enterprise_id: Option<&str>, name: &str) -> Value {
    let mut v = json!({
        "name": name,
        "kind": "equipment",
        "location": "罐区东侧",
        "hazards": ["液氯泄漏", "超压"],
        "accident_types": ["19", "17"],
        "control_measures": [
            {"category": "engineering", "text": "压力、液位联锁", "check_cycle": "daily"},
            {"category": "emergency", "text": "配备正压式空气呼吸器", "check_cycle": null}
        ],
        "control_level": "workshop",
        "responsible_person": "王五",
        "responsible_phone": "13900000000"
    });
    if let Some(e) = enterprise_id {
        v["enterprise_id"] = json!(e);
    }
    v
}

async fn create(app: &common::TestApp, token: &str, body: &Value) -> String {
    let (s, v) = app
        .send_json(Method::POST, token, "/api/v1/risk-points", body)
        .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().expect("id").to_string()
}

async fn assess(app: &common::TestApp, token: &str, id: &str, body: Value) -> (u16, Value) {
    app.send_json(
        Method::POST,
        token,
        &format!("/api/v1/risk-points/{id}/assessments"),
        &body,
    )
    .await
}

/// A change that spoils a valid body.
type Change = Box<dyn Fn(&mut Value)>;

fn field(v: &Value) -> &str {
    v["error"]["field"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_risk_point_is_created_read_updated_and_deleted_with_an_audit_entry_each() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("enterprise").await;
        // The enterprise user's own enterprise is the default.
        let (s, created) = app
            .send_json(
                Method::POST,
                &token,
                "/api/v1/risk-points",
                &point(None, "液氯储罐"),
            )
            .await;
        assert_eq!(s, 201, "{created}");
        let id = created["id"].as_str().expect("id").to_string();
        assert_eq!(created["enterprise_id"], f.a1.as_str());
        assert_eq!(created["town_code"], TOWN_A);
        assert_eq!(created["enterprise_name"], "甲一化工有限公司");
        assert_eq!(created["accident_types"], json!(["19", "17"]));
        assert_eq!(created["control_measures"][0]["check_cycle"], "daily");
        assert!(created["colour"].is_null() && created["method"].is_null());

        let (s, got) = app
            .get_json(&token, &format!("/api/v1/risk-points/{id}"))
            .await;
        assert_eq!((s, &got), (200, &created));
        let (_, list) = app.get_json(&token, "/api/v1/risk-points").await;
        assert_eq!(list["total"], 1);
        let (_, none) = app.get_json(&token, "/api/v1/risk-points?colour=red").await;
        assert_eq!(none["total"], 0);
        let (_, unassessed) = app
            .get_json(&token, "/api/v1/risk-points?colour=unassessed&q=液氯")
            .await;
        assert_eq!(unassessed["total"], 1);

        let mut body = point(None, "液氯储罐区");
        body["lon"] = json!(117.1);
        body["lat"] = json!(39.4);
        let (s, updated) = app
            .send_json(
                Method::PUT,
                &token,
                &format!("/api/v1/risk-points/{id}"),
                &body,
            )
            .await;
        assert_eq!(s, 200, "{updated}");
        assert_eq!(updated["name"], "液氯储罐区");
        assert_eq!(updated["lon"], 117.1);

        let r = app
            .client
            .delete(app.url(&format!("/api/v1/risk-points/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 204);
        let (s, _) = app
            .get_json(&token, &format!("/api/v1/risk-points/{id}"))
            .await;
        assert_eq!(s, 404);
        let audits: Vec<(String,)> = t
            .db
            .fetch_all(
                &yingji::db::Sql::new(
                    "SELECT action FROM audit_log WHERE entity = 'risk_point' AND entity_id = $1 ORDER BY ts, id",
                )
                .bind(id.as_str()),
            )
            .await
            .expect("audit");
        let actions: Vec<&str> = audits.iter().map(|a| a.0.as_str()).collect();
        assert_eq!(actions, ["create", "update", "delete"]);
        // Each change is also a live event.
        let events: i64 =
            t.db.fetch_scalar(&yingji::db::Sql::new(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM events WHERE topic = 'risk_point'",
            ))
            .await
            .expect("events");
        assert_eq!(events, 3);
        app.stop().await;
    });
}

#[tokio::test]
async fn invalid_risk_points_are_refused_naming_the_field() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("supervisor").await;
        let cases: Vec<(&str, Change)> = vec![
            ("name", Box::new(|v| v["name"] = json!("  "))),
            ("name", Box::new(|v| v["name"] = json!("危".repeat(201)))),
            ("kind", Box::new(|v| v["kind"] = json!("warehouse"))),
            (
                "control_level",
                Box::new(|v| v["control_level"] = json!("district")),
            ),
            (
                "accident_types[1]",
                Box::new(|v| v["accident_types"] = json!(["19", "21"])),
            ),
            (
                "control_measures[1].category",
                Box::new(|v| v["control_measures"][1]["category"] = json!("luck")),
            ),
            (
                "control_measures[0].check_cycle",
                Box::new(|v| v["control_measures"][0]["check_cycle"] = json!("hourly")),
            ),
            (
                "control_measures[0].text",
                Box::new(|v| v["control_measures"][0]["text"] = json!("")),
            ),
            ("lat", Box::new(|v| v["lon"] = json!(117.0))),
            (
                "lon",
                Box::new(|v| {
                    v["lon"] = json!(200.0);
                    v["lat"] = json!(39.0);
                }),
            ),
            (
                "responsible_person",
                Box::new(|v| v["responsible_person"] = json!("")),
            ),
            (
                "responsible_phone",
                Box::new(|v| v["responsible_phone"] = json!("1".repeat(31))),
            ),
            (
                "enterprise_id",
                Box::new(|v| v["enterprise_id"] = json!("no-such-enterprise")),
            ),
        ];
        for (want, change) in cases {
            let mut body = point(Some(&f.a1), "液氯储罐");
            change(&mut body);
            let (s, v) = app
                .send_json(Method::POST, &token, "/api/v1/risk-points", &body)
                .await;
            assert_eq!((s, field(&v)), (422, want), "{v}");
        }
        // A district user must say which enterprise.
        let (s, v) = app
            .send_json(
                Method::POST,
                &token,
                "/api/v1/risk-points",
                &point(None, "液氯储罐"),
            )
            .await;
        assert_eq!((s, field(&v)), (422, "enterprise_id"));
        let (_, list) = app.get_json(&token, "/api/v1/risk-points").await;
        assert_eq!(list["total"], 0);
        app.stop().await;
    });
}

#[tokio::test]
async fn an_enterprise_sees_and_edits_only_its_own_risk_points_and_a_town_only_reads_its_own() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let sup = app.login("supervisor").await;
        let own = create(&app, &sup, &point(Some(&f.a1), "甲一储罐")).await;
        let other = create(&app, &sup, &point(Some(&f.a2), "甲二仓库")).await;
        let far = create(&app, &sup, &point(Some(&f.b1), "乙一反应釜")).await;

        let ent = app.login("enterprise").await;
        let (_, list) = app.get_json(&ent, "/api/v1/risk-points").await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["id"], own.as_str());
        let path = format!("/api/v1/risk-points/{other}");
        assert_eq!(app.get_json(&ent, &path).await.0, 404);
        let (s, _) = app
            .send_json(Method::PUT, &ent, &path, &point(None, "改名"))
            .await;
        assert_eq!(s, 404);
        let (s, _) = assess(&app, &ent, &other, json!({"method": "ls", "l": 1, "s": 1})).await;
        assert_eq!(s, 404);
        let (s, _) = app.send_json(Method::DELETE, &ent, &path, &json!({})).await;
        assert_eq!(s, 404);
        assert_eq!(
            app.get_json(&ent, &format!("/api/v1/risk-points/{other}/assessments"))
                .await
                .0,
            404
        );
        // Nor may it write for another enterprise, nor move its own point there.
        let (s, v) = app
            .send_json(
                Method::POST,
                &ent,
                "/api/v1/risk-points",
                &point(Some(&f.a2), "越权"),
            )
            .await;
        assert_eq!(s, 403, "{v}");
        let (s, _) = app
            .send_json(
                Method::PUT,
                &ent,
                &format!("/api/v1/risk-points/{own}"),
                &point(Some(&f.a2), "搬走"),
            )
            .await;
        assert_eq!(s, 403);

        let town = app.login("town").await;
        let (_, list) = app.get_json(&town, "/api/v1/risk-points").await;
        assert_eq!(list["total"], 2);
        assert_eq!(app.get_json(&town, &path).await.0, 200);
        assert_eq!(
            app.get_json(&town, &format!("/api/v1/risk-points/{far}"))
                .await
                .0,
            404
        );
        let (s, _) = app
            .send_json(Method::PUT, &town, &path, &point(Some(&f.a2), "改名"))
            .await;
        assert_eq!(s, 403);
        let (s, _) = app
            .send_json(
                Method::POST,
                &town,
                "/api/v1/risk-points",
                &point(Some(&f.a2), "新建"),
            )
            .await;
        assert_eq!(s, 403);
        let (s, _) = assess(&app, &town, &other, json!({"method": "ls", "l": 1, "s": 1})).await;
        assert_eq!(s, 403);
        let (_, got) = app.get_json(&sup, &path).await;
        assert_eq!(got["name"], "甲二仓库");
        app.stop().await;
    });
}

#[tokio::test]
async fn assessments_grade_the_point_and_are_kept_newest_first_with_their_bands() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("enterprise").await;
        let id = create(&app, &token, &point(Some(&f.a1), "液氯储罐")).await;
        // D = 3 × 6 × 15 = 270: orange.
        let (s, lec) = assess(
            &app,
            &token,
            &id,
            json!({"method": "lec", "l": 3, "e": 6, "c": 15, "note": "年度评估"}),
        )
        .await;
        assert_eq!(s, 201, "{lec}");
        assert_eq!(
            (&lec["score"], &lec["colour"], &lec["level_zh"]),
            (&json!(270.0), &json!("orange"), &json!("较大风险"))
        );
        assert_eq!(lec["bands"]["lec_red_above"], 320.0);
        let (_, p) = app
            .get_json(&token, &format!("/api/v1/risk-points/{id}"))
            .await;
        assert_eq!(
            (&p["colour"], &p["method"]),
            (&json!("orange"), &json!("lec"))
        );
        assert_eq!(
            (&p["l"], &p["e"], &p["c"]),
            (&json!(3.0), &json!(6.0), &json!(15.0))
        );
        // R = 4 × 5 = 20: red.
        let (s, ls) = assess(&app, &token, &id, json!({"method": "ls", "l": 4, "s": 5})).await;
        assert_eq!(s, 201, "{ls}");
        assert_eq!((&ls["score"], &ls["colour"]), (&json!(20.0), &json!("red")));
        let (_, p) = app
            .get_json(&token, &format!("/api/v1/risk-points/{id}"))
            .await;
        assert_eq!(
            (&p["colour"], &p["method"], &p["score"], &p["e"], &p["s"]),
            (
                &json!("red"),
                &json!("ls"),
                &json!(20.0),
                &Value::Null,
                &json!(5.0)
            )
        );
        assert!(p["assessed_at"].is_string());
        let (_, history) = app
            .get_json(&token, &format!("/api/v1/risk-points/{id}/assessments"))
            .await;
        assert_eq!(history["total"], 2);
        assert_eq!(history["items"][0]["id"], ls["id"]);
        assert_eq!(history["items"][1]["id"], lec["id"]);
        assert_eq!(history["items"][1]["note"], "年度评估");
        // Outside the tables: 422 naming the factor, and nothing changes.
        for (body, want) in [
            (json!({"method": "lec", "l": 4, "e": 6, "c": 15}), "l"),
            (json!({"method": "lec", "l": 3, "e": 5, "c": 15}), "e"),
            (json!({"method": "lec", "l": 3, "e": 6, "c": 50}), "c"),
            (json!({"method": "lec", "l": 3, "e": 6}), "c"),
            (json!({"method": "ls", "l": 3, "s": 6}), "s"),
            (json!({"method": "ls", "l": 0, "s": 3}), "l"),
            (json!({"method": "matrix", "l": 3, "s": 3}), "method"),
        ] {
            let (s, v) = assess(&app, &token, &id, body).await;
            assert_eq!((s, field(&v)), (422, want), "{v}");
        }
        let (_, history) = app
            .get_json(&token, &format!("/api/v1/risk-points/{id}/assessments"))
            .await;
        assert_eq!(history["total"], 2);
        app.stop().await;
    });
}

#[tokio::test]
async fn the_calculators_grade_band_edges_and_refuse_values_outside_the_tables() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("leader").await;
        for ((l, e, c), d, colour, grade) in [
            ((10.0, 1.0, 7.0), 70.0, "blue", 4),
            ((0.5, 10.0, 15.0), 75.0, "yellow", 3),
            ((3.0, 0.5, 100.0), 150.0, "yellow", 3),
            ((10.0, 6.0, 3.0), 180.0, "orange", 2),
            ((10.0, 10.0, 3.0), 300.0, "orange", 2),
            ((3.0, 3.0, 40.0), 360.0, "red", 1),
            ((10.0, 2.0, 1.0), 20.0, "blue", 5),
        ] {
            let (s, v) = app
                .send_json(
                    Method::POST,
                    &token,
                    "/api/v1/rules/lec",
                    &json!({"l": l, "e": e, "c": c}),
                )
                .await;
            assert_eq!(s, 200, "{v}");
            assert_eq!(
                (&v["d"], &v["colour"], &v["band"]["grade"]),
                (&json!(d), &json!(colour), &json!(grade)),
                "{l} × {e} × {c}"
            );
        }
        for ((l, s_), r, colour) in [
            ((2.0, 4.0), 8, "blue"),
            ((3.0, 3.0), 9, "yellow"),
            ((3.0, 4.0), 12, "yellow"),
            ((3.0, 5.0), 15, "orange"),
            ((4.0, 4.0), 16, "orange"),
            ((4.0, 5.0), 20, "red"),
        ] {
            let (s, v) = app
                .send_json(
                    Method::POST,
                    &token,
                    "/api/v1/rules/ls",
                    &json!({"l": l, "s": s_}),
                )
                .await;
            assert_eq!(s, 200, "{v}");
            assert_eq!((&v["r"], &v["colour"]), (&json!(r), &json!(colour)));
            assert!(v["level_zh"].is_string());
        }
        for (path, body, want) in [
            ("/api/v1/rules/lec", json!({"l": 4, "e": 6, "c": 7}), "l"),
            ("/api/v1/rules/lec", json!({"l": 3, "e": 5, "c": 7}), "e"),
            ("/api/v1/rules/lec", json!({"l": 3, "e": 6, "c": 50}), "c"),
            ("/api/v1/rules/ls", json!({"l": 6, "s": 1}), "l"),
            ("/api/v1/rules/ls", json!({"l": 2, "s": 2.5}), "s"),
            ("/api/v1/rules/ls", json!({"l": 2}), "s"),
        ] {
            let (s, v) = app.send_json(Method::POST, &token, path, &body).await;
            assert_eq!((s, field(&v)), (422, want), "{path} {body}: {v}");
        }
        let (s, bands) = app.get_json(&token, "/api/v1/rules/risk-bands").await;
        assert_eq!(s, 200);
        assert_eq!(bands["lec_red_above"], 320.0);
        assert_eq!(bands["ls_yellow_min"], 9);
        // Logged-in users only.
        let r = app
            .client
            .post(app.url("/api/v1/rules/ls"))
            .json(&json!({"l": 2, "s": 2}))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 401);
        app.stop().await;
    });
}

#[tokio::test]
async fn a_changed_band_setting_changes_the_colour_and_is_stored_with_the_assessment() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let mut settings = common::TestApp::manual_clock_settings();
        settings.dualprev.lec_red_above = 400.0;
        settings.dualprev.lec_orange_above = 200.0;
        settings.dualprev.ls_red_min = 25;
        let app = common::TestApp::spawn_with(&t.db, settings).await;
        let token = app.login("supervisor").await;
        let (_, v) = app
            .send_json(
                Method::POST,
                &token,
                "/api/v1/rules/lec",
                &json!({"l": 3, "e": 3, "c": 40}),
            )
            .await;
        assert_eq!((&v["d"], &v["colour"]), (&json!(360.0), &json!("orange")));
        let (_, v) = app
            .send_json(
                Method::POST,
                &token,
                "/api/v1/rules/ls",
                &json!({"l": 4, "s": 5}),
            )
            .await;
        assert_eq!(v["colour"], "orange");
        let (_, bands) = app.get_json(&token, "/api/v1/rules/risk-bands").await;
        assert_eq!(
            (&bands["lec_red_above"], &bands["ls_red_min"]),
            (&json!(400.0), &json!(25))
        );
        let id = create(&app, &token, &point(Some(&f.a1), "液氯储罐")).await;
        let (_, a) = assess(
            &app,
            &token,
            &id,
            json!({"method": "lec", "l": 3, "e": 3, "c": 40}),
        )
        .await;
        assert_eq!(a["colour"], "orange");
        assert_eq!(a["bands"]["lec_red_above"], 400.0);
        app.stop().await;
    });
}

/// a1: red, yellow and one unassessed point; a2: two blue; b1: one yellow.
async fn rollup_fixture(app: &common::TestApp, f: &common::Fixture, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for (enterprise, name, ls, own_location) in [
        (&f.a1, "P1", Some((4, 5)), true),
        (&f.a1, "P2", Some((3, 3)), false),
        (&f.a1, "P3", None, false),
        (&f.a2, "P4", Some((1, 1)), false),
        (&f.a2, "P5", Some((2, 2)), false),
        (&f.b1, "P6", Some((3, 4)), false),
    ] {
        let mut body = point(Some(enterprise), name);
        if own_location {
            body["lon"] = json!(117.1);
            body["lat"] = json!(39.4);
        }
        let id = create(app, token, &body).await;
        if let Some((l, s)) = ls {
            let (st, v) = assess(app, token, &id, json!({"method": "ls", "l": l, "s": s})).await;
            assert_eq!(st, 201, "{v}");
        }
        ids.push(id);
    }
    ids
}

fn counts(red: i64, orange: i64, yellow: i64, blue: i64) -> Value {
    json!({"red": red, "orange": orange, "yellow": yellow, "blue": blue})
}

#[tokio::test]
async fn the_roll_ups_give_enterprise_colours_town_counts_and_shades() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let sup = app.login("supervisor").await;
        rollup_fixture(&app, &f, &sup).await;

        let (s, ents) = app
            .get_json(
                &sup,
                &format!("/api/v1/risk-map/enterprises?town_code={TOWN_A}"),
            )
            .await;
        assert_eq!(s, 200, "{ents}");
        assert_eq!(ents["total"], 2);
        let a1 = &ents["items"][0];
        assert_eq!(a1["enterprise_id"], f.a1.as_str());
        assert_eq!(a1["colour"], "red");
        assert_eq!(a1["counts"], counts(1, 0, 1, 0));
        assert_eq!(a1["unassessed"], 1);
        let a2 = &ents["items"][1];
        assert_eq!(
            (&a2["colour"], &a2["counts"]),
            (&json!("blue"), &counts(0, 0, 0, 2))
        );
        let (_, all) = app.get_json(&sup, "/api/v1/risk-map/enterprises").await;
        assert_eq!(all["total"], 3);

        let (s, towns) = app.get_json(&sup, "/api/v1/risk-map/towns").await;
        assert_eq!(s, 200, "{towns}");
        let town = |v: &Value, code: &str| -> Value {
            v["items"]
                .as_array()
                .and_then(|a| a.iter().find(|t| t["town_code"] == code).cloned())
                .unwrap_or(Value::Null)
        };
        let a = town(&towns, TOWN_A);
        assert_eq!(a["points"], counts(1, 0, 1, 2));
        assert_eq!(a["enterprises"], counts(1, 0, 0, 1));
        // Mean of red (4) and blue (1) is 2.5, rounded half up to orange, which is also the
        // floor one step below the worst (red).
        assert_eq!(a["shade"], "orange");
        let b = town(&towns, TOWN_B);
        assert_eq!(
            (&b["points"], &b["shade"]),
            (&counts(0, 0, 1, 0), &json!("yellow"))
        );
        let empty = towns["items"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|t| t["town_code"] != TOWN_A && t["town_code"] != TOWN_B)
                    .cloned()
            })
            .expect("a third town");
        assert_eq!(
            (&empty["points"], &empty["shade"]),
            (&counts(0, 0, 0, 0), &Value::Null)
        );

        // Scope: the town sees only its own counts, the enterprise only itself.
        let town_token = app.login("town").await;
        let (_, towns) = app.get_json(&town_token, "/api/v1/risk-map/towns").await;
        assert_eq!(town(&towns, TOWN_A)["points"], counts(1, 0, 1, 2));
        assert_eq!(town(&towns, TOWN_B)["points"], counts(0, 0, 0, 0));
        let ent = app.login("enterprise").await;
        let (_, ents) = app.get_json(&ent, "/api/v1/risk-map/enterprises").await;
        assert_eq!(ents["total"], 1);
        assert_eq!(ents["items"][0]["enterprise_id"], f.a1.as_str());
        app.stop().await;
    });
}

fn assert_feature_collection(v: &Value) -> &Vec<Value> {
    assert_eq!(v["type"], "FeatureCollection", "{v}");
    let features = v["features"].as_array().expect("features");
    for f in features {
        assert_eq!(f["type"], "Feature");
        assert!(f["geometry"]["type"].is_string(), "{f}");
        assert!(f["geometry"]["coordinates"].is_array(), "{f}");
        assert!(f["properties"].is_object(), "{f}");
    }
    features
}

#[tokio::test]
async fn the_map_layers_are_feature_collections_of_points_and_town_polygons_in_scope() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let sup = app.login("supervisor").await;
        let ids = rollup_fixture(&app, &f, &sup).await;

        let (s, layer) = app.get_json(&sup, "/api/v1/map/risk-points").await;
        assert_eq!(s, 200);
        let features = assert_feature_collection(&layer);
        assert_eq!(features.len(), 6);
        let by_id = |id: &str| {
            features
                .iter()
                .find(|x| x["properties"]["id"] == id)
                .cloned()
                .expect("feature")
        };
        let p1 = by_id(&ids[0]);
        assert_eq!(
            p1["geometry"],
            json!({"type": "Point", "coordinates": [117.1, 39.4]})
        );
        assert_eq!(
            (
                &p1["properties"]["colour"],
                &p1["properties"]["score"],
                &p1["properties"]["method"]
            ),
            (&json!("red"), &json!(20.0), &json!("ls"))
        );
        assert_eq!(p1["properties"]["enterprise_name"], "甲一化工有限公司");
        // Without its own location a point stands at its enterprise.
        let p3 = by_id(&ids[2]);
        assert_eq!(p3["geometry"]["coordinates"], json!([117.05, 39.37]));
        assert!(p3["properties"]["colour"].is_null());
        let (_, red) = app
            .get_json(&sup, "/api/v1/map/risk-points?colour=red")
            .await;
        assert_eq!(assert_feature_collection(&red).len(), 1);

        let ent = app.login("enterprise").await;
        let (_, own) = app.get_json(&ent, "/api/v1/map/risk-points").await;
        assert_eq!(assert_feature_collection(&own).len(), 3);

        let (s, towns) = app.get_json(&sup, "/api/v1/map/risk-towns").await;
        assert_eq!(s, 200);
        let features = assert_feature_collection(&towns);
        assert!(features.len() > 2);
        for x in features {
            assert!(
                matches!(
                    x["geometry"]["type"].as_str(),
                    Some("Polygon" | "MultiPolygon")
                ),
                "{x}"
            );
        }
        let a = features
            .iter()
            .find(|x| x["properties"]["code"] == TOWN_A)
            .expect("town A");
        assert_eq!(a["properties"]["shade"], "orange");
        assert_eq!(
            (
                &a["properties"]["points_red"],
                &a["properties"]["points_blue"],
                &a["properties"]["enterprises_blue"]
            ),
            (&json!(1), &json!(2), &json!(1))
        );
        let town_token = app.login("town").await;
        let (_, towns) = app.get_json(&town_token, "/api/v1/map/risk-towns").await;
        let b = assert_feature_collection(&towns)
            .iter()
            .find(|x| x["properties"]["code"] == TOWN_B)
            .cloned()
            .expect("town B");
        assert!(b["properties"]["shade"].is_null());
        app.stop().await;
    });
}
