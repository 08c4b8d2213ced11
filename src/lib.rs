//! Yingji (应急): the emergency-management platform of a district government.
//!
//! The binary `yingji` is a thin shell over this library; see `ARCHITECTURE.md`.

pub mod demo;
pub mod geo;
pub mod registry;
