//! Monitoring.
pub mod readings;
