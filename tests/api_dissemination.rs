//! Dissemination end to end, on every backend: recipients of a published warning queued once,
//! a webhook that fails and recovers delivering once per recipient with backoff on an injected
//! clock, a permanent refusal, a crash mid-send, SMTP and the SMS-gateway adapter against local
//! sinks, public subscription with consent, town scope, and the coverage arithmetic.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::Mac;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use yingji::config::Settings;
use yingji::db::{Db, Sql};
use yingji::warning::dispatch::{self, Dispatcher};

const SEC: i64 = 1000;
const HEADLINE: &str = "武清区气象台发布暴雨红色预警";

/// A published warning row, as the publish route will write it (that route is not part of
/// this module).
async fn insert_warning(db: &Db, towns: &[&str], scope: &str, published_at: i64) -> String {
    let id = yingji::db::new_id();
    db.execute(
        &Sql::new(
            "INSERT INTO warnings (id, identifier, sender, sender_name, source, msg_type, status, scope, \
             event_type, level, urgency, severity, certainty, headline, description, instruction, area, \
             area_desc, town_codes, effective_at, expires_at, state, sent_at, cap_xml, published_at, \
             created_at, updated_at) VALUES ($1, $2, 'yjj@wuqing.tj.gov.cn', '武清区应急管理局', 'local', \
             'Alert', 'Actual', $3, 'rainstorm', 'red', 'Expected', 'Extreme', 'Likely', $4, \
             '预计未来3小时降雨量将达100毫米以上。', '停止户外作业', '{\"kind\":\"towns\"}', '武清区', $5, \
             $6, $7, 'published', $6, $8, $6, $6, $6)",
        )
        .bind(id.as_str())
        .bind(format!("120114000000000_{id}"))
        .bind(scope)
        .bind(HEADLINE)
        .bind(serde_json::to_string(towns).expect("json"))
        .bind(published_at)
        .bind(published_at + 6 * 3600 * SEC)
        .bind("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>x</identifier></alert>"),
    )
    .await
    .expect("warning");
    id
}

async fn insert_subscriber(
    db: &Db,
    town: &str,
    channel: &str,
    address: &str,
    reach: i64,
    audience: &str,
) -> String {
    let id = yingji::db::new_id();
    db.execute(
        &Sql::new(
            "INSERT INTO subscribers (id, town_code, name, channel, address, reach, audience, consent_at, \
             consent_text, source, unsubscribe_token_hash, created_at, updated_at) \
             VALUES ($1, $2, '', $3, $4, $5, $6, 0, '同意', 'staff-entered', $1, 0, 0)",
        )
        .bind(id.as_str())
        .bind(town)
        .bind(channel)
        .bind(address)
        .bind(reach)
        .bind(audience),
    )
    .await
    .expect("subscriber");
    id
}

async fn enqueue(db: &Db, warning: &str, now: i64) -> u64 {
    let mut tx = db.begin().await.expect("begin");
    let n = dispatch::enqueue_for_warning(&mut tx, warning, now)
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    n
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    recipient_kind: String,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    receipt: Option<String>,
}

async fn rows(db: &Db, warning: &str, channel: &str) -> Vec<Row> {
    db.fetch_all(
        &Sql::new(
            "SELECT recipient_kind, state, attempts, next_attempt_at, last_error, receipt \
             FROM deliveries WHERE warning_id = $1 AND channel = $2 ORDER BY id",
        )
        .bind(warning)
        .bind(channel),
    )
    .await
    .expect("rows")
}

fn settings() -> Settings {
    let mut s = Settings::default();
    s.dissemination.tick_ms = 0;
    s.dissemination.retry_base_s = 10;
    s.dissemination.retry_max_s = 60;
    s.dissemination.max_attempts = 5;
    s.dissemination.batch_size = 2;
    s.dissemination.webhook_secret = "s3cret".into();
    s
}

/// What the webhook sink saw of one post.
#[derive(Debug, Clone)]
struct Post {
    key: String,
    answered: u16,
    signature_ok: bool,
}

