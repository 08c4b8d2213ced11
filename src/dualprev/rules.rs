//! The dual-prevention rules, free of I/O: LEC and LS risk grading into the four colours,
//! colour roll-ups of enterprises and towns, the hidden-danger state machine with who may
//! move which state, overdue detection, check-task periods, and the daily safety commitment's
//! status and contradiction rule. Sources: `../shared/STANDARDS.md` §2 and issue 4.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;
use crate::colour::Colour;

// ---------------------------------------------------------------------------------------------
// LEC (Graham–Kinney): D = L × E × C

/// The factor tables of LEC (`assets/standards/lec_tables.csv`): only these scores are valid.
pub const LEC_L: [f64; 7] = [10.0, 6.0, 3.0, 1.0, 0.5, 0.2, 0.1];
pub const LEC_E: [f64; 6] = [10.0, 6.0, 3.0, 2.0, 1.0, 0.5];
pub const LEC_C: [f64; 6] = [100.0, 40.0, 15.0, 7.0, 3.0, 1.0];

/// A factor value outside its table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be one of {allowed}")]
pub struct FactorError {
    pub field: &'static str,
    pub allowed: String,
}

fn table_value(field: &'static str, v: f64, table: &[f64]) -> Result<f64, FactorError> {
    table
        .iter()
        .copied()
        .find(|t| (t - v).abs() < 1e-9)
        .ok_or_else(|| FactorError {
            field,
            allowed: table
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// D in twentieths, an exact integer: L has one decimal, E halves, C is whole, so
/// 10·L × 2·E × C = 20·D. Band edges (D > 320 …) are then compared without rounding error.
fn lec_d20(l: f64, e: f64, c: f64) -> i64 {
    let l10 = (l * 10.0).round() as i64;
    let e2 = (e * 2.0).round() as i64;
    let c1 = c.round() as i64;
    l10 * e2 * c1
}

/// The classic Graham–Kinney danger grades (1 = extremely dangerous … 5 = slightly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct LecBand {
    /// 1 (D > 320) to 5 (D ≤ 20).
    pub grade: u8,
    pub name_zh: &'static str,
    pub name_en: &'static str,
}

const LEC_CLASSIC: [(f64, LecBand); 5] = [
    (
        320.0,
        LecBand {
            grade: 1,
            name_zh: "极其危险，不能继续作业",
            name_en: "extremely dangerous: stop work",
        },
    ),
    (
        160.0,
        LecBand {
            grade: 2,
            name_zh: "高度危险，需立即整改",
            name_en: "highly dangerous: rectify immediately",
        },
    ),
    (
        70.0,
        LecBand {
            grade: 3,
            name_zh: "显著危险，需要整改",
            name_en: "significantly dangerous: rectification needed",
        },
    ),
    (
        20.0,
        LecBand {
            grade: 4,
            name_zh: "一般危险，需要注意",
            name_en: "possibly dangerous: attention needed",
        },
    ),
    (
        f64::NEG_INFINITY,
        LecBand {
            grade: 5,
            name_zh: "稍有危险，可以接受",
            name_en: "slightly dangerous: acceptable",
        },
    ),
];

/// The colour bands in force: a district setting (`dualprev.*`), with the defaults of
/// `STANDARDS.md` §2. LEC: D above `lec_red_above` is red, above `lec_orange_above` orange,
/// above `lec_yellow_above` yellow, else blue. LS: R at least `ls_red_min` is red, etc.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Bands {
    pub lec_red_above: f64,
    pub lec_orange_above: f64,
    pub lec_yellow_above: f64,
    pub ls_red_min: u32,
    pub ls_orange_min: u32,
    pub ls_yellow_min: u32,
}

impl Default for Bands {
    fn default() -> Self {
        Bands {
            lec_red_above: 320.0,
            lec_orange_above: 160.0,
            lec_yellow_above: 70.0,
            ls_red_min: 20,
            ls_orange_min: 15,
            ls_yellow_min: 9,
        }
    }
}

impl Bands {
    /// Edges must rise from yellow to red and stay inside the scales.
    pub fn validate(&self) -> Result<(), String> {
        let lec_ok = self.lec_yellow_above >= 0.0
            && self.lec_yellow_above < self.lec_orange_above
            && self.lec_orange_above < self.lec_red_above
            && self.lec_red_above < 10.0 * 10.0 * 100.0;
        if !lec_ok {
            return Err("dualprev LEC bands must satisfy 0 ≤ yellow < orange < red < 10000".into());
        }
        let ls_ok = 1 < self.ls_yellow_min
            && self.ls_yellow_min < self.ls_orange_min
            && self.ls_orange_min < self.ls_red_min
            && self.ls_red_min <= 25;
        if !ls_ok {
            return Err("dualprev LS bands must satisfy 1 < yellow < orange < red ≤ 25".into());
        }
        Ok(())
    }

    pub fn lec_colour(&self, d: f64) -> Colour {
        // Edges compared in twentieths like D itself (an edge of 70 is 1400/20).
        let d20 = (d * 20.0).round() as i64;
        let above = |edge: f64| d20 > (edge * 20.0).round() as i64;
        if above(self.lec_red_above) {
            Colour::Red
        } else if above(self.lec_orange_above) {
            Colour::Orange
        } else if above(self.lec_yellow_above) {
            Colour::Yellow
        } else {
            Colour::Blue
        }
    }

    pub fn ls_colour(&self, r: u32) -> Colour {
        if r >= self.ls_red_min {
            Colour::Red
        } else if r >= self.ls_orange_min {
            Colour::Orange
        } else if r >= self.ls_yellow_min {
            Colour::Yellow
        } else {
            Colour::Blue
        }
    }
}

/// The result of an LEC assessment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct LecResult {
    pub l: f64,
    pub e: f64,
    pub c: f64,
    /// D = L × E × C.
    pub d: f64,
    /// The classic danger grade of D.
    pub band: LecBand,
    pub colour: Colour,
    /// 重大风险, 较大风险, 一般风险 or 低风险.
    pub level_zh: &'static str,
}

