use super::*;
use crate::auth::Role;

fn d(l: f64, e: f64, c: f64) -> (f64, u8, Colour) {
    let r = lec(l, e, c, &Bands::default()).expect("valid factors");
    (r.d, r.band.grade, r.colour)
}

#[test]
fn lec_grades_every_band_edge_with_the_default_bands() {
    // Each edge: the largest reachable D at the edge and the smallest above it.
    assert_eq!(d(10.0, 10.0, 3.0), (300.0, 2, Colour::Orange));
    assert_eq!(d(6.0, 0.5, 100.0), (300.0, 2, Colour::Orange));
    assert_eq!(d(3.0, 3.0, 40.0), (360.0, 1, Colour::Red));
    assert_eq!(d(10.0, 6.0, 3.0), (180.0, 2, Colour::Orange));
    assert_eq!(d(3.0, 0.5, 100.0), (150.0, 3, Colour::Yellow));
    assert_eq!(d(10.0, 1.0, 7.0), (70.0, 4, Colour::Blue));
    assert_eq!(d(0.5, 10.0, 15.0), (75.0, 3, Colour::Yellow));
    assert_eq!(d(10.0, 2.0, 1.0), (20.0, 5, Colour::Blue));
    assert_eq!(d(3.0, 1.0, 7.0), (21.0, 4, Colour::Blue));
    assert_eq!(d(10.0, 10.0, 100.0), (10_000.0, 1, Colour::Red));
    assert_eq!(d(0.1, 0.5, 1.0), (0.05, 5, Colour::Blue));
}

#[test]
fn lec_colour_edges_belong_to_the_lower_band() {
    let b = Bands::default();
    assert_eq!(b.lec_colour(320.0), Colour::Orange);
    assert_eq!(b.lec_colour(320.05), Colour::Red);
    assert_eq!(b.lec_colour(160.0), Colour::Yellow);
    assert_eq!(b.lec_colour(160.05), Colour::Orange);
    assert_eq!(b.lec_colour(70.0), Colour::Blue);
    assert_eq!(b.lec_colour(70.05), Colour::Yellow);
    // 0.1 × 10 × 100 must be exactly 100, not 100.00000000000001.
    assert_eq!(d(0.1, 10.0, 100.0).0, 100.0);
}

#[test]
fn lec_follows_the_bands_in_force() {
    let b = Bands {
        lec_red_above: 400.0,
        lec_orange_above: 200.0,
        ..Bands::default()
    };
    assert_eq!(
        lec(3.0, 3.0, 40.0, &b).map(|r| r.colour),
        Ok(Colour::Orange)
    );
    assert_eq!(
        lec(10.0, 6.0, 3.0, &b).map(|r| r.colour),
        Ok(Colour::Yellow)
    );
}

#[test]
fn lec_rejects_scores_outside_the_tables_naming_the_factor() {
    let b = Bands::default();
    assert_eq!(lec(4.0, 6.0, 7.0, &b).map_err(|e| e.field), Err("l"));
    assert_eq!(lec(3.0, 5.0, 7.0, &b).map_err(|e| e.field), Err("e"));
    assert_eq!(lec(3.0, 6.0, 50.0, &b).map_err(|e| e.field), Err("c"));
    assert_eq!(lec(f64::NAN, 6.0, 7.0, &b).map_err(|e| e.field), Err("l"));
}

#[test]
fn ls_grades_every_band_edge_with_the_default_bands() {
    let b = Bands::default();
    let colour = |l: f64, s: f64| ls(l, s, &b).map(|r| (r.r, r.colour));
    assert_eq!(colour(4.0, 5.0), Ok((20, Colour::Red)));
    assert_eq!(colour(5.0, 5.0), Ok((25, Colour::Red)));
    assert_eq!(colour(4.0, 4.0), Ok((16, Colour::Orange)));
    assert_eq!(colour(3.0, 5.0), Ok((15, Colour::Orange)));
    assert_eq!(colour(3.0, 4.0), Ok((12, Colour::Yellow)));
    assert_eq!(colour(3.0, 3.0), Ok((9, Colour::Yellow)));
    assert_eq!(colour(2.0, 4.0), Ok((8, Colour::Blue)));
    assert_eq!(colour(1.0, 1.0), Ok((1, Colour::Blue)));
    // Every product of the matrix gets the band its range says.
    for l in 1..=5u32 {
        for s in 1..=5u32 {
            let r = l * s;
            let want = match r {
                20..=25 => Colour::Red,
                15..=16 => Colour::Orange,
                9..=12 => Colour::Yellow,
                _ => Colour::Blue,
            };
            assert_eq!(b.ls_colour(r), want, "R = {r}");
        }
    }
}

#[test]
fn ls_rejects_values_outside_one_to_five() {
    let b = Bands::default();
    assert_eq!(ls(0.0, 3.0, &b).map_err(|e| e.field), Err("l"));
    assert_eq!(ls(3.0, 6.0, &b).map_err(|e| e.field), Err("s"));
    assert_eq!(ls(2.5, 3.0, &b).map_err(|e| e.field), Err("l"));
}

