//! The demo district's dual prevention, generated (pure, deterministic for a seed and a
//! clock): risk points for every enterprise (few reds), a year of hidden dangers with
//! realistic rectification times (some overdue, a few major ones listed for supervision),
//! and the daily safety commitments of the hazardous-chemical enterprises for the last 30
//! days (a few missing, late or contradictory).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::dualprev::rules::{self, Bands, Cycle, HdLevel, HdState};

const DAY: i64 = 86_400_000;

/// What the generator needs to know of an enterprise.
#[derive(Debug, Clone)]
pub struct DemoEnterprise {
    pub hazchem: bool,
    pub gas_station: bool,
    pub warehousing: bool,
    pub dust: bool,
    /// Names of its major hazard source units, for the commitments.
    pub hazard_units: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct DemoMeasure {
    pub category: &'static str,
    pub text: String,
    pub cycle: Option<Cycle>,
}

#[derive(Debug, Clone)]
pub struct DemoRiskPoint {
    pub enterprise: usize,
    pub name: String,
    pub kind: &'static str,
    pub location: String,
    pub hazards: Vec<String>,
    pub accident_types: Vec<&'static str>,
    pub measures: Vec<DemoMeasure>,
    pub control_level: &'static str,
    pub responsible_person: String,
    /// `lec` with (l, e, c) or `ls` with (l, s).
    pub method: &'static str,
    pub factors: Vec<f64>,
    pub assessed_at: i64,
}

#[derive(Debug, Clone)]
pub struct DemoStep {
    pub at: i64,
    pub action: &'static str,
    pub from: Option<HdState>,
    pub to: Option<HdState>,
    pub actor: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct DemoHiddenDanger {
    pub enterprise: usize,
    /// Index into the enterprise's own risk points.
    pub risk_point: Option<usize>,
    pub location: String,
    pub description: String,
    pub source: &'static str,
    pub category: &'static str,
    pub level: HdLevel,
    pub found_by: String,
    pub found_at: i64,
    pub state: HdState,
    pub measures: Option<String>,
    pub funds: Option<f64>,
    pub responsible_person: Option<String>,
    pub deadline: Option<i64>,
    pub contingency: Option<String>,
    pub rectification_result: Option<String>,
    pub rectified_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub close_evidence: Option<String>,
    pub overdue_at: Option<i64>,
    /// (level, officer, due, listed_at)
    pub supervision: Option<(&'static str, String, i64, i64)>,
    pub steps: Vec<DemoStep>,
}

#[derive(Debug, Clone)]
pub struct DemoCommitment {
    pub enterprise: usize,
    pub day: chrono::NaiveDate,
    pub committed_at: i64,
    pub committer: String,
    /// (unit name, state)
    pub units: Vec<(String, &'static str)>,
    /// Counts in the order of `rules::SPECIAL_OPERATIONS`.
    pub operations: [i64; 8],
    pub startup_shutdown: bool,
    pub maintenance: bool,
    pub safe_state: bool,
    pub late: bool,
    pub contradictions: Vec<rules::Contradiction>,
}

#[derive(Debug, Clone, Default)]
pub struct DemoDualPrev {
    /// Per enterprise, its risk points.
    pub risk_points: Vec<Vec<DemoRiskPoint>>,
    pub hidden_dangers: Vec<DemoHiddenDanger>,
    pub commitments: Vec<DemoCommitment>,
}

struct Template {
    name: &'static str,
    kind: &'static str,
    hazards: &'static [&'static str],
    accidents: &'static [&'static str],
    measures: &'static [(&'static str, &'static str, Option<Cycle>)],
    /// Weights of red, orange, yellow, blue.
    weights: [u32; 4],
}

const HAZCHEM: &[Template] = &[
    Template {
        name: "储罐区",
        kind: "place",
        hazards: &["易燃液体泄漏", "静电积聚", "雷击"],
        accidents: &["08", "18", "19"],
        measures: &[
            (
                "engineering",
                "设置防火堤、液位高高联锁和可燃气体检测报警",
                Some(Cycle::Daily),
            ),
            ("management", "储罐区每班巡检，进出登记", Some(Cycle::Daily)),
            ("ppe", "进入罐区穿防静电服", None),
            (
                "emergency",
                "配备泡沫灭火系统，每季度演练",
                Some(Cycle::Quarterly),
            ),
        ],
        weights: [6, 24, 40, 30],
    },
    Template {
        name: "装卸车作业",
        kind: "activity",
        hazards: &["装卸过程泄漏", "车辆溜车", "静电火花"],
        accidents: &["02", "08", "19"],
        measures: &[
            (
                "engineering",
                "装卸鹤管设静电接地报警器",
                Some(Cycle::Weekly),
            ),
            (
                "management",
                "装卸作业票证管理，专人监护",
                Some(Cycle::Daily),
            ),
            (
                "training",
                "装卸人员持证上岗，每年复训",
                Some(Cycle::Yearly),
            ),
        ],
        weights: [3, 20, 42, 35],
    },
    Template {
        name: "反应釜",
        kind: "equipment",
        hazards: &["超温超压", "物料泄漏", "搅拌故障"],
        accidents: &["17", "19", "07"],
        measures: &[
            (
                "engineering",
                "温度压力自动联锁，安全阀定期校验",
                Some(Cycle::Monthly),
            ),
            ("management", "工艺参数每小时记录", Some(Cycle::Daily)),
            ("emergency", "紧急切断与泄压处置卡", None),
        ],
        weights: [5, 25, 40, 30],
    },
    Template {
        name: "危化品仓库",
        kind: "place",
        hazards: &["禁忌物料混存", "包装破损泄漏", "通风不良"],
        accidents: &["08", "19", "18"],
        measures: &[
            ("management", "分区分类储存，双人双锁", Some(Cycle::Weekly)),
            ("engineering", "防爆通风和温湿度监控", Some(Cycle::Monthly)),
        ],
        weights: [2, 18, 45, 35],
    },
    Template {
        name: "动火作业",
        kind: "activity",
        hazards: &["可燃气体残留", "火花飞溅"],
        accidents: &["08", "07", "18"],
        measures: &[
            (
                "management",
                "动火作业票审批，气体分析合格后作业",
                Some(Cycle::Weekly),
            ),
            ("ppe", "作业人员佩戴防护面罩和手套", None),
        ],
        weights: [4, 26, 40, 30],
    },
    Template {
        name: "受限空间作业",
        kind: "activity",
        hazards: &["缺氧", "有毒气体聚集"],
        accidents: &["19", "06"],
        measures: &[
            (
                "management",
                "先通风、再检测、后作业，专人监护",
                Some(Cycle::Monthly),
            ),
            (
                "emergency",
                "配备正压式空气呼吸器和救援三脚架",
                Some(Cycle::Monthly),
            ),
        ],
        weights: [3, 22, 45, 30],
    },
];

const MANUFACTURING: &[Template] = &[
    Template {
        name: "冲压设备",
        kind: "equipment",
        hazards: &["手部卷入挤压", "光电保护失效"],
        accidents: &["03"],
        measures: &[
            ("engineering", "双手按钮和光电保护装置", Some(Cycle::Daily)),
            ("training", "操作人员岗前培训", Some(Cycle::Yearly)),
        ],
        weights: [0, 8, 40, 52],
    },
    Template {
        name: "配电室",
        kind: "place",
        hazards: &["电气设备老化", "小动物进入短路"],
        accidents: &["05", "08"],
        measures: &[
            ("management", "配电室每周巡检并记录", Some(Cycle::Weekly)),
            ("ppe", "绝缘手套、绝缘靴定期检测", Some(Cycle::Yearly)),
        ],
        weights: [0, 5, 35, 60],
    },
    Template {
        name: "叉车作业",
        kind: "activity",
        hazards: &["超速行驶", "视线受阻"],
        accidents: &["02", "01"],
        measures: &[
            ("management", "厂内限速5公里，叉车日检", Some(Cycle::Daily)),
            ("training", "叉车司机持特种作业证", Some(Cycle::Yearly)),
        ],
        weights: [0, 6, 38, 56],
    },
    Template {
        name: "高处作业平台",
        kind: "activity",
        hazards: &["未系安全带", "护栏缺失"],
        accidents: &["09", "01"],
        measures: &[
            ("engineering", "平台设置1.2米护栏", Some(Cycle::Monthly)),
            ("ppe", "高处作业系挂安全带", None),
        ],
        weights: [1, 10, 40, 49],
    },
    Template {
        name: "起重机械",
        kind: "equipment",
        hazards: &["钢丝绳断裂", "限位失效"],
        accidents: &["04", "01"],
        measures: &[
            (
                "engineering",
                "起重限位器和防脱钩装置",
                Some(Cycle::Monthly),
            ),
            ("management", "特种设备定期检验", Some(Cycle::Yearly)),
        ],
        weights: [1, 12, 42, 45],
    },
];

const DUST: Template = Template {
    name: "除尘系统",
    kind: "equipment",
    hazards: &["粉尘云爆炸", "积尘自燃"],
    accidents: &["18", "08"],
    measures: &[
        (
            "engineering",
            "除尘器泄爆、隔爆装置，火花探测",
            Some(Cycle::Monthly),
        ),
        ("management", "作业场所每班清扫积尘", Some(Cycle::Daily)),
    ],
    weights: [4, 28, 40, 28],
};

const WAREHOUSE: &[Template] = &[
    Template {
        name: "货架仓储区",
        kind: "place",
        hazards: &["货架倒塌", "堆垛超高", "电气火灾"],
        accidents: &["10", "01", "08"],
        measures: &[
            (
                "engineering",
                "货架承重标识与防撞护角",
                Some(Cycle::Monthly),
            ),
            ("management", "仓库防火巡查", Some(Cycle::Daily)),
        ],
        weights: [1, 10, 40, 49],
    },
    Template {
        name: "装卸平台",
        kind: "place",
        hazards: &["车辆意外移动", "坠落"],
        accidents: &["02", "09"],
        measures: &[("management", "装卸时车辆轮挡和专人指挥", Some(Cycle::Daily))],
        weights: [0, 6, 36, 58],
    },
];

const GAS_STATION: &[Template] = &[
    Template {
        name: "卸油作业",
        kind: "activity",
        hazards: &["油气挥发", "静电火花", "溢油"],
        accidents: &["08", "18"],
        measures: &[
            ("engineering", "卸油油气回收和静电接地", Some(Cycle::Weekly)),
            (
                "management",
                "卸油全程专人监护，雷雨天停止卸油",
                Some(Cycle::Daily),
            ),
        ],
        weights: [2, 20, 48, 30],
    },
    Template {
        name: "加油区",
        kind: "place",
        hazards: &["加油机泄漏", "车辆碰撞", "明火"],
        accidents: &["08", "02"],
        measures: &[
            (
                "engineering",
                "加油机紧急切断阀和防撞柱",
                Some(Cycle::Monthly),
            ),
            ("management", "站区严禁烟火，加油时熄火", Some(Cycle::Daily)),
        ],
        weights: [0, 10, 45, 45],
    },
    Template {
        name: "埋地储油罐",
        kind: "equipment",
        hazards: &["罐体渗漏", "液位超限"],
        accidents: &["08", "18"],
        measures: &[(
            "engineering",
            "双层罐渗漏检测和液位监控",
            Some(Cycle::Monthly),
        )],
        weights: [1, 14, 45, 40],
    },
];

const COMMON: &[Template] = &[
    Template {
        name: "员工食堂燃气",
        kind: "place",
        hazards: &["燃气泄漏"],
        accidents: &["18", "08"],
        measures: &[
            (
                "engineering",
                "燃气泄漏报警与自动切断阀",
                Some(Cycle::Monthly),
            ),
            ("management", "用气后关闭阀门", Some(Cycle::Daily)),
        ],
        weights: [0, 6, 34, 60],
    },
    Template {
        name: "消防设施",
        kind: "equipment",
        hazards: &["消防设施失效", "疏散通道堵塞"],
        accidents: &["08"],
        measures: &[("management", "消防设施月度检查", Some(Cycle::Monthly))],
        weights: [0, 4, 30, 66],
    },
];

/// Descriptions of hidden dangers by category.
const FINDINGS: &[(&str, &[&str])] = &[
    (
        "hazchem",
        &[
            "储罐液位计显示与现场不一致",
            "危化品仓库禁忌物料混存",
            "装卸区静电接地报警器损坏",
            "防火堤排水阀未关闭",
        ],
    ),
    (
        "fire",
        &[
            "灭火器压力不足",
            "疏散通道堆放杂物",
            "消防栓被遮挡",
            "应急照明灯不亮",
        ],
    ),
    (
        "electrical",
        &[
            "配电箱未上锁且无警示标识",
            "临时电线私拉乱接",
            "防爆区使用非防爆插座",
        ],
    ),
    (
        "equipment",
        &["机床防护罩缺失", "传动皮带无防护罩", "压力表超过检定有效期"],
    ),
    (
        "special_equipment",
        &["叉车未按期检验", "起重机限位器失灵", "压力容器安全阀未校验"],
    ),
    (
        "operation",
        &[
            "动火作业未办理作业票",
            "高处作业未系安全带",
            "受限空间作业无人监护",
        ],
    ),
    (
        "site",
        &["车间通道画线不清", "厂区照明不足", "作业场所地面油污未清理"],
    ),
    (
        "training",
        &["新员工三级安全教育记录不全", "特种作业人员证件过期"],
    ),
    ("rules", &["岗位操作规程未及时修订", "隐患排查记录不完整"]),
    (
        "emergency",
        &["应急预案未按期演练", "应急物资柜缺少防毒面具"],
    ),
    (
        "major_hazard",
        &[
            "重大危险源包保责任人未公示",
            "可燃气体检测报警器未接入控制室",
        ],
    ),
];

const CONTROL_LEVELS: &[&str] = &["company", "workshop", "team", "post"];
const PEOPLE: &[&str] = &[
    "王建国",
    "李志强",
    "张海涛",
    "刘洋",
    "陈明",
    "杨帆",
    "赵磊",
    "孙丽",
    "周涛",
    "吴刚",
];
const SUPERVISORS: &[&str] = &["区应急局 孟凡", "区应急局 郭卫东", "区应急局 于海"];

fn pick<'a, T>(rng: &mut ChaCha8Rng, list: &'a [T]) -> &'a T {
    &list[rng.gen_range(0..list.len())]
}

