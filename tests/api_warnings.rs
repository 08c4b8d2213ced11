//! Early warnings end to end, on every backend: the workflow by role (four eyes), CAP out of
//! the API, updates and cancels with references, relays with acknowledgement and escalation
//! on an injected clock, expiry, import of foreign CAP (idempotent, rejections store
//! nothing), relaying an import, and the public feed without a login.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;

fn draft(towns: &[&str]) -> Value {
    let now = yingji::db::now_ms();
    json!({
        "event_type": "rainstorm", "level": "orange",
        "headline": "武清区气象台发布暴雨橙色预警",
        "description": "预计未来6小时内杨村街道等地将出现50毫米以上降水。",
        "instruction": "停止户外作业，转移低洼地带人员。",
        "headline_en": "Orange rainstorm warning", "description_en": "Over 50 mm of rain expected within 6 hours.",
        "area": {"kind": "towns", "town_codes": towns},
        "expires_at": yingji::time::rfc3339(now + 6 * HOUR),
    })
}

async fn send(
    app: &common::TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    app.send_json(method, token, path, &body).await
}

async fn step(
    app: &common::TestApp,
    token: &str,
    id: &str,
    step: &str,
    body: Value,
) -> (u16, Value) {
    send(
        app,
        token,
        Method::POST,
        &format!("/api/v1/warnings/{id}/{step}"),
        body,
    )
    .await
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

async fn text(app: &common::TestApp, token: Option<&str>, path: &str) -> (u16, String, String) {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, r.text().await.expect("body"))
}

/// Drafts, submits, approves (as the leader) and publishes (as the duty officer).
async fn publish_new(app: &common::TestApp, duty: &str, leader: &str, body: Value) -> Value {
    let (s, w) = send(app, duty, Method::POST, "/api/v1/warnings", body).await;
    assert_eq!(s, 201, "{w}");
    let id = id_of(&w);
    let (s, w) = step(app, duty, &id, "submit", json!({})).await;
    assert_eq!(s, 200, "{w}");
    let (s, w) = step(app, leader, &id, "approve", json!({})).await;
    assert_eq!(s, 200, "{w}");
    let (s, w) = step(app, duty, &id, "publish", json!({})).await;
    assert_eq!(s, 200, "{w}");
    w
}

async fn import_xml(app: &common::TestApp, token: &str, xml: &str) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/api/v1/warnings/import"))
        .bearer_auth(token)
        .header("content-type", "application/cap+xml")
        .body(xml.to_string())
        .send()
        .await
        .expect("request");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn count(db: &yingji::db::Db, table: &str) -> i64 {
    db.fetch_scalar(&yingji::db::Sql::new(format!(
        "SELECT COUNT(*) FROM {table}"
    )))
    .await
    .expect("count")
}