#[derive(Default)]
struct Sink {
    /// Requests answered 503 before the sink "recovers".
    fail_first: AtomicUsize,
    /// While set, requests hang (a receiver that accepted but whose answer never arrives).
    hang: std::sync::atomic::AtomicBool,
    received: AtomicUsize,
    posts: Mutex<Vec<Post>>,
    sms: Mutex<Vec<Value>>,
}

async fn hook(
    State(sink): State<Arc<Sink>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").expect("key");
    mac.update(h("x-yingji-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let signature_ok = h("x-yingji-signature") == expected
        && h("content-type").starts_with("application/cap+xml")
        && h("idempotency-key").ends_with(&format!("-{}", h("x-yingji-delivery")));
    sink.received.fetch_add(1, Ordering::SeqCst);
    if sink.hang.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let failing = sink
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let status = if failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    sink.posts.lock().expect("lock").push(Post {
        key: h("idempotency-key"),
        answered: status.as_u16(),
        signature_ok,
    });
    status
}

async fn sms_gateway(State(sink): State<Arc<Sink>>, body: String) -> axum::Json<Value> {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let phone = v["phone"].as_str().unwrap_or("").to_string();
    sink.sms.lock().expect("lock").push(v);
    axum::Json(json!({"Code": "OK", "BizId": format!("biz-{phone}")}))
}

async fn start_sink() -> (Arc<Sink>, String) {
    let sink = Arc::new(Sink::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .route("/sms", axum::routing::post(sms_gateway))
        .route(
            "/gone",
            axum::routing::post(|| async { StatusCode::NOT_FOUND }),
        )
        .with_state(sink.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (sink, base)
}

#[tokio::test]
async fn a_published_warning_is_queued_once_per_recipient_and_channel_by_scope() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let now = yingji::db::now_ms();
        insert_subscriber(&t.db, common::TOWN_A, "sms", "13900000001", 1, "public").await;
        insert_subscriber(
            &t.db,
            common::TOWN_A,
            "webhook",
            "http://127.0.0.1:9/h",
            1,
            "public",
        )
        .await;
        insert_subscriber(&t.db, common::TOWN_A, "sms", "13900000002", 1, "staff").await;
        insert_subscriber(&t.db, common::TOWN_B, "email", "b@example.com", 1, "public").await;
        let gone =
            insert_subscriber(&t.db, common::TOWN_A, "sms", "13900000003", 1, "public").await;
        t.db.execute(
            &Sql::new("UPDATE subscribers SET unsubscribed_at = 1 WHERE id = $1").bind(gone),
        )
        .await
        .expect("unsubscribe");

        let w = insert_warning(&t.db, &[common::TOWN_A], "public", now).await;
        // Staff: admin, duty, supervisor, leader district-wide + the town user of A (live);
        // enterprises A1, A2 (SMS); subscribers of A: 2 public + 1 staff-audience.
        assert_eq!(enqueue(&t.db, &w, now).await, 5 + 2 + 3);
        assert_eq!(
            enqueue(&t.db, &w, now + SEC).await,
            0,
            "enqueue twice: nothing new"
        );
        let live = rows(&t.db, &w, "live").await;
        assert_eq!(live.len(), 5);
        assert!(
            live.iter()
                .all(|r| r.recipient_kind == "staff" && r.state == "queued")
        );

        // Restricted: staff, enterprises and staff-audience subscribers only.
        let r = insert_warning(&t.db, &[common::TOWN_A], "restricted", now).await;
        assert_eq!(enqueue(&t.db, &r, now).await, 5 + 2 + 1);

        // A cancelled message: what has not gone out is stopped.
        let mut tx = t.db.begin().await.expect("begin");
        let stopped = dispatch::cancel_pending(&mut tx, &w, now)
            .await
            .expect("cancel");
        tx.commit().await.expect("commit");
        assert_eq!(stopped, 10);
        let sms = rows(&t.db, &w, "sms").await;
        assert!(
            sms.iter()
                .all(|r| r.state == "dead" && r.last_error.as_deref() == Some("superseded"))
        );
    });
}

#[tokio::test]
async fn a_webhook_that_fails_and_recovers_delivers_once_per_recipient_with_backoff() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let (sink, base) = start_sink().await;
        for i in 0..5 {
            insert_subscriber(
                &t.db,
                common::TOWN_A,
                "webhook",
                &format!("{base}/hook?s={i}"),
                1,
                "public",
            )
            .await;
        }
        let t0 = 1_800_000_000_000;
        let w = insert_warning(&t.db, &[common::TOWN_A], "public", t0).await;
        enqueue(&t.db, &w, t0).await;
        sink.fail_first.store(7, Ordering::SeqCst);
        let d = Dispatcher::new(t.db.clone(), &settings(), None).expect("dispatcher");
        assert_eq!(d.unconfigured(), &["email", "sms"]);

        // Round 1: the 5 posts fail (503); the live channel delivers to the 5 staff at once.
        d.run_once(t0).await.expect("run");
        let hooks = rows(&t.db, &w, "webhook").await;
        assert!(
            hooks.iter().all(|r| r.state == "failed"
                && r.attempts == 1
                && r.next_attempt_at == t0 + 10 * SEC),
            "{hooks:?}"
        );
        assert!(hooks[0].last_error.as_deref().unwrap_or("").contains("503"));
        assert!(
            rows(&t.db, &w, "live")
                .await
                .iter()
                .all(|r| r.state == "delivered")
        );

        // Not retried before its time.
        d.run_once(t0 + 9 * SEC).await.expect("run");
        assert_eq!(sink.received.load(Ordering::SeqCst), 5);

        // Round 2 at +10 s: 2 more failures (attempt 2, next in 20 s), 3 delivered.
        d.run_once(t0 + 10 * SEC).await.expect("run");
        let hooks = rows(&t.db, &w, "webhook").await;
        assert_eq!(hooks.iter().filter(|r| r.state == "delivered").count(), 3);
        let failed: Vec<&Row> = hooks.iter().filter(|r| r.state == "failed").collect();
        assert_eq!(failed.len(), 2);
        assert!(
            failed
                .iter()
                .all(|r| r.attempts == 2 && r.next_attempt_at == t0 + 30 * SEC)
        );
        d.run_once(t0 + 29 * SEC).await.expect("run");
        assert_eq!(sink.received.load(Ordering::SeqCst), 10);

        // Recovered: everything delivered, each recipient accepted exactly once.
        d.run_once(t0 + 30 * SEC).await.expect("run");
        let hooks = rows(&t.db, &w, "webhook").await;
        assert!(
            hooks
                .iter()
                .all(|r| r.state == "delivered" && r.receipt.as_deref() == Some("HTTP 200")),
            "{hooks:?}"
        );
        assert_eq!(hooks.iter().map(|r| r.attempts).sum::<i64>(), 3 * 2 + 2 * 3);
        let posts = sink.posts.lock().expect("lock").clone();
        let mut accepted: HashMap<String, usize> = HashMap::new();
        for p in &posts {
            assert!(
                p.signature_ok,
                "HMAC, content type and idempotency key: {p:?}"
            );
            if p.answered == 200 {
                *accepted.entry(p.key.clone()).or_default() += 1;
            }
        }
        assert_eq!(accepted.len(), 5);
        assert!(accepted.values().all(|n| *n == 1));
        assert_eq!(
            d.run_once(t0 + 3600 * SEC).await.expect("run"),
            0,
            "nothing left"
        );

        // SMS has no gateway: queued, attempts untouched, the reason shown.
        let sms = rows(&t.db, &w, "sms").await;
        assert_eq!(sms.len(), 2);
        assert!(
            sms.iter().all(|r| r.state == "queued"
                && r.attempts == 0
                && r.last_error.as_deref() == Some("channel not configured")),
            "{sms:?}"
        );

        // The live channel wrote one warning_alert event per staff member.
        let events: i64 =
            t.db.fetch_scalar(&Sql::new(
                "SELECT COUNT(*) FROM events WHERE topic = 'warning_alert'",
            ))
            .await
            .expect("events");
        assert_eq!(events, 5);
    });
}

