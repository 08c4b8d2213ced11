//! CAP 1.2 against the official OASIS schema (tests/data/CAP-v1.2.xsd) with xmllint: every
//! message Yingji can emit validates and reads back to the same alert; the foreign samples
//! in tests/data/cap validate and read with the expected fields; documents the parser refuses
//! are refused by the schema too.

use std::path::{Path, PathBuf};
use std::process::Command;

use yingji::colour::Colour;
use yingji::warning::cap::{self, BuildContext, Reference};
use yingji::warning::model::{self, Area, Content, TownArea};

const XSD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/CAP-v1.2.xsd");
const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cap");

/// 2026-07-01T00:30:00Z = 08:30 in Beijing.
const T0: i64 = 1_782_865_800_000;

/// Runs xmllint offline over the files; (success, stderr). Missing xmllint is a failure, not
/// a skip: CI installs it (.ci/run), and a skipped schema check would let invalid CAP ship.
fn xmllint(files: &[PathBuf]) -> (bool, String) {
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", XSD])
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "xmllint could not be run ({e}): install libxml2-utils \
                 (apt-get install -y libxml2-utils); the CAP schema tests need it"
            )
        });
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_valid(files: &[PathBuf]) {
    let (ok, stderr) = xmllint(files);
    let failures: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.ends_with(" validates"))
        .take(20)
        .collect();
    assert!(ok, "schema validation failed:\n{}", failures.join("\n"));
    assert_eq!(
        stderr.lines().filter(|l| l.ends_with(" validates")).count(),
        files.len()
    );
}

/// A town outline with `n` vertices around (lon, lat), wobbly like a surveyed boundary.
fn town(code: &str, name: &str, lon: f64, lat: f64, n: usize) -> TownArea {
    let mut ring: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            let r = 0.04 + 0.006 * (a * 9.0).sin() + 0.002 * (a * 31.0).cos();
            [lon + r * a.cos() * 1.3, lat + r * a.sin()]
        })
        .collect();
    ring.push(ring[0]);
    TownArea {
        code: code.into(),
        name: name.into(),
        rings: vec![ring],
    }
}

fn towns() -> Vec<TownArea> {
    let mut yangcun = town("120114001", "杨村街道", 117.05, 39.38, 1500);
    // A second ring (an exclave), as multipolygon boundaries have.
    yangcun
        .rings
        .push(town("x", "x", 117.16, 39.33, 12).rings.remove(0));
    vec![
        yangcun,
        town("120114002", "下朱庄街道", 117.10, 39.42, 80),
        TownArea {
            code: "120114003".into(),
            name: "东蒲洼街道".into(),
            rings: vec![],
        },
    ]
}

fn content(event_type: &str, level: Colour, area: Area, english: bool, scope: &str) -> Content {
    let t = model::event_type(event_type).expect("known type");
    Content {
        status: "Actual".into(),
        scope: scope.into(),
        event_type: event_type.into(),
        level,
        urgency: t.urgency.into(),
        certainty: t.certainty.into(),
        response_type: (level >= Colour::Orange).then(|| "Prepare".to_string()),
        headline: format!("武清区发布{}{}预警", t.zh, model::level_zh(level)),
        description: format!(
            "预计未来24小时内武清区将出现{}，请注意防范 & 关注 <最新> 预报。",
            t.zh
        ),
        instruction: if level == Colour::Blue {
            String::new()
        } else {
            "各单位按照职责做好应对工作。".into()
        },
        headline_en: english.then(|| format!("{} {} warning", model::level_en(level), t.en)),
        description_en: english.then(|| format!("{} expected in Wuqing.", t.en)),
        instruction_en: None,
        area,
        area_desc: if scope == "public" {
            "武清区杨村街道、下朱庄街道".into()
        } else {
            String::new()
        },
        effective_at: T0,
        onset_at: (level == Colour::Red).then_some(T0 + 1_800_000),
        expires_at: T0 + 86_400_000,
    }
}

