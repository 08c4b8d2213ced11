//! Major hazard sources and sensors through the HTTP API, on every backend.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

fn unit(enterprise_id: &str, chlorine_t: f64, population: i64) -> Value {
    json!({
        "enterprise_id": enterprise_id,
        "name": "液氯罐区",
        "kind": "storage",
        "exposed_population": population,
        "substances": [{"name": "液氯", "quantity_t": chlorine_t}],
        "equipment": [{"name": "01#储罐", "kind": "tank", "capacity": "50 m³"}],
    })
}

#[tokio::test]
async fn a_unit_is_graded_when_saved_and_regraded_when_its_chemicals_change() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("supervisor").await;
        // 5 t of chlorine is exactly its critical quantity: S = 1, a major hazard source.
        // R = α·β·q/Q = 1.5 × 4 × 1 = 6 → grade 4.
        let (s, created) = app
            .send_json(
                Method::POST,
                &token,
                "/api/v1/hazard-sources",
                &unit(&f.a1, 5.0, 60),
            )
            .await;
        assert_eq!(s, 201, "{created}");
        assert_eq!(created["is_major"], true);
        assert_eq!(created["grade"], 4);
        assert_eq!(created["evaluation"]["terms"][0]["beta"], 4.0);
        assert_eq!(created["equipment"][0]["name"], "01#储罐");
        let id = created["id"].as_str().expect("id").to_string();
        let equipment_id = created["equipment"][0]["id"]
            .as_str()
            .expect("equipment id")
            .to_string();
        // 100 t → q/Q = 20, R = 1.5 × 4 × 20 = 120 → grade 1. The equipment keeps its id.
        let mut body = unit(&f.a1, 100.0, 60);
        body["equipment"][0]["id"] = json!(equipment_id);
        let (s, updated) = app
            .send_json(
                Method::PUT,
                &token,
                &format!("/api/v1/hazard-sources/{id}"),
                &body,
            )
            .await;
        assert_eq!(s, 200, "{updated}");
        assert_eq!(updated["grade"], 1);
        assert_eq!(updated["equipment"][0]["id"], equipment_id.as_str());
        // Below the threshold: not major, no grade.
        let (_, small) = app
            .send_json(
                Method::PUT,
                &token,
                &format!("/api/v1/hazard-sources/{id}"),
                &unit(&f.a1, 4.9, 60),
            )
            .await;
        assert_eq!(
            (small["is_major"].as_bool(), small["grade"].is_null()),
            (Some(false), true)
        );
        // The map layer and the filter see the unit.
        let (_, layer) = app.get_json(&token, "/api/v1/map/hazard-sources").await;
        assert_eq!(layer["features"].as_array().map(Vec::len), Some(1));
        let (_, majors) = app
            .get_json(&token, "/api/v1/hazard-sources?major=true")
            .await;
        assert_eq!(majors["total"], 0);
        app.stop().await;
    });
}

#[tokio::test]
async fn an_unknown_chemical_without_a_category_is_a_422_naming_the_substance() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("supervisor").await;
        let mut body = unit(&f.a1, 5.0, 0);
        body["substances"] =
            json!([{"name": "液氯", "quantity_t": 1}, {"name": "某溶剂", "quantity_t": 3}]);
        let (s, err) = app
            .send_json(Method::POST, &token, "/api/v1/hazard-sources", &body)
            .await;
        assert_eq!(s, 422, "{err}");
        assert!(
            err["error"]["field"]
                .as_str()
                .is_some_and(|f| f.starts_with("substances[1]")),
            "{err}"
        );
        assert!(
            err["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("某溶剂")),
            "{err}"
        );
        let (_, list) = app.get_json(&token, "/api/v1/hazard-sources").await;
        assert_eq!(list["total"], 0, "nothing written");
        app.stop().await;
    });
}

