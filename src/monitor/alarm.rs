//! The alarm state machine of one sensor: it turns readings into raised and cleared alarms.
//!
//! Pure and allocation-free: no clock reads (times come in with the readings and the offline
//! checks), no I/O, and events go into a caller-owned buffer. The caller persists the events
//! and runs the alarm lifecycle (acknowledge, dispose, escalate); this module only decides
//! when an alarm starts and ends.
//!
//! # Semantics
//!
//! - **Boundaries.** A high condition holds when `value >= threshold` ("reaching the set
//!   point", as gas detectors are specified); a low one when `value <= threshold`. A high alarm
//!   clears when `value < threshold − deadband`, a low one when `value > threshold + deadband`.
//!   With a zero deadband the clear condition is the exact complement of the raise condition,
//!   and a value exactly at `threshold − deadband` keeps the alarm.
//! - **Delays.** A condition must be seen at readings spanning at least the delay
//!   (`ts − first_ts >= delay`); a reading that contradicts it restarts the wait. Gaps between
//!   readings do not restart it: silence is not evidence either way, and the offline alarm
//!   covers silence.
//! - **HH and H coexist.** Each level kind is its own alarm with its own lifecycle (one active
//!   alarm per sensor and kind), so a value above HH has both H and HH active. When HH clears, H
//!   is still standing and needs no re-raise; operators see the escalation as a second alarm,
//!   not as H vanishing. L and LL mirror this.
//! - **Sensor fault.** A value outside the measuring range (inclusive ends), a non-finite value
//!   or bad quality raises `SensorFault` at once and a trusted value clears it at once. The
//!   untrusted value is not evaluated against the thresholds: active level alarms stay as they
//!   are (a broken sensor must not silently clear a real HH) and pending delays restart.
//! - **Offline** is judged by *arrival* time, not sample time: gateway clocks drift, and a
//!   backlog replayed after reconnecting carries old sample times. The state is offline once
//!   `now − last_arrival >= timeout` (silence of exactly the timeout is offline); the raise is
//!   stamped at `last_arrival + timeout` whatever the polling cadence, and the clear at the
//!   arrival of the next accepted reading. Offline events carry server times; level and fault
//!   events carry sample times.
//! - **Order.** A reading not newer than the last accepted one is ignored and reported
//!   ([`Outcome::Duplicate`], [`Outcome::OutOfOrder`]); so is one stamped further ahead of its
//!   arrival than the configured allowance ([`Outcome::AheadOfClock`]). Ignored readings do not
//!   count as signs of life: a gateway stuck resending its last reading goes offline.

mod config;
mod enterprise;
#[cfg(test)]
mod tests;

pub use config::{
    AlarmConfig, AlarmSettings, ConfigError, DEFAULT_MAX_CLOCK_AHEAD_S, DEFAULT_OFFLINE_TIMEOUT_S,
    MAX_DELAY_S, MAX_TIMEOUT_S,
};
pub use enterprise::{
    ENTERPRISE_OFFLINE_TIMEOUT, EnterpriseLiveness, EnterpriseWatch, enterprise_liveness,
};

use serde::{Deserialize, Serialize};

/// What an alarm is about. The discriminant is the kind's bit in [`SensorState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum AlarmKind {
    /// 高高报: at or above HH.
    #[serde(rename = "HH")]
    HighHigh = 0,
    /// 高报: at or above H.
    #[serde(rename = "H")]
    High = 1,
    /// 低报: at or below L.
    #[serde(rename = "L")]
    Low = 2,
    /// 低低报: at or below LL.
    #[serde(rename = "LL")]
    LowLow = 3,
    /// 离线: no accepted reading arrived within the offline timeout.
    #[serde(rename = "offline")]
    Offline = 4,
    /// 传感器故障: an out-of-range, non-finite or bad-quality value.
    #[serde(rename = "sensor_fault")]
    SensorFault = 5,
    /// 企业离线: no sensor of the enterprise reported within its timeout. Raised by
    /// [`EnterpriseWatch`], never by a [`SensorState`].
    #[serde(rename = "enterprise_offline")]
    EnterpriseOffline = 6,
}