#[tokio::test]
async fn the_workflow_needs_a_composer_and_another_approver_and_publishing_puts_out_cap_relays_and_deliveries()
 {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let duty = app.login("duty").await;
        let leader = app.login("leader").await;
        let town = app.login("town").await;
        let ent = app.login("enterprise").await;
        let supervisor = app.login("supervisor").await;

        // Town staff and enterprises do not compose.
        let (s, e) = send(
            &app,
            &town,
            Method::POST,
            "/api/v1/warnings",
            draft(&[common::TOWN_A]),
        )
        .await;
        assert_eq!(s, 403, "{e}");
        // Bad input names the field.
        let mut bad = draft(&[common::TOWN_A]);
        bad["event_type"] = json!("tsunami");
        let (s, e) = send(&app, &duty, Method::POST, "/api/v1/warnings", bad).await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (422, Some("event_type")),
            "{e}"
        );
        let (s, e) = send(
            &app,
            &duty,
            Method::POST,
            "/api/v1/warnings",
            draft(&["120114999"]),
        )
        .await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (422, Some("area.town_codes")),
            "{e}"
        );
        let mut bad = draft(&[common::TOWN_A]);
        bad["expires_at"] = json!("2020-01-01T00:00:00Z");
        let (s, e) = send(&app, &duty, Method::POST, "/api/v1/warnings", bad).await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (422, Some("expires_at")),
            "{e}"
        );
        let mut bad = draft(&[common::TOWN_A]);
        bad["area"] = json!({"kind": "circle", "center": [100.0, 30.0], "radius_km": 5});
        let (s, e) = send(&app, &duty, Method::POST, "/api/v1/warnings", bad).await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (422, Some("area.center")),
            "{e}"
        );

        let (s, w) = send(
            &app,
            &duty,
            Method::POST,
            "/api/v1/warnings",
            draft(&[common::TOWN_A, common::TOWN_B]),
        )
        .await;
        assert_eq!(s, 201, "{w}");
        let id = id_of(&w);
        assert_eq!(w["state"], "draft");
        assert_eq!(w["urgency"], "Expected", "the event type's default");
        assert_eq!(w["severity"], "Severe");
        assert_eq!(w["available_steps"], json!(["edit", "submit"]));
        assert!(w["area_desc"].as_str().unwrap().contains("杨村街道"), "{w}");
        // A draft's CAP is its preview.
        let (s, _, xml) = text(&app, Some(&duty), &format!("/api/v1/warnings/{id}/cap.xml")).await;
        assert_eq!(s, 200);
        assert!(
            xml.contains("<headline>武清区气象台发布暴雨橙色预警</headline>")
                && xml.contains("120114002"),
            "{xml}"
        );
        // Drafts are not for the town or the enterprise.
        assert_eq!(
            app.get_json(&town, &format!("/api/v1/warnings/{id}"))
                .await
                .0,
            404
        );
        assert_eq!(
            app.get_json(&ent, &format!("/api/v1/warnings/{id}"))
                .await
                .0,
            404
        );

        // Not publishable before approval; the submitter may not approve their own.
        let (s, _) = step(&app, &duty, &id, "publish", json!({})).await;
        assert_eq!(s, 409);
        let (s, _) = step(&app, &duty, &id, "submit", json!({})).await;
        assert_eq!(s, 200);
        let (s, e) = step(&app, &duty, &id, "approve", json!({})).await;
        assert_eq!(s, 409, "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("another user"),
            "{e}"
        );
        let (s, _) = step(&app, &supervisor, &id, "approve", json!({})).await;
        assert_eq!(s, 403, "a supervisor composes but does not approve");
        let (s, q) = app
            .get_json(&leader, "/api/v1/warnings/approval-queue")
            .await;
        assert_eq!((s, q["total"].as_i64()), (200, Some(1)));
        // A rejection needs a reason and goes back to draft.
        let (s, e) = step(&app, &leader, &id, "reject", json!({})).await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("reason")));
        let (s, w) = step(
            &app,
            &leader,
            &id,
            "reject",
            json!({"reason": "范围不准确"}),
        )
        .await;
        assert_eq!((s, w["state"].as_str()), (200, Some("draft")));
        assert_eq!(w["reject_reason"], "范围不准确");
        let (s, _) = step(&app, &duty, &id, "submit", json!({})).await;
        assert_eq!(s, 200);
        let (s, w) = step(&app, &leader, &id, "approve", json!({})).await;
        assert_eq!((s, w["state"].as_str()), (200, Some("approved")), "{w}");
        let (s, w) = step(&app, &duty, &id, "publish", json!({})).await;
        assert_eq!((s, w["state"].as_str()), (200, Some("published")), "{w}");
        assert_eq!(w["in_force"], true);
        let identifier = w["identifier"].as_str().unwrap().to_string();
        assert_eq!(identifier.len(), 31, "{identifier}");
        assert!(identifier.starts_with("12011400000000_"), "{identifier}");
        let (s, _) = step(&app, &duty, &id, "publish", json!({})).await;
        assert_eq!(s, 409, "publishing twice");

        // The frozen CAP.
        let (s, ct, xml) = text(&app, Some(&town), &format!("/api/v1/warnings/{id}/cap.xml")).await;
        assert_eq!(s, 200);
        assert!(ct.starts_with("application/cap+xml"), "{ct}");
        assert!(xml.contains("urn:oasis:names:tc:emergency:cap:1.2"));
        assert!(xml.contains(&format!("<identifier>{identifier}</identifier>")));
        assert!(xml.contains("+08:00") && !xml.contains("Z</sent>"), "{xml}");
        assert!(xml.contains("<severity>Severe</severity>"));
        assert!(xml.contains("120114001") && xml.contains("120114002"));
        assert!(xml.contains("en-US"), "the English info block");

        // One relay per target town.
        let (_, board) = app
            .get_json(&duty, &format!("/api/v1/warnings/{id}/relays"))
            .await;
        assert_eq!(board["total"], 2, "{board}");
        assert!(
            board["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["state"] == "pending")
        );
        // The town sees its own relay only.
        let (_, inbox) = app.get_json(&town, "/api/v1/relays?state=pending").await;
        assert_eq!(inbox["total"], 1, "{inbox}");
        assert_eq!(inbox["items"][0]["town_code"], common::TOWN_A);
        // Deliveries were queued in the same transaction (at least the staff's live channel).
        let queued: i64 =
            t.db.fetch_scalar(
                &yingji::db::Sql::new("SELECT COUNT(*) FROM deliveries WHERE warning_id = $1")
                    .bind(id.as_str()),
            )
            .await
            .expect("count");
        assert!(queued > 0);
        // Enterprises see published public warnings.
        assert_eq!(
            app.get_json(&ent, &format!("/api/v1/warnings/{id}"))
                .await
                .0,
            200
        );

        // Every step is in the timeline, with who did it.
        let (_, tl) = app
            .get_json(&duty, &format!("/api/v1/warnings/{id}/timeline"))
            .await;
        let actions: Vec<&str> = tl["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(
            actions,
            ["draft", "submit", "reject", "submit", "approve", "publish"],
            "{tl}"
        );
        app.stop().await;
    });
}

