//! Calendar dates, and "today" as the practice sees it.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// The tenant time zone when none is set: most of our practices are there.
pub const DEFAULT_TIME_ZONE: &str = "America/New_York";

/// Why a cell is not a date. Carries no value, so it is safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("is not a date in the form YYYY-MM-DD")]
    NotIso,
    #[error("is not a real calendar date")]
    NoSuchDay,
}

/// Parses exactly `YYYY-MM-DD` (four-digit year, two-digit month and day).
pub fn parse_iso(cell: &str) -> Result<NaiveDate, DateError> {
    let s = cell.trim();
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err(DateError::NotIso);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| DateError::NoSuchDay)
}

/// Parses an IANA time zone name such as `America/Chicago`.
pub fn parse_time_zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// The calendar date at `now` in the practice's time zone: the Date of
/// Service of a BF claim is the day the practice approved, not UTC's day.
pub fn local_date(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn iso_dates_parse() {
        assert_eq!(
            parse_iso("1984-03-07").unwrap(),
            NaiveDate::from_ymd_opt(1984, 3, 7).unwrap()
        );
        assert_eq!(
            parse_iso(" 2000-02-29 ").unwrap(),
            NaiveDate::from_ymd_opt(2000, 2, 29).unwrap()
        );
    }

    #[test]
    fn other_shapes_are_refused() {
        for bad in [
            "",
            "3/7/1984",
            "1984-3-7",
            "84-03-07",
            "1984/03/07",
            "19840307",
            "1984-03-07T00:00",
        ] {
            assert_eq!(parse_iso(bad), Err(DateError::NotIso), "{bad:?}");
        }
    }

    #[test]
    fn impossible_days_are_refused() {
        assert_eq!(parse_iso("2023-02-29"), Err(DateError::NoSuchDay));
        assert_eq!(parse_iso("2023-13-01"), Err(DateError::NoSuchDay));
    }

    #[test]
    fn today_is_the_practices_day_not_utcs() {
        // 03:30 UTC on Nov 27 is still Nov 26 in New York and Los Angeles.
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 3, 30, 0).unwrap();
        let ny = parse_time_zone(DEFAULT_TIME_ZONE).unwrap();
        assert_eq!(
            local_date(now, ny),
            NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
        );
        let tokyo = parse_time_zone("Asia/Tokyo").unwrap();
        assert_eq!(
            local_date(now, tokyo),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
        );
    }

    #[test]
    fn unknown_time_zones_are_refused() {
        assert!(parse_time_zone("Mars/Olympus").is_none());
    }
}
