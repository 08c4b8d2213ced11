//! Public coverage of warnings (plan KPI: ≥ 90%): per warning and target town, the people
//! reached against the town's population. People reached = the reach of the subscriber
//! deliveries that were delivered + what the town reported for its onward dissemination
//! (loudspeakers, door to door…), capped at the population.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{Db, DbError, Sql};
use crate::warning::model;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TownCoverage {
    pub town_code: String,
    pub town_name: String,
    /// `admin_units.population`; `null` when unknown (the town then has no coverage figure).
    pub population: Option<i64>,
    /// Subscribers this message was addressed to in the town (its registered recipients).
    pub subscribers: i64,
    /// Of them, those it was delivered to.
    pub subscribers_reached: i64,
    /// Σ reach of the delivered subscriber deliveries.
    pub delivered_reach: i64,
    /// What the town reported with its relay (`people_reached`).
    pub relay_people_reached: i64,
    /// delivered_reach + relay_people_reached, at most the population.
    pub people_reached: i64,
    pub coverage: Option<f64>,
    pub meets_target: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CoverageTotal {
    /// Σ population of the towns whose population is known.
    pub population: i64,
    pub subscribers: i64,
    pub subscribers_reached: i64,
    /// Σ people reached of those towns.
    pub people_reached: i64,
    pub coverage: Option<f64>,
    pub meets_target: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WarningCoverage {
    pub warning_id: String,
    pub target: f64,
    pub towns: Vec<TownCoverage>,
    pub total: CoverageTotal,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KpiWarning {
    pub warning_id: String,
    pub headline: String,
    pub published_at: String,
    pub population: i64,
    pub people_reached: i64,
    pub coverage: Option<f64>,
    pub meets_target: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CoverageKpi {
    pub from: String,
    pub to: String,
    pub target: f64,
    /// Public warnings published in [from, to).
    pub warnings: i64,
    /// Σ over warnings × target towns.
    pub population: i64,
    pub people_reached: i64,
    pub coverage: Option<f64>,
    pub meets_target: bool,
    pub items: Vec<KpiWarning>,
}

/// The per-town figures of one message (pure).
pub fn town_coverage(
    town_code: &str,
    town_name: &str,
    population: Option<i64>,
    subscribers: i64,
    subscribers_reached: i64,
    delivered_reach: i64,
    relay_people_reached: i64,
) -> TownCoverage {
    let raw = delivered_reach.saturating_add(relay_people_reached);
    let people_reached = match population {
        Some(p) => raw.min(p.max(0)),
        None => raw,
    };
    let coverage = population.and_then(|p| model::coverage(people_reached, p));
    TownCoverage {
        town_code: town_code.to_string(),
        town_name: town_name.to_string(),
        population,
        subscribers,
        subscribers_reached,
        delivered_reach,
        relay_people_reached,
        people_reached,
        coverage,
        meets_target: model::meets_target(coverage),
    }
}

/// Sums towns of known population (pure).
pub fn total(towns: &[TownCoverage]) -> CoverageTotal {
    let known = towns.iter().filter(|t| t.population.is_some());
    let population: i64 = known.clone().filter_map(|t| t.population).sum();
    let people_reached: i64 = known.map(|t| t.people_reached).sum();
    let coverage = model::coverage(people_reached, population);
    CoverageTotal {
        population,
        subscribers: towns.iter().map(|t| t.subscribers).sum(),
        subscribers_reached: towns.iter().map(|t| t.subscribers_reached).sum(),
        people_reached,
        coverage,
        meets_target: model::meets_target(coverage),
    }
}

#[derive(sqlx::FromRow)]
struct Delivered {
    warning_id: String,
    town_code: String,
    subscribers: i64,
    reached: i64,
    reach: i64,
}

#[derive(sqlx::FromRow)]
struct Relay {
    warning_id: String,
    town_code: String,
    people_reached: i64,
}

#[derive(sqlx::FromRow)]
struct Unit {
    code: String,
    name: String,
    population: Option<i64>,
}

/// Coverage of the warnings `ids` (each with its JSON town list), restricted to `only_town`
/// when given (a town user's view).
async fn compute(
    db: &Db,
    warnings: &[(String, String)],
    only_town: Option<&str>,
) -> Result<HashMap<String, Vec<TownCoverage>>, DbError> {
    let mut out = HashMap::new();
    if warnings.is_empty() {
        return Ok(out);
    }
    let ids: Vec<String> = warnings.iter().map(|(id, _)| id.clone()).collect();
    let mut sql = Sql::new(
        "SELECT warning_id, town_code, COUNT(*) AS subscribers, \
         CAST(SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END) AS BIGINT) AS reached, \
         CAST(COALESCE(SUM(CASE WHEN state = 'delivered' THEN reach ELSE 0 END), 0) AS BIGINT) AS reach \
         FROM deliveries WHERE recipient_kind = 'subscriber' AND warning_id IN (",
    );
    let list = super::in_list(&mut sql, &ids);
    sql.push(&format!("{list}) GROUP BY warning_id, town_code"));
    let delivered: HashMap<(String, String), Delivered> = db
        .fetch_all::<Delivered>(&sql)
        .await?
        .into_iter()
        .map(|d| ((d.warning_id.clone(), d.town_code.clone()), d))
        .collect();
    let mut sql = Sql::new(
        "SELECT warning_id, town_code, COALESCE(people_reached, 0) AS people_reached \
         FROM warning_relays WHERE warning_id IN (",
    );
    let list = super::in_list(&mut sql, &ids);
    sql.push(&format!("{list})"));
    let relays: HashMap<(String, String), i64> = db
        .fetch_all::<Relay>(&sql)
        .await?
        .into_iter()
        .map(|r| ((r.warning_id, r.town_code), r.people_reached))
        .collect();
    let units: HashMap<String, Unit> = db
        .fetch_all::<Unit>(&Sql::new(
            "SELECT code, name, CAST(population AS BIGINT) AS population FROM admin_units",
        ))
        .await?
        .into_iter()
        .map(|u| (u.code.clone(), u))
        .collect();
    for (id, town_json) in warnings {
        let towns: Vec<String> = serde_json::from_str(town_json).unwrap_or_default();
        let rows = towns
            .iter()
            .filter(|t| only_town.is_none_or(|o| o == t.as_str()))
            .map(|t| {
                let key = (id.clone(), t.clone());
                let d = delivered.get(&key);
                let unit = units.get(t);
                town_coverage(
                    t,
                    unit.map(|u| u.name.as_str()).unwrap_or(""),
                    unit.and_then(|u| u.population),
                    d.map_or(0, |d| d.subscribers),
                    d.map_or(0, |d| d.reached),
                    d.map_or(0, |d| d.reach),
                    relays.get(&key).copied().unwrap_or(0),
                )
            })
            .collect();
        out.insert(id.clone(), rows);
    }
    Ok(out)
}

/// Coverage of one message; `None` when it does not exist.
pub async fn warning_coverage(
    db: &Db,
    warning_id: &str,
    only_town: Option<&str>,
) -> Result<Option<WarningCoverage>, DbError> {
    let Some(town_codes) = db
        .fetch_optional::<(String,)>(
            &Sql::new("SELECT town_codes FROM warnings WHERE id = $1").bind(warning_id),
        )
        .await?
    else {
        return Ok(None);
    };
    let mut all = compute(db, &[(warning_id.to_string(), town_codes.0)], only_town).await?;
    let towns = all.remove(warning_id).unwrap_or_default();
    Ok(Some(WarningCoverage {
        warning_id: warning_id.to_string(),
        target: model::COVERAGE_TARGET,
        total: total(&towns),
        towns,
    }))
}

#[derive(sqlx::FromRow)]
struct Published {
    id: String,
    headline: String,
    town_codes: String,
    published_at: i64,
}

/// The district KPI over [from, to): the public warnings (scope public, status Actual, alerts
/// and updates, not cancels) published then, each × target town counted:
/// Σ people reached / Σ population.
pub async fn kpi(
    db: &Db,
    from_ms: i64,
    to_ms: i64,
    only_town: Option<&str>,
) -> Result<CoverageKpi, DbError> {
    let published: Vec<Published> = db
        .fetch_all(
            &Sql::new(
                "SELECT id, headline, town_codes, published_at FROM warnings \
                 WHERE scope = 'public' AND status = 'Actual' AND msg_type <> 'Cancel' \
                 AND published_at IS NOT NULL AND published_at >= $1 AND published_at < $2 \
                 ORDER BY published_at, id",
            )
            .bind(from_ms)
            .bind(to_ms),
        )
        .await?;
    let mut items = Vec::with_capacity(published.len());
    // In slices: an IN list stays far below the backends' parameter limits.
    let mut by_warning = HashMap::new();
    for chunk in published.chunks(500) {
        let pairs: Vec<(String, String)> = chunk
            .iter()
            .map(|p| (p.id.clone(), p.town_codes.clone()))
            .collect();
        by_warning.extend(compute(db, &pairs, only_town).await?);
    }
    let (mut population, mut people) = (0_i64, 0_i64);
    for p in &published {
        let towns = by_warning.remove(&p.id).unwrap_or_default();
        let t = total(&towns);
        population += t.population;
        people += t.people_reached;
        items.push(KpiWarning {
            warning_id: p.id.clone(),
            headline: p.headline.clone(),
            published_at: crate::time::rfc3339(p.published_at),
            population: t.population,
            people_reached: t.people_reached,
            coverage: t.coverage,
            meets_target: t.meets_target,
        });
    }
    let coverage = model::coverage(people, population);
    Ok(CoverageKpi {
        from: crate::time::rfc3339(from_ms),
        to: crate::time::rfc3339(to_ms),
        target: model::COVERAGE_TARGET,
        warnings: items.len() as i64,
        population,
        people_reached: people,
        coverage,
        meets_target: model::meets_target(coverage),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_reached_adds_relays_and_is_capped_at_the_population() {
        let t = town_coverage("a", "A", Some(1000), 10, 8, 500, 420);
        assert_eq!(t.people_reached, 920);
        assert_eq!(t.coverage, Some(0.92));
        assert!(t.meets_target);
        let t = town_coverage("b", "B", Some(1000), 10, 10, 900, 900);
        assert_eq!((t.people_reached, t.coverage), (1000, Some(1.0)));
        let t = town_coverage("c", "C", None, 1, 1, 5, 0);
        assert_eq!((t.coverage, t.meets_target), (None, false));
    }

    #[test]
    fn the_total_counts_towns_of_known_population() {
        let towns = [
            town_coverage("a", "A", Some(1000), 3, 2, 950, 0),
            town_coverage("b", "B", Some(3000), 4, 4, 2000, 0),
            town_coverage("c", "C", None, 1, 1, 7, 0),
        ];
        let t = total(&towns);
        assert_eq!((t.population, t.people_reached), (4000, 2950));
        assert_eq!((t.subscribers, t.subscribers_reached), (8, 7));
        assert_eq!(t.coverage, Some(0.7375));
        assert!(!t.meets_target);
    }
}