#[tokio::test]
async fn an_update_supersedes_and_a_cancel_ends_a_warning_each_with_a_referencing_cap_message() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let duty = app.login("duty").await;
        let leader = app.login("leader").await;
        let first = publish_new(&app, &duty, &leader, draft(&[common::TOWN_A])).await;
        let first_id = id_of(&first);
        let first_identifier = first["identifier"].as_str().unwrap().to_string();

        let (s, upd) = step(&app, &duty, &first_id, "update", json!({})).await;
        assert_eq!(s, 201, "{upd}");
        assert_eq!(upd["msg_type"], "Update");
        assert_eq!(upd["references_id"], first_id.as_str());
        let (s, _) = step(&app, &duty, &first_id, "update", json!({})).await;
        assert_eq!(s, 409, "one update in preparation at a time");
        let upd_id = id_of(&upd);
        let mut body = draft(&[common::TOWN_A, common::TOWN_B]);
        body["level"] = json!("red");
        body["headline"] = json!("武清区暴雨橙色预警升级为红色预警");
        let (s, e) = send(
            &app,
            &duty,
            Method::PUT,
            &format!("/api/v1/warnings/{upd_id}"),
            body,
        )
        .await;
        assert_eq!(s, 200, "{e}");
        for (who, st) in [(&duty, "submit"), (&leader, "approve"), (&duty, "publish")] {
            let (s, e) = step(&app, who, &upd_id, st, json!({})).await;
            assert_eq!(s, 200, "{st}: {e}");
        }
        let (_, old) = app
            .get_json(&duty, &format!("/api/v1/warnings/{first_id}"))
            .await;
        assert_eq!(old["state"], "superseded");
        assert_eq!(old["superseded_by_id"], upd_id.as_str());
        assert_eq!(old["in_force"], false);
        let (_, _, xml) = text(
            &app,
            Some(&duty),
            &format!("/api/v1/warnings/{upd_id}/cap.xml"),
        )
        .await;
        assert!(xml.contains("<msgType>Update</msgType>"), "{xml}");
        assert!(
            xml.contains(&format!("{},{first_identifier},", "yjj@wuqing.tj.gov.cn")),
            "{xml}"
        );
        assert!(xml.contains("<severity>Extreme</severity>"));

        // Cancelling needs a reason, publishes a Cancel at once and ends the update.
        let (s, e) = step(&app, &duty, &upd_id, "cancel", json!({"reason": ""})).await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("reason")));
        let (s, c) = step(
            &app,
            &duty,
            &upd_id,
            "cancel",
            json!({"reason": "降雨已减弱"}),
        )
        .await;
        assert_eq!(s, 200, "{c}");
        assert_eq!(c["msg_type"], "Cancel");
        assert_eq!(c["references_id"], upd_id.as_str());
        let (_, ended) = app
            .get_json(&duty, &format!("/api/v1/warnings/{upd_id}"))
            .await;
        assert_eq!(ended["state"], "cancelled");
        assert_eq!(ended["cancel_reason"], "降雨已减弱");
        let (_, _, xml) = text(
            &app,
            Some(&duty),
            &format!("/api/v1/warnings/{}/cap.xml", id_of(&c)),
        )
        .await;
        assert!(xml.contains("<msgType>Cancel</msgType>"), "{xml}");
        // The towns are told it is lifted.
        let (_, board) = app
            .get_json(&duty, &format!("/api/v1/warnings/{}/relays", id_of(&c)))
            .await;
        assert_eq!(board["total"], 2);
        // Nothing in force any more; the public feed says it was lifted.
        let (_, live) = app.get_json(&duty, "/api/v1/warnings?in_force=true").await;
        assert_eq!(live["total"], 0, "{live}");
        let (_, _, atom) = text(&app, None, "/public/warnings.atom").await;
        assert!(
            atom.contains("解除")
                && atom.contains(&format!("/public/warnings/{}/cap.xml", id_of(&c))),
            "{atom}"
        );
        assert!(
            !atom.contains(&format!("/public/warnings/{upd_id}/cap.xml")),
            "{atom}"
        );
        app.stop().await;
    });
}

