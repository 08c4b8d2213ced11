//! The public Atom 1.0 feed (RFC 4287) of warnings in force: one entry per warning, each
//! linking its CAP document (`application/cap+xml`), the way CAP aggregators discover
//! alerts. Pure. Times are RFC 3339 in Beijing time (`+08:00`), like the CAP they point to.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::cap::format_time;

pub const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
pub const CAP_MIME: &str = "application/cap+xml";

#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    /// An IRI (`urn:…`, `https://…`) or a bare CAP identifier, which is written as
    /// `urn:yingji:cap:IDENTIFIER` because an Atom id must be an IRI.
    pub id: String,
    pub title: String,
    pub summary: String,
    pub updated_ms: i64,
    pub published_ms: i64,
    pub cap_url: String,
    pub html_url: Option<String>,
    /// Level key (`red` …), written as a category.
    pub level: Option<String>,
    /// Event type key, written as a category.
    pub event: String,
}

/// Scheme of the level and event-type categories.
pub const LEVEL_SCHEME: &str = "urn:yingji:warning:level";
pub const EVENT_SCHEME: &str = "urn:yingji:warning:event_type";

fn entry_id(id: &str) -> String {
    let id = id.trim();
    let has_scheme = id.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if has_scheme {
        id.to_string()
    } else {
        format!("urn:yingji:cap:{id}")
    }
}

type W = std::io::Result<()>;

