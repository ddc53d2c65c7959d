//! Calendar dates, and "today" as the practice sees it.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;

/// The tenant time zone when none is set: most of our practices are there.
pub const DEFAULT_TIME_ZONE: &str = "America/New_York";

/// The largest serial Excel's 1900 date system has: 9999-12-31.
const MAX_EXCEL_SERIAL: f64 = 2_958_465.0;

/// Excel's serial for its fictitious 1900-02-29 (Lotus 1-2-3 thought 1900
/// was a leap year, and Excel kept the bug).
const FICTITIOUS_LEAP_DAY: i64 = 60;

/// The earliest year of birth we accept: older ones are typing mistakes.
const FIRST_BIRTH_YEAR: i32 = 1900;

/// Why a cell is not a date. Carries no value, so it is safe to log.
///
/// Each message reads after the column name ("Date of Birth is …") and
/// says what to fix, never what the cell held (it is patient data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not shaped like `YYYY-MM-DD` where that is the only form allowed.
    #[error("is not a date in the form YYYY-MM-DD")]
    NotIso,
    /// Shaped like a date, but the day does not exist (2/30/2020).
    #[error("is not a real calendar date")]
    NoSuchDay,
    /// Not shaped like any date we read, and no format was declared.
    #[error("is not a date; write it as YYYY-MM-DD or M/D/YYYY")]
    NotADate,
    /// Not written in the format declared with the upload, so reading it
    /// some other way would be a guess.
    #[error(
        "is not a date in the form {} declared with the upload; write it that way, or declare \
         the format the file uses",
        .0.pattern()
    )]
    NotDeclaredFormat(DateFormat),
    /// `3/7/84`: the century is a guess (1984 or 2084?), so we refuse it.
    #[error("has a two-digit year; write the year with four digits, e.g. 3/7/1984 not 3/7/84")]
    TwoDigitYear,
    /// No format was declared and the first number is above 12, so the
    /// file writes day/month/year: reading its other dates as month/day
    /// would swap days and months silently.
    #[error(
        "looks like day/month/year (its first number is above 12); declare the D/M/YYYY date \
         format with the upload so no date is guessed"
    )]
    DayFirst,
    /// A time other than midnight: the date alone is wanted, and a time
    /// hints that the column holds something other than a date.
    #[error("has a time of day; write the date alone (a midnight time such as 00:00 is ignored)")]
    TimeOfDay,
    /// A date of birth after the practice's today.
    #[error("is in the future; a date of birth can be today at the latest")]
    BirthInFuture,
    /// A date of birth before 1900: almost certainly a typing mistake.
    #[error("is before 1900; check the year, dates of birth from 1900-01-01 on are accepted")]
    BirthBefore1900,
}

/// How the file writes dates; declared with the upload, or None to detect.
///
/// Declared because `3/7/1984` is March 7 in a US export and July 3 in a
/// European one, and the cell alone cannot tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateFormat {
    /// `YYYY-MM-DD`.
    Iso,
    /// `M/D/YYYY`, as US exports write it.
    MonthDayYear,
    /// `D/M/YYYY`, as most of the rest of the world writes it.
    DayMonthYear,
}

impl DateFormat {
    /// The format as users see it in the upload form and in messages.
    pub fn pattern(self) -> &'static str {
        match self {
            DateFormat::Iso => "YYYY-MM-DD",
            DateFormat::MonthDayYear => "M/D/YYYY",
            DateFormat::DayMonthYear => "D/M/YYYY",
        }
    }
}

/// Parses exactly `YYYY-MM-DD` (four-digit year, two-digit month and day).
pub fn parse_iso(cell: &str) -> Result<NaiveDate, DateError> {
    let s = cell.trim();
    if !is_iso_shape(s) {
        return Err(DateError::NotIso);
    }
    // The shape is checked: the parts are digits, so only the calendar can
    // refuse them. Read directly; a format string is parsed on every call.
    let part = |range: std::ops::Range<usize>| s[range].parse::<u32>().ok();
    match (part(0..4), part(5..7), part(8..10)) {
        (Some(y), Some(m), Some(d)) => {
            NaiveDate::from_ymd_opt(y as i32, m, d).ok_or(DateError::NoSuchDay)
        }
        _ => Err(DateError::NoSuchDay),
    }
}

