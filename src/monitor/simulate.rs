//! Simulated sensor readings for the live demo and `yingji simulate`: pure, no I/O, no clock.
//!
//! A reading is a function of the seed, the sensor (its gateway and code) and the time, and of
//! nothing else: no state is carried from one reading to the next. So the history backfilled
//! at demo start and the live readings after it agree, two simulators with the same seed agree
//! whatever their sampling steps, and a test can ask for any instant directly.
//!
//! What it produces, from nothing but a sensor's kind, measuring range and thresholds:
//!
//! - a **normal band** inside the thresholds (between L/LL and H/HH, or the range ends), which
//!   normal operation never leaves: levels fill and drain between a low and a high mark of it
//!   over cycles of 8–36 hours; temperatures follow a daily cycle (coolest at 03:00, warmest at
//!   15:00 Beijing time) plus multi-day weather; pressures follow the same signal as the
//!   temperatures of their gateway, as the vapour pressure of a stored liquefied gas does;
//!   gas detectors read near zero with small, rare blips;
//! - **threshold excursions**, at a configured rate across all simulated sensors: the value
//!   ramps past its first threshold (H, or L for a sensor with only low thresholds), holds,
//!   and comes back; a configured share goes on past the second (HH or LL);
//! - **sensor faults**: a few minutes of a value outside the measuring range (a broken loop
//!   reads under range, a saturated one over range);
//! - **gateway outages**: a whole gateway (an enterprise) sends nothing for 2–14 minutes.
//!
//! Randomness comes from hashing (seed, sensor, hour window): each hour window of each sensor
//! decides on its own whether it holds an excursion, a fault or a blip, and each gateway's
//! window whether it holds an outage. Every event lies inside its window, so evaluating one
//! instant needs only that instant's window.

use super::sensors::SensorKind;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Beijing time (UTC+8, no daylight saving) for the daily temperature cycle.
const LOCAL_OFFSET_MS: i64 = 8 * HOUR_MS;

/// A sensor as the simulator needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSensor {
    /// The gateway (in Yingji: the enterprise) that reports the sensor. An outage silences
    /// every sensor of a gateway at once.
    pub gateway: String,
    /// The sensor's code within its gateway, as sent in readings.
    pub code: String,
    pub kind: SensorKind,
    pub range_min: f64,
    pub range_max: f64,
    pub ll: Option<f64>,
    pub l: Option<f64>,
    pub h: Option<f64>,
    pub hh: Option<f64>,
}

/// Rates of the simulated events. Rates of sensor events are over all simulated sensors
/// together, so the district demo and a one-enterprise simulator can both be set to "an H
/// every few hours" without knowing how many sensors there are.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    /// Threshold excursions per hour, over all sensors that have a threshold.
    pub excursions_per_hour: f64,
    /// Share of excursions that go on past the second threshold (HH or LL).
    pub second_level_share: f64,
    /// Sensor faults (out-of-range values) per hour, over all sensors.
    pub faults_per_hour: f64,
    /// Outages per gateway and day.
    pub outages_per_gateway_day: f64,
    /// Sub-threshold blips per gas detector and day (a whiff during loading or sampling).
    pub gas_blips_per_detector_day: f64,
}

impl Default for SimConfig {
    /// The district demo: an H about every 2.5 hours across the district, an HH about once a
    /// day, a sensor fault every 4 hours, each enterprise's gateway down about every other day.
    fn default() -> Self {
        SimConfig {
            seed: 0,
            excursions_per_hour: 0.4,
            second_level_share: 0.1,
            faults_per_hour: 0.25,
            outages_per_gateway_day: 0.5,
            gas_blips_per_detector_day: 0.15,
        }
    }
}

/// What a sensor is doing at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Inside its normal band.
    Normal,
    /// A gas detector's small blip, below the first threshold.
    Blip,
    /// Past the first threshold; `second` when the excursion goes past the second one too.
    /// The ramps in and out of an excursion count as part of it.
    Excursion { second: bool },
    /// Sending a value outside its measuring range.
    Fault,
    /// Its gateway is down: no reading.
    Offline,
}

/// Which side an excursion leaves on, with the thresholds it is aimed at.
#[derive(Debug, Clone, Copy)]
struct Excursion {
    high: bool,
    first: f64,
    second: Option<f64>,
}

