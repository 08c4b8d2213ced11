//! Demo sensors of the monitored enterprises, derived from their hazard-source units: what
//! each piece of equipment would carry in a real plant, plus the gas detectors around it.
//! Pure and deterministic: the same seed and units give the same sensors.
//!
//! - storage tank: level (m) and temperature (℃); a tank of a liquefied gas stored under
//!   pressure (ammonia, chlorine, LPG) also pressure (MPa);
//! - reactor: temperature and pressure (a large one a second, jacket, temperature);
//! - warehouse: temperature, and gas detectors for what it holds;
//! - flammable gas detectors (%LEL) near equipment holding a flammable substance, toxic gas
//!   detectors (ppm) near equipment holding a toxic one, more at pump and loading areas.
//!
//! Codes follow the ISA style, grouped by unit: unit *k*'s process instruments are numbered
//! from `(2k−1)01` and its gas detectors from `(2k)01`, so unit 1 has `LT-101`, `TT-102`,
//! `PT-103` … and `GT-201` …, unit 2 `LT-301` … and `GT-401` ….
//!
//! No verifiable source fixes thresholds for these sensors (STANDARDS.md §6); every value
//! below is a customary setting chosen to look like a real site's, not a cited requirement.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::hazard::model::{EquipmentKind, HazardUnitKind};
use crate::monitor::sensors::{SensorInput, SensorKind};

/// Fewest and most sensors of one monitored enterprise.
pub const MIN_SENSORS: usize = 20;
pub const MAX_SENSORS: usize = 60;

/// A hazard-source unit as stored, in the order its sensors are numbered.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoUnit {
    pub id: String,
    pub name: String,
    pub kind: HazardUnitKind,
    /// Names of the unit's chemicals.
    pub substances: Vec<String>,
    pub equipment: Vec<DemoEquipment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoEquipment {
    pub id: String,
    pub name: String,
    pub kind: EquipmentKind,
    /// Free text as stored, e.g. `1000 m³`.
    pub capacity: String,
}

/// A toxic gas as detectors are set up for it: name on the detector, range and alarm points
/// in ppm. Customary settings near the occupational exposure limits of GBZ 2.1 (mg/m³
/// converted to ppm at 20 ℃), not quoted from any standard; a site's safety assessment sets
/// its own.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ToxicGas {
    label: &'static str,
    range_max: f64,
    h: f64,
    hh: f64,
}

const AMMONIA: ToxicGas = ToxicGas {
    label: "氨",
    range_max: 100.0,
    h: 25.0,
    hh: 50.0,
};
const CHLORINE: ToxicGas = ToxicGas {
    label: "氯气",
    range_max: 10.0,
    h: 0.5,
    hh: 1.0,
};
const SULPHUR_DIOXIDE: ToxicGas = ToxicGas {
    label: "二氧化硫",
    range_max: 20.0,
    h: 2.0,
    hh: 4.0,
};
const ETHYLENE_OXIDE: ToxicGas = ToxicGas {
    label: "环氧乙烷",
    range_max: 20.0,
    h: 1.0,
    hh: 2.0,
};
const BENZENE: ToxicGas = ToxicGas {
    label: "苯",
    range_max: 20.0,
    h: 2.0,
    hh: 4.0,
};

/// Pressure of a liquefied gas stored under its own vapour pressure: range, H, HH in MPa.
/// The alarm points sit below the usual design pressures (LPG 1.77, ammonia 2.16, chlorine
/// 1.6 MPa), customary values rather than cited ones.
#[derive(Debug, Clone, Copy, PartialEq)]
struct StoredPressure {
    range_max: f64,
    h: f64,
    hh: f64,
}

/// What matters about a chemical for the sensors around it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Hazards {
    flammable: bool,
    toxic: Option<ToxicGas>,
    pressure: Option<StoredPressure>,
}