pub fn lec(l: f64, e: f64, c: f64, bands: &Bands) -> Result<LecResult, FactorError> {
    let l = table_value("l", l, &LEC_L)?;
    let e = table_value("e", e, &LEC_E)?;
    let c = table_value("c", c, &LEC_C)?;
    let d20 = lec_d20(l, e, c);
    let d = d20 as f64 / 20.0;
    let band = LEC_CLASSIC
        .iter()
        .find(|(edge, _)| d20 as f64 > edge * 20.0)
        .map(|(_, b)| *b)
        .unwrap_or(LEC_CLASSIC[4].1);
    let colour = bands.lec_colour(d);
    Ok(LecResult {
        l,
        e,
        c,
        d,
        band,
        colour,
        level_zh: colour.risk_level_zh(),
    })
}

/// The result of an LS matrix assessment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct LsResult {
    pub l: u32,
    pub s: u32,
    /// R = L × S.
    pub r: u32,
    pub colour: Colour,
    pub level_zh: &'static str,
}

/// L and S are whole numbers 1–5.
pub fn ls(l: f64, s: f64, bands: &Bands) -> Result<LsResult, FactorError> {
    const SCALE: [f64; 5] = [1.0, 2.0, 3.0, 4.0, 5.0];
    let l = table_value("l", l, &SCALE)? as u32;
    let s = table_value("s", s, &SCALE)? as u32;
    let r = l * s;
    let colour = bands.ls_colour(r);
    Ok(LsResult {
        l,
        s,
        r,
        colour,
        level_zh: colour.risk_level_zh(),
    })
}

// ---------------------------------------------------------------------------------------------
// Roll-ups

/// Counts of risk points or enterprises per colour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ColourCounts {
    pub red: i64,
    pub orange: i64,
    pub yellow: i64,
    pub blue: i64,
}

impl ColourCounts {
    pub fn add(&mut self, c: Colour, n: i64) {
        match c {
            Colour::Red => self.red += n,
            Colour::Orange => self.orange += n,
            Colour::Yellow => self.yellow += n,
            Colour::Blue => self.blue += n,
        }
    }

    pub fn total(&self) -> i64 {
        self.red + self.orange + self.yellow + self.blue
    }

    pub fn worst(&self) -> Option<Colour> {
        [
            (Colour::Red, self.red),
            (Colour::Orange, self.orange),
            (Colour::Yellow, self.yellow),
            (Colour::Blue, self.blue),
        ]
        .into_iter()
        .find(|(_, n)| *n > 0)
        .map(|(c, _)| c)
    }
}

/// An enterprise's colour is that of its highest risk point (STANDARDS.md §2).
pub fn enterprise_colour(points: impl IntoIterator<Item = Colour>) -> Option<Colour> {
    points.into_iter().max()
}