fn text(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> W {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn link(w: &mut Writer<Vec<u8>>, rel: &str, mime: &str, href: &str) -> W {
    w.create_element("link")
        .with_attributes([("rel", rel), ("type", mime), ("href", href)])
        .write_empty()?;
    Ok(())
}

/// The feed document. The feed's author is its title (the issuing authority): RFC 4287
/// needs an author on the feed when entries have none.
pub fn feed(
    title: &str,
    feed_id: &str,
    self_url: &str,
    updated_ms: i64,
    entries: &[FeedEntry],
) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    write_feed(&mut w, title, feed_id, self_url, updated_ms, entries)
        .expect("writing XML into memory cannot fail");
    let mut xml = String::from_utf8(w.into_inner()).expect("the writer was given only UTF-8");
    xml.push('\n');
    xml
}

fn write_feed(
    w: &mut Writer<Vec<u8>>,
    title: &str,
    feed_id: &str,
    self_url: &str,
    updated_ms: i64,
    entries: &[FeedEntry],
) -> W {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.write_event(Event::Start(
        BytesStart::new("feed").with_attributes([("xmlns", ATOM_NS), ("xml:lang", "zh-CN")]),
    ))?;
    text(w, "id", &entry_id(feed_id))?;
    text(w, "title", title)?;
    text(w, "updated", &format_time(updated_ms))?;
    link(w, "self", "application/atom+xml", self_url)?;
    w.write_event(Event::Start(BytesStart::new("author")))?;
    text(w, "name", title)?;
    w.write_event(Event::End(BytesEnd::new("author")))?;
    for e in entries {
        w.write_event(Event::Start(BytesStart::new("entry")))?;
        text(w, "id", &entry_id(&e.id))?;
        text(w, "title", &e.title)?;
        text(w, "updated", &format_time(e.updated_ms))?;
        text(w, "published", &format_time(e.published_ms))?;
        if !e.summary.trim().is_empty() {
            text(w, "summary", &e.summary)?;
        }
        link(w, "alternate", super::atom::CAP_MIME, &e.cap_url)?;
        if let Some(html) = &e.html_url {
            link(w, "alternate", "text/html", html)?;
        }
        if let Some(level) = &e.level {
            w.create_element("category")
                .with_attributes([("scheme", LEVEL_SCHEME), ("term", level.as_str())])
                .write_empty()?;
        }
        if !e.event.is_empty() {
            w.create_element("category")
                .with_attributes([("scheme", EVENT_SCHEME), ("term", e.event.as_str())])
                .write_empty()?;
        }
        w.write_event(Event::End(BytesEnd::new("entry")))?;
    }
    w.write_event(Event::End(BytesEnd::new("feed")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    use quick_xml::reader::NsReader;

    fn entry(i: i64) -> FeedEntry {
        FeedEntry {
            id: format!("12011400000000_2026070108300{i}_0"),
            title: format!("武清区暴雨红色预警 <{i}> & more"),
            summary: "预计未来 3 小时降雨量将达 100 毫米以上".into(),
            updated_ms: 1_782_865_800_000 + i * 1000,
            published_ms: 1_782_865_800_000,
            cap_url: format!("https://yingji.example/public/warnings/W{i}/cap.xml"),
            html_url: Some(format!("https://yingji.example/#/public/warnings/W{i}")),
            level: Some("red".into()),
            event: "rainstorm".into(),
        }
    }

    /// (element path, attributes, text).
    type El = (String, Vec<(String, String)>, String);

    /// Reads the feed back: (element path, attributes, text) of every element in the Atom
    /// namespace.
    fn read(xml: &str) -> Vec<El> {
        let mut r = NsReader::from_str(xml);
        r.config_mut().expand_empty_elements = true;
        r.config_mut().trim_text(true);
        let mut path: Vec<String> = vec![];
        let mut out = vec![];
        loop {
            match r.read_resolved_event().expect("well-formed") {
                (ns, Event::Start(e)) => {
                    assert!(
                        matches!(ns, ResolveResult::Bound(n) if n.as_ref() == ATOM_NS.as_bytes())
                    );
                    path.push(String::from_utf8(e.local_name().as_ref().to_vec()).unwrap());
                    let attrs = e
                        .attributes()
                        .map(|a| {
                            let a = a.expect("attribute");
                            (
                                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                                a.decode_and_unescape_value(r.decoder())
                                    .unwrap()
                                    .into_owned(),
                            )
                        })
                        .collect();
                    out.push((path.join("/"), attrs, String::new()));
                }
                (_, Event::Text(t)) => {
                    if let Some(last) = out.last_mut() {
                        last.2.push_str(&t.unescape().unwrap());
                    }
                }
                (_, Event::End(_)) => {
                    path.pop();
                }
                (_, Event::Eof) => break,
                _ => {}
            }
        }
        assert!(path.is_empty());
        out
    }

    #[test]
    fn the_feed_is_well_formed_atom_and_every_entry_links_its_cap() {
        let xml = feed(
            "天津市武清区突发事件预警信息",
            "urn:yingji:warnings:120114",
            "https://yingji.example/public/warnings.atom",
            1_782_865_900_000,
            &[entry(1), entry(2)],
        );
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        let els = read(&xml);
        let get = |p: &str| -> Vec<&El> { els.iter().filter(|e| e.0 == p).collect() };
        assert_eq!(get("feed/updated")[0].2, "2026-07-01T08:31:40+08:00");
        assert_eq!(get("feed/id")[0].2, "urn:yingji:warnings:120114");
        assert_eq!(get("feed/author/name")[0].2, "天津市武清区突发事件预警信息");
        assert_eq!(get("feed/entry").len(), 2);
        let ids: Vec<&str> = get("feed/entry/id").iter().map(|e| e.2.as_str()).collect();
        assert_eq!(
            ids,
            [
                "urn:yingji:cap:12011400000000_20260701083001_0",
                "urn:yingji:cap:12011400000000_20260701083002_0"
            ]
        );
        assert_eq!(
            get("feed/entry/title")[0].2,
            "武清区暴雨红色预警 <1> & more"
        );
        assert_eq!(
            get("feed/entry/published")[1].2,
            "2026-07-01T08:30:00+08:00"
        );
        assert_eq!(get("feed/entry/updated")[1].2, "2026-07-01T08:30:02+08:00");
        let cap_links: Vec<&String> = get("feed/entry/link")
            .iter()
            .filter(|e| e.1.contains(&("type".into(), CAP_MIME.into())))
            .map(|e| &e.1.iter().find(|(k, _)| k == "href").unwrap().1)
            .collect();
        assert_eq!(
            cap_links,
            [
                "https://yingji.example/public/warnings/W1/cap.xml",
                "https://yingji.example/public/warnings/W2/cap.xml"
            ]
        );
        for l in get("feed/entry/link") {
            assert!(l.1.contains(&("rel".into(), "alternate".into())));
        }
        let self_link = &get("feed/link")[0].1;
        assert!(self_link.contains(&("rel".into(), "self".into())));
        let terms: Vec<&str> = get("feed/entry/category")
            .iter()
            .map(|e| e.1.iter().find(|(k, _)| k == "term").unwrap().1.as_str())
            .collect();
        assert_eq!(terms, ["red", "rainstorm", "red", "rainstorm"]);
    }

    #[test]
    fn an_empty_feed_is_still_valid_and_iris_are_kept() {
        let xml = feed(
            "预警",
            "https://x.example/feed",
            "https://x.example/feed",
            0,
            &[],
        );
        let els = read(&xml);
        assert_eq!(els.iter().filter(|e| e.0 == "feed/entry").count(), 0);
        assert_eq!(
            els.iter().find(|e| e.0 == "feed/id").unwrap().2,
            "https://x.example/feed"
        );
        assert_eq!(
            els.iter().find(|e| e.0 == "feed/updated").unwrap().2,
            "1970-01-01T08:00:00+08:00"
        );
    }
}
