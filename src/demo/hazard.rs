//! Demo hazard-source units for the hazardous-chemical enterprises: deterministic, graded by
//! the real GB 18218 rules, so that several dozen units are major hazard sources spread over
//! grades 1–4.

use rand::Rng;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::hazard::gb18218::{self, CategoryInput, Gb18218Input, SubstanceInput};
use crate::hazard::model::{EquipmentInput, EquipmentKind, HazardUnitInput, HazardUnitKind};
use crate::registry::model::EnterpriseInput;

/// What a unit is meant to come out as; drawn first, then quantities are drawn until the
/// real grading agrees.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    NotMajor,
    Grade(u8),
}

/// A Table 1 chemical as the demo uses it: name, critical quantity Q (t), and the Table 2
/// category that gives its β when it is not a Table 3 toxic gas.
struct DemoChemical {
    name: &'static str,
    critical_t: f64,
    category: Option<&'static str>,
    storage: bool,
}

const CHEMICALS: &[DemoChemical] = &[
    DemoChemical {
        name: "液氨",
        critical_t: 10.0,
        category: None,
        storage: true,
    },
    DemoChemical {
        name: "液氯",
        critical_t: 5.0,
        category: None,
        storage: true,
    },
    DemoChemical {
        name: "甲醇",
        critical_t: 500.0,
        category: Some("W5.3"),
        storage: true,
    },
    DemoChemical {
        name: "甲苯",
        critical_t: 500.0,
        category: Some("W5.3"),
        storage: true,
    },
    DemoChemical {
        name: "苯",
        critical_t: 50.0,
        category: Some("W5.3"),
        storage: true,
    },
    DemoChemical {
        name: "丙酮",
        critical_t: 500.0,
        category: Some("W5.3"),
        storage: true,
    },
    DemoChemical {
        name: "乙酸乙酯",
        critical_t: 500.0,
        category: Some("W5.3"),
        storage: true,
    },
    DemoChemical {
        name: "汽油",
        critical_t: 200.0,
        category: Some("W5.1"),
        storage: true,
    },
    DemoChemical {
        name: "液化石油气",
        critical_t: 50.0,
        category: Some("W2"),
        storage: true,
    },
    DemoChemical {
        name: "氢",
        critical_t: 5.0,
        category: Some("W2"),
        storage: false,
    },
    DemoChemical {
        name: "环氧乙烷",
        critical_t: 10.0,
        category: None,
        storage: false,
    },
    DemoChemical {
        name: "二氧化硫",
        critical_t: 20.0,
        category: None,
        storage: false,
    },
];

const POPULATIONS: [i64; 7] = [0, 12, 25, 40, 80, 160, 420];

fn substance(c: &DemoChemical, quantity_t: f64) -> SubstanceInput {
    SubstanceInput {
        name: Some(c.name.to_string()),
        quantity_t,
        category: c.category.map(|k| CategoryInput::One(k.to_string())),
        ..Default::default()
    }
}

/// Rounds to what a design document would state: 0.1 t below 10 t, whole tonnes above.
fn design_quantity(q: f64) -> f64 {
    if q < 10.0 {
        (q * 10.0).round() / 10.0
    } else {
        q.round()
    }
}

fn draw_unit(rng: &mut ChaCha8Rng, target: Target) -> (Vec<SubstanceInput>, i64) {
    let population = POPULATIONS[rng.gen_range(0..POPULATIONS.len())];
    let n = rng.gen_range(1..=3usize);
    let mut chosen: Vec<&DemoChemical> = CHEMICALS.choose_multiple(rng, n).collect();
    chosen.sort_by_key(|c| c.name);
    // The share of the critical quantity each chemical gets, by target.
    let (lo, hi) = match target {
        Target::NotMajor => (0.05, 0.9 / n as f64),
        Target::Grade(4) => (0.5, 3.0),
        Target::Grade(3) => (2.0, 12.0),
        Target::Grade(2) => (6.0, 25.0),
        Target::Grade(_) => (15.0, 60.0),
    };
    let subs = chosen
        .iter()
        .map(|c| substance(c, design_quantity(c.critical_t * rng.gen_range(lo..hi))))
        .collect();
    (subs, population)
}

fn grade_of(subs: &[SubstanceInput], population: i64) -> Option<Target> {
    let r = gb18218::evaluate(&Gb18218Input {
        exposed_population: population,
        substances: subs.to_vec(),
    })
    .ok()?;
    Some(match r.grade {
        Some(g) if r.is_major => Target::Grade(g),
        _ => Target::NotMajor,
    })
}