#[tokio::test]
async fn a_permanent_refusal_is_dead_at_once_and_attempts_run_out() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let (sink, base) = start_sink().await;
        insert_subscriber(
            &t.db,
            common::TOWN_B,
            "webhook",
            &format!("{base}/gone"),
            1,
            "public",
        )
        .await;
        insert_subscriber(
            &t.db,
            common::TOWN_B,
            "webhook",
            &format!("{base}/hook"),
            1,
            "public",
        )
        .await;
        let t0 = 1_800_000_000_000;
        let w = insert_warning(&t.db, &[common::TOWN_B], "public", t0).await;
        enqueue(&t.db, &w, t0).await;
        sink.fail_first.store(1000, Ordering::SeqCst);
        let mut s = settings();
        s.dissemination.max_attempts = 3;
        let d = Dispatcher::new(t.db.clone(), &s, None).expect("dispatcher");
        let mut now = t0;
        for _ in 0..5 {
            d.run_once(now).await.expect("run");
            now += 60 * SEC;
        }
        let hooks = rows(&t.db, &w, "webhook").await;
        assert_eq!(hooks[0].state, "dead");
        assert_eq!(hooks[0].attempts, 1, "a 404 is not retried");
        assert!(
            hooks[0]
                .last_error
                .as_deref()
                .unwrap_or("")
                .contains("HTTP 404")
        );
        assert_eq!(hooks[1].state, "dead");
        assert_eq!(hooks[1].attempts, 3, "a 503 is retried up to max_attempts");
        assert!(
            hooks[1]
                .last_error
                .as_deref()
                .unwrap_or("")
                .starts_with("gave up after 3 attempts")
        );
    });
}