#[tokio::test]
async fn hazard_sources_follow_the_enterprise_scope() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let sup = app.login("supervisor").await;
        let (_, b_unit) = app
            .send_json(
                Method::POST,
                &sup,
                "/api/v1/hazard-sources",
                &unit(&f.b1, 5.0, 0),
            )
            .await;
        let b_id = b_unit["id"].as_str().expect("id").to_string();
        let ent = app.login("enterprise").await;
        // Its own enterprise it may equip with a unit; another's it can neither see nor create.
        let (s, _) = app
            .send_json(
                Method::POST,
                &ent,
                "/api/v1/hazard-sources",
                &unit(&f.a1, 1.0, 0),
            )
            .await;
        assert_eq!(s, 201);
        let (s, _) = app
            .send_json(
                Method::POST,
                &ent,
                "/api/v1/hazard-sources",
                &unit(&f.b1, 1.0, 0),
            )
            .await;
        assert_eq!(s, 403);
        let (s, _) = app
            .get_json(&ent, &format!("/api/v1/hazard-sources/{b_id}"))
            .await;
        assert_eq!(s, 404);
        let (_, list) = app.get_json(&ent, "/api/v1/hazard-sources").await;
        assert_eq!(list["total"], 1);
        app.stop().await;
    });
}

#[tokio::test]
async fn the_gb18218_calculator_answers_the_issue_example_over_http() {
    let t = common::TestDb::sqlite().await;
    common::seed_fixture(&t.db).await;
    let app = common::TestApp::spawn(&t.db).await;
    let token = app.login("leader").await;
    let body = json!({"exposed_population": 60, "substances": [
        {"name": "二氧化硫", "quantity_t": 200},
        {"cas": "67-56-1", "quantity_t": 50},
        {"name": "某溶剂", "category": "W5.3", "quantity_t": 3, "critical_t": 1000, "beta": 1, "override_reason": "2019 年评估报告"}
    ]});
    let (s, r) = app
        .send_json(Method::POST, &token, "/api/v1/rules/gb18218", &body)
        .await;
    assert_eq!(s, 200, "{r}");
    // SO₂: 200/20 = 10 (β 2); methanol: 50/500 = 0.1; solvent: 3/1000 = 0.003. S = 10.103.
    assert!((r["s"].as_f64().expect("s") - 10.103).abs() < 1e-9, "{r}");
    assert_eq!(r["is_major"], true);
    assert_eq!(r["alpha"], 1.5);
    // R = 1.5 × (2×10 + β_methanol×0.1 + 1×0.003)
    assert_eq!(r["terms"][0]["source"], "table1");
    assert_eq!(r["terms"][2]["source"], "override");
    assert_eq!(r["grade"], 3);
    let (s, err) = app
        .send_json(
            Method::POST,
            &token,
            "/api/v1/rules/gb18218",
            &json!({"exposed_population": -1, "substances": []}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(err["error"]["field"], "exposed_population");
    app.stop().await;
}

fn sensor(enterprise_id: &str, code: &str) -> Value {
    json!({
        "enterprise_id": enterprise_id, "code": code, "name": "1#罐液位", "kind": "level", "unit_of_measure": "m",
        "range_min": 0, "range_max": 20, "l": 2, "h": 16, "hh": 18, "deadband": 0.2, "on_delay_s": 5, "off_delay_s": 5,
    })
}

#[tokio::test]
async fn sensors_validate_their_alarm_settings_and_codes_are_unique_per_enterprise() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("supervisor").await;
        let (_, unit_a) = app
            .send_json(
                Method::POST,
                &token,
                "/api/v1/hazard-sources",
                &unit(&f.a1, 5.0, 0),
            )
            .await;
        let mut body = sensor(&f.a1, "LT-101");
        body["equipment_id"] = unit_a["equipment"][0]["id"].clone();
        let (s, created) = app
            .send_json(Method::POST, &token, "/api/v1/sensors", &body)
            .await;
        assert_eq!(s, 201, "{created}");
        assert_eq!(
            created["unit_id"], unit_a["id"],
            "the unit follows from the equipment"
        );
        assert_eq!(created["num"], 1);
        let (s, dup) = app
            .send_json(
                Method::POST,
                &token,
                "/api/v1/sensors",
                &sensor(&f.a1, "LT-101"),
            )
            .await;
        assert_eq!((s, dup["error"]["field"].as_str()), (409, Some("code")));
        // The same code in another enterprise is another sensor.
        let (s, other) = app
            .send_json(
                Method::POST,
                &token,
                "/api/v1/sensors",
                &sensor(&f.b1, "LT-101"),
            )
            .await;
        assert_eq!(s, 201);
        assert_eq!(other["num"], 2);
        // Thresholds out of order are refused, naming the field.
        let mut bad = sensor(&f.a1, "LT-102");
        bad["hh"] = json!(15);
        let (s, err) = app
            .send_json(Method::POST, &token, "/api/v1/sensors", &bad)
            .await;
        assert_eq!(s, 422, "{err}");
        assert!(err["error"]["field"].as_str().is_some(), "{err}");
        // Equipment of another enterprise cannot carry this enterprise's sensor.
        let mut foreign = sensor(&f.b1, "LT-103");
        foreign["equipment_id"] = unit_a["equipment"][0]["id"].clone();
        let (s, err) = app
            .send_json(Method::POST, &token, "/api/v1/sensors", &foreign)
            .await;
        assert_eq!(
            (s, err["error"]["field"].as_str()),
            (422, Some("equipment_id"))
        );
        // An enterprise user sees only its own sensors.
        let ent = app.login("enterprise").await;
        let (_, mine) = app.get_json(&ent, "/api/v1/sensors").await;
        assert_eq!(mine["total"], 1);
        let (s, _) = app
            .get_json(
                &ent,
                &format!("/api/v1/sensors/{}", other["id"].as_str().expect("id")),
            )
            .await;
        assert_eq!(s, 404);
        app.stop().await;
    });
}