fn weighted(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.gen_range(0..total.max(1));
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// LEC factor combinations per colour under the default bands: a risk point's factors are
/// drawn so that it lands in the colour its template's weights chose.
fn lec_by_colour() -> [Vec<[f64; 3]>; 4] {
    let bands = Bands::default();
    let mut out: [Vec<[f64; 3]>; 4] = Default::default();
    for l in rules::LEC_L {
        // Demo assessments use the likely part of the tables, not "virtually impossible".
        if l < 0.5 {
            continue;
        }
        for e in rules::LEC_E {
            for c in rules::LEC_C {
                if let Ok(r) = rules::lec(l, e, c, &bands) {
                    out[4 - r.colour.rank() as usize].push([l, e, c]);
                }
            }
        }
    }
    out
}

pub fn generate(seed: u64, enterprises: &[DemoEnterprise], now_ms: i64) -> DemoDualPrev {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xD0A1_0001);
    let lec_sets = lec_by_colour();
    let bands = Bands::default();
    let mut out = DemoDualPrev::default();

    for (i, e) in enterprises.iter().enumerate() {
        let mut templates: Vec<&Template> = Vec::new();
        if e.hazchem {
            let mut t: Vec<&Template> = HAZCHEM.iter().collect();
            t.shuffle(&mut rng);
            templates.extend(t.into_iter().take(rng.gen_range(3..=5)));
        } else if e.gas_station {
            templates.extend(GAS_STATION.iter());
        } else if e.warehousing {
            templates.extend(WAREHOUSE.iter());
        } else {
            let mut t: Vec<&Template> = MANUFACTURING.iter().collect();
            t.shuffle(&mut rng);
            templates.extend(t.into_iter().take(rng.gen_range(1..=3)));
        }
        if e.dust {
            templates.push(&DUST);
        }
        templates.push(pick(&mut rng, COMMON));
        let mut points = Vec::new();
        for t in templates {
            let colour = weighted(&mut rng, &t.weights);
            let use_ls = rng.gen_bool(0.3);
            let (method, factors) = if use_ls {
                // L × S landing in the chosen colour's range.
                let choices: Vec<(u32, u32)> = (1..=5)
                    .flat_map(|l| (1..=5).map(move |s| (l, s)))
                    .filter(|(l, s)| 4 - bands.ls_colour(l * s).rank() as usize == colour)
                    .collect();
                let (l, s) = *pick(&mut rng, &choices);
                ("ls", vec![f64::from(l), f64::from(s)])
            } else {
                let set = &lec_sets[colour];
                let f = if set.is_empty() {
                    [1.0, 1.0, 1.0]
                } else {
                    *pick(&mut rng, set)
                };
                ("lec", f.to_vec())
            };
            points.push(DemoRiskPoint {
                enterprise: i,
                name: t.name.to_string(),
                kind: t.kind,
                location: format!(
                    "{}{}",
                    t.name,
                    if t.kind == "activity" { "现场" } else { "" }
                ),
                hazards: t.hazards.iter().map(|h| h.to_string()).collect(),
                accident_types: t.accidents.to_vec(),
                measures: t
                    .measures
                    .iter()
                    .map(|(c, text, cycle)| DemoMeasure {
                        category: c,
                        text: text.to_string(),
                        cycle: *cycle,
                    })
                    .collect(),
                control_level: pick::<&str>(&mut rng, CONTROL_LEVELS),
                responsible_person: pick(&mut rng, PEOPLE).to_string(),
                method,
                factors,
                assessed_at: now_ms - rng.gen_range(30..400) * DAY,
            });
        }

        // A year of hidden dangers: hazardous-chemical enterprises find more.
        let per_year = if e.hazchem {
            rng.gen_range(6..14)
        } else {
            rng.gen_range(1..6)
        };
        for _ in 0..per_year {
            let found_at = now_ms - rng.gen_range(0..365 * DAY);
            let hd = hidden_danger(&mut rng, i, &points, e.hazchem, found_at, now_ms);
            out.hidden_dangers.push(hd);
        }

        if e.hazchem {
            let today = rules::shanghai_day(now_ms);
            for back in 0..30_i64 {
                let day = today - chrono::Duration::days(back);
                if let Some(c) = commitment(&mut rng, i, e, day, now_ms) {
                    out.commitments.push(c);
                }
            }
        }
        out.risk_points.push(points);
    }
    out
}