#[tokio::test]
async fn a_crash_mid_send_is_sent_again_after_the_lease_and_recorded_once() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let (sink, base) = start_sink().await;
        for i in 0..3 {
            insert_subscriber(
                &t.db,
                common::TOWN_B,
                "webhook",
                &format!("{base}/hook?s={i}"),
                1,
                "public",
            )
            .await;
        }
        let t0 = 1_800_000_000_000;
        let w = insert_warning(&t.db, &[common::TOWN_B], "public", t0).await;
        enqueue(&t.db, &w, t0).await;
        let mut s = settings();
        s.dissemination.batch_size = 10;
        s.dissemination.lease_s = 60;
        s.dissemination.http_timeout_s = 30;
        // The receiver takes the posts but its answers never come; the process dies meanwhile.
        sink.hang.store(true, Ordering::SeqCst);
        let first = Arc::new(Dispatcher::new(t.db.clone(), &s, None).expect("dispatcher"));
        let running = tokio::spawn({
            let first = first.clone();
            async move { first.run_once(t0).await }
        });
        for _ in 0..200 {
            if sink.received.load(Ordering::SeqCst) >= 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        running.abort();
        let _ = running.await;
        drop(first);
        let hooks = rows(&t.db, &w, "webhook").await;
        assert!(
            hooks
                .iter()
                .all(|r| r.state == "sending" && r.attempts == 1),
            "{hooks:?}"
        );

        // A restarted dispatcher leaves them alone while the lease holds, then sends them.
        sink.hang.store(false, Ordering::SeqCst);
        let second = Dispatcher::new(t.db.clone(), &s, None).expect("dispatcher");
        second.run_once(t0 + 30 * SEC).await.expect("run");
        assert_eq!(sink.posts.lock().expect("lock").len(), 0);
        second.run_once(t0 + 61 * SEC).await.expect("run");
        let hooks = rows(&t.db, &w, "webhook").await;
        assert!(
            hooks
                .iter()
                .all(|r| r.state == "delivered" && r.attempts == 2),
            "{hooks:?}"
        );
        // The receiver saw each key twice (once unanswered) and answered each once: the
        // Idempotency-Key is what lets it drop the repeat.
        let posts = sink.posts.lock().expect("lock").clone();
        let mut keys: Vec<String> = posts.iter().map(|p| p.key.clone()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!((posts.len(), keys.len()), (3, 3));
        assert_eq!(second.run_once(t0 + 3600 * SEC).await.expect("run"), 0);
    });
}