pub use crate::colour::Colour;

/// How urgently a duty officer must act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    High,
}

impl AlarmKind {
    /// Every kind, in bit order.
    pub const ALL: [AlarmKind; 7] = [
        AlarmKind::HighHigh,
        AlarmKind::High,
        AlarmKind::Low,
        AlarmKind::LowLow,
        AlarmKind::Offline,
        AlarmKind::SensorFault,
        AlarmKind::EnterpriseOffline,
    ];

    /// The code used in the API and the database.
    pub fn code(self) -> &'static str {
        match self {
            AlarmKind::HighHigh => "HH",
            AlarmKind::High => "H",
            AlarmKind::Low => "L",
            AlarmKind::LowLow => "LL",
            AlarmKind::Offline => "offline",
            AlarmKind::SensorFault => "sensor_fault",
            AlarmKind::EnterpriseOffline => "enterprise_offline",
        }
    }

    /// The Chinese name duty officers know.
    pub fn label_zh(self) -> &'static str {
        match self {
            AlarmKind::HighHigh => "高高报",
            AlarmKind::High => "高报",
            AlarmKind::Low => "低报",
            AlarmKind::LowLow => "低低报",
            AlarmKind::Offline => "离线",
            AlarmKind::SensorFault => "传感器故障",
            AlarmKind::EnterpriseOffline => "企业离线",
        }
    }

    /// The colour of the kind on the one-map. No published source assigns alarm kinds to
    /// colours (STANDARDS.md §6); this default is ours:
    /// - red: HH and LL, the process is at its trip limit, usually where interlocks act;
    /// - orange: a whole enterprise offline, its hazard sources are invisible to the district;
    /// - yellow: H and L, the process has left its normal band;
    /// - blue: one sensor offline or faulty, an instrument problem, not a process deviation.
    pub fn colour(self) -> Colour {
        match self {
            AlarmKind::HighHigh | AlarmKind::LowLow => Colour::Red,
            AlarmKind::EnterpriseOffline => Colour::Orange,
            AlarmKind::High | AlarmKind::Low => Colour::Yellow,
            AlarmKind::Offline | AlarmKind::SensorFault => Colour::Blue,
        }
    }

    /// High for red and orange kinds (HH, LL, enterprise offline), low for the rest.
    pub fn severity(self) -> Severity {
        if self.colour() >= Colour::Orange {
            Severity::High
        } else {
            Severity::Low
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// Whether a reading's value can be trusted, as the gateway reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    #[default]
    Good,
    Bad,
}

/// One sensor reading as the state machine needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Sample time at the sensor, epoch ms: drives delays and ordering.
    pub ts_ms: i64,
    /// Arrival time at Yingji, epoch ms: drives offline detection.
    pub received_ms: i64,
    pub value: f64,
    pub quality: Quality,
}

impl Reading {
    /// A good-quality reading.
    pub fn new(ts_ms: i64, received_ms: i64, value: f64) -> Reading {
        Reading {
            ts_ms,
            received_ms,
            value,
            quality: Quality::Good,
        }
    }
}

/// Whether an alarm started or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    Raised,
    Cleared,
}

/// A decision of the state machine for the caller to persist.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlarmEvent {
    pub kind: AlarmKind,
    pub transition: Transition,
    /// Sample time for level and fault events, server time for offline events.
    pub ts_ms: i64,
    /// The value that completed the transition; for an offline raise, the last value received.
    /// `None` when there is none or it is not a finite number.
    pub value: Option<f64>,
}