#[derive(Debug, Clone)]
struct Model {
    gateway: usize,
    key: u64,
    kind: SensorKind,
    min: f64,
    max: f64,
    /// The normal band: baseline values stay inside it, noise included.
    lo: f64,
    hi: f64,
    noise: f64,
    decimals: i32,
    excursion: Option<Excursion>,
    /// Where in the band the sensor sits on average (temperature, pressure, flow).
    centre: f64,
    /// Fill-and-drain cycle of a level, ms, and its phase.
    period_ms: f64,
    phase: f64,
}

/// The simulated sensors of one or more gateways.
#[derive(Debug, Clone)]
pub struct Simulator {
    cfg: SimConfig,
    sensors: Vec<SimSensor>,
    models: Vec<Model>,
    gateways: Vec<String>,
    by_gateway: Vec<Vec<usize>>,
    gateway_lag_ms: Vec<f64>,
    /// Probabilities per sensor (or gateway) and hour window.
    p_excursion: f64,
    p_fault: f64,
    p_outage: f64,
    p_blip: f64,
    weather_period_ms: f64,
    weather_phase: f64,
}

impl Simulator {
    /// Builds the models of the sensors. A sensor whose range is empty or not finite gets a
    /// model that sends its range minimum: the simulator never fails on odd input.
    pub fn new(sensors: Vec<SimSensor>, cfg: SimConfig) -> Simulator {
        let mut gateways: Vec<String> = Vec::new();
        let mut by_gateway: Vec<Vec<usize>> = Vec::new();
        let mut models = Vec::with_capacity(sensors.len());
        for (i, s) in sensors.iter().enumerate() {
            let g = match gateways.iter().position(|g| *g == s.gateway) {
                Some(g) => g,
                None => {
                    gateways.push(s.gateway.clone());
                    by_gateway.push(Vec::new());
                    gateways.len() - 1
                }
            };
            by_gateway[g].push(i);
            models.push(model(&cfg, g, s));
        }
        let gateway_lag_ms = gateways
            .iter()
            .map(|g| unit(mix(&[cfg.seed, fnv(g), 0x1a6])) * 1.5 * HOUR_MS as f64)
            .collect();
        let with_threshold = models.iter().filter(|m| m.excursion.is_some()).count();
        let per_window = |rate: f64, n: usize| {
            if n == 0 || !rate.is_finite() || rate <= 0.0 {
                0.0
            } else {
                (rate / n as f64).min(1.0)
            }
        };
        Simulator {
            p_excursion: per_window(cfg.excursions_per_hour, with_threshold),
            p_fault: per_window(cfg.faults_per_hour, models.len()),
            p_outage: per_window(cfg.outages_per_gateway_day, 24),
            p_blip: per_window(cfg.gas_blips_per_detector_day, 24),
            weather_period_ms: (3.0 + 3.0 * unit(mix(&[cfg.seed, 0x3ea7]))) * DAY_MS as f64,
            weather_phase: unit(mix(&[cfg.seed, 0x3ea8])),
            gateway_lag_ms,
            cfg,
            sensors,
            models,
            gateways,
            by_gateway,
        }
    }

    pub fn sensors(&self) -> &[SimSensor] {
        &self.sensors
    }

    pub fn gateways(&self) -> &[String] {
        &self.gateways
    }

    /// Indexes (into [`Simulator::sensors`]) of the sensors of gateway `g`.
    pub fn sensors_of(&self, g: usize) -> &[usize] {
        self.by_gateway.get(g).map_or(&[], Vec::as_slice)
    }

    /// Whether gateway `g` sends at `t_ms`.
    pub fn gateway_online(&self, g: usize, t_ms: i64) -> bool {
        let Some(name) = self.gateways.get(g) else {
            return false;
        };
        let w = t_ms.div_euclid(HOUR_MS);
        let h = mix(&[self.cfg.seed, fnv(name), w as u64, 0x0ff]);
        if unit(h) >= self.p_outage {
            return true;
        }
        let dur = MINUTE_MS * (2 + (mix(&[h, 1]) % 13) as i64);
        let start = w * HOUR_MS + (unit(mix(&[h, 2])) * (HOUR_MS - dur) as f64) as i64;
        !(start..start + dur).contains(&t_ms)
    }

