//! The daily safety commitment end to end, on every backend: filing once a day with every
//! major hazard source declared, the refusals, lateness, the contradiction check against live
//! alarms and open major hidden dangers, the day's board and scope.

mod common;

use chrono::{Duration, NaiveDate};
use reqwest::Method;
use serde_json::{Value, json};
use yingji::db::{Db, Sql};

fn today() -> NaiveDate {
    yingji::dualprev::rules::shanghai_day(yingji::db::now_ms())
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A hazard-source unit of an enterprise, major or not.
async fn add_unit(db: &Db, enterprise_id: &str, name: &str, major: bool) -> String {
    let id = yingji::db::new_id();
    db.execute(
        &Sql::new(
            "INSERT INTO hazard_units (id, enterprise_id, name, kind, is_major, created_at, updated_at) \
             VALUES ($1, $2, $3, 'storage', $4, 0, 0)",
        )
        .bind(id.as_str())
        .bind(enterprise_id)
        .bind(name)
        .bind(major),
    )
    .await
    .expect("unit");
    id
}

/// A server whose commitment deadline is 23:59, so a commitment filed today is on time
/// (unless the test runs in the day's last minute, which `late_now` tells).
async fn spawn(db: &Db) -> common::TestApp {
    let mut settings = common::TestApp::manual_clock_settings();
    settings.dualprev.commitment_deadline = "23:59".into();
    common::TestApp::spawn_with(db, settings).await
}

fn late_now() -> bool {
    let deadline = yingji::dualprev::rules::shanghai_ms(
        today(),
        chrono::NaiveTime::from_hms_opt(23, 59, 0).expect("time"),
    );
    yingji::db::now_ms() > deadline
}

async fn file(app: &common::TestApp, token: &str, body: Value) -> (u16, Value) {
    app.send_json(Method::POST, token, "/api/v1/commitments", &body)
        .await
}

fn body(d: &str, sources: Value, safe: bool) -> Value {
    json!({
        "day": d,
        "hazard_sources": sources,
        "operations": {"hot_work": 2, "height": 1},
        "startup_shutdown": false,
        "maintenance": true,
        "safe_state": safe,
        "committer": "王五",
        "notes": "夜班交接正常",
    })
}

async fn count(db: &Db, sql: &str, arg: &str) -> i64 {
    db.fetch_scalar(&Sql::new(sql).bind(arg))
        .await
        .expect("count")
}

#[tokio::test]
async fn an_enterprise_files_its_commitment_once_a_day_with_audit_and_live_event() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let tank = add_unit(&t.db, &f.a1, "一号罐区", true).await;
        // Not a major hazard source: not declared.
        add_unit(&t.db, &f.a1, "小仓库", false).await;
        let app = spawn(&t.db).await;
        let ent = app.login("enterprise").await;
        let today = day(today());

        let (s, c) = file(
            &app,
            &ent,
            body(
                &today,
                json!([{"unit_id": tank, "state": "maintenance", "note": "检修"}]),
                true,
            ),
        )
        .await;
        assert_eq!(s, 201, "{c}");
        assert_eq!(c["enterprise_id"], f.a1.as_str());
        assert_eq!(c["town_code"], common::TOWN_A);
        assert_eq!(c["day"], today.as_str());
        assert_eq!(c["committer"], "王五");
        assert_eq!(c["hazard_sources"][0]["name"], "一号罐区");
        assert_eq!(c["hazard_sources"][0]["state"], "maintenance");
        assert_eq!(c["operations"]["hot_work"], 2);
        assert_eq!(c["operations"]["height"], 1);
        assert_eq!(c["operations"]["road_closure"], 0);
        assert_eq!(c["maintenance"], true);
        assert_eq!(c["startup_shutdown"], false);
        assert_eq!(c["safe_state"], true);
        assert_eq!(c["contradictory"], false);
        assert_eq!(c["contradictions"], json!([]));
        let late = late_now();
        assert_eq!(c["late"], late);
        assert_eq!(c["status"], if late { "late" } else { "on_time" });
        let id = c["id"].as_str().expect("id").to_string();

        let (s, again) = file(
            &app,
            &ent,
            body(&today, json!([{"unit_id": tank, "state": "normal"}]), true),
        )
        .await;
        assert_eq!(s, 409, "{again}");
        assert_eq!(again["error"]["field"], "day");

        assert_eq!(
            count(
                &t.db,
                "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE entity = 'commitment' AND entity_id = $1",
                &id
            )
            .await,
            1
        );
        assert_eq!(
            count(
                &t.db,
                "SELECT CAST(COUNT(*) AS BIGINT) FROM events WHERE topic = 'commitment' AND enterprise_id = $1",
                &f.a1
            )
            .await,
            1
        );

        let (s, one) = app
            .get_json(&ent, &format!("/api/v1/commitments/{id}"))
            .await;
        assert_eq!(s, 200);
        assert_eq!(one, c);
        let sup = app.login("supervisor").await;
        let (s, list) = app
            .get_json(
                &sup,
                &format!(
                    "/api/v1/commitments?enterprise_id={}&from={today}&to={today}",
                    f.a1
                ),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["id"], id.as_str());
        let (_, none) = app
            .get_json(&sup, "/api/v1/commitments?from=2000-01-01&to=2000-01-02")
            .await;
        assert_eq!(none["total"], 0);
        let (s, _) = app
            .get_json(&sup, "/api/v1/commitments?from=yesterday")
            .await;
        assert_eq!(s, 422);
        app.stop().await;
    });
}

