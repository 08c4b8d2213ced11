//! Enterprise offline: the whole enterprise is offline when none of its sensors reported within
//! the timeout. That usually means its gateway or uplink is down, which deserves one alarm of
//! its own rather than only a burst of sensor-offline alarms.

use std::time::Duration;

use super::{AlarmEvent, AlarmKind, Transition};

/// Enterprise gateway offline timeout when none is configured: 10 minutes (STANDARDS.md §6
/// default, not a published value).
pub const ENTERPRISE_OFFLINE_TIMEOUT: Duration = Duration::from_secs(600);

/// Whether an enterprise's monitoring is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnterpriseLiveness {
    /// It has no sensors, so there is nothing to be offline.
    NoSensors,
    /// At least one sensor reported within the timeout; `last_seen_ms` is the latest arrival.
    Online { last_seen_ms: i64 },
    /// No sensor reported within the timeout; offline since the latest arrival plus the timeout.
    Offline { since_ms: i64 },
}

/// Decides enterprise offline from the last arrival times of all its sensors
/// ([`SensorState::last_seen_ms`](super::SensorState::last_seen_ms), which is the watch start
/// for a sensor that never reported). Silence of exactly the timeout is offline, as for sensors.
pub fn enterprise_liveness(
    last_seen_ms: impl IntoIterator<Item = i64>,
    now_ms: i64,
    timeout: Duration,
) -> EnterpriseLiveness {
    let Some(latest) = last_seen_ms.into_iter().max() else {
        return EnterpriseLiveness::NoSensors;
    };
    let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
    let since_ms = latest.saturating_add(timeout_ms);
    if now_ms >= since_ms {
        EnterpriseLiveness::Offline { since_ms }
    } else {
        EnterpriseLiveness::Online {
            last_seen_ms: latest,
        }
    }
}

/// Turns successive [`enterprise_liveness`] verdicts into `EnterpriseOffline` raise and clear
/// events, like [`SensorState`](super::SensorState) does for one sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EnterpriseWatch {
    offline: bool,
}

impl EnterpriseWatch {
    /// `offline` is whether an `EnterpriseOffline` alarm is active in the store (after a restart).
    pub fn new(offline: bool) -> EnterpriseWatch {
        EnterpriseWatch { offline }
    }

    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// Re-judges the enterprise at `now_ms` and emits an event when its state changes: raised at
    /// the moment it went offline, cleared at the arrival that brought it back (or now, when its
    /// last sensor was removed).
    pub fn check(
        &mut self,
        last_seen_ms: impl IntoIterator<Item = i64>,
        now_ms: i64,
        timeout: Duration,
        out: &mut impl Extend<AlarmEvent>,
    ) -> EnterpriseLiveness {
        let liveness = enterprise_liveness(last_seen_ms, now_ms, timeout);
        let change = match liveness {
            EnterpriseLiveness::Offline { since_ms } if !self.offline => {
                Some((Transition::Raised, since_ms))
            }
            EnterpriseLiveness::Online { last_seen_ms } if self.offline => {
                Some((Transition::Cleared, last_seen_ms))
            }
            EnterpriseLiveness::NoSensors if self.offline => Some((Transition::Cleared, now_ms)),
            _ => None,
        };
        if let Some((transition, ts_ms)) = change {
            self.offline = transition == Transition::Raised;
            out.extend(Some(AlarmEvent {
                kind: AlarmKind::EnterpriseOffline,
                transition,
                ts_ms,
                value: None,
            }));
        }
        liveness
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_796_112_000_000;
    const MIN: i64 = 60_000;

    #[test]
    fn an_enterprise_is_offline_at_exactly_ten_minutes_after_its_latest_sensor_reported() {
        let seen = [T0 - 30 * MIN, T0, T0 - 5 * MIN];
        assert_eq!(
            enterprise_liveness(seen, T0 + 10 * MIN - 1, ENTERPRISE_OFFLINE_TIMEOUT),
            EnterpriseLiveness::Online { last_seen_ms: T0 }
        );
        assert_eq!(
            enterprise_liveness(seen, T0 + 10 * MIN, ENTERPRISE_OFFLINE_TIMEOUT),
            EnterpriseLiveness::Offline {
                since_ms: T0 + 10 * MIN
            }
        );
    }

    #[test]
    fn one_live_sensor_keeps_the_whole_enterprise_online() {
        let seen = [T0 - 60 * MIN, T0 - 50 * MIN, T0 + 9 * MIN];
        assert!(matches!(
            enterprise_liveness(seen, T0 + 10 * MIN, ENTERPRISE_OFFLINE_TIMEOUT),
            EnterpriseLiveness::Online { .. }
        ));
    }

    #[test]
    fn an_enterprise_without_sensors_is_never_offline() {
        assert_eq!(
            enterprise_liveness([], T0, ENTERPRISE_OFFLINE_TIMEOUT),
            EnterpriseLiveness::NoSensors
        );
    }

    #[test]
    fn extreme_times_and_timeouts_do_not_overflow() {
        assert_eq!(
            enterprise_liveness([i64::MAX], i64::MAX, Duration::MAX),
            EnterpriseLiveness::Offline { since_ms: i64::MAX }
        );
        assert!(matches!(
            enterprise_liveness([i64::MIN], i64::MIN, Duration::ZERO),
            EnterpriseLiveness::Offline { .. }
        ));
    }

    #[test]
    fn the_watch_raises_once_and_clears_when_a_sensor_reports_again() {
        let mut watch = EnterpriseWatch::new(false);
        let mut out = Vec::new();
        let timeout = ENTERPRISE_OFFLINE_TIMEOUT;
        watch.check([T0], T0 + 5 * MIN, timeout, &mut out);
        watch.check([T0], T0 + 11 * MIN, timeout, &mut out);
        watch.check([T0], T0 + 12 * MIN, timeout, &mut out);
        watch.check([T0, T0 + 13 * MIN], T0 + 13 * MIN, timeout, &mut out);
        assert_eq!(
            out,
            [
                AlarmEvent {
                    kind: AlarmKind::EnterpriseOffline,
                    transition: Transition::Raised,
                    ts_ms: T0 + 10 * MIN,
                    value: None
                },
                AlarmEvent {
                    kind: AlarmKind::EnterpriseOffline,
                    transition: Transition::Cleared,
                    ts_ms: T0 + 13 * MIN,
                    value: None
                },
            ]
        );
        assert!(!watch.is_offline());
    }

    #[test]
    fn a_watch_resumed_offline_clears_when_the_last_sensor_is_removed() {
        let mut watch = EnterpriseWatch::new(true);
        let mut out = Vec::new();
        watch.check([], T0, ENTERPRISE_OFFLINE_TIMEOUT, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].transition, Transition::Cleared);
        assert_eq!(out[0].ts_ms, T0);
    }
}
