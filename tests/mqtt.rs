//! MQTT ingest end to end, against a real broker: `YINGJI_TEST_MQTT` (default
//! mqtt://127.0.0.1:1883, the local Mosquitto that CI runs).
//!
//! Every test uses its own client ids and shared-subscription group, so tests running in
//! parallel never take each other's messages.

mod common;

use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use serde_json::{Value, json};
use yingji::config::Settings;

fn broker_url() -> String {
    std::env::var("YINGJI_TEST_MQTT")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "mqtt://127.0.0.1:1883".into())
}

fn settings(group: &str) -> Settings {
    let mut s = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: std::env::temp_dir().join(format!("yingji-test-{}", yingji::db::new_id())),
        ..Settings::default()
    };
    s.monitor.mqtt_url = Some(broker_url());
    s.monitor.mqtt_group = group.to_string();
    s.monitor.mqtt_client_id = Some(format!("{group}-app"));
    s
}

/// A gateway: publishes with QoS 1 and waits for the broker's PUBACK.
struct Gateway {
    client: AsyncClient,
    events: tokio::sync::mpsc::UnboundedReceiver<u16>,
}

impl Gateway {
    async fn connect(name: &str) -> Gateway {
        let broker = yingji::monitor::mqtt::parse_url(&broker_url()).expect("broker URL");
        let mut o = MqttOptions::new(name, broker.host, broker.port);
        o.set_max_packet_size(1024 * 1024, 1024 * 1024);
        let (client, mut eventloop) = AsyncClient::new(o, 100);
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(ack))) => {
                        let _ = tx.send(ack.pkid);
                    }
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        Gateway { client, events }
    }

    async fn publish(&mut self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.into())
            .await
            .expect("publish queued");
        tokio::time::timeout(Duration::from_secs(5), self.events.recv())
            .await
            .expect("the broker acknowledges the publish")
            .expect("event loop alive");
    }
}

