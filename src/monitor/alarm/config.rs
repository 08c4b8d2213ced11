//! Alarm settings of one sensor: the form people enter and store ([`AlarmSettings`]) and the
//! validated, compact form the state machine runs on ([`AlarmConfig`]).
//!
//! No verifiable source fixes thresholds, delays or offline timeouts (STANDARDS.md §6), so every
//! value here is a per-sensor setting and the defaults below are documented choices, not rules.

use serde::{Deserialize, Serialize};

/// Sensor offline timeout when none is given: 5 minutes (STANDARDS.md §6 default).
pub const DEFAULT_OFFLINE_TIMEOUT_S: f64 = 300.0;

/// How far a sample time may lie ahead of its arrival before the reading is distrusted.
/// Gateways with unsynchronised clocks are common; one reading stamped in 2099 must not
/// freeze the sensor forever (every later reading would look out of order).
pub const DEFAULT_MAX_CLOCK_AHEAD_S: f64 = 300.0;

/// Upper bound of the on/off delays. Longer delays are not alarms but reports, and the bound
/// keeps the milliseconds in a `u32`, which keeps [`AlarmConfig`] small.
pub const MAX_DELAY_S: f64 = 86_400.0;

/// Upper bound of the offline timeout and the clock allowance, for the same reasons.
pub const MAX_TIMEOUT_S: f64 = 7.0 * 86_400.0;

/// Alarm settings of one sensor as entered: thresholds in the sensor's unit, times in seconds.
///
/// Build one with [`AlarmSettings::new`] and struct update syntax:
/// `AlarmSettings { h: Some(80.0), ..AlarmSettings::new(0.0, 100.0) }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmSettings {
    /// Low-low threshold (低低报).
    pub ll: Option<f64>,
    /// Low threshold (低报).
    pub l: Option<f64>,
    /// High threshold (高报).
    pub h: Option<f64>,
    /// High-high threshold (高高报).
    pub hh: Option<f64>,
    /// Absolute hysteresis: a high alarm clears below `threshold − deadband`, a low one above
    /// `threshold + deadband`.
    #[serde(default)]
    pub deadband: f64,
    /// How long a level condition must hold before its alarm is raised.
    #[serde(default)]
    pub on_delay_s: f64,
    /// How long the clear condition must hold before an active level alarm clears.
    #[serde(default)]
    pub off_delay_s: f64,
    /// Lower end of the measuring range, inclusive.
    pub range_min: f64,
    /// Upper end of the measuring range, inclusive.
    pub range_max: f64,
    /// Silence (by arrival time) after which the sensor is offline.
    #[serde(default = "default_offline_timeout_s")]
    pub offline_timeout_s: f64,
    /// Allowance for sample times ahead of the arrival time.
    #[serde(default = "default_max_clock_ahead_s")]
    pub max_clock_ahead_s: f64,
}

fn default_offline_timeout_s() -> f64 {
    DEFAULT_OFFLINE_TIMEOUT_S
}

fn default_max_clock_ahead_s() -> f64 {
    DEFAULT_MAX_CLOCK_AHEAD_S
}

impl AlarmSettings {
    /// A sensor with a measuring range, no thresholds, no deadband, no delays and the default
    /// offline timeout.
    pub fn new(range_min: f64, range_max: f64) -> AlarmSettings {
        AlarmSettings {
            ll: None,
            l: None,
            h: None,
            hh: None,
            deadband: 0.0,
            on_delay_s: 0.0,
            off_delay_s: 0.0,
            range_min,
            range_max,
            offline_timeout_s: DEFAULT_OFFLINE_TIMEOUT_S,
            max_clock_ahead_s: DEFAULT_MAX_CLOCK_AHEAD_S,
        }
    }
}

/// Why a sensor's alarm settings were refused. [`ConfigError::field`] names the field to blame
/// so the HTTP layer can answer with a field error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{field} must be a finite number")]
    NotFinite { field: &'static str },
    #[error("{field} must not be negative (got {value})")]
    Negative { field: &'static str, value: f64 },
    #[error("{field} must be greater than 0")]
    NotPositive { field: &'static str },
    #[error("{field} must be at most {max} s (got {value})")]
    TooLong {
        field: &'static str,
        value: f64,
        max: f64,
    },
    #[error("range_min ({min}) must be below range_max ({max})")]
    EmptyRange { min: f64, max: f64 },
    #[error(
        "thresholds must rise as ll < l < h < hh: {lower} ({lower_value}) is not below {upper} ({upper_value})"
    )]
    Misordered {
        lower: &'static str,
        lower_value: f64,
        upper: &'static str,
        upper_value: f64,
    },
    #[error(
        "{field} ({value}) lies outside the measuring range [{min}, {max}] and could never be reached"
    )]
    OutsideRange {
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error(
        "deadband ({deadband}) must be smaller than the gap between {lower} ({lower_value}) and {upper} ({upper_value}); otherwise an alarm could only clear by raising the opposite one"
    )]
    DeadbandTooWide {
        deadband: f64,
        lower: &'static str,
        lower_value: f64,
        upper: &'static str,
        upper_value: f64,
    },
}

