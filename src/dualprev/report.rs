//! The monthly self-check report of an enterprise (企业隐患自查自报): its check tasks' periods
//! of the month (done, due, missed) and the hidden dangers found in the month with their
//! rectification, as JSON or as an XLSX workbook to print and file.
//!
//! The check periods are computed here from the `check_tasks` and `check_records` tables and
//! the period rules of `rules::Cycle`, so the report does not depend on the check-task routes.

use std::collections::HashSet;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::rules::{self, Cycle, HdLevel, HdState, PeriodStatus};
use crate::app::AppState;
use crate::auth::{CurrentUser, Permission};
use crate::db::{Db, DbError, Sql};
use crate::error::{ApiError, ErrorBody};

/// Done, due and missed periods of a check task (or of all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PeriodCounts {
    /// Periods of the month: done + due + missed.
    pub periods: i64,
    pub done: i64,
    /// Still running, nothing recorded yet.
    pub due: i64,
    /// Ended without a record.
    pub missed: i64,
}

impl PeriodCounts {
    fn add(&mut self, s: PeriodStatus) {
        self.periods += 1;
        match s {
            PeriodStatus::Done => self.done += 1,
            PeriodStatus::Due => self.due += 1,
            PeriodStatus::Missed => self.missed += 1,
        }
    }

    fn sum(&mut self, o: &PeriodCounts) {
        self.periods += o.periods;
        self.done += o.done;
        self.due += o.due;
        self.missed += o.missed;
    }
}

/// The periods a month's report holds for one task: those that **end** in the month (so each
/// period is reported in exactly one month: a weekly check in the month its week ends, a
/// quarterly one in the quarter's last month), that had begun by `now`, and that ended after
/// the task started. An inactive task keeps only the periods it has records for.
/// `recorded(period_start)` says whether a check was recorded for the period.
pub fn task_periods(
    cycle: Cycle,
    starts_at: i64,
    active: bool,
    month_start: i64,
    month_end: i64,
    now_ms: i64,
    recorded: impl Fn(i64) -> bool,
) -> PeriodCounts {
    let mut c = PeriodCounts::default();
    for (start, end) in cycle.periods(month_start, month_end - 1, 64) {
        if end > month_end || end <= month_start || start > now_ms || end <= starts_at {
            continue;
        }
        let done = recorded(start);
        if !active && !done {
            continue;
        }
        c.add(rules::period_status(end, done, now_ms));
    }
    c
}

/// The first day of a month given as `YYYY-MM`.
pub fn parse_month(v: &str) -> Option<NaiveDate> {
    let v = v.trim();
    let b = v.as_bytes();
    let shaped = b.len() == 7
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit());
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d").ok()
}

fn cycle_zh(c: Cycle) -> &'static str {
    match c {
        Cycle::Daily => "每日",
        Cycle::Weekly => "每周",
        Cycle::Monthly => "每月",
        Cycle::Quarterly => "每季度",
        Cycle::Yearly => "每年",
    }
}

fn state_zh(s: HdState) -> &'static str {
    match s {
        HdState::Reported => "已上报",
        HdState::Rectifying => "整改中",
        HdState::AwaitingAcceptance => "待验收",
        HdState::Closed => "已销号",
    }
}