#[test]
fn bands_must_rise_from_yellow_to_red() {
    assert!(Bands::default().validate().is_ok());
    let bad = Bands {
        lec_orange_above: 400.0,
        ..Bands::default()
    };
    assert!(bad.validate().is_err());
    let bad = Bands {
        ls_red_min: 26,
        ..Bands::default()
    };
    assert!(bad.validate().is_err());
}

#[test]
fn an_enterprise_takes_its_highest_risk_point_colour() {
    assert_eq!(
        enterprise_colour([Colour::Blue, Colour::Orange, Colour::Yellow]),
        Some(Colour::Orange)
    );
    assert_eq!(enterprise_colour([]), None);
}

#[test]
fn a_town_shade_is_the_rounded_mean_but_at_most_one_step_below_its_worst() {
    let c = |red, orange, yellow, blue| ColourCounts {
        red,
        orange,
        yellow,
        blue,
    };
    assert_eq!(town_shade(&c(0, 0, 0, 0)), None);
    assert_eq!(town_shade(&c(0, 0, 0, 10)), Some(Colour::Blue));
    // One yellow among nine blue: mean 1.1 → blue, worst yellow allows blue (one step below).
    assert_eq!(town_shade(&c(0, 0, 1, 9)), Some(Colour::Blue));
    // One red among 20 blue: mean ≈ 1.14, but never more than one step below red → orange.
    assert_eq!(town_shade(&c(1, 0, 0, 20)), Some(Colour::Orange));
    // Mean exactly 2.5 rounds half up to orange.
    assert_eq!(town_shade(&c(0, 1, 1, 0)), Some(Colour::Orange));
    assert_eq!(town_shade(&c(3, 0, 0, 0)), Some(Colour::Red));
    assert_eq!(town_shade(&c(1, 1, 0, 0)), Some(Colour::Red));
}