#[tokio::test]
async fn a_relay_not_acknowledged_in_time_escalates_and_a_warning_expires_on_the_injected_clock() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let mut settings = common::TestApp::manual_clock_settings();
        settings.warning.relay_ack_minutes = 15;
        let app = common::TestApp::spawn_with(&t.db, settings).await;
        let duty = app.login("duty").await;
        let leader = app.login("leader").await;
        let town = app.login("town").await;
        let published = yingji::db::now_ms();
        let w = publish_new(
            &app,
            &duty,
            &leader,
            draft(&[common::TOWN_A, common::TOWN_B]),
        )
        .await;
        let id = id_of(&w);

        yingji::app::tick(&app.monitor, published + 14 * MINUTE)
            .await
            .expect("tick");
        let (_, board) = app
            .get_json(&duty, &format!("/api/v1/warnings/{id}/relays"))
            .await;
        assert!(
            board["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["state"] == "pending"),
            "{board}"
        );

        // Town A acknowledges in time; town B does not.
        let (_, inbox) = app.get_json(&town, "/api/v1/relays").await;
        let relay_a = inbox["items"][0]["id"].as_str().unwrap().to_string();
        let (s, r) = send(
            &app,
            &town,
            Method::POST,
            &format!("/api/v1/relays/{relay_a}/ack"),
            json!({}),
        )
        .await;
        assert_eq!((s, r["state"].as_str()), (200, Some("acknowledged")), "{r}");
        let (s, _) = send(
            &app,
            &town,
            Method::POST,
            &format!("/api/v1/relays/{relay_a}/ack"),
            json!({}),
        )
        .await;
        assert_eq!(s, 409, "acknowledged twice");
        let relay_b = board["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["town_code"] == common::TOWN_B)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, _) = send(
            &app,
            &town,
            Method::POST,
            &format!("/api/v1/relays/{relay_b}/ack"),
            json!({}),
        )
        .await;
        assert_eq!(s, 404, "another town's relay");

        yingji::app::tick(&app.monitor, published + 16 * MINUTE)
            .await
            .expect("tick");
        let (_, board) = app
            .get_json(&duty, &format!("/api/v1/warnings/{id}/relays"))
            .await;
        let state_of = |code: &str| {
            board["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["town_code"] == code)
                .unwrap()["state"]
                .clone()
        };
        assert_eq!(state_of(common::TOWN_A), "acknowledged");
        assert_eq!(state_of(common::TOWN_B), "escalated");
        let (_, esc) = app.get_json(&duty, "/api/v1/relays?state=escalated").await;
        assert_eq!(esc["total"], 1);
        // Escalation is audited and happens once.
        yingji::app::tick(&app.monitor, published + 20 * MINUTE)
            .await
            .expect("tick");
        let (_, tl) = app
            .get_json(&duty, &format!("/api/v1/warnings/{id}/timeline"))
            .await;
        let escalations = tl["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "escalate")
            .count();
        assert_eq!(escalations, 1, "{tl}");
        let escalated_at = tl["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "escalate")
            .unwrap()["at"]
            .clone();
        assert_eq!(
            escalated_at,
            yingji::time::rfc3339(published + 16 * MINUTE),
            "the clock's time, not the wall's"
        );

        // Onward dissemination: channels from the list, people within the population.
        let (s, e) = send(
            &app,
            &town,
            Method::POST,
            &format!("/api/v1/relays/{relay_a}/dissemination"),
            json!({"channels": ["pigeon"], "people_reached": 10}),
        )
        .await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("channels")));
        let (s, e) = send(
            &app,
            &town,
            Method::POST,
            &format!("/api/v1/relays/{relay_a}/dissemination"),
            json!({"channels": ["loudspeaker"], "people_reached": 999_999_999}),
        )
        .await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (422, Some("people_reached"))
        );
        let (s, r) = send(&app, &town, Method::POST, &format!("/api/v1/relays/{relay_a}/dissemination"),
            json!({"channels": ["loudspeaker", "wechat"], "people_reached": 1200, "note": "村村响广播"})).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["people_reached"], 1200);

        // Past its expiry the warning ends by itself.
        yingji::app::tick(&app.monitor, published + 7 * HOUR)
            .await
            .expect("tick");
        let (_, w) = app.get_json(&duty, &format!("/api/v1/warnings/{id}")).await;
        assert_eq!(
            (w["state"].as_str(), w["in_force"].as_bool()),
            (Some("expired"), Some(false)),
            "{w}"
        );
        app.stop().await;
    });
}