    /// What sensor `i` is doing at `t_ms`.
    pub fn condition(&self, i: usize, t_ms: i64) -> Condition {
        match self.models.get(i) {
            None => Condition::Offline,
            Some(m) => self.event(m, t_ms).0,
        }
    }

    /// The reading of sensor `i` at `t_ms`, or `None` while its gateway is down.
    pub fn value(&self, i: usize, t_ms: i64) -> Option<f64> {
        let m = self.models.get(i)?;
        let (condition, target) = self.event(m, t_ms);
        let base = self.baseline(m, t_ms);
        let v = match (condition, target) {
            (Condition::Offline, _) => return None,
            (Condition::Fault, Some((v, _))) => return Some(round(v, m.decimals)),
            (Condition::Excursion { .. } | Condition::Blip, Some((peak, e))) => {
                base + e * (peak - base)
            }
            _ => base,
        };
        Some(round(v, m.decimals).clamp(m.min, m.max))
    }

    /// The reading of sensor `i` at `t_ms` were there no events: its normal band's value.
    pub fn baseline_value(&self, i: usize, t_ms: i64) -> Option<f64> {
        let m = self.models.get(i)?;
        Some(round(self.baseline(m, t_ms), m.decimals).clamp(m.min, m.max))
    }

    /// The readings of every sensor of gateway `g` at `t_ms` (none while it is down).
    pub fn gateway_readings(&self, g: usize, t_ms: i64) -> Vec<(usize, f64)> {
        if !self.gateway_online(g, t_ms) {
            return Vec::new();
        }
        self.sensors_of(g)
            .iter()
            .filter_map(|&i| self.value(i, t_ms).map(|v| (i, v)))
            .collect()
    }

    /// The gateway's shared temperature signal in [-1, 1]: a daily cycle (with a per-gateway
    /// lag, sites differ in shade and thermal mass), the district's weather and the season.
    fn thermal(&self, gateway: usize, t_ms: i64) -> f64 {
        let lag = self.gateway_lag_ms.get(gateway).copied().unwrap_or(0.0);
        let local_ms = t_ms + LOCAL_OFFSET_MS;
        let local_h = (local_ms.rem_euclid(DAY_MS) as f64 - lag) / HOUR_MS as f64;
        // Coolest at 03:00, warmest at 15:00.
        let daily = (std::f64::consts::TAU * (local_h - 9.0) / 24.0).sin();
        let weather = (std::f64::consts::TAU
            * (t_ms as f64 / self.weather_period_ms + self.weather_phase))
            .sin();
        // Coldest in mid-January, warmest in mid-July: a December demo has cold tanks.
        let day_of_year = (local_ms as f64 / DAY_MS as f64).rem_euclid(365.2425);
        let season = -(std::f64::consts::TAU * (day_of_year - 15.0) / 365.2425).cos();
        0.35 * daily + 0.15 * weather + 0.5 * season
    }

    fn baseline(&self, m: &Model, t_ms: i64) -> f64 {
        let width = m.hi - m.lo;
        let f = match m.kind {
            SensorKind::Level => level_shape(m, t_ms),
            SensorKind::Temperature | SensorKind::Pressure => {
                m.centre + 0.3 * self.thermal(m.gateway, t_ms)
            }
            SensorKind::GasLel | SensorKind::GasToxic => {
                let slow = (std::f64::consts::TAU
                    * (t_ms as f64 / (7.0 * HOUR_MS as f64) + unit(m.key)))
                .sin();
                0.3 + 0.15 * slow
            }
            SensorKind::Flow | SensorKind::Other => {
                let slow = (std::f64::consts::TAU
                    * (t_ms as f64 / (5.0 * HOUR_MS as f64) + unit(m.key)))
                .sin();
                m.centre + 0.2 * slow + 0.05 * self.thermal(m.gateway, t_ms)
            }
        };
        m.lo + width * f.clamp(0.0, 1.0) + m.noise * noise(self.cfg.seed, m.key, t_ms)
    }

