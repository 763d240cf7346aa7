//! Timestamps: stored as UTC unix milliseconds, shown as RFC 3339 with millisecond precision.

use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time in UTC unix milliseconds that serializes as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub i64);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_ms(self.0))
    }
}

/// Milliseconds since the Unix epoch, now: the one clock every layer reads.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Formats milliseconds as `2026-11-22T03:00:00.123Z`.
pub fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    match OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            millis
        ),
        Err(_) => "1970-01-01T00:00:00.000Z".into(),
    }
}

/// Parses an RFC 3339 time into milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Parses `YYYY-MM-DD` (start of that day, UTC) or RFC 3339 into milliseconds.
pub fn parse_date_or_rfc3339(s: &str) -> Option<i64> {
    if let Ok(d) = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")) {
        return Some(d.midnight().assume_utc().unix_timestamp() * 1000);
    }
    parse_rfc3339(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let ms = 1_763_780_400_123;
        let s = format_ms(ms);
        assert_eq!(s, "2025-11-22T03:00:00.123Z");
        assert_eq!(parse_rfc3339(&s), Some(ms));
        assert_eq!(parse_date_or_rfc3339("2025-11-22"), Some(1_763_769_600_000));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
