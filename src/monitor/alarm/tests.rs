//! Golden tests of the sensor state machine: exact boundaries, delays, hysteresis, faults,
//! offline, ordering, and the promise of no allocation per reading.

use super::*;

/// 2026-12-01T08:00:00Z: a realistic epoch so overflow-prone arithmetic is exercised.
const T0: i64 = 1_796_112_000_000;
const S: i64 = 1_000;

/// A tank level in % with the usual four thresholds and a 2 % deadband.
fn settings() -> AlarmSettings {
    AlarmSettings {
        ll: Some(5.0),
        l: Some(10.0),
        h: Some(80.0),
        hh: Some(90.0),
        deadband: 2.0,
        ..AlarmSettings::new(0.0, 100.0)
    }
}

fn config(s: &AlarmSettings) -> AlarmConfig {
    AlarmConfig::new(s).expect("test settings are valid")
}

/// Drives one sensor with readings at `T0 + t_s` seconds that arrive when they are taken.
struct Sensor {
    cfg: AlarmConfig,
    state: SensorState,
    events: Vec<AlarmEvent>,
}

impl Sensor {
    fn new(s: &AlarmSettings) -> Sensor {
        Sensor {
            cfg: config(s),
            state: SensorState::new(T0),
            events: Vec::new(),
        }
    }

    fn read(&mut self, t_s: f64, value: f64) -> Outcome {
        let ts = T0 + (t_s * 1000.0) as i64;
        self.state
            .on_reading(&self.cfg, Reading::new(ts, ts, value), &mut self.events)
    }

    /// The events since the last call, as `(kind, transition, seconds after T0)`.
    fn take(&mut self) -> Vec<(AlarmKind, Transition, f64)> {
        self.events
            .drain(..)
            .map(|e| (e.kind, e.transition, (e.ts_ms - T0) as f64 / 1000.0))
            .collect()
    }

    fn active(&self) -> Vec<AlarmKind> {
        self.state.active().collect()
    }
}

use AlarmKind::{High, HighHigh, Low, LowLow, Offline, SensorFault};
use Transition::{Cleared, Raised};

#[test]
fn a_value_exactly_at_h_raises_h_and_one_just_below_does_not() {
    let mut s = Sensor::new(&settings());
    s.read(0.0, 79.999_999);
    assert_eq!(s.take(), []);
    s.read(1.0, 80.0);
    assert_eq!(s.take(), [(High, Raised, 1.0)]);
}

#[test]
fn a_value_exactly_at_hh_raises_hh_beside_the_standing_h() {
    let mut s = Sensor::new(&settings());
    s.read(0.0, 89.9);
    assert_eq!(s.take(), [(High, Raised, 0.0)]);
    s.read(1.0, 90.0);
    assert_eq!(s.take(), [(HighHigh, Raised, 1.0)]);
    assert_eq!(s.active(), [HighHigh, High]);
}

#[test]
fn values_exactly_at_l_and_ll_raise_them_and_values_just_above_do_not() {
    let mut s = Sensor::new(&settings());
    s.read(0.0, 10.000_001);
    assert_eq!(s.take(), []);
    s.read(1.0, 10.0);
    assert_eq!(s.take(), [(Low, Raised, 1.0)]);
    s.read(2.0, 5.000_001);
    assert_eq!(s.take(), []);
    s.read(3.0, 5.0);
    assert_eq!(s.take(), [(LowLow, Raised, 3.0)]);
    assert_eq!(s.active(), [Low, LowLow]);
}

#[test]
fn h_holds_exactly_at_h_minus_deadband_and_clears_just_below_it() {
    let mut s = Sensor::new(&settings());
    s.read(0.0, 85.0);
    s.take();
    s.read(1.0, 78.0);
    assert_eq!(s.take(), []);
    assert_eq!(s.active(), [High]);
    s.read(2.0, 77.999_999);
    assert_eq!(s.take(), [(High, Cleared, 2.0)]);
    assert_eq!(s.active(), []);
}

#[test]
fn l_holds_exactly_at_l_plus_deadband_and_clears_just_above_it() {
    let mut s = Sensor::new(&settings());
    s.read(0.0, 8.0);
    s.take();
    s.read(1.0, 12.0);
    assert_eq!(s.take(), []);
    s.read(2.0, 12.000_001);
    assert_eq!(s.take(), [(Low, Cleared, 2.0)]);
}

