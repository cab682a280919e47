//! Wall-clock instants as integers (microseconds since the Unix epoch, UTC),
//! media durations in the 90 kHz RTP video clock, their conversions, and the one
//! place where times typed by people (forms, API, command line) are parsed.
//! Integers keep the catalog portable between SQLite and PostgreSQL.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Media time units: the 90 kHz clock used by RTP video and by our MP4 tracks.
pub const TICKS_PER_SECOND: i64 = 90_000;

/// One day in microseconds.
pub const DAY_MICROS: i64 = 86_400_000_000;

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
        Timestamp(self.0.saturating_add(ticks_to_micros(ticks)))
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

    /// Japan time to the minute, as pages and log details show it (`2026-11-23 09:00`).
    pub fn jst_minute(self) -> String {
        self.jst_format("%Y-%m-%d %H:%M")
    }

    /// Japan time to the second (`2026-11-23 09:00:05`).
    pub fn jst_second(self) -> String {
        self.jst_format("%Y-%m-%d %H:%M:%S")
    }

    /// Japan time in a `strftime` format.
    pub fn jst_format(self, format: &str) -> String {
        self.to_datetime()
            .with_timezone(&jst())
            .format(format)
            .to_string()
    }

    /// The Japan-time calendar date of this instant.
    pub fn jst_date(self) -> NaiveDate {
        self.to_datetime().with_timezone(&jst()).date_naive()
    }
}

/// Japan Standard Time, the zone every preset is written in (no daylight saving).
pub fn jst() -> FixedOffset {
    // 9 h is always a valid offset.
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| Utc.fix())
}

/// Microseconds in `ticks` of the 90 kHz clock, rounded down; saturates rather
/// than overflows (a timestamp read from a damaged file cannot panic here).
pub fn ticks_to_micros(ticks: i64) -> i64 {
    // 1 tick = 100/9 µs.
    saturate((i128::from(ticks) * 100).div_euclid(9))
}

/// 90 kHz ticks in `us` microseconds, rounded down; saturates.
pub fn micros_to_ticks(us: i64) -> i64 {
    saturate((i128::from(us) * 9).div_euclid(100))
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// A time typed by a person that could not be read; the message names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadTime(pub String);

/// Years a person may type: footage exists from 1970 on, and the 90 kHz and
/// microsecond arithmetic of any range inside these years cannot overflow.
const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

fn in_years(t: DateTime<FixedOffset>) -> Option<Timestamp> {
    YEARS
        .contains(&t.year())
        .then(|| Timestamp(t.timestamp_micros()))
}

/// An RFC 3339 time, or a local `YYYY-MM-DDTHH:MM[:SS]` (as an HTML form sends it)
/// read as Japan time. `name` is the field, for the message.
pub fn parse_time(name: &str, v: &str) -> Result<Timestamp, BadTime> {
    let v = v.trim();
    DateTime::parse_from_rfc3339(v)
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
                .iter()
                .find_map(|f| chrono::NaiveDateTime::parse_from_str(v, f).ok())
                .and_then(|dt| jst().from_local_datetime(&dt).single())
        })
        .and_then(in_years)
        .ok_or_else(|| {
            BadTime(format!(
                "{name}: not an RFC 3339 time (example: 2026-11-23T09:00:00+09:00)"
            ))
        })
}

/// A Japan-time date `YYYY-MM-DD`.
pub fn parse_date(name: &str, v: &str) -> Result<NaiveDate, BadTime> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| YEARS.contains(&d.year()))
        .ok_or_else(|| BadTime(format!("{name}: YYYY-MM-DD")))
}

/// The instant a Japan-time date begins.
pub fn jst_day_start(day: NaiveDate) -> Timestamp {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    jst()
        .from_local_datetime(&midnight)
        .single()
        .map(|t| Timestamp(t.timestamp_micros()))
        .unwrap_or_default()
}

