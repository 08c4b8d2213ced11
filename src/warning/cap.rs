//! CAP 1.2 (OASIS Common Alerting Protocol, profile GB/T 35965.1-2018): build a document from
//! a local warning, write it, read and check one from another issuer, and the GB/T 35965.1
//! identifier. Pure: no database, no HTTP. See `docs/warnings.md` § CAP 1.2.
//!
//! Decisions that the contract leaves open:
//! - Times are whole seconds (the schema's `dateTime` pattern has no fraction): [`build`]
//!   truncates to the second, so that build → [`to_xml`] → [`parse`] gives the same [`Alert`].
//! - Every element value is trimmed on [`parse`] (issuers pretty-print their text), and
//!   [`build`] trims what it copies from the warning, for the same round trip.
//! - [`parse_time`] needs an explicit numeric offset: `Z` is refused, as by the schema's
//!   pattern; `-00:00` is read as UTC.
//! - [`parse`] is strict about content (required elements, enumerations, duplicates of
//!   single elements, unknown CAP elements, polygon/circle syntax) but not about the order of
//!   the elements: a message whose meaning is clear is not refused for the order alone.
//!   Elements of other namespaces (extensions, `ds:Signature`) are skipped.
//! - Coordinates are written with at most 5 decimals (about 1 m), radii with 3 (1 m).

use std::collections::HashSet;

use chrono::{DateTime, FixedOffset, TimeZone};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::model::{self, Content, EventType, TownArea};
use crate::colour::Colour;

pub const CAP_NS: &str = "urn:oasis:names:tc:emergency:cap:1.2";
const CAP11_NS: &str = "urn:oasis:names:tc:emergency:cap:1.1";
const CAP10_NS: &str = "http://www.incident.com/cap/1.0";
/// The `code` element naming the Chinese profile.
pub const CODE_PROFILE: &str = "GB/T 35965.1-2018";
/// `valueName` of town and district geocodes.
pub const GEOCODE_GBT_2260: &str = "GB/T 2260";
/// `valueName` of the event code carrying our event-type key.
pub const EVENT_CODE_NAME: &str = "yingji:event_type";
/// The `restriction` text of a restricted warning (CAP: used when scope is Restricted).
pub const RESTRICTION_ZH: &str = "仅限应急管理部门及镇街工作人员";
/// Beijing time, in minutes east of UTC.
pub const BEIJING_OFFSET_MIN: i32 = 480;
/// Longest town boundary ring written as it is; longer ones are simplified.
pub const MAX_RING_POINTS: usize = 500;

/// One CAP 1.2 `<alert>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub identifier: String,
    pub sender: String,
    /// UTC epoch milliseconds (whole seconds).
    pub sent_ms: i64,
    /// The offset the document wrote `sent` with, in minutes (480 for ours).
    pub sent_offset_min: i32,
    /// `Actual` | `Exercise` | `System` | `Test` | `Draft`.
    pub status: String,
    /// `Alert` | `Update` | `Cancel` | `Ack` | `Error`.
    pub msg_type: String,
    pub source: Option<String>,
    /// `Public` | `Restricted` | `Private`.
    pub scope: String,
    pub restriction: Option<String>,
    pub addresses: Option<String>,
    pub code: Vec<String>,
    pub note: Option<String>,
    pub references: Vec<Reference>,
    pub incidents: Option<String>,
    pub infos: Vec<Info>,
}

/// One entry of `references`: `sender,identifier,sent`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub sender: String,
    pub identifier: String,
    pub sent_ms: i64,
    /// `sent` as the referenced message wrote it (its offset is kept).
    pub sent_text: String,
}

impl Reference {
    /// A reference to one of our own messages (sent in Beijing time).
    pub fn new(sender: &str, identifier: &str, sent_ms: i64) -> Reference {
        let sent_ms = whole_seconds(sent_ms);
        Reference {
            sender: sender.to_string(),
            identifier: identifier.to_string(),
            sent_ms,
            sent_text: format_time(sent_ms),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    pub language: String,
    pub categories: Vec<String>,
    pub event: String,
    pub response_types: Vec<String>,
    pub urgency: String,
    pub severity: String,
    pub certainty: String,
    pub audience: Option<String>,
    /// `(valueName, value)`.
    pub event_codes: Vec<(String, String)>,
    pub effective_ms: Option<i64>,
    pub onset_ms: Option<i64>,
    pub expires_ms: Option<i64>,
    pub sender_name: Option<String>,
    pub headline: Option<String>,
    pub description: Option<String>,
    pub instruction: Option<String>,
    pub web: Option<String>,
    pub contact: Option<String>,
    /// `(valueName, value)`.
    pub parameters: Vec<(String, String)>,
    pub resources: Vec<Resource>,
    pub areas: Vec<CapArea>,
}

/// A `<resource>` (kept so that an imported message is written back without loss).
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub resource_desc: String,
    pub mime_type: String,
    pub size: Option<u64>,
    pub uri: Option<String>,
    pub deref_uri: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CapArea {
    pub area_desc: String,
    /// `[lon, lat]` rings, closed (first = last), at least 4 points.
    pub polygons: Vec<Vec<[f64; 2]>>,
    /// Centre `[lon, lat]` and radius in km.
    pub circles: Vec<([f64; 2], f64)>,
    /// `(valueName, value)`.
    pub geocodes: Vec<(String, String)>,
    pub altitude: Option<f64>,
    pub ceiling: Option<f64>,
}

/// What a local message needs besides its content.
#[derive(Debug, Clone)]
pub struct BuildContext<'a> {
    pub identifier: &'a str,
    pub sender: &'a str,
    pub sender_name: &'a str,
    pub sent_ms: i64,
    /// `Alert` | `Update` | `Cancel`.
    pub msg_type: &'a str,
    /// The message(s) an Update or Cancel replaces ([`Reference::new`]).
    pub references: Vec<Reference>,
    /// The resolved target towns with their boundaries.
    pub towns: &'a [TownArea],
    /// The public page of the warning.
    pub web: Option<&'a str>,
    pub note: Option<&'a str>,
    /// When the warning covers the whole district: its code (`120114`), written as one more
    /// `GB/T 2260` geocode after the towns' so that receivers matching on districts find it.
    pub district_code: Option<&'a str>,
}

/// Why a document is refused: 400 when it is not XML, 422 when it is XML but not valid CAP
/// 1.2. `field` names the element (`identifier`, `info[1].urgency`,
/// `info[0].area[1].polygon[0]`), or `document` / `namespace`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CapError {
    pub status: u16,
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> CapError {
    CapError {
        status: 422,
        field: field.into(),
        message: message.into(),
    }
}

fn not_xml(message: impl Into<String>) -> CapError {
    CapError {
        status: 400,
        field: "document".into(),
        message: message.into(),
    }
}

// ---------------------------------------------------------------------------------------
// Times and identifiers

fn beijing() -> FixedOffset {
    // +08:00 is a valid offset; Beijing time has had no daylight saving since 1991.
    FixedOffset::east_opt(BEIJING_OFFSET_MIN * 60).expect("+08:00 is a valid offset")
}

fn whole_seconds(ms: i64) -> i64 {
    ms.div_euclid(1000) * 1000
}

/// `YYYY-MM-DDThh:mm:ss+08:00` (never `Z`).
pub fn format_time(ms: i64) -> String {
    format_time_at(ms, BEIJING_OFFSET_MIN)
}

/// The time written with the given offset (minutes east of UTC); Beijing time when the
/// offset is not a valid one.
pub fn format_time_at(ms: i64, offset_min: i32) -> String {
    let offset = FixedOffset::east_opt(offset_min * 60).unwrap_or_else(beijing);
    match offset.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        None => String::new(),
    }
}