/// Raw points of a sensor over the last day.
async fn points(app: &common::TestApp, token: &str, sensor_id: &str) -> Vec<Value> {
    let now = yingji::db::now_ms();
    let (s, v) = app
        .get_json(
            token,
            &format!(
                "/api/v1/sensors/{sensor_id}/readings?from={}&to={}",
                now - 86_400_000,
                now + 60_000
            ),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["points"].as_array().cloned().unwrap_or_default()
}

/// Waits (at most 10 s) until the sensor's history holds `n` points. With `republish`
/// (gateway, topic, payload) the payload is published before each poll: a message sent before
/// the subscription exists has no taker, and storing a batch again is idempotent.
async fn wait_for_points(
    app: &common::TestApp,
    token: &str,
    sensor_id: &str,
    n: usize,
    mut republish: Option<(&mut Gateway, &str, &str)>,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some((gw, topic, payload)) = republish.as_mut() {
            gw.publish(topic, *payload).await;
        }
        let p = points(app, token, sensor_id).await;
        if p.len() >= n {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} readings after 10 s: {p:?}",
            p.len()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn batch(sensor: &str, ts: &[i64], value: f64) -> String {
    let readings: Vec<Value> = ts
        .iter()
        .map(|t| json!({"sensor": sensor, "ts": t, "value": value}))
        .collect();
    json!({ "readings": readings }).to_string()
}

/// One test's world: a fresh database with an enterprise of its own (a credit code no other
/// test publishes to: the broker hands every group a copy of every message) and a sensor.
struct Setup {
    t: common::TestDb,
    sensor_id: String,
    topic: String,
    group: String,
}

async fn setup(test: &str) -> Setup {
    let t = common::TestDb::sqlite().await;
    common::seed_fixture(&t.db).await;
    let n = rand::random::<u64>();
    let enterprise = common::insert_enterprise(
        &t.db,
        &common::enterprise_input(n, common::TOWN_A, "测试化工"),
    )
    .await;
    let (sensor_id, _) = common::seed_sensor(&t.db, &enterprise, "LT-101").await;
    Setup {
        t,
        sensor_id,
        topic: format!("yingji/{}/readings", common::credit_code(n)),
        group: format!("yt-{test}-{}", yingji::db::new_id()),
    }
}

impl Setup {
    /// Drops the app's persistent session from the broker, so it does not keep queueing
    /// messages for a test that has ended.
    async fn cleanup(self) {
        let broker = yingji::monitor::mqtt::parse_url(&broker_url()).expect("broker URL");
        let mut o = MqttOptions::new(format!("{}-app", self.group), broker.host, broker.port);
        o.set_clean_session(true);
        let (client, mut eventloop) = AsyncClient::new(o, 10);
        let _ = tokio::time::timeout(Duration::from_secs(3), async {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = client.try_disconnect();
                    }
                    Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        self.t.cleanup().await;
    }
}

#[tokio::test]
async fn a_batch_published_to_the_enterprise_topic_is_stored() {
    let s = setup("store").await;
    let (sensor_id, topic, g) = (&s.sensor_id, &s.topic, &s.group);
    let app = common::TestApp::spawn_with(&s.t.db, settings(g)).await;
    let token = app.login("admin").await;
    let mut gw = Gateway::connect(&format!("{g}-gw")).await;
    let now = yingji::db::now_ms();
    let payload = json!({"readings": [
        {"sensor": "LT-101", "ts": now - 2000, "value": 4.5},
        {"sensor": "LT-101", "ts": chrono::DateTime::from_timestamp_millis(now - 1000)
            .expect("time").to_rfc3339(), "value": 5.5},
        {"sensor": "NOPE", "ts": now, "value": 1.0},
    ]})
    .to_string();
    let p = wait_for_points(&app, &token, sensor_id, 2, Some((&mut gw, topic, &payload))).await;
    assert_eq!(
        p.len(),
        2,
        "the unknown sensor's reading is not stored: {p:?}"
    );
    assert_eq!(p[0]["t"], now - 2000);
    assert_eq!(p[1]["value"], 5.5);
    app.stop().await;
    s.cleanup().await;
}

#[tokio::test]
async fn a_malformed_payload_or_an_unknown_credit_code_does_not_stop_later_messages() {
    let s = setup("bad").await;
    let (sensor_id, topic, g) = (&s.sensor_id, &s.topic, &s.group);
    let app = common::TestApp::spawn_with(&s.t.db, settings(g)).await;
    let token = app.login("admin").await;
    let mut gw = Gateway::connect(&format!("{g}-gw")).await;
    let now = yingji::db::now_ms();
    // First make sure the subscription is up.
    let probe = batch("LT-101", &[now - 10_000], 1.0);
    wait_for_points(&app, &token, sensor_id, 1, Some((&mut gw, topic, &probe))).await;

    gw.publish(topic, "{not json").await;
    gw.publish(topic, r#"{"readings": "none"}"#).await;
    gw.publish(
        "yingji/91120114XXXXXXXXX0/readings",
        batch("LT-101", &[now - 5000], 2.0),
    )
    .await;
    gw.publish(topic, batch("LT-101", &[now - 3000, now - 2000], 3.0))
        .await;
    let p = wait_for_points(&app, &token, sensor_id, 3, None).await;
    let times: Vec<i64> = p.iter().filter_map(|q| q["t"].as_i64()).collect();
    assert_eq!(
        times,
        vec![now - 10_000, now - 3000, now - 2000],
        "nothing of the unknown enterprise's batch"
    );

    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for reason in ["bad_payload", "unknown_enterprise"] {
        assert!(
            metrics.contains(&format!(
                "yingji_mqtt_rejected_total{{reason=\"{reason}\"}}"
            )),
            "{reason} counted: {metrics}"
        );
    }
    app.stop().await;
    s.cleanup().await;
}

#[tokio::test]
async fn readings_published_while_the_instance_is_down_arrive_when_it_comes_back() {
    let s = setup("offline").await;
    let (sensor_id, topic, g) = (&s.sensor_id, &s.topic, &s.group);
    let app = common::TestApp::spawn_with(&s.t.db, settings(g)).await;
    let token = app.login("admin").await;
    let mut gw = Gateway::connect(&format!("{g}-gw")).await;
    let now = yingji::db::now_ms();
    let probe = batch("LT-101", &[now - 10_000], 1.0);
    wait_for_points(&app, &token, sensor_id, 1, Some((&mut gw, topic, &probe))).await;
    app.stop().await;
    // The instance has disconnected (its session stays on the broker) before the gateway
    // publishes again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    gw.publish(topic, batch("LT-101", &[now - 1000], 7.0)).await;

    // A new pool: the stopped instance closed its own.
    let db = yingji::db::Db::connect(&s.t.url).await.expect("reconnect");
    let app = common::TestApp::spawn_with(&db, settings(g)).await;
    let p = wait_for_points(&app, &token, sensor_id, 2, None).await;
    assert_eq!(p[1]["value"], 7.0);
    app.stop().await;
    s.cleanup().await;
}