#[test]
fn every_message_yingji_can_emit_validates_and_reads_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let towns = towns();
    let areas = [
        Area::Towns {
            town_codes: towns.iter().map(|t| t.code.clone()).collect(),
        },
        Area::Polygon {
            polygon: vec![[117.0, 39.3], [117.2, 39.3], [117.2, 39.45], [117.05, 39.5]],
        },
        Area::Circle {
            center: [117.04871, 39.23056],
            radius_km: 5.0,
        },
    ];
    let previous = Reference::new(
        "yingji@120114.gov.cn",
        &cap::identifier("120114", "000", T0 - 3_600_000, 0),
        T0 - 3_600_000,
    );
    let mut files = Vec::new();
    let mut n = 0u32;
    for t in model::EVENT_TYPES {
        for level in Colour::ALL {
            for (ai, area) in areas.iter().enumerate() {
                for english in [false, true] {
                    for msg_type in ["Alert", "Update", "Cancel"] {
                        for scope in ["public", "restricted"] {
                            n += 1;
                            let c = content(t.key, level, area.clone(), english, scope);
                            assert_eq!(c.validate(), Ok(()));
                            let target: &[TownArea] = if ai == 2 { &towns[..1] } else { &towns };
                            let sent = T0 + i64::from(n) * 1000;
                            let id = cap::identifier("120114", "000", sent, (n % 10) as u8);
                            let ctx = BuildContext {
                                identifier: &id,
                                sender: "yingji@120114.gov.cn",
                                sender_name: "天津市武清区应急管理局",
                                sent_ms: sent,
                                msg_type,
                                references: if msg_type == "Alert" {
                                    vec![]
                                } else {
                                    vec![previous.clone()]
                                },
                                towns: target,
                                web: Some("https://yingji.example/public/warnings/01J0"),
                                note: (msg_type == "Cancel").then_some("解除预警"),
                                district_code: (ai == 0).then_some("120114"),
                            };
                            let alert = cap::build(&c, &ctx);
                            let xml = cap::to_xml(&alert);
                            let back = cap::parse(&xml).unwrap_or_else(|e| panic!("{e} in\n{xml}"));
                            assert_eq!(back, alert, "round trip of {}", t.key);
                            assert_eq!(alert.infos.len(), if english { 2 } else { 1 });
                            let path = dir.path().join(format!(
                                "{n:04}-{}-{}-{ai}-{english}-{msg_type}-{scope}.xml",
                                t.key,
                                level.key()
                            ));
                            std::fs::write(&path, &xml).expect("write");
                            files.push(path);
                        }
                    }
                }
            }
        }
    }
    assert_eq!(files.len(), 18 * 4 * 3 * 2 * 3 * 2);
    assert_valid(&files);
}

#[test]
fn a_towns_message_carries_every_ring_simplified_and_every_town_code() {
    let towns = towns();
    let c = content(
        "rainstorm",
        Colour::Red,
        Area::Towns {
            town_codes: towns.iter().map(|t| t.code.clone()).collect(),
        },
        true,
        "public",
    );
    let ctx = BuildContext {
        identifier: "12011400000000_20260701083000_0",
        sender: "yingji@120114.gov.cn",
        sender_name: "天津市武清区应急管理局",
        sent_ms: T0,
        msg_type: "Alert",
        references: vec![],
        towns: &towns,
        web: None,
        note: None,
        district_code: None,
    };
    let alert = cap::build(&c, &ctx);
    let area = &alert.infos[0].areas[0];
    // Two rings of the first town, one of the second, none of the third (no boundary).
    assert_eq!(area.polygons.len(), 3);
    assert!(area.polygons[0].len() <= cap::MAX_RING_POINTS);
    assert_eq!(area.polygons[1].len(), 13);
    assert_eq!(area.polygons[2].len(), 81);
    let codes: Vec<&str> = area.geocodes.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(codes, ["120114001", "120114002", "120114003"]);
    let xml = cap::to_xml(&alert);
    assert!(xml.len() < 60_000, "{} bytes", xml.len());
    // lat,lon order with 5 decimals at most.
    let first = xml
        .split("<polygon>")
        .nth(2)
        .and_then(|s| s.split_whitespace().next())
        .expect("a polygon");
    let (lat, lon) = first.split_once(',').expect("lat,lon");
    let lat: f64 = lat.parse().expect("lat");
    let lon: f64 = lon.parse().expect("lon");
    assert!(
        (39.0..40.0).contains(&lat) && (117.0..118.0).contains(&lon),
        "{first}"
    );
    assert!(
        first
            .split(',')
            .all(|n| n.split('.').nth(1).is_none_or(|d| d.len() <= 5))
    );
}