/// A date (`YYYY-MM-DD`, Japan time) or a time (see [`parse_time`]). A date as an
/// end (`end = true`) means "through that day": the start of the next.
pub fn parse_day_or_time(name: &str, v: &str, end: bool) -> Result<Timestamp, BadTime> {
    if let Ok(day) = parse_date(name, v) {
        let start = jst_day_start(day);
        return Ok(if end {
            start.add_micros(DAY_MICROS)
        } else {
            start
        });
    }
    parse_time(name, v)
}

/// 和暦 for a Gregorian date, e.g. 令和8年 for 2026 (Reiwa began 2019-05-01).
pub fn japanese_era_year(date: chrono::NaiveDate) -> String {
    let (y, m, d) = (
        chrono::Datelike::year(&date),
        chrono::Datelike::month(&date),
        chrono::Datelike::day(&date),
    );
    let ymd = (y, m, d);
    if ymd >= (2019, 5, 1) {
        era("令和", y - 2018)
    } else if ymd >= (1989, 1, 8) {
        era("平成", y - 1988)
    } else {
        format!("{y}年")
    }
}

/// A date in 和暦 as official forms print it: 令和8年12月1日.
pub fn japanese_date(date: chrono::NaiveDate) -> String {
    format!(
        "{}{}月{}日",
        japanese_era_year(date),
        chrono::Datelike::month(&date),
        chrono::Datelike::day(&date)
    )
}

fn era(name: &str, n: i32) -> String {
    if n == 1 {
        format!("{name}元年")
    } else {
        format!("{name}{n}年")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn japanese_era_years() {
        let d = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(japanese_era_year(d(2026, 11, 23)), "令和8年");
        assert_eq!(japanese_era_year(d(2019, 5, 1)), "令和元年");
        assert_eq!(japanese_date(d(2026, 12, 1)), "令和8年12月1日");
        assert_eq!(japanese_date(d(2019, 5, 1)), "令和元年5月1日");
        assert_eq!(japanese_era_year(d(2019, 4, 30)), "平成31年");
    }

    use super::*;

    #[test]
    fn rfc3339_round_trip_in_jst() {
        let t = Timestamp::parse_rfc3339("2026-11-23T09:00:00+09:00").unwrap();
        assert_eq!(t.to_rfc3339(Utc.fix()), "2026-11-23T00:00:00Z");
        assert_eq!(t.to_rfc3339(jst()), "2026-11-23T09:00:00+09:00");
        assert_eq!(t.jst_minute(), "2026-11-23 09:00");
    }

    #[test]
    fn ticks_and_micros_agree() {
        assert_eq!(ticks_to_micros(90_000), 1_000_000);
        assert_eq!(micros_to_ticks(1_000_000), 90_000);
        assert_eq!(Timestamp(0).add_90k(6000).0, 66_666);
    }

    #[test]
    fn typed_times_are_read_as_japan_time() {
        let rfc = parse_time("start", "2026-11-23T09:00:00+09:00").unwrap();
        assert_eq!(parse_time("start", "2026-11-23T09:00").unwrap(), rfc);
        assert_eq!(parse_time("start", "2026-11-23T09:00:00").unwrap(), rfc);
        let day = parse_day_or_time("until", "2026-11-23", false).unwrap();
        assert_eq!(day, parse_time("x", "2026-11-23T00:00:00+09:00").unwrap());
        assert_eq!(
            parse_day_or_time("until", "2026-11-23", true).unwrap(),
            day.add_micros(DAY_MICROS)
        );
        let e = parse_time("start", "yesterday").unwrap_err();
        assert!(e.0.starts_with("start: not an RFC 3339 time"), "{e}");
    }

    #[test]
    fn years_outside_the_recorded_era_are_refused() {
        assert!(parse_time("start", "-30400-01-01T00:00:00").is_err());
        assert!(parse_time("end", "+262000-01-01T00:00:00+09:00").is_err());
        assert!(parse_time("end", "1969-12-31T00:00:00Z").is_err());
        assert!(parse_date("date", "+20000-01-01").is_err());
    }
}