#[tokio::test]
async fn refusals_name_the_field_and_only_enterprises_and_admins_file() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let tank = add_unit(&t.db, &f.a1, "一号罐区", true).await;
        let store = add_unit(&t.db, &f.a1, "二号库房", true).await;
        let foreign = add_unit(&t.db, &f.b1, "乙罐区", true).await;
        t.db.execute(
            &Sql::new("UPDATE enterprises SET flags = ',warehousing,' WHERE id = $1")
                .bind(f.a2.as_str()),
        )
        .await
        .expect("flags");
        let app = spawn(&t.db).await;
        let ent = app.login("enterprise").await;
        let admin = app.login("admin").await;
        let today_d = today();
        let today = day(today_d);
        let both =
            json!([{"unit_id": tank, "state": "normal"}, {"unit_id": store, "state": "shutdown"}]);

        let refused = |field: &'static str| {
            move |(s, v): (u16, Value)| {
                assert_eq!(s, 422, "{field}: {v}");
                assert_eq!(v["error"]["field"], field, "{v}");
            }
        };
        // Not a hazardous-chemical enterprise.
        let mut b = body(&today, json!([]), true);
        b["enterprise_id"] = json!(f.a2);
        refused("enterprise_id")(file(&app, &admin, b).await);
        // An administrator names the enterprise.
        refused("enterprise_id")(file(&app, &admin, body(&today, both.clone(), true)).await);
        // An enterprise files only for itself.
        let mut b = body(
            &today,
            json!([{"unit_id": foreign, "state": "normal"}]),
            true,
        );
        b["enterprise_id"] = json!(f.b1);
        refused("enterprise_id")(file(&app, &ent, b).await);
        // Another enterprise's unit, a unit left out, an unknown state.
        refused("hazard_sources[1].unit_id")(
            file(
                &app,
                &ent,
                body(
                    &today,
                    json!([{"unit_id": tank, "state": "normal"}, {"unit_id": foreign, "state": "normal"}]),
                    true,
                ),
            )
            .await,
        );
        refused("hazard_sources")(
            file(
                &app,
                &ent,
                body(&today, json!([{"unit_id": tank, "state": "normal"}]), true),
            )
            .await,
        );
        refused("hazard_sources[0].state")(
            file(
                &app,
                &ent,
                body(
                    &today,
                    json!([{"unit_id": tank, "state": "fine"}, {"unit_id": store, "state": "normal"}]),
                    true,
                ),
            )
            .await,
        );
        // Counts.
        let mut b = body(&today, both.clone(), true);
        b["operations"] = json!({"hot_work": -1});
        refused("operations.hot_work")(file(&app, &ent, b).await);
        let mut b = body(&today, both.clone(), true);
        b["operations"] = json!({"welding": 1});
        refused("operations.welding")(file(&app, &ent, b).await);
        // Days: not tomorrow, not the day before yesterday, a real date.
        refused("day")(
            file(
                &app,
                &ent,
                body(&day(today_d + Duration::days(1)), both.clone(), true),
            )
            .await,
        );
        refused("day")(
            file(
                &app,
                &ent,
                body(&day(today_d - Duration::days(2)), both.clone(), true),
            )
            .await,
        );
        refused("day")(file(&app, &ent, body("2026-02-30", both.clone(), true)).await);
        // The committer and the declaration itself are required.
        let mut b = body(&today, both.clone(), true);
        b["committer"] = json!("  ");
        refused("committer")(file(&app, &ent, b).await);
        let mut b = body(&today, both.clone(), true);
        b.as_object_mut().expect("object").remove("safe_state");
        refused("safe_state")(file(&app, &ent, b).await);

        for role in ["supervisor", "town", "duty", "leader"] {
            let token = app.login(role).await;
            let mut b = body(&today, both.clone(), true);
            b["enterprise_id"] = json!(f.a1);
            let (s, v) = file(&app, &token, b).await;
            assert_eq!(s, 403, "{role}: {v}");
        }
        // Nothing was stored by any refusal; the valid one still goes through.
        assert_eq!(
            count(
                &t.db,
                "SELECT CAST(COUNT(*) AS BIGINT) FROM commitments WHERE day <> $1",
                ""
            )
            .await,
            0
        );
        let mut b = body(&today, both.clone(), true);
        b["enterprise_id"] = json!(f.a1);
        let (s, v) = file(&app, &admin, b).await;
        assert_eq!(s, 201, "{v}");
        app.stop().await;
    });
}