fn sample(name: &str) -> (PathBuf, cap::Alert) {
    let path = Path::new(SAMPLES).join(name);
    let xml = std::fs::read_to_string(&path).expect("sample");
    let alert = cap::parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
    (path, alert)
}

#[test]
fn foreign_samples_validate_and_read_with_their_fields() {
    let mut files = Vec::new();

    let (p, a) = sample("cma-rainstorm-tianjin.xml");
    files.push(p);
    assert_eq!(a.identifier, "12000041600000_20260701063000_1");
    assert_eq!(a.identifier.len(), 31);
    assert_eq!(a.sender, "tjmb@cma.example");
    assert_eq!(a.sent_ms, T0 - 7_200_000);
    assert_eq!(a.sent_offset_min, 480);
    assert_eq!(a.code, ["GB/T 35965.1-2018"]);
    assert_eq!(a.infos.len(), 2);
    let zh = a.main_info().expect("info");
    assert_eq!(zh.language, "zh-CN");
    assert_eq!(zh.event_type().key, "rainstorm");
    assert_eq!(zh.level(), Some(Colour::Orange));
    assert_eq!(zh.severity, "Severe");
    assert_eq!(zh.onset_ms, Some(T0 - 1_800_000));
    assert_eq!(zh.expires_ms, Some(T0 - 7_200_000 + 86_400_000));
    assert_eq!(zh.event_code("tjmb:signal"), Some("rainstorm-orange"));
    assert_eq!(zh.contact.as_deref(), Some("022-12121"));
    assert_eq!(zh.areas[0].polygons[0].len(), 7);
    assert_eq!(zh.areas[0].polygons[0][0], [116.88, 39.52]);
    assert_eq!(a.geocodes(), ["120114", "120113"]);
    assert_eq!(a.infos[1].event_type().key, "rainstorm");
    assert_eq!(a.infos[1].level(), Some(Colour::Orange));

    let (p, a) = sample("beichen-hazchem-circle.xml");
    files.push(p);
    assert_eq!(a.sender, "yjj@beichen.example");
    assert!(a.note.as_deref().is_some_and(|n| n.contains("越过区界")));
    let i = &a.infos[0];
    assert_eq!(i.categories, ["CBRNE", "Safety"]);
    assert_eq!(i.response_types, ["Shelter", "Avoid"]);
    assert_eq!(i.event_type().key, "hazchem");
    assert_eq!(i.level(), Some(Colour::Red));
    assert_eq!(i.areas[0].circles, [([117.04871, 39.23056], 5.0)]);
    assert!(i.areas[0].polygons.is_empty());
    assert_eq!(a.geocodes(), ["120113107", "120114110"]);
    let rings = i.areas[0].rings(32);
    assert_eq!(rings.len(), 1);
    assert_eq!(rings[0].len(), 33);

    let (p, a) = sample("multi-area-multi-info.xml");
    files.push(p);
    assert_eq!(a.msg_type, "Update");
    assert_eq!(a.source.as_deref(), Some("天津市气象台首席预报员"));
    assert_eq!(a.code.len(), 2);
    assert_eq!(a.incidents.as_deref(), Some("2026-07-01-rain"));
    assert_eq!(
        a.references,
        [Reference {
            sender: "tjmb@cma.example".into(),
            identifier: "12000041600000_20260701063000_1".into(),
            sent_ms: T0 - 7_200_000,
            sent_text: "2026-07-01T06:30:00+08:00".into(),
        }]
    );
    assert_eq!(a.infos.len(), 3);
    assert_eq!(a.infos[0].areas.len(), 2);
    assert_eq!(a.infos[0].areas[0].polygons.len(), 2);
    assert_eq!(a.infos[0].areas[1].circles.len(), 2);
    assert_eq!(a.infos[0].areas[1].altitude, Some(0.0));
    assert_eq!(a.infos[0].areas[1].ceiling, Some(3000.0));
    assert_eq!(a.infos[0].audience.as_deref(), Some("公众"));
    assert_eq!(a.infos[0].resources[0].size, Some(48213));
    assert_eq!(a.infos[0].resources[0].mime_type, "image/png");
    assert_eq!(a.infos[1].event_type().key, "flood");
    assert_eq!(a.infos[1].level(), Some(Colour::Yellow));
    assert_eq!(a.infos[1].categories, ["Met", "Infra"]);
    assert!(a.infos[2].areas.is_empty());
    assert_eq!(a.main_info().map(|i| i.event.as_str()), Some("暴雨"));

    let (p, a) = sample("prefixed-cdata.xml");
    files.push(p);
    assert_eq!(a.status, "Exercise");
    assert_eq!(a.scope, "Restricted");
    assert_eq!(a.restriction.as_deref(), Some("仅限应急管理部门"));
    let i = &a.infos[0];
    assert_eq!(i.event_type().key, "forest_fire");
    assert_eq!(i.level(), Some(Colour::Orange));
    assert_eq!(
        i.headline.as_deref(),
        Some("【演练】蓟州区森林火灾橙色预警 & 防火提示")
    );
    assert_eq!(
        i.description.as_deref(),
        Some("盘山景区周边林地火险等级 <4级>，请勿野外用火 & 吸烟。")
    );
    assert_eq!(i.areas[0].polygons[0].len(), 4);

    let (p, a) = sample("signed.xml");
    files.push(p);
    assert_eq!(a.msg_type, "Cancel");
    assert_eq!(
        a.references[0].identifier,
        "12011300100000_20260701143512_0"
    );
    assert_eq!(a.infos[0].response_types, ["AllClear"]);
    assert_eq!(a.infos[0].level(), Some(Colour::Blue));

    // Written back, an import is still valid CAP (the document order is ours).
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rewritten = Vec::new();
    for f in &files {
        let a = cap::parse(&std::fs::read_to_string(f).expect("read")).expect("parse");
        let xml = cap::to_xml(&a);
        assert_eq!(cap::parse(&xml).expect("reparse"), a);
        let p = dir.path().join(f.file_name().expect("name"));
        std::fs::write(&p, xml).expect("write");
        rewritten.push(p);
    }
    files.extend(rewritten);
    // Every sample in the folder is checked here.
    let on_disk = std::fs::read_dir(SAMPLES)
        .expect("samples")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "xml"))
        })
        .count();
    assert_eq!(on_disk, 5);
    assert_valid(&files);
}

