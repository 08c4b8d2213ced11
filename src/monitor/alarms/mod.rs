//! Alarm records and their lifecycle: the [`engine`] runs the pure state machines of
//! [`crate::monitor::alarm`] over every ingested batch and stores what they decide; people
//! acknowledge, dispose and assign alarms through the [`routes`]; unacknowledged alarms are
//! escalated to the town and the district by [`rules::EscalationPolicy`]; every change is
//! pushed live through [`crate::events`].

pub mod engine;
pub mod model;
pub mod routes;
pub mod rules;
pub mod store;

pub use model::{Alarm, AlarmChange, AlarmDetail, TimelineEntry};
