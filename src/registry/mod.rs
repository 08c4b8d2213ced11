//! Registry (底数): administrative units, enterprises and public facilities.

pub mod boundaries;
pub mod credit_code;
pub mod import;
pub mod industry;
pub mod model;
pub mod routes;
pub mod rules;
pub mod store;
pub mod table;