impl ConfigError {
    /// The settings field to blame, spelled as in [`AlarmSettings`] and its JSON.
    pub fn field(&self) -> &'static str {
        match self {
            ConfigError::NotFinite { field }
            | ConfigError::Negative { field, .. }
            | ConfigError::NotPositive { field }
            | ConfigError::TooLong { field, .. }
            | ConfigError::OutsideRange { field, .. } => field,
            ConfigError::EmptyRange { .. } => "range_max",
            ConfigError::Misordered { upper, .. } => upper,
            ConfigError::DeadbandTooWide { .. } => "deadband",
        }
    }
}

/// Validated alarm settings in the shape the hot path wants.
///
/// The four level slots are ordered HH, H, L, LL (the bit order of
/// [`AlarmKind`](super::AlarmKind)). Low-side limits are stored negated, so that one test,
/// `x >= raise` to raise and `x < clear` to clear with `x = ±value`, serves all four slots;
/// negation is exact in IEEE 754, so the boundaries are exactly those entered. An absent
/// threshold raises at +∞, which no trusted (finite) value reaches.
///
/// The clear limit of a slot is `raise − deadband` for all four (for a low slot that is
/// `−t − d = −(t + d)`, exact because IEEE rounding is symmetric under negation), so it is
/// computed rather than stored: 72 bytes, which matters with a million sensors in memory. The
/// settings as entered are the store's business, not this struct's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlarmConfig {
    pub(super) raise: [f64; 4],
    pub(super) deadband: f64,
    pub(super) range_min: f64,
    pub(super) range_max: f64,
    pub(super) on_delay_ms: u32,
    pub(super) off_delay_ms: u32,
    pub(super) offline_timeout_ms: u32,
    pub(super) max_clock_ahead_ms: u32,
}

impl AlarmConfig {
    /// Validates the settings: finite numbers, a non-empty range, thresholds inside the range
    /// and rising LL < L < H < HH (any subset), a deadband narrower than the L–H gap, delays
    /// within [`MAX_DELAY_S`] and a positive offline timeout.
    pub fn new(s: &AlarmSettings) -> Result<AlarmConfig, ConfigError> {
        let min = finite("range_min", s.range_min)?;
        let max = finite("range_max", s.range_max)?;
        if min >= max {
            return Err(ConfigError::EmptyRange { min, max });
        }
        let deadband = finite("deadband", s.deadband)?;
        if deadband < 0.0 {
            return Err(ConfigError::Negative {
                field: "deadband",
                value: deadband,
            });
        }

        let named = [("ll", s.ll), ("l", s.l), ("h", s.h), ("hh", s.hh)];
        let mut below: Option<(&'static str, f64)> = None;
        for (field, value) in named {
            let Some(value) = value else { continue };
            let value = finite(field, value)?;
            if value < min || value > max {
                return Err(ConfigError::OutsideRange {
                    field,
                    value,
                    min,
                    max,
                });
            }
            if let Some((lower, lower_value)) = below
                && lower_value >= value
            {
                return Err(ConfigError::Misordered {
                    lower,
                    lower_value,
                    upper: field,
                    upper_value: value,
                });
            }
            below = Some((field, value));
        }

        // The innermost thresholds of each side face each other across the normal band.
        let inner_low = [("l", s.l), ("ll", s.ll)]
            .into_iter()
            .find_map(|(f, v)| v.map(|v| (f, v)));
        let inner_high = [("h", s.h), ("hh", s.hh)]
            .into_iter()
            .find_map(|(f, v)| v.map(|v| (f, v)));
        if let (Some((lower, lo)), Some((upper, hi))) = (inner_low, inner_high)
            && (hi - deadband <= lo || lo + deadband >= hi)
        {
            return Err(ConfigError::DeadbandTooWide {
                deadband,
                lower,
                lower_value: lo,
                upper,
                upper_value: hi,
            });
        }

        let high = |t: Option<f64>| t.unwrap_or(f64::INFINITY);
        let low = |t: Option<f64>| t.map_or(f64::INFINITY, |t| -t);

        Ok(AlarmConfig {
            raise: [high(s.hh), high(s.h), low(s.l), low(s.ll)],
            deadband,
            range_min: min,
            range_max: max,
            on_delay_ms: millis("on_delay_s", s.on_delay_s, MAX_DELAY_S, false)?,
            off_delay_ms: millis("off_delay_s", s.off_delay_s, MAX_DELAY_S, false)?,
            offline_timeout_ms: millis(
                "offline_timeout_s",
                s.offline_timeout_s,
                MAX_TIMEOUT_S,
                true,
            )?,
            max_clock_ahead_ms: millis(
                "max_clock_ahead_s",
                s.max_clock_ahead_s,
                MAX_TIMEOUT_S,
                false,
            )?,
        })
    }

    /// The clear limit of a level slot (HH, H, L, LL order; low slots negated): an active
    /// slot clears when `±value < clear`. An absent threshold gives +∞.
    #[inline]
    pub(super) fn clear(&self, slot: usize) -> f64 {
        self.raise[slot] - self.deadband
    }

    /// The measuring range, inclusive.
    pub fn range(&self) -> (f64, f64) {
        (self.range_min, self.range_max)
    }

    /// Silence after which the sensor is offline, in milliseconds.
    pub fn offline_timeout_ms(&self) -> i64 {
        i64::from(self.offline_timeout_ms)
    }

    /// The threshold of a level kind as entered (`None` for other kinds and absent thresholds).
    pub fn threshold(&self, kind: super::AlarmKind) -> Option<f64> {
        use super::AlarmKind::*;
        let (slot, sign) = match kind {
            HighHigh => (0, 1.0),
            High => (1, 1.0),
            Low => (2, -1.0),
            LowLow => (3, -1.0),
            _ => return None,
        };
        let raw = self.raise[slot];
        raw.is_finite().then_some(sign * raw)
    }
}

impl TryFrom<&AlarmSettings> for AlarmConfig {
    type Error = ConfigError;