    /// The event of the sensor's hour window that covers `t_ms`, if any: its condition and
    /// its target value with the envelope (0–1) at `t_ms`.
    fn event(&self, m: &Model, t_ms: i64) -> (Condition, Option<(f64, f64)>) {
        if !self.gateway_online(m.gateway, t_ms) {
            return (Condition::Offline, None);
        }
        let w = t_ms.div_euclid(HOUR_MS) as u64;
        let seed = self.cfg.seed;
        let span = m.max - m.min;

        let h = mix(&[seed, m.key, w, 0xfa17]);
        if unit(h) < self.p_fault {
            let (start, dur) = place(h, w, 1, 4);
            if (start..start + dur).contains(&t_ms) {
                let off = (0.02 + 0.1 * unit(mix(&[h, 3]))) * span;
                let v = if mix(&[h, 4]).is_multiple_of(2) {
                    m.max + off
                } else {
                    m.min - off
                };
                return (Condition::Fault, Some((v, 1.0)));
            }
        }

        if let Some(x) = m.excursion {
            let h = mix(&[seed, m.key, w, 0xe8c]);
            if unit(h) < self.p_excursion {
                // A level overfills over most of an hour; temperatures and gas move faster.
                let (lo_min, hi_min) = if m.kind == SensorKind::Level {
                    (20, 55)
                } else {
                    (6, 25)
                };
                let (start, dur) = place(h, w, lo_min, hi_min);
                if (start..start + dur).contains(&t_ms) {
                    let second =
                        x.second.is_some() && unit(mix(&[h, 5])) < self.cfg.second_level_share;
                    let u = unit(mix(&[h, 6]));
                    let end = if x.high { m.max } else { m.min };
                    let peak = match (second, x.second) {
                        (true, Some(s)) => s + (0.2 + 0.4 * u) * (end - s),
                        (false, Some(s)) => x.first + (0.25 + 0.5 * u) * (s - x.first),
                        _ => x.first + (0.2 + 0.4 * u) * (end - x.first),
                    };
                    let e = envelope((t_ms - start) as f64 / dur as f64);
                    return (Condition::Excursion { second }, Some((peak, e)));
                }
            }
        }

        if matches!(m.kind, SensorKind::GasLel | SensorKind::GasToxic)
            && let Some(x) = m.excursion
        {
            let h = mix(&[seed, m.key, w, 0xb11]);
            if unit(h) < self.p_blip {
                let (start, dur) = place(h, w, 1, 5);
                if (start..start + dur).contains(&t_ms) {
                    let peak = m.min + (0.15 + 0.45 * unit(mix(&[h, 7]))) * (x.first - m.min);
                    let e = envelope((t_ms - start) as f64 / dur as f64);
                    return (Condition::Blip, Some((peak, e)));
                }
            }
        }
        (Condition::Normal, None)
    }
}

/// A sensor's model: its normal band inside the thresholds and its own shape parameters.
fn model(cfg: &SimConfig, gateway: usize, s: &SimSensor) -> Model {
    let key = mix(&[cfg.seed, fnv(&s.gateway), fnv(&s.code).rotate_left(17)]);
    let ok = s.range_min.is_finite() && s.range_max.is_finite() && s.range_min < s.range_max;
    let (min, max) = if ok {
        (s.range_min, s.range_max)
    } else {
        (s.range_min, s.range_min)
    };
    let inside = |v: Option<f64>| v.filter(|v| v.is_finite() && *v >= min && *v <= max);
    let (ll, l, h, hh) = (inside(s.ll), inside(s.l), inside(s.h), inside(s.hh));
    let upper = h.or(hh).unwrap_or(max);
    let lower = l.or(ll).unwrap_or(min);
    let gap = (upper - lower).max(0.0);
    let gas = matches!(s.kind, SensorKind::GasLel | SensorKind::GasToxic);
    // Margins to the thresholds are several times the noise amplitude, so the baseline never
    // reaches a threshold: every alarm the simulator causes is an event it meant.
    let (lo, hi) = if gas {
        (lower, lower + 0.12 * gap)
    } else {
        (lower + 0.06 * gap, upper - 0.08 * gap)
    };
    let excursion = if h.is_some() || hh.is_some() {
        Some(Excursion {
            high: true,
            first: upper,
            second: if h.is_some() { hh } else { None },
        })
    } else if l.is_some() || ll.is_some() {
        Some(Excursion {
            high: false,
            first: lower,
            second: if l.is_some() { ll } else { None },
        })
    } else {
        None
    };
    let span = max - min;
    let decimals = if span > 0.0 {
        (3 - span.log10().floor() as i32).clamp(0, 6)
    } else {
        3
    };
    Model {
        gateway,
        key,
        kind: s.kind,
        min,
        max,
        lo,
        hi: hi.max(lo),
        noise: gap
            * match s.kind {
                // Radar gauges read to millimetres; a liquid surface barely ripples.
                SensorKind::Level => 0.002,
                // A tank's thermometer reads to about 0.2 ℃ from one reading to the next.
                SensorKind::Temperature | SensorKind::Pressure => 0.004,
                SensorKind::GasLel | SensorKind::GasToxic => 0.015,
                SensorKind::Flow | SensorKind::Other => 0.02,
            },
        decimals,
        excursion,
        centre: 0.4 + 0.2 * unit(mix(&[key, 0xce])),
        period_ms: (8.0 + 28.0 * unit(mix(&[key, 0x9e]))) * HOUR_MS as f64,
        phase: unit(mix(&[key, 0x9f])),
    }
}