#[test]
fn extensions_are_skipped_although_the_schema_refuses_them() {
    let path = Path::new(SAMPLES).join("lenient/extensions.xml");
    let (ok, stderr) = xmllint(std::slice::from_ref(&path));
    assert!(!ok, "the schema allows no extension elements: {stderr}");
    let a = cap::parse(&std::fs::read_to_string(&path).expect("read")).expect("parse");
    assert_eq!(a.status, "Test");
    assert_eq!(a.sent_offset_min, 0);
    assert_eq!(a.sent_ms, T0 + 11 * 3_600_000 + 1_800_000);
    assert_eq!(a.infos[0].event_type().key, "gale");
    assert_eq!(a.infos[0].areas[0].area_desc, "天津市");
    // Written back without the extensions, and in UTC+0 as the issuer wrote it.
    let xml = cap::to_xml(&a);
    assert!(xml.contains("<sent>2026-07-01T12:00:00+00:00</sent>"));
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("rewritten.xml");
    std::fs::write(&p, xml).expect("write");
    assert_valid(&[p]);
}

/// Documents the parser refuses (status, field) that are XML are refused by the schema too:
/// the two agree on what CAP 1.2 is.
#[test]
fn refused_documents_are_refused_by_the_schema_too() {
    let good = std::fs::read_to_string(Path::new(SAMPLES).join("beichen-hazchem-circle.xml"))
        .expect("sample");
    assert!(cap::parse(&good).is_ok());
    let rss = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>预警</title><item><title>暴雨</title></item></channel></rss>"#;
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("rss", rss.into(), 422, "namespace"),
        (
            "cap11",
            good.replace("cap:1.2", "cap:1.1"),
            422,
            "namespace",
        ),
        (
            "no-identifier",
            good.replace(
                "<identifier>12011300100000_20260701143512_0</identifier>",
                "",
            ),
            422,
            "identifier",
        ),
        (
            "msgtype",
            good.replace("<msgType>Alert</msgType>", "<msgType>Notice</msgType>"),
            422,
            "msgType",
        ),
        (
            "urgency",
            good.replace("<urgency>Immediate</urgency>", "<urgency>Now</urgency>"),
            422,
            "info[0].urgency",
        ),
        (
            "no-offset",
            good.replace(
                "<sent>2026-07-01T14:35:12+08:00</sent>",
                "<sent>2026-07-01T14:35:12</sent>",
            ),
            422,
            "sent",
        ),
        (
            "zulu",
            good.replace(
                "<expires>2026-07-01T20:35:12+08:00</expires>",
                "<expires>2026-07-01T12:35:12Z</expires>",
            ),
            422,
            "info[0].expires",
        ),
        (
            "unknown-element",
            good.replace(
                "<scope>Public</scope>",
                "<scope>Public</scope><level>red</level>",
            ),
            422,
            "level",
        ),
        (
            "no-area-desc",
            good.replace("<areaDesc>北辰区双口镇及周边5公里</areaDesc>", ""),
            422,
            "info[0].area[0].areaDesc",
        ),
        (
            "no-category",
            good.replace(
                "<category>CBRNE</category>\n    <category>Safety</category>",
                "",
            ),
            422,
            "info[0].category",
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, xml, status, field) in cases {
        let e = cap::parse(&xml).expect_err(name);
        assert_eq!((e.status, e.field.as_str()), (status, field), "{name}: {e}");
        let p = dir.path().join(format!("{name}.xml"));
        std::fs::write(&p, &xml).expect("write");
        let (ok, _) = xmllint(std::slice::from_ref(&p));
        assert!(!ok, "{name}: the schema accepts what the parser refuses");
    }
    // Polygons: the schema types them as plain strings, so only the parser checks them.
    for (polygon, field) in [
        (
            "39.1,117.1 39.2,117.1 39.2,117.2 39.1,117.2",
            "info[0].area[0].polygon[0]",
        ),
        (
            "39.1,117.1 39.2,117.1 39.1,117.1",
            "info[0].area[0].polygon[0]",
        ),
    ] {
        let xml = good.replace(
            "<circle>39.23056,117.04871 5.0</circle>",
            &format!("<polygon>{polygon}</polygon>"),
        );
        let e = cap::parse(&xml).expect_err(polygon);
        assert_eq!((e.status, e.field.as_str()), (422, field));
    }
}