#[tokio::test]
async fn the_sms_gateway_adapter_posts_the_template_and_keeps_the_receipt() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let (sink, base) = start_sink().await;
        let t0 = 1_800_000_000_000;
        let w = insert_warning(&t.db, &[common::TOWN_A], "restricted", t0).await;
        enqueue(&t.db, &w, t0).await;
        let mut s = settings();
        s.dissemination.sms_url = format!("{base}/sms");
        s.dissemination.sms_success_json_pointer = "/Code".into();
        s.dissemination.sms_success_value = "OK".into();
        s.dissemination.sms_receipt_json_pointer = "/BizId".into();
        let d = Dispatcher::new(t.db.clone(), &s, None).expect("dispatcher");
        d.run_once(t0).await.expect("run");
        let sms = rows(&t.db, &w, "sms").await;
        assert_eq!(sms.len(), 2, "the two enterprises of town A");
        assert!(
            sms.iter()
                .all(|r| r.state == "delivered" && r.receipt.as_deref() == Some("biz-13800000000")),
            "{sms:?}"
        );
        let bodies = sink.sms.lock().expect("lock").clone();
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[0]["phone"], "13800000000");
        assert_eq!(
            bodies[0]["text"],
            format!("【武清应急】{HEADLINE}：停止户外作业")
        );
    });
}

/// Enough SMTP for one client: greeting, EHLO, MAIL, RCPT, DATA, QUIT. Collects the messages.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let out = mails.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let mails = mails.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(d) = data.as_mut() {
                        if line == "." {
                            mails
                                .lock()
                                .expect("lock")
                                .push(data.take().unwrap_or_default());
                            let _ = w.write_all(b"250 2.0.0 Ok: queued as SINK1\r\n").await;
                        } else {
                            d.push_str(&line);
                            d.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 Ok\r\n",
                    };
                    let _ = w.write_all(reply).await;
                }
            });
        }
    });
    (port, out)
}

/// The Subject header, its RFC 2047 base64 words decoded.
fn subject(mail: &str) -> String {
    use base64::Engine;
    let mut header = String::new();
    let mut inside = false;
    for line in mail.lines() {
        if line.to_ascii_lowercase().starts_with("subject:") {
            inside = true;
            header.push_str(&line[8..]);
        } else if inside && line.starts_with([' ', '\t']) {
            header.push_str(line);
        } else if inside {
            break;
        }
    }
    let mut out = String::new();
    for word in header.split_whitespace() {
        match word
            .strip_prefix("=?utf-8?b?")
            .or_else(|| word.strip_prefix("=?UTF-8?B?"))
            .and_then(|w| w.strip_suffix("?="))
        {
            Some(b64) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .expect("base64");
                out.push_str(&String::from_utf8(bytes).expect("utf-8"));
            }
            None => out.push_str(word),
        }
    }
    out
}

#[tokio::test]
async fn e_mail_goes_out_over_smtp_with_the_headline_as_subject() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let (port, mails) = smtp_sink().await;
        insert_subscriber(
            &t.db,
            common::TOWN_A,
            "email",
            "zhang@example.com",
            1,
            "public",
        )
        .await;
        let t0 = 1_800_000_000_000;
        let w = insert_warning(&t.db, &[common::TOWN_A], "public", t0).await;
        enqueue(&t.db, &w, t0).await;
        let mut s = settings();
        s.dissemination.smtp_host = "127.0.0.1".into();
        s.dissemination.smtp_port = port;
        let d = Dispatcher::new(t.db.clone(), &s, None).expect("dispatcher");
        d.run_once(t0).await.expect("run");
        let email = rows(&t.db, &w, "email").await;
        assert_eq!(email.len(), 1);
        assert_eq!(email[0].state, "delivered", "{email:?}");
        assert!(
            email[0].receipt.as_deref().unwrap_or("").starts_with("250"),
            "{email:?}"
        );
        let mails = mails.lock().expect("lock").clone();
        assert_eq!(mails.len(), 1);
        assert_eq!(subject(&mails[0]), HEADLINE);
        assert!(mails[0].contains("zhang@example.com"));
    });
}