fn hazards(name: &str) -> Hazards {
    let flammable = |toxic, pressure| Hazards {
        flammable: true,
        toxic,
        pressure,
    };
    match name {
        // Ammonia burns only between 15 and 28 % by volume: plants watch it with toxic
        // detectors, which alarm orders of magnitude earlier.
        "液氨" => Hazards {
            flammable: false,
            toxic: Some(AMMONIA),
            pressure: Some(StoredPressure {
                range_max: 2.5,
                h: 1.6,
                hh: 1.8,
            }),
        },
        "液氯" => Hazards {
            flammable: false,
            toxic: Some(CHLORINE),
            pressure: Some(StoredPressure {
                range_max: 1.6,
                h: 1.0,
                hh: 1.2,
            }),
        },
        "二氧化硫" => Hazards {
            flammable: false,
            toxic: Some(SULPHUR_DIOXIDE),
            pressure: None,
        },
        "液化石油气" => flammable(
            None,
            Some(StoredPressure {
                range_max: 2.5,
                h: 1.4,
                hh: 1.6,
            }),
        ),
        "环氧乙烷" => flammable(Some(ETHYLENE_OXIDE), None),
        "苯" => flammable(Some(BENZENE), None),
        // 甲醇, 甲苯, 丙酮, 乙酸乙酯, 汽油, 氢 and anything unknown: flammable.
        _ => flammable(None, None),
    }
}

/// Height of a vertical cylindrical tank of `volume_m3`: small tanks are slender (H ≈ 1.2 D),
/// large ones squat (H ≈ 0.9 D).
fn tank_height_m(volume_m3: f64) -> f64 {
    let k: f64 = if volume_m3 <= 500.0 { 1.2 } else { 0.9 };
    (4.0 * volume_m3 * k * k / std::f64::consts::PI).cbrt()
}

/// The number in a capacity like `1000 m³`, if any.
fn capacity_m3(capacity: &str) -> Option<f64> {
    let digits: String = capacity
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v > 0.0)
}

fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A sensor before its code: the tag letters, and where it sits.
struct Draft {
    tag: &'static str,
    input: SensorInput,
}

// One argument per column of an instrument datasheet row: a struct would only rename them.
#[allow(clippy::too_many_arguments)]
fn draft(
    tag: &'static str,
    enterprise_id: &str,
    unit: &DemoUnit,
    equipment: Option<&DemoEquipment>,
    name: String,
    kind: SensorKind,
    uom: &str,
    range: (f64, f64),
    thresholds: [Option<f64>; 4],
    deadband: f64,
    delays: (f64, f64),
    offline_timeout_s: f64,
) -> Draft {
    let [ll, l, h, hh] = thresholds;
    Draft {
        tag,
        input: SensorInput {
            enterprise_id: enterprise_id.to_string(),
            unit_id: Some(unit.id.clone()),
            equipment_id: equipment.map(|e| e.id.clone()),
            code: String::new(),
            name,
            kind,
            unit_of_measure: uom.to_string(),
            range_min: range.0,
            range_max: range.1,
            ll,
            l,
            h,
            hh,
            deadband,
            on_delay_s: delays.0,
            off_delay_s: delays.1,
            offline_timeout_s,
        },
    }
}

/// Process instruments: the offline timeout is the 5-minute default of the alarm rules.
const PROCESS_OFFLINE_S: f64 = 300.0;
/// Gas detectors protect people: a silent one should show up sooner.
const GAS_OFFLINE_S: f64 = 120.0;

/// A gas detector near `equipment` (or in the unit's `area`), flammable or for a toxic gas.
fn gas_detector(
    enterprise_id: &str,
    unit: &DemoUnit,
    equipment: Option<&DemoEquipment>,
    area: &str,
    toxic: Option<ToxicGas>,
    n: usize,
) -> Draft {
    let place = match equipment {
        Some(e) => format!("{}{}", unit.name, e.name),
        None => format!("{}{area}", unit.name),
    };
    match toxic {
        // %LEL alarm points H 25 / HH 50: the customary first and second alarm settings of
        // flammable gas detectors, not a cited requirement.
        None => draft(
            "GT",
            enterprise_id,
            unit,
            equipment,
            format!("{place}可燃气体{n}#"),
            SensorKind::GasLel,
            "%LEL",
            (0.0, 100.0),
            [None, None, Some(25.0), Some(50.0)],
            2.0,
            (3.0, 10.0),
            GAS_OFFLINE_S,
        ),
        Some(g) => draft(
            "GT",
            enterprise_id,
            unit,
            equipment,
            format!("{place}{}{n}#", g.label),
            SensorKind::GasToxic,
            "ppm",
            (0.0, g.range_max),
            [None, None, Some(g.h), Some(g.hh)],
            r2(g.h * 0.1).max(0.01),
            (3.0, 10.0),
            GAS_OFFLINE_S,
        ),
    }
}