#[tokio::test]
async fn ingest_tokens_are_shown_once_listed_by_fingerprint_and_revocable() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("enterprise").await;
        let (s, created) = app
            .send_json(
                Method::POST,
                &token,
                &format!("/api/v1/enterprises/{}/ingest-tokens", f.a1),
                &json!({"name": "1号网关"}),
            )
            .await;
        assert_eq!(s, 201, "{created}");
        let secret = created["token"]
            .as_str()
            .expect("token shown once")
            .to_string();
        assert_eq!(
            yingji::monitor::sensors::enterprise_of_token(&t.db, &secret)
                .await
                .expect("db"),
            Some(f.a1.clone())
        );
        let (_, list) = app
            .get_json(
                &token,
                &format!("/api/v1/enterprises/{}/ingest-tokens", f.a1),
            )
            .await;
        assert!(
            list["items"][0]["token"].is_null(),
            "the secret is never listed"
        );
        let fp = list["items"][0]["fingerprint"]
            .as_str()
            .expect("fingerprint")
            .to_string();
        let (s, _) = app
            .send_json(
                Method::POST,
                &token,
                &format!("/api/v1/enterprises/{}/ingest-tokens", f.b1),
                &json!({}),
            )
            .await;
        assert_eq!(s, 404, "another enterprise's gateway is out of scope");
        let r = app
            .client
            .delete(app.url(&format!("/api/v1/enterprises/{}/ingest-tokens/{fp}", f.a1)))
            .bearer_auth(&token)
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 204);
        assert_eq!(
            yingji::monitor::sensors::enterprise_of_token(&t.db, &secret)
                .await
                .expect("db"),
            None
        );
        app.stop().await;
    });
}

#[tokio::test]
async fn meta_lists_sensor_kinds_and_the_table_2_categories() {
    let t = common::TestDb::sqlite().await;
    common::seed_fixture(&t.db).await;
    let app = common::TestApp::spawn(&t.db).await;
    let (s, meta) = app
        .get_json(&app.login("enterprise").await, "/api/v1/meta")
        .await;
    assert_eq!(s, 200);
    assert_eq!(meta["sensor_kinds"].as_array().map(Vec::len), Some(7));
    let cats = meta["hazard_categories"].as_array().expect("categories");
    assert_eq!(cats.len(), 24);
    assert!(
        cats.iter()
            .any(|c| c["symbol"] == "W5.3" && c["critical_t"] == 1000.0)
    );
    assert_eq!(meta["capabilities"]["can_edit_hazard_sources"], true);
    assert_eq!(meta["capabilities"]["can_edit_registry"], false);
    app.stop().await;
}