/// Whether `s` is four digits, '-', two digits, '-', two digits.
fn is_iso_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Parses a date cell as exports write them, so a file opened and saved in
/// Excel can be uploaded without editing its dates.
///
/// `YYYY-MM-DD` is always accepted. Otherwise the cell is `M/D/YYYY` or
/// `D/M/YYYY` (with '/', '-' or '.' between the numbers) as `declared`
/// says; undeclared, it is read as month/day (US exports) unless it can
/// only be day/month, which is refused with [`DateError::DayFirst`] rather
/// than guessed. A trailing midnight time, as Excel adds to date cells, is
/// ignored; any other time is refused. Two-digit years are refused.
pub fn parse_date(cell: &str, declared: Option<DateFormat>) -> Result<NaiveDate, DateError> {
    let s = cell.trim();
    let (date_part, time_part) = match s.split_once(char::is_whitespace) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let date = parse_date_part(date_part, declared)?;
    match time_part.map(clock_reading) {
        None | Some(Some(Clock::Midnight)) => Ok(date),
        Some(Some(Clock::OtherTime)) => Err(DateError::TimeOfDay),
        Some(None) => Err(not_a_date(declared)),
    }
}

/// The error for a cell that is not shaped like a date at all.
fn not_a_date(declared: Option<DateFormat>) -> DateError {
    match declared {
        None => DateError::NotADate,
        Some(DateFormat::Iso) => DateError::NotIso,
        Some(format) => DateError::NotDeclaredFormat(format),
    }
}

/// Parses the date, without any time after it.
fn parse_date_part(s: &str, declared: Option<DateFormat>) -> Result<NaiveDate, DateError> {
    if is_iso_shape(s) {
        return parse_iso(s);
    }
    let Some((first, second, year)) = split_numeric_date(s) else {
        return Err(not_a_date(declared));
    };
    if declared == Some(DateFormat::Iso) {
        return Err(DateError::NotDeclaredFormat(DateFormat::Iso));
    }
    match year.len() {
        4 => {}
        2 => return Err(DateError::TwoDigitYear),
        _ => return Err(not_a_date(declared)),
    }
    // Cannot fail: each part is one to four ASCII digits.
    let number = |p: &str| p.parse::<u32>().map_err(|_| not_a_date(declared));
    let (first, second) = (number(first)?, number(second)?);
    let year = i32::try_from(number(year)?).map_err(|_| not_a_date(declared))?;
    let (month, day) = match declared {
        Some(DateFormat::DayMonthYear) => (second, first),
        Some(DateFormat::MonthDayYear) => (first, second),
        // A first number that can only be a day means a day-first file.
        None if (13..=31).contains(&first) && (1..=12).contains(&second) => {
            return Err(DateError::DayFirst)
        }
        None | Some(DateFormat::Iso) => (first, second),
    };
    NaiveDate::from_ymd_opt(year, month, day).ok_or(DateError::NoSuchDay)
}

/// Splits `a/b/year` (or with '-' or '.', the same both times) into its
/// numbers: `a` and `b` one or two digits, the year any number of digits
/// (checked by the caller, to say "two-digit year" when that is the fault).
fn split_numeric_date(s: &str) -> Option<(&str, &str, &str)> {
    let sep = s.chars().find(|c| !c.is_ascii_digit())?;
    if !matches!(sep, '/' | '-' | '.') {
        return None;
    }
    let mut parts = s.split(sep);
    let (first, second, year) = (parts.next()?, parts.next()?, parts.next()?);
    let digits =
        |p: &str, max: usize| (1..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !digits(first, 2) || !digits(second, 2) || !digits(year, 8) {
        return None;
    }
    Some((first, second, year))
}

/// What a time after the date says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    Midnight,
    OtherTime,
}

