//! The senders behind one interface: webhook (HTTP POST of the CAP or JSON, HMAC-signed),
//! e-mail over SMTP (lettre), SMS through a generic HTTP gateway adapter, and the platform's own
//! live event stream. A channel says whether a failure is permanent (the delivery is dead at
//! once) or transient (it is retried with backoff).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::json;
use sha2::Sha256;

use crate::config::DisseminationSettings;
use crate::db::{Db, Sql};
use crate::events::EventBus;

/// Most characters of one SMS text (long messages are split by the carrier; providers cap the
/// whole at about 500).
pub const SMS_MAX_CHARS: usize = 500;
/// Most bytes of a gateway or webhook answer read for the receipt.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The message a delivery carries: the warning as published.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WarningMessage {
    pub id: String,
    pub identifier: Option<String>,
    pub msg_type: String,
    pub status: String,
    pub scope: String,
    pub event_type: String,
    pub level: Option<String>,
    pub headline: String,
    pub description: String,
    pub instruction: String,
    pub area_desc: String,
    pub town_codes: String,
    pub effective_at: i64,
    pub expires_at: i64,
    pub published_at: Option<i64>,
    pub cap_xml: Option<String>,
}

impl WarningMessage {
    pub const COLUMNS: &'static str = "id, identifier, msg_type, status, scope, event_type, level, \
        headline, description, instruction, area_desc, town_codes, effective_at, expires_at, \
        published_at, cap_xml";

    /// The public CAP document of the message.
    pub fn cap_url(&self, public_url: &str) -> String {
        format!(
            "{}/public/warnings/{}/cap.xml",
            public_url.trim_end_matches('/'),
            self.id
        )
    }

    /// The JSON webhook body (and the live event's payload core).
    pub fn json(&self, public_url: &str) -> serde_json::Value {
        json!({
            "id": self.id,
            "identifier": self.identifier,
            "msg_type": self.msg_type,
            "status": self.status,
            "scope": self.scope,
            "event_type": self.event_type,
            "level": self.level,
            "headline": self.headline,
            "description": self.description,
            "instruction": self.instruction,
            "area_desc": self.area_desc,
            "town_codes": serde_json::from_str::<serde_json::Value>(&self.town_codes).unwrap_or(json!([])),
            "effective_at": crate::time::rfc3339(self.effective_at),
            "expires_at": crate::time::rfc3339(self.expires_at),
            "published_at": self.published_at.map(crate::time::rfc3339),
            "cap_url": self.cap_url(public_url),
        })
    }
}

/// One send: the message and the delivery it belongs to.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub delivery_id: i64,
    /// The attempt this send is (the lease's fencing token).
    pub attempt: i64,
    pub recipient_kind: String,
    pub recipient_id: String,
    pub town_code: Option<String>,
    /// The dispatcher's clock.
    pub now_ms: i64,
    pub warning: Arc<WarningMessage>,
}

impl Outgoing {
    /// Stable across retries of this delivery, and unique across messages: receivers drop a
    /// second post with a key they have seen (a crash between their 2xx and our commit).
    pub fn idempotency_key(&self) -> String {
        format!("{}-{}", self.warning.id, self.delivery_id)
    }
}

/// What the far end said when it accepted: its message id, the HTTP status, the SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt(pub String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Will never work (bad address, 4xx): the delivery is dead at once.
    #[error("{0}")]
    Permanent(String),
    /// May work later (5xx, timeout, connection refused): retried with backoff.
    #[error("{0}")]
    Transient(String),
}

#[async_trait]
pub trait Channel: Send + Sync {
    /// `webhook`, `email`, `sms` or `live` (the `deliveries.channel` value).
    fn key(&self) -> &'static str;
    async fn send(&self, msg: &Outgoing, to: &str) -> Result<Receipt, SendError>;
}

