//! Yingji (应急): the emergency-management platform of a district government.
//!
//! The binary `yingji` is a thin shell over this library; see `ARCHITECTURE.md`.

pub mod app;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod colour;
pub mod config;
pub mod db;
pub mod demo;
pub mod dualprev;
pub mod error;
pub mod events;
pub mod geo;
pub mod hazard;
pub mod input;
pub mod meta;
pub mod metrics;
pub mod monitor;
pub mod paging;
pub mod registry;
pub mod time;
pub mod warning;
pub mod web;

/// Administrative code of the Wuqing District (GB/T 2260).
pub const DISTRICT_CODE: &str = "120114";