#[test]
fn with_no_deadband_h_clears_at_the_first_value_below_h() {
    let mut s = Sensor::new(&AlarmSettings {
        deadband: 0.0,
        ..settings()
    });
    s.read(0.0, 80.0);
    s.read(1.0, 80.0);
    s.read(2.0, 79.999_999);
    assert_eq!(s.take(), [(High, Raised, 0.0), (High, Cleared, 2.0)]);
}

#[test]
fn a_condition_held_shorter_than_the_on_delay_raises_nothing() {
    let mut s = Sensor::new(&AlarmSettings {
        on_delay_s: 10.0,
        ..settings()
    });
    s.read(0.0, 85.0);
    s.read(5.0, 85.0);
    s.read(9.999, 85.0);
    s.read(10.5, 50.0);
    s.read(30.0, 50.0);
    assert_eq!(s.take(), []);
}

#[test]
fn a_condition_held_exactly_the_on_delay_raises_at_that_reading() {
    let mut s = Sensor::new(&AlarmSettings {
        on_delay_s: 10.0,
        ..settings()
    });
    s.read(0.0, 85.0);
    s.read(5.0, 85.0);
    assert_eq!(s.take(), []);
    s.read(10.0, 85.0);
    assert_eq!(s.take(), [(High, Raised, 10.0)]);
}

#[test]
fn an_interruption_restarts_the_on_delay() {
    let mut s = Sensor::new(&AlarmSettings {
        on_delay_s: 10.0,
        ..settings()
    });
    s.read(0.0, 85.0);
    s.read(6.0, 79.0);
    s.read(8.0, 85.0);
    s.read(17.0, 85.0);
    assert_eq!(s.take(), []);
    s.read(18.0, 85.0);
    assert_eq!(s.take(), [(High, Raised, 18.0)]);
}

#[test]
fn a_gap_between_readings_does_not_restart_the_on_delay() {
    let mut s = Sensor::new(&AlarmSettings {
        on_delay_s: 10.0,
        ..settings()
    });
    s.read(0.0, 85.0);
    s.read(60.0, 85.0);
    assert_eq!(s.take(), [(High, Raised, 60.0)]);
}

#[test]
fn the_off_delay_clears_only_after_the_clear_condition_held_that_long() {
    let mut s = Sensor::new(&AlarmSettings {
        off_delay_s: 10.0,
        ..settings()
    });
    s.read(0.0, 85.0);
    assert_eq!(s.take(), [(High, Raised, 0.0)]);
    s.read(1.0, 70.0);
    s.read(10.999, 70.0);
    // Back inside the deadband: the wait to clear starts over.
    s.read(11.0, 79.0);
    s.read(12.0, 70.0);
    s.read(21.999, 70.0);
    assert_eq!(s.take(), []);
    s.read(22.0, 70.0);
    assert_eq!(s.take(), [(High, Cleared, 22.0)]);
}

#[test]
fn a_thousand_oscillations_inside_the_deadband_produce_no_events() {
    let mut s = Sensor::new(&settings());
    s.read(0.0, 81.0);
    assert_eq!(s.take(), [(High, Raised, 0.0)]);
    for i in 0..1000 {
        let t = 1.0 + 2.0 * f64::from(i);
        s.read(t, 78.0);
        s.read(t + 1.0, 80.5);
    }
    assert_eq!(s.take(), []);
    assert_eq!(s.active(), [High]);

    // Below H the same dance never raises: the deadband only delays clears.
    let mut s = Sensor::new(&settings());
    for i in 0..1000 {
        let t = 2.0 * f64::from(i);
        s.read(t, 78.0);
        s.read(t + 1.0, 79.999);
    }
    assert_eq!(s.take(), []);
}

#[test]
fn an_escalation_to_hh_and_back_clears_hh_first_and_h_last() {
    let mut s = Sensor::new(&settings());
    s.read(0.0, 82.0);
    s.read(1.0, 91.0);
    s.read(2.0, 88.5); // inside HH's deadband
    s.read(3.0, 87.0);
    s.read(4.0, 79.0); // inside H's deadband
    s.read(5.0, 50.0);
    assert_eq!(
        s.take(),
        [
            (High, Raised, 0.0),
            (HighHigh, Raised, 1.0),
            (HighHigh, Cleared, 3.0),
            (High, Cleared, 5.0),
        ]
    );
}

#[test]
fn a_jump_from_normal_past_hh_raises_h_then_hh_in_one_reading() {
    let mut s = Sensor::new(&settings());
    s.read(0.0, 50.0);
    s.read(1.0, 95.0);
    assert_eq!(s.take(), [(High, Raised, 1.0), (HighHigh, Raised, 1.0)]);
}