fn foreign_cap(identifier: &str, msg_type: &str, references: Option<&str>) -> String {
    let refs = references
        .map(|r| format!("<references>{r}</references>"))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>tjqxt@tj.cma.gov.cn</sender>
  <sent>2026-07-12T05:30:00+08:00</sent>
  <status>Actual</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {refs}
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>暴雨蓝色预警</event>
    <urgency>Expected</urgency>
    <severity>Minor</severity>
    <certainty>Likely</certainty>
    <effective>2026-07-12T05:30:00+08:00</effective>
    <expires>2099-07-12T17:30:00+08:00</expires>
    <senderName>天津市气象台</senderName>
    <headline>天津市气象台发布暴雨蓝色预警信号</headline>
    <description>预计12日白天武清区、北辰区将出现暴雨。</description>
    <instruction>注意防范城市内涝。</instruction>
    <parameter><valueName>预警级别</valueName><value>蓝色</value></parameter>
    <area>
      <areaDesc>武清区、北辰区</areaDesc>
      <geocode><valueName>GB/T 2260</valueName><value>120114</value></geocode>
      <geocode><valueName>GB/T 2260</valueName><value>120113</value></geocode>
    </area>
  </info>
  <info>
    <language>en-US</language>
    <category>Met</category>
    <event>Rainstorm blue warning</event>
    <urgency>Expected</urgency>
    <severity>Minor</severity>
    <certainty>Likely</certainty>
    <headline>Tianjin Meteorological Observatory issues a blue rainstorm warning</headline>
    <area><areaDesc>Wuqing, Beichen</areaDesc></area>
  </info>
</alert>"#
    )
}

