//! Hidden-danger statistics and the monthly self-check report, on every backend, against a
//! hand-computed fixture written straight into the tables (to choose every time).
//!
//! The fixture, found times in UTC (Asia/Shanghai is UTC+8):
//!
//! | # | enterprise | found (Shanghai day) | level | state | deadline | closed | overdue |
//! |---|---|---|---|---|---|---|---|
//! | 1 | a1 (town A, C) | 2025-03-31T15:59:59.999Z (03-31) | general | closed | 04-10 | 04-05 | no |
//! | 2 | a1 | 2025-03-31T16:00:00Z (04-01) | major | closed | 04-02 | 04-03 | yes |
//! | 3 | a2 (town A, G) | 2025-04-15T02:00Z (04-15) | general | rectifying | 04-20 | — | yes (open) |
//! | 4 | a2 | 2025-04-15T03:00Z (04-15) | major | reported | — | — | no |
//! | 5 | b1 (town B, C) | 2025-05-01T01:00Z (05-01) | general | closed | 05-10 | 05-09 | no |
//! | 6 | b1 | 2024-12-31T17:00Z (2025-01-01) | general | awaiting_acceptance | 2099 | — | no |
//! | 7 | a1 | 2025-04-20T02:00Z (04-20) | general | rectifying | 2099 | — | no |

mod common;

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::{NaiveDate, NaiveTime};
use serde_json::{Value, json};
use yingji::db::{Db, Sql};

fn ms(rfc: &str) -> i64 {
    yingji::time::parse_time(rfc).expect("time")
}

fn shanghai_midnight(day: &str) -> i64 {
    yingji::dualprev::rules::shanghai_ms(
        NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("day"),
        NaiveTime::MIN,
    )
}

#[allow(clippy::too_many_arguments)]
async fn add_hd(
    db: &Db,
    id: &str,
    enterprise: &str,
    town: &str,
    found: &str,
    level: &str,
    state: &str,
    deadline: Option<&str>,
    closed: Option<&str>,
) {
    db.execute(
        &Sql::new(
            "INSERT INTO hidden_dangers (id, enterprise_id, town_code, description, source, category, level, found_by, \
             found_at, state, deadline, closed_at, responsible_person, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'self_check', 'fire', $5, '赵六', $6, $7, $8, $9, '钱七', $6, $6)",
        )
        .bind(id)
        .bind(enterprise)
        .bind(town)
        .bind(format!("隐患{id}"))
        .bind(level)
        .bind(ms(found))
        .bind(state)
        .bind(deadline.map(ms))
        .bind(closed.map(ms)),
    )
    .await
    .expect("hidden danger");
}

async fn fixture(db: &Db) -> common::Fixture {
    let f = common::seed_fixture(db).await;
    db.execute(
        &Sql::new(
            "UPDATE enterprises SET industry_section = 'G', industry_division = NULL WHERE id = $1",
        )
        .bind(f.a2.as_str()),
    )
    .await
    .expect("industry");
    let (a, b) = (common::TOWN_A, common::TOWN_B);
    let far = Some("2099-01-01T00:00:00Z");
    for (id, e, town, found, level, state, deadline, closed) in [
        (
            "hd1",
            &f.a1,
            a,
            "2025-03-31T15:59:59.999Z",
            "general",
            "closed",
            Some("2025-04-10T00:00:00Z"),
            Some("2025-04-05T00:00:00Z"),
        ),
        (
            "hd2",
            &f.a1,
            a,
            "2025-03-31T16:00:00Z",
            "major",
            "closed",
            Some("2025-04-02T00:00:00Z"),
            Some("2025-04-03T00:00:00Z"),
        ),
        (
            "hd3",
            &f.a2,
            a,
            "2025-04-15T02:00:00Z",
            "general",
            "rectifying",
            Some("2025-04-20T00:00:00Z"),
            None,
        ),
        (
            "hd4",
            &f.a2,
            a,
            "2025-04-15T03:00:00Z",
            "major",
            "reported",
            None,
            None,
        ),
        (
            "hd5",
            &f.b1,
            b,
            "2025-05-01T01:00:00Z",
            "general",
            "closed",
            Some("2025-05-10T00:00:00Z"),
            Some("2025-05-09T00:00:00Z"),
        ),
        (
            "hd6",
            &f.b1,
            b,
            "2024-12-31T17:00:00Z",
            "general",
            "awaiting_acceptance",
            far,
            None,
        ),
        (
            "hd7",
            &f.a1,
            a,
            "2025-04-20T02:00:00Z",
            "general",
            "rectifying",
            far,
            None,
        ),
    ] {
        add_hd(db, id, e, town, found, level, state, deadline, closed).await;
    }
    f
}