/// The HTTP client of the webhook and SMS channels.
pub fn http_client(s: &DisseminationSettings) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(s.http_timeout_s))
        .connect_timeout(Duration::from_secs(s.http_timeout_s.min(5)))
        .user_agent(concat!("yingji/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(s.webhook_concurrency.max(s.sms_concurrency))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// 2xx is success; 408, 429 and 5xx may pass later; any other status will not.
fn status_error(status: reqwest::StatusCode, answer: &str) -> Option<SendError> {
    if status.is_success() {
        return None;
    }
    let snippet: String = answer.chars().take(200).collect();
    let m = format!("HTTP {}: {}", status.as_u16(), snippet.trim());
    Some(
        if status.is_server_error()
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        {
            SendError::Transient(m)
        } else {
            SendError::Permanent(m)
        },
    )
}

fn request_error(e: reqwest::Error) -> SendError {
    // A URL that cannot even be requested will not get better; anything on the wire may.
    if e.is_builder() {
        SendError::Permanent(format!("bad address: {e}"))
    } else if e.is_timeout() {
        SendError::Transient("timeout".into())
    } else {
        SendError::Transient(format!("{e}"))
    }
}

async fn read_answer(mut resp: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        buf.extend_from_slice(&chunk);
        if buf.len() >= MAX_ANSWER_BYTES {
            buf.truncate(MAX_ANSWER_BYTES);
            break;
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; the error arm cannot happen.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub struct WebhookChannel {
    client: reqwest::Client,
    json: bool,
    secret: String,
    public_url: String,
}

impl WebhookChannel {
    pub fn new(client: reqwest::Client, s: &DisseminationSettings, public_url: &str) -> Self {
        WebhookChannel {
            client,
            json: s.webhook_format == "json",
            secret: s.webhook_secret.clone(),
            public_url: public_url.to_string(),
        }
    }
}

#[async_trait]
impl Channel for WebhookChannel {
    fn key(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, msg: &Outgoing, to: &str) -> Result<Receipt, SendError> {
        let w = &msg.warning;
        // A message without a frozen CAP (none should be published so) still goes out, as JSON.
        let (body, content_type) = match (&w.cap_xml, self.json) {
            (Some(xml), false) => (
                xml.clone().into_bytes(),
                "application/cap+xml; charset=utf-8",
            ),
            _ => (
                w.json(&self.public_url).to_string().into_bytes(),
                "application/json",
            ),
        };
        let timestamp = crate::db::now_ms().to_string();
        let mut req = self
            .client
            .post(to)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header("X-Yingji-Delivery", msg.delivery_id.to_string())
            .header("X-Yingji-Warning", w.id.as_str())
            .header("Idempotency-Key", msg.idempotency_key())
            .header("X-Yingji-Timestamp", timestamp.as_str());
        if !self.secret.is_empty() {
            req = req.header(
                "X-Yingji-Signature",
                signature(&self.secret, &timestamp, &body),
            );
        }
        let resp = req.body(body).send().await.map_err(request_error)?;
        let status = resp.status();
        let answer = read_answer(resp).await;
        if let Some(e) = status_error(status, &answer) {
            return Err(e);
        }
        let id = serde_json::from_str::<serde_json::Value>(&answer)
            .ok()
            .and_then(|v| v.get("id").map(json_text));
        Ok(Receipt(match id {
            Some(id) => format!("HTTP {} id={id}", status.as_u16()),
            None => format!("HTTP {}", status.as_u16()),
        }))
    }
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The SMS text: [sign] headline：instruction, cut to [`SMS_MAX_CHARS`] characters.
pub fn sms_text(w: &WarningMessage, sign: &str, sign_in_text: bool) -> String {
    let mut text = String::new();
    if sign_in_text {
        text.push_str(sign);
    }
    text.push_str(w.headline.trim());
    let instruction = w.instruction.trim();
    if !instruction.is_empty() {
        text.push('：');
        text.push_str(instruction);
    }
    if text.chars().count() > SMS_MAX_CHARS {
        text = text.chars().take(SMS_MAX_CHARS - 1).collect();
        text.push('…');
    }
    text
}

/// application/x-www-form-urlencoded value encoding.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Fills `{phone}`, `{text}`, `{sign}`, `{id}` in one pass (a value containing a placeholder
/// is not filled again), each value escaped for the body's format; other braces stay.
pub fn render_template(template: &str, form: bool, values: &[(&str, &str)]) -> String {
    let escape = |v: &str| {
        if form {
            form_encode(v)
        } else {
            let quoted = serde_json::Value::String(v.to_string()).to_string();
            quoted[1..quoted.len() - 1].to_string()
        }
    };
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hit = values
            .iter()
            .find(|(name, _)| after.starts_with(name) && after[name.len()..].starts_with('}'));
        match hit {
            Some((name, value)) => {
                out.push_str(&escape(value));
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A generic HTTP SMS gateway: the body is a template, success and the message id are read
/// from the JSON answer by pointer. Providers that sign requests their own way sit behind a
/// small relay (docs/warnings.md).
pub struct SmsChannel {
    client: reqwest::Client,
    url: String,
    method: reqwest::Method,
    headers: BTreeMap<String, String>,
    template: String,
    form: bool,
    success_pointer: String,
    success_value: String,
    receipt_pointer: String,
    sign: String,
    sign_in_text: bool,
}

impl SmsChannel {
    /// `None` when no gateway is configured.
    pub fn new(client: reqwest::Client, s: &DisseminationSettings) -> Option<Self> {
        if s.sms_url.trim().is_empty() {
            return None;
        }
        Some(SmsChannel {
            client,
            url: s.sms_url.trim().to_string(),
            method: reqwest::Method::from_bytes(s.sms_method.trim().as_bytes())
                .unwrap_or(reqwest::Method::POST),
            headers: s.sms_headers.clone(),
            template: s.sms_body_template.clone(),
            form: s.sms_format == "form",
            success_pointer: s.sms_success_json_pointer.clone(),
            success_value: s.sms_success_value.clone(),
            receipt_pointer: s.sms_receipt_json_pointer.clone(),
            sign: s.sms_sign.clone(),
            sign_in_text: s.sms_sign_in_text,
        })
    }
}

#[async_trait]
impl Channel for SmsChannel {
    fn key(&self) -> &'static str {
        "sms"
    }

    async fn send(&self, msg: &Outgoing, to: &str) -> Result<Receipt, SendError> {
        let text = sms_text(&msg.warning, &self.sign, self.sign_in_text);
        let id = msg.idempotency_key();
        let body = render_template(
            &self.template,
            self.form,
            &[
                ("phone", to),
                ("text", &text),
                ("sign", &self.sign),
                ("id", &id),
            ],
        );
        let mut req = if self.method == reqwest::Method::GET {
            let sep = if self.url.contains('?') { '&' } else { '?' };
            self.client.get(format!("{}{sep}{body}", self.url))
        } else {
            let ct = if self.form {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            };
            self.client
                .request(self.method.clone(), &self.url)
                .header(reqwest::header::CONTENT_TYPE, ct)
                .body(body)
        };
        req = req.header("Idempotency-Key", id.as_str());
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await.map_err(request_error)?;
        let status = resp.status();
        let answer = read_answer(resp).await;
        if let Some(e) = status_error(status, &answer) {
            return Err(e);
        }
        let parsed = serde_json::from_str::<serde_json::Value>(&answer).ok();
        if !self.success_pointer.is_empty() {
            let said = parsed
                .as_ref()
                .and_then(|v| v.pointer(&self.success_pointer))
                .map(json_text);
            if said.as_deref() != Some(self.success_value.as_str()) {
                // Providers refuse for reasons both passing (rate limits) and lasting (a bad
                // number) in the same field: retried, within max_attempts.
                let snippet: String = answer.chars().take(200).collect();
                return Err(SendError::Transient(format!(
                    "gateway refused: {}",
                    snippet.trim()
                )));
            }
        }
        let id = (!self.receipt_pointer.is_empty())
            .then(|| {
                parsed
                    .as_ref()?
                    .pointer(&self.receipt_pointer)
                    .map(json_text)
            })
            .flatten();
        Ok(Receipt(
            id.unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelConfigError {
    #[error("dissemination.smtp_host: {0}")]
    Smtp(String),
    #[error("dissemination.smtp_from: {0}")]
    From(String),
}

pub struct EmailChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: String,
}

impl EmailChannel {
    /// `Ok(None)` when no SMTP server is configured.
    pub fn new(
        s: &DisseminationSettings,
        public_url: &str,
    ) -> Result<Option<Self>, ChannelConfigError> {
        let host = s.smtp_host.trim();
        if host.is_empty() {
            return Ok(None);
        }
        let builder = match s.smtp_security.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| ChannelConfigError::Smtp(e.to_string()))?,
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| ChannelConfigError::Smtp(e.to_string()))?,
            // Plain SMTP: a relay on the same host or inside the government network.
            _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder
            .port(s.smtp_port)
            .timeout(Some(Duration::from_secs(s.http_timeout_s)));
        if !s.smtp_user.is_empty() {
            builder = builder.credentials(Credentials::new(
                s.smtp_user.clone(),
                s.smtp_password.clone(),
            ));
        }
        let from = s
            .smtp_from
            .parse::<Mailbox>()
            .map_err(|e| ChannelConfigError::From(e.to_string()))?;
        Ok(Some(EmailChannel {
            transport: builder.build(),
            from,
            public_url: public_url.to_string(),
        }))
    }
}

#[async_trait]
impl Channel for EmailChannel {
    fn key(&self) -> &'static str {
        "email"
    }

    async fn send(&self, msg: &Outgoing, to: &str) -> Result<Receipt, SendError> {
        let w = &msg.warning;
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Permanent(format!("bad address: {e}")))?;
        let mut body = format!("{}\n\n{}\n", w.headline.trim(), w.description.trim());
        if !w.instruction.trim().is_empty() {
            body.push_str(&format!("\n防御指引：{}\n", w.instruction.trim()));
        }
        body.push_str(&format!(
            "\n有效期至 {}（北京时间）\n{}\n",
            crate::time::shanghai(w.expires_at),
            w.cap_url(&self.public_url)
        ));
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(w.headline.trim())
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(email).await {
            Ok(r) => Ok(Receipt(format!(
                "{} {}",
                r.code(),
                r.message().collect::<Vec<_>>().join(" ")
            ))),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

/// The platform's own live stream: a `warning_alert` event for the staff member (town users
/// by their town, district staff district-wide; `user_id` in the payload names whom it is
/// for). The event and the delivery's `delivered` commit together, so this channel is exactly
/// once outright.
pub struct LiveChannel {
    db: Db,
    bus: Option<Arc<EventBus>>,
    public_url: String,
}

impl LiveChannel {
    pub fn new(db: Db, bus: Option<Arc<EventBus>>, public_url: &str) -> Self {
        LiveChannel {
            db,
            bus,
            public_url: public_url.to_string(),
        }
    }
}

#[async_trait]
impl Channel for LiveChannel {
    fn key(&self) -> &'static str {
        "live"
    }

    async fn send(&self, msg: &Outgoing, _to: &str) -> Result<Receipt, SendError> {
        let db_err = |e: crate::db::DbError| SendError::Transient(format!("database: {e}"));
        let mut payload = msg.warning.json(&self.public_url);
        payload["warning_id"] = json!(msg.warning.id);
        payload["user_id"] = json!(msg.recipient_id);
        payload["delivery_id"] = json!(msg.delivery_id);
        let mut tx = self.db.begin().await.map_err(db_err)?;
        let event = crate::events::publish(
            &mut tx,
            msg.now_ms,
            "warning_alert",
            // District staff have no town: theirs is for district roles only.
            Some(
                msg.town_code
                    .as_deref()
                    .unwrap_or(crate::events::DISTRICT_STAFF),
            ),
            None,
            &payload,
        )
        .await
        .map_err(db_err)?;
        let receipt = format!("event {event}");
        let done = tx
            .execute(
                &Sql::new(
                    "UPDATE deliveries SET state = 'delivered', delivered_at = $1, receipt = $2, \
                     last_error = NULL, lease_until = NULL, updated_at = $1 \
                     WHERE id = $3 AND state = 'sending' AND attempts = $4",
                )
                .bind(msg.now_ms)
                .bind(receipt.as_str())
                .bind(msg.delivery_id)
                .bind(msg.attempt),
            )
            .await
            .map_err(db_err)?;
        if done == 0 {
            // The lease was taken over: whoever holds it now sends; this event never existed.
            return Err(SendError::Transient("lease lost".into()));
        }
        tx.commit().await.map_err(db_err)?;
        if let Some(bus) = &self.bus {
            bus.wake();
        }
        Ok(Receipt(receipt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(headline: &str, instruction: &str) -> WarningMessage {
        WarningMessage {
            id: "w1".into(),
            identifier: None,
            msg_type: "Alert".into(),
            status: "Actual".into(),
            scope: "public".into(),
            event_type: "rainstorm".into(),
            level: Some("red".into()),
            headline: headline.into(),
            description: "d".into(),
            instruction: instruction.into(),
            area_desc: String::new(),
            town_codes: "[]".into(),
            effective_at: 0,
            expires_at: 0,
            published_at: None,
            cap_xml: None,
        }
    }

    #[test]
    fn a_json_template_gets_escaped_values_and_keeps_its_own_braces() {
        let out = render_template(
            r#"{"phone":"{phone}","text":"{text}","x":"{unknown}"}"#,
            false,
            &[("phone", "13800000000"), ("text", "a \"b\"\n{phone}")],
        );
        assert_eq!(
            out,
            r#"{"phone":"13800000000","text":"a \"b\"\n{phone}","x":"{unknown}"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
        assert_eq!(v["text"], "a \"b\"\n{phone}");
    }

    #[test]
    fn a_form_template_gets_form_encoded_values() {
        let out = render_template(
            "mobile={phone}&content={text}",
            true,
            &[("phone", "13800000000"), ("text", "暴雨 & 大风=")],
        );
        assert_eq!(
            out,
            "mobile=13800000000&content=%E6%9A%B4%E9%9B%A8+%26+%E5%A4%A7%E9%A3%8E%3D"
        );
    }

    #[test]
    fn the_sms_text_is_signed_and_cut_to_500_characters() {
        let w = message("武清区发布暴雨红色预警", "停止户外作业");
        assert_eq!(
            sms_text(&w, "【武清应急】", true),
            "【武清应急】武清区发布暴雨红色预警：停止户外作业"
        );
        assert_eq!(
            sms_text(&w, "【武清应急】", false),
            "武清区发布暴雨红色预警：停止户外作业"
        );
        let long = message("预警", &"很长".repeat(400));
        let t = sms_text(&long, "【武清应急】", true);
        assert_eq!(t.chars().count(), SMS_MAX_CHARS);
        assert!(t.ends_with('…'));
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: python3 hmac.new(b"secret-1", b"1700000000000.<alert/>", sha256).
        assert_eq!(
            signature("secret-1", "1700000000000", b"<alert/>"),
            "sha256=fed87d399fbb0366571dda3a676a5df13d80750a056e26c4d1cb6a562e0505ed"
        );
    }

    #[test]
    fn statuses_split_into_retry_and_give_up() {
        use reqwest::StatusCode as S;
        assert!(status_error(S::OK, "").is_none());
        assert!(matches!(
            status_error(S::SERVICE_UNAVAILABLE, ""),
            Some(SendError::Transient(_))
        ));
        assert!(matches!(
            status_error(S::TOO_MANY_REQUESTS, ""),
            Some(SendError::Transient(_))
        ));
        assert!(matches!(
            status_error(S::NOT_FOUND, ""),
            Some(SendError::Permanent(_))
        ));
    }
}