#[tokio::test]
async fn foreign_cap_imports_once_rejections_store_nothing_and_an_import_can_be_relayed_and_cancelled()
 {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let duty = app.login("duty").await;
        let town = app.login("town").await;
        let ident = "12000041600000_20260712053000_1";

        let before = count(&t.db, "warnings").await;
        for (doc, status, field) in [
            ("not xml at all", 400u16, None),
            ("<html><body>hi</body></html>", 422, None),
            (
                &foreign_cap(ident, "Alert", None).replace("cap:1.2", "cap:1.1"),
                422,
                None,
            ),
            (
                &foreign_cap(ident, "Alert", None)
                    .replace("<urgency>Expected</urgency>", "<urgency>Soon</urgency>"),
                422,
                Some("info[0].urgency"),
            ),
            (
                &foreign_cap(ident, "Alert", None)
                    .replace(&format!("<identifier>{ident}</identifier>"), ""),
                422,
                Some("identifier"),
            ),
        ] {
            let (s, e) = import_xml(&app, &duty, doc).await;
            assert_eq!(s, status, "{doc}: {e}");
            if let Some(f) = field {
                assert_eq!(e["error"]["field"], f, "{e}");
            }
            assert!(
                e["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{e}"
            );
        }
        assert_eq!(
            count(&t.db, "warnings").await,
            before,
            "nothing stored from a rejected document"
        );
        let (s, _) = import_xml(&app, &town, &foreign_cap(ident, "Alert", None)).await;
        assert_eq!(s, 403, "towns do not import");

        let (s, w) = import_xml(&app, &duty, &foreign_cap(ident, "Alert", None)).await;
        assert_eq!(s, 201, "{w}");
        assert_eq!(w["source"], "imported");
        assert_eq!(w["state"], "imported");
        assert_eq!(w["event_type"], "rainstorm");
        assert_eq!(w["level"], "blue");
        assert_eq!(w["sender_name"], "天津市气象台");
        assert_eq!(
            w["headline_en"],
            "Tianjin Meteorological Observatory issues a blue rainstorm warning"
        );
        assert_eq!(w["sent_at"], "2026-07-11T21:30:00.000Z");
        // The district code covers every town of the district.
        assert!(w["town_codes"].as_array().unwrap().len() >= 2, "{w}");
        let id = id_of(&w);
        let (s, again) = import_xml(&app, &duty, &foreign_cap(ident, "Alert", None)).await;
        assert_eq!(
            (s, id_of(&again)),
            (200, id.clone()),
            "idempotent per issuer and identifier"
        );
        // The original document is kept byte for byte.
        let (_, _, xml) = text(&app, Some(&duty), &format!("/api/v1/warnings/{id}/cap.xml")).await;
        assert_eq!(xml, foreign_cap(ident, "Alert", None));
        // Shown on the staff map, not yet public.
        let (_, layer) = app.get_json(&duty, "/api/v1/map/warnings").await;
        assert_eq!(layer["features"].as_array().unwrap().len(), 1, "{layer}");
        let (_, _, atom) = text(&app, None, "/public/warnings.atom").await;
        assert!(!atom.contains(ident), "an import is public once relayed");

        let (s, r) = step(&app, &duty, &id, "relay", json!({})).await;
        assert_eq!((s, r["state"].as_str()), (200, Some("relayed")), "{r}");
        let (_, inbox) = app.get_json(&town, "/api/v1/relays?state=pending").await;
        assert_eq!(inbox["total"], 1);
        let (s, ct, atom) = text(&app, None, "/public/warnings.atom").await;
        assert_eq!(s, 200);
        assert!(ct.starts_with("application/atom+xml"), "{ct}");
        assert!(
            atom.contains(&format!("/public/warnings/{id}/cap.xml")),
            "{atom}"
        );
        let (s, _, public_cap) = text(&app, None, &format!("/public/warnings/{id}/cap.xml")).await;
        assert_eq!(s, 200);
        assert_eq!(public_cap, foreign_cap(ident, "Alert", None));

        // The issuer cancels: the import ends.
        let cancel = foreign_cap(
            "12000041600000_20260712090000_1",
            "Cancel",
            Some(&format!(
                "tjqxt@tj.cma.gov.cn,{ident},2026-07-12T05:30:00+08:00"
            )),
        );
        let (s, c) = import_xml(&app, &duty, &cancel).await;
        assert_eq!(s, 201, "{c}");
        let (_, w) = app.get_json(&duty, &format!("/api/v1/warnings/{id}")).await;
        assert_eq!(w["state"], "cancelled", "{w}");
        let (_, pj) = app.get_json(&duty, "/public/warnings.json").await;
        assert_eq!(pj["total"], 0, "{pj}");
        app.stop().await;
    });
}