/// A CAP `dateTime`: `YYYY-MM-DDThh:mm:ss±hh:mm` → (UTC ms, offset minutes). `Z`, a missing
/// offset and fractions of a second are refused, as by the schema's pattern; `-00:00` is
/// UTC.
pub fn parse_time(s: &str) -> Option<(i64, i32)> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() != 25 || b[10] != b'T' || !matches!(b[19], b'+' | b'-') || b[22] != b':' {
        return None;
    }
    let t = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%:z").ok()?;
    Some((t.timestamp_millis(), t.offset().local_minus_utc() / 60))
}

fn time_problem(s: &str) -> String {
    let s = s.trim();
    if s.ends_with('Z') || s.ends_with('z') {
        format!("{s:?}: CAP 1.2 forbids Z; write the offset, e.g. +08:00")
    } else {
        format!("{s:?} is not a CAP time YYYY-MM-DDThh:mm:ss+hh:mm with an explicit offset")
    }
}

/// The GB/T 35965.1 identifier `ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N`: the administrative code,
/// the organisation code (3 digits, zero-padded), internal code `000`, extension `00`, the
/// time in Beijing time and the sequence digit (`seq` modulo 10: the caller keeps it below
/// 10 within one second). 31 characters for a 6-digit code.
pub fn identifier(admin_code: &str, org_code: &str, sent_ms: i64, seq: u8) -> String {
    let time = beijing()
        .timestamp_millis_opt(sent_ms)
        .single()
        .map(|t| t.format("%Y%m%d%H%M%S").to_string())
        .unwrap_or_default();
    format!(
        "{}{:0>3}00000_{}_{}",
        admin_code.trim(),
        org_code.trim(),
        time,
        seq % 10
    )
}

// ---------------------------------------------------------------------------------------
// Build

fn round_to(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    let r = (v * f).round() / f;
    if r == 0.0 { 0.0 } else { r }
}

fn round_point(p: [f64; 2]) -> [f64; 2] {
    [round_to(p[0], 5), round_to(p[1], 5)]
}

