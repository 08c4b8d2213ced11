//! Check tasks generated from risk points' control measures, their periods and records, and
//! hidden dangers reported with a check, on every backend.

mod common;

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveTime};
use reqwest::Method;
use serde_json::{Value, json};
use yingji::auth::Scope;
use yingji::dualprev::checks::{self, Checker, Filter, NewRecord};
use yingji::dualprev::rules::{Cycle, PeriodStatus, shanghai_ms};
use yingji::paging::Paging;

const DAY: i64 = 86_400_000;

fn point(enterprise_id: &str, measures: Value, responsible: &str) -> Value {
    json!({
        "enterprise_id": enterprise_id,
        "name": "液氯储罐",
        "kind": "equipment",
        "accident_types": ["19"],
        "control_measures": measures,
        "control_level": "workshop",
        "responsible_person": responsible,
    })
}

fn measure(text: &str, cycle: Option<&str>) -> Value {
    json!({"category": "engineering", "text": text, "check_cycle": cycle})
}

async fn tasks(app: &common::TestApp, token: &str, query: &str) -> Vec<Value> {
    let (s, v) = app
        .get_json(token, &format!("/api/v1/check-tasks?{query}"))
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().cloned().unwrap_or_default()
}

fn by_index(tasks: &[Value], i: i64) -> Value {
    tasks
        .iter()
        .find(|t| t["measure_index"] == i)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn create_point(app: &common::TestApp, token: &str, body: &Value) -> String {
    let (s, v) = app
        .send_json(Method::POST, token, "/api/v1/risk-points", body)
        .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().expect("id").to_string()
}

async fn record(app: &common::TestApp, token: &str, task: &str, body: Value) -> (u16, Value) {
    app.send_json(
        Method::POST,
        token,
        &format!("/api/v1/check-tasks/{task}/records"),
        &body,
    )
    .await
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn measures_with_a_cycle_get_tasks_that_follow_the_measures_when_they_change() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let token = app.login("enterprise").await;
        let rp = create_point(
            &app,
            &token,
            &point(
                &f.a1,
                json!([
                    measure("巡检压力表", Some("daily")),
                    measure("应急预案", None),
                    measure("检查呼吸器", Some("weekly")),
                ]),
                "王五",
            ),
        )
        .await;
        let list = tasks(&app, &token, &format!("risk_point_id={rp}")).await;
        assert_eq!(list.len(), 2);
        let daily = by_index(&list, 0);
        assert_eq!(
            (&daily["cycle"], &daily["content"], &daily["assignee_name"]),
            (&json!("daily"), &json!("巡检压力表"), &json!("王五"))
        );
        assert_eq!(
            (&daily["active"], &daily["status"]),
            (&json!(true), &json!("due"))
        );
        assert_eq!(by_index(&list, 2)["cycle"], "weekly");

        // Reassign the weekly task to a user: it keeps its assignee when the responsible
        // person changes; a task assigned by default follows.
        let weekly = id(&by_index(&list, 2));
        let user_id: (String,) =
            t.db.fetch_optional(&yingji::db::Sql::new(
                "SELECT id FROM users WHERE username = 'enterprise'",
            ))
            .await
            .expect("query")
            .expect("user");
        let (s, v) = app
            .send_json(
                Method::PUT,
                &token,
                &format!("/api/v1/check-tasks/{weekly}"),
                &json!({"assignee_id": user_id.0}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["assignee_id"], user_id.0.as_str());
        assert_eq!(v["assignee_name"], "enterprise");

        // Measure 0 becomes monthly, measure 1 gets a weekly cycle, measure 2 loses its cycle.
        let (s, v) = app
            .send_json(
                Method::PUT,
                &token,
                &format!("/api/v1/risk-points/{rp}"),
                &point(
                    &f.a1,
                    json!([
                        measure("巡检压力表和液位计", Some("monthly")),
                        measure("应急预案演练", Some("weekly")),
                        measure("检查呼吸器", None),
                        measure("培训", None),
                    ]),
                    "赵六",
                ),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let all = tasks(&app, &token, &format!("risk_point_id={rp}")).await;
        assert_eq!(all.len(), 3);
        let first = by_index(&all, 0);
        assert_eq!(id(&first), id(&daily), "the task is kept, not replaced");
        assert_eq!(
            (&first["cycle"], &first["content"], &first["assignee_name"]),
            (
                &json!("monthly"),
                &json!("巡检压力表和液位计"),
                &json!("赵六")
            )
        );
        assert_eq!(
            (
                &by_index(&all, 1)["cycle"],
                &by_index(&all, 1)["assignee_name"]
            ),
            (&json!("weekly"), &json!("赵六"))
        );
        let third = by_index(&all, 2);
        assert_eq!(
            (&third["active"], &third["status"]),
            (&json!(false), &Value::Null)
        );
        assert_eq!(third["assignee_name"], "enterprise");
        let active = tasks(&app, &token, &format!("risk_point_id={rp}&active=true")).await;
        assert_eq!(active.len(), 2);
        // Without a cycle it cannot be switched back on.
        let (s, v) = app
            .send_json(
                Method::PUT,
                &token,
                &format!("/api/v1/check-tasks/{weekly}"),
                &json!({"active": true}),
            )
            .await;
        assert_eq!(s, 409, "{v}");
        // Switched off and on again.
        let monthly = id(&first);
        for (active, want) in [(false, Value::Null), (true, json!("due"))] {
            let (s, v) = app
                .send_json(
                    Method::PUT,
                    &token,
                    &format!("/api/v1/check-tasks/{monthly}"),
                    &json!({"active": active}),
                )
                .await;
            assert_eq!((s, &v["status"]), (200, &want), "{v}");
        }
        // Deleting the risk point removes its tasks.
        let (s, _) = app
            .send_json(
                Method::DELETE,
                &token,
                &format!("/api/v1/risk-points/{rp}"),
                &json!({}),
            )
            .await;
        assert_eq!(s, 204);
        assert!(tasks(&app, &token, "").await.is_empty());
        app.stop().await;
    });
}

#[tokio::test]
async fn a_check_is_recorded_once_per_period_within_scope() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let sup = app.login("supervisor").await;
        let own = create_point(
            &app,
            &sup,
            &point(&f.a1, json!([measure("巡检", Some("monthly"))]), "王五"),
        )
        .await;
        let other = create_point(
            &app,
            &sup,
            &point(&f.a2, json!([measure("巡检", Some("monthly"))]), "钱七"),
        )
        .await;
        let own_task = id(&tasks(&app, &sup, &format!("risk_point_id={own}")).await[0]);
        let other_task = id(&tasks(&app, &sup, &format!("risk_point_id={other}")).await[0]);

        let ent = app.login("enterprise").await;
        assert_eq!(tasks(&app, &ent, "").await.len(), 1);
        assert_eq!(
            app.get_json(&ent, &format!("/api/v1/check-tasks/{other_task}"))
                .await
                .0,
            404
        );
        let (s, _) = record(&app, &ent, &other_task, json!({"result": "ok"})).await;
        assert_eq!(s, 404);
        let leader = app.login("leader").await;
        let (s, _) = record(&app, &leader, &own_task, json!({"result": "ok"})).await;
        assert_eq!(s, 403);

        for (body, want) in [
            (json!({"result": "fine"}), "result"),
            (json!({"result": "findings"}), "findings"),
            (
                json!({"result": "ok", "hidden_danger": {"description": "x", "category": "fire", "level": "general"}}),
                "hidden_danger",
            ),
            (
                json!({"result": "ok", "checked_at": "yesterday"}),
                "checked_at",
            ),
            (
                json!({"result": "ok", "checked_at": "2001-01-01T00:00:00Z"}),
                "checked_at",
            ),
        ] {
            let (s, v) = record(&app, &ent, &own_task, body).await;
            assert_eq!((s, v["error"]["field"].as_str()), (422, Some(want)), "{v}");
        }
        let (s, rec) = record(&app, &ent, &own_task, json!({"result": "ok"})).await;
        assert_eq!(s, 201, "{rec}");
        assert_eq!(
            (&rec["result"], &rec["checker_name"]),
            (&json!("ok"), &json!("enterprise"))
        );
        assert!(rec["hidden_danger"].is_null());
        let (s, v) = record(&app, &ent, &own_task, json!({"result": "ok"})).await;
        assert_eq!(s, 409, "{v}");

        let (_, detail) = app
            .get_json(&ent, &format!("/api/v1/check-tasks/{own_task}"))
            .await;
        assert_eq!(detail["status"], "done");
        assert_eq!(detail["periods"][0]["status"], "done");
        assert_eq!(detail["periods"][0]["record"]["id"], rec["id"]);
        assert!(detail["last_checked_at"].is_string());
        let done = tasks(&app, &sup, "status=done").await;
        assert_eq!(
            done.iter().map(id).collect::<Vec<_>>(),
            vec![own_task.as_str()]
        );
        let due = tasks(&app, &sup, "status=due").await;
        assert_eq!(
            due.iter().map(id).collect::<Vec<_>>(),
            vec![other_task.as_str()]
        );
        let (s, _) = app.get_json(&sup, "/api/v1/check-tasks?status=late").await;
        assert_eq!(s, 422);

        // The town records for an enterprise of its town (grid patrol); an inactive task refuses.
        let town = app.login("town").await;
        let (s, v) = record(&app, &town, &other_task, json!({"result": "ok"})).await;
        assert_eq!(s, 201, "{v}");
        let (s, _) = app
            .send_json(
                Method::PUT,
                &sup,
                &format!("/api/v1/check-tasks/{own_task}"),
                &json!({"active": false}),
            )
            .await;
        assert_eq!(s, 200);
        let n: i64 = t
            .db
            .fetch_scalar(&yingji::db::Sql::new(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE entity IN ('check_record', 'check_task')",
            ))
            .await
            .expect("count");
        assert_eq!(n, 3);
        app.stop().await;
    });
}

