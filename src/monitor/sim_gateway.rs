//! `yingji simulate`: a simulated gateway that posts readings to a Yingji server over HTTP,
//! the way an enterprise's real gateway does. It reads each token's sensors from
//! `GET /api/v1/ingest/sensors`, simulates them with [`super::simulate`], and posts one batch
//! per enterprise and round to `POST /api/v1/ingest/readings`.
//!
//! Like a real gateway it keeps a batch the server could not take (network down, 5xx) and
//! sends it with the next round; unlike one, it sends nothing while its simulated outage
//! lasts (a gateway that is down measures nothing either).

use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use super::gateway::GatewaySensors;
use super::simulate::{SimConfig, SimSensor, Simulator};

/// Most readings kept for one gateway while the server does not take them: the server's
/// default batch limit, so the backlog still goes in one batch.
const MAX_BACKLOG: usize = 10_000;

#[derive(Debug, Clone)]
pub struct SimulateArgs {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// One ingest token per enterprise to simulate.
    pub tokens: Vec<String>,
    /// Wall-clock time between two rounds.
    pub interval: Duration,
    /// Simulated seconds per wall-clock second: the dynamics run this much faster, while the
    /// readings keep the real time (the server refuses readings from the future).
    pub speed: f64,
    /// Stop after this long; `None`: until `stop` resolves.
    pub duration: Option<Duration>,
    pub sim: SimConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("{0}")]
    Invalid(String),
    #[error("token #{index} was refused (401): unknown or revoked")]
    TokenRefused { index: usize },
    #[error("the server answered {status} to {what}: {body}")]
    Status {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error("cannot reach {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

/// One gateway's outcome in a round.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayRound {
    pub enterprise_name: String,
    /// Down in the simulation: nothing sent.
    pub offline: bool,
    pub sent: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub out_of_range: usize,
    /// The post failed (kept for the next round); the reason.
    pub failed: Option<String>,
    /// The first rejection's reason, if any (`unknown_sensor`, …).
    pub first_rejection: Option<String>,
}

/// One round: the elapsed wall time and each gateway's outcome.
#[derive(Debug, Clone, Default)]
pub struct Round {
    pub elapsed: Duration,
    pub gateways: Vec<GatewayRound>,
}

/// Totals over a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimulateReport {
    pub rounds: usize,
    pub sent: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub out_of_range: usize,
    pub failed_posts: usize,
}

#[derive(Debug, Serialize)]
struct Batch<'a> {
    readings: Vec<Item<'a>>,
}

#[derive(Debug, Serialize)]
struct Item<'a> {
    sensor: &'a str,
    ts: i64,
    value: f64,
}

#[derive(Debug, Clone)]
struct Pending {
    sensor: usize,
    ts: i64,
    value: f64,
}

#[derive(Debug, serde::Deserialize)]
struct IngestAnswer {
    accepted: usize,
    #[serde(default)]
    rejected: Vec<RejectedAnswer>,
    #[serde(default)]
    out_of_range: usize,
}

#[derive(Debug, serde::Deserialize)]
struct RejectedAnswer {
    reason: String,
}

struct Gateway {
    token: String,
    info: GatewaySensors,
    backlog: Vec<Pending>,
}

/// Fetches the sensors of each token's enterprise.
async fn fetch_sensors(
    client: &reqwest::Client,
    base: &str,
    index: usize,
    token: &str,
) -> Result<GatewaySensors, SimulateError> {
    let url = format!("{base}/api/v1/ingest/sensors");
    let r = client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|source| SimulateError::Unreachable {
            url: url.clone(),
            source,
        })?;
    match r.status().as_u16() {
        200 => r
            .json::<GatewaySensors>()
            .await
            .map_err(|source| SimulateError::Unreachable { url, source }),
        401 => Err(SimulateError::TokenRefused { index }),
        status => Err(SimulateError::Status {
            what: "GET /api/v1/ingest/sensors",
            status,
            body: r.text().await.unwrap_or_default(),
        }),
    }
}