/// A boundary ring as CAP wants it: at most [`MAX_RING_POINTS`] points, 5 decimals, no
/// repeated consecutive points, closed; `None` when less than a triangle is left.
fn cap_ring(ring: &[[f64; 2]]) -> Option<Vec<[f64; 2]>> {
    let mut points: Vec<[f64; 2]> = ring.to_vec();
    if points.len() > MAX_RING_POINTS {
        points = simplify(&points);
    }
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(points.len() + 1);
    for p in points.into_iter().map(round_point) {
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    if out.len() < 3 {
        return None;
    }
    out.push(out[0]);
    Some(out)
}

/// Surveyed town boundaries have thousands of vertices: written whole, one warning over a
/// few towns is hundreds of kilobytes, which SMS/broadcast gateways and the receivers'
/// parsers (some cap messages at 64 kB) choke on, for a precision far below what a warning
/// area needs. Douglas–Peucker with a tolerance doubled from about 1 m until the ring fits.
fn simplify(ring: &[[f64; 2]]) -> Vec<[f64; 2]> {
    use ::geo::{Coord, LineString, Simplify};
    let line: LineString<f64> = ring.iter().map(|p| Coord { x: p[0], y: p[1] }).collect();
    let mut epsilon = 1e-5;
    loop {
        let s = line.simplify(&epsilon);
        if s.0.len() <= MAX_RING_POINTS || epsilon > 1.0 {
            return s.0.iter().map(|c| [c.x, c.y]).collect();
        }
        epsilon *= 2.0;
    }
}

fn trimmed(s: &str) -> String {
    s.trim().to_string()
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The CAP message of a local warning (`docs/warnings.md` § CAP 1.2). `content` is expected
/// to have passed [`Content::validate`]; an unknown event type is written as `other`.
pub fn build(content: &Content, ctx: &BuildContext) -> Alert {
    let et: &EventType = model::event_type(&content.event_type)
        .or_else(|| model::event_type("other"))
        .unwrap_or(&model::EVENT_TYPES[model::EVENT_TYPES.len() - 1]);
    let level = content.level;
    let area = build_area(content, ctx);
    let restricted = content.scope.trim() == "restricted";

    let zh = Info {
        language: "zh-CN".into(),
        categories: vec![et.category.into()],
        event: et.zh.into(),
        response_types: content.response_type.iter().map(|r| trimmed(r)).collect(),
        urgency: trimmed(&content.urgency),
        severity: model::severity(level).into(),
        certainty: trimmed(&content.certainty),
        audience: None,
        event_codes: vec![(EVENT_CODE_NAME.into(), et.key.into())],
        effective_ms: Some(whole_seconds(content.effective_at)),
        onset_ms: content.onset_at.map(whole_seconds),
        expires_ms: Some(whole_seconds(content.expires_at)),
        sender_name: non_empty(Some(ctx.sender_name)),
        headline: non_empty(Some(&content.headline)),
        description: non_empty(Some(&content.description)),
        instruction: non_empty(Some(&content.instruction)),
        web: non_empty(ctx.web),
        contact: None,
        parameters: vec![
            ("预警级别".into(), model::level_zh(level).into()),
            ("alertColor".into(), model::level_en(level).into()),
            ("预警等级".into(), model::grade(level).into()),
        ],
        resources: vec![],
        areas: vec![area.clone()],
    };
    let mut infos = vec![zh.clone()];
    if let Some(headline_en) = non_empty(content.headline_en.as_deref()) {
        infos.push(Info {
            language: "en-US".into(),
            event: et.en.into(),
            headline: Some(headline_en),
            description: non_empty(content.description_en.as_deref()),
            instruction: non_empty(content.instruction_en.as_deref()),
            parameters: vec![
                ("alertColor".into(), model::level_en(level).into()),
                ("alertLevel".into(), model::grade(level).into()),
            ],
            ..zh
        });
    }

    Alert {
        identifier: trimmed(ctx.identifier),
        sender: trimmed(ctx.sender),
        sent_ms: whole_seconds(ctx.sent_ms),
        sent_offset_min: BEIJING_OFFSET_MIN,
        status: trimmed(&content.status),
        msg_type: trimmed(ctx.msg_type),
        source: None,
        scope: if restricted { "Restricted" } else { "Public" }.into(),
        restriction: restricted.then(|| RESTRICTION_ZH.to_string()),
        addresses: None,
        code: vec![CODE_PROFILE.into()],
        note: non_empty(ctx.note),
        references: ctx
            .references
            .iter()
            .map(|r| Reference {
                sender: trimmed(&r.sender),
                identifier: trimmed(&r.identifier),
                sent_ms: whole_seconds(r.sent_ms),
                sent_text: if r.sent_text.trim().is_empty() {
                    format_time(r.sent_ms)
                } else {
                    trimmed(&r.sent_text)
                },
            })
            .collect(),
        incidents: None,
        infos,
    }
}

fn build_area(content: &Content, ctx: &BuildContext) -> CapArea {
    let mut geocodes: Vec<(String, String)> = ctx
        .towns
        .iter()
        .map(|t| (GEOCODE_GBT_2260.to_string(), trimmed(&t.code)))
        .collect();
    if let Some(d) = non_empty(ctx.district_code) {
        geocodes.push((GEOCODE_GBT_2260.into(), d));
    }
    let mut polygons = Vec::new();
    let mut circles = Vec::new();
    match &content.area {
        model::Area::Towns { .. } => {
            polygons = ctx
                .towns
                .iter()
                .flat_map(|t| t.rings.iter())
                .filter_map(|r| cap_ring(r))
                .collect();
        }
        model::Area::Polygon { .. } => {
            if let Some(r) = content.area.ring().as_deref().and_then(cap_ring) {
                polygons.push(r);
            }
        }
        model::Area::Circle { center, radius_km } => {
            circles.push((round_point(*center), round_to(*radius_km, 3)));
        }
        model::Area::Imported => {}
    }
    let mut area_desc = trimmed(&content.area_desc);
    if area_desc.is_empty() {
        area_desc = ctx
            .towns
            .iter()
            .map(|t| t.name.trim())
            .collect::<Vec<_>>()
            .join("、");
    }
    CapArea {
        area_desc,
        polygons,
        circles,
        geocodes,
        altitude: None,
        ceiling: None,
    }
}

// ---------------------------------------------------------------------------------------
// Write

/// A number with at most `decimals` decimals and no trailing zeros.
fn num(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

/// `lat,lon lat,lon ...` (CAP's order is latitude first).
pub fn polygon_text(ring: &[[f64; 2]]) -> String {
    ring.iter()
        .map(|p| format!("{},{}", num(p[1], 5), num(p[0], 5)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `lat,lon radius_km`.
pub fn circle_text(center: [f64; 2], radius_km: f64) -> String {
    format!(
        "{},{} {}",
        num(center[1], 5),
        num(center[0], 5),
        num(radius_km, 3)
    )
}

/// Characters XML 1.0 cannot carry at all (control characters other than tab and line
/// ends) would make the whole document unreadable: they are dropped.
fn xml_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{fffe}' || c == '\u{ffff}'
    };
    if s.chars().any(bad) {
        s.chars().filter(|&c| !bad(c)).collect::<String>().into()
    } else {
        s.into()
    }
}

struct Out(Writer<Vec<u8>>);

type W = std::io::Result<()>;

impl Out {
    fn start(&mut self, name: &str) -> W {
        self.0.write_event(Event::Start(BytesStart::new(name)))
    }
    fn end(&mut self, name: &str) -> W {
        self.0.write_event(Event::End(BytesEnd::new(name)))
    }
    fn text(&mut self, name: &str, value: &str) -> W {
        self.0
            .create_element(name)
            .write_text_content(BytesText::new(&xml_safe(value)))?;
        Ok(())
    }
    fn opt(&mut self, name: &str, value: &Option<String>) -> W {
        match value {
            Some(v) => self.text(name, v),
            None => Ok(()),
        }
    }
    fn pairs(&mut self, name: &str, values: &[(String, String)]) -> W {
        for (n, v) in values {
            self.start(name)?;
            self.text("valueName", n)?;
            self.text("value", v)?;
            self.end(name)?;
        }
        Ok(())
    }
}

/// The document: XML declaration, UTF-8, default namespace CAP 1.2, the elements in the order
/// of the schema's sequences.
pub fn to_xml(alert: &Alert) -> String {
    let mut out = Out(Writer::new_with_indent(Vec::new(), b' ', 2));
    write_alert(&mut out, alert).expect("writing XML into memory cannot fail");
    let mut xml = String::from_utf8(out.0.into_inner()).expect("the writer was given only UTF-8");
    xml.push('\n');
    xml
}

fn write_alert(o: &mut Out, a: &Alert) -> W {
    o.0.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    o.0.write_event(Event::Start(
        BytesStart::new("alert").with_attributes([("xmlns", CAP_NS)]),
    ))?;
    o.text("identifier", &a.identifier)?;
    o.text("sender", &a.sender)?;
    o.text("sent", &format_time_at(a.sent_ms, a.sent_offset_min))?;
    o.text("status", &a.status)?;
    o.text("msgType", &a.msg_type)?;
    o.opt("source", &a.source)?;
    o.text("scope", &a.scope)?;
    o.opt("restriction", &a.restriction)?;
    o.opt("addresses", &a.addresses)?;
    for c in &a.code {
        o.text("code", c)?;
    }
    o.opt("note", &a.note)?;
    if !a.references.is_empty() {
        let refs: Vec<String> = a
            .references
            .iter()
            .map(|r| {
                let sent = if r.sent_text.is_empty() {
                    format_time(r.sent_ms)
                } else {
                    r.sent_text.clone()
                };
                format!("{},{},{}", r.sender, r.identifier, sent)
            })
            .collect();
        o.text("references", &refs.join(" "))?;
    }
    o.opt("incidents", &a.incidents)?;
    for info in &a.infos {
        write_info(o, info)?;
    }
    o.end("alert")
}

fn write_info(o: &mut Out, i: &Info) -> W {
    let time = |ms: Option<i64>| ms.map(format_time);
    o.start("info")?;
    o.text("language", &i.language)?;
    for c in &i.categories {
        o.text("category", c)?;
    }
    o.text("event", &i.event)?;
    for r in &i.response_types {
        o.text("responseType", r)?;
    }
    o.text("urgency", &i.urgency)?;
    o.text("severity", &i.severity)?;
    o.text("certainty", &i.certainty)?;
    o.opt("audience", &i.audience)?;
    o.pairs("eventCode", &i.event_codes)?;
    o.opt("effective", &time(i.effective_ms))?;
    o.opt("onset", &time(i.onset_ms))?;
    o.opt("expires", &time(i.expires_ms))?;
    o.opt("senderName", &i.sender_name)?;
    o.opt("headline", &i.headline)?;
    o.opt("description", &i.description)?;
    o.opt("instruction", &i.instruction)?;
    o.opt("web", &i.web)?;
    o.opt("contact", &i.contact)?;
    o.pairs("parameter", &i.parameters)?;
    for r in &i.resources {
        o.start("resource")?;
        o.text("resourceDesc", &r.resource_desc)?;
        o.text("mimeType", &r.mime_type)?;
        o.opt("size", &r.size.map(|s| s.to_string()))?;
        o.opt("uri", &r.uri)?;
        o.opt("derefUri", &r.deref_uri)?;
        o.opt("digest", &r.digest)?;
        o.end("resource")?;
    }
    for a in &i.areas {
        o.start("area")?;
        o.text("areaDesc", &a.area_desc)?;
        for p in &a.polygons {
            o.text("polygon", &polygon_text(p))?;
        }
        for (c, r) in &a.circles {
            o.text("circle", &circle_text(*c, *r))?;
        }
        o.pairs("geocode", &a.geocodes)?;
        o.opt("altitude", &a.altitude.map(|v| v.to_string()))?;
        o.opt("ceiling", &a.ceiling.map(|v| v.to_string()))?;
        o.end("area")?;
    }
    o.end("info")
}

// ---------------------------------------------------------------------------------------
// Read

/// An element of the document: namespace (None when unbound), local name, its text (CDATA
/// and entities resolved) and its child elements.
#[derive(Debug)]
struct Node {
    ns: Option<String>,
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn is_cap(&self) -> bool {
        self.ns.as_deref() == Some(CAP_NS)
    }
}

/// Deepest nesting read (CAP needs 5; signatures and extensions a few more).
const MAX_DEPTH: usize = 64;

fn read_tree(xml: &str) -> Result<Node, CapError> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    if xml.trim().is_empty() {
        return Err(not_xml("the document is empty"));
    }
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let at = reader.buffer_position();
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| not_xml(format!("not well-formed XML near byte {at}: {e}")))?;
        match event {
            Event::Start(e) => {
                for attr in e.attributes() {
                    attr.map_err(|e| not_xml(format!("bad attribute near byte {at}: {e}")))?;
                }
                let ns = match ns {
                    ResolveResult::Bound(n) => {
                        Some(String::from_utf8_lossy(n.as_ref()).into_owned())
                    }
                    ResolveResult::Unbound => None,
                    ResolveResult::Unknown(p) => {
                        return Err(not_xml(format!(
                            "namespace prefix {:?} is not declared",
                            String::from_utf8_lossy(&p)
                        )));
                    }
                };
                if stack.len() >= MAX_DEPTH {
                    // The tree is dropped recursively: a hostile nesting of a million
                    // elements would overflow the stack. CAP itself is 5 deep.
                    return Err(invalid(
                        "document",
                        format!("elements nest deeper than {MAX_DEPTH}: this is not a CAP alert"),
                    ));
                }
                if stack.is_empty() && root.is_some() {
                    return Err(not_xml("more than one root element"));
                }
                stack.push(Node {
                    ns,
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    text: String::new(),
                    children: Vec::new(),
                });
            }
            Event::End(_) => {
                let Some(node) = stack.pop() else {
                    return Err(not_xml("an end tag without a start tag"));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                let text = t
                    .unescape()
                    .map_err(|e| not_xml(format!("bad text near byte {at}: {e}")))?;
                match stack.last_mut() {
                    Some(n) => n.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(not_xml("text outside the root element")),
                }
            }
            Event::CData(c) => {
                let text = c
                    .decode()
                    .map_err(|e| not_xml(format!("bad CDATA near byte {at}: {e}")))?;
                match stack.last_mut() {
                    Some(n) => n.text.push_str(&text),
                    None => return Err(not_xml("CDATA outside the root element")),
                }
            }
            Event::Eof => break,
            // Declaration, comments, processing instructions, DOCTYPE: nothing of CAP.
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(not_xml("the document ends inside an element"));
    }
    root.ok_or_else(|| not_xml("no root element: this is not XML"))
}

/// The CAP children of an element, checked: unknown CAP elements and repeated single ones
/// are refused; elements of other namespaces are skipped (extensions, signatures).
struct Kids<'a> {
    path: String,
    nodes: Vec<&'a Node>,
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

impl<'a> Kids<'a> {
    /// `schema`: (element, may repeat).
    fn of(node: &'a Node, path: &str, schema: &[(&str, bool)]) -> Result<Kids<'a>, CapError> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut nodes = Vec::new();
        for c in node.children.iter().filter(|c| c.is_cap()) {
            let Some(&(_, repeats)) = schema.iter().find(|(n, _)| *n == c.name) else {
                return Err(invalid(
                    join(path, &c.name),
                    format!("<{}> is not a CAP 1.2 element here", c.name),
                ));
            };
            if !repeats && !seen.insert(c.name.as_str()) {
                return Err(invalid(
                    join(path, &c.name),
                    format!("<{}> may appear only once", c.name),
                ));
            }
            nodes.push(c);
        }
        Ok(Kids {
            path: path.to_string(),
            nodes,
        })
    }

    fn field(&self, name: &str) -> String {
        join(&self.path, name)
    }

    fn all(&self, name: &str) -> Vec<&'a Node> {
        self.nodes
            .iter()
            .copied()
            .filter(|n| n.name == name)
            .collect()
    }

    fn one(&self, name: &str) -> Option<&'a Node> {
        self.nodes.iter().copied().find(|n| n.name == name)
    }

    fn opt(&self, name: &str) -> Result<Option<String>, CapError> {
        self.one(name)
            .map(|n| text(n, &self.field(name)))
            .transpose()
    }

    fn req(&self, name: &str) -> Result<String, CapError> {
        let field = self.field(name);
        let node = self
            .one(name)
            .ok_or_else(|| invalid(&field, format!("<{name}> is required")))?;
        let t = text(node, &field)?;
        if t.is_empty() {
            return Err(invalid(field, format!("<{name}> is empty")));
        }
        Ok(t)
    }

    fn req_enum(&self, name: &str, allowed: &[&str]) -> Result<String, CapError> {
        let v = self.req(name)?;
        check_enum(&v, allowed, &self.field(name))
    }

    fn opt_time(&self, name: &str) -> Result<Option<(i64, i32)>, CapError> {
        match self.opt(name)? {
            None => Ok(None),
            Some(s) => parse_time(&s)
                .map(Some)
                .ok_or_else(|| invalid(self.field(name), time_problem(&s))),
        }
    }

    fn opt_decimal(&self, name: &str) -> Result<Option<f64>, CapError> {
        match self.opt(name)? {
            None => Ok(None),
            Some(s) => s
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| invalid(self.field(name), format!("{s:?} is not a decimal number"))),
        }
    }

    /// Repeated `valueName`/`value` pairs (`eventCode`, `parameter`, `geocode`).
    fn pairs(&self, name: &str) -> Result<Vec<(String, String)>, CapError> {
        self.all(name)
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                let k = Kids::of(
                    n,
                    &self.field(&format!("{name}[{i}]")),
                    &[("valueName", false), ("value", false)],
                )?;
                let value_name = k.req("valueName")?;
                let value = k
                    .opt("value")?
                    .ok_or_else(|| invalid(k.field("value"), "<value> is required"))?;
                Ok((value_name, value))
            })
            .collect()
    }
}

