//! Wall-clock instants as integers (microseconds since the Unix epoch, UTC),
//! media durations in the 90 kHz RTP video clock, and their conversions.
//! Integers keep the catalog portable between SQLite and PostgreSQL.

use chrono::{DateTime, FixedOffset, Offset, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Media time units: the 90 kHz clock used by RTP video and by our MP4 tracks.
pub const TICKS_PER_SECOND: i64 = 90_000;

/// An instant: microseconds since 1970-01-01T00:00:00Z.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// A duration in 90 kHz ticks.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration90k(pub i64);

impl Timestamp {
    pub const fn from_micros(us: i64) -> Self {
        Timestamp(us)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    pub fn from_secs(s: i64) -> Self {
        Timestamp(s.saturating_mul(1_000_000))
    }

    /// This instant advanced by `ticks` of the 90 kHz clock (rounded down to a microsecond).
    pub fn add_90k(self, ticks: i64) -> Self {
        Timestamp(self.0 + ticks_to_micros(ticks))
    }

    pub fn add_micros(self, us: i64) -> Self {
        Timestamp(self.0.saturating_add(us))
    }

    /// Parses RFC 3339 (`2026-11-23T09:00:00+09:00`).
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| Timestamp(d.timestamp_micros()))
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// RFC 3339 in the given offset, to the second when whole, else to the microsecond.
    pub fn to_rfc3339(self, offset: FixedOffset) -> String {
        let dt = self.to_datetime().with_timezone(&offset);
        if self.0 % 1_000_000 == 0 {
            dt.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        } else {
            dt.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        }
    }
}

/// Japan Standard Time, the zone every preset is written in (no daylight saving).
pub fn jst() -> FixedOffset {
    // 9 h is always a valid offset.
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| Utc.fix())
}

pub fn ticks_to_micros(ticks: i64) -> i64 {
    // 1 tick = 100/9 µs.
    (ticks * 100).div_euclid(9)
}

pub fn micros_to_ticks(us: i64) -> i64 {
    (us * 9).div_euclid(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_in_jst() {
        let t = Timestamp::parse_rfc3339("2026-11-23T09:00:00+09:00").unwrap();
        assert_eq!(t.to_rfc3339(Utc.fix()), "2026-11-23T00:00:00Z");
        assert_eq!(t.to_rfc3339(jst()), "2026-11-23T09:00:00+09:00");
    }

    #[test]
    fn ticks_and_micros_agree() {
        assert_eq!(ticks_to_micros(90_000), 1_000_000);
        assert_eq!(micros_to_ticks(1_000_000), 90_000);
        assert_eq!(Timestamp(0).add_90k(6000).0, 66_666);
    }
}