/// A level's place in its band (0–1): each cycle fills from its low mark to its high mark,
/// holds, drains to the next cycle's low mark and holds there. The marks vary by cycle.
fn level_shape(m: &Model, t_ms: i64) -> f64 {
    let x = t_ms as f64 / m.period_ms + m.phase;
    let k = x.floor();
    let u = x - k;
    let mark = |k: f64, salt: u64, lo: f64| lo + 0.3 * unit(mix(&[m.key, k as i64 as u64, salt]));
    let bottom = mark(k, 0xb0, 0.05);
    let top = mark(k, 0x70, 0.65);
    let next_bottom = mark(k + 1.0, 0xb0, 0.05);
    if u < 0.4 {
        bottom + (top - bottom) * u / 0.4
    } else if u < 0.55 {
        top
    } else if u < 0.95 {
        top + (next_bottom - top) * (u - 0.55) / 0.4
    } else {
        next_bottom
    }
}

/// Ramp up over the first quarter, hold, ramp down over the last quarter.
fn envelope(tau: f64) -> f64 {
    (tau / 0.25).min((1.0 - tau) / 0.25).clamp(0.0, 1.0)
}

/// Start and duration of an event of `lo_min`–`hi_min` minutes inside hour window `w`.
fn place(h: u64, w: u64, lo_min: u64, hi_min: u64) -> (i64, i64) {
    let dur = MINUTE_MS * (lo_min + mix(&[h, 8]) % (hi_min - lo_min + 1)) as i64;
    let start = w as i64 * HOUR_MS + (unit(mix(&[h, 9])) * (HOUR_MS - dur) as f64) as i64;
    (start, dur)
}

/// Bounded noise in [-1, 1], fresh each second, bell-shaped (sum of three uniforms).
fn noise(seed: u64, key: u64, t_ms: i64) -> f64 {
    let h = mix(&[seed, key, t_ms.div_euclid(1000) as u64, 0x0153]);
    let a = (h & 0x1f_ffff) as f64;
    let b = ((h >> 21) & 0x1f_ffff) as f64;
    let c = ((h >> 42) & 0x1f_ffff) as f64;
    ((a + b + c) / (3.0 * 0x1f_ffff as f64)) * 2.0 - 1.0
}

fn round(v: f64, decimals: i32) -> f64 {
    // Dividing by an exact power of ten gives the double nearest to the decimal, so the JSON
    // shows 12.34, not 12.340000000000002.
    let p = 10f64.powi(decimals);
    (v * p).round() / p
}

/// SplitMix64 over the parts: a stable hash (std's hasher may change between releases).
fn mix(parts: &[u64]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    for p in parts {
        h ^= *p;
        h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
    }
    h
}