#[tokio::test]
async fn a_commitment_for_yesterday_is_late_and_the_board_shows_late_missing_and_pending() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = spawn(&t.db).await;
        let ent = app.login("enterprise").await;
        let yesterday = day(today() - Duration::days(1));
        let today = day(today());

        let (s, c) = file(&app, &ent, body(&yesterday, json!([]), true)).await;
        assert_eq!(s, 201, "{c}");
        assert_eq!(c["late"], true);
        assert_eq!(c["status"], "late");

        let sup = app.login("supervisor").await;
        let (s, b) = app
            .get_json(&sup, &format!("/api/v1/commitments/board?day={yesterday}"))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["day"], yesterday.as_str());
        let status = |b: &Value, id: &str| {
            b["items"]
                .as_array()
                .expect("items")
                .iter()
                .find(|r| r["enterprise_id"] == id)
                .map(|r| r["status"].as_str().expect("status").to_string())
        };
        assert_eq!(status(&b, &f.a1).as_deref(), Some("late"));
        assert_eq!(status(&b, &f.a2).as_deref(), Some("missing"));
        assert_eq!(status(&b, &f.b1).as_deref(), Some("missing"));
        assert_eq!(
            b["totals"],
            json!({"enterprises": 3, "on_time": 0, "late": 1, "pending": 0, "missing": 2, "contradictory": 0})
        );
        let a1_row = b["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|r| r["enterprise_id"] == f.a1.as_str())
            .expect("a1")
            .clone();
        assert_eq!(a1_row["commitment_id"], c["id"]);
        assert_eq!(a1_row["committer"], "王五");

        // Today nobody has filed yet: pending until 23:59.
        let (_, b) = app
            .get_json(&sup, &format!("/api/v1/commitments/board?day={today}"))
            .await;
        let expected = if late_now() { "missing" } else { "pending" };
        for id in [&f.a1, &f.a2, &f.b1] {
            assert_eq!(status(&b, id).as_deref(), Some(expected));
        }
        assert_eq!(b["totals"][expected], 3);

        // A non-hazardous-chemical enterprise is not on the board.
        t.db.execute(
            &Sql::new("UPDATE enterprises SET flags = ',warehousing,' WHERE id = $1")
                .bind(f.a2.as_str()),
        )
        .await
        .expect("flags");
        let (_, b) = app
            .get_json(
                &sup,
                &format!("/api/v1/commitments/board?day={yesterday}&status=missing"),
            )
            .await;
        assert_eq!(b["totals"]["enterprises"], 2);
        assert_eq!(b["items"].as_array().expect("items").len(), 1);
        assert_eq!(b["items"][0]["enterprise_id"], f.b1.as_str());

        // Scope: the town sees its town, the enterprise itself.
        let town = app.login("town").await;
        let (_, b) = app
            .get_json(&town, &format!("/api/v1/commitments/board?day={yesterday}"))
            .await;
        let ids: Vec<&str> = b["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|r| r["enterprise_id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, vec![f.a1.as_str()]);
        let (_, b) = app
            .get_json(&ent, &format!("/api/v1/commitments/board?day={yesterday}"))
            .await;
        assert_eq!(b["totals"]["enterprises"], 1);
        let (s, _) = app
            .get_json(&sup, "/api/v1/commitments/board?day=someday")
            .await;
        assert_eq!(s, 422);
        app.stop().await;
    });
}

