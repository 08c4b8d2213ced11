//! Writes the generated dual prevention of the demo district ([`super::dualprev`]) into a
//! store: risk points with their assessment, check tasks, hidden dangers with their
//! timelines, and the daily commitments, in one transaction.

use std::collections::HashMap;

use crate::db::{Db, Sql, Tx};
use crate::dualprev::rules::{self, Bands};

use super::dualprev::{DemoEnterprise, generate};

#[derive(Debug, Default, Clone, Copy)]
pub struct DualPrevReport {
    pub risk_points: usize,
    pub check_tasks: usize,
    pub check_records: usize,
    pub hidden_dangers: usize,
    pub commitments: usize,
}

#[derive(sqlx::FromRow)]
struct EnterpriseRow {
    id: String,
    town_code: String,
    flags: String,
}

/// Seeds the demo's dual prevention into a store that has none, at `now_ms`.
pub async fn seed(db: &Db, seed: u64, now_ms: i64) -> anyhow::Result<DualPrevReport> {
    let existing: i64 = db
        .fetch_scalar(&Sql::new(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM risk_points",
        ))
        .await?;
    if existing > 0 {
        return Ok(DualPrevReport::default());
    }
    let rows: Vec<EnterpriseRow> = db
        .fetch_all(&Sql::new(
            "SELECT id, town_code, flags FROM enterprises ORDER BY credit_code",
        ))
        .await?;
    // A commitment states the major hazard sources, as filing over the API requires.
    let units: Vec<(String, String, String)> = db
        .fetch_all(
            &Sql::new(
                "SELECT id, enterprise_id, name FROM hazard_units WHERE is_major = $1 ORDER BY name, id",
            )
            .bind(true),
        )
        .await?;
    let mut units_of: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for (id, enterprise, name) in &units {
        units_of
            .entry(enterprise.as_str())
            .or_default()
            .push((id.as_str(), name.as_str()));
    }
    let enterprises: Vec<DemoEnterprise> = rows
        .iter()
        .map(|r| DemoEnterprise {
            hazchem: r.flags.contains(",hazchem_"),
            gas_station: r.flags.contains(",gas_station,"),
            warehousing: r.flags.contains(",warehousing,"),
            dust: r.flags.contains(",combustible_dust,"),
            hazard_units: units_of
                .get(r.id.as_str())
                .map(|u| u.iter().map(|(_, n)| n.to_string()).collect())
                .unwrap_or_default(),
        })
        .collect();
    let demo = generate(seed, &enterprises, now_ms);
    let bands = Bands::default();
    let bands_json = serde_json::to_string(&bands)?;
    let mut report = DualPrevReport::default();
    let mut tx = db.begin().await?;

    let mut point_ids: Vec<Vec<String>> = Vec::with_capacity(demo.risk_points.len());
    for (i, points) in demo.risk_points.iter().enumerate() {
        let e = &rows[i];
        let mut ids = Vec::new();
        for p in points {
            let id = crate::db::new_id();
            let (score, colour, l, ecol, c, s) = match p.method {
                "lec" => {
                    let r = rules::lec(p.factors[0], p.factors[1], p.factors[2], &bands)?;
                    (r.d, r.colour, r.l, Some(r.e), Some(r.c), None)
                }
                _ => {
                    let r = rules::ls(p.factors[0], p.factors[1], &bands)?;
                    (
                        f64::from(r.r),
                        r.colour,
                        f64::from(r.l),
                        None,
                        None,
                        Some(f64::from(r.s)),
                    )
                }
            };
            let measures: Vec<serde_json::Value> = p
                .measures
                .iter()
                .map(|m| serde_json::json!({"category": m.category, "text": m.text, "check_cycle": m.cycle.map(|c| c.key())}))
                .collect();
            tx.execute(
                &Sql::new(
                    "INSERT INTO risk_points (id, enterprise_id, town_code, name, kind, location, hazards, accident_types, \
                     control_measures, control_level, responsible_person, method, l, e, c, s, score, colour, colour_rank, \
                     assessed_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, $20)",
                )
                .bind(id.as_str())
                .bind(e.id.as_str())
                .bind(e.town_code.as_str())
                .bind(p.name.as_str())
                .bind(p.kind)
                .bind(p.location.as_str())
                .bind(serde_json::to_string(&p.hazards)?)
                .bind(serde_json::to_string(&p.accident_types)?)
                .bind(serde_json::to_string(&measures)?)
                .bind(p.control_level)
                .bind(p.responsible_person.as_str())
                .bind(p.method)
                .bind(l)
                .bind(ecol)
                .bind(c)
                .bind(s)
                .bind(score)
                .bind(colour.key())
                .bind(colour.rank())
                .bind(p.assessed_at),
            )
            .await?;
            tx.execute(
                &Sql::new(
                    "INSERT INTO risk_assessments (id, risk_point_id, method, l, e, c, s, score, colour, bands, note, assessed_at, assessor_name) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(crate::db::new_id())
                .bind(id.as_str())
                .bind(p.method)
                .bind(l)
                .bind(ecol)
                .bind(c)
                .bind(s)
                .bind(score)
                .bind(colour.key())
                .bind(bands_json.as_str())
                .bind("年度风险辨识评估")
                .bind(p.assessed_at)
                .bind(p.responsible_person.as_str()),
            )
            .await?;
            // Check tasks come from the measures as they do for a risk point saved over the
            // API; hazardous-chemical enterprises have checked for a month, the others a week.
            let measures: Vec<crate::dualprev::risk::ControlMeasure> = p
                .measures
                .iter()
                .map(|m| crate::dualprev::risk::ControlMeasure {
                    category: m.category.to_string(),
                    text: m.text.clone(),
                    check_cycle: m.cycle,
                })
                .collect();
            let starts_at = now_ms - if enterprises[i].hazchem { 30 } else { 7 } * 86_400_000;
            crate::dualprev::checks::sync_tasks(
                &mut tx,
                &id,
                &e.id,
                &e.town_code,
                &measures,
                &p.responsible_person,
                None,
                starts_at,
            )
            .await?;
            ids.push(id);
            report.risk_points += 1;
        }
        point_ids.push(ids);
    }

    let (check_tasks, check_records) = insert_checks_done(&mut tx, seed, now_ms).await?;
    report.check_tasks = check_tasks;
    report.check_records = check_records;

    for h in &demo.hidden_dangers {
        let e = &rows[h.enterprise];
        let id = crate::db::new_id();
        let risk_point_id = h
            .risk_point
            .and_then(|p| point_ids[h.enterprise].get(p).cloned());
        let (sv_level, sv_officer, sv_due, sv_listed) = match &h.supervision {
            Some((l, o, d, at)) => (Some(*l), Some(o.as_str()), Some(*d), Some(*at)),
            None => (None, None, None, None),
        };
        let updated_at = h.steps.iter().map(|s| s.at).max().unwrap_or(h.found_at);
        tx.execute(
            &Sql::new(
                "INSERT INTO hidden_dangers (id, enterprise_id, town_code, risk_point_id, location, description, source, \
                 category, level, found_by, found_at, state, measures, funds, responsible_person, deadline, contingency, \
                 rectification_result, rectified_at, closed_at, close_evidence, overdue_at, supervision_level, \
                 supervising_officer, supervision_due, supervision_listed_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
                 $21, $22, $23, $24, $25, $26, $11, $27)",
            )
            .bind(id.as_str())
            .bind(e.id.as_str())
            .bind(e.town_code.as_str())
            .bind(risk_point_id)
            .bind(h.location.as_str())
            .bind(h.description.as_str())
            .bind(h.source)
            .bind(h.category)
            .bind(h.level.key())
            .bind(h.found_by.as_str())
            .bind(h.found_at)
            .bind(h.state.key())
            .bind(h.measures.clone())
            .bind(h.funds)
            .bind(h.responsible_person.clone())
            .bind(h.deadline)
            .bind(h.contingency.clone())
            .bind(h.rectification_result.clone())
            .bind(h.rectified_at)
            .bind(h.closed_at)
            .bind(h.close_evidence.clone())
            .bind(h.overdue_at)
            .bind(sv_level)
            .bind(sv_officer)
            .bind(sv_due)
            .bind(sv_listed)
            .bind(updated_at),
        )
        .await?;
        for s in &h.steps {
            tx.execute(
                &Sql::new(
                    "INSERT INTO hidden_danger_timeline (hidden_danger_id, at, action, from_state, to_state, actor_name, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id.as_str())
                .bind(s.at)
                .bind(s.action)
                .bind(s.from.map(|x| x.key()))
                .bind(s.to.map(|x| x.key()))
                .bind(s.actor.as_str())
                .bind((!s.detail.is_null()).then(|| s.detail.to_string())),
            )
            .await?;
        }
        report.hidden_dangers += 1;
    }

    for c in &demo.commitments {
        let e = &rows[c.enterprise];
        let units = units_of.get(e.id.as_str()).cloned().unwrap_or_default();
        let sources: Vec<serde_json::Value> = c
            .units
            .iter()
            .zip(units.iter())
            .map(|((name, state), (unit_id, _))| serde_json::json!({"unit_id": unit_id, "name": name, "state": state, "note": ""}))
            .collect();
        insert_commitment(&mut tx, e, c, &sources).await?;
        report.commitments += 1;
    }
    tx.commit().await?;
    Ok(report)
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: String,
    enterprise_id: String,
    town_code: String,
    cycle: String,
    starts_at: i64,
    assignee_name: String,
}

async fn tasks(tx: &mut Tx) -> anyhow::Result<Vec<TaskRow>> {
    Ok(tx
        .fetch_all(&Sql::new(
            "SELECT id, enterprise_id, town_code, cycle, starts_at, assignee_name FROM check_tasks ORDER BY risk_point_id, measure_index",
        ))
        .await?)
}

/// The demo's check records, written many rows per statement: there are tens of thousands.
/// Returns the numbers of tasks and of records.
async fn insert_checks_done(tx: &mut Tx, seed: u64, now_ms: i64) -> anyhow::Result<(usize, usize)> {
    let tasks = tasks(tx).await?;
    let specs: Vec<(rules::Cycle, i64)> = tasks
        .iter()
        .map(|t| {
            (
                rules::Cycle::parse(&t.cycle).unwrap_or(rules::Cycle::Monthly),
                t.starts_at,
            )
        })
        .collect();
    let done = super::dualprev::checks(seed, &specs, now_ms);
    for chunk in done.chunks(500) {
        let mut sql = Sql::new(
            "INSERT INTO check_records (id, task_id, enterprise_id, town_code, period_start, checked_at, checker_name, result, findings) VALUES ",
        );
        for (n, c) in chunk.iter().enumerate() {
            let t = &tasks[c.task];
            let args = [
                sql.arg(crate::db::new_id()),
                sql.arg(t.id.as_str()),
                sql.arg(t.enterprise_id.as_str()),
                sql.arg(t.town_code.as_str()),
                sql.arg(c.period_start),
                sql.arg(c.checked_at),
                sql.arg(t.assignee_name.as_str()),
                sql.arg(if c.findings.is_some() {
                    "findings"
                } else {
                    "ok"
                }),
                sql.arg(c.findings.unwrap_or_default()),
            ];
            sql.push(&format!(
                "{}({})",
                if n > 0 { ", " } else { "" },
                args.join(", ")
            ));
        }
        tx.execute(&sql).await?;
    }
    Ok((tasks.len(), done.len()))
}

async fn insert_commitment(
    tx: &mut Tx,
    e: &EnterpriseRow,
    c: &super::dualprev::DemoCommitment,
    sources: &[serde_json::Value],
) -> anyhow::Result<()> {
    let ops = c.operations;
    tx.execute(
        &Sql::new(
            "INSERT INTO commitments (id, enterprise_id, town_code, day, committed_at, committer, hazard_sources, \
             ops_hot_work, ops_confined_space, ops_blind_plate, ops_height, ops_lifting, ops_temp_power, ops_excavation, \
             ops_road_closure, startup_shutdown, maintenance, notes, safe_state, late, contradictions) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        )
        .bind(crate::db::new_id())
        .bind(e.id.as_str())
        .bind(e.town_code.as_str())
        .bind(c.day.format("%Y-%m-%d").to_string())
        .bind(c.committed_at)
        .bind(c.committer.as_str())
        .bind(serde_json::to_string(sources)?)
        .bind(ops[0])
        .bind(ops[1])
        .bind(ops[2])
        .bind(ops[3])
        .bind(ops[4])
        .bind(ops[5])
        .bind(ops[6])
        .bind(ops[7])
        .bind(c.startup_shutdown)
        .bind(c.maintenance)
        .bind("")
        .bind(c.safe_state)
        .bind(c.late)
        .bind(serde_json::to_string(&c.contradictions)?),
    )
    .await?;
    Ok(())
}
