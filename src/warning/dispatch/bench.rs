//! `yingji bench dissemination`: one public warning fanned out to N webhook subscribers (100,000
//! by default) through the real queue, dispatcher and webhook channel, against an HTTP sink in
//! the same process that counts the distinct deliveries it saw. Prints one JSON line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::Dispatcher;
use crate::config::Settings;
use crate::db::{Db, Sql};

#[derive(Debug, Clone)]
pub struct DisseminationBenchArgs {
    pub recipients: u64,
    /// A database URL to use instead of a fresh temporary SQLite file.
    pub db: Option<String>,
}

/// Which delivery ids the sink saw: one bit each, so its memory is the bench's, not the
/// dispatcher's, and tiny.
#[derive(Default)]
struct Sink {
    seen: std::sync::Mutex<Vec<u64>>,
    distinct: AtomicU64,
    duplicates: AtomicU64,
    requests: AtomicU64,
}

async fn hook(
    State(sink): State<Arc<Sink>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    sink.requests.fetch_add(1, Ordering::Relaxed);
    let Some(id) = headers
        .get("x-yingji-delivery")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return StatusCode::BAD_REQUEST;
    };
    if body.is_empty() {
        return StatusCode::BAD_REQUEST;
    }
    let fresh = {
        let Ok(mut seen) = sink.seen.lock() else {
            return StatusCode::INTERNAL_SERVER_ERROR;
        };
        let word = (id / 64) as usize;
        if seen.len() <= word {
            seen.resize(word + 1, 0);
        }
        let bit = 1u64 << (id % 64);
        let fresh = seen[word] & bit == 0;
        seen[word] |= bit;
        fresh
    };
    if fresh {
        sink.distinct.fetch_add(1, Ordering::Relaxed);
    } else {
        sink.duplicates.fetch_add(1, Ordering::Relaxed);
    }
    StatusCode::OK
}

/// Peak resident set size (VmHWM) of this process.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The district's towns, N subscribers spread over them, one published warning.
async fn seed(db: &Db, n: u64, sink_url: &str, now: i64) -> anyhow::Result<String> {
    let units = crate::demo::generator::demo_admin_units()?;
    let mut tx = db.begin().await?;
    for u in &units {
        crate::registry::store::upsert_unit(&mut tx, u, None).await?;
    }
    tx.commit().await?;
    let towns: Vec<String> = units
        .iter()
        .filter(|u| u.parent_code.is_some())
        .map(|u| u.code.clone())
        .collect();
    anyhow::ensure!(!towns.is_empty(), "the demo district has no towns");
    const ROWS: u64 = 1000;
    let mut i = 0;
    while i < n {
        let mut tx = db.begin().await?;
        let end = (i + ROWS * 20).min(n);
        while i < end {
            let upto = (i + ROWS).min(end);
            let mut sql = Sql::new(
                "INSERT INTO subscribers (id, town_code, name, channel, address, reach, audience, \
                 consent_at, consent_text, source, unsubscribe_token_hash, created_at, updated_at) VALUES ",
            );
            let now_p = sql.arg(now);
            let mut first = true;
            for k in i..upto {
                let id = sql.arg(format!("bench{k:09}"));
                let town = sql.arg(towns[(k % towns.len() as u64) as usize].as_str());
                let addr = sql.arg(format!("{sink_url}?s={k}"));
                let tok = sql.arg(format!("bench-token-{k}"));
                if !first {
                    sql.push(",");
                }
                first = false;
                sql.push(&format!(
                    "({id}, {town}, '', 'webhook', {addr}, 1, 'public', {now_p}, 'bench', 'staff-entered', {tok}, {now_p}, {now_p})"
                ));
            }
            tx.execute(&sql).await?;
            i = upto;
        }
        tx.commit().await?;
    }
    let id = crate::db::new_id();
    db.execute(
        &Sql::new(
            "INSERT INTO warnings (id, identifier, sender, sender_name, source, msg_type, status, scope, \
             event_type, level, urgency, severity, certainty, headline, description, instruction, area, \
             area_desc, town_codes, effective_at, expires_at, state, sent_at, cap_xml, published_at, \
             created_at, updated_at) VALUES ($1, $2, 'yjj@wuqing.tj.gov.cn', '天津市武清区应急管理局', \
             'local', 'Alert', 'Actual', 'public', 'rainstorm', 'red', 'Expected', 'Extreme', 'Likely', \
             '武清区气象台发布暴雨红色预警', '预计未来3小时降雨量将达100毫米以上。', '停止集会、停课、停业。', \
             $3, '武清区', $4, $5, $6, 'published', $5, $7, $5, $5, $5)",
        )
        .bind(id.as_str())
        .bind("120114000000000_20260701120000_0")
        .bind(json!({"kind": "towns", "town_codes": towns}).to_string())
        .bind(serde_json::to_string(&towns)?)
        .bind(now)
        .bind(now + 6 * 3_600_000)
        .bind(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\
             <identifier>120114000000000_20260701120000_0</identifier></alert>",
        ),
    )
    .await?;
    Ok(id)
}