/// `(key, period, found, major, closed, overdue, rate)` of each row.
type Cell = (String, String, i64, i64, i64, i64, Option<f64>);

fn cells(v: &Value) -> Vec<Cell> {
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| {
            (
                r["key"].as_str().expect("key").to_string(),
                r["period"].as_str().expect("period").to_string(),
                r["found"].as_i64().expect("found"),
                r["major"].as_i64().expect("major"),
                r["closed"].as_i64().expect("closed"),
                r["overdue"].as_i64().expect("overdue"),
                r["rectification_rate"].as_f64(),
            )
        })
        .collect()
}

fn cell(key: &str, period: &str, n: [i64; 4], rate: Option<f64>) -> Cell {
    (key.into(), period.into(), n[0], n[1], n[2], n[3], rate)
}

#[tokio::test]
async fn statistics_per_town_industry_and_enterprise_match_the_hand_counts() {
    each_backend!(|t| {
        let f = fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let sup = app.login("supervisor").await;
        let (a, b) = (common::TOWN_A, common::TOWN_B);

        // Per town and month: the Shanghai-midnight pair splits between March and April.
        let (s, v) = app
            .get_json(
                &sup,
                "/api/v1/hidden-dangers/stats?group=town&period=month&from=2025-01&to=2025-05",
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["periods"],
            json!(["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"])
        );
        assert_eq!(
            (v["from"].as_str(), v["to"].as_str()),
            (Some("2025-01-01"), Some("2025-05-31"))
        );
        assert_eq!(
            cells(&v),
            vec![
                cell(a, "2025-03", [1, 0, 1, 0], Some(1.0)),
                cell(a, "2025-04", [4, 2, 1, 2], Some(0.25)),
                cell(b, "2025-01", [1, 0, 0, 0], Some(0.0)),
                cell(b, "2025-05", [1, 0, 1, 0], Some(1.0)),
            ]
        );
        assert_eq!(v["items"][0]["name"], "杨村街道");
        let totals = v["totals"].as_array().expect("totals");
        assert_eq!(totals.len(), 5);
        assert_eq!(totals[1]["found"], 0);
        assert_eq!(totals[1]["rectification_rate"], Value::Null);
        assert_eq!(totals[3]["found"], 4);

        // Per industry and year.
        let (_, v) = app
            .get_json(
                &sup,
                "/api/v1/hidden-dangers/stats?group=industry&period=year&from=2025&to=2025",
            )
            .await;
        assert_eq!(
            cells(&v),
            vec![
                cell("C", "2025", [5, 1, 3, 1], Some(0.6)),
                cell("G", "2025", [2, 1, 0, 1], Some(0.0)),
            ]
        );
        assert_eq!(v["items"][0]["name"], "制造业");

        // Per enterprise and day, across the edge.
        let (_, v) = app
            .get_json(
                &sup,
                "/api/v1/hidden-dangers/stats?group=enterprise&period=day&from=2025-03-31&to=2025-04-01",
            )
            .await;
        assert_eq!(
            cells(&v),
            vec![
                cell(&f.a1, "2025-03-31", [1, 0, 1, 0], Some(1.0)),
                cell(&f.a1, "2025-04-01", [1, 1, 1, 1], Some(1.0)),
            ]
        );
        assert_eq!(v["items"][0]["name"], "甲一化工有限公司");
        let (_, v) = app
            .get_json(
                &sup,
                "/api/v1/hidden-dangers/stats?group=enterprise&period=day&from=2025-04-01&to=2025-04-01",
            )
            .await;
        assert_eq!(
            cells(&v),
            vec![cell(&f.a1, "2025-04-01", [1, 1, 1, 1], Some(1.0))]
        );

        // The dashboard's summary.
        let (s, v) = app
            .get_json(
                &sup,
                "/api/v1/hidden-dangers/stats/summary?from=2025-01-01&to=2025-12-31",
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            (
                v["found"].as_i64(),
                v["major"].as_i64(),
                v["closed"].as_i64(),
                v["overdue"].as_i64()
            ),
            (Some(7), Some(2), Some(3), Some(2))
        );
        assert_eq!(v["rectification_rate"].as_f64(), Some(3.0 / 7.0));
        app.stop().await;
    });
}