#[tokio::test]
async fn the_public_subscribes_with_consent_and_unsubscribes_with_the_token() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let post = |body: Value| {
            let app = &app;
            async move {
                let r = app
                    .client
                    .post(app.url("/public/subscribe"))
                    .json(&body)
                    .send()
                    .await
                    .expect("req");
                let s = r.status().as_u16();
                (s, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let base = json!({"town_code": common::TOWN_A, "channel": "sms", "address": "139 1234 5678", "consent": true});
        let mut no = base.clone();
        no["consent"] = json!(false);
        let (s, e) = post(no).await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("consent")));
        let mut bad = base.clone();
        bad["address"] = json!("12345");
        let (s, e) = post(bad).await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("address")));
        let mut town = base.clone();
        town["town_code"] = json!("999999999");
        assert_eq!(post(town).await.0, 422);

        let (s, ok) = post(base.clone()).await;
        assert_eq!(s, 201, "{ok}");
        let url = ok["unsubscribe_url"].as_str().expect("url").to_string();
        // Absolute: the public address defaults to the one the server answers on.
        let prefix = app.url("/public/unsubscribe?token=");
        assert!(url.starts_with(&prefix), "{url}");
        let url = url[app.url("").len()..].to_string();
        let (s, e) = post(base.clone()).await;
        assert_eq!((s, e["error"]["field"].as_str()), (409, Some("address")));

        let admin = app.login("admin").await;
        let (_, list) = app.get_json(&admin, "/api/v1/subscribers").await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["address"], "13912345678");
        assert_eq!(list["items"][0]["source"], "public");

        // The link shows a page; only the POST unsubscribes.
        let r = app.client.get(app.url(&url)).send().await.expect("req");
        assert_eq!(r.status(), 200);
        assert!(r.text().await.expect("html").contains("139****5678"));
        let (_, list) = app.get_json(&admin, "/api/v1/subscribers").await;
        assert_eq!(list["total"], 1);
        let r = app.client.post(app.url(&url)).send().await.expect("req");
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.expect("json")["unsubscribed"], true);
        let (_, list) = app.get_json(&admin, "/api/v1/subscribers").await;
        assert_eq!(list["total"], 0);
        let (_, list) = app
            .get_json(&admin, "/api/v1/subscribers?include_unsubscribed=true")
            .await;
        assert_eq!(list["items"][0]["active"], false);
        let r = app
            .client
            .post(app.url("/public/unsubscribe?token=nope"))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 404);
        // Subscribing again after unsubscribing is allowed.
        assert_eq!(post(base).await.0, 201);
        app.stop().await;
    });
}