#[test]
fn a_jump_from_hh_to_ll_unwinds_the_high_side_before_raising_the_low_side() {
    let mut s = Sensor::new(&settings());
    s.read(0.0, 95.0);
    s.take();
    s.read(1.0, 1.0);
    assert_eq!(
        s.take(),
        [
            (HighHigh, Cleared, 1.0),
            (High, Cleared, 1.0),
            (Low, Raised, 1.0),
            (LowLow, Raised, 1.0),
        ]
    );
}

#[test]
fn an_out_of_range_value_raises_a_fault_at_once_and_not_a_level_alarm() {
    let mut s = Sensor::new(&AlarmSettings {
        on_delay_s: 5.0,
        ..settings()
    });
    s.read(0.0, 50.0);
    s.read(1.0, 100.000_1);
    assert_eq!(s.take(), [(SensorFault, Raised, 1.0)]);
    s.read(20.0, 120.0);
    assert_eq!(s.take(), []);
    s.read(21.0, 100.0); // the range end is inside the range
    assert_eq!(s.take(), [(SensorFault, Cleared, 21.0)]);
    assert_eq!(s.active(), []);
}

#[test]
fn a_fault_keeps_active_level_alarms_and_restarts_pending_delays() {
    let mut s = Sensor::new(&AlarmSettings {
        on_delay_s: 5.0,
        off_delay_s: 5.0,
        ..settings()
    });
    s.read(0.0, 95.0);
    s.read(5.0, 95.0);
    assert_eq!(s.take(), [(High, Raised, 5.0), (HighHigh, Raised, 5.0)]);
    s.read(6.0, 50.0); // clear delay starts for both
    s.read(7.0, -3.0); // fault: the value says nothing about the tank
    s.read(8.0, 50.0);
    s.read(12.0, 50.0);
    assert_eq!(
        s.take(),
        [(SensorFault, Raised, 7.0), (SensorFault, Cleared, 8.0)]
    );
    assert_eq!(s.active(), [HighHigh, High]);
    s.read(13.0, 50.0);
    assert_eq!(s.take(), [(HighHigh, Cleared, 13.0), (High, Cleared, 13.0)]);
}

#[test]
fn nan_infinity_and_bad_quality_are_faults_and_nan_carries_no_value() {
    let mut s = Sensor::new(&settings());
    let ts = |t: i64| T0 + t * S;
    let mut out = Vec::new();
    s.state
        .on_reading(&s.cfg, Reading::new(ts(0), ts(0), f64::NAN), &mut out);
    s.state
        .on_reading(&s.cfg, Reading::new(ts(1), ts(1), 50.0), &mut out);
    s.state
        .on_reading(&s.cfg, Reading::new(ts(2), ts(2), f64::INFINITY), &mut out);
    s.state
        .on_reading(&s.cfg, Reading::new(ts(3), ts(3), 50.0), &mut out);
    let bad = Reading {
        quality: Quality::Bad,
        ..Reading::new(ts(4), ts(4), 85.0)
    };
    s.state.on_reading(&s.cfg, bad, &mut out);
    let summary: Vec<_> = out
        .iter()
        .map(|e| (e.kind, e.transition, e.value))
        .collect();
    assert_eq!(
        summary,
        [
            (SensorFault, Raised, None),
            (SensorFault, Cleared, Some(50.0)),
            (SensorFault, Raised, None),
            (SensorFault, Cleared, Some(50.0)),
            (SensorFault, Raised, Some(85.0)),
        ]
    );
    assert!(!s.state.is_active(High));
}

#[test]
fn a_sensor_is_offline_at_exactly_the_timeout_and_not_a_millisecond_before() {
    let mut s = Sensor::new(&settings());
    s.read(0.0, 50.0);
    let mut out = Vec::new();
    assert!(!s.state.check_offline(&s.cfg, T0 + 300 * S - 1, &mut out));
    assert_eq!(out, []);
    assert_eq!(s.state.offline_deadline_ms(&s.cfg), T0 + 300 * S);
    assert!(s.state.check_offline(&s.cfg, T0 + 300 * S, &mut out));
    assert!(s.state.check_offline(&s.cfg, T0 + 400 * S, &mut out));
    assert_eq!(
        out,
        [AlarmEvent {
            kind: Offline,
            transition: Raised,
            ts_ms: T0 + 300 * S,
            value: Some(50.0)
        }]
    );
}