/// Runs the simulated gateways until `duration` has passed or `stop` resolves, calling
/// `on_round` after each round. Fails at once on a refused token: that will not mend itself.
pub async fn run(
    args: SimulateArgs,
    stop: impl Future<Output = ()>,
    mut on_round: impl FnMut(&Round),
) -> Result<SimulateReport, SimulateError> {
    if args.tokens.is_empty() {
        return Err(SimulateError::Invalid("give at least one --token".into()));
    }
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(SimulateError::Invalid(
            "--speed must be a positive number".into(),
        ));
    }
    if args.interval.is_zero() {
        return Err(SimulateError::Invalid(
            "--interval-s must be positive".into(),
        ));
    }
    let base = args.url.trim_end_matches('/').to_string();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|source| SimulateError::Unreachable {
            url: base.clone(),
            source,
        })?;
    let mut gateways: Vec<Gateway> = Vec::new();
    for (index, token) in args.tokens.iter().enumerate() {
        let info = fetch_sensors(&client, &base, index + 1, token.trim()).await?;
        // Two tokens of one enterprise would only send every reading twice.
        if gateways
            .iter()
            .any(|g| g.info.enterprise_id == info.enterprise_id)
        {
            continue;
        }
        gateways.push(Gateway {
            token: token.trim().to_string(),
            info,
            backlog: Vec::new(),
        });
    }
    let sensors: Vec<SimSensor> = gateways
        .iter()
        .flat_map(|g| {
            g.info.sensors.iter().map(|s| SimSensor {
                gateway: g.info.enterprise_id.clone(),
                code: s.code.clone(),
                kind: s.kind,
                range_min: s.range_min,
                range_max: s.range_max,
                ll: s.ll,
                l: s.l,
                h: s.h,
                hh: s.hh,
            })
        })
        .collect();
    let sim = Simulator::new(sensors, args.sim.clone());
    // The simulator numbers gateways in order of first appearance; gateways without sensors
    // do not appear, so map by enterprise id.
    let sim_gateway: Vec<Option<usize>> = gateways
        .iter()
        .map(|g| {
            sim.gateways()
                .iter()
                .position(|id| *id == g.info.enterprise_id)
        })
        .collect();

    let started = tokio::time::Instant::now();
    let start_ms = crate::db::now_ms();
    let deadline = args.duration.map(|d| started + d);
    let mut report = SimulateReport::default();
    let mut ticker = tokio::time::interval(args.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let until_deadline = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop);
    tokio::pin!(until_deadline);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = &mut stop => break,
            _ = &mut until_deadline => break,
        }
        let now_ms = crate::db::now_ms();
        let t_sim = start_ms + ((now_ms - start_ms) as f64 * args.speed) as i64;
        let mut round = Round {
            elapsed: started.elapsed(),
            gateways: Vec::new(),
        };
        for (k, g) in gateways.iter_mut().enumerate() {
            let mut out = GatewayRound {
                enterprise_name: g.info.enterprise_name.clone(),
                ..Default::default()
            };
            match sim_gateway[k] {
                Some(sg) if sim.gateway_online(sg, t_sim) => {
                    for (i, value) in sim.gateway_readings(sg, t_sim) {
                        g.backlog.push(Pending {
                            sensor: i,
                            ts: now_ms,
                            value,
                        });
                    }
                }
                Some(_) => out.offline = true,
                None => {}
            }
            if g.backlog.len() > MAX_BACKLOG {
                let excess = g.backlog.len() - MAX_BACKLOG;
                g.backlog.drain(..excess);
            }
            if !out.offline && !g.backlog.is_empty() {
                post(&client, &base, k, g, &sim, &mut out).await?;
                report.failed_posts += usize::from(out.failed.is_some());
            }
            report.sent += out.sent;
            report.accepted += out.accepted;
            report.rejected += out.rejected;
            report.out_of_range += out.out_of_range;
            round.gateways.push(out);
        }
        report.rounds += 1;
        on_round(&round);
    }
    Ok(report)
}

/// Posts a gateway's backlog; clears it when the server took it.
async fn post(
    client: &reqwest::Client,
    base: &str,
    k: usize,
    g: &mut Gateway,
    sim: &Simulator,
    out: &mut GatewayRound,
) -> Result<(), SimulateError> {
    let readings: Vec<Item<'_>> = g
        .backlog
        .iter()
        .map(|p| Item {
            sensor: sim.sensors()[p.sensor].code.as_str(),
            ts: p.ts,
            value: p.value,
        })
        .collect();
    let url = format!("{base}/api/v1/ingest/readings");
    let sent = client
        .post(&url)
        .bearer_auth(&g.token)
        .json(&Batch { readings })
        .send()
        .await;
    let r = match sent {
        Ok(r) => r,
        Err(e) => {
            out.failed = Some(e.to_string());
            return Ok(());
        }
    };
    let status = r.status().as_u16();
    match status {
        200 => match r.json::<IngestAnswer>().await {
            Ok(a) => {
                out.sent = g.backlog.len();
                out.accepted = a.accepted;
                out.rejected = a.rejected.len();
                out.out_of_range = a.out_of_range;
                out.first_rejection = a.rejected.into_iter().next().map(|r| r.reason);
                g.backlog.clear();
            }
            Err(e) => out.failed = Some(e.to_string()),
        },
        401 => return Err(SimulateError::TokenRefused { index: k + 1 }),
        // The server is in trouble or restarting: keep the readings for the next round.
        s if s >= 500 => out.failed = Some(format!("HTTP {s}")),
        // A batch the server refuses will be refused again: report, do not retry forever.
        _ => {
            return Err(SimulateError::Status {
                what: "POST /api/v1/ingest/readings",
                status,
                body: r.text().await.unwrap_or_default(),
            });
        }
    }
    Ok(())
}