#[tokio::test]
async fn our_cap_imported_elsewhere_gives_back_the_same_fields_and_the_public_feed_needs_no_login()
{
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let duty = app.login("duty").await;
        let leader = app.login("leader").await;
        let units = yingji::demo::generator::demo_admin_units().expect("units");
        let [x, y] = units
            .iter()
            .find(|u| u.code == common::TOWN_A)
            .and_then(|u| u.seat)
            .expect("seat");
        let mut body = draft(&[common::TOWN_A]);
        body["area"] = json!({"kind": "polygon", "polygon": [[x - 0.005, y - 0.005], [x + 0.005, y - 0.005], [x + 0.005, y + 0.005], [x - 0.005, y + 0.005]]});
        body["area_desc"] = json!("杨村街道东部");
        body["response_type"] = json!("Prepare");
        let ours = publish_new(&app, &duty, &leader, body).await;
        let (_, _, xml) = text(
            &app,
            Some(&duty),
            &format!("/api/v1/warnings/{}/cap.xml", id_of(&ours)),
        )
        .await;

        // A restricted one stays out of the public feed.
        let mut restricted = draft(&[common::TOWN_A]);
        restricted["scope"] = json!("restricted");
        restricted["headline"] = json!("内部：危化品企业停产检查通知");
        let r = publish_new(&app, &duty, &leader, restricted).await;
        let (s, _, atom) = text(&app, None, "/public/warnings.atom").await;
        assert_eq!(s, 200);
        assert!(
            atom.contains(ours["identifier"].as_str().unwrap()),
            "{atom}"
        );
        assert!(!atom.contains("内部"), "{atom}");
        // Links are absolute: the configured public address, else the one asked.
        assert!(
            atom.contains(&format!(
                "href=\"http://{}/public/warnings/{}/cap.xml\"",
                app.addr,
                id_of(&ours)
            )),
            "{atom}"
        );
        let (s, _, _) = text(
            &app,
            None,
            &format!("/public/warnings/{}/cap.xml", id_of(&r)),
        )
        .await;
        assert_eq!(s, 404, "a restricted CAP is not public");
        let (s, pj) = app.get_json("", "/public/warnings.json").await;
        assert_eq!((s, pj["total"].as_i64()), (200, Some(1)), "{pj}");
        assert!(pj["items"][0]["geometry"].is_object());
        assert!(!pj["towns"]["features"].as_array().unwrap().is_empty());

        // Another platform (a second, empty database) imports our CAP: the same fields.
        let other_db = common::TestDb::sqlite().await;
        common::seed_fixture(&other_db.db).await;
        let other = common::TestApp::spawn(&other_db.db).await;
        let other_duty = other.login("duty").await;
        let (s, theirs) = import_xml(&other, &other_duty, &xml).await;
        assert_eq!(s, 201, "{theirs}");
        for field in [
            "identifier",
            "sender",
            "sender_name",
            "status",
            "scope",
            "event_type",
            "level",
            "urgency",
            "severity",
            "certainty",
            "response_type",
            "headline",
            "description",
            "instruction",
            "headline_en",
            "description_en",
            "area_desc",
            "town_codes",
            "effective_at",
            "expires_at",
            "sent_at",
        ] {
            assert_eq!(theirs[field], ours[field], "{field}");
        }
        other.stop().await;
        other_db.cleanup().await;
        app.stop().await;
    });
}

#[tokio::test]
async fn the_preview_is_cap_of_the_unsaved_draft_or_names_the_wrong_field() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let duty = app.login("duty").await;
        let r = app
            .client
            .post(app.url("/api/v1/warnings/preview"))
            .bearer_auth(&duty)
            .json(&draft(&[common::TOWN_A]))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200);
        let xml = r.text().await.expect("text");
        assert!(
            xml.contains("<headline>武清区气象台发布暴雨橙色预警</headline>"),
            "{xml}"
        );
        assert_eq!(
            count(&t.db, "warnings").await,
            0,
            "a preview stores nothing"
        );
        let mut bad = draft(&[common::TOWN_A]);
        bad["headline"] = json!("");
        let (s, e) = send(&app, &duty, Method::POST, "/api/v1/warnings/preview", bad).await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (422, Some("headline")),
            "{e}"
        );
        app.stop().await;
    });
}