#[tokio::test]
async fn statistics_keep_to_scope_and_refuse_bad_parameters() {
    each_backend!(|t| {
        let f = fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let q = "/api/v1/hidden-dangers/stats?group=enterprise&period=year&from=2025&to=2025";
        let town = app.login("town").await;
        let (_, v) = app.get_json(&town, q).await;
        let keys: Vec<String> = cells(&v).into_iter().map(|c| c.0).collect();
        let mut expected = vec![f.a1.clone(), f.a2.clone()];
        expected.sort();
        assert_eq!(keys, expected);
        let ent = app.login("enterprise").await;
        let (_, v) = app.get_json(&ent, q).await;
        assert_eq!(
            cells(&v),
            vec![cell(&f.a1, "2025", [3, 1, 2, 1], Some(2.0 / 3.0))]
        );
        let (_, v) = app
            .get_json(
                &ent,
                "/api/v1/hidden-dangers/stats/summary?from=2025&to=2025",
            )
            .await;
        assert_eq!(v["found"], 3);

        let sup = app.login("supervisor").await;
        for (query, field) in [
            ("group=street", "group"),
            ("period=week", "period"),
            ("from=2025-02-30", "from"),
            ("to=soon", "to"),
            ("from=2025-05-01&to=2025-04-01", "to"),
            ("period=day&from=2024-01-01&to=2025-12-31", "from"),
        ] {
            let (s, v) = app
                .get_json(&sup, &format!("/api/v1/hidden-dangers/stats?{query}"))
                .await;
            assert_eq!(s, 422, "{query}: {v}");
            assert_eq!(v["error"]["field"], field, "{query}");
        }
        // 400 days is allowed.
        let (s, v) = app
            .get_json(
                &sup,
                "/api/v1/hidden-dangers/stats?period=day&from=2025-01-01&to=2026-02-04",
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["periods"].as_array().expect("periods").len(), 400);
        app.stop().await;
    });
}

#[tokio::test]
async fn the_stats_route_is_not_taken_for_a_hidden_danger_id() {
    each_backend!(|t| {
        fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let sup = app.login("supervisor").await;
        let (s, v) = app.get_json(&sup, "/api/v1/hidden-dangers/stats").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["group"], "town");
        assert_eq!(v["period"], "month");
        assert_eq!(v["periods"].as_array().expect("periods").len(), 12);
        let (s, v) = app
            .get_json(&sup, "/api/v1/hidden-dangers/stats/summary")
            .await;
        assert_eq!(s, 200, "{v}");
        assert!(v["found"].is_i64());
        // The id route still answers for a real id.
        let (s, v) = app.get_json(&sup, "/api/v1/hidden-dangers/hd1").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["id"], "hd1");
        app.stop().await;
    });
}

/// A risk point of a1 with a weekly and a monthly check task from 2025, and checks recorded
/// for the weeks of 31 March and 14 April and for April.
async fn checks(db: &Db, f: &common::Fixture) {
    let a = common::TOWN_A;
    db.execute(
        &Sql::new(
            "INSERT INTO risk_points (id, enterprise_id, town_code, name, kind, control_level, responsible_person, \
             created_at, updated_at) VALUES ('rp1', $1, $2, '液氨储罐区', 'place', 'company', '孙八', 0, 0)",
        )
        .bind(f.a1.as_str())
        .bind(a),
    )
    .await
    .expect("risk point");
    let start = shanghai_midnight("2025-01-01");
    for (id, index, cycle, content) in [
        ("ct1", 0, "weekly", "检查储罐液位计与紧急切断阀"),
        ("ct2", 1, "monthly", "检查消防设施"),
    ] {
        db.execute(
            &Sql::new(
                "INSERT INTO check_tasks (id, risk_point_id, enterprise_id, town_code, measure_index, content, cycle, \
                 assignee_name, starts_at, active, created_at, updated_at) \
                 VALUES ($1, 'rp1', $2, $3, $4, $5, $6, '孙八', $7, $8, $7, $7)",
            )
            .bind(id)
            .bind(f.a1.as_str())
            .bind(a)
            .bind(index as i64)
            .bind(content)
            .bind(cycle)
            .bind(start)
            .bind(true),
        )
        .await
        .expect("task");
    }
    for (id, task, period) in [
        ("cr1", "ct1", "2025-03-31"),
        ("cr2", "ct1", "2025-04-14"),
        ("cr3", "ct2", "2025-04-01"),
    ] {
        let p = shanghai_midnight(period);
        db.execute(
            &Sql::new(
                "INSERT INTO check_records (id, task_id, enterprise_id, town_code, period_start, checked_at, \
                 checker_name, result) VALUES ($1, $2, $3, $4, $5, $6, '孙八', 'ok')",
            )
            .bind(id)
            .bind(task)
            .bind(f.a1.as_str())
            .bind(a)
            .bind(p)
            .bind(p + 3_600_000),
        )
        .await
        .expect("record");
    }
}