/// Units for the hazardous-chemical enterprises, keyed by the enterprise's credit code.
pub fn demo_hazard_units(
    seed: u64,
    enterprises: &[EnterpriseInput],
) -> Vec<(String, HazardUnitInput)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6218);
    let mut out = Vec::new();
    for e in enterprises
        .iter()
        .filter(|e| e.flags.iter().any(|f| f.is_hazchem()))
    {
        let units = rng.gen_range(1..=2);
        for k in 0..units {
            let target = match rng.gen_range(0..100) {
                0..=69 => Target::NotMajor,
                70..=82 => Target::Grade(4),
                83..=91 => Target::Grade(3),
                92..=96 => Target::Grade(2),
                _ => Target::Grade(1),
            };
            // Bounded retries: the last draw is kept whatever it grades as.
            let mut drawn = draw_unit(&mut rng, target);
            for _ in 0..40 {
                if grade_of(&drawn.0, drawn.1) == Some(target) {
                    break;
                }
                drawn = draw_unit(&mut rng, target);
            }
            let (substances, exposed_population) = drawn;
            let storage = substances.iter().all(|s| {
                CHEMICALS
                    .iter()
                    .any(|c| Some(c.name) == s.name.as_deref() && c.storage)
            });
            let kind = if storage {
                HazardUnitKind::Storage
            } else {
                HazardUnitKind::Production
            };
            let (name, equipment) = match kind {
                HazardUnitKind::Storage => (
                    format!("{}号罐区", k + 1),
                    (1..=rng.gen_range(2..=6))
                        .map(|i| EquipmentInput {
                            id: None,
                            name: format!("{}0{i}#储罐", k + 1),
                            kind: EquipmentKind::Tank,
                            capacity: format!(
                                "{} m³",
                                [100, 200, 500, 1000, 2000][rng.gen_range(0..5)]
                            ),
                        })
                        .collect::<Vec<_>>(),
                ),
                HazardUnitKind::Production => (
                    format!("{}号生产装置", k + 1),
                    (1..=rng.gen_range(1..=3))
                        .map(|i| EquipmentInput {
                            id: None,
                            name: format!("R{}0{i}反应釜", k + 1),
                            kind: EquipmentKind::Reactor,
                            capacity: format!("{} m³", [5, 10, 20, 30][rng.gen_range(0..4)]),
                        })
                        .collect::<Vec<_>>(),
                ),
            };
            let (lon, lat) = match (e.lon, e.lat) {
                // Within about 150 m of the enterprise's point.
                (Some(lon), Some(lat)) => (
                    Some(lon + rng.gen_range(-0.0015..0.0015)),
                    Some(lat + rng.gen_range(-0.0012..0.0012)),
                ),
                _ => (None, None),
            };
            out.push((
                e.credit_code.clone(),
                HazardUnitInput {
                    enterprise_id: String::new(),
                    name,
                    kind,
                    lon,
                    lat,
                    exposed_population,
                    description: String::new(),
                    substances,
                    equipment,
                },
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_dozen_units_are_major_hazard_sources_across_all_four_grades() {
        let units = crate::demo::generator::demo_admin_units().expect("units");
        let registry = crate::demo::generator::demo_registry(crate::demo::DEMO_SEED, &units);
        let hazard = demo_hazard_units(crate::demo::DEMO_SEED, &registry.enterprises);
        let mut per_grade = [0usize; 5];
        for (_, u) in &hazard {
            let (_, g) = crate::hazard::validate_and_grade(u).expect("every demo unit grades");
            if let Some(grade) = g.grade.filter(|_| g.is_major) {
                per_grade[grade as usize] += 1;
            } else {
                per_grade[0] += 1;
            }
        }
        let major: usize = per_grade[1..].iter().sum();
        eprintln!("demo hazard units by grade (0 = not major): {per_grade:?}");
        assert!((36..=90).contains(&major), "several dozen: {per_grade:?}");
        assert!(
            per_grade[1..].iter().all(|n| *n >= 3),
            "every grade present: {per_grade:?}"
        );
        assert!(
            per_grade[0] >= 30,
            "and plenty of units below the threshold: {per_grade:?}"
        );
        assert_eq!(
            hazard,
            demo_hazard_units(crate::demo::DEMO_SEED, &registry.enterprises),
            "deterministic"
        );
    }
}
