//! MQTT ingest: gateways publish the same JSON batch as `POST /ingest/readings` to
//! `yingji/{credit_code}/readings`; every instance subscribes through one shared
//! subscription (`$share/{group}/yingji/+/readings`), so the broker splits the load.
//!
//! Delivery is QoS 1 with manual acknowledgement: the PUBACK for a message is sent only after
//! `Monitor::ingest` has returned, i.e. after its readings are durably stored. A message that
//! can never be stored (bad topic, bad JSON, unknown enterprise, too large) is acknowledged and
//! counted, so the broker does not redeliver it forever; a storage failure is not.
//!
//! Two tasks: the connection task polls rumqttc's event loop (it must never block, or pings
//! stop) and forwards publishes; the ingest task checks and stores them concurrently, so
//! several messages share one group commit, and acknowledges them in the order received, as
//! MQTT 3.1.1 asks of a receiver.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesOrdered, StreamExt};
use rumqttc::{
    AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, Publish, QoS, SubscribeReasonCode,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::ingest::{IngestBatch, IngestError, IngestReport, Monitor};

/// Messages being checked and stored at once; more wait in the queue (the broker's own
/// in-flight window, 20 by default in Mosquitto, usually bounds them first).
const MAX_IN_PROGRESS: usize = 64;
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Bytes of payload allowed per reading of the batch limit: a reading in JSON is 50–100 bytes.
const BYTES_PER_READING: usize = 256;

/// Where a broker is, as parsed from `mqtt://[USER[:PASSWORD]@]HOST[:PORT]`.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password never reaches a log line.
        f.debug_struct("BrokerUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .finish()
    }
}

/// Parses a broker URL. Only plain TCP for now: `mqtts://` is refused rather than silently
/// connecting without TLS.
pub fn parse_url(url: &str) -> Result<BrokerUrl, String> {
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
        .ok_or_else(|| {
            "the MQTT URL must look like mqtt://HOST:1883 (TLS is not supported yet)".to_string()
        })?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#']) {
        return Err("the MQTT URL takes no path or query: mqtt://HOST:PORT".into());
    }
    let (userinfo, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let credentials = userinfo.map(|u| match u.split_once(':') {
        Some((user, password)) => (user.to_string(), password.to_string()),
        None => (u.to_string(), String::new()),
    });
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| "unclosed [ in the MQTT URL".to_string())?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err("the MQTT URL names no host".into());
    }
    let port = match port {
        None => 1883,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("bad port in the MQTT URL: {p}"))?,
    };
    Ok(BrokerUrl {
        host: host.to_string(),
        port,
        credentials,
    })
}

/// The enterprise's unified social credit code in a readings topic `yingji/{code}/readings`;
/// `None` for any other topic.
pub fn credit_code_of(topic: &str) -> Option<&str> {
    let mut levels = topic.split('/');
    match (levels.next(), levels.next(), levels.next(), levels.next()) {
        (Some("yingji"), Some(code), Some("readings"), None)
            if !code.is_empty() && !code.contains(['+', '#']) =>
        {
            Some(code)
        }
        _ => None,
    }
}

/// The subscription of an instance in shared group `group`.
pub fn shared_filter(group: &str) -> String {
    format!("$share/{group}/yingji/+/readings")
}

/// Everything the subscriber needs, resolved from the settings.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    pub broker: BrokerUrl,
    /// Stable across restarts so the broker keeps the session (and queues QoS 1 messages)
    /// while the instance is down.
    pub client_id: String,
    pub group: String,
    pub max_payload: usize,
}

impl MqttConfig {
    /// `None` when no broker is configured. `port` is the HTTP port actually bound: the
    /// default client id includes it so two instances on one host do not take over each
    /// other's session.
    pub fn from_settings(
        s: &crate::config::MonitorSettings,
        port: u16,
    ) -> Result<Option<MqttConfig>, String> {
        let Some(url) = s.mqtt_url.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let client_id = match s.mqtt_client_id.as_deref().filter(|c| !c.is_empty()) {
            Some(id) => id.to_string(),
            None => format!("yingji-{}-{port}", hostname()),
        };
        Ok(Some(MqttConfig {
            broker: parse_url(url)?,
            client_id,
            group: s.mqtt_group.clone(),
            max_payload: s
                .max_batch
                .max(1)
                .saturating_mul(BYTES_PER_READING)
                .max(64 * 1024),
        }))
    }

    fn options(&self) -> MqttOptions {
        let mut o = MqttOptions::new(&self.client_id, &self.broker.host, self.broker.port);
        o.set_keep_alive(Duration::from_secs(30))
            // A persistent session: messages published while this instance is down are
            // queued by the broker and delivered when it comes back.
            .set_clean_session(false)
            .set_manual_acks(true)
            .set_max_packet_size(self.max_payload, 64 * 1024);
        if let Some((user, password)) = &self.broker.credentials {
            o.set_credentials(user, password);
        }
        o
    }
}