/// The shade of a town on the four-colour map, from the colours of its assessed enterprises.
///
/// Rule (documented in the UI legend and README): the mean of the enterprises' ranks (blue 1 …
/// red 4), rounded half up, but never more than one step below the worst enterprise. So one red
/// enterprise shades its town at least orange, and a town of many blue enterprises with one
/// yellow stays blue-ish only if nothing worse is there. Why not simply the worst colour: with
/// 1,528 enterprises nearly every town holds one red or orange point, and a map of uniformly
/// red towns tells a leader nothing; the counts per colour are shown beside the shade.
pub fn town_shade(counts: &ColourCounts) -> Option<Colour> {
    let n = counts.total();
    let worst = counts.worst()?;
    let sum = counts.red * 4 + counts.orange * 3 + counts.yellow * 2 + counts.blue;
    // round(sum / n) half up, in integers.
    let mean = (2 * sum + n) / (2 * n);
    let floor = (worst.rank() - 1).max(1);
    Colour::from_rank(mean.max(floor).min(worst.rank()))
}

// ---------------------------------------------------------------------------------------------
// Hidden dangers

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HdState {
    Reported,
    Rectifying,
    AwaitingAcceptance,
    Closed,
}

impl HdState {
    pub const ALL: [HdState; 4] = [
        HdState::Reported,
        HdState::Rectifying,
        HdState::AwaitingAcceptance,
        HdState::Closed,
    ];

    pub fn key(self) -> &'static str {
        match self {
            HdState::Reported => "reported",
            HdState::Rectifying => "rectifying",
            HdState::AwaitingAcceptance => "awaiting_acceptance",
            HdState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<HdState> {
        HdState::ALL.into_iter().find(|x| x.key() == s.trim())
    }
}

/// 一般事故隐患 or 重大事故隐患.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HdLevel {
    General,
    Major,
}

impl HdLevel {
    pub fn key(self) -> &'static str {
        match self {
            HdLevel::General => "general",
            HdLevel::Major => "major",
        }
    }

    pub fn parse(s: &str) -> Option<HdLevel> {
        [HdLevel::General, HdLevel::Major]
            .into_iter()
            .find(|x| x.key() == s.trim())
    }
}

/// What people do to a hidden danger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HdAction {
    /// reported → rectifying, with the "five in place" plan.
    Rectify,
    /// rectifying → awaiting acceptance, with what was done.
    Submit,
    /// awaiting acceptance → closed (验收销号).
    Accept,
    /// awaiting acceptance → rectifying: acceptance failed.
    Reject,
    /// rectifying or awaiting acceptance → closed: an enterprise closes its own general hidden
    /// danger with evidence.
    Close,
    /// List a major hidden danger for supervision (挂牌督办); the state does not change.
    List,
}

impl HdAction {
    pub const ALL: [HdAction; 6] = [
        HdAction::Rectify,
        HdAction::Submit,
        HdAction::Accept,
        HdAction::Reject,
        HdAction::Close,
        HdAction::List,
    ];

    pub fn key(self) -> &'static str {
        match self {
            HdAction::Rectify => "rectify",
            HdAction::Submit => "submit",
            HdAction::Accept => "accept",
            HdAction::Reject => "reject",
            HdAction::Close => "close",
            HdAction::List => "list",
        }
    }
}

/// Why a transition was refused: the role may never do it (403), or not in this state (409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
}

/// Who may take `action` on a hidden danger of `level`. Scope (which enterprise or town) is
/// checked separately: a record outside the caller's scope is not found.
///
/// - The enterprise rectifies: it alone (and the administrator) starts the rectification and
///   submits it for acceptance.
/// - A major hidden danger is accepted (or sent back) by a safety supervisor or the town; a
///   general one also by the enterprise itself, which may close its own general hidden
///   dangers with evidence.
/// - Listing for supervision is the regulator's: a supervisor at town or district level, town
///   staff at town level only.
/// - Duty officers and leaders watch.
pub fn role_may(role: Role, action: HdAction, level: HdLevel) -> Result<(), TransitionError> {
    use HdAction::*;
    let forbid = |why: &str| Err(TransitionError::Forbidden(why.to_string()));
    if role == Role::Admin {
        return Ok(());
    }
    match action {
        Rectify | Submit => match role {
            Role::Enterprise => Ok(()),
            _ => forbid("the enterprise rectifies its hidden dangers; this role may not"),
        },
        Accept | Reject => match (role, level) {
            (Role::Supervisor | Role::Town, _) => Ok(()),
            (Role::Enterprise, HdLevel::General) => Ok(()),
            (Role::Enterprise, HdLevel::Major) => forbid(
                "a major hidden danger is accepted by a safety supervisor or the town, not by the enterprise",
            ),
            _ => {
                forbid("only a safety supervisor, the town or the enterprise accepts rectification")
            }
        },
        Close => match (role, level) {
            (Role::Enterprise, HdLevel::General) => Ok(()),
            (Role::Enterprise, HdLevel::Major) => forbid(
                "a major hidden danger is closed only by acceptance of a safety supervisor or the town",
            ),
            _ => forbid(
                "only the enterprise closes its own general hidden dangers; regulators accept",
            ),
        },
        List => match role {
            Role::Supervisor | Role::Town => Ok(()),
            _ => {
                forbid("only a safety supervisor or the town lists a hidden danger for supervision")
            }
        },
    }
}

