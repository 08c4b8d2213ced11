//! Statistics of hidden dangers: found, major, closed, overdue and the rectification rate per
//! town, industry or enterprise and per Asia/Shanghai day, month or year. The rows are read
//! once and bucketed here, not with SQL date functions, which differ between SQLite and
//! PostgreSQL and know nothing of Asia/Shanghai.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::rules;
use crate::app::AppState;
use crate::auth::{CurrentUser, Permission, Scope};
use crate::db::{Db, DbError, Sql};
use crate::error::{ApiError, ErrorBody};

/// The most periods one query may span (a bit over a year of days).
pub const MAX_PERIODS: usize = 400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Town,
    Industry,
    Enterprise,
}

impl Group {
    pub fn parse(s: &str) -> Option<Group> {
        match s.trim() {
            "town" => Some(Group::Town),
            "industry" => Some(Group::Industry),
            "enterprise" => Some(Group::Enterprise),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Month,
    Year,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        match s.trim() {
            "day" => Some(Period::Day),
            "month" => Some(Period::Month),
            "year" => Some(Period::Year),
            _ => None,
        }
    }

    /// The period's label: `2026-03-01`, `2026-03` or `2026`.
    pub fn label(self, day: NaiveDate) -> String {
        match self {
            Period::Day => day.format("%Y-%m-%d").to_string(),
            Period::Month => day.format("%Y-%m").to_string(),
            Period::Year => day.format("%Y").to_string(),
        }
    }

    pub fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => day,
            Period::Month => day.with_day(1).unwrap_or(day),
            Period::Year => NaiveDate::from_ymd_opt(day.year(), 1, 1).unwrap_or(day),
        }
    }

    fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => start + Duration::days(1),
            Period::Month => start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(start + Duration::days(31)),
            Period::Year => start
                .checked_add_months(chrono::Months::new(12))
                .unwrap_or(start + Duration::days(366)),
        }
    }

    /// The default span ending on `today`: 30 days, 12 months or 5 years.
    pub fn default_from(self, today: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => today - Duration::days(29),
            Period::Month => self
                .start(today)
                .checked_sub_months(chrono::Months::new(11))
                .unwrap_or(today),
            Period::Year => NaiveDate::from_ymd_opt(today.year() - 4, 1, 1).unwrap_or(today),
        }
    }
}

/// A calendar bound: `YYYY-MM-DD`, `YYYY-MM` or `YYYY`. A `from` is the first day of what it
/// names, a `to` the last, so `from=2026-01&to=2026-03` is the whole first quarter.
pub fn parse_bound(v: &str, is_to: bool) -> Option<NaiveDate> {
    let v = v.trim();
    // chrono reads `26-1-1` as the year 26; only the full shapes are bounds.
    let shaped = |pattern: &str| {
        v.len() == pattern.len()
            && v.bytes().zip(pattern.bytes()).all(|(c, p)| {
                if p == b'd' {
                    c.is_ascii_digit()
                } else {
                    c == p
                }
            })
    };
    if shaped("dddd-dd-dd") {
        return NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
    }
    let (first, period) = if shaped("dddd-dd") {
        (
            NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d").ok()?,
            Period::Month,
        )
    } else if shaped("dddd") {
        (
            NaiveDate::parse_from_str(&format!("{v}-01-01"), "%Y-%m-%d").ok()?,
            Period::Year,
        )
    } else {
        return None;
    };
    Some(if is_to {
        period.next(first) - Duration::days(1)
    } else {
        first
    })
}

/// The labels of every period from the one holding `from` to the one holding `to`, or why
/// not: more than `cap` of them.
pub fn period_labels(
    period: Period,
    from: NaiveDate,
    to: NaiveDate,
    cap: usize,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut p = period.start(from);
    while p <= to {
        if out.len() == cap {
            return Err(format!(
                "the range spans more than {cap} periods; narrow from/to or use a longer period"
            ));
        }
        out.push(period.label(p));
        p = period.next(p);
    }
    Ok(out)
}

/// One hidden danger as the statistics see it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatRecord {
    pub key: String,
    pub name: String,
    pub major: bool,
    pub closed: bool,
    pub found_at: i64,
    pub deadline: Option<i64>,
    pub closed_at: Option<i64>,
}

/// Counts of hidden dangers found in a period (or a range).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    pub found: i64,
    pub major: i64,
    /// Of those found, closed now.
    pub closed: i64,
    /// Of those found, closed after their deadline or open past it.
    pub overdue: i64,
    /// closed / found; null when nothing was found.
    pub rectification_rate: Option<f64>,
}