fn text(node: &Node, field: &str) -> Result<String, CapError> {
    if let Some(c) = node.children.iter().find(|c| c.is_cap()) {
        return Err(invalid(
            field,
            format!("<{}> holds text, not a <{}> element", node.name, c.name),
        ));
    }
    Ok(node.text.trim().to_string())
}

fn check_enum(v: &str, allowed: &[&str], field: &str) -> Result<String, CapError> {
    if allowed.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(invalid(
            field,
            format!("{v:?} is not one of {}", allowed.join(", ")),
        ))
    }
}

/// Identifiers and senders may not hold spaces, commas, `<` or `&` (CAP 1.2 §3.2.1):
/// `references` could not name them otherwise.
fn check_token(v: &str, field: &str) -> Result<(), CapError> {
    if v.chars()
        .any(|c| c.is_whitespace() || matches!(c, ',' | '<' | '&'))
    {
        return Err(invalid(
            field,
            format!("{v:?} may not contain spaces, commas, < or &"),
        ));
    }
    Ok(())
}

const CAP_1X: &str = "CAP 1.1 is not accepted, only CAP 1.2";

/// Reads and checks a CAP 1.2 document (see the module comment for what is strict).
pub fn parse(xml: &str) -> Result<Alert, CapError> {
    let root = read_tree(xml)?;
    match root.ns.as_deref() {
        Some(CAP_NS) if root.name == "alert" => {}
        Some(CAP11_NS) => return Err(invalid("namespace", CAP_1X)),
        Some(CAP10_NS) => {
            return Err(invalid(
                "namespace",
                "CAP 1.0 is not accepted, only CAP 1.2",
            ));
        }
        ns => {
            return Err(invalid(
                "namespace",
                format!(
                    "not a CAP 1.2 alert: the root element is <{}> in namespace {:?}; expected <alert> in {CAP_NS}",
                    root.name,
                    ns.unwrap_or("(none)")
                ),
            ));
        }
    }
    let k = Kids::of(
        &root,
        "",
        &[
            ("identifier", false),
            ("sender", false),
            ("sent", false),
            ("status", false),
            ("msgType", false),
            ("source", false),
            ("scope", false),
            ("restriction", false),
            ("addresses", false),
            ("code", true),
            ("note", false),
            ("references", false),
            ("incidents", false),
            ("info", true),
        ],
    )?;
    let identifier = k.req("identifier")?;
    check_token(&identifier, "identifier")?;
    let sender = k.req("sender")?;
    check_token(&sender, "sender")?;
    let sent_text = k.req("sent")?;
    let (sent_ms, sent_offset_min) =
        parse_time(&sent_text).ok_or_else(|| invalid("sent", time_problem(&sent_text)))?;
    let status = k.req_enum("status", model::CAP_STATUSES)?;
    let msg_type = k.req_enum("msgType", model::CAP_MSG_TYPES)?;
    let source = k.opt("source")?;
    let scope = k.req_enum("scope", model::CAP_SCOPES)?;
    let restriction = k.opt("restriction")?;
    let addresses = k.opt("addresses")?;
    if scope == "Private" && addresses.as_deref().is_none_or(str::is_empty) {
        return Err(invalid(
            "addresses",
            "<addresses> is required when the scope is Private",
        ));
    }
    let code = k
        .all("code")
        .into_iter()
        .enumerate()
        .map(|(i, n)| text(n, &format!("code[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let note = k.opt("note")?;
    let references = match k.opt("references")? {
        Some(s) => parse_references(&s)?,
        None => vec![],
    };
    let incidents = k.opt("incidents")?;
    let infos = k
        .all("info")
        .into_iter()
        .enumerate()
        .map(|(i, n)| parse_info(n, &format!("info[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Alert {
        identifier,
        sender,
        sent_ms,
        sent_offset_min,
        status,
        msg_type,
        source,
        scope,
        restriction,
        addresses,
        code,
        note,
        references,
        incidents,
        infos,
    })
}

fn parse_references(s: &str) -> Result<Vec<Reference>, CapError> {
    s.split_whitespace()
        .map(|r| {
            let parts: Vec<&str> = r.split(',').collect();
            let [sender, identifier, sent] = parts[..] else {
                return Err(invalid(
                    "references",
                    format!("{r:?} is not sender,identifier,sent"),
                ));
            };
            let (sent_ms, _) =
                parse_time(sent).ok_or_else(|| invalid("references", time_problem(sent)))?;
            Ok(Reference {
                sender: sender.to_string(),
                identifier: identifier.to_string(),
                sent_ms,
                sent_text: sent.to_string(),
            })
        })
        .collect()
}

fn parse_info(node: &Node, path: &str) -> Result<Info, CapError> {
    let k = Kids::of(
        node,
        path,
        &[
            ("language", false),
            ("category", true),
            ("event", false),
            ("responseType", true),
            ("urgency", false),
            ("severity", false),
            ("certainty", false),
            ("audience", false),
            ("eventCode", true),
            ("effective", false),
            ("onset", false),
            ("expires", false),
            ("senderName", false),
            ("headline", false),
            ("description", false),
            ("instruction", false),
            ("web", false),
            ("contact", false),
            ("parameter", true),
            ("resource", true),
            ("area", true),
        ],
    )?;
    // The schema's default.
    let language = k
        .opt("language")?
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "en-US".into());
    let enums = |name: &str, allowed: &[&str]| -> Result<Vec<String>, CapError> {
        k.all(name)
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                let field = k.field(&format!("{name}[{i}]"));
                check_enum(&text(n, &field)?, allowed, &field)
            })
            .collect()
    };
    let categories = enums("category", model::CAP_CATEGORIES)?;
    if categories.is_empty() {
        return Err(invalid(k.field("category"), "<category> is required"));
    }
    let event = k.req("event")?;
    let response_types = enums("responseType", model::CAP_RESPONSE_TYPES)?;
    let urgency = k.req_enum("urgency", model::CAP_URGENCIES)?;
    let severity = k.req_enum("severity", model::CAP_SEVERITIES)?;
    let certainty = k.req_enum("certainty", model::CAP_CERTAINTIES)?;
    let resources = k
        .all("resource")
        .into_iter()
        .enumerate()
        .map(|(i, n)| parse_resource(n, &k.field(&format!("resource[{i}]"))))
        .collect::<Result<Vec<_>, _>>()?;
    let areas = k
        .all("area")
        .into_iter()
        .enumerate()
        .map(|(i, n)| parse_area(n, &k.field(&format!("area[{i}]"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Info {
        language,
        categories,
        event,
        response_types,
        urgency,
        severity,
        certainty,
        audience: k.opt("audience")?,
        event_codes: k.pairs("eventCode")?,
        effective_ms: k.opt_time("effective")?.map(|t| t.0),
        onset_ms: k.opt_time("onset")?.map(|t| t.0),
        expires_ms: k.opt_time("expires")?.map(|t| t.0),
        sender_name: k.opt("senderName")?,
        headline: k.opt("headline")?,
        description: k.opt("description")?,
        instruction: k.opt("instruction")?,
        web: k.opt("web")?,
        contact: k.opt("contact")?,
        parameters: k.pairs("parameter")?,
        resources,
        areas,
    })
}

fn parse_resource(node: &Node, path: &str) -> Result<Resource, CapError> {
    let k = Kids::of(
        node,
        path,
        &[
            ("resourceDesc", false),
            ("mimeType", false),
            ("size", false),
            ("uri", false),
            ("derefUri", false),
            ("digest", false),
        ],
    )?;
    let size = match k.opt("size")? {
        None => None,
        Some(s) => Some(
            s.parse::<u64>()
                .map_err(|_| invalid(k.field("size"), format!("{s:?} is not a size in bytes")))?,
        ),
    };
    Ok(Resource {
        resource_desc: k.req("resourceDesc")?,
        mime_type: k.req("mimeType")?,
        size,
        uri: k.opt("uri")?,
        deref_uri: k.opt("derefUri")?,
        digest: k.opt("digest")?,
    })
}

fn parse_area(node: &Node, path: &str) -> Result<CapArea, CapError> {
    let k = Kids::of(
        node,
        path,
        &[
            ("areaDesc", false),
            ("polygon", true),
            ("circle", true),
            ("geocode", true),
            ("altitude", false),
            ("ceiling", false),
        ],
    )?;
    let area_desc = k
        .opt("areaDesc")?
        .ok_or_else(|| invalid(k.field("areaDesc"), "<areaDesc> is required"))?;
    let polygons = k
        .all("polygon")
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let field = k.field(&format!("polygon[{i}]"));
            parse_polygon(&text(n, &field)?).map_err(|m| invalid(field, m))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let circles = k
        .all("circle")
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let field = k.field(&format!("circle[{i}]"));
            parse_circle(&text(n, &field)?).map_err(|m| invalid(field, m))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let altitude = k.opt_decimal("altitude")?;
    let ceiling = k.opt_decimal("ceiling")?;
    if ceiling.is_some() && altitude.is_none() {
        return Err(invalid(
            k.field("ceiling"),
            "<ceiling> is used only with <altitude>",
        ));
    }
    Ok(CapArea {
        area_desc,
        polygons,
        circles,
        geocodes: k.pairs("geocode")?,
        altitude,
        ceiling,
    })
}

/// `lat,lon` → `[lon, lat]`.
fn parse_point(s: &str) -> Result<[f64; 2], String> {
    let bad = || format!("{s:?} is not a point lat,lon in WGS84 degrees");
    let (lat, lon) = s.split_once(',').ok_or_else(bad)?;
    let lat: f64 = lat.trim().parse().map_err(|_| bad())?;
    let lon: f64 = lon.trim().parse().map_err(|_| bad())?;
    if !(lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon))
    {
        return Err(bad());
    }
    Ok([lon, lat])
}

/// `lat,lon lat,lon ...`: at least 4 points, first = last.
pub fn parse_polygon(s: &str) -> Result<Vec<[f64; 2]>, String> {
    let ring = s
        .split_whitespace()
        .map(parse_point)
        .collect::<Result<Vec<_>, _>>()?;
    if ring.len() < 4 {
        return Err(format!(
            "a polygon needs at least 4 points (first = last); this one has {}",
            ring.len()
        ));
    }
    if ring.first() != ring.last() {
        return Err("the polygon is not closed: the last point must repeat the first".into());
    }
    Ok(ring)
}

/// `lat,lon radius_km` → (`[lon, lat]`, radius).
pub fn parse_circle(s: &str) -> Result<([f64; 2], f64), String> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [point, radius] = parts[..] else {
        return Err(format!("{s:?} is not a circle \"lat,lon radius_km\""));
    };
    let centre = parse_point(point)?;
    let radius: f64 = radius
        .parse()
        .ok()
        .filter(|r: &f64| r.is_finite() && *r >= 0.0)
        .ok_or_else(|| format!("{radius:?} is not a radius in km"))?;
    Ok((centre, radius))
}

// ---------------------------------------------------------------------------------------
// Reading an alert for the store

impl Alert {
    /// The info that gives a warning's list fields: the Chinese one, else the first.
    pub fn main_info(&self) -> Option<&Info> {
        self.infos
            .iter()
            .find(|i| i.language.to_ascii_lowercase().starts_with("zh"))
            .or_else(|| self.infos.first())
    }

    /// Every `GB/T 2260` geocode of every area, once each, in document order.
    pub fn geocodes(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.infos
            .iter()
            .flat_map(|i| i.areas.iter())
            .flat_map(|a| a.geocodes.iter())
            .filter(|(n, _)| n == GEOCODE_GBT_2260)
            .filter(|(_, v)| seen.insert(v.clone()))
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl Info {
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn event_code(&self, name: &str) -> Option<&str> {
        self.event_codes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The colour level: the `预警级别` / `alertColor` parameter, else from the severity.
    pub fn level(&self) -> Option<Colour> {
        // Issuers name the colour parameter differently (预警级别, 预警颜色, alertColor,
        // colour, level); any that names a colour will do.
        self.parameters
            .iter()
            .filter(|(k, _)| {
                let k = k.to_lowercase();
                ["color", "colour", "级别", "颜色", "level"]
                    .iter()
                    .any(|w| k.contains(w))
            })
            .find_map(|(_, v)| model::level_from_name(v))
            .or_else(|| model::level_from_severity(&self.severity))
    }

    /// Our event type: the `yingji:event_type` code, else the event's name classified
    /// (`暴雨蓝色预警` → rainstorm, see [`model::classify_event`]).
    pub fn event_type(&self) -> &'static EventType {
        self.event_code(EVENT_CODE_NAME)
            .and_then(model::event_type)
            .or_else(|| {
                model::event_type(model::classify_event(
                    &self.event,
                    self.categories.first().map(String::as_str),
                ))
            })
            .unwrap_or(&model::EVENT_TYPES[model::EVENT_TYPES.len() - 1])
    }
}

impl CapArea {
    /// Every shape as a closed `[lon, lat]` ring (circles as `n`-gons), for maps and town
    /// intersection.
    pub fn rings(&self, circle_vertices: usize) -> Vec<Vec<[f64; 2]>> {
        let mut out = self.polygons.clone();
        out.extend(
            self.circles
                .iter()
                .map(|(c, r)| model::Area::circle_ring(*c, *r, circle_vertices)),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warning::model::Area;

    /// 2026-07-01T00:30:00Z = 08:30 in Beijing.
    const T0: i64 = 1_782_865_800_000;

    fn content(area: Area) -> Content {
        Content {
            status: "Actual".into(),
            scope: "public".into(),
            event_type: "rainstorm".into(),
            level: Colour::Red,
            urgency: "Expected".into(),
            certainty: "Likely".into(),
            response_type: Some("Prepare".into()),
            headline: "武清区气象台发布暴雨红色预警".into(),
            description: "预计未来3小时内将出现100毫米以上降雨 & 雷电 <注意>".into(),
            instruction: "停止集会、停课、停业".into(),
            headline_en: Some("Red rainstorm warning".into()),
            description_en: Some("More than 100 mm of rain within 3 hours.".into()),
            instruction_en: None,
            area,
            area_desc: "杨村街道、下朱庄街道".into(),
            effective_at: T0 + 123,
            onset_at: Some(T0 + 3_600_000),
            expires_at: T0 + 86_400_000,
        }
    }

    fn town(code: &str, name: &str, lon: f64, lat: f64, n: usize) -> TownArea {
        let mut ring: Vec<[f64; 2]> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                // A wobbly outline, so that simplification has something to remove.
                let r = 0.05 + 0.004 * (a * 7.0).sin();
                [lon + r * a.cos(), lat + r * a.sin()]
            })
            .collect();
        ring.push(ring[0]);
        TownArea {
            code: code.into(),
            name: name.into(),
            rings: vec![ring],
        }
    }

    fn ctx<'a>(towns: &'a [TownArea]) -> BuildContext<'a> {
        BuildContext {
            identifier: "12011400000000_20260701083000_0",
            sender: "yingji@120114.gov.cn",
            sender_name: "天津市武清区应急管理局",
            sent_ms: T0 + 456,
            msg_type: "Alert",
            references: vec![],
            towns,
            web: Some("https://yingji.example/public/warnings/01J0"),
            note: None,
            district_code: None,
        }
    }

    #[test]
    fn the_identifier_follows_gbt_35965_in_beijing_time() {
        let id = identifier("120114", "000", T0, 3);
        assert_eq!(id, "12011400000000_20260701083000_3");
        assert_eq!(id.chars().count(), 31);
        assert_eq!(
            identifier("120114", "7", T0 + 999, 12),
            "12011400700000_20260701083000_2"
        );
        // Past midnight UTC+8 while still the previous day in UTC.
        assert_eq!(
            &identifier("120114", "000", T0 + 16 * 3_600_000, 0)[15..29],
            "20260702003000"
        );
    }

    #[test]
    fn times_are_written_in_beijing_time_and_read_only_with_an_offset() {
        assert_eq!(format_time(T0), "2026-07-01T08:30:00+08:00");
        assert_eq!(format_time(T0 + 999), "2026-07-01T08:30:00+08:00");
        assert_eq!(parse_time("2026-07-01T08:30:00+08:00"), Some((T0, 480)));
        assert_eq!(parse_time(" 2026-06-30T20:30:00-04:00 "), Some((T0, -240)));
        assert_eq!(parse_time("2026-07-01T00:30:00-00:00"), Some((T0, 0)));
        assert_eq!(format_time_at(T0, -240), "2026-06-30T20:30:00-04:00");
        for bad in [
            "2026-07-01T00:30:00Z",
            "2026-07-01T08:30:00",
            "2026-07-01T08:30:00.000+08:00",
            "2026-07-01 08:30:00+08:00",
            "2026-13-01T08:30:00+08:00",
            "",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert!(time_problem("2026-07-01T00:30:00Z").contains("forbids Z"));
    }

    #[test]
    fn build_maps_a_warning_to_cap_per_the_contract() {
        let towns = [
            town("120114001", "杨村街道", 117.05, 39.38, 40),
            town("120114002", "下朱庄街道", 117.10, 39.42, 40),
        ];
        let a = build(
            &content(Area::Towns {
                town_codes: vec!["120114001".into(), "120114002".into()],
            }),
            &ctx(&towns),
        );
        assert_eq!(a.sent_ms, T0);
        assert_eq!(a.scope, "Public");
        assert_eq!(a.restriction, None);
        assert_eq!(a.code, [CODE_PROFILE]);
        assert_eq!(a.infos.len(), 2);
        let zh = &a.infos[0];
        assert_eq!(zh.language, "zh-CN");
        assert_eq!(zh.event, "暴雨");
        assert_eq!(zh.categories, ["Met"]);
        assert_eq!(zh.severity, "Extreme");
        assert_eq!(zh.response_types, ["Prepare"]);
        assert_eq!(zh.effective_ms, Some(T0));
        assert_eq!(
            zh.parameters,
            [
                ("预警级别".to_string(), "红色".to_string()),
                ("alertColor".into(), "Red".into()),
                ("预警等级".into(), "I".into())
            ]
        );
        assert_eq!(
            zh.event_codes,
            [(EVENT_CODE_NAME.to_string(), "rainstorm".to_string())]
        );
        let en = &a.infos[1];
        assert_eq!(en.language, "en-US");
        assert_eq!(en.event, "Rainstorm");
        assert_eq!(en.instruction, None);
        assert_eq!(
            en.parameters,
            [
                ("alertColor".to_string(), "Red".to_string()),
                ("alertLevel".into(), "I".into())
            ]
        );
        let area = &zh.areas[0];
        assert_eq!(area.polygons.len(), 2);
        assert!(
            area.polygons
                .iter()
                .all(|p| p.len() == 41 && p.first() == p.last())
        );
        assert_eq!(
            area.geocodes,
            [
                (GEOCODE_GBT_2260.to_string(), "120114001".to_string()),
                (GEOCODE_GBT_2260.into(), "120114002".into())
            ]
        );
        assert_eq!(zh.level(), Some(Colour::Red));
        assert_eq!(zh.event_type().key, "rainstorm");
        assert_eq!(en.event_type().key, "rainstorm");
        assert_eq!(a.main_info().map(|i| i.language.as_str()), Some("zh-CN"));
        assert_eq!(a.geocodes(), ["120114001", "120114002"]);

        let mut c = content(Area::Circle {
            center: [117.0512345678, 39.3812345678],
            radius_km: 2.5,
        });
        c.scope = "restricted".into();
        c.headline_en = None;
        c.description_en = None;
        let mut cx = ctx(&towns[..1]);
        cx.district_code = Some("120114");
        let a = build(&c, &cx);
        assert_eq!(a.scope, "Restricted");
        assert_eq!(a.restriction.as_deref(), Some(RESTRICTION_ZH));
        assert_eq!(a.infos.len(), 1);
        assert_eq!(a.infos[0].areas[0].circles, [([117.05123, 39.38123], 2.5)]);
        assert_eq!(a.infos[0].areas[0].geocodes.len(), 2);
        assert_eq!(a.infos[0].areas[0].geocodes[1].1, "120114");
    }

    #[test]
    fn long_town_boundaries_are_simplified_and_rounded() {
        let big = town("120114003", "黄庄街道", 117.0, 39.5, 5000);
        let ring = cap_ring(&big.rings[0]).unwrap();
        assert!(
            ring.len() <= MAX_RING_POINTS && ring.len() >= 50,
            "{}",
            ring.len()
        );
        assert_eq!(ring.first(), ring.last());
        for p in &ring {
            assert_eq!(*p, round_point(*p));
        }
        // Rounding that collapses a sliver leaves nothing rather than a broken polygon.
        assert_eq!(
            cap_ring(&[
                [117.0, 39.0],
                [117.000001, 39.0],
                [117.0, 39.000001],
                [117.0, 39.0]
            ]),
            None
        );
        assert_eq!(
            polygon_text(&[[117.5, 39.25], [-0.000001, 1.0]]),
            "39.25,117.5 1,0"
        );
        assert_eq!(circle_text([117.05, 39.38], 2.0), "39.38,117.05 2");
    }

    #[test]
    fn build_write_and_parse_round_trip_exactly() {
        let towns = [town("120114001", "杨村街道", 117.05, 39.38, 1200)];
        let mut cx = ctx(&towns);
        cx.msg_type = "Update";
        cx.references = vec![Reference::new(
            "yingji@120114.gov.cn",
            "12011400000000_20260701080000_0",
            T0 - 1_800_000,
        )];
        cx.note = Some(" 更新：范围扩大 ");
        for area in [
            Area::Towns {
                town_codes: vec!["120114001".into()],
            },
            Area::Polygon {
                polygon: vec![[117.011111111, 39.3], [117.2, 39.3], [117.2, 39.45]],
            },
            Area::Circle {
                center: [117.1, 39.4],
                radius_km: 3.21987,
            },
        ] {
            let a = build(&content(area), &cx);
            let xml = to_xml(&a);
            assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">"));
            assert!(xml.contains("&amp; 雷电 &lt;注意&gt;"));
            assert!(!xml.contains("Z<"));
            let back = parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
            assert_eq!(back, a);
            assert_eq!(to_xml(&back), xml);
        }
    }

    #[test]
    fn control_characters_are_dropped_so_the_document_stays_xml() {
        let mut c = content(Area::Circle {
            center: [117.1, 39.4],
            radius_km: 1.0,
        });
        c.description = "第一行\u{0007}\u{001b}\n第二行\t！".into();
        let xml = to_xml(&build(&c, &ctx(&[])));
        let back = parse(&xml).unwrap();
        assert_eq!(
            back.infos[0].description.as_deref(),
            Some("第一行\n第二行\t！")
        );
    }

    const MINIMAL: &str = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>X1</identifier><sender>s@example</sender><sent>2026-07-01T08:30:00+08:00</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><category>Met</category><event>大风</event><urgency>Expected</urgency>
    <severity>Minor</severity><certainty>Likely</certainty>
    <area><areaDesc>全区</areaDesc>AREA</area></info>
  <info><category>Met</category><event>Gale</event><urgency>URG</urgency>
    <severity>Minor</severity><certainty>Likely</certainty></info>
</alert>"#;

    fn minimal(area: &str, urgency: &str) -> String {
        MINIMAL.replace("AREA", area).replace("URG", urgency)
    }

    fn err(xml: &str) -> (u16, String) {
        let e = parse(xml).expect_err("must be refused");
        (e.status, e.field)
    }

    #[test]
    fn a_minimal_document_parses_with_the_schema_defaults() {
        let a = parse(&minimal("", "Future")).unwrap();
        assert_eq!(a.sent_ms, T0);
        assert_eq!(a.infos[0].language, "en-US");
        assert_eq!(a.infos[0].areas[0].area_desc, "全区");
        assert_eq!(a.infos[1].urgency, "Future");
        assert_eq!(a.infos[0].level(), Some(Colour::Blue));
        assert_eq!(a.infos[0].event_type().key, "gale");
    }

    #[test]
    fn wrong_documents_are_refused_naming_the_field() {
        assert_eq!(err(""), (400, "document".into()));
        assert_eq!(err("   \n"), (400, "document".into()));
        assert_eq!(err("hello, world"), (400, "document".into()));
        assert_eq!(err(r#"{"identifier": "x"}"#), (400, "document".into()));
        assert_eq!(
            err("<alert><identifier>x</alert>"),
            (400, "document".into())
        );
        assert_eq!(err("<a/><b/>"), (400, "document".into()));
        assert_eq!(err("<cap:alert/>"), (400, "document".into()));
        assert_eq!(err("<a>&nbsp;</a>"), (400, "document".into()));
        assert_eq!(err("<a x=1/>"), (400, "document".into()));
        assert_eq!(
            err(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>x</title></head><body><br></body></html>"
            ),
            (400, "document".into())
        );
        assert_eq!(
            err("<html xmlns=\"http://www.w3.org/1999/xhtml\"><body/></html>"),
            (422, "namespace".into())
        );
        assert_eq!(err("<alert/>"), (422, "namespace".into()));
        let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        assert_eq!(err(&deep), (422, "document".into()));
        let v11 = minimal("", "Future").replace("cap:1.2", "cap:1.1");
        let e = parse(&v11).unwrap_err();
        assert_eq!((e.status, e.field.as_str()), (422, "namespace"));
        assert_eq!(e.message, "CAP 1.1 is not accepted, only CAP 1.2");
        assert_eq!(
            err(&minimal("", "Future").replace("<identifier>X1</identifier>", "")),
            (422, "identifier".into())
        );
        assert_eq!(
            err(&minimal("", "Future")
                .replace("<identifier>X1</identifier>", "<identifier> </identifier>")),
            (422, "identifier".into())
        );
        assert_eq!(
            err(&minimal("", "Future").replace("X1", "X 1")),
            (422, "identifier".into())
        );
        assert_eq!(
            err(&minimal("", "Future").replace(">Alert<", ">Warning<")),
            (422, "msgType".into())
        );
        assert_eq!(err(&minimal("", "Soon")), (422, "info[1].urgency".into()));
        assert_eq!(
            err(&minimal("", "Future")
                .replace("<category>Met</category><event>Gale", "<event>Gale")),
            (422, "info[1].category".into())
        );
        assert_eq!(
            err(&minimal("", "Future").replace(
                "<category>Met</category><event>Gale",
                "<category>Weather</category><event>Gale"
            )),
            (422, "info[1].category[0]".into())
        );
        assert_eq!(
            err(&minimal(
                "<polygon>39.1,117.1 39.2,117.1 39.2,117.2 39.1,117.2</polygon>",
                "Future"
            )),
            (422, "info[0].area[0].polygon[0]".into())
        );
        assert_eq!(
            err(&minimal(
                "<polygon>39.1,117.1 39.2,117.1 39.1,117.1</polygon>",
                "Future"
            )),
            (422, "info[0].area[0].polygon[0]".into())
        );
        assert_eq!(
            err(&minimal(
                "<polygon>39.1,117.1 39.2,117.1 39.2,117.2 39.1,117.1</polygon><polygon>91,117.1 39.2,117.1 39.2,117.2 91,117.1</polygon>",
                "Future"
            )),
            (422, "info[0].area[0].polygon[1]".into())
        );
        assert_eq!(
            err(&minimal("<circle>39.1,117.1</circle>", "Future")),
            (422, "info[0].area[0].circle[0]".into())
        );
        assert_eq!(
            err(&minimal("<circle>39.1,117.1 -2</circle>", "Future")),
            (422, "info[0].area[0].circle[0]".into())
        );
        assert_eq!(
            err(&minimal(
                "<geocode><valueName>GB/T 2260</valueName></geocode>",
                "Future"
            )),
            (422, "info[0].area[0].geocode[0].value".into())
        );
        assert_eq!(
            err(&minimal("", "Future").replace("+08:00</sent>", "</sent>")),
            (422, "sent".into())
        );
        assert_eq!(
            err(&minimal("", "Future").replace("2026-07-01T08:30:00+08:00", "2026-07-01T00:30:00Z")),
            (422, "sent".into())
        );
        assert_eq!(
            err(&minimal("", "Future").replace("<scope>", "<colour>red</colour><scope>")),
            (422, "colour".into())
        );
        assert_eq!(
            err(&minimal("<altitude>10</altitude><shape/>", "Future")),
            (422, "info[0].area[0].shape".into())
        );
        assert_eq!(
            err(&minimal("", "Future").replace("<status>", "<sender>t</sender><status>")),
            (422, "sender".into())
        );
        assert_eq!(
            err(&minimal("", "Future").replace(">Public<", ">Private<")),
            (422, "addresses".into())
        );
        assert_eq!(
            err(&minimal("", "Future")
                .replace("<msgType>", "<references>a,b</references><msgType>")),
            (422, "references".into())
        );
        assert_eq!(
            err(&minimal("<ceiling>10</ceiling>", "Future")),
            (422, "info[0].area[0].ceiling".into())
        );
    }

    #[test]
    fn prefixes_cdata_entities_comments_and_extensions_are_read() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- forwarded -->
<c:alert xmlns:c="urn:oasis:names:tc:emergency:cap:1.2" xmlns:x="urn:example:ext">
  <c:identifier>
     X2
  </c:identifier>
  <c:sender>s@example</c:sender><c:sent>2026-07-01T08:30:00+08:00</c:sent>
  <c:status>Exercise</c:status><c:msgType>Cancel</c:msgType><c:scope>Public</c:scope>
  <c:references>s@example,X1,2026-07-01T08:00:00+08:00 other@example,Y9,2026-06-30T20:00:00-04:00</c:references>
  <x:priority>high</x:priority>
  <c:info><c:category>Met</c:category><c:event><![CDATA[暴雨]]>预警</c:event>
    <c:description><![CDATA[<注意> & 防范]]></c:description>
    <c:urgency>Past</c:urgency><c:severity>Unknown</c:severity><c:certainty>Observed</c:certainty>
    <c:headline>A &amp; B &#x6D4B;&lt;</c:headline>
    <x:extra><c:foo/></x:extra>
  </c:info>
</c:alert>"#;
        let a = parse(xml).unwrap();
        assert_eq!(a.identifier, "X2");
        assert_eq!(a.status, "Exercise");
        assert_eq!(a.references.len(), 2);
        assert_eq!(a.references[1].sent_ms, T0 - 1_800_000);
        assert_eq!(a.references[1].sent_text, "2026-06-30T20:00:00-04:00");
        assert_eq!(a.infos[0].event, "暴雨预警");
        assert_eq!(a.infos[0].description.as_deref(), Some("<注意> & 防范"));
        assert_eq!(a.infos[0].headline.as_deref(), Some("A & B 测<"));
        assert_eq!(a.infos[0].event_type().key, "rainstorm");
    }
}