/// The state after `action`, or why it may not be taken. Role first (403), then state (409).
pub fn transition(
    role: Role,
    action: HdAction,
    level: HdLevel,
    state: HdState,
) -> Result<HdState, TransitionError> {
    use HdAction::*;
    use HdState::*;
    role_may(role, action, level)?;
    let conflict = |why: String| Err(TransitionError::Conflict(why));
    match (action, state) {
        (Rectify, Reported) => Ok(Rectifying),
        (Submit, Rectifying) => Ok(AwaitingAcceptance),
        (Accept, AwaitingAcceptance) => Ok(Closed),
        (Reject, AwaitingAcceptance) => Ok(Rectifying),
        (Close, Rectifying | AwaitingAcceptance) => Ok(Closed),
        (List, _) if level == HdLevel::General => {
            conflict("only a major hidden danger is listed for supervision".into())
        }
        (List, Closed) => conflict("the hidden danger is closed".into()),
        (List, s) => Ok(s),
        (_, Closed) => conflict("the hidden danger is closed".into()),
        (a, s) => conflict(format!(
            "cannot {} a hidden danger that is {}",
            a.key(),
            s.key().replace('_', " ")
        )),
    }
}

/// Past its deadline and not closed. At the deadline itself it is not yet overdue.
pub fn is_overdue(state: HdState, deadline_ms: Option<i64>, now_ms: i64) -> bool {
    state != HdState::Closed && deadline_ms.is_some_and(|d| now_ms > d)
}

/// Was or is overdue: closed after its deadline, or still open past it (for statistics).
pub fn was_overdue(deadline_ms: Option<i64>, closed_at_ms: Option<i64>, now_ms: i64) -> bool {
    deadline_ms.is_some_and(|d| closed_at_ms.unwrap_or(now_ms) > d)
}

/// Where a hidden danger came from.
pub const SOURCES: [(&str, &str, &str); 5] = [
    ("self_check", "企业自查", "Self-check"),
    ("inspection", "监管检查", "Inspection"),
    ("grid_patrol", "网格巡查", "Grid patrol"),
    ("public_report", "群众举报", "Public report"),
    ("sensor_alarm", "监测报警", "Sensor alarm"),
];

/// Categories of hidden dangers: the basic-management and on-site classes used in
/// enterprises' investigation checklists (基础管理类 / 现场管理类).
pub const CATEGORIES: [(&str, &str, &str); 17] = [
    ("qualification", "资质证照", "Licences and certificates"),
    (
        "organization",
        "安全管理机构及人员",
        "Safety organisation and staff",
    ),
    ("rules", "安全规章制度与操作规程", "Rules and procedures"),
    ("training", "安全教育培训", "Safety training"),
    ("investment", "安全投入", "Safety investment"),
    (
        "major_hazard",
        "重大危险源管理",
        "Major hazard source management",
    ),
    ("emergency", "应急管理", "Emergency management"),
    (
        "contractor",
        "相关方管理",
        "Contractors and related parties",
    ),
    (
        "equipment",
        "生产设备设施及工艺",
        "Production equipment and process",
    ),
    ("special_equipment", "特种设备", "Special equipment"),
    ("electrical", "用电安全", "Electrical safety"),
    ("fire", "消防安全", "Fire safety"),
    ("site", "作业场所与环境", "Workplace and environment"),
    ("operation", "从业人员操作行为", "Work practice"),
    (
        "hazchem",
        "危险化学品储存与使用",
        "Hazardous chemicals storage and use",
    ),
    ("occupational_health", "职业卫生", "Occupational health"),
    ("other", "其他", "Other"),
];