#[test]
fn periods_before_now_without_a_record_are_missed_and_the_current_one_is_due() {
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).expect("date");
    let at = |d: u32, h: u32| shanghai_ms(day(d), NaiveTime::from_hms_opt(h, 0, 0).expect("time"));
    // Weekly from Monday 2 November 10:00; the week of the 9th is recorded; now is Wednesday 25th.
    let recorded: HashSet<i64> = [at(9, 0)].into_iter().collect();
    let got = checks::period_statuses(Cycle::Weekly, at(2, 10), &recorded, at(25, 8), 12);
    let want = [
        (at(2, 0), at(9, 0), PeriodStatus::Missed),
        (at(9, 0), at(16, 0), PeriodStatus::Done),
        (at(16, 0), at(23, 0), PeriodStatus::Missed),
        (at(23, 0), at(30, 0), PeriodStatus::Due),
    ];
    assert_eq!(got, want);
    // Records older than the twelve recent periods of the cycle are not read.
    assert_eq!(
        checks::recent_since(Cycle::Weekly, at(25, 8)),
        at(23, 0) - 11 * 7 * DAY
    );
    assert_eq!(
        checks::recent_since(Cycle::Monthly, at(25, 8)),
        shanghai_ms(
            NaiveDate::from_ymd_opt(2025, 12, 1).expect("date"),
            NaiveTime::MIN
        )
    );
    // At the very end of a week it is missed, a millisecond before it is still due.
    let got = checks::period_statuses(Cycle::Weekly, at(2, 10), &recorded, at(30, 0) - 1, 12);
    assert_eq!(got.last().map(|p| p.2), Some(PeriodStatus::Due));
    let got = checks::period_statuses(Cycle::Weekly, at(2, 10), &recorded, at(30, 0), 2);
    assert_eq!(
        got.iter().map(|p| p.2).collect::<Vec<_>>(),
        [PeriodStatus::Missed, PeriodStatus::Due]
    );
}