/// The machine's host name for the default client id, reduced to characters every broker
/// accepts in a client id.
fn hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if clean.is_empty() {
        "host".into()
    } else {
        clean
    }
}

/// The running subscriber; `stop` finishes the messages in progress and disconnects.
pub struct MqttSubscriber {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl MqttSubscriber {
    pub fn start(cfg: MqttConfig, monitor: Arc<Monitor>) -> MqttSubscriber {
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(cfg, monitor, stop_rx));
        MqttSubscriber { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the MQTT subscriber ended abnormally");
        }
    }
}

/// What became of one message.
enum Outcome {
    Stored {
        credit_code: String,
        report: IngestReport,
    },
    /// Can never be stored: acknowledged so that the broker drops it.
    Rejected {
        reason: &'static str,
        message: String,
    },
    /// Could not be stored now: not acknowledged.
    Failed(String),
}

async fn run(cfg: MqttConfig, monitor: Arc<Monitor>, mut stop: watch::Receiver<bool>) {
    // Capacity of rumqttc's request channel: acks queue there until the event loop sends them.
    let (client, eventloop) = AsyncClient::new(cfg.options(), 1024);
    // Unbounded on purpose: if the connection task could block on a full queue while the
    // ingest task blocks on a full request channel, neither would move. The broker's in-flight
    // window for unacknowledged QoS 1 messages bounds what can pile up here.
    let (tx, mut rx) = mpsc::unbounded_channel::<Publish>();
    let filter = shared_filter(&cfg.group);
    tracing::info!(broker = ?cfg.broker, client_id = %cfg.client_id, %filter, "MQTT ingest starting");
    let mut connection = tokio::spawn(poll_connection(
        eventloop,
        client.clone(),
        filter,
        tx,
        stop.clone(),
    ));

    let mut in_progress = FuturesOrdered::new();
    let mut stopping = false;
    let mut failure_pause = MIN_BACKOFF;
    loop {
        tokio::select! {
            biased;
            Some(done) = in_progress.next(), if !in_progress.is_empty() => {
                let done: Result<(Publish, Outcome), tokio::task::JoinError> = done;
                match done {
                    Ok((publish, outcome)) => {
                        if settle(&client, &publish, outcome).await {
                            failure_pause = MIN_BACKOFF;
                        } else if !stopping {
                            // Storage failed (the database is down or full): pause so a dead
                            // database is not hammered, then reconnect so that the broker
                            // redelivers what was not acknowledged.
                            let mut stop = stop.clone();
                            let _ = tokio::time::timeout(failure_pause, stop.wait_for(|s| *s)).await;
                            failure_pause = (failure_pause * 2).min(MAX_BACKOFF);
                            let _ = client.try_disconnect();
                        }
                    }
                    // The message is not acknowledged; the broker redelivers it on reconnect.
                    Err(e) => tracing::error!(error = %e, "MQTT ingest task failed"),
                }
            }
            msg = rx.recv(), if !stopping && in_progress.len() < MAX_IN_PROGRESS => match msg {
                Some(publish) => {
                    let monitor = monitor.clone();
                    in_progress.push_back(tokio::spawn(async move {
                        let outcome = handle(&monitor, &publish).await;
                        (publish, outcome)
                    }));
                }
                None => break,
            },
            _ = async { stop.wait_for(|s| *s).await.map(|_| ()) }, if !stopping => {
                // Finish what is in progress; what is still queued stays unacknowledged and
                // comes back on the next connection (to this instance or another of the group).
                stopping = true;
                rx.close();
            }
            else => break,
        }
    }
    // The DISCONNECT goes after the acks already queued. If the broker is unreachable the
    // connection task never sends it: give up after a moment.
    let _ = tokio::time::timeout(Duration::from_secs(2), client.disconnect()).await;
    if tokio::time::timeout(Duration::from_secs(3), &mut connection)
        .await
        .is_err()
    {
        connection.abort();
    }
    tracing::info!("MQTT ingest stopped");
}