#[tokio::test]
async fn staff_manage_subscribers_within_their_scope() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let duty = app.login("duty").await;
        let town = app.login("town").await;
        let leader = app.login("leader").await;
        let ent = app.login("enterprise").await;
        let body = |town_code: &str, address: &str| {
            json!({"town_code": town_code, "channel": "sms", "address": address, "name": "村广播",
                   "reach": 800, "consent": true, "consent_text": "电话同意"})
        };
        let (s, b) = app
            .send_json(
                Method::POST,
                &duty,
                "/api/v1/subscribers",
                &body(common::TOWN_B, "13800000011"),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(
            (b["reach"].as_i64(), b["source"].as_str()),
            (Some(800), Some("staff-entered"))
        );
        let b_id = b["id"].as_str().expect("id").to_string();
        let (s, a) = app
            .send_json(
                Method::POST,
                &town,
                "/api/v1/subscribers",
                &body(common::TOWN_A, "13800000012"),
            )
            .await;
        assert_eq!(s, 201, "{a}");
        let a_id = a["id"].as_str().expect("id").to_string();
        let (s, e) = app
            .send_json(
                Method::POST,
                &town,
                "/api/v1/subscribers",
                &body(common::TOWN_B, "13800000013"),
            )
            .await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("town_code")));
        let (s, _) = app
            .send_json(
                Method::POST,
                &leader,
                "/api/v1/subscribers",
                &body(common::TOWN_A, "13800000014"),
            )
            .await;
        assert_eq!(s, 403);

        let (_, list) = app.get_json(&town, "/api/v1/subscribers").await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["id"], a_id.as_str());
        let (s, list) = app.get_json(&leader, "/api/v1/subscribers").await;
        assert_eq!((s, list["total"].as_i64()), (200, Some(2)));
        assert_eq!(app.get_json(&ent, "/api/v1/subscribers").await.0, 403);

        let (s, _) = app
            .send_json(
                Method::PUT,
                &town,
                &format!("/api/v1/subscribers/{b_id}"),
                &body(common::TOWN_B, "13800000011"),
            )
            .await;
        assert_eq!(
            s, 404,
            "another town's subscriber does not exist for a town user"
        );
        let mut changed = body(common::TOWN_A, "13800000012");
        changed["reach"] = json!(1200);
        let (s, u) = app
            .send_json(
                Method::PUT,
                &town,
                &format!("/api/v1/subscribers/{a_id}"),
                &changed,
            )
            .await;
        assert_eq!((s, u["reach"].as_i64()), (200, Some(1200)), "{u}");
        let (s, _) = app
            .send_json(
                Method::DELETE,
                &town,
                &format!("/api/v1/subscribers/{a_id}"),
                &json!({}),
            )
            .await;
        assert_eq!(s, 204);
        let audits: i64 =
            t.db.fetch_scalar(&Sql::new(
                "SELECT COUNT(*) FROM audit_log WHERE entity = 'subscriber'",
            ))
            .await
            .expect("audit");
        assert_eq!(audits, 4);

        // Deliveries of a warning for town B only: a town user of A does not see it.
        let w = insert_warning(&t.db, &[common::TOWN_B], "public", yingji::db::now_ms()).await;
        enqueue(&t.db, &w, yingji::db::now_ms()).await;
        assert_eq!(
            app.get_json(&town, &format!("/api/v1/warnings/{w}/deliveries"))
                .await
                .0,
            404
        );
        assert_eq!(
            app.get_json(&ent, &format!("/api/v1/warnings/{w}/deliveries"))
                .await
                .0,
            403
        );
        let (s, d) = app
            .get_json(
                &leader,
                &format!("/api/v1/warnings/{w}/deliveries?channel=sms&recipient_kind=subscriber"),
            )
            .await;
        assert_eq!((s, d["total"].as_i64()), (200, Some(1)), "{d}");
        assert_eq!(
            d["items"][0]["address"], "138****0011",
            "masked for a leader"
        );
        let (_, d) = app
            .get_json(
                &duty,
                &format!("/api/v1/warnings/{w}/deliveries?channel=sms&recipient_kind=subscriber"),
            )
            .await;
        assert_eq!(d["items"][0]["address"], "13800000011");
        let (s, e) = app
            .get_json(
                &duty,
                &format!("/api/v1/warnings/{w}/deliveries?state=lost"),
            )
            .await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("state")));
        let (s, stats) = app
            .get_json(&duty, &format!("/api/v1/warnings/{w}/delivery-stats"))
            .await;
        assert_eq!(s, 200);
        // Staff 4 live (no town user of B), enterprise B1 and the subscriber by SMS.
        assert_eq!(stats["total"]["queued"], 6, "{stats}");
        let sms = stats["by_channel"]
            .as_array()
            .expect("array")
            .iter()
            .find(|c| c["channel"] == "sms")
            .expect("sms")
            .clone();
        assert_eq!(sms["queued"], 2);
        assert_eq!(
            app.get_json(&duty, "/api/v1/warnings/nope/delivery-stats")
                .await
                .0,
            404
        );
        app.stop().await;
    });
}