/// Reads `H:MM`, `H:MM:SS` or `H:MM:SS.fff` on a 24-hour clock, or the
/// same followed by AM/PM on a 12-hour clock. `None` if it is not a time.
fn clock_reading(time: &str) -> Option<Clock> {
    let lower = time.trim().to_ascii_lowercase();
    let (clock, meridiem) = if let Some(c) = lower.strip_suffix("am") {
        (c.trim_end(), Some(Meridiem::Am))
    } else if let Some(c) = lower.strip_suffix("pm") {
        (c.trim_end(), Some(Meridiem::Pm))
    } else {
        (lower.as_str(), None)
    };
    let number = |p: &str, lengths: std::ops::RangeInclusive<usize>| {
        if lengths.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) {
            p.parse::<u32>().ok()
        } else {
            None
        }
    };
    let mut parts = clock.split(':');
    let hour = number(parts.next()?, 1..=2)?;
    let minute = number(parts.next()?, 2..=2)?;
    let (second, fraction_is_zero) = match parts.next() {
        None => (0, true),
        Some(s) => {
            let (s, fraction) = s.split_once('.').unwrap_or((s, "0"));
            if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (number(s, 2..=2)?, fraction.bytes().all(|b| b == b'0'))
        }
    };
    if parts.next().is_some() || minute > 59 || second > 59 {
        return None;
    }
    let at_the_hour = minute == 0 && second == 0 && fraction_is_zero;
    let midnight = match meridiem {
        None if hour <= 23 => at_the_hour && hour == 0,
        Some(m) if (1..=12).contains(&hour) => at_the_hour && hour == 12 && m == Meridiem::Am,
        _ => return None,
    };
    Some(if midnight {
        Clock::Midnight
    } else {
        Clock::OtherTime
    })
}

/// Before or after noon, on a 12-hour clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meridiem {
    Am,
    Pm,
}

/// Excel's 1900 date system serial (as in xlsx cells) to a date: 1 =
/// 1900-01-01, 60 is Excel's fictitious 1900-02-29 (refused: no such day),
/// 61 = 1900-03-01; the fractional part (the time) is ignored; ≤0, NaN or
/// beyond 2958465 (9999-12-31) → None.
///
/// Needed because xlsx stores date cells as these numbers, not as text.
pub fn from_excel_serial(serial: f64) -> Option<NaiveDate> {
    let day = serial.floor();
    // `contains` is false for NaN and the infinities too.
    if !(1.0..=MAX_EXCEL_SERIAL).contains(&day) {
        return None;
    }
    // Exact: a whole number between 1 and 2958465.
    let day = day as i64;
    // Day 0 would be 1900-01-00; after the fictitious leap day every serial
    // is one more than the real count, so count from a day earlier.
    let (epoch, days) = match day {
        FICTITIOUS_LEAP_DAY => return None,
        d if d < FICTITIOUS_LEAP_DAY => (NaiveDate::from_ymd_opt(1899, 12, 31)?, d),
        d => (NaiveDate::from_ymd_opt(1899, 12, 30)?, d),
    };
    epoch.checked_add_days(Days::new(u64::try_from(days).ok()?))
}