/// Accident types of GB 6441-1986 (企业职工伤亡事故分类), by code.
pub const ACCIDENT_TYPES: [(&str, &str, &str); 20] = [
    ("01", "物体打击", "Struck by object"),
    ("02", "车辆伤害", "Vehicle injury"),
    ("03", "机械伤害", "Machinery injury"),
    ("04", "起重伤害", "Lifting injury"),
    ("05", "触电", "Electrocution"),
    ("06", "淹溺", "Drowning"),
    ("07", "灼烫", "Burns and scalds"),
    ("08", "火灾", "Fire"),
    ("09", "高处坠落", "Fall from height"),
    ("10", "坍塌", "Collapse"),
    ("11", "冒顶片帮", "Roof fall"),
    ("12", "透水", "Water inrush"),
    ("13", "放炮", "Blasting"),
    ("14", "火药爆炸", "Explosive blast"),
    ("15", "瓦斯爆炸", "Gas (firedamp) explosion"),
    ("16", "锅炉爆炸", "Boiler explosion"),
    ("17", "容器爆炸", "Pressure vessel explosion"),
    ("18", "其它爆炸", "Other explosion"),
    ("19", "中毒和窒息", "Poisoning and asphyxiation"),
    ("20", "其它伤害", "Other injury"),
];

/// Control measure categories of a risk point.
pub const MEASURE_CATEGORIES: [(&str, &str, &str); 5] = [
    ("engineering", "工程技术措施", "Engineering"),
    ("management", "管理措施", "Management"),
    ("training", "培训教育措施", "Training"),
    ("ppe", "个体防护措施", "Personal protective equipment"),
    ("emergency", "应急处置措施", "Emergency"),
];

/// The eight special operations of GB 30871-2022, as counted in the daily commitment.
pub const SPECIAL_OPERATIONS: [(&str, &str, &str); 8] = [
    ("hot_work", "动火作业", "Hot work"),
    ("confined_space", "受限空间作业", "Confined-space entry"),
    ("blind_plate", "盲板抽堵作业", "Blind-plate work"),
    ("height", "高处作业", "Work at height"),
    ("lifting", "吊装作业", "Lifting"),
    ("temp_power", "临时用电作业", "Temporary electricity"),
    ("excavation", "动土作业", "Excavation"),
    ("road_closure", "断路作业", "Road closure"),
];

pub fn is_key(list: &[(&str, &str, &str)], key: &str) -> bool {
    list.iter().any(|(k, _, _)| *k == key)
}

// ---------------------------------------------------------------------------------------------
// Calendar (Asia/Shanghai)

/// The Asia/Shanghai calendar day of an instant.
pub fn shanghai_day(ms: i64) -> NaiveDate {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .with_timezone(&Shanghai)
        .date_naive()
}

/// The instant (UTC ms) of a Shanghai wall-clock time. China has no daylight saving, so every
/// local time exists exactly once.
pub fn shanghai_ms(day: NaiveDate, time: NaiveTime) -> i64 {
    Shanghai
        .from_local_datetime(&day.and_time(time))
        .single()
        .map(|t| t.timestamp_millis())
        .unwrap_or_default()
}

/// A calendar day written exactly `YYYY-MM-DD`. Strict because chrono alone reads `26-3-1`
/// as the year 26.
pub fn parse_day(v: &str) -> Option<NaiveDate> {
    let v = v.trim();
    let shaped = v.len() == 10
        && v.bytes().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    shaped
        .then(|| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
        .flatten()
}

/// The last millisecond of a Shanghai day: a deadline given as a date means "by the end of it".
pub fn end_of_day_ms(day: NaiveDate) -> i64 {
    shanghai_ms(day + Duration::days(1), NaiveTime::MIN) - 1
}

/// How often a check task is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cycle {
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    Yearly,
}