fn hidden_danger(
    rng: &mut ChaCha8Rng,
    enterprise: usize,
    points: &[DemoRiskPoint],
    hazchem: bool,
    found_at: i64,
    now_ms: i64,
) -> DemoHiddenDanger {
    let major = rng.gen_bool(if hazchem { 0.04 } else { 0.01 });
    let (category, texts) = loop {
        let (c, t) = *pick(rng, FINDINGS);
        if hazchem || (c != "hazchem" && c != "major_hazard") {
            break (c, t);
        }
    };
    let description = pick(rng, texts).to_string();
    let source = *pick(
        rng,
        &[
            "self_check",
            "self_check",
            "self_check",
            "self_check",
            "inspection",
            "inspection",
            "grid_patrol",
            "public_report",
        ],
    );
    let enterprise_person = pick(rng, PEOPLE).to_string();
    let found_by = match source {
        "inspection" => pick(rng, SUPERVISORS).to_string(),
        "grid_patrol" => "网格员 韩冬".to_string(),
        "public_report" => "群众举报（12350）".to_string(),
        _ => enterprise_person.clone(),
    };
    let risk_point =
        (!points.is_empty() && rng.gen_bool(0.6)).then(|| rng.gen_range(0..points.len()));
    let location = risk_point
        .map(|p| points[p].location.clone())
        .unwrap_or_else(|| {
            pick(rng, &["生产车间", "仓库", "办公楼", "厂区道路", "配电室"]).to_string()
        });
    let mut hd = DemoHiddenDanger {
        enterprise,
        risk_point,
        location,
        description,
        source,
        category,
        level: if major {
            HdLevel::Major
        } else {
            HdLevel::General
        },
        found_by: found_by.clone(),
        found_at,
        state: HdState::Reported,
        measures: None,
        funds: None,
        responsible_person: None,
        deadline: None,
        contingency: None,
        rectification_result: None,
        rectified_at: None,
        closed_at: None,
        close_evidence: None,
        overdue_at: None,
        supervision: None,
        steps: vec![DemoStep {
            at: found_at,
            action: "reported",
            from: None,
            to: Some(HdState::Reported),
            actor: found_by,
            detail: serde_json::Value::Null,
        }],
    };
    let step = |hd: &mut DemoHiddenDanger,
                at: i64,
                action: &'static str,
                to: HdState,
                actor: &str,
                detail: serde_json::Value| {
        hd.steps.push(DemoStep {
            at,
            action,
            from: Some(hd.state),
            to: Some(to),
            actor: actor.to_string(),
            detail,
        });
        hd.state = to;
    };
    // The plan follows within two days; deadlines of 1–4 weeks, 1–3 months for major ones.
    let plan_at = found_at + rng.gen_range(2..48) * 3_600_000;
    if plan_at > now_ms {
        return hd;
    }
    let allowed = if major {
        rng.gen_range(30..90)
    } else {
        rng.gen_range(7..30)
    } * DAY;
    let deadline = rules::end_of_day_ms(rules::shanghai_day(plan_at + allowed));
    let measures = format!("针对“{}”制定整改措施并落实到人", hd.description);
    let funds = f64::from(rng.gen_range(1..60) * if major { 5000 } else { 500 });
    hd.measures = Some(measures.clone());
    hd.funds = Some(funds);
    hd.responsible_person = Some(enterprise_person.clone());
    hd.deadline = Some(deadline);
    hd.contingency = Some("整改期间加强巡查，设置警示标识".into());
    step(
        &mut hd,
        plan_at,
        "rectify",
        HdState::Rectifying,
        &enterprise_person,
        serde_json::json!({"measures": measures, "funds": funds, "deadline": crate::time::rfc3339(deadline)}),
    );
    // Most are rectified in a lognormal-ish time around a third of the allowed time; about one
    // in ten overruns its deadline.
    let span = allowed as f64 * (0.15 + rng.gen_range(0.0..0.8_f64).powi(2) * 1.6);
    let submitted_at = plan_at + span as i64;
    if major {
        let level = if hazchem { "district" } else { "town" };
        let officer = pick(rng, SUPERVISORS).to_string();
        let listed_at = plan_at + (rng.gen_range(1..5) * DAY).min((submitted_at - plan_at) / 2);
        if listed_at <= now_ms {
            let due = deadline + 7 * DAY;
            hd.supervision = Some((level, officer.clone(), due, listed_at));
            hd.steps.push(DemoStep {
                at: listed_at,
                action: "list",
                from: Some(hd.state),
                to: Some(hd.state),
                actor: officer,
                detail: serde_json::json!({"level": level, "due": crate::time::rfc3339(due)}),
            });
        }
    }
    let flag_overdue = |hd: &mut DemoHiddenDanger| {
        if hd.overdue_at.is_none() {
            hd.overdue_at = Some(deadline + 60_000);
            let step = overdue_step(hd, deadline + 60_000);
            hd.steps.push(step);
        }
    };
    // A few stall: the plan is there, the work is not done, the deadline passes. These are
    // the overdue ones the supervisors chase.
    let stalled = rng.gen_bool(if major { 0.12 } else { 0.006 });
    if stalled || submitted_at > now_ms {
        if now_ms > deadline {
            flag_overdue(&mut hd);
        }
        return hd;
    }
    if submitted_at > deadline {
        flag_overdue(&mut hd);
    }
    let result = "已按整改措施完成整改".to_string();
    hd.rectification_result = Some(result.clone());
    hd.rectified_at = Some(submitted_at);
    step(
        &mut hd,
        submitted_at,
        "submit",
        HdState::AwaitingAcceptance,
        &enterprise_person,
        serde_json::json!({"result": result}),
    );
    let accept_at = submitted_at + rng.gen_range(4..72) * 3_600_000;
    if accept_at > now_ms {
        if now_ms > deadline {
            flag_overdue(&mut hd);
        }
        return hd;
    }
    if accept_at > deadline {
        flag_overdue(&mut hd);
    }
    // Acceptance fails now and then: the enterprise reworks and submits again.
    let accept_at = if rng.gen_bool(0.06) {
        hd.rectified_at = None;
        step(
            &mut hd,
            accept_at,
            "reject",
            HdState::Rectifying,
            "区应急局 孟凡",
            serde_json::json!({"reason": "整改不彻底，需补充措施"}),
        );
        let again = accept_at + rng.gen_range(2..10) * DAY;
        if again > now_ms {
            if now_ms > deadline {
                flag_overdue(&mut hd);
            }
            return hd;
        }
        if again > deadline {
            flag_overdue(&mut hd);
        }
        hd.rectified_at = Some(again);
        step(
            &mut hd,
            again,
            "submit",
            HdState::AwaitingAcceptance,
            &enterprise_person,
            serde_json::json!({"result": "已补充整改措施"}),
        );
        let accepted = again + rng.gen_range(4..72) * 3_600_000;
        if accepted > now_ms {
            if now_ms > deadline {
                flag_overdue(&mut hd);
            }
            return hd;
        }
        if accepted > deadline {
            flag_overdue(&mut hd);
        }
        accepted
    } else {
        accept_at
    };
    let (acceptor, evidence) = if major || rng.gen_bool(0.3) {
        (pick(rng, SUPERVISORS).to_string(), None)
    } else {
        (
            enterprise_person.clone(),
            Some("整改前后照片及验收记录".to_string()),
        )
    };
    hd.closed_at = Some(accept_at);
    hd.close_evidence = evidence.clone();
    step(
        &mut hd,
        accept_at,
        "accept",
        HdState::Closed,
        &acceptor,
        serde_json::json!({"evidence": evidence}),
    );
    hd
}