#[tokio::test]
async fn missed_periods_are_found_with_explicit_times() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let sup = app.login("supervisor").await;
        let rp = create_point(
            &app,
            &sup,
            &point(&f.a1, json!([measure("巡检", Some("daily"))]), "王五"),
        )
        .await;
        let task = id(&tasks(&app, &sup, &format!("risk_point_id={rp}")).await[0]);
        let t0: i64 =
            t.db.fetch_scalar(
                &yingji::db::Sql::new("SELECT starts_at FROM check_tasks WHERE id = $1")
                    .bind(task.as_str()),
            )
            .await
            .expect("starts_at");
        let statuses =
            |d: &checks::CheckTaskDetail| d.periods.iter().map(|p| p.status).collect::<Vec<_>>();
        let detail = checks::detail(&t.db, &task, t0 + 3 * DAY)
            .await
            .expect("detail")
            .expect("task");
        use PeriodStatus::*;
        assert_eq!(statuses(&detail), [Due, Missed, Missed, Missed]);
        assert_eq!(detail.task.missed, 3);

        let checker = Checker {
            actor: yingji::audit::Actor {
                user_id: None,
                username: "test".into(),
            },
            name: "巡检员".into(),
        };
        let rec = NewRecord {
            result: "ok".into(),
            findings: String::new(),
            checked_at: None,
        };
        let mut tx = t.db.begin().await.expect("begin");
        checks::insert_record(&mut tx, &task, &rec, None, &checker, t0 + DAY)
            .await
            .expect("record");
        tx.commit().await.expect("commit");
        let mut tx = t.db.begin().await.expect("begin");
        let again = checks::insert_record(&mut tx, &task, &rec, None, &checker, t0 + DAY).await;
        assert!(
            matches!(again, Err(yingji::error::ApiError::Conflict { .. })),
            "{again:?}"
        );
        drop(tx);

        let detail = checks::detail(&t.db, &task, t0 + 3 * DAY)
            .await
            .expect("detail")
            .expect("task");
        assert_eq!(statuses(&detail), [Due, Missed, Done, Missed]);
        assert_eq!(
            detail.periods[2]
                .record
                .as_ref()
                .map(|r| r.checker_name.as_str()),
            Some("巡检员")
        );

        let page = Paging {
            limit: 50,
            offset: 0,
        };
        let find = |status| Filter {
            risk_point_id: Some(rp.clone()),
            status: Some(status),
            ..Filter::default()
        };
        for (now, status, n) in [
            (t0, Due, 1),
            (t0, Missed, 0),
            (t0 + DAY, Done, 1),
            (t0 + DAY, Missed, 1),
            (t0 + 3 * DAY, Missed, 1),
            (t0 + 3 * DAY, Done, 0),
        ] {
            let (items, total) = checks::list(&t.db, &Scope::District, &find(status), page, now)
                .await
                .expect("list");
            assert_eq!(
                (items.len(), total),
                (n, n as i64),
                "{status:?} at +{}",
                (now - t0) / DAY
            );
        }
        app.stop().await;
    });
}

