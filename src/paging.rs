//! Paging for list endpoints: `limit`/`offset` in, `{"items": [...], "total": N}` out.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 5000;

#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page size, 1–5000 (default 50).
    #[serde(default = "default_limit")]
    pub limit: i64,
    /// Rows to skip (default 0).
    #[serde(default)]
    pub offset: i64,
}

fn default_limit() -> i64 {
    DEFAULT_LIMIT
}

impl Default for Paging {
    fn default() -> Self {
        Paging { limit: DEFAULT_LIMIT, offset: 0 }
    }
}

impl Paging {
    pub fn checked(self) -> Result<Paging, ApiError> {
        if !(1..=MAX_LIMIT).contains(&self.limit) {
            return Err(ApiError::validation("limit", format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        if self.offset < 0 {
            return Err(ApiError::validation("offset", "offset must not be negative"));
        }
        Ok(self)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}
