//! Time: stored as UTC epoch milliseconds, written in the API as RFC 3339 UTC, shown to
//! people in Asia/Shanghai.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

/// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-30T08:00:00.000Z`.
pub fn rfc3339(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => String::new(),
    }
}

/// Local Beijing time for people (exports, reports): `2026-11-30 16:00:00`.
pub fn shanghai(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.with_timezone(&Shanghai).format("%Y-%m-%d %H:%M:%S").to_string(),
        None => String::new(),
    }
}

/// Parses an RFC 3339 time or epoch milliseconds given as a string.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_is_written_with_z_and_shown_in_beijing_time() {
        let ms = 1_796_025_600_000; // 2026-12-01T08:00:00Z
        assert_eq!(rfc3339(ms), "2026-12-01T08:00:00.000Z");
        assert_eq!(shanghai(ms), "2026-12-01 16:00:00");
    }

    #[test]
    fn times_parse_from_rfc3339_with_an_offset_or_epoch_ms() {
        assert_eq!(parse_time("2026-12-01T16:00:00+08:00"), Some(1_796_025_600_000));
        assert_eq!(parse_time("1796025600000"), Some(1_796_025_600_000));
        assert_eq!(parse_time("yesterday"), None);
    }
}
