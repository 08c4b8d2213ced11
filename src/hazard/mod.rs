//! Major hazard sources (GB 18218-2018).

pub mod gb18218;
