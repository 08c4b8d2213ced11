//! Registry (底数): administrative units, enterprises and public facilities.

pub mod credit_code;
pub mod industry;
pub mod model;