/// What became of a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Evaluated; events, if any, were emitted.
    Accepted,
    /// Same sample time as the last accepted reading: ignored, so replays are idempotent.
    Duplicate,
    /// Older than the last accepted reading: ignored, the state never moves backwards.
    OutOfOrder,
    /// Stamped further ahead of its arrival than the configured allowance: ignored.
    AheadOfClock,
}

impl Outcome {
    pub fn is_accepted(self) -> bool {
        self == Outcome::Accepted
    }
}

/// "No time": no accepted reading yet, or no pending condition.
const NEVER: i64 = i64::MIN;
const OFFLINE: u8 = AlarmKind::Offline.bit();
const FAULT: u8 = AlarmKind::SensorFault.bit();

/// Clears first, the most severe first, so a reader of the event log sees the state unwind
/// before it rebuilds.
const CLEAR_ORDER: [AlarmKind; 6] = [
    AlarmKind::Offline,
    AlarmKind::SensorFault,
    AlarmKind::HighHigh,
    AlarmKind::High,
    AlarmKind::LowLow,
    AlarmKind::Low,
];
/// Raises escalate: H before HH, L before LL.
const RAISE_ORDER: [AlarmKind; 5] = [
    AlarmKind::SensorFault,
    AlarmKind::High,
    AlarmKind::HighHigh,
    AlarmKind::Low,
    AlarmKind::LowLow,
];

/// The alarm state of one sensor: 64 bytes, no heap.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorState {
    /// Sample time of the last accepted reading, or `NEVER`.
    last_ts: i64,
    /// Arrival time of the last accepted reading, or when watching began.
    last_seen: i64,
    /// Value of the last accepted reading (NaN before the first).
    last_value: f64,
    /// Per level slot (HH, H, L, LL): sample time since when the condition that would flip the
    /// slot has held (raise when inactive, clear when active), or `NEVER`.
    since: [i64; 4],
    /// Active kinds, one bit per [`AlarmKind`].
    active: u8,
}

impl SensorState {
    /// A sensor watched from `watch_since_ms` (server time) with no alarm active: if it never
    /// reports, it goes offline one timeout later.
    pub fn new(watch_since_ms: i64) -> SensorState {
        SensorState {
            last_ts: NEVER,
            last_seen: watch_since_ms,
            last_value: f64::NAN,
            since: [NEVER; 4],
            active: 0,
        }
    }

    /// Rebuilds the state after a restart from what the store knows: the alarms still active
    /// (so they can clear) and the last reading's sample time (so replays stay ignored).
    /// Pending delays are not stored and start over. `EnterpriseOffline` is ignored.
    pub fn resume(
        watch_since_ms: i64,
        last_reading_ts_ms: Option<i64>,
        active: &[AlarmKind],
    ) -> SensorState {
        let mut state = SensorState::new(watch_since_ms);
        state.last_ts = last_reading_ts_ms.unwrap_or(NEVER);
        for &kind in active {
            if kind != AlarmKind::EnterpriseOffline {
                state.active |= kind.bit();
            }
        }
        state
    }

    /// Whether an alarm of this kind is active.
    pub fn is_active(&self, kind: AlarmKind) -> bool {
        kind != AlarmKind::EnterpriseOffline && self.active & kind.bit() != 0
    }