impl Counts {
    fn add(&mut self, r: &StatRecord, now_ms: i64) {
        self.found += 1;
        self.major += i64::from(r.major);
        self.closed += i64::from(r.closed);
        // A closed record without its closing time is taken as closed in time.
        let closed_at = if r.closed {
            Some(r.closed_at.unwrap_or(i64::MIN))
        } else {
            None
        };
        self.overdue += i64::from(rules::was_overdue(r.deadline, closed_at, now_ms));
    }

    fn finish(mut self) -> Counts {
        self.rectification_rate = (self.found > 0).then(|| self.closed as f64 / self.found as f64);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatRow {
    /// Town code, GB/T 4754 section letter or enterprise id.
    pub key: String,
    pub name: String,
    /// `2026-03-01`, `2026-03` or `2026`.
    pub period: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PeriodTotal {
    pub period: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// Rows per group key and period (only where something was found), and totals per period
/// (every period of the range, zeros included).
pub fn aggregate(
    records: &[StatRecord],
    period: Period,
    labels: &[String],
    now_ms: i64,
) -> (Vec<StatRow>, Vec<PeriodTotal>) {
    let mut cells: BTreeMap<(String, String), (String, Counts)> = BTreeMap::new();
    let mut totals: BTreeMap<String, Counts> = labels
        .iter()
        .map(|l| (l.clone(), Counts::default()))
        .collect();
    for r in records {
        let label = period.label(rules::shanghai_day(r.found_at));
        let Some(total) = totals.get_mut(&label) else {
            continue;
        };
        total.add(r, now_ms);
        cells
            .entry((r.key.clone(), label))
            .or_insert_with(|| (r.name.clone(), Counts::default()))
            .1
            .add(r, now_ms);
    }
    let rows = cells
        .into_iter()
        .map(|((key, period), (name, c))| StatRow {
            key,
            name,
            period,
            counts: c.finish(),
        })
        .collect();
    let totals = totals
        .into_iter()
        .map(|(period, c)| PeriodTotal {
            period,
            counts: c.finish(),
        })
        .collect();
    (rows, totals)
}

/// All of `records` in one sum.
pub fn summarise(records: &[StatRecord], now_ms: i64) -> Counts {
    let mut c = Counts::default();
    for r in records {
        c.add(r, now_ms);
    }
    c.finish()
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    enterprise_id: String,
    enterprise_name: String,
    town_code: String,
    town_name: Option<String>,
    industry_section: String,
    level: String,
    state: String,
    found_at: i64,
    deadline: Option<i64>,
    closed_at: Option<i64>,
}

/// The hidden dangers in scope found in `[from_ms, to_ms)`, keyed by `group`.
pub async fn records(
    db: &Db,
    scope: &Scope,
    group: Group,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<StatRecord>, DbError> {
    let mut sql = Sql::new(
        "SELECT h.enterprise_id, e.name AS enterprise_name, h.town_code, u.name AS town_name, \
         e.industry_section, h.level, h.state, h.found_at, h.deadline, h.closed_at \
         FROM hidden_dangers h JOIN enterprises e ON e.id = h.enterprise_id \
         LEFT JOIN admin_units u ON u.code = h.town_code \
         WHERE h.found_at >= $1 AND h.found_at < $2",
    )
    .bind(from_ms)
    .bind(to_ms);
    scope.filter(&mut sql, "h.town_code", Some("h.enterprise_id"));
    let rows: Vec<Row> = db.fetch_all(&sql).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (key, name) = match group {
                Group::Town => (r.town_code, r.town_name.unwrap_or_default()),
                Group::Industry => {
                    let name = crate::registry::industry::industry_name(&r.industry_section, None)
                        .unwrap_or_default();
                    (r.industry_section, name)
                }
                Group::Enterprise => (r.enterprise_id, r.enterprise_name),
            };
            StatRecord {
                key,
                name,
                major: r.level == "major",
                closed: r.state == "closed",
                found_at: r.found_at,
                deadline: r.deadline,
                closed_at: r.closed_at,
            }
        })
        .collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// `town` (default), `industry` or `enterprise`.
    pub group: Option<String>,
    /// `day`, `month` (default) or `year`.
    pub period: Option<String>,
    /// First day: `YYYY-MM-DD`, `YYYY-MM` or `YYYY` (Asia/Shanghai, inclusive). Default: 30
    /// days, 12 months or 5 years before `to`.
    pub from: Option<String>,
    /// Last day: `YYYY-MM-DD`, `YYYY-MM` or `YYYY` (inclusive). Default: today.
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    pub group: Group,
    pub period: Period,
    /// First and last day of the range (Asia/Shanghai).
    pub from: String,
    pub to: String,
    /// Every period of the range, oldest first.
    pub periods: Vec<String>,
    /// Per group key and period, only where something was found; by key, then period.
    pub items: Vec<StatRow>,
    pub total: i64,
    /// Per period over all groups, every period of the range.
    pub totals: Vec<PeriodTotal>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The range of a query as days, and as UTC ms `[from, to)`.
fn range(
    from: &Option<String>,
    to: &Option<String>,
    default_from: impl Fn(NaiveDate) -> NaiveDate,
) -> Result<(NaiveDate, NaiveDate, i64, i64), ApiError> {
    let bad = |field: &str| {
        ApiError::validation(
            field,
            format!("{field} must be a day YYYY-MM-DD, a month YYYY-MM or a year YYYY"),
        )
    };
    let to_day = match non_empty(to) {
        Some(v) => parse_bound(v, true).ok_or_else(|| bad("to"))?,
        None => rules::shanghai_day(crate::db::now_ms()),
    };
    let from_day = match non_empty(from) {
        Some(v) => parse_bound(v, false).ok_or_else(|| bad("from"))?,
        None => default_from(to_day),
    };
    if from_day > to_day {
        return Err(ApiError::validation("to", "to is before from"));
    }
    let from_ms = rules::shanghai_ms(from_day, NaiveTime::MIN);
    let to_ms = rules::shanghai_ms(to_day + Duration::days(1), NaiveTime::MIN);
    Ok((from_day, to_day, from_ms, to_ms))
}

/// Hidden-danger statistics per town, industry or enterprise and per Asia/Shanghai day, month
/// or year, in the caller's scope. Of the hidden dangers found in a period: `closed` are
/// closed now, `overdue` were closed after their deadline or are open past it, and
/// `rectification_rate` = closed / found.
#[utoipa::path(get, path = "/hidden-dangers/stats", tag = "dualprev", params(StatsParams),
    responses((status = 200, body = Stats), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn stats(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<StatsParams>,
) -> Result<Json<Stats>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let group = match non_empty(&p.group) {
        None => Group::Town,
        Some(g) => Group::parse(g).ok_or_else(|| {
            ApiError::validation("group", "group must be town, industry or enterprise")
        })?,
    };
    let period = match non_empty(&p.period) {
        None => Period::Month,
        Some(v) => Period::parse(v)
            .ok_or_else(|| ApiError::validation("period", "period must be day, month or year"))?,
    };
    let (from_day, to_day, from_ms, to_ms) = range(&p.from, &p.to, |t| period.default_from(t))?;
    let labels = period_labels(period, from_day, to_day, MAX_PERIODS)
        .map_err(|m| ApiError::validation("from", m))?;
    let recs = records(&state.db, &user.scope(), group, from_ms, to_ms).await?;
    let (items, totals) = aggregate(&recs, period, &labels, crate::db::now_ms());
    Ok(Json(Stats {
        group,
        period,
        from: from_day.format("%Y-%m-%d").to_string(),
        to: to_day.format("%Y-%m-%d").to_string(),
        periods: labels,
        total: items.len() as i64,
        items,
        totals,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// First day (`YYYY-MM-DD`, `YYYY-MM`, `YYYY`); default: the first of this month.
    pub from: Option<String>,
    /// Last day; default today.
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Summary {
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// Totals of the hidden dangers found in a range, in the caller's scope: the dashboard's tile.
#[utoipa::path(get, path = "/hidden-dangers/stats/summary", tag = "dualprev", params(SummaryParams),
    responses((status = 200, body = Summary), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn summary(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<SummaryParams>,
) -> Result<Json<Summary>, ApiError> {
    user.require(Permission::RegistryRead)?;
    let (from_day, to_day, from_ms, to_ms) = range(&p.from, &p.to, |t| Period::Month.start(t))?;
    let recs = records(&state.db, &user.scope(), Group::Town, from_ms, to_ms).await?;
    Ok(Json(Summary {
        from: from_day.format("%Y-%m-%d").to_string(),
        to: to_day.format("%Y-%m-%d").to_string(),
        counts: summarise(&recs, crate::db::now_ms()),
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stats))
        .routes(routes!(summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn ms(rfc: &str) -> i64 {
        crate::time::parse_time(rfc).expect("time")
    }

    #[test]
    fn bounds_name_a_day_a_month_or_a_year() {
        assert_eq!(parse_bound("2026-02-14", false), Some(d("2026-02-14")));
        assert_eq!(parse_bound("2026-02", false), Some(d("2026-02-01")));
        assert_eq!(parse_bound("2026-02", true), Some(d("2026-02-28")));
        assert_eq!(parse_bound("2024-02", true), Some(d("2024-02-29")));
        assert_eq!(parse_bound("2026", true), Some(d("2026-12-31")));
        assert_eq!(parse_bound("2026", false), Some(d("2026-01-01")));
        assert_eq!(parse_bound("2026-13", false), None);
        assert_eq!(parse_bound("26-1-1", false), None);
        assert_eq!(parse_bound("yesterday", false), None);
    }

    #[test]
    fn periods_are_listed_and_capped() {
        assert_eq!(
            period_labels(Period::Month, d("2025-11-15"), d("2026-02-01"), 400),
            Ok(vec![
                "2025-11".to_string(),
                "2025-12".into(),
                "2026-01".into(),
                "2026-02".into()
            ])
        );
        assert_eq!(
            period_labels(Period::Day, d("2026-01-01"), d("2026-01-01"), 1),
            Ok(vec!["2026-01-01".to_string()])
        );
        assert!(period_labels(Period::Day, d("2025-01-01"), d("2026-12-31"), 400).is_err());
        assert_eq!(
            period_labels(Period::Year, d("2020-05-01"), d("2026-01-01"), 400)
                .expect("years")
                .len(),
            7
        );
    }

    fn rec(
        key: &str,
        found: &str,
        major: bool,
        deadline: Option<&str>,
        closed: Option<&str>,
    ) -> StatRecord {
        StatRecord {
            key: key.into(),
            name: format!("name {key}"),
            major,
            closed: closed.is_some(),
            found_at: ms(found),
            deadline: deadline.map(ms),
            closed_at: closed.map(ms),
        }
    }

    #[test]
    fn records_fall_into_shanghai_days_and_count_overdue_and_the_rate() {
        let now = ms("2026-06-01T00:00:00Z");
        let records = vec![
            // 23:59:59.999 in Shanghai on 31 March.
            rec(
                "a",
                "2026-03-31T15:59:59.999Z",
                false,
                Some("2026-04-10T00:00:00Z"),
                Some("2026-04-05T00:00:00Z"),
            ),
            // Midnight in Shanghai: 1 April. Closed after its deadline.
            rec(
                "a",
                "2026-03-31T16:00:00Z",
                true,
                Some("2026-04-02T00:00:00Z"),
                Some("2026-04-03T00:00:00Z"),
            ),
            // Open past its deadline.
            rec(
                "b",
                "2026-04-02T00:00:00Z",
                false,
                Some("2026-04-20T00:00:00Z"),
                None,
            ),
            // Open, no deadline.
            rec("b", "2026-04-03T00:00:00Z", true, None, None),
        ];
        let labels =
            period_labels(Period::Month, d("2026-03-01"), d("2026-04-30"), 400).expect("labels");
        let (rows, totals) = aggregate(&records, Period::Month, &labels, now);
        type Cell<'a> = (&'a str, &'a str, i64, i64, i64, i64, Option<f64>);
        let got: Vec<Cell> = rows
            .iter()
            .map(|r| {
                (
                    r.key.as_str(),
                    r.period.as_str(),
                    r.counts.found,
                    r.counts.major,
                    r.counts.closed,
                    r.counts.overdue,
                    r.counts.rectification_rate,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", "2026-03", 1, 0, 1, 0, Some(1.0)),
                ("a", "2026-04", 1, 1, 1, 1, Some(1.0)),
                ("b", "2026-04", 2, 1, 0, 1, Some(0.0)),
            ]
        );
        assert_eq!(totals.len(), 2);
        assert_eq!(totals[1].counts.found, 3);
        assert_eq!(totals[1].counts.rectification_rate, Some(1.0 / 3.0));
        let s = summarise(&records, now);
        assert_eq!((s.found, s.major, s.closed, s.overdue), (4, 2, 2, 2));
        assert_eq!(s.rectification_rate, Some(0.5));
        assert_eq!(summarise(&[], now).rectification_rate, None);
    }

    #[test]
    fn a_period_without_findings_totals_zero_with_no_rate() {
        let labels = vec!["2026-01".to_string()];
        let (rows, totals) = aggregate(&[], Period::Month, &labels, 0);
        assert!(rows.is_empty());
        assert_eq!(totals[0].counts.found, 0);
        assert_eq!(totals[0].counts.rectification_rate, None);
    }
}