fn label_zh(list: &[(&str, &str, &str)], key: &str) -> String {
    list.iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, _)| zh.to_string())
        .unwrap_or_else(|| key.to_string())
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReportEnterprise {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub town_code: String,
    pub town_name: String,
    pub industry_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReportTask {
    pub task_id: String,
    pub risk_point_id: String,
    pub risk_point_name: String,
    pub content: String,
    pub cycle: Cycle,
    pub assignee_name: String,
    pub active: bool,
    #[serde(flatten)]
    pub counts: PeriodCounts,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HiddenDangerCounts {
    /// Found in the month.
    pub found: i64,
    pub general: i64,
    pub major: i64,
    /// Of those, closed (rectified and accepted) by now.
    pub closed: i64,
    pub open: i64,
    /// Of those, closed after their deadline or open past it.
    pub overdue: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReportHiddenDanger {
    pub id: String,
    pub found_at: String,
    pub found_by: String,
    pub level: HdLevel,
    pub category: String,
    pub source: String,
    pub location: String,
    pub description: String,
    pub state: HdState,
    pub responsible_person: Option<String>,
    pub deadline: Option<String>,
    pub closed_at: Option<String>,
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SelfCheckReport {
    pub enterprise: ReportEnterprise,
    /// `YYYY-MM`.
    pub month: String,
    pub generated_at: String,
    /// `generated_at` in Asia/Shanghai, `YYYY-MM-DD HH:MM:SS`.
    pub generated_at_local: String,
    /// All check tasks' periods of the month.
    pub checks: PeriodCounts,
    pub check_tasks: Vec<ReportTask>,
    pub hidden_danger_counts: HiddenDangerCounts,
    /// The hidden dangers found in the month, oldest first.
    pub hidden_dangers: Vec<ReportHiddenDanger>,
}

#[derive(Debug, sqlx::FromRow)]
struct TaskRow {
    id: String,
    risk_point_id: String,
    risk_point_name: Option<String>,
    content: String,
    cycle: String,
    assignee_name: String,
    starts_at: i64,
    active: bool,
}

#[derive(Debug, sqlx::FromRow)]
struct HdRow {
    id: String,
    found_at: i64,
    found_by: String,
    level: String,
    category: String,
    source: String,
    location: String,
    description: String,
    state: String,
    responsible_person: Option<String>,
    deadline: Option<i64>,
    closed_at: Option<i64>,
}

/// Builds the report of `enterprise` for the month starting on `month`.
pub async fn build(
    db: &Db,
    enterprise: &crate::registry::store::Enterprise,
    month: NaiveDate,
    now_ms: i64,
) -> Result<SelfCheckReport, DbError> {
    let month_start = rules::shanghai_ms(month, NaiveTime::MIN);
    let next = Cycle::Monthly.next_period_day(month);
    let month_end = rules::shanghai_ms(next, NaiveTime::MIN);

    let tasks: Vec<TaskRow> = db
        .fetch_all(
            &Sql::new(
                "SELECT t.id, t.risk_point_id, rp.name AS risk_point_name, t.content, t.cycle, t.assignee_name, \
                 t.starts_at, t.active FROM check_tasks t LEFT JOIN risk_points rp ON rp.id = t.risk_point_id \
                 WHERE t.enterprise_id = $1 ORDER BY rp.name, t.measure_index, t.id",
            )
            .bind(enterprise.id.as_str()),
        )
        .await?;
    // A period ending in the month began at most a year before it (a yearly check).
    let records: Vec<(String, i64)> = db
        .fetch_all(
            &Sql::new(
                "SELECT task_id, period_start FROM check_records \
                 WHERE enterprise_id = $1 AND period_start >= $2 AND period_start < $3",
            )
            .bind(enterprise.id.as_str())
            .bind(rules::shanghai_ms(
                month - Duration::days(370),
                NaiveTime::MIN,
            ))
            .bind(month_end),
        )
        .await?;
    let recorded: HashSet<(String, i64)> = records.into_iter().collect();
    let mut checks = PeriodCounts::default();
    let mut check_tasks = Vec::new();
    for t in tasks {
        let Some(cycle) = Cycle::parse(&t.cycle) else {
            continue;
        };
        let counts = task_periods(
            cycle,
            t.starts_at,
            t.active,
            month_start,
            month_end,
            now_ms,
            |start| recorded.contains(&(t.id.clone(), start)),
        );
        if counts.periods == 0 {
            continue;
        }
        checks.sum(&counts);
        check_tasks.push(ReportTask {
            task_id: t.id,
            risk_point_id: t.risk_point_id,
            risk_point_name: t.risk_point_name.unwrap_or_default(),
            content: t.content,
            cycle,
            assignee_name: t.assignee_name,
            active: t.active,
            counts,
        });
    }

    let rows: Vec<HdRow> = db
        .fetch_all(
            &Sql::new(
                "SELECT id, found_at, found_by, level, category, source, location, description, state, \
                 responsible_person, deadline, closed_at FROM hidden_dangers \
                 WHERE enterprise_id = $1 AND found_at >= $2 AND found_at < $3 ORDER BY found_at, id",
            )
            .bind(enterprise.id.as_str())
            .bind(month_start)
            .bind(month_end),
        )
        .await?;
    let mut hd = HiddenDangerCounts::default();
    let hidden_dangers = rows
        .into_iter()
        .map(|r| {
            let level = HdLevel::parse(&r.level).unwrap_or(HdLevel::General);
            let state = HdState::parse(&r.state).unwrap_or(HdState::Reported);
            let closed = state == HdState::Closed;
            let overdue = rules::was_overdue(
                r.deadline,
                closed.then(|| r.closed_at.unwrap_or(i64::MIN)),
                now_ms,
            );
            hd.found += 1;
            match level {
                HdLevel::General => hd.general += 1,
                HdLevel::Major => hd.major += 1,
            }
            if closed {
                hd.closed += 1;
            } else {
                hd.open += 1;
            }
            hd.overdue += i64::from(overdue);
            ReportHiddenDanger {
                id: r.id,
                found_at: crate::time::rfc3339(r.found_at),
                found_by: r.found_by,
                level,
                category: r.category,
                source: r.source,
                location: r.location,
                description: r.description,
                state,
                responsible_person: r.responsible_person,
                deadline: r.deadline.map(crate::time::rfc3339),
                closed_at: r.closed_at.map(crate::time::rfc3339),
                overdue,
            }
        })
        .collect();

    Ok(SelfCheckReport {
        enterprise: ReportEnterprise {
            id: enterprise.id.clone(),
            name: enterprise.name.clone(),
            credit_code: enterprise.credit_code.clone(),
            town_code: enterprise.town_code.clone(),
            town_name: enterprise.town_name.clone(),
            industry_name: enterprise.industry_name.clone(),
        },
        month: month.format("%Y-%m").to_string(),
        generated_at: crate::time::rfc3339(now_ms),
        generated_at_local: crate::time::shanghai(now_ms),
        checks,
        check_tasks,
        hidden_danger_counts: hd,
        hidden_dangers,
    })
}

/// A time for people: Asia/Shanghai, or empty.
fn local(rfc: &Option<String>) -> String {
    rfc.as_deref()
        .and_then(crate::time::parse_time)
        .map(crate::time::shanghai)
        .unwrap_or_default()
}

/// The report as a workbook: a summary sheet, the hidden-danger list and the check tasks.
pub fn xlsx(r: &SelfCheckReport) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();

    let ws = wb.add_worksheet();
    ws.set_name("汇总")?;
    ws.write_string_with_format(0, 0, "企业隐患排查治理月度自查自报表", &bold)?;
    ws.set_column_width(0, 22)?;
    ws.set_column_width(1, 40)?;
    let text_rows: [(&str, String); 6] = [
        ("企业名称", r.enterprise.name.clone()),
        ("统一社会信用代码", r.enterprise.credit_code.clone()),
        ("所属镇街", r.enterprise.town_name.clone()),
        ("所属行业", r.enterprise.industry_name.clone()),
        ("报告月份", r.month.clone()),
        ("生成时间", r.generated_at_local.clone()),
    ];
    let mut row = 2u32;
    for (k, v) in &text_rows {
        ws.write_string_with_format(row, 0, *k, &bold)?;
        ws.write_string(row, 1, v)?;
        row += 1;
    }
    row += 1;
    let c = &r.checks;
    let h = &r.hidden_danger_counts;
    let number_rows: [(&str, i64); 11] = [
        ("排查任务数", r.check_tasks.len() as i64),
        ("应排查周期数", c.periods),
        ("已排查", c.done),
        ("待排查", c.due),
        ("漏检", c.missed),
        ("发现隐患", h.found),
        ("一般隐患", h.general),
        ("重大隐患", h.major),
        ("已整改销号", h.closed),
        ("未销号", h.open),
        ("超期", h.overdue),
    ];
    for (k, v) in number_rows {
        ws.write_string_with_format(row, 0, k, &bold)?;
        ws.write_number(row, 1, v as f64)?;
        row += 1;
    }

    let ws = wb.add_worksheet();
    ws.set_name("隐患清单")?;
    let headers = [
        "序号",
        "发现时间",
        "发现人",
        "隐患等级",
        "隐患类别",
        "来源",
        "位置",
        "隐患描述",
        "状态",
        "整改责任人",
        "整改期限",
        "销号时间",
        "是否超期",
    ];
    for (i, t) in headers.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *t, &bold)?;
        ws.set_column_width(i as u16, if *t == "隐患描述" { 40 } else { 16 })?;
    }
    for (i, d) in r.hidden_dangers.iter().enumerate() {
        let row = i as u32 + 1;
        let cells = [
            (i + 1).to_string(),
            crate::time::shanghai(crate::time::parse_time(&d.found_at).unwrap_or_default()),
            d.found_by.clone(),
            match d.level {
                HdLevel::General => "一般".into(),
                HdLevel::Major => "重大".into(),
            },
            label_zh(&rules::CATEGORIES, &d.category),
            label_zh(&rules::SOURCES, &d.source),
            d.location.clone(),
            d.description.clone(),
            state_zh(d.state).to_string(),
            d.responsible_person.clone().unwrap_or_default(),
            local(&d.deadline),
            local(&d.closed_at),
            if d.overdue { "是" } else { "否" }.to_string(),
        ];
        for (col, v) in cells.iter().enumerate() {
            ws.write_string(row, col as u16, v)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;

    let ws = wb.add_worksheet();
    ws.set_name("排查任务")?;
    let headers = [
        "风险点",
        "排查内容",
        "周期",
        "责任人",
        "应排查",
        "已排查",
        "待排查",
        "漏检",
    ];
    for (i, t) in headers.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *t, &bold)?;
        ws.set_column_width(i as u16, if *t == "排查内容" { 40 } else { 14 })?;
    }
    for (i, t) in r.check_tasks.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, &t.risk_point_name)?;
        ws.write_string(row, 1, &t.content)?;
        ws.write_string(row, 2, cycle_zh(t.cycle))?;
        ws.write_string(row, 3, &t.assignee_name)?;
        for (col, v) in [
            t.counts.periods,
            t.counts.done,
            t.counts.due,
            t.counts.missed,
        ]
        .into_iter()
        .enumerate()
        {
            ws.write_number(row, 4 + col as u16, v as f64)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    wb.save_to_buffer()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// `YYYY-MM` (Asia/Shanghai); default this month.
    pub month: Option<String>,
    /// `json` (default) or `xlsx`.
    pub format: Option<String>,
}

/// The enterprise's monthly self-check report (自查自报): check periods due, done and missed;
/// hidden dangers found in the month (general, major), closed, open and overdue, with the list.
/// `format=xlsx` gives a workbook (summary, hidden-danger list, check tasks).
#[utoipa::path(get, path = "/enterprises/{id}/self-check-report", tag = "dualprev",
    params(("id" = String, Path), ReportParams),
    responses((status = 200, body = SelfCheckReport,
            description = "JSON, or with format=xlsx an XLSX attachment"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(p): Query<ReportParams>,
) -> Result<Response, ApiError> {
    user.require(Permission::RegistryRead)?;
    let enterprise = crate::registry::store::get_enterprise(&state.db, &id)
        .await?
        .filter(|e| user.scope().allows(&e.town_code, Some(&e.id)))
        .ok_or(ApiError::NotFound)?;
    let now = crate::db::now_ms();
    let month = match p.month.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Cycle::Monthly.period_start_day(rules::shanghai_day(now)),
        Some(m) => {
            parse_month(m).ok_or_else(|| ApiError::validation("month", "month must be YYYY-MM"))?
        }
    };
    let xlsx_wanted = match p.format.as_deref().map(str::trim).unwrap_or("json") {
        "" | "json" => false,
        "xlsx" => true,
        other => {
            return Err(ApiError::validation(
                "format",
                format!("unknown format {other}: use json or xlsx"),
            ));
        }
    };
    let r = build(&state.db, &enterprise, month, now).await?;
    if !xlsx_wanted {
        return Ok(Json(r).into_response());
    }
    let bytes = xlsx(&r).map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    // ASCII only: the credit code identifies the enterprise and needs no encoding.
    let file_name = format!(
        "self-check-report-{}-{}.xlsx",
        r.enterprise.credit_code, r.month
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn at(day: &str) -> i64 {
        rules::shanghai_ms(d(day), NaiveTime::MIN)
    }

    #[test]
    fn a_month_holds_the_periods_that_end_in_it() {
        let (m0, m1) = (at("2025-04-01"), at("2025-05-01"));
        let now = at("2025-06-01");
        let none = |_: i64| false;
        // Weeks of April 2025 end on 7, 14, 21 and 28 April; the week from 28 April ends in May.
        let weekly = task_periods(Cycle::Weekly, at("2025-01-01"), true, m0, m1, now, none);
        assert_eq!(weekly.periods, 4);
        assert_eq!(weekly.missed, 4);
        let daily = task_periods(Cycle::Daily, at("2025-01-01"), true, m0, m1, now, none);
        assert_eq!(daily.periods, 30);
        let monthly = task_periods(Cycle::Monthly, at("2025-01-01"), true, m0, m1, now, |s| {
            s == m0
        });
        assert_eq!((monthly.periods, monthly.done), (1, 1));
        // The second quarter ends in June, not April.
        let quarterly = task_periods(Cycle::Quarterly, at("2025-01-01"), true, m0, m1, now, none);
        assert_eq!(quarterly.periods, 0);
        let june = task_periods(
            Cycle::Quarterly,
            at("2025-01-01"),
            true,
            at("2025-06-01"),
            at("2025-07-01"),
            at("2025-08-01"),
            |s| s == m0,
        );
        assert_eq!((june.periods, june.done), (1, 1));
    }

    #[test]
    fn a_running_month_has_due_periods_and_none_not_yet_begun() {
        let (m0, m1) = (at("2025-04-01"), at("2025-05-01"));
        // Noon on 10 April: days 1–9 ended, the 10th is running, the rest have not begun.
        let now = at("2025-04-10") + 12 * 3_600_000;
        let c = task_periods(Cycle::Daily, at("2025-01-01"), true, m0, m1, now, |s| {
            s == at("2025-04-02")
        });
        assert_eq!(
            c,
            PeriodCounts {
                periods: 10,
                done: 1,
                due: 1,
                missed: 8
            }
        );
    }

    #[test]
    fn a_task_counts_from_its_start_and_an_inactive_one_only_where_recorded() {
        let (m0, m1) = (at("2025-04-01"), at("2025-05-01"));
        let now = at("2025-06-01");
        let c = task_periods(
            Cycle::Daily,
            at("2025-04-21") + 5_000,
            true,
            m0,
            m1,
            now,
            |_| false,
        );
        assert_eq!(c.periods, 10);
        let c = task_periods(Cycle::Daily, at("2025-01-01"), false, m0, m1, now, |s| {
            s == at("2025-04-03")
        });
        assert_eq!((c.periods, c.done), (1, 1));
    }

    #[test]
    fn months_are_yyyy_mm() {
        assert_eq!(parse_month("2025-04"), Some(d("2025-04-01")));
        assert_eq!(parse_month("2025-4"), None);
        assert_eq!(parse_month("2025-13"), None);
        assert_eq!(parse_month("2025-04-01"), None);
        assert_eq!(parse_month("25-4-01"), None);
    }
}