#[tokio::test]
async fn findings_report_a_linked_hidden_danger_in_the_same_transaction() {
    each_backend!(|t| {
        let f = common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let ent = app.login("enterprise").await;
        let rp = create_point(
            &app,
            &ent,
            &point(&f.a1, json!([measure("巡检", Some("daily"))]), "王五"),
        )
        .await;
        let task = id(&tasks(&app, &ent, &format!("risk_point_id={rp}")).await[0]);

        // An invalid hidden danger: nothing is stored, neither the record nor the danger.
        let (s, v) = record(
            &app,
            &ent,
            &task,
            json!({"result": "findings", "findings": "压力表失效",
                   "hidden_danger": {"description": "压力表失效", "category": "luck", "level": "general"}}),
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (422, Some("hidden_danger.category")),
            "{v}"
        );
        let (s, v) = record(
            &app,
            &ent,
            &task,
            json!({"result": "findings", "findings": "压力表失效",
                   "hidden_danger": {"enterprise_id": f.a2, "description": "压力表失效", "category": "equipment", "level": "general"}}),
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (422, Some("hidden_danger.enterprise_id")),
            "{v}"
        );
        let count = |sql: &'static str| {
            let db = t.db.clone();
            async move {
                db.fetch_scalar::<i64>(&yingji::db::Sql::new(sql))
                    .await
                    .expect("count")
            }
        };
        assert_eq!(
            count("SELECT CAST(COUNT(*) AS BIGINT) FROM check_records").await,
            0
        );
        assert_eq!(
            count("SELECT CAST(COUNT(*) AS BIGINT) FROM hidden_dangers").await,
            0
        );

        let (s, rec) = record(
            &app,
            &ent,
            &task,
            json!({"result": "findings", "findings": "压力表失效",
                   "hidden_danger": {"description": "1#储罐压力表失效", "category": "equipment", "level": "general",
                                     "location": "罐区"}}),
        )
        .await;
        assert_eq!(s, 201, "{rec}");
        let hd = rec["hidden_danger"]["id"]
            .as_str()
            .expect("hidden danger")
            .to_string();
        assert_eq!(rec["hidden_danger_id"], hd.as_str());
        let (s, got) = app
            .get_json(&ent, &format!("/api/v1/hidden-dangers/{hd}"))
            .await;
        assert_eq!(s, 200);
        assert_eq!(
            (
                &got["source"],
                &got["risk_point_id"],
                &got["enterprise_id"],
                &got["state"]
            ),
            (
                &json!("self_check"),
                &json!(rp),
                &json!(f.a1),
                &json!("reported")
            )
        );
        let linked: (Option<String>,) =
            t.db.fetch_optional(
                &yingji::db::Sql::new(
                    "SELECT hidden_danger_id FROM check_records WHERE task_id = $1",
                )
                .bind(task.as_str()),
            )
            .await
            .expect("query")
            .expect("record");
        assert_eq!(linked.0.as_deref(), Some(hd.as_str()));
        assert_eq!(
            count("SELECT CAST(COUNT(*) AS BIGINT) FROM hidden_dangers").await,
            1
        );
        app.stop().await;
    });
}
