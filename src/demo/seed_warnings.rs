//! The demo's early warnings: a few past warnings (a rainstorm raised from orange to red, a
//! district-wide heatwave, a hazardous-chemical leak cancelled once contained), one gale
//! warning in force now and one meteorological CAP imported and waiting to be relayed.
//!
//! Everything goes through the real workflow (`warning::store`) on an injected clock: drafts,
//! four-eyes approval, publishing with its CAP, relays, town acknowledgements and
//! dissemination reports, the clock's escalations and expiries. Only the channels' answers are
//! history written here: the demo has no SMS gateway or village loudspeakers to talk to, so the
//! deliveries of these past messages are recorded as delivered (or, for one in twenty, dead
//! after five attempts) at plausible times. New warnings published in the demo go through the
//! dispatcher for real.

use crate::auth::{CurrentUser, Role};
use crate::colour::Colour;
use crate::config::WarningSettings;
use crate::db::{Db, Sql};
use crate::warning::model::{Area, Content};
use crate::warning::{area, cap, store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

#[derive(Debug, Default)]
pub struct WarningsReport {
    pub warnings: usize,
    pub subscribers: usize,
    pub relays: i64,
    pub deliveries: i64,
}

async fn current_user(db: &Db, username: &str) -> anyhow::Result<Option<CurrentUser>> {
    Ok(crate::auth::store::get_user_by_name(db, username)
        .await?
        .map(|u| CurrentUser {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            town_code: u.town_code,
            enterprise_id: u.enterprise_id,
            token_hash: String::new(),
        }))
}

/// The safety station (安监站) account of each town, who acknowledges its relays; created
/// with a random password (the demo's `town` account is the one to log in with).
async fn town_staff(db: &Db, towns: &[area::TownShape]) -> anyhow::Result<Vec<CurrentUser>> {
    let actor = crate::audit::Actor::system("demo");
    let mut out = Vec::new();
    for t in towns {
        let username = format!("station{}", &t.code[6..]);
        if current_user(db, &username).await?.is_none() {
            let req = crate::auth::routes::CreateUser {
                username: username.clone(),
                display_name: format!("{}安监站", t.name),
                password: format!("Demo-{}", crate::auth::random_token()),
                role: Role::Town,
                town_code: Some(t.code.clone()),
                enterprise_id: None,
            };
            crate::auth::routes::create_user(db, &actor, req)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        if let Some(u) = current_user(db, &username).await? {
            out.push(u);
        }
    }
    Ok(out)
}

/// Public subscribers of every town: people by SMS or e-mail, and village loudspeakers (村村响)
/// and community groups over webhooks, each reaching many.
async fn seed_subscribers(
    db: &Db,
    towns: &[area::TownShape],
    rng: &mut ChaCha8Rng,
    at: i64,
) -> anyhow::Result<usize> {
    let mut tx = db.begin().await?;
    let mut n = 0;
    for t in towns {
        let people = rng.gen_range(25..60);
        let speakers = rng.gen_range(3..9);
        for i in 0..people + speakers {
            let (channel, address, reach, name) = if i < people {
                if rng.gen_bool(0.8) {
                    let phone = format!(
                        "1{}{:09}",
                        rng.gen_range(3..10),
                        rng.gen_range(0..1_000_000_000u64)
                    );
                    ("sms", phone, 1i64, String::new())
                } else {
                    (
                        "email",
                        format!("resident{}.{}@example.cn", &t.code[6..], i),
                        1,
                        String::new(),
                    )
                }
            } else {
                let k = i - people + 1;
                (
                    "webhook",
                    format!(
                        "https://broadcast.wuqing.invalid/towns/{}/speakers/{k}",
                        t.code
                    ),
                    rng.gen_range(800..4000),
                    format!("{}第{k}应急广播终端", t.name),
                )
            };
            let token = crate::auth::random_token();
            tx.execute(
                &Sql::new(
                    "INSERT INTO subscribers (id, town_code, name, channel, address, reach, audience, consent_at, consent_text, \
                     source, unsubscribe_token_hash, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'public', $7, $8, $9, $10, $7, $7)",
                )
                .bind(crate::db::new_id())
                .bind(t.code.as_str())
                .bind(name)
                .bind(channel)
                .bind(address)
                .bind(reach)
                .bind(at)
                .bind("本人同意接收武清区突发事件预警信息，可随时退订。")
                .bind(if channel == "webhook" { "staff-entered" } else { "public" })
                .bind(crate::auth::token_hash(&token)),
            )
            .await?;
            n += 1;
        }
    }
    tx.commit().await?;
    Ok(n)
}

/// `texts`: headline, description, instruction.
fn content(
    event_type: &str,
    level: Colour,
    texts: [&str; 3],
    area: Area,
    t0: i64,
    hours: i64,
) -> Content {
    let t = crate::warning::model::event_type(event_type).copied();
    Content {
        status: "Actual".into(),
        scope: "public".into(),
        event_type: event_type.into(),
        level,
        urgency: t.map_or("Expected", |t| t.urgency).into(),
        certainty: t.map_or("Likely", |t| t.certainty).into(),
        response_type: None,
        headline: texts[0].into(),
        description: texts[1].into(),
        instruction: texts[2].into(),
        headline_en: None,
        description_en: None,
        instruction_en: None,
        area,
        area_desc: String::new(),
        effective_at: t0,
        onset_at: None,
        expires_at: t0 + hours * HOUR,
    }
}

struct Demo<'a> {
    db: &'a Db,
    settings: &'a WarningSettings,
    towns: Vec<area::TownShape>,
    duty: CurrentUser,
    leader: CurrentUser,
    staff: Vec<CurrentUser>,
}

impl Demo<'_> {
    /// Draft at `t0`, submitted, approved by the leader and published a few minutes later.
    async fn publish(
        &self,
        c: Content,
        t0: i64,
        msg: (&str, Option<&str>),
    ) -> anyhow::Result<store::Warning> {
        let composed =
            store::compose(c, &self.towns).map_err(|e| anyhow::anyhow!("demo warning: {e}"))?;
        let w = store::create_draft(
            self.db,
            &composed,
            &self.duty,
            self.settings,
            msg.0,
            msg.1,
            t0,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        self.publish_draft(&w.id, t0).await
    }

    async fn publish_draft(&self, id: &str, t0: i64) -> anyhow::Result<store::Warning> {
        let e = |e: crate::error::ApiError| anyhow::anyhow!("{e}");
        store::review(
            self.db,
            id,
            crate::warning::model::Step::Submit,
            None,
            &self.duty,
            t0 + 2 * MINUTE,
        )
        .await
        .map_err(e)?;
        store::review(
            self.db,
            id,
            crate::warning::model::Step::Approve,
            None,
            &self.leader,
            t0 + 6 * MINUTE,
        )
        .await
        .map_err(e)?;
        let w = store::publish(self.db, id, &self.duty, self.settings, t0 + 8 * MINUTE)
            .await
            .map_err(e)?;
        self.deliveries_done(id, t0 + 8 * MINUTE).await?;
        Ok(w)
    }

    /// The channels' answers to a past message (see the module comment).
    async fn deliveries_done(&self, id: &str, sent: i64) -> anyhow::Result<()> {
        self.db
            .execute(
                &Sql::new(
                    "UPDATE deliveries SET state = 'delivered', attempts = 1, delivered_at = $2 + (id % 90) * 1000, \
                     receipt = CASE channel WHEN 'sms' THEN 'demo-sms-' || CAST(id AS TEXT) WHEN 'email' THEN '250 2.0.0 OK' \
                     WHEN 'webhook' THEN 'HTTP 200' ELSE 'event' END, updated_at = $2 + (id % 90) * 1000 \
                     WHERE warning_id = $1 AND state = 'queued' AND (channel = 'live' OR id % 20 <> 7)",
                )
                .bind(id)
                .bind(sent),
            )
            .await?;
        self.db
            .execute(
                &Sql::new(
                    "UPDATE deliveries SET state = 'dead', attempts = 5, last_error = CASE channel WHEN 'sms' THEN '空号或已停机' \
                     WHEN 'email' THEN '550 mailbox unavailable' ELSE 'HTTP 503 after 5 attempts' END, updated_at = $2 + 1800000 \
                     WHERE warning_id = $1 AND state = 'queued'",
                )
                .bind(id)
                .bind(sent),
            )
            .await?;
        Ok(())
    }

    /// Towns acknowledge within minutes and report how many they reached; `late` towns only
    /// after the clock escalated them; `silent` ones never.
    async fn towns_answer(
        &self,
        w: &store::Warning,
        t: i64,
        rng: &mut ChaCha8Rng,
        late: usize,
        silent: usize,
    ) -> anyhow::Result<()> {
        let relays = store::relays_of(self.db, &w.id).await?;
        let n = relays.len();
        for (i, r) in relays.iter().enumerate() {
            if i >= n.saturating_sub(silent) {
                continue;
            }
            let is_late = i >= n.saturating_sub(silent + late);
            let ack_at = if is_late {
                t + rng.gen_range(20..40) * MINUTE
            } else {
                t + rng.gen_range(2..14) * MINUTE
            };
            let Some(staff) = self
                .staff
                .iter()
                .find(|s| s.town_code.as_deref() == Some(r.town_code.as_str()))
            else {
                continue;
            };
            if is_late {
                store::sweep(self.db, t + (self.settings.relay_ack_minutes + 1) * MINUTE)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            store::acknowledge(self.db, &r.id, staff, ack_at)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let population = self
                .towns
                .iter()
                .find(|x| x.code == r.town_code)
                .and_then(|x| x.population)
                .unwrap_or(20_000);
            // Most towns reach nearly everyone; a few fall short of the 90% target.
            let share = if i % 7 == 3 {
                rng.gen_range(0.45..0.7)
            } else {
                rng.gen_range(0.78..0.95)
            };
            let channels: Vec<String> = ["loudspeaker", "wechat", "sms", "door_to_door"]
                .iter()
                .filter(|_| rng.gen_bool(0.6))
                .map(|s| s.to_string())
                .collect();
            let d = store::Dissemination {
                channels: if channels.is_empty() {
                    vec!["loudspeaker".into()]
                } else {
                    channels
                },
                people_reached: (population as f64 * share) as i64,
                note: Some("村村响广播、微信工作群转发，网格员入户通知老弱病残".into()),
            };
            store::record_dissemination(
                self.db,
                &r.id,
                &d,
                staff,
                ack_at + rng.gen_range(20..90) * MINUTE,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok(())
    }
}

/// Seeds the demo's warnings into a demo store that has none (after the demo accounts exist).
pub async fn seed(
    db: &Db,
    settings: &WarningSettings,
    seed: u64,
    now_ms: i64,
) -> anyhow::Result<WarningsReport> {
    let existing: i64 = db
        .fetch_scalar(&Sql::new("SELECT COUNT(*) FROM warnings"))
        .await?;
    let (Some(duty), Some(leader)) = (
        current_user(db, "duty").await?,
        current_user(db, "leader").await?,
    ) else {
        return Ok(WarningsReport::default());
    };
    if existing > 0 {
        return Ok(WarningsReport::default());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5741_524e);
    let towns = area::load_towns(db).await?;
    if towns.is_empty() {
        return Ok(WarningsReport::default());
    }
    let subscribers = seed_subscribers(db, &towns, &mut rng, now_ms - 120 * DAY).await?;
    let staff = town_staff(db, &towns).await?;
    let demo = Demo {
        db,
        settings,
        towns,
        duty,
        leader,
        staff,
    };
    let codes = |range: std::ops::Range<usize>| -> Vec<String> {
        demo.towns
            .iter()
            .skip(range.start)
            .take(range.len())
            .map(|t| t.code.clone())
            .collect()
    };
    let mut count = 0;

    // 1. A summer rainstorm: orange, raised to red three hours later, then expired.
    let t0 = now_ms - 47 * DAY - 5 * HOUR;
    let rain = demo
        .publish(
            content("rainstorm", Colour::Orange, ["武清区发布暴雨橙色预警", "受副热带高压边缘暖湿气流影响，预计未来6小时内我区北部、西部将出现50毫米以上降水，局地伴有短时大风。", "停止户外作业和集会；转移低洼地带、危旧房屋人员；各镇街园区做好排涝准备。"],
                Area::Towns { town_codes: codes(0..12) },
                t0,
                12,
            ),
            t0,
            ("Alert", None),
        )
        .await?;
    demo.towns_answer(&rain, t0 + 8 * MINUTE, &mut rng, 1, 0)
        .await?;
    let t1 = t0 + 3 * HOUR;
    let e = |e: crate::error::ApiError| anyhow::anyhow!("{e}");
    let upd = store::start_update(db, &rain.id, &demo.duty, settings, t1)
        .await
        .map_err(e)?;
    let mut c = content(
        "rainstorm",
        Colour::Red,
        [
            "武清区暴雨橙色预警升级为红色预警",
            "过去3小时我区北部降水已达80毫米，预计未来3小时仍将出现100毫米以上降水。",
            "立即停止一切户外活动；危险地带人员全部撤离；地下空间、低洼路段封闭管理。",
        ],
        Area::Towns {
            town_codes: codes(0..12),
        },
        t1,
        9,
    );
    c.effective_at = t1;
    let composed = store::compose(c, &demo.towns).map_err(e)?;
    store::update_draft(db, &upd.id, &composed, &demo.duty, t1 + MINUTE)
        .await
        .map_err(e)?;
    let red = demo.publish_draft(&upd.id, t1).await?;
    demo.towns_answer(&red, t1 + 8 * MINUTE, &mut rng, 0, 0)
        .await?;
    store::sweep(db, t1 + 10 * HOUR).await.map_err(e)?;
    count += 2;

    // 2. A heatwave over the whole district; two towns answer only after escalation.
    let t0 = now_ms - 21 * DAY - 9 * HOUR;
    let all: Vec<String> = demo.towns.iter().map(|t| t.code.clone()).collect();
    let heat = demo
        .publish(
            content("heatwave", Colour::Yellow, ["武清区发布高温黄色预警", "预计未来三天我区最高气温将达35℃以上，午后局地37℃。", "避免午后高温时段户外作业；危化品企业加强储罐喷淋降温和巡检；关注老人儿童防暑。"],
                Area::Towns { town_codes: all },
                t0,
                72,
            ),
            t0,
            ("Alert", None),
        )
        .await?;
    demo.towns_answer(&heat, t0 + 8 * MINUTE, &mut rng, 2, 1)
        .await?;
    store::sweep(db, t0 + 73 * HOUR).await.map_err(e)?;
    count += 1;

    // 3. A hazardous-chemical leak: a 3 km circle around a chemical plant, cancelled once
    //    contained.
    let plant: Option<(f64, f64)> = db
        .fetch_optional(&Sql::new(
            "SELECT lon, lat FROM enterprises WHERE lon IS NOT NULL AND lat IS NOT NULL AND name LIKE '%化%' ORDER BY credit_code LIMIT 1",
        ))
        .await?;
    if let Some((lon, lat)) = plant {
        let t0 = now_ms - 6 * DAY - 14 * HOUR;
        let mut c = content(
            "hazchem",
            Colour::Orange,
            [
                "武清区发布危险化学品泄漏橙色预警",
                "园区内一化工企业储罐区发生液氨泄漏，现场已启动应急处置，下风向3公里范围内可能受影响。",
                "下风向居民关闭门窗、减少外出；听从现场指挥疏散；勿靠近警戒区域。",
            ],
            Area::Circle {
                center: [lon, lat],
                radius_km: 3.0,
            },
            t0,
            12,
        );
        c.response_type = Some("Shelter".into());
        let leak = demo.publish(c, t0, ("Alert", None)).await?;
        demo.towns_answer(&leak, t0 + 8 * MINUTE, &mut rng, 0, 0)
            .await?;
        let cancel = store::cancel(
            db,
            &leak.id,
            "泄漏点已封堵，现场检测氨浓度恢复正常，解除预警。",
            &demo.duty,
            settings,
            t0 + 4 * HOUR,
        )
        .await
        .map_err(e)?;
        demo.deliveries_done(&cancel.id, t0 + 4 * HOUR).await?;
        demo.towns_answer(&cancel, t0 + 4 * HOUR, &mut rng, 0, 0)
            .await?;
        count += 2;
    }

    // 4. In force now: a gale warning; most towns acknowledged, the last still pending.
    let t0 = now_ms - 40 * MINUTE;
    let gale = demo
        .publish(
            content("gale", Colour::Blue, ["武清区发布大风蓝色预警", "预计今天夜间到明天白天我区将出现6级以上偏北大风，阵风8级。", "加固户外广告牌、脚手架和临时建筑；停止高空作业；危化品企业检查储罐区防风措施。"],
                Area::Towns {
                    town_codes: codes(3..9),
                },
                t0,
                20,
            ),
            t0,
            ("Alert", None),
        )
        .await?;
    demo.towns_answer(&gale, t0 + 8 * MINUTE, &mut rng, 0, 1)
        .await?;
    count += 1;

    // 5. A fog warning of the city's meteorological observatory, imported and not yet relayed.
    let t0 = now_ms - 25 * MINUTE;
    let fog_towns: Vec<crate::warning::model::TownArea> = demo
        .towns
        .iter()
        .take(3)
        .map(area::TownShape::town_area)
        .collect();
    let fog_content = content(
        "fog",
        Colour::Yellow,
        [
            "天津市气象台发布大雾黄色预警信号",
            "预计明天凌晨到上午武清区、北辰区将出现能见度小于500米的浓雾。",
            "驾驶人员注意控制车速；机场、高速公路做好交通安全管理。",
        ],
        Area::Towns {
            town_codes: fog_towns.iter().map(|t| t.code.clone()).collect(),
        },
        t0,
        14,
    );
    let sent = t0 - t0.rem_euclid(1000);
    let alert = cap::build(
        &Content {
            area_desc: "武清区".into(),
            ..fog_content
        },
        &cap::BuildContext {
            district_code: None,
            identifier: &cap::identifier("120000", "416", sent, 1),
            sender: "tjqxt@tj.cma.gov.cn",
            sender_name: "天津市气象台",
            sent_ms: sent,
            msg_type: "Alert",
            references: vec![],
            towns: &fog_towns,
            web: None,
            note: None,
        },
    );
    let xml = cap::to_xml(&alert);
    let parsed = cap::parse(&xml).map_err(|e| anyhow::anyhow!("demo CAP: {e}"))?;
    store::import(db, &xml, &parsed, &demo.duty, t0 + 2 * MINUTE)
        .await
        .map_err(e)?;
    count += 1;

    let relays: i64 = db
        .fetch_scalar(&Sql::new("SELECT COUNT(*) FROM warning_relays"))
        .await?;
    let deliveries: i64 = db
        .fetch_scalar(&Sql::new("SELECT COUNT(*) FROM deliveries"))
        .await?;
    tracing::debug!(
        warnings = count,
        subscribers,
        relays,
        deliveries,
        "demo warnings seeded"
    );
    Ok(WarningsReport {
        warnings: count,
        subscribers,
        relays,
        deliveries,
    })
}