/// The gas kinds to watch around a set of chemicals: `None` is flammable, `Some` a toxic gas.
fn gases(chemicals: &[&str]) -> Vec<Option<ToxicGas>> {
    let mut out = Vec::new();
    for c in chemicals {
        let hz = hazards(c);
        if hz.flammable && !out.contains(&None) {
            out.push(None);
        }
        if let Some(t) = hz.toxic
            && !out.contains(&Some(t))
        {
            out.push(Some(t));
        }
    }
    out
}

fn process_instruments(
    rng: &mut ChaCha8Rng,
    enterprise_id: &str,
    unit: &DemoUnit,
) -> Vec<(Draft, Vec<Option<ToxicGas>>, Option<usize>)> {
    let mut out = Vec::new();
    let all: Vec<&str> = unit.substances.iter().map(String::as_str).collect();
    for (i, eq) in unit.equipment.iter().enumerate() {
        let here = format!("{}{}", unit.name, eq.name);
        match eq.kind {
            EquipmentKind::Tank => {
                // Tanks of a unit hold its chemicals in turn.
                let chemical = if all.is_empty() {
                    ""
                } else {
                    all[i % all.len()]
                };
                let hz = hazards(chemical);
                let height =
                    (tank_height_m(capacity_m3(&eq.capacity).unwrap_or(500.0)) * 2.0).ceil() / 2.0;
                // LL guards the pump, L warns before it, H and HH guard against overfilling.
                // Most tanks carry all four; some only L, H and HH.
                let ll = rng.gen_bool(0.7).then(|| r2(height * 0.08));
                out.push((
                    draft(
                        "LT",
                        enterprise_id,
                        unit,
                        Some(eq),
                        format!("{here}液位"),
                        SensorKind::Level,
                        "m",
                        (0.0, height),
                        [
                            ll,
                            Some(r2(height * 0.15)),
                            Some(r2(height * 0.85)),
                            Some(r2(height * 0.92)),
                        ],
                        r2(height * 0.005).max(0.01),
                        (5.0, 10.0),
                        PROCESS_OFFLINE_S,
                    ),
                    Vec::new(),
                    None,
                ));
                // 40 ℃ starts the spray cooling of a tank in the sun, 50 ℃ is an emergency:
                // customary settings.
                let t_min = if hz.pressure.is_some() { -40.0 } else { -20.0 };
                out.push((
                    draft(
                        "TT",
                        enterprise_id,
                        unit,
                        Some(eq),
                        format!("{here}温度"),
                        SensorKind::Temperature,
                        "℃",
                        (t_min, 60.0),
                        [None, None, Some(40.0), Some(50.0)],
                        1.0,
                        (10.0, 30.0),
                        PROCESS_OFFLINE_S,
                    ),
                    Vec::new(),
                    None,
                ));
                if let Some(p) = hz.pressure {
                    out.push((
                        draft(
                            "PT",
                            enterprise_id,
                            unit,
                            Some(eq),
                            format!("{here}压力"),
                            SensorKind::Pressure,
                            "MPa",
                            (0.0, p.range_max),
                            [None, None, Some(p.h), Some(p.hh)],
                            0.02,
                            (5.0, 10.0),
                            PROCESS_OFFLINE_S,
                        ),
                        Vec::new(),
                        None,
                    ));
                }
                out.push((Draft::marker(), gases(&[chemical]), Some(i)));
            }
            EquipmentKind::Reactor => {
                // Operating point of the reaction; L warns of a stalling reaction (unreacted
                // feed accumulating), H and HH of a runaway.
                let op: f64 = [60.0, 80.0, 95.0, 120.0, 150.0][rng.gen_range(0..5)];
                let temperature = |name: String| {
                    draft(
                        "TT",
                        enterprise_id,
                        unit,
                        Some(eq),
                        name,
                        SensorKind::Temperature,
                        "℃",
                        (0.0, 250.0),
                        [None, Some(op - 25.0), Some(op + 15.0), Some(op + 25.0)],
                        1.0,
                        (5.0, 10.0),
                        PROCESS_OFFLINE_S,
                    )
                };
                out.push((temperature(format!("{here}釜内温度")), Vec::new(), None));
                if capacity_m3(&eq.capacity).is_some_and(|v| v >= 20.0) {
                    out.push((temperature(format!("{here}夹套温度")), Vec::new(), None));
                }
                let p_op: f64 = [0.2, 0.3, 0.5, 0.8][rng.gen_range(0..4)];
                let p_max = match p_op {
                    p if p <= 0.3 => 1.0,
                    p if p <= 0.5 => 1.6,
                    _ => 2.5,
                };
                out.push((
                    draft(
                        "PT",
                        enterprise_id,
                        unit,
                        Some(eq),
                        format!("{here}压力"),
                        SensorKind::Pressure,
                        "MPa",
                        (0.0, p_max),
                        [None, None, Some(r2(p_op * 1.3)), Some(r2(p_op * 1.5))],
                        0.01,
                        (3.0, 10.0),
                        PROCESS_OFFLINE_S,
                    ),
                    Vec::new(),
                    None,
                ));
                out.push((Draft::marker(), gases(&all), Some(i)));
            }
            EquipmentKind::Warehouse => {
                // Warehouses of flammable goods are kept below about 30 ℃: customary.
                out.push((
                    draft(
                        "TT",
                        enterprise_id,
                        unit,
                        Some(eq),
                        format!("{here}温度"),
                        SensorKind::Temperature,
                        "℃",
                        (-20.0, 60.0),
                        [None, None, Some(30.0), Some(35.0)],
                        0.5,
                        (60.0, 60.0),
                        PROCESS_OFFLINE_S,
                    ),
                    Vec::new(),
                    None,
                ));
                let mut g = gases(&all);
                // A warehouse is watched for toxic gas first: packaged goods leak slowly.
                g.sort_by_key(|g| g.is_none());
                out.push((Draft::marker(), g, Some(i)));
            }
            EquipmentKind::Pipeline | EquipmentKind::Other => {
                out.push((Draft::marker(), gases(&all), Some(i)));
            }
        }
    }
    out
}