fn overdue_step(hd: &DemoHiddenDanger, at: i64) -> DemoStep {
    DemoStep {
        at,
        action: "overdue",
        from: Some(hd.state),
        to: Some(hd.state),
        actor: "system".into(),
        detail: serde_json::json!({"deadline": hd.deadline.map(crate::time::rfc3339)}),
    }
}

fn commitment(
    rng: &mut ChaCha8Rng,
    enterprise: usize,
    e: &DemoEnterprise,
    day: chrono::NaiveDate,
    now_ms: i64,
) -> Option<DemoCommitment> {
    let deadline = rules::shanghai_ms(
        day,
        chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default(),
    );
    let roll: f64 = rng.gen_range(0.0..1.0);
    // About 3 % never filed, 4 % late, the rest between 07:30 and 09:55.
    if roll < 0.03 {
        return None;
    }
    let late = roll < 0.07;
    let committed_at = if late {
        deadline + rng.gen_range(5..240) * 60_000
    } else {
        deadline - rng.gen_range(5..150) * 60_000
    };
    if committed_at > now_ms {
        return None;
    }
    let mut operations = [0_i64; 8];
    for (i, op) in operations.iter_mut().enumerate() {
        let p = [0.35, 0.1, 0.05, 0.3, 0.15, 0.2, 0.08, 0.03][i];
        if rng.gen_bool(p) {
            *op = rng.gen_range(1..4);
        }
    }
    let maintenance = rng.gen_bool(0.1);
    let startup_shutdown = rng.gen_bool(0.04);
    let units = e
        .hazard_units
        .iter()
        .map(|u| {
            let state = if maintenance && rng.gen_bool(0.3) {
                "maintenance"
            } else {
                "normal"
            };
            (u.clone(), state)
        })
        .collect();
    // A few declare a safe state while an alarm went unacknowledged or a major hidden danger
    // stayed open: the board flags those.
    let contradictions = if rng.gen_bool(0.02) {
        rules::contradictions(true, rng.gen_range(1..3), 0)
    } else if rng.gen_bool(0.01) {
        rules::contradictions(true, 0, 1)
    } else {
        Vec::new()
    };
    Some(DemoCommitment {
        enterprise,
        day,
        committed_at,
        committer: pick(rng, PEOPLE).to_string(),
        units,
        operations,
        startup_shutdown,
        maintenance,
        safe_state: true,
        late,
        contradictions,
    })
}