#[tokio::test]
async fn a_declared_safe_state_with_a_high_alarm_or_an_open_major_hidden_danger_is_contradictory() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        common::seed_sensor(&t.db, &f.a1, "LT-101").await;
        let gateway = common::ingest_token(&t.db, &f.a1).await;
        let app = spawn(&t.db).await;
        let now = yingji::db::now_ms();
        // Over HH: an H (low severity) and an HH (high) alarm, both unacknowledged.
        let r = app
            .client
            .post(app.url("/api/v1/ingest/readings"))
            .bearer_auth(&gateway)
            .json(&json!({"readings": [{"sensor": "LT-101", "ts": now - 1000, "value": 18.5}]}))
            .send()
            .await
            .expect("ingest");
        assert_eq!(r.status(), 200);
        let sup = app.login("supervisor").await;
        let (s, hd) = app
            .send_json(
                Method::POST,
                &sup,
                "/api/v1/hidden-dangers",
                &json!({"enterprise_id": f.a2, "description": "储罐区防火堤破损", "source": "inspection",
                        "category": "major_hazard", "level": "major"}),
            )
            .await;
        assert_eq!(s, 201, "{hd}");
        // A general one does not count.
        let (s, _) = app
            .send_json(
                Method::POST,
                &sup,
                "/api/v1/hidden-dangers",
                &json!({"enterprise_id": f.b1, "description": "灭火器过期", "source": "inspection",
                        "category": "fire", "level": "general"}),
            )
            .await;
        assert_eq!(s, 201);

        let ent = app.login("enterprise").await;
        let admin = app.login("admin").await;
        let yesterday = day(today() - Duration::days(1));
        let today = day(today());

        let (s, c) = file(&app, &ent, body(&today, json!([]), true)).await;
        assert_eq!(s, 201, "{c}");
        assert_eq!(c["contradictory"], true);
        assert_eq!(
            c["contradictions"],
            json!([{"kind": "unacknowledged_high_alarms", "count": 1}])
        );

        let mut b = body(&today, json!([]), true);
        b["enterprise_id"] = json!(f.a2);
        let (s, c) = file(&app, &admin, b).await;
        assert_eq!(s, 201, "{c}");
        assert_eq!(
            c["contradictions"],
            json!([{"kind": "open_major_hidden_dangers", "count": 1}])
        );

        // Declaring an unsafe state is honest.
        let mut b = body(&yesterday, json!([]), false);
        b["enterprise_id"] = json!(f.a2);
        let (s, c) = file(&app, &admin, b).await;
        assert_eq!(s, 201, "{c}");
        assert_eq!(c["contradictory"], false);
        assert_eq!(c["contradictions"], json!([]));

        let mut b = body(&today, json!([]), true);
        b["enterprise_id"] = json!(f.b1);
        let (s, c) = file(&app, &admin, b).await;
        assert_eq!(s, 201, "{c}");
        assert_eq!(c["contradictory"], false);

        // Acknowledging the alarm later does not rewrite what was filed.
        let (_, alarms) = app.get_json(&sup, "/api/v1/alarms").await;
        for a in alarms["items"].as_array().expect("alarms") {
            let id = a["id"].as_str().expect("id");
            let (s, v) = app
                .send_json(
                    Method::POST,
                    &sup,
                    &format!("/api/v1/alarms/{id}/acknowledge"),
                    &json!({"note": "已知悉"}),
                )
                .await;
            assert_eq!(s, 200, "{v}");
        }
        let (_, board) = app
            .get_json(&sup, &format!("/api/v1/commitments/board?day={today}"))
            .await;
        assert_eq!(board["totals"]["contradictory"], 2);
        let a1 = board["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|r| r["enterprise_id"] == f.a1.as_str())
            .expect("a1")
            .clone();
        assert_eq!(a1["contradictory"], true);
        assert_eq!(a1["contradictions"][0]["count"], 1);
        app.stop().await;
    });
}