#[tokio::test]
async fn coverage_adds_delivered_reach_and_relay_reports_capped_at_the_population() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let (_sink, base) = start_sink().await;
        for (town, pop) in [(common::TOWN_A, 1000), (common::TOWN_B, 2000)] {
            t.db.execute(
                &Sql::new("UPDATE admin_units SET population = $1 WHERE code = $2")
                    .bind(pop as i64)
                    .bind(town),
            )
            .await
            .expect("population");
        }
        insert_subscriber(
            &t.db,
            common::TOWN_A,
            "webhook",
            &format!("{base}/hook?a"),
            300,
            "public",
        )
        .await;
        insert_subscriber(&t.db, common::TOWN_A, "sms", "13900000001", 1, "public").await;
        insert_subscriber(
            &t.db,
            common::TOWN_B,
            "webhook",
            &format!("{base}/hook?b"),
            500,
            "public",
        )
        .await;
        insert_subscriber(
            &t.db,
            common::TOWN_B,
            "webhook",
            &format!("{base}/gone"),
            2500,
            "public",
        )
        .await;
        let t0 = 1_800_000_000_000;
        let w = insert_warning(&t.db, &[common::TOWN_A, common::TOWN_B], "public", t0).await;
        enqueue(&t.db, &w, t0).await;
        for (town, people) in [(common::TOWN_A, 650), (common::TOWN_B, 1000)] {
            t.db.execute(
                &Sql::new(
                    "INSERT INTO warning_relays (id, warning_id, town_code, created_at, due_at, people_reached) \
                     VALUES ($1, $2, $3, $4, $4, $5)",
                )
                .bind(yingji::db::new_id())
                .bind(w.as_str())
                .bind(town)
                .bind(t0)
                .bind(people as i64),
            )
            .await
            .expect("relay");
        }
        let mut s = settings();
        s.dissemination.webhook_secret = String::new();
        Dispatcher::new(t.db.clone(), &s, None)
            .expect("dispatcher")
            .run_once(t0)
            .await
            .expect("run");

        let app = common::TestApp::spawn(&t.db).await;
        let duty = app.login("duty").await;
        let (s, c) = app
            .get_json(&duty, &format!("/api/v1/warnings/{w}/coverage"))
            .await;
        assert_eq!(s, 200, "{c}");
        let a = &c["towns"][0];
        assert_eq!(a["town_code"], common::TOWN_A);
        // A: 300 delivered (the SMS waits: no gateway) + 650 reported = 950 of 1000.
        assert_eq!(
            (a["subscribers"].as_i64(), a["subscribers_reached"].as_i64()),
            (Some(2), Some(1))
        );
        assert_eq!(
            (a["people_reached"].as_i64(), a["coverage"].as_f64()),
            (Some(950), Some(0.95))
        );
        assert_eq!(a["meets_target"], true);
        // B: 500 delivered (the 2500 one is dead) + 1000 = 1500 of 2000.
        let b = &c["towns"][1];
        assert_eq!(
            (b["people_reached"].as_i64(), b["coverage"].as_f64()),
            (Some(1500), Some(0.75))
        );
        assert_eq!(b["meets_target"], false);
        assert_eq!(
            (
                c["total"]["population"].as_i64(),
                c["total"]["people_reached"].as_i64()
            ),
            (Some(3000), Some(2450))
        );
        assert_eq!(c["total"]["meets_target"], false);

        // The town user sees their town's row only.
        let town = app.login("town").await;
        let (_, c) = app
            .get_json(&town, &format!("/api/v1/warnings/{w}/coverage"))
            .await;
        assert_eq!(c["towns"].as_array().map(Vec::len), Some(1));

        // The KPI of a period holding this warning (and a restricted one, not counted).
        insert_warning(&t.db, &[common::TOWN_A], "restricted", t0 + SEC).await;
        let from = yingji::time::rfc3339(t0 - 3600 * SEC);
        let to = yingji::time::rfc3339(t0 + 3600 * SEC);
        let (s, k) = app
            .get_json(
                &duty,
                &format!("/api/v1/warnings/coverage-kpi?from={from}&to={to}"),
            )
            .await;
        assert_eq!(s, 200, "{k}");
        assert_eq!(
            (
                k["warnings"].as_i64(),
                k["population"].as_i64(),
                k["people_reached"].as_i64()
            ),
            (Some(1), Some(3000), Some(2450))
        );
        let cov = k["coverage"].as_f64().expect("coverage");
        assert!((cov - 2450.0 / 3000.0).abs() < 1e-9);
        assert_eq!(k["items"][0]["warning_id"], w.as_str());
        let (s, k) = app
            .get_json(
                &duty,
                "/api/v1/warnings/coverage-kpi?from=2020-01-01&to=2020-02-01",
            )
            .await;
        assert_eq!(
            (s, k["warnings"].as_i64(), k["coverage"].is_null()),
            (200, Some(0), true)
        );
        let (s, e) = app
            .get_json(&duty, "/api/v1/warnings/coverage-kpi?from=yesterday")
            .await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("from")));
        app.stop().await;
    });
}
