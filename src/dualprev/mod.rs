//! Dual prevention (双重预防机制): risk grading and control (risk points assessed by LEC or
//! LS into the four colours), hidden-danger investigation and rectification followed to
//! closure, listing for supervision, and the daily safety commitment of hazardous-chemical
//! enterprises. `rules` is pure; the other files hold each area's store and routes.

pub mod checks;
pub mod commitments;
pub mod hidden;
pub mod hidden_routes;
pub mod report;
pub mod risk;
pub mod risk_routes;
pub mod rules;
pub mod stats;