#[test]
fn every_transition_for_every_role_is_allowed_or_refused_with_its_reason() {
    use HdAction::*;
    use HdState::*;
    // The full table: (action, level, state) → the next state when a permitted role acts.
    let next = |a: HdAction, level: HdLevel, s: HdState| -> Option<HdState> {
        match (a, s) {
            (Rectify, Reported) => Some(Rectifying),
            (Submit, Rectifying) => Some(AwaitingAcceptance),
            (Accept, AwaitingAcceptance) => Some(Closed),
            (Reject, AwaitingAcceptance) => Some(Rectifying),
            (Close, Rectifying | AwaitingAcceptance) => Some(Closed),
            (List, s) if level == HdLevel::Major && s != Closed => Some(s),
            _ => None,
        }
    };
    let permitted = |r: Role, a: HdAction, level: HdLevel| -> bool {
        match r {
            Role::Admin => true,
            Role::Enterprise => match a {
                Rectify | Submit => true,
                Accept | Reject | Close => level == HdLevel::General,
                List => false,
            },
            Role::Supervisor | Role::Town => matches!(a, Accept | Reject | List),
            Role::Duty | Role::Leader => false,
        }
    };
    let mut checked = 0;
    for role in Role::ALL {
        for action in HdAction::ALL {
            for level in [HdLevel::General, HdLevel::Major] {
                for state in HdState::ALL {
                    let got = transition(role, action, level, state);
                    let want = if !permitted(role, action, level) {
                        Err("forbidden")
                    } else if let Some(n) = next(action, level, state) {
                        Ok(n)
                    } else {
                        Err("conflict")
                    };
                    match (&got, want) {
                        (Ok(n), Ok(w)) => assert_eq!(*n, w),
                        (Err(TransitionError::Forbidden(m)), Err("forbidden"))
                        | (Err(TransitionError::Conflict(m)), Err("conflict")) => {
                            assert!(!m.is_empty())
                        }
                        _ => panic!(
                            "{role:?} {action:?} {level:?} {state:?}: got {got:?}, want {want:?}"
                        ),
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 6 * 6 * 2 * 4);
}

#[test]
fn refusals_say_why() {
    let e = transition(
        Role::Town,
        HdAction::Rectify,
        HdLevel::General,
        HdState::Reported,
    );
    assert!(matches!(e, Err(TransitionError::Forbidden(m)) if m.contains("enterprise rectifies")));
    let e = transition(
        Role::Enterprise,
        HdAction::Accept,
        HdLevel::Major,
        HdState::AwaitingAcceptance,
    );
    assert!(matches!(e, Err(TransitionError::Forbidden(m)) if m.contains("major")));
    let e = transition(
        Role::Supervisor,
        HdAction::List,
        HdLevel::General,
        HdState::Reported,
    );
    assert!(matches!(e, Err(TransitionError::Conflict(m)) if m.contains("only a major")));
    let e = transition(
        Role::Enterprise,
        HdAction::Submit,
        HdLevel::General,
        HdState::Reported,
    );
    assert!(
        matches!(e, Err(TransitionError::Conflict(m)) if m == "cannot submit a hidden danger that is reported")
    );
}

#[test]
fn overdue_starts_one_millisecond_after_the_deadline() {
    let deadline = 1_000_000;
    assert!(!is_overdue(HdState::Rectifying, Some(deadline), deadline));
    assert!(is_overdue(
        HdState::Rectifying,
        Some(deadline),
        deadline + 1
    ));
    assert!(!is_overdue(HdState::Closed, Some(deadline), deadline + 1));
    assert!(!is_overdue(HdState::Reported, None, i64::MAX));
    assert!(was_overdue(Some(deadline), Some(deadline + 1), 0));
    assert!(!was_overdue(Some(deadline), Some(deadline), i64::MAX));
    assert!(was_overdue(Some(deadline), None, deadline + 1));
}

#[test]
fn a_date_deadline_ends_at_shanghai_midnight() {
    let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default();
    // 2026-12-01T00:00+08:00 = 2026-11-30T16:00Z.
    assert_eq!(
        crate::time::rfc3339(end_of_day_ms(day) + 1),
        "2026-11-30T16:00:00.000Z"
    );
    assert_eq!(shanghai_day(end_of_day_ms(day)), day);
}

#[test]
fn check_periods_follow_the_shanghai_calendar() {
    // 2026-11-30 is a Monday; 01:00 in Shanghai is still 11-29 in UTC.
    let t = crate::time::parse_time("2026-11-30T01:00:00+08:00").unwrap_or_default();
    let (s, e) = Cycle::Daily.period_of(t);
    assert_eq!(crate::time::rfc3339(s), "2026-11-29T16:00:00.000Z");
    assert_eq!(e - s, 86_400_000);
    let (s, _) = Cycle::Weekly.period_of(t);
    assert_eq!(crate::time::rfc3339(s), "2026-11-29T16:00:00.000Z");
    let (s, e) = Cycle::Monthly.period_of(t);
    assert_eq!(crate::time::rfc3339(s), "2026-10-31T16:00:00.000Z");
    assert_eq!(crate::time::rfc3339(e), "2026-11-30T16:00:00.000Z");
    let (s, e) = Cycle::Quarterly.period_of(t);
    assert_eq!(crate::time::rfc3339(s), "2026-09-30T16:00:00.000Z");
    assert_eq!(crate::time::rfc3339(e), "2026-12-31T16:00:00.000Z");
    let (s, _) = Cycle::Yearly.period_of(t);
    assert_eq!(crate::time::rfc3339(s), "2025-12-31T16:00:00.000Z");
    let weeks = Cycle::Weekly.periods(t - 20 * 86_400_000, t, 100);
    assert_eq!(weeks.len(), 4);
    assert_eq!(Cycle::Daily.periods(t - 20 * 86_400_000, t, 5).len(), 5);
}

#[test]
fn a_period_without_a_record_is_missed_once_it_has_ended() {
    assert_eq!(period_status(100, true, 50), PeriodStatus::Done);
    assert_eq!(period_status(100, false, 99), PeriodStatus::Due);
    assert_eq!(period_status(100, false, 100), PeriodStatus::Missed);
}

#[test]
fn a_commitment_is_on_time_up_to_the_deadline_and_missing_after_it() {
    assert_eq!(
        commitment_status(Some(10), 10, 50),
        CommitmentStatus::OnTime
    );
    assert_eq!(commitment_status(Some(11), 10, 50), CommitmentStatus::Late);
    assert_eq!(commitment_status(None, 10, 10), CommitmentStatus::Pending);
    assert_eq!(commitment_status(None, 10, 11), CommitmentStatus::Missing);
}

#[test]
fn a_safe_state_contradicts_unacknowledged_high_alarms_and_open_major_hidden_dangers() {
    assert_eq!(contradictions(true, 0, 0), vec![]);
    assert_eq!(contradictions(false, 3, 2), vec![]);
    assert_eq!(
        contradictions(true, 2, 0),
        vec![Contradiction::UnacknowledgedHighAlarms { count: 2 }]
    );
    assert_eq!(
        contradictions(true, 1, 1),
        vec![
            Contradiction::UnacknowledgedHighAlarms { count: 1 },
            Contradiction::OpenMajorHiddenDangers { count: 1 }
        ]
    );
}

#[test]
fn a_day_is_read_only_in_its_full_form() {
    assert_eq!(
        parse_day(" 2026-03-01 "),
        NaiveDate::from_ymd_opt(2026, 3, 1)
    );
    assert_eq!(parse_day("26-3-1"), None);
    assert_eq!(parse_day("2026-3-01"), None);
    assert_eq!(parse_day("2026-02-30"), None);
}