impl Cycle {
    pub const ALL: [Cycle; 5] = [
        Cycle::Daily,
        Cycle::Weekly,
        Cycle::Monthly,
        Cycle::Quarterly,
        Cycle::Yearly,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Cycle::Daily => "daily",
            Cycle::Weekly => "weekly",
            Cycle::Monthly => "monthly",
            Cycle::Quarterly => "quarterly",
            Cycle::Yearly => "yearly",
        }
    }

    pub fn parse(s: &str) -> Option<Cycle> {
        Cycle::ALL.into_iter().find(|c| c.key() == s.trim())
    }

    /// The first day of the period holding `day` (weeks start on Monday).
    pub fn period_start_day(self, day: NaiveDate) -> NaiveDate {
        let first_of_month = |m: u32| NaiveDate::from_ymd_opt(day.year(), m, 1).unwrap_or(day);
        match self {
            Cycle::Daily => day,
            Cycle::Weekly => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Cycle::Monthly => first_of_month(day.month()),
            Cycle::Quarterly => first_of_month((day.month() - 1) / 3 * 3 + 1),
            Cycle::Yearly => first_of_month(1),
        }
    }

    /// The first day of the next period.
    pub fn next_period_day(self, start: NaiveDate) -> NaiveDate {
        let months = |n: u32| {
            start
                .checked_add_months(chrono::Months::new(n))
                .unwrap_or(start)
        };
        match self {
            Cycle::Daily => start + Duration::days(1),
            Cycle::Weekly => start + Duration::days(7),
            Cycle::Monthly => months(1),
            Cycle::Quarterly => months(3),
            Cycle::Yearly => months(12),
        }
    }

    /// The period (start, end) in UTC ms holding the instant `ms`; end is exclusive.
    pub fn period_of(self, ms: i64) -> (i64, i64) {
        let start = self.period_start_day(shanghai_day(ms));
        let end = self.next_period_day(start);
        (
            shanghai_ms(start, NaiveTime::MIN),
            shanghai_ms(end, NaiveTime::MIN),
        )
    }

    /// Every period from the one holding `from_ms` up to the one holding `to_ms`, at most
    /// `limit` of them (newest kept), as (start, end) UTC ms.
    pub fn periods(self, from_ms: i64, to_ms: i64, limit: usize) -> Vec<(i64, i64)> {
        let mut out = std::collections::VecDeque::new();
        if to_ms < from_ms {
            return Vec::new();
        }
        let mut day = self.period_start_day(shanghai_day(from_ms));
        let last = self.period_start_day(shanghai_day(to_ms));
        while day <= last {
            let next = self.next_period_day(day);
            out.push_back((
                shanghai_ms(day, NaiveTime::MIN),
                shanghai_ms(next, NaiveTime::MIN),
            ));
            if out.len() > limit {
                out.pop_front();
            }
            day = next;
        }
        out.into()
    }
}

/// A period of a check task and whether it was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodStatus {
    /// A record exists for the period.
    Done,
    /// The period is still running and nothing is recorded yet.
    Due,
    /// The period ended without a record.
    Missed,
}

pub fn period_status(period_end_ms: i64, recorded: bool, now_ms: i64) -> PeriodStatus {
    if recorded {
        PeriodStatus::Done
    } else if now_ms >= period_end_ms {
        PeriodStatus::Missed
    } else {
        PeriodStatus::Due
    }
}

// ---------------------------------------------------------------------------------------------
// Daily safety commitment

/// Where an enterprise's commitment of a day stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentStatus {
    /// Filed by the deadline.
    OnTime,
    /// Filed after the deadline.
    Late,
    /// Not filed, and the deadline has not passed.
    Pending,
    /// Not filed, and the deadline has passed.
    Missing,
}

pub fn commitment_status(
    committed_at_ms: Option<i64>,
    deadline_ms: i64,
    now_ms: i64,
) -> CommitmentStatus {
    match committed_at_ms {
        Some(t) if t <= deadline_ms => CommitmentStatus::OnTime,
        Some(_) => CommitmentStatus::Late,
        None if now_ms > deadline_ms => CommitmentStatus::Missing,
        None => CommitmentStatus::Pending,
    }
}

/// What made a declared safe state contradictory when it was filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Contradiction {
    /// Unacknowledged high-severity monitoring alarms of the enterprise.
    UnacknowledgedHighAlarms { count: i64 },
    /// Open (not closed) major hidden dangers of the enterprise.
    OpenMajorHiddenDangers { count: i64 },
}

/// A commitment that declares everything in a safe state while the enterprise has
/// unacknowledged high alarms or an open major hidden danger contradicts itself. A
/// commitment that declares an unsafe state is honest and never contradictory.
pub fn contradictions(
    safe_state: bool,
    unacknowledged_high_alarms: i64,
    open_major_hidden_dangers: i64,
) -> Vec<Contradiction> {
    let mut out = Vec::new();
    if !safe_state {
        return out;
    }
    if unacknowledged_high_alarms > 0 {
        out.push(Contradiction::UnacknowledgedHighAlarms {
            count: unacknowledged_high_alarms,
        });
    }
    if open_major_hidden_dangers > 0 {
        out.push(Contradiction::OpenMajorHiddenDangers {
            count: open_major_hidden_dangers,
        });
    }
    out
}

#[cfg(test)]
mod tests;