/// Polls the event loop for as long as the subscriber runs: reconnects with capped backoff,
/// (re)subscribes on every connection, forwards publishes.
async fn poll_connection(
    mut eventloop: EventLoop,
    client: AsyncClient,
    filter: String,
    tx: mpsc::UnboundedSender<Publish>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = MIN_BACKOFF;
                tracing::info!(
                    session_present = ack.session_present,
                    "connected to the MQTT broker"
                );
                // Subscribed on every connection: a broker that lost the session (restarted
                // without persistence, session expired) would otherwise send nothing.
                if let Err(e) = client.try_subscribe(filter.as_str(), QoS::AtLeastOnce) {
                    tracing::error!(error = %e, "cannot queue the MQTT subscription");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                if ack
                    .return_codes
                    .iter()
                    .any(|c| matches!(c, SubscribeReasonCode::Failure))
                {
                    tracing::error!(%filter, "the MQTT broker refused the subscription");
                } else {
                    tracing::info!(%filter, "subscribed");
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                // Fails only while stopping: the message stays unacknowledged and is
                // redelivered.
                let _ = tx.send(publish);
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) if *stop.borrow() => return,
            Ok(_) => {}
            Err(e) => {
                if *stop.borrow() {
                    return;
                }
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "MQTT connection failed");
                // Shutdown does not wait out the backoff.
                if tokio::time::timeout(backoff, stop.wait_for(|s| *s))
                    .await
                    .is_ok()
                {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Checks and stores one message.
async fn handle(monitor: &Monitor, publish: &Publish) -> Outcome {
    let rejected = |reason, message: String| Outcome::Rejected { reason, message };
    let Some(code) = credit_code_of(&publish.topic) else {
        return rejected(
            "bad_topic",
            format!("not a readings topic: {}", publish.topic),
        );
    };
    let batch: IngestBatch = match serde_json::from_slice(&publish.payload) {
        Ok(b) => b,
        Err(e) => return rejected("bad_payload", format!("not a readings batch: {e}")),
    };
    // Credit codes are upper case (GB 32100); a gateway may well send them in lower case.
    let code = code.to_ascii_uppercase();
    let enterprise_id = match monitor.enterprise_by_credit_code(&code).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            return rejected(
                "unknown_enterprise",
                format!("no enterprise with credit code {code}"),
            );
        }
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    match monitor.ingest(&enterprise_id, &batch).await {
        Ok(report) => Outcome::Stored {
            credit_code: code,
            report,
        },
        Err(e @ IngestError::TooLarge { .. }) => rejected("too_large", e.to_string()),
        Err(IngestError::Store(e)) => Outcome::Failed(e.to_string()),
    }
}

/// Logs, counts and acknowledges one finished message; false when storage failed.
async fn settle(client: &AsyncClient, publish: &Publish, outcome: Outcome) -> bool {
    match outcome {
        Outcome::Stored {
            credit_code,
            report,
        } => {
            for r in &report.rejected {
                tracing::debug!(%credit_code, index = r.index, sensor = %r.sensor, reason = %r.reason, "MQTT reading rejected");
                metrics::counter!("yingji_mqtt_rejected_readings_total", "reason" => r.reason.clone())
                    .increment(1);
            }
            ack(client, publish).await;
            true
        }
        Outcome::Rejected { reason, message } => {
            tracing::warn!(topic = %publish.topic, reason, detail = %message, "MQTT message rejected");
            metrics::counter!("yingji_mqtt_rejected_total", "reason" => reason).increment(1);
            ack(client, publish).await;
            true
        }
        Outcome::Failed(error) => {
            // Not acknowledged, unlike a rejected message: the readings are good and only
            // could not be stored now. The broker keeps the message and redelivers it on the
            // next connection (storing it twice is harmless: ingest is idempotent), whereas
            // an acknowledged message would be lost.
            tracing::error!(topic = %publish.topic, %error, "MQTT batch not stored; left unacknowledged for redelivery");
            metrics::counter!("yingji_mqtt_store_failures_total").increment(1);
            false
        }
    }
}

async fn ack(client: &AsyncClient, publish: &Publish) {
    if let Err(e) = client.ack(publish).await {
        // Only when the connection task has ended (shutdown): the broker redelivers.
        tracing::warn!(error = %e, "cannot acknowledge an MQTT message");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credit_code_is_the_middle_level_of_a_readings_topic() {
        assert_eq!(
            credit_code_of("yingji/91120114MA05JXXK8C/readings"),
            Some("91120114MA05JXXK8C")
        );
        for other in [
            "yingji/91120114MA05JXXK8C/readings/ack",
            "yingji//readings",
            "yingji/+/readings",
            "yingji/91120114MA05JXXK8C",
            "other/91120114MA05JXXK8C/readings",
            "/yingji/91120114MA05JXXK8C/readings",
            "",
        ] {
            assert_eq!(credit_code_of(other), None, "{other}");
        }
    }

    #[test]
    fn the_shared_subscription_names_the_group() {
        assert_eq!(shared_filter("yingji"), "$share/yingji/yingji/+/readings");
    }

    #[test]
    fn a_broker_url_gives_host_port_and_credentials() {
        let u = parse_url("mqtt://127.0.0.1:1884").expect("parses");
        assert_eq!(
            (u.host.as_str(), u.port, u.credentials),
            ("127.0.0.1", 1884, None)
        );
        let u = parse_url("mqtt://gw:s3cret@broker.local/").expect("parses");
        assert_eq!((u.host.as_str(), u.port), ("broker.local", 1883));
        assert_eq!(u.credentials, Some(("gw".into(), "s3cret".into())));
        assert!(!format!("{u:?}").contains("s3cret"));
        let u = parse_url("tcp://[::1]:1885").expect("parses");
        assert_eq!((u.host.as_str(), u.port), ("::1", 1885));
        for bad in [
            "mqtts://broker:8883",
            "http://broker",
            "mqtt://",
            "mqtt://broker:0",
            "mqtt://broker:x",
            "mqtt://broker/topic",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