    fn try_from(s: &AlarmSettings) -> Result<AlarmConfig, ConfigError> {
        AlarmConfig::new(s)
    }
}

fn finite(field: &'static str, value: f64) -> Result<f64, ConfigError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ConfigError::NotFinite { field })
    }
}

/// Seconds to whole milliseconds, bounded so the result fits the compact `u32` fields.
fn millis(field: &'static str, secs: f64, max: f64, positive: bool) -> Result<u32, ConfigError> {
    let secs = finite(field, secs)?;
    if secs < 0.0 {
        return Err(ConfigError::Negative { field, value: secs });
    }
    if secs > max {
        return Err(ConfigError::TooLong {
            field,
            value: secs,
            max,
        });
    }
    let ms = (secs * 1000.0).round();
    if positive && ms < 1.0 {
        return Err(ConfigError::NotPositive { field });
    }
    // In range by the checks above: 0 ≤ ms ≤ 604,800,000 < u32::MAX.
    Ok(ms as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> AlarmSettings {
        AlarmSettings {
            ll: Some(5.0),
            l: Some(10.0),
            h: Some(80.0),
            hh: Some(90.0),
            deadband: 2.0,
            ..AlarmSettings::new(0.0, 100.0)
        }
    }

    #[test]
    fn a_full_set_of_rising_thresholds_is_accepted() {
        let cfg = AlarmConfig::new(&base()).expect("valid settings");
        assert_eq!(cfg.raise, [90.0, 80.0, -10.0, -5.0]);
        assert_eq!(
            [0, 1, 2, 3].map(|i| cfg.clear(i)),
            [88.0, 78.0, -12.0, -7.0]
        );
        assert_eq!(cfg.offline_timeout_ms(), 300_000);
    }

    #[test]
    fn any_subset_of_thresholds_is_accepted_and_absent_ones_never_trip() {
        let s = AlarmSettings {
            h: Some(50.0),
            ..AlarmSettings::new(0.0, 100.0)
        };
        let cfg = AlarmConfig::new(&s).expect("valid settings");
        assert_eq!(cfg.raise[0], f64::INFINITY);
        assert_eq!(cfg.raise[1], 50.0);
        assert_eq!(cfg.raise[2], f64::INFINITY);
        assert_eq!(cfg.raise[3], f64::INFINITY);
        assert!(AlarmConfig::new(&AlarmSettings::new(-1.0, 1.0)).is_ok());
    }

    #[test]
    fn thresholds_out_of_order_name_both_ends_of_the_inversion() {
        let s = AlarmSettings {
            hh: Some(80.0),
            ..base()
        };
        let err = AlarmConfig::new(&s).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Misordered {
                lower: "h",
                lower_value: 80.0,
                upper: "hh",
                upper_value: 80.0
            }
        );
        assert_eq!(err.field(), "hh");
        assert_eq!(
            err.to_string(),
            "thresholds must rise as ll < l < h < hh: h (80) is not below hh (80)"
        );
    }

    #[test]
    fn ordering_skips_absent_thresholds() {
        let s = AlarmSettings {
            ll: Some(60.0),
            l: None,
            h: Some(50.0),
            hh: None,
            deadband: 0.0,
            ..AlarmSettings::new(0.0, 100.0)
        };
        assert_eq!(
            AlarmConfig::new(&s).unwrap_err(),
            ConfigError::Misordered {
                lower: "ll",
                lower_value: 60.0,
                upper: "h",
                upper_value: 50.0
            }
        );
    }

    #[test]
    fn a_threshold_outside_the_measuring_range_is_refused_but_one_at_its_end_is_not() {
        let s = AlarmSettings {
            hh: Some(100.5),
            ..base()
        };
        let err = AlarmConfig::new(&s).unwrap_err();
        assert_eq!(err.field(), "hh");
        assert!(matches!(err, ConfigError::OutsideRange { .. }));
        let s = AlarmSettings {
            hh: Some(100.0),
            ..base()
        };
        assert!(AlarmConfig::new(&s).is_ok());
    }

    #[test]
    fn a_negative_or_non_finite_deadband_is_refused() {
        let s = AlarmSettings {
            deadband: -0.1,
            ..base()
        };
        assert_eq!(
            AlarmConfig::new(&s).unwrap_err(),
            ConfigError::Negative {
                field: "deadband",
                value: -0.1
            }
        );
        let s = AlarmSettings {
            deadband: f64::NAN,
            ..base()
        };
        assert_eq!(
            AlarmConfig::new(&s).unwrap_err(),
            ConfigError::NotFinite { field: "deadband" }
        );
    }

    #[test]
    fn a_deadband_as_wide_as_the_normal_band_is_refused() {
        let s = AlarmSettings {
            l: Some(40.0),
            h: Some(60.0),
            ll: None,
            hh: None,
            deadband: 20.0,
            ..AlarmSettings::new(0.0, 100.0)
        };
        let err = AlarmConfig::new(&s).unwrap_err();
        assert!(matches!(err, ConfigError::DeadbandTooWide { .. }));
        assert_eq!(err.field(), "deadband");
        let s = AlarmSettings {
            deadband: 19.5,
            ..s
        };
        assert!(AlarmConfig::new(&s).is_ok());
    }

    #[test]
    fn non_finite_thresholds_and_ranges_are_refused() {
        let s = AlarmSettings {
            h: Some(f64::INFINITY),
            ..base()
        };
        assert_eq!(
            AlarmConfig::new(&s).unwrap_err(),
            ConfigError::NotFinite { field: "h" }
        );
        let s = AlarmSettings::new(f64::NEG_INFINITY, 1.0);
        assert_eq!(
            AlarmConfig::new(&s).unwrap_err(),
            ConfigError::NotFinite { field: "range_min" }
        );
    }

    #[test]
    fn an_empty_measuring_range_is_refused() {
        assert_eq!(
            AlarmConfig::new(&AlarmSettings::new(5.0, 5.0)).unwrap_err(),
            ConfigError::EmptyRange { min: 5.0, max: 5.0 }
        );
    }

    #[test]
    fn delays_must_be_non_negative_and_at_most_a_day() {
        let s = AlarmSettings {
            on_delay_s: -1.0,
            ..base()
        };
        assert_eq!(AlarmConfig::new(&s).unwrap_err().field(), "on_delay_s");
        let s = AlarmSettings {
            off_delay_s: MAX_DELAY_S + 1.0,
            ..base()
        };
        assert!(matches!(
            AlarmConfig::new(&s).unwrap_err(),
            ConfigError::TooLong {
                field: "off_delay_s",
                ..
            }
        ));
        let s = AlarmSettings {
            on_delay_s: 0.25,
            off_delay_s: MAX_DELAY_S,
            ..base()
        };
        let cfg = AlarmConfig::new(&s).expect("valid settings");
        assert_eq!((cfg.on_delay_ms, cfg.off_delay_ms), (250, 86_400_000));
    }

    #[test]
    fn a_zero_offline_timeout_is_refused() {
        let s = AlarmSettings {
            offline_timeout_s: 0.0,
            ..base()
        };
        assert_eq!(
            AlarmConfig::new(&s).unwrap_err(),
            ConfigError::NotPositive {
                field: "offline_timeout_s"
            }
        );
    }

    #[test]
    fn settings_read_from_json_take_the_documented_defaults() {
        let s: AlarmSettings =
            serde_json::from_str(r#"{"h": 80, "hh": 90, "range_min": 0, "range_max": 100}"#)
                .expect("valid JSON");
        assert_eq!(
            s,
            AlarmSettings {
                h: Some(80.0),
                hh: Some(90.0),
                ..AlarmSettings::new(0.0, 100.0)
            }
        );
    }
}