#[tokio::test]
async fn the_monthly_self_check_report_counts_checks_and_hidden_dangers_as_json_and_xlsx() {
    each_backend!(|t| {
        let f = fixture(&t.db).await;
        checks(&t.db, &f).await;
        let app = common::TestApp::spawn(&t.db).await;
        let ent = app.login("enterprise").await;
        let path = format!(
            "/api/v1/enterprises/{}/self-check-report?month=2025-04",
            f.a1
        );
        let (s, r) = app.get_json(&ent, &path).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["enterprise"]["name"], "甲一化工有限公司");
        assert_eq!(r["enterprise"]["town_name"], "杨村街道");
        assert_eq!(r["month"], "2025-04");
        assert_eq!(
            r["generated_at_local"].as_str().map(str::len),
            Some("2025-04-01 00:00:00".len())
        );
        // Weeks ending 7, 14, 21, 28 April (two recorded) and April itself (recorded).
        assert_eq!(
            r["checks"],
            json!({"periods": 5, "done": 3, "due": 0, "missed": 2})
        );
        assert_eq!(r["check_tasks"].as_array().expect("tasks").len(), 2);
        assert_eq!(
            r["hidden_danger_counts"],
            json!({"found": 2, "general": 1, "major": 1, "closed": 1, "open": 1, "overdue": 1})
        );
        let ids: Vec<&str> = r["hidden_dangers"]
            .as_array()
            .expect("list")
            .iter()
            .map(|h| h["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, vec!["hd2", "hd7"]);
        assert_eq!(r["hidden_dangers"][0]["overdue"], true);
        assert_eq!(r["hidden_dangers"][0]["state"], "closed");
        assert_eq!(
            r["hidden_dangers"][0]["closed_at"],
            "2025-04-03T00:00:00.000Z"
        );

        // March holds the general one found a millisecond before Shanghai midnight.
        let (_, m) = app
            .get_json(
                &ent,
                &format!(
                    "/api/v1/enterprises/{}/self-check-report?month=2025-03",
                    f.a1
                ),
            )
            .await;
        assert_eq!(m["hidden_danger_counts"]["found"], 1);
        assert_eq!(m["hidden_dangers"][0]["id"], "hd1");

        let resp = app.get(&ent, &format!("{path}&format=xlsx")).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let disposition = resp.headers()["content-disposition"]
            .to_str()
            .expect("disposition")
            .to_string();
        assert!(
            disposition.starts_with("attachment; filename="),
            "{disposition}"
        );
        assert!(disposition.contains("2025-04.xlsx"), "{disposition}");
        let bytes = resp.bytes().await.expect("bytes");
        let mut wb: Xlsx<_> =
            calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("workbook");
        assert_eq!(wb.sheet_names(), vec!["汇总", "隐患清单", "排查任务"]);
        let summary = wb.worksheet_range("汇总").expect("summary");
        let value_of = |label: &str| {
            summary
                .rows()
                .find(|row| row.first() == Some(&Data::String(label.into())))
                .and_then(|row| row.get(1).cloned())
        };
        assert_eq!(
            value_of("企业名称"),
            Some(Data::String("甲一化工有限公司".into()))
        );
        assert_eq!(value_of("发现隐患"), Some(Data::Float(2.0)));
        assert_eq!(value_of("重大隐患"), Some(Data::Float(1.0)));
        assert_eq!(value_of("超期"), Some(Data::Float(1.0)));
        assert_eq!(value_of("漏检"), Some(Data::Float(2.0)));
        let list = wb.worksheet_range("隐患清单").expect("list");
        assert_eq!(list.height(), 3);
        assert_eq!(list.get((0, 7)), Some(&Data::String("隐患描述".into())));
        assert_eq!(list.get((1, 7)), Some(&Data::String("隐患hd2".into())));
        assert_eq!(list.get((1, 3)), Some(&Data::String("重大".into())));
        assert_eq!(
            list.get((1, 1)),
            Some(&Data::String("2025-04-01 00:00:00".into()))
        );
        assert_eq!(list.get((1, 12)), Some(&Data::String("是".into())));
        let tasks = wb.worksheet_range("排查任务").expect("tasks");
        assert_eq!(tasks.height(), 3);

        // Scope and parameters.
        let (s, _) = app
            .get_json(
                &ent,
                &format!(
                    "/api/v1/enterprises/{}/self-check-report?month=2025-04",
                    f.a2
                ),
            )
            .await;
        assert_eq!(s, 404);
        let town = app.login("town").await;
        let (s, _) = app
            .get_json(
                &town,
                &format!(
                    "/api/v1/enterprises/{}/self-check-report?month=2025-04",
                    f.b1
                ),
            )
            .await;
        assert_eq!(s, 404);
        let (s, v) = app
            .get_json(
                &town,
                &format!(
                    "/api/v1/enterprises/{}/self-check-report?month=2025-4",
                    f.a1
                ),
            )
            .await;
        assert_eq!((s, v["error"]["field"].as_str()), (422, Some("month")));
        let (s, v) = app.get_json(&town, &format!("{path}&format=pdf")).await;
        assert_eq!((s, v["error"]["field"].as_str()), (422, Some("format")));
        app.stop().await;
    });
}