impl Draft {
    /// Not a sensor: marks where gas detectors go, in [`process_instruments`]'s output.
    fn marker() -> Draft {
        Draft {
            tag: "",
            input: SensorInput {
                enterprise_id: String::new(),
                unit_id: None,
                equipment_id: None,
                code: String::new(),
                name: String::new(),
                kind: SensorKind::Other,
                unit_of_measure: String::new(),
                range_min: 0.0,
                range_max: 1.0,
                ll: None,
                l: None,
                h: None,
                hh: None,
                deadband: 0.0,
                on_delay_s: 0.0,
                off_delay_s: 0.0,
                offline_timeout_s: PROCESS_OFFLINE_S,
            },
        }
    }
}

/// A gas detector not yet chosen: in which unit, in which order, and how essential.
struct Candidate {
    unit: usize,
    order: usize,
    /// 0: one per gas at each piece of equipment; 1: a second one there; 2: pump and loading
    /// areas; 3: the unit's boundary, only to reach [`MIN_SENSORS`].
    tier: u8,
    draft: Draft,
}

/// The sensors of one enterprise, from its units in order (their ids go into the sensors).
/// Between [`MIN_SENSORS`] and [`MAX_SENSORS`] when it has any equipment.
pub fn demo_sensors(
    seed: u64,
    enterprise_id: &str,
    credit_code: &str,
    units: &[DemoUnit],
) -> Vec<SensorInput> {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed ^ crate::monitor::simulate::fnv(credit_code) ^ 0x5e45);
    let mut process: Vec<(usize, Draft)> = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    for (u, unit) in units.iter().enumerate() {
        let mut order = 0;
        let mut next = || {
            order += 1;
            order
        };
        for (d, gas_kinds, eq) in process_instruments(&mut rng, enterprise_id, unit) {
            let Some(eq) = eq else {
                process.push((u, d));
                continue;
            };
            let equipment = &unit.equipment[eq];
            let extra = rng.gen_range(0..=1);
            for g in gas_kinds {
                for n in 1..=1 + extra {
                    candidates.push(Candidate {
                        unit: u,
                        order: next(),
                        tier: if n == 1 { 0 } else { 1 },
                        draft: gas_detector(enterprise_id, unit, Some(equipment), "", g, n),
                    });
                }
            }
        }
        let all: Vec<&str> = unit.substances.iter().map(String::as_str).collect();
        let areas: &[&str] = match unit.kind {
            HazardUnitKind::Storage => &["泵区", "装卸区"],
            HazardUnitKind::Production => &["泵区", "进料区"],
        };
        for area in areas {
            let n_area = rng.gen_range(1..=3);
            for g in gases(&all) {
                for n in 1..=n_area {
                    candidates.push(Candidate {
                        unit: u,
                        order: next(),
                        tier: 2,
                        draft: gas_detector(enterprise_id, unit, None, area, g, n),
                    });
                }
            }
        }
        let boundary = match unit.kind {
            HazardUnitKind::Storage => "围堰",
            HazardUnitKind::Production => "装置边界",
        };
        for g in gases(&all) {
            for n in 1..=MIN_SENSORS {
                candidates.push(Candidate {
                    unit: u,
                    order: next(),
                    tier: 3,
                    draft: gas_detector(enterprise_id, unit, None, boundary, g, n),
                });
            }
        }
    }
    // Essential detectors first, then as many of the rest as the budget allows; the
    // boundary ones only up to the minimum, spread over the units in turn.
    let mut budget = MAX_SENSORS.saturating_sub(process.len());
    let mut chosen: Vec<Candidate> = Vec::new();
    for tier in 0..3 {
        let (take, rest): (Vec<Candidate>, Vec<Candidate>) =
            candidates.into_iter().partition(|c| c.tier == tier);
        candidates = rest;
        for c in take {
            if budget > 0 {
                budget -= 1;
                chosen.push(c);
            }
        }
    }
    let mut per_unit_boundary = vec![0usize; units.len()];
    let mut boundary: Vec<Candidate> = candidates;
    while process.len() + chosen.len() < MIN_SENSORS && !boundary.is_empty() {
        // The unit with the fewest boundary detectors so far gets the next one.
        let Some(pos) =
            (0..boundary.len()).min_by_key(|&i| (per_unit_boundary[boundary[i].unit], i))
        else {
            break;
        };
        let c = boundary.remove(pos);
        per_unit_boundary[c.unit] += 1;
        chosen.push(c);
    }
    chosen.sort_by_key(|c| (c.unit, c.order));

    let mut out = Vec::with_capacity(process.len() + chosen.len());
    for (u, _) in units.iter().enumerate() {
        let block = 100 * (2 * u + 1);
        for (k, (_, d)) in process.iter().filter(|(pu, _)| *pu == u).enumerate() {
            let mut s = d.input.clone();
            s.code = format!("{}-{}", d.tag, block + k + 1);
            out.push(s);
        }
        for (k, c) in chosen.iter().filter(|c| c.unit == u).enumerate() {
            let mut s = c.draft.input.clone();
            s.code = format!("{}-{}", c.draft.tag, block + 100 + k + 1);
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::simulate::{SimConfig, SimSensor, Simulator};
    use std::collections::{BTreeMap, HashSet};

    /// The demo's hazard units as the store would give them back, with made-up ids.
    fn demo_units() -> BTreeMap<String, Vec<DemoUnit>> {
        let units = crate::demo::generator::demo_admin_units().expect("units");
        let registry = crate::demo::generator::demo_registry(crate::demo::DEMO_SEED, &units);
        let hazard =
            crate::demo::hazard::demo_hazard_units(crate::demo::DEMO_SEED, &registry.enterprises);
        let mut out: BTreeMap<String, Vec<DemoUnit>> = BTreeMap::new();
        for (n, (code, u)) in hazard.iter().enumerate() {
            out.entry(code.clone()).or_default().push(DemoUnit {
                id: format!("u{n}"),
                name: u.name.clone(),
                kind: u.kind,
                substances: u.substances.iter().filter_map(|s| s.name.clone()).collect(),
                equipment: u
                    .equipment
                    .iter()
                    .enumerate()
                    .map(|(k, e)| DemoEquipment {
                        id: format!("u{n}e{k}"),
                        name: e.name.clone(),
                        kind: e.kind,
                        capacity: e.capacity.clone(),
                    })
                    .collect(),
            });
        }
        for v in out.values_mut() {
            v.sort_by(|a, b| a.name.cmp(&b.name));
        }
        out
    }

    fn all_sensors() -> Vec<(String, Vec<SensorInput>)> {
        demo_units()
            .iter()
            .map(|(code, units)| {
                (
                    code.clone(),
                    demo_sensors(crate::demo::DEMO_SEED, code, code, units),
                )
            })
            .collect()
    }

    #[test]
    fn every_monitored_enterprise_gets_20_to_60_valid_sensors_with_distinct_codes() {
        let all = all_sensors();
        assert_eq!(all.len(), 145, "the hazardous-chemical enterprises");
        let mut total = 0;
        let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
        for (code, sensors) in &all {
            assert!(
                (MIN_SENSORS..=MAX_SENSORS).contains(&sensors.len()),
                "{code}: {} sensors",
                sensors.len()
            );
            let codes: HashSet<&str> = sensors.iter().map(|s| s.code.as_str()).collect();
            assert_eq!(codes.len(), sensors.len(), "{code}: codes are distinct");
            for s in sensors {
                s.alarm_config()
                    .unwrap_or_else(|e| panic!("{code} {}: {e:?}", s.code));
                let ok = s.code.len() == 6
                    && ["LT-", "TT-", "PT-", "GT-"]
                        .iter()
                        .any(|p| s.code.starts_with(p));
                assert!(ok, "{}", s.code);
                assert!(s.unit_id.is_some(), "every sensor belongs to a unit");
                *per_kind.entry(s.kind.key()).or_default() += 1;
            }
            total += sensors.len();
        }
        eprintln!("demo sensors: {total}, by kind {per_kind:?}");
        for kind in ["level", "temperature", "pressure", "gas_lel", "gas_toxic"] {
            assert!(
                per_kind.get(kind).is_some_and(|n| *n > 50),
                "{kind}: {per_kind:?}"
            );
        }
        assert_eq!(all, all_sensors(), "deterministic");
    }

    #[test]
    fn sensors_follow_the_equipment_and_the_chemicals() {
        let units = demo_units();
        for (code, us) in &units {
            let sensors = demo_sensors(crate::demo::DEMO_SEED, code, code, us);
            for u in us {
                for e in &u.equipment {
                    let on: Vec<&SensorInput> = sensors
                        .iter()
                        .filter(|s| s.equipment_id.as_deref() == Some(e.id.as_str()))
                        .collect();
                    let has = |k: SensorKind| on.iter().any(|s| s.kind == k);
                    match e.kind {
                        EquipmentKind::Tank => {
                            assert!(has(SensorKind::Level) && has(SensorKind::Temperature))
                        }
                        EquipmentKind::Reactor => {
                            assert!(has(SensorKind::Temperature) && has(SensorKind::Pressure))
                        }
                        _ => {}
                    }
                    assert!(
                        has(SensorKind::GasLel) || has(SensorKind::GasToxic),
                        "{code} {}: gas detection at every piece of equipment",
                        e.name
                    );
                }
            }
            for s in &sensors {
                if s.kind == SensorKind::GasLel {
                    assert_eq!(
                        (s.h, s.hh, s.unit_of_measure.as_str()),
                        (Some(25.0), Some(50.0), "%LEL")
                    );
                }
                if s.kind == SensorKind::Pressure && s.name.contains("储罐") {
                    let unit = us
                        .iter()
                        .find(|u| Some(&u.id) == s.unit_id.as_ref())
                        .expect("unit");
                    assert!(
                        unit.substances
                            .iter()
                            .any(|c| ["液氨", "液氯", "液化石油气"].contains(&c.as_str())),
                        "only liquefied gases are stored under pressure"
                    );
                }
            }
        }
        // The first unit's instruments start at 101, its gas detectors at 201.
        let (code, us) = units.iter().next().expect("an enterprise");
        let sensors = demo_sensors(crate::demo::DEMO_SEED, code, code, us);
        assert!(sensors.iter().any(|s| s.code.ends_with("-101")));
        assert!(sensors.iter().any(|s| s.code == "GT-201"));
    }

    #[test]
    fn the_simulated_demo_stays_quiet_without_events() {
        // The simulator's normal band must fit inside every demo sensor's thresholds.
        let sensors: Vec<SimSensor> = all_sensors()
            .into_iter()
            .flat_map(|(code, ss)| {
                ss.into_iter().map(move |s| SimSensor {
                    gateway: code.clone(),
                    code: s.code,
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
        let quiet = SimConfig {
            seed: crate::demo::DEMO_SEED,
            excursions_per_hour: 0.0,
            second_level_share: 0.0,
            faults_per_hour: 0.0,
            outages_per_gateway_day: 0.0,
            gas_blips_per_detector_day: 0.0,
        };
        let sim = Simulator::new(sensors, quiet);
        let t0 = 1_796_054_400_000;
        for step in 0..48 {
            let t = t0 + step * 30 * 60_000;
            for (i, s) in sim.sensors().iter().enumerate() {
                let v = sim.value(i, t).expect("no outages");
                let alarm = s.h.is_some_and(|h| v >= h)
                    || s.hh.is_some_and(|h| v >= h)
                    || s.l.is_some_and(|l| v <= l)
                    || s.ll.is_some_and(|l| v <= l);
                assert!(!alarm, "{} {}: {v}", s.gateway, s.code);
            }
        }
    }
}
