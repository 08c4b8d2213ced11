//! Monitoring of major hazard sources: sensors, readings, alarms.

pub mod alarm;
pub mod alarms;
pub mod gateway;
pub mod ingest;
pub mod mqtt;
pub mod readings;
pub mod sensors;
pub mod sim_gateway;
pub mod simulate;