#[test]
fn the_offline_raise_is_stamped_at_the_deadline_however_late_the_check_runs() {
    let mut s = Sensor::new(&settings());
    s.read(0.0, 50.0);
    s.state.check_offline(&s.cfg, T0 + 3_600 * S, &mut s.events);
    assert_eq!(s.take(), [(Offline, Raised, 300.0)]);
}

#[test]
fn the_next_reading_clears_offline_at_its_arrival_and_is_evaluated() {
    let mut s = Sensor::new(&settings());
    s.read(0.0, 50.0);
    s.state.check_offline(&s.cfg, T0 + 600 * S, &mut s.events);
    s.take();
    // Sampled before the offline raise, delivered after it: the clear follows the raise.
    let reading = Reading::new(T0 + 200 * S, T0 + 700 * S, 85.0);
    s.state.on_reading(&s.cfg, reading, &mut s.events);
    assert_eq!(s.take(), [(Offline, Cleared, 700.0), (High, Raised, 200.0)]);
    assert_eq!(s.state.last_seen_ms(), T0 + 700 * S);
}

#[test]
fn a_sensor_that_never_reports_goes_offline_one_timeout_after_watching_began() {
    let cfg = config(&settings());
    let mut state = SensorState::new(T0);
    let mut out = Vec::new();
    assert!(state.check_offline(&cfg, T0 + 300 * S, &mut out));
    assert_eq!(out[0].ts_ms, T0 + 300 * S);
    assert_eq!(out[0].value, None);
}

#[test]
fn an_older_reading_is_ignored_reported_and_does_not_move_the_state_back() {
    let mut s = Sensor::new(&settings());
    assert_eq!(s.read(10.0, 85.0), Outcome::Accepted);
    assert_eq!(s.take(), [(High, Raised, 10.0)]);
    let before = s.state.clone();
    assert_eq!(s.read(9.0, 50.0), Outcome::OutOfOrder);
    assert_eq!(s.take(), []);
    assert_eq!(s.state, before);
    assert_eq!(s.read(11.0, 50.0), Outcome::Accepted);
    assert_eq!(s.take(), [(High, Cleared, 11.0)]);
}

#[test]
fn a_duplicate_timestamp_is_idempotent_even_with_a_different_value() {
    let mut s = Sensor::new(&AlarmSettings {
        on_delay_s: 10.0,
        ..settings()
    });
    s.read(0.0, 85.0);
    let before = s.state.clone();
    assert_eq!(s.read(0.0, 85.0), Outcome::Duplicate);
    assert_eq!(s.read(0.0, 20.0), Outcome::Duplicate);
    assert_eq!(s.state, before);
    s.read(10.0, 85.0);
    assert_eq!(s.take(), [(High, Raised, 10.0)]);
}

#[test]
fn ignored_readings_are_no_sign_of_life() {
    let mut s = Sensor::new(&settings());
    s.read(100.0, 50.0);
    for late in [T0, T0 + 100 * S] {
        let replay = Reading::new(late, T0 + 350 * S, 50.0);
        assert!(
            !s.state
                .on_reading(&s.cfg, replay, &mut s.events)
                .is_accepted()
        );
    }
    assert!(s.state.check_offline(&s.cfg, T0 + 400 * S, &mut s.events));
}

#[test]
fn a_reading_stamped_far_ahead_of_its_arrival_is_ignored_and_cannot_freeze_the_sensor() {
    let mut s = Sensor::new(&settings());
    let year_2099 = 4_070_908_800_000;
    let wrong = Reading::new(year_2099, T0, 95.0);
    assert_eq!(
        s.state.on_reading(&s.cfg, wrong, &mut s.events),
        Outcome::AheadOfClock
    );
    // Within the 5-minute allowance a clock ahead is tolerated.
    let ahead = Reading::new(T0 + 300 * S, T0, 85.0);
    assert_eq!(
        s.state.on_reading(&s.cfg, ahead, &mut s.events),
        Outcome::Accepted
    );
    assert_eq!(s.take(), [(High, Raised, 300.0)]);
}

#[test]
fn a_resumed_state_clears_an_alarm_left_active_before_a_restart() {
    let cfg = config(&settings());
    let mut state = SensorState::resume(T0, Some(T0 - S), &[High, AlarmKind::EnterpriseOffline]);
    assert_eq!(state.active().collect::<Vec<_>>(), [High]);
    assert_eq!(state.last_reading_ms(), Some(T0 - S));
    let mut out = Vec::new();
    let stale = Reading::new(T0 - S, T0, 50.0);
    assert_eq!(state.on_reading(&cfg, stale, &mut out), Outcome::Duplicate);
    state.on_reading(&cfg, Reading::new(T0, T0, 50.0), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].kind, out[0].transition), (High, Cleared));
}