/// FNV-1a of a string: stable across runs and platforms.
pub fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A uniform number in [0, 1) from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-01 00:00 Beijing time.
    const T0: i64 = 1_796_054_400_000;

    fn sensor(gateway: usize, code: &str, kind: SensorKind) -> SimSensor {
        let (min, max, ll, l, h, hh) = match kind {
            SensorKind::Level => (0.0, 12.0, Some(0.6), Some(1.2), Some(10.2), Some(11.0)),
            SensorKind::Temperature => (-20.0, 80.0, None, None, Some(40.0), Some(50.0)),
            SensorKind::Pressure => (0.0, 2.5, None, None, Some(1.4), Some(1.6)),
            SensorKind::GasLel => (0.0, 100.0, None, None, Some(25.0), Some(50.0)),
            SensorKind::GasToxic => (0.0, 10.0, None, None, Some(0.5), Some(1.0)),
            SensorKind::Flow | SensorKind::Other => (0.0, 50.0, None, Some(5.0), None, None),
        };
        SimSensor {
            gateway: format!("gw{gateway}"),
            code: code.into(),
            kind,
            range_min: min,
            range_max: max,
            ll,
            l,
            h,
            hh,
        }
    }

    /// `gateways` gateways with one sensor of each kind and a few more gas detectors.
    fn district(gateways: usize) -> Vec<SimSensor> {
        let mut v = Vec::new();
        for g in 0..gateways {
            v.push(sensor(g, "LT-101", SensorKind::Level));
            v.push(sensor(g, "TT-102", SensorKind::Temperature));
            v.push(sensor(g, "PT-103", SensorKind::Pressure));
            v.push(sensor(g, "FT-104", SensorKind::Flow));
            for k in 0..3 {
                v.push(sensor(g, &format!("GT-20{k}"), SensorKind::GasLel));
            }
            v.push(sensor(g, "GT-210", SensorKind::GasToxic));
        }
        v
    }

    fn quiet(seed: u64) -> SimConfig {
        SimConfig {
            seed,
            excursions_per_hour: 0.0,
            second_level_share: 0.0,
            faults_per_hour: 0.0,
            outages_per_gateway_day: 0.0,
            gas_blips_per_detector_day: 0.0,
        }
    }

    fn crosses(s: &SimSensor, v: f64) -> bool {
        s.h.is_some_and(|h| v >= h)
            || s.hh.is_some_and(|h| v >= h)
            || s.l.is_some_and(|l| v <= l)
            || s.ll.is_some_and(|l| v <= l)
    }

    #[test]
    fn the_same_seed_and_time_give_the_same_reading_and_another_seed_does_not() {
        let a = Simulator::new(
            district(5),
            SimConfig {
                seed: 7,
                ..Default::default()
            },
        );
        let b = Simulator::new(
            district(5),
            SimConfig {
                seed: 7,
                ..Default::default()
            },
        );
        let c = Simulator::new(
            district(5),
            SimConfig {
                seed: 8,
                ..Default::default()
            },
        );
        let mut differ = 0;
        for step in 0..500 {
            let t = T0 + step * 37_000;
            for i in 0..a.sensors().len() {
                assert_eq!(a.value(i, t), b.value(i, t));
                if a.value(i, t) != c.value(i, t) {
                    differ += 1;
                }
            }
        }
        assert!(differ > 1000, "another seed, other readings: {differ}");
    }

    #[test]
    fn without_events_no_value_ever_reaches_a_threshold() {
        let sim = Simulator::new(district(40), quiet(3));
        for step in 0..(7 * 24 * 12) {
            let t = T0 + step * 5 * MINUTE_MS;
            for (i, s) in sim.sensors().iter().enumerate() {
                let v = sim.value(i, t).expect("no outages");
                assert_eq!(sim.condition(i, t), Condition::Normal);
                assert!(!crosses(s, v), "{} at {t}: {v} reaches a threshold", s.code);
            }
        }
    }

    #[test]
    fn values_stay_in_range_except_injected_faults_which_leave_it() {
        let cfg = SimConfig {
            seed: 11,
            faults_per_hour: 5.0,
            excursions_per_hour: 5.0,
            second_level_share: 0.5,
            ..Default::default()
        };
        let sim = Simulator::new(district(30), cfg);
        let (mut faults, mut second) = (0, 0);
        for step in 0..(24 * 60) {
            let t = T0 + step * MINUTE_MS;
            for (i, s) in sim.sensors().iter().enumerate() {
                let Some(v) = sim.value(i, t) else { continue };
                let in_range = v >= s.range_min && v <= s.range_max;
                match sim.condition(i, t) {
                    Condition::Fault => {
                        faults += 1;
                        assert!(!in_range, "a fault leaves the range: {} {v}", s.code);
                    }
                    c => {
                        if c == (Condition::Excursion { second: true }) {
                            second += 1;
                        }
                        assert!(in_range, "{} at {t}: {v} ({c:?})", s.code);
                    }
                }
            }
        }
        assert!(faults > 100, "faults were injected: {faults}");
        assert!(
            second > 10,
            "excursions past HH stay in range too: {second}"
        );
    }

    #[test]
    fn levels_move_slowly_but_do_fill_and_drain() {
        let sim = Simulator::new(district(30), quiet(5));
        for (i, s) in sim.sensors().iter().enumerate() {
            if s.kind != SensorKind::Level {
                continue;
            }
            let span = s.range_max - s.range_min;
            let (mut lo, mut hi) = (f64::MAX, f64::MIN);
            let mut prev = sim.value(i, T0).expect("online");
            for step in 1..(2 * 24 * 60) {
                let v = sim.value(i, T0 + step * MINUTE_MS).expect("online");
                assert!(
                    (v - prev).abs() <= 0.01 * span,
                    "{}: {prev} → {v} in one minute",
                    s.code
                );
                prev = v;
                lo = lo.min(v);
                hi = hi.max(v);
            }
            assert!(
                hi - lo >= 0.15 * span,
                "{} fills and drains: {lo}–{hi}",
                s.code
            );
        }
    }

    #[test]
    fn temperatures_follow_the_day_and_pressures_follow_temperatures() {
        let sim = Simulator::new(district(10), quiet(9));
        let by_code = |g: usize, code: &str| {
            sim.sensors()
                .iter()
                .position(|s| s.gateway == format!("gw{g}") && s.code == code)
                .expect("sensor")
        };
        for g in 0..10 {
            let (tt, pt) = (by_code(g, "TT-102"), by_code(g, "PT-103"));
            let day: Vec<(f64, f64)> = (0..24 * 12)
                .map(|k| {
                    let t = T0 + k * 5 * MINUTE_MS;
                    (
                        sim.value(tt, t).expect("online"),
                        sim.value(pt, t).expect("online"),
                    )
                })
                .collect();
            // Afternoon (13:00–17:00) warmer than night (01:00–05:00).
            let mean = |from: usize, to: usize| {
                day[from * 12..to * 12].iter().map(|p| p.0).sum::<f64>() / ((to - from) * 12) as f64
            };
            assert!(mean(13, 17) > mean(1, 5) + 3.0, "gateway {g}: daily cycle");
            let n = day.len() as f64;
            let (mx, my) = (
                day.iter().map(|p| p.0).sum::<f64>() / n,
                day.iter().map(|p| p.1).sum::<f64>() / n,
            );
            let cov: f64 = day.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
            let vx: f64 = day.iter().map(|p| (p.0 - mx).powi(2)).sum();
            let vy: f64 = day.iter().map(|p| (p.1 - my).powi(2)).sum();
            let r = cov / (vx * vy).sqrt();
            assert!(r > 0.9, "gateway {g}: pressure tracks temperature, r = {r}");
        }
    }

    #[test]
    fn summer_is_warmer_than_winter() {
        let sim = Simulator::new(district(10), quiet(9));
        // 2026-01-15 and 2026-07-15, Beijing midnight.
        let (january, july) = (1_768_406_400_000, 1_784_044_800_000);
        for (i, s) in sim.sensors().iter().enumerate() {
            if s.kind != SensorKind::Temperature {
                continue;
            }
            let mean = |day: i64| {
                (0..24)
                    .map(|h| sim.value(i, day + h * HOUR_MS).expect("online"))
                    .sum::<f64>()
                    / 24.0
            };
            assert!(mean(july) > mean(january) + 8.0, "{}", s.gateway);
        }
    }

    #[test]
    fn gas_reads_near_zero() {
        let sim = Simulator::new(district(20), quiet(4));
        for (i, s) in sim.sensors().iter().enumerate() {
            if !matches!(s.kind, SensorKind::GasLel | SensorKind::GasToxic) {
                continue;
            }
            let h = s.h.expect("gas detectors have H");
            for k in 0..24 * 60 {
                let v = sim.value(i, T0 + k * MINUTE_MS).expect("online");
                assert!((0.0..=0.2 * h).contains(&v), "{}: {v}", s.code);
            }
        }
    }

    /// Counts the starts of excursions past the first and the second threshold at 1-minute
    /// steps (an excursion lasts at least 6), as an alarm engine without delays would see them.
    fn onsets(sim: &Simulator, hours: i64) -> (usize, usize) {
        let (mut first, mut second) = (0, 0);
        for (i, s) in sim.sensors().iter().enumerate() {
            let mut was = (false, false);
            for k in 0..hours * 60 {
                let t = T0 + k * MINUTE_MS;
                // A fault's out-of-range value is no excursion.
                let Some(v) = sim
                    .value(i, t)
                    .filter(|_| sim.condition(i, t) != Condition::Fault)
                else {
                    continue;
                };
                let now = (
                    s.h.or(s.hh).is_some_and(|h| v >= h) || s.l.or(s.ll).is_some_and(|l| v <= l),
                    s.hh.is_some_and(|h| v >= h && s.h.is_some())
                        || s.ll.is_some_and(|l| v <= l && s.l.is_some()),
                );
                first += usize::from(now.0 && !was.0);
                second += usize::from(now.1 && !was.1);
                was = now;
            }
        }
        (first, second)
    }

    #[test]
    fn excursions_happen_at_the_configured_rate() {
        // 2 an hour over 2,400 sensors: 48 expected in a day; Poisson, so ±20 is > 4 σ.
        let cfg = SimConfig {
            seed: 21,
            excursions_per_hour: 2.0,
            second_level_share: 0.25,
            ..quiet(21)
        };
        let sim = Simulator::new(district(300), cfg);
        let (first, second) = onsets(&sim, 24);
        assert!((28..=68).contains(&first), "H excursions in a day: {first}");
        // 25 % of 48 = 12 go past HH.
        assert!(
            (3..=24).contains(&second),
            "HH excursions in a day: {second}"
        );
        // The district default: an H every few hours, an HH rarely.
        let sim = Simulator::new(
            district(300),
            SimConfig {
                seed: 21,
                ..Default::default()
            },
        );
        let (first, second) = onsets(&sim, 72);
        assert!(
            (12..=48).contains(&first),
            "default: ~0.4 H an hour over 3 days: {first}"
        );
        assert!(second <= 8, "default: HH rarely: {second}");
    }

    #[test]
    fn gateways_go_offline_for_a_few_minutes_now_and_then() {
        let cfg = SimConfig {
            seed: 33,
            ..Default::default()
        };
        let sim = Simulator::new(district(145), cfg);
        let mut gaps = Vec::new();
        for g in 0..sim.gateways().len() {
            let mut start = None;
            for k in 0..24 * 120 {
                let t = T0 + k * 30_000;
                match (sim.gateway_online(g, t), start) {
                    (false, None) => start = Some(t),
                    (true, Some(s)) => {
                        gaps.push(t - s);
                        start = None;
                    }
                    _ => {}
                }
                if !sim.gateway_online(g, t) {
                    assert!(sim.gateway_readings(g, t).is_empty());
                    assert_eq!(sim.condition(sim.sensors_of(g)[0], t), Condition::Offline);
                } else {
                    assert_eq!(sim.gateway_readings(g, t).len(), sim.sensors_of(g).len());
                }
            }
        }
        // 145 gateways × 0.5 a day ≈ 72.
        assert!(
            (45..=105).contains(&gaps.len()),
            "outages in a day: {}",
            gaps.len()
        );
        assert!(
            gaps.iter()
                .all(|d| (MINUTE_MS..=15 * MINUTE_MS).contains(d)),
            "a few minutes each: {gaps:?}"
        );
        assert!(
            gaps.iter().any(|d| *d > 5 * MINUTE_MS) && gaps.iter().any(|d| *d < 5 * MINUTE_MS),
            "some outlast the default offline timeout of 5 minutes, some do not"
        );
    }

    #[test]
    fn odd_sensors_do_not_break_the_simulator() {
        let mut s = sensor(0, "X", SensorKind::Other);
        s.range_min = 5.0;
        s.range_max = 5.0;
        s.h = Some(f64::NAN);
        let sim = Simulator::new(vec![s], SimConfig::default());
        for k in 0..100 {
            if let Some(v) = sim.value(0, T0 + k * MINUTE_MS) {
                assert!(v.is_finite());
            }
        }
        assert_eq!(sim.value(1, T0), None);
        assert!(!sim.gateway_online(3, T0));
    }
}