pub async fn run(args: DisseminationBenchArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("yingji-bench-{}", crate::db::new_id()));
    let fresh = args.db.is_none();
    let url = match &args.db {
        Some(u) => u.clone(),
        None => {
            std::fs::create_dir_all(&dir)?;
            format!("sqlite://{}", dir.join("bench.db").display())
        }
    };
    let result = run_on(&url, &args).await;
    if fresh {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

async fn run_on(url: &str, args: &DisseminationBenchArgs) -> anyhow::Result<()> {
    let db = Db::connect(url)
        .await
        .context("connecting the bench database")?;

    let sink = Arc::new(Sink::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sink_url = format!("http://{}/hook", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(sink.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let now = crate::db::now_ms();
    eprintln!("seeding {} webhook subscribers…", args.recipients);
    let warning = seed(&db, args.recipients, &sink_url, now).await?;

    let t0 = Instant::now();
    let mut tx = db.begin().await?;
    let queued = super::enqueue_for_warning(&mut tx, &warning, now).await?;
    tx.commit().await?;
    let enqueue_ms = t0.elapsed().as_secs_f64() * 1000.0;
    eprintln!("enqueued {queued} deliveries in {enqueue_ms:.0} ms; dispatching…");

    let mut settings = Settings::default();
    settings.dissemination.tick_ms = 0;
    let dispatcher = Dispatcher::new(db.clone(), &settings, None)?;
    let t1 = Instant::now();
    let mut rounds = 0;
    loop {
        rounds += 1;
        let n = dispatcher.run_once(crate::db::now_ms()).await?;
        let left: i64 = db
            .fetch_scalar(&Sql::new(
                "SELECT COUNT(*) FROM deliveries WHERE state <> 'delivered'",
            ))
            .await?;
        if left == 0 {
            break;
        }
        anyhow::ensure!(
            n > 0 || rounds < 100,
            "{left} deliveries not delivered and nothing left to send"
        );
        if n == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    let seconds = t1.elapsed().as_secs_f64();
    let delivered: i64 = db
        .fetch_scalar(&Sql::new(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'delivered'",
        ))
        .await?;
    let distinct = sink.distinct.load(Ordering::Relaxed);
    let duplicates = sink.duplicates.load(Ordering::Relaxed);
    server.abort();
    db.close().await;
    anyhow::ensure!(
        distinct == args.recipients && delivered as u64 == args.recipients && duplicates == 0,
        "the sink saw {distinct} distinct deliveries ({duplicates} repeated), the store has {delivered} delivered, of {}",
        args.recipients
    );
    println!(
        "{}",
        json!({
            "bench": "dissemination",
            "recipients": args.recipients,
            "delivered": delivered,
            "sink_requests": sink.requests.load(Ordering::Relaxed),
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "deliveries_per_s": (delivered as f64 / seconds).round(),
            "enqueue_ms": enqueue_ms.round(),
            "peak_rss_bytes": peak_rss_bytes(),
            "batch_size": settings.dissemination.batch_size,
            "webhook_concurrency": settings.dissemination.webhook_concurrency,
        })
    );
    Ok(())
}