#[test]
fn a_sensor_with_only_a_high_threshold_never_raises_low_alarms() {
    let mut s = Sensor::new(&AlarmSettings {
        h: Some(1.0),
        ..AlarmSettings::new(0.0, 5.0)
    });
    s.read(0.0, 0.0);
    s.read(1.0, 5.0);
    s.read(2.0, 0.0);
    assert_eq!(s.take(), [(High, Raised, 1.0), (High, Cleared, 2.0)]);
}

#[test]
fn extreme_timestamps_do_not_overflow() {
    let cfg = config(&AlarmSettings {
        on_delay_s: 10.0,
        ..settings()
    });
    let mut state = SensorState::new(i64::MAX);
    let mut out = Vec::new();
    state.on_reading(&cfg, Reading::new(i64::MIN + 1, i64::MIN, 85.0), &mut out);
    state.on_reading(&cfg, Reading::new(i64::MAX, i64::MAX, 85.0), &mut out);
    assert!(!state.check_offline(&cfg, i64::MAX - 1, &mut out));
    assert!(state.check_offline(&cfg, i64::MAX, &mut out));
    assert_eq!(out.iter().filter(|e| e.kind == High).count(), 1);
}

#[test]
fn kinds_map_to_colours_and_severities_as_documented() {
    let table: Vec<_> = AlarmKind::ALL
        .iter()
        .map(|k| (k.code(), k.colour(), k.severity()))
        .collect();
    assert_eq!(
        table,
        [
            ("HH", Colour::Red, Severity::High),
            ("H", Colour::Yellow, Severity::Low),
            ("L", Colour::Yellow, Severity::Low),
            ("LL", Colour::Red, Severity::High),
            ("offline", Colour::Blue, Severity::Low),
            ("sensor_fault", Colour::Blue, Severity::Low),
            ("enterprise_offline", Colour::Orange, Severity::High),
        ]
    );
    let json = serde_json::to_string(&AlarmEvent {
        kind: HighHigh,
        transition: Raised,
        ts_ms: T0,
        value: Some(91.5),
    })
    .expect("serialisable");
    assert_eq!(
        json,
        r#"{"kind":"HH","transition":"raised","ts_ms":1796112000000,"value":91.5}"#
    );
}

#[test]
fn the_per_sensor_state_fits_the_memory_budget() {
    // Budget: 200 bytes per sensor for everything beyond the store; state plus its own config.
    assert_eq!(std::mem::size_of::<SensorState>(), 64);
    assert_eq!(std::mem::size_of::<AlarmConfig>(), 72);
}

/// Counts allocations made by the current thread only, so tests running in parallel on other
/// threads do not disturb the count. Wraps the system allocator and changes nothing else.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    }

    struct Counting;

    // SAFETY: every call is forwarded unchanged to `System`; the counter is a const-initialised
    // thread local, which neither allocates nor has a destructor.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    pub fn allocations() -> u64 {
        ALLOCATIONS.with(Cell::get)
    }
}

#[test]
fn the_hot_path_allocates_nothing_once_the_event_buffer_has_grown() {
    let cfg = config(&AlarmSettings {
        on_delay_s: 2.0,
        off_delay_s: 2.0,
        ..settings()
    });
    let mut states: Vec<SensorState> = (0..100).map(|_| SensorState::new(T0)).collect();
    let mut out = Vec::with_capacity(16);
    let values = [50.0, 85.0, 95.0, 1.0, 120.0, f64::NAN, 7.0, 79.0];

    let before = counting::allocations();
    let mut events = 0;
    for step in 0..10_000_i64 {
        for (i, state) in states.iter_mut().enumerate() {
            let ts = T0 + step * S;
            let value = values[(step as usize / 3 + i) % values.len()];
            state.on_reading(&cfg, Reading::new(ts, ts, value), &mut out);
            state.check_offline(&cfg, ts, &mut out);
            events += out.len();
            out.clear();
        }
    }
    assert_eq!(counting::allocations() - before, 0);
    assert!(events > 10_000, "the workload must exercise transitions");
    // The counter itself must see allocations, or the zero above proves nothing.
    let probe = std::hint::black_box(Box::new(1_u8));
    assert_eq!(counting::allocations() - before, 1);
    drop(probe);
}