/// A date of birth must be a real past day from 1900 on: a later one is a
/// typing mistake, and so, for living patients, is an earlier one. Today
/// (the practice's today, see [`local_date`]) is allowed: newborns have
/// balances too.
pub fn check_birth_date(date: NaiveDate, today: NaiveDate) -> Result<(), DateError> {
    if date > today {
        Err(DateError::BirthInFuture)
    } else if date.year() < FIRST_BIRTH_YEAR {
        Err(DateError::BirthBefore1900)
    } else {
        Ok(())
    }
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
    use proptest::prelude::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn iso_dates_parse() {
        assert_eq!(parse_iso("1984-03-07").unwrap(), ymd(1984, 3, 7));
        assert_eq!(parse_iso(" 2000-02-29 ").unwrap(), ymd(2000, 2, 29));
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
        assert_eq!(local_date(now, ny), ymd(2026, 11, 26));
        let tokyo = parse_time_zone("Asia/Tokyo").unwrap();
        assert_eq!(local_date(now, tokyo), ymd(2026, 11, 27));
    }

    #[test]
    fn unknown_time_zones_are_refused() {
        assert!(parse_time_zone("Mars/Olympus").is_none());
    }

    const ALL: [Option<DateFormat>; 4] = [
        None,
        Some(DateFormat::Iso),
        Some(DateFormat::MonthDayYear),
        Some(DateFormat::DayMonthYear),
    ];

    #[test]
    fn iso_is_accepted_whatever_is_declared() {
        for declared in ALL {
            assert_eq!(parse_date("1984-03-07", declared), Ok(ymd(1984, 3, 7)));
            assert_eq!(
                parse_date("  1984-03-07\u{a0}", declared),
                Ok(ymd(1984, 3, 7))
            );
            assert_eq!(
                parse_date("2023-02-29", declared),
                Err(DateError::NoSuchDay)
            );
        }
    }

    #[test]
    fn a_midnight_time_is_ignored() {
        for cell in [
            "1984-03-07 00:00",
            "1984-03-07 00:00:00",
            "1984-03-07 0:00",
            "1984-03-07 00:00:00.000",
            "3/7/1984 0:00",
            "3/7/1984 00:00:00",
            "3/7/1984 12:00:00 AM",
            "3/7/1984 12:00 AM",
            "3/7/1984 12:00:00am",
            "3/7/1984  12:00 am ",
            "3/7/1984\u{a0}0:00",
        ] {
            assert_eq!(parse_date(cell, None), Ok(ymd(1984, 3, 7)), "{cell:?}");
            assert_eq!(
                parse_date(cell, Some(DateFormat::MonthDayYear)),
                Ok(ymd(1984, 3, 7)),
                "{cell:?}"
            );
        }
        assert_eq!(
            parse_date("7/3/1984 0:00", Some(DateFormat::DayMonthYear)),
            Ok(ymd(1984, 3, 7))
        );
    }

    #[test]
    fn any_other_time_is_refused() {
        for cell in [
            "1984-03-07 00:01",
            "1984-03-07 00:00:01",
            "1984-03-07 00:00:00.5",
            "3/7/1984 12:00:00 PM",
            "3/7/1984 12:00 pm",
            "3/7/1984 1:00 AM",
            "3/7/1984 12:00",
            "3/7/1984 23:59:59",
        ] {
            assert_eq!(
                parse_date(cell, None),
                Err(DateError::TimeOfDay),
                "{cell:?}"
            );
        }
    }

    #[test]
    fn text_after_the_date_that_is_not_a_time_is_refused() {
        for cell in [
            "3/7/1984 0",
            "3/7/1984 24:00",
            "3/7/1984 0:60",
            "3/7/1984 0:0",
            "3/7/1984 0:00:00:00",
            "3/7/1984 0:00:00.",
            "3/7/1984 0:00 AM",
            "3/7/1984 13:00 PM",
            "3/7/1984 midnight",
            "3/7/1984 3/8/1984",
            "1984-03-07T00:00",
        ] {
            assert_eq!(parse_date(cell, None), Err(DateError::NotADate), "{cell:?}");
        }
        assert_eq!(
            parse_date("3/7/1984 noon", Some(DateFormat::MonthDayYear)),
            Err(DateError::NotDeclaredFormat(DateFormat::MonthDayYear))
        );
        assert_eq!(
            parse_date("1984-03-07 noon", Some(DateFormat::Iso)),
            Err(DateError::NotIso)
        );
    }

    #[test]
    fn month_day_year_with_any_separator() {
        for cell in [
            "3/7/1984",
            "03/07/1984",
            "3-7-1984",
            "03-07-1984",
            "3.7.1984",
            "03.07.1984",
            " 3/7/1984 ",
        ] {
            assert_eq!(parse_date(cell, None), Ok(ymd(1984, 3, 7)), "{cell:?}");
            assert_eq!(
                parse_date(cell, Some(DateFormat::MonthDayYear)),
                Ok(ymd(1984, 3, 7)),
                "{cell:?}"
            );
            assert_eq!(
                parse_date(cell, Some(DateFormat::DayMonthYear)),
                Ok(ymd(1984, 7, 3)),
                "{cell:?}"
            );
        }
    }

    #[test]
    fn the_declared_order_is_used() {
        assert_eq!(
            parse_date("25/12/2020", Some(DateFormat::DayMonthYear)),
            Ok(ymd(2020, 12, 25))
        );
        assert_eq!(
            parse_date("12/25/2020", Some(DateFormat::MonthDayYear)),
            Ok(ymd(2020, 12, 25))
        );
        // Declared, a first number above 12 is simply not a month.
        assert_eq!(
            parse_date("25/12/2020", Some(DateFormat::MonthDayYear)),
            Err(DateError::NoSuchDay)
        );
        assert_eq!(
            parse_date("12/25/2020", Some(DateFormat::DayMonthYear)),
            Err(DateError::NoSuchDay)
        );
    }

    #[test]
    fn undeclared_day_first_dates_are_refused_not_guessed() {
        for cell in ["13/1/2020", "25/12/2020", "31.12.2020", "13-01-2020 00:00"] {
            assert_eq!(parse_date(cell, None), Err(DateError::DayFirst), "{cell:?}");
        }
        let message = DateError::DayFirst.to_string();
        assert!(
            message.contains("day/month") && message.contains("D/M/YYYY"),
            "{message}"
        );
        // Month/day when the first number can be a month.
        assert_eq!(parse_date("12/13/2020", None), Ok(ymd(2020, 12, 13)));
        // Neither reading is a date.
        assert_eq!(parse_date("13/13/2020", None), Err(DateError::NoSuchDay));
        assert_eq!(parse_date("32/1/2020", None), Err(DateError::NoSuchDay));
        assert_eq!(parse_date("13/0/2020", None), Err(DateError::NoSuchDay));
    }

    #[test]
    fn two_digit_years_are_refused() {
        for declared in [
            None,
            Some(DateFormat::MonthDayYear),
            Some(DateFormat::DayMonthYear),
        ] {
            for cell in ["3/7/84", "03/07/84", "3-7-84", "3.7.84 0:00", "13/7/84"] {
                assert_eq!(
                    parse_date(cell, declared),
                    Err(DateError::TwoDigitYear),
                    "{cell:?} {declared:?}"
                );
            }
        }
        assert!(DateError::TwoDigitYear.to_string().contains("four digits"));
    }

    #[test]
    fn a_slash_date_when_iso_was_declared_names_the_declared_format() {
        for cell in ["3/7/1984", "03-07-1984", "3.7.1984", "3/7/84", "13/7/1984"] {
            assert_eq!(
                parse_date(cell, Some(DateFormat::Iso)),
                Err(DateError::NotDeclaredFormat(DateFormat::Iso)),
                "{cell:?}"
            );
        }
        let message = DateError::NotDeclaredFormat(DateFormat::Iso).to_string();
        assert!(
            message.contains("YYYY-MM-DD declared with the upload"),
            "{message}"
        );
    }

    #[test]
    fn non_existent_days_are_refused() {
        for declared in [None, Some(DateFormat::MonthDayYear)] {
            for cell in [
                "2/30/2020",
                "2/29/2023",
                "4/31/2020",
                "0/1/2020",
                "1/0/2020",
            ] {
                assert_eq!(
                    parse_date(cell, declared),
                    Err(DateError::NoSuchDay),
                    "{cell:?}"
                );
            }
        }
        assert_eq!(
            parse_date("30/2/2020", Some(DateFormat::DayMonthYear)),
            Err(DateError::NoSuchDay)
        );
        assert_eq!(parse_date("2/29/2024", None), Ok(ymd(2024, 2, 29)));
    }

    #[test]
    fn shapes_that_are_not_dates_are_refused() {
        for cell in [
            "",
            " ",
            "abc",
            "3/7",
            "3/7/",
            "/3/7/1984",
            "3/7/1984/",
            "3//1984",
            "3/7-1984",
            "3/7/1984x",
            "123/7/1984",
            "3/7/19845",
            "3/7/198",
            "3/7/1",
            "+3/7/1984",
            "1984-3-7",
            "1984/03/07",
            "19840307",
            "30747",
            "March 7, 1984",
            "٣/٧/١٩٨٤",
        ] {
            assert_eq!(parse_date(cell, None), Err(DateError::NotADate), "{cell:?}");
            assert_eq!(
                parse_date(cell, Some(DateFormat::DayMonthYear)),
                Err(DateError::NotDeclaredFormat(DateFormat::DayMonthYear)),
                "{cell:?}"
            );
            // Numbers with slashes (`3/7/198`) are told the declared format.
            assert!(
                matches!(
                    parse_date(cell, Some(DateFormat::Iso)),
                    Err(DateError::NotIso | DateError::NotDeclaredFormat(DateFormat::Iso))
                ),
                "{cell:?}"
            );
        }
    }

    #[test]
    fn excel_serials_count_from_1900_with_its_fictitious_leap_day() {
        assert_eq!(from_excel_serial(1.0), Some(ymd(1900, 1, 1)));
        assert_eq!(from_excel_serial(31.0), Some(ymd(1900, 1, 31)));
        assert_eq!(from_excel_serial(59.0), Some(ymd(1900, 2, 28)));
        assert_eq!(from_excel_serial(60.0), None);
        assert_eq!(from_excel_serial(61.0), Some(ymd(1900, 3, 1)));
        assert_eq!(from_excel_serial(30_748.0), Some(ymd(1984, 3, 7)));
        assert_eq!(from_excel_serial(45_658.0), Some(ymd(2025, 1, 1)));
        assert_eq!(from_excel_serial(2_958_465.0), Some(ymd(9999, 12, 31)));
    }

    #[test]
    fn the_time_in_an_excel_serial_is_ignored() {
        assert_eq!(from_excel_serial(45_658.999_99), Some(ymd(2025, 1, 1)));
        assert_eq!(from_excel_serial(45_658.5), Some(ymd(2025, 1, 1)));
        assert_eq!(from_excel_serial(1.25), Some(ymd(1900, 1, 1)));
        assert_eq!(from_excel_serial(60.5), None);
        assert_eq!(from_excel_serial(2_958_465.9), Some(ymd(9999, 12, 31)));
    }

    #[test]
    fn excel_serials_outside_the_calendar_are_refused() {
        for serial in [
            0.0,
            0.5,
            -0.0,
            -1.0,
            2_958_466.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
        ] {
            assert_eq!(from_excel_serial(serial), None, "{serial}");
        }
    }

    #[test]
    fn birth_dates_must_be_past_days_from_1900() {
        let today = ymd(2026, 5, 1);
        assert_eq!(check_birth_date(ymd(1984, 3, 7), today), Ok(()));
        assert_eq!(check_birth_date(today, today), Ok(()));
        assert_eq!(check_birth_date(ymd(1900, 1, 1), today), Ok(()));
        assert_eq!(
            check_birth_date(ymd(2026, 5, 2), today),
            Err(DateError::BirthInFuture)
        );
        assert_eq!(
            check_birth_date(ymd(1899, 12, 31), today),
            Err(DateError::BirthBefore1900)
        );
        assert_eq!(
            check_birth_date(ymd(84, 3, 7), today),
            Err(DateError::BirthBefore1900)
        );
    }

    #[test]
    fn the_format_is_declared_in_snake_case() {
        use serde::de::{value::Error, IntoDeserializer};
        use serde::Deserialize;
        let parse = |s: &str| DateFormat::deserialize(s.into_deserializer());
        assert_eq!(parse("iso"), Ok::<_, Error>(DateFormat::Iso));
        assert_eq!(parse("month_day_year"), Ok(DateFormat::MonthDayYear));
        assert_eq!(parse("day_month_year"), Ok(DateFormat::DayMonthYear));
        assert!(parse("MonthDayYear").is_err());
    }

    #[test]
    fn messages_read_after_the_column_name() {
        for e in [
            DateError::NotIso,
            DateError::NoSuchDay,
            DateError::NotADate,
            DateError::NotDeclaredFormat(DateFormat::Iso),
            DateError::NotDeclaredFormat(DateFormat::MonthDayYear),
            DateError::NotDeclaredFormat(DateFormat::DayMonthYear),
            DateError::TwoDigitYear,
            DateError::DayFirst,
            DateError::TimeOfDay,
            DateError::BirthInFuture,
            DateError::BirthBefore1900,
        ] {
            // "Date of Birth {e}." — lower case, no full stop of its own.
            let message = e.to_string();
            assert!(message.starts_with(char::is_lowercase), "{message}");
            assert!(!message.ends_with('.'), "{message}");
        }
        assert!(DateError::NotDeclaredFormat(DateFormat::DayMonthYear)
            .to_string()
            .contains("D/M/YYYY"));
    }

    /// Any day from 1900-01-01 to 2100-12-31.
    fn any_date() -> impl Strategy<Value = NaiveDate> {
        let first = ymd(1900, 1, 1);
        let days = (ymd(2100, 12, 31) - first).num_days() as u64;
        (0..=days).prop_map(move |n| first + Days::new(n))
    }

    fn any_declared() -> impl Strategy<Value = Option<DateFormat>> {
        prop::sample::select(ALL.to_vec())
    }

    proptest! {
        #[test]
        fn each_format_round_trips_when_declared(date in any_date()) {
            for (pattern, declared) in [
                ("%Y-%m-%d", DateFormat::Iso),
                ("%-m/%-d/%Y", DateFormat::MonthDayYear),
                ("%m/%d/%Y", DateFormat::MonthDayYear),
                ("%-m-%-d-%Y", DateFormat::MonthDayYear),
                ("%m.%d.%Y 00:00", DateFormat::MonthDayYear),
                ("%-d/%-m/%Y", DateFormat::DayMonthYear),
                ("%d/%m/%Y", DateFormat::DayMonthYear),
                ("%d.%m.%Y", DateFormat::DayMonthYear),
                ("%-d/%-m/%Y 12:00:00 AM", DateFormat::DayMonthYear),
            ] {
                let cell = date.format(pattern).to_string();
                prop_assert_eq!(parse_date(&cell, Some(declared)), Ok(date), "{}", cell);
            }
        }

        #[test]
        fn iso_round_trips_whatever_is_declared(date in any_date(), declared in any_declared()) {
            let cell = date.format("%Y-%m-%d").to_string();
            prop_assert_eq!(parse_date(&cell, declared), Ok(date));
        }

        /// Undeclared, a US date always reads back: its first number is a
        /// month, never above 12.
        #[test]
        fn undeclared_month_day_always_round_trips(date in any_date()) {
            for pattern in ["%-m/%-d/%Y", "%m/%d/%Y"] {
                let cell = date.format(pattern).to_string();
                prop_assert_eq!(parse_date(&cell, None), Ok(date), "{}", cell);
            }
        }

        /// Undeclared, a day-first date is refused when its day is above 12.
        /// When the day is 12 or less the cell alone cannot tell, and it is
        /// read as month/day: that is why day-first files must declare
        /// their format (and why one day above 12 in the file refuses it).
        #[test]
        fn undeclared_day_month_is_refused_or_read_as_month_day(date in any_date()) {
            let cell = date.format("%-d/%-m/%Y").to_string();
            let expected = if date.day() > 12 {
                Err(DateError::DayFirst)
            } else {
                // The same day number with month and day swapped.
                Ok(ymd(date.year(), date.day(), date.month()))
            };
            prop_assert_eq!(parse_date(&cell, None), expected, "{}", cell);
        }

        #[test]
        fn excel_serials_are_consecutive_days(serial in 61u32..=2_958_465) {
            let today = from_excel_serial(f64::from(serial));
            let yesterday = from_excel_serial(f64::from(serial - 1));
            if serial == 61 {
                prop_assert_eq!(yesterday, None);
                prop_assert_eq!(today, Some(ymd(1900, 3, 1)));
            } else {
                prop_assert_eq!(yesterday.and_then(|d| d.succ_opt()), today);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(cell in any::<String>(), declared in any_declared()) {
            let _ = parse_date(&cell, declared);
            let _ = parse_iso(&cell);
        }

        #[test]
        fn date_like_text_never_panics(
            chars in prop::collection::vec(
                prop::sample::select(vec![
                    '0', '1', '2', '3', '9', '/', '-', '.', ':', ' ', '\u{a0}', 'A', 'm', 'P',
                    'T', 'é',
                ]),
                0..24,
            ),
            declared in any_declared(),
        ) {
            let cell: String = chars.into_iter().collect();
            let _ = parse_date(&cell, declared);
        }

        #[test]
        fn any_serial_is_refused_or_a_date(serial in any::<f64>()) {
            if let Some(date) = from_excel_serial(serial) {
                prop_assert!(date >= ymd(1900, 1, 1) && date <= ymd(9999, 12, 31));
            }
        }
    }
}
