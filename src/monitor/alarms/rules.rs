//! The alarm lifecycle rules, free of I/O: which action is allowed in which state, and when an
//! unacknowledged alarm is raised to the town and to the district duty officer.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where an alarm stands with the people who handle it (the condition itself is `active`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Unacknowledged,
    Acknowledged,
    Disposed,
}

impl Status {
    pub fn key(self) -> &'static str {
        match self {
            Status::Unacknowledged => "unacknowledged",
            Status::Acknowledged => "acknowledged",
            Status::Disposed => "disposed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Unacknowledged,
            Status::Acknowledged,
            Status::Disposed,
        ]
        .into_iter()
        .find(|x| x.key() == s)
    }
}

/// Who an alarm has reached: the enterprise first, then its town, then the district duty
/// officer. Ordered, so `max` is the furthest.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Escalation {
    Enterprise,
    Town,
    District,
}

impl Escalation {
    pub fn key(self) -> &'static str {
        match self {
            Escalation::Enterprise => "enterprise",
            Escalation::Town => "town",
            Escalation::District => "district",
        }
    }

    pub fn parse(s: &str) -> Option<Escalation> {
        [
            Escalation::Enterprise,
            Escalation::Town,
            Escalation::District,
        ]
        .into_iter()
        .find(|x| x.key() == s)
    }
}

/// Minutes without acknowledgement before an alarm is raised to the town, then to the
/// district (issue 3: defaults 5 and 15, settings `monitor.escalate_to_town_min` and
/// `monitor.escalate_to_district_min`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscalationPolicy {
    pub to_town_ms: i64,
    pub to_district_ms: i64,
}

impl Default for EscalationPolicy {
    fn default() -> Self {
        EscalationPolicy {
            to_town_ms: 5 * 60_000,
            to_district_ms: 15 * 60_000,
        }
    }
}

impl EscalationPolicy {
    /// The level an alarm should have reached at `now_ms`, if that is beyond `current`. Only an
    /// unacknowledged alarm escalates, whether or not its condition has ended: an alarm nobody
    /// looked at must reach someone who will. The deadlines count from the raise; exactly at a
    /// deadline the step is due.
    pub fn due(
        &self,
        status: Status,
        current: Escalation,
        raised_at_ms: i64,
        now_ms: i64,
    ) -> Option<Escalation> {
        if status != Status::Unacknowledged {
            return None;
        }
        let waited = now_ms.saturating_sub(raised_at_ms);
        let target = if waited >= self.to_district_ms {
            Escalation::District
        } else if waited >= self.to_town_ms {
            Escalation::Town
        } else {
            Escalation::Enterprise
        };
        (target > current).then_some(target)
    }
}

/// What a person does to an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    Dispose,
    Assign,
}

/// Why an action is refused in the alarm's current state (HTTP 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("the alarm is already acknowledged")]
    AlreadyAcknowledged,
    #[error("the alarm is already disposed")]
    AlreadyDisposed,
}

/// The status after `action`, or why it is refused. Disposing an unacknowledged alarm
/// acknowledges it implicitly: the person disposing has clearly seen it.
pub fn apply(status: Status, action: Action) -> Result<Status, LifecycleError> {
    match (status, action) {
        (Status::Disposed, _) => Err(LifecycleError::AlreadyDisposed),
        (Status::Acknowledged, Action::Acknowledge) => Err(LifecycleError::AlreadyAcknowledged),
        (Status::Unacknowledged, Action::Acknowledge) => Ok(Status::Acknowledged),
        (_, Action::Dispose) => Ok(Status::Disposed),
        (s, Action::Assign) => Ok(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn an_unacknowledged_alarm_reaches_the_town_at_five_minutes_and_the_district_at_fifteen() {
        let p = EscalationPolicy::default();
        let t0 = 1_800_000_000_000;
        let due = |now, current| p.due(Status::Unacknowledged, current, t0, now);
        assert_eq!(due(t0 + 5 * MIN - 1, Escalation::Enterprise), None);
        assert_eq!(
            due(t0 + 5 * MIN, Escalation::Enterprise),
            Some(Escalation::Town)
        );
        assert_eq!(due(t0 + 5 * MIN, Escalation::Town), None);
        assert_eq!(due(t0 + 15 * MIN - 1, Escalation::Town), None);
        assert_eq!(
            due(t0 + 15 * MIN, Escalation::Town),
            Some(Escalation::District)
        );
        assert_eq!(
            due(t0 + 60 * MIN, Escalation::Enterprise),
            Some(Escalation::District),
            "a sweep that comes late goes straight to the level due"
        );
        assert_eq!(due(t0 + 60 * MIN, Escalation::District), None);
    }

    #[test]
    fn an_acknowledged_or_disposed_alarm_never_escalates() {
        let p = EscalationPolicy::default();
        for s in [Status::Acknowledged, Status::Disposed] {
            assert_eq!(p.due(s, Escalation::Enterprise, 0, 60 * MIN), None);
        }
    }

    #[test]
    fn the_lifecycle_allows_each_action_only_where_it_makes_sense() {
        use Action::*;
        use Status::*;
        assert_eq!(apply(Unacknowledged, Acknowledge), Ok(Acknowledged));
        assert_eq!(
            apply(Acknowledged, Acknowledge),
            Err(LifecycleError::AlreadyAcknowledged)
        );
        assert_eq!(
            apply(Disposed, Acknowledge),
            Err(LifecycleError::AlreadyDisposed)
        );
        assert_eq!(apply(Unacknowledged, Dispose), Ok(Disposed));
        assert_eq!(apply(Acknowledged, Dispose), Ok(Disposed));
        assert_eq!(
            apply(Disposed, Dispose),
            Err(LifecycleError::AlreadyDisposed)
        );
        assert_eq!(apply(Unacknowledged, Assign), Ok(Unacknowledged));
        assert_eq!(apply(Acknowledged, Assign), Ok(Acknowledged));
        assert_eq!(
            apply(Disposed, Assign),
            Err(LifecycleError::AlreadyDisposed)
        );
    }
}
