//! Early warning (预警发布): compose, approve and publish warnings as CAP 1.2, import CAP from
//! other issuers, relay district → town with acknowledgement, disseminate through channels
//! with receipts, and measure public coverage. `model` and `cap` are pure. See
//! `docs/warnings.md`.

pub mod area;
pub mod atom;
pub mod cap;
pub mod dispatch;
pub mod model;
pub mod routes;
pub mod store;
