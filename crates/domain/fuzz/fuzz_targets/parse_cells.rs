//! The input is a few cells, one per line (invalid UTF-8 is replaced).
//!
//! Each cell goes through the cell parsers (money in both decimal styles,
//! dates in every declared format and undeclared, header recognition), and
//! the cells are read as a header row, whole and split on each delimiter.
//! Nothing may panic, and what the parsers promise is checked:
//! - an amount is stored at two places, within the ledger, never as -0.00,
//!   and `format_amount` writes text that `parse_amount` reads back;
//! - a cell both styles accept means the same amount in both;
//! - a date reads back from its own text, and undeclared means month/day;
//! - a header that is accepted names its required columns, once each.

#![no_main]

use bf_domain::date::{self, DateFormat};
use bf_domain::header::{self, ExplicitMapping, HeaderMap};
use bf_domain::money::{self, DecimalStyle};
use bf_domain::template::Requirement;
use bf_domain::Column;
use libfuzzer_sys::fuzz_target;

/// Cells past this many are ignored: a few are enough to mix formats, and
/// more only slow each run down.
const MAX_CELLS: usize = 16;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cells: Vec<&str> = text.split('\n').take(MAX_CELLS).collect();
    for cell in &cells {
        amounts(cell);
        dates(cell);
        let words = header::canonical(cell);
        if let Some(column) = header::recognise(cell) {
            assert!(!words.is_empty());
            assert_eq!(header::recognise(column.name()), Some(column));
        }
    }
    headers(cells.iter().copied(), &ExplicitMapping::new());
    for delimiter in [',', ';', '\t', '|'] {
        let first = cells.first().copied().unwrap_or("");
        headers(first.split(delimiter), &ExplicitMapping::new());
    }
    // Lines written `header=column` form an explicit mapping for the rest.
    let mut mapping = ExplicitMapping::new();
    for cell in &cells {
        if let Some((h, c)) = cell.split_once('=') {
            mapping.insert(h.to_string(), c.to_string());
        }
    }
    if !mapping.is_empty() {
        headers(cells.iter().copied(), &mapping);
    }
});

fn amounts(cell: &str) {
    let _ = money::parse_plain(cell);
    let mut parsed = [None, None];
    for (i, style) in [DecimalStyle::Dot, DecimalStyle::Comma].into_iter().enumerate() {
        let Ok(value) = money::parse_amount(cell, style) else {
            continue;
        };
        assert_eq!(value.scale(), 2);
        assert!(value.abs() <= money::MAX_AMOUNT);
        assert!(!(value.is_zero() && value.is_sign_negative()));
        for thousands in [false, true] {
            let written = money::format_amount(value, style, thousands);
            assert_eq!(
                money::parse_amount(&written, style),
                Ok(value),
                "{style:?} wrote {written:?}"
            );
        }
        parsed[i] = Some(value);
    }
    if let [Some(dot), Some(comma)] = parsed {
        assert_eq!(dot, comma, "the two styles read {cell:?} differently");
    }
}

fn dates(cell: &str) {
    let undeclared = date::parse_date(cell, None);
    for format in [DateFormat::Iso, DateFormat::MonthDayYear, DateFormat::DayMonthYear] {
        let declared = date::parse_date(cell, Some(format));
        if let Ok(d) = declared {
            // Written back in the declared format, the date reads the same.
            let iso = d.to_string();
            let parts: Vec<&str> = iso.split('-').collect();
            if let [year, month, day] = parts[..] {
                let written = match format {
                    DateFormat::Iso => iso.clone(),
                    DateFormat::MonthDayYear => format!("{month}/{day}/{year}"),
                    DateFormat::DayMonthYear => format!("{day}/{month}/{year}"),
                };
                assert_eq!(date::parse_date(&written, Some(format)), Ok(d), "{written:?}");
                assert_eq!(date::parse_iso(&iso), Ok(d), "{iso:?}");
            }
        }
        if format == DateFormat::MonthDayYear {
            if let Ok(d) = undeclared {
                assert_eq!(declared, Ok(d), "undeclared is not month/day for {cell:?}");
            }
        }
    }
    if let Ok(d) = undeclared {
        let today = date::parse_iso("2026-11-20").expect("a valid date");
        let _ = date::check_birth_date(d, today);
    }
}

fn headers<'a>(cells: impl Iterator<Item = &'a str> + Clone, mapping: &ExplicitMapping) {
    let width = cells.clone().count();
    match HeaderMap::with_mapping(cells, mapping) {
        Ok(map) => {
            assert_eq!(map.width(), width);
            assert_eq!(map.used().len(), width);
            for column in Column::ALL {
                let count = map.positions().iter().filter(|c| **c == Some(column)).count();
                assert!(count <= 1, "{column:?} mapped {count} times");
                let required = match column.spec().requirement {
                    Requirement::Required => true,
                    Requirement::RequiredUnlessPatientId => !map.has(Column::PatientId),
                    Requirement::Optional => false,
                };
                assert!(!required || count == 1, "{column:?} missing");
            }
            if mapping.is_empty() {
                // The headers as kept (trimmed) are read the same way again.
                let again = HeaderMap::detect(map.used().iter().map(|(h, _)| h.as_str()))
                    .expect("the kept headers are accepted again");
                assert_eq!(again.positions(), map.positions());
            }
        }
        // The message is shown to the user: building it must not panic.
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