    /// The active kinds, in bit order.
    pub fn active(&self) -> impl Iterator<Item = AlarmKind> + '_ {
        AlarmKind::ALL.into_iter().filter(|&k| self.is_active(k))
    }

    /// Sample time of the last accepted reading.
    pub fn last_reading_ms(&self) -> Option<i64> {
        (self.last_ts != NEVER).then_some(self.last_ts)
    }

    /// Arrival time of the last accepted reading, or when watching began: the input of
    /// [`enterprise_liveness`].
    pub fn last_seen_ms(&self) -> i64 {
        self.last_seen
    }

    /// When [`SensorState::check_offline`] will first find the sensor offline, so the caller
    /// can schedule checks instead of sweeping every sensor.
    pub fn offline_deadline_ms(&self, cfg: &AlarmConfig) -> i64 {
        self.last_seen.saturating_add(cfg.offline_timeout_ms())
    }

    /// Evaluates one reading and appends the resulting events (at most six) to `out`.
    ///
    /// With a `Vec` that the caller clears and reuses, nothing is allocated once it has grown.
    pub fn on_reading(
        &mut self,
        cfg: &AlarmConfig,
        reading: Reading,
        out: &mut impl Extend<AlarmEvent>,
    ) -> Outcome {
        let ts = reading.ts_ms;
        if ts
            > reading
                .received_ms
                .saturating_add(i64::from(cfg.max_clock_ahead_ms))
        {
            return Outcome::AheadOfClock;
        }
        if ts <= self.last_ts {
            return if ts == self.last_ts {
                Outcome::Duplicate
            } else {
                Outcome::OutOfOrder
            };
        }
        self.last_ts = ts;
        self.last_seen = self.last_seen.max(reading.received_ms);
        self.last_value = reading.value;

        let before = self.active;
        let v = reading.value;
        // NaN and ±∞ fail the range test, so this one test also catches non-finite values.
        let trusted = reading.quality == Quality::Good && v >= cfg.range_min && v <= cfg.range_max;
        let after = if trusted {
            self.step_levels(cfg, ts, v, before) & !(OFFLINE | FAULT)
        } else {
            self.since = [NEVER; 4];
            (before & !OFFLINE) | FAULT
        };
        self.active = after;

        if after != before {
            let value = v.is_finite().then_some(v);
            let at = |kind: AlarmKind, transition| AlarmEvent {
                kind,
                transition,
                ts_ms: if kind == AlarmKind::Offline {
                    reading.received_ms
                } else {
                    ts
                },
                value,
            };
            let cleared = before & !after;
            let raised = after & !before;
            for kind in CLEAR_ORDER {
                if cleared & kind.bit() != 0 {
                    out.extend(Some(at(kind, Transition::Cleared)));
                }
            }
            for kind in RAISE_ORDER {
                if raised & kind.bit() != 0 {
                    out.extend(Some(at(kind, Transition::Raised)));
                }
            }
        }
        Outcome::Accepted
    }

    /// Advances the four level slots by one trusted reading and returns the new active bits.
    fn step_levels(&mut self, cfg: &AlarmConfig, ts: i64, v: f64, mut active: u8) -> u8 {
        // Low slots see the negated value against negated limits (see `AlarmConfig`).
        let x = [v, v, -v, -v];
        for (slot, (since, x)) in self.since.iter_mut().zip(x).enumerate() {
            let bit = 1u8 << slot;
            let is_active = active & bit != 0;
            let flipping = if is_active {
                x < cfg.clear(slot)
            } else {
                x >= cfg.raise[slot]
            };
            if !flipping {
                *since = NEVER;
                continue;
            }
            if *since == NEVER {
                *since = ts;
            }
            let delay = if is_active {
                cfg.off_delay_ms
            } else {
                cfg.on_delay_ms
            };
            if ts.saturating_sub(*since) >= i64::from(delay) {
                active ^= bit;
                *since = NEVER;
            }
        }
        active
    }

    /// Raises `Offline` when no accepted reading arrived within the timeout up to `now_ms`
    /// (server time). Returns whether the sensor is offline.
    pub fn check_offline(
        &mut self,
        cfg: &AlarmConfig,
        now_ms: i64,
        out: &mut impl Extend<AlarmEvent>,
    ) -> bool {
        if self.active & OFFLINE != 0 {
            return true;
        }
        let deadline = self.offline_deadline_ms(cfg);
        if now_ms < deadline {
            return false;
        }
        self.active |= OFFLINE;
        out.extend(Some(AlarmEvent {
            kind: AlarmKind::Offline,
            transition: Transition::Raised,
            ts_ms: deadline,
            value: self.last_value.is_finite().then_some(self.last_value),
        }));
        true
    }
}
