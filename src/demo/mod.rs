//! The demo district: a deterministic generator and the code that seeds a store with it.

pub mod generator;
