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
    let units: Vec<(String, String, String)> = db
        .fetch_all(&Sql::new(
            "SELECT id, enterprise_id, name FROM hazard_units ORDER BY name, id",
        ))
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
            ids.push(id);
            report.risk_points += 1;
        }
        point_ids.push(ids);
    }

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