/// A check of a demo check task in one of its periods.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoCheck {
    /// Index into the tasks given.
    pub task: usize,
    pub period_start: i64,
    pub checked_at: i64,
    pub findings: Option<&'static str>,
}

/// The checks done for `tasks` (cycle, start) up to `now_ms`: most periods are checked, a few
/// in twenty are missed (the board shows them), one check in forty finds something.
pub fn checks(seed: u64, tasks: &[(Cycle, i64)], now_ms: i64) -> Vec<DemoCheck> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC4EC_0002);
    let mut out = Vec::new();
    for (i, (cycle, starts_at)) in tasks.iter().enumerate() {
        for (start, end) in cycle.periods(*starts_at, now_ms, 64) {
            if end <= *starts_at || rng.gen_bool(0.05) {
                continue;
            }
            let from = start.max(*starts_at);
            let until = end.min(now_ms);
            if until <= from {
                continue;
            }
            // The current period may not be checked yet.
            if end > now_ms && rng.gen_bool(0.5) {
                continue;
            }
            let checked_at = from + rng.gen_range(0..(until - from).max(1));
            let findings = rng.gen_bool(0.025).then(|| {
                *pick(
                    &mut rng,
                    &[
                        "发现防护设施松动，已现场紧固",
                        "记录不完整，已补记",
                        "警示标识褪色，已更换",
                    ],
                )
            });
            out.push(DemoCheck {
                task: i,
                period_start: start,
                checked_at,
                findings,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn district() -> Vec<DemoEnterprise> {
        (0..300)
            .map(|i| DemoEnterprise {
                hazchem: i % 10 == 0,
                gas_station: i % 10 == 2,
                warehousing: i % 10 == 1,
                dust: i % 17 == 0,
                hazard_units: if i % 10 == 0 {
                    vec!["储罐区".into()]
                } else {
                    vec![]
                },
            })
            .collect()
    }

    const NOW: i64 = 1_796_112_000_000; // 2026-12-01T08:00Z

    #[test]
    fn the_demo_is_the_same_for_the_same_seed_and_clock() {
        let a = generate(7, &district(), NOW);
        let b = generate(7, &district(), NOW);
        assert_eq!(a.hidden_dangers.len(), b.hidden_dangers.len());
        assert_eq!(
            a.hidden_dangers[5].description,
            b.hidden_dangers[5].description
        );
        assert_eq!(a.commitments.len(), b.commitments.len());
    }

    #[test]
    fn every_enterprise_has_risk_points_and_reds_are_few() {
        let d = generate(7, &district(), NOW);
        assert!(d.risk_points.iter().all(|p| !p.is_empty()));
        let bands = Bands::default();
        let colours: Vec<crate::colour::Colour> =
            d.risk_points
                .iter()
                .flatten()
                .map(|p| match p.method {
                    "lec" => rules::lec(p.factors[0], p.factors[1], p.factors[2], &bands)
                        .map(|r| r.colour),
                    _ => rules::ls(p.factors[0], p.factors[1], &bands).map(|r| r.colour),
                })
                .collect::<Result<_, _>>()
                .expect("factors are in the tables");
        let red = colours
            .iter()
            .filter(|c| **c == crate::colour::Colour::Red)
            .count();
        let blue = colours
            .iter()
            .filter(|c| **c == crate::colour::Colour::Blue)
            .count();
        assert!(
            red > 0 && red * 20 < colours.len(),
            "{red} of {}",
            colours.len()
        );
        assert!(blue * 3 > colours.len());
    }

    #[test]
    fn hidden_dangers_follow_the_state_machine_and_some_are_overdue_or_supervised() {
        let d = generate(7, &district(), NOW);
        let hds = &d.hidden_dangers;
        assert!(hds.iter().any(|h| h.state == HdState::Closed));
        assert!(
            hds.iter()
                .any(|h| h.state != HdState::Closed && h.overdue_at.is_some())
        );
        assert!(hds.iter().any(|h| h.supervision.is_some()));
        for h in hds {
            // Every step is a move the rules allow (by an administrator, who may do all).
            let mut state = HdState::Reported;
            for s in &h.steps[1..] {
                let action = match s.action {
                    "rectify" => rules::HdAction::Rectify,
                    "submit" => rules::HdAction::Submit,
                    "accept" => rules::HdAction::Accept,
                    "reject" => rules::HdAction::Reject,
                    "list" => rules::HdAction::List,
                    _ => continue,
                };
                state = rules::transition(crate::auth::Role::Admin, action, h.level, state)
                    .expect("a move the rules allow");
                assert!(s.at <= NOW);
            }
            assert_eq!(state, h.state);
            assert!(
                h.steps
                    .windows(2)
                    .all(|w| w[0].at <= w[1].at || w[1].action == "overdue")
            );
            // As the sweep would have it: open past the deadline, or closed after it, is flagged.
            let past = h.deadline.is_some_and(|d| h.closed_at.unwrap_or(NOW) > d);
            assert_eq!(h.overdue_at.is_some(), past, "{h:?}");
        }
    }

    #[test]
    fn checks_fall_inside_their_periods_and_a_few_are_missed() {
        let tasks = vec![
            (Cycle::Daily, NOW - 30 * DAY),
            (Cycle::Weekly, NOW - 30 * DAY),
        ];
        let done = checks(7, &tasks, NOW);
        let daily = done.iter().filter(|c| c.task == 0).count();
        assert!((24..=31).contains(&daily), "{daily}");
        for c in &done {
            let (start, end) = tasks[c.task].0.period_of(c.checked_at);
            assert_eq!(start, c.period_start);
            assert!(c.checked_at < end && c.checked_at <= NOW && c.checked_at >= tasks[c.task].1);
        }
    }

    #[test]
    fn commitments_cover_thirty_days_with_a_few_missing_late_and_contradictory() {
        let d = generate(7, &district(), NOW);
        let hazchem = district().iter().filter(|e| e.hazchem).count();
        let n = d.commitments.len();
        assert!(n < hazchem * 30 && n > hazchem * 25, "{n}");
        assert!(d.commitments.iter().any(|c| c.late));
        assert!(d.commitments.iter().any(|c| !c.contradictions.is_empty()));
        assert!(d.commitments.iter().all(|c| c.committed_at <= NOW));
    }
}
