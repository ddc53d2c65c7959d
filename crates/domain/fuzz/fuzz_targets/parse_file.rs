//! The input is an uploaded text file, exactly as the browser sent it.
//!
//! It is opened (encoding and delimiter detection, header mapping) and every
//! row is read and judged, first with the default options, then with options
//! chosen by the first byte of the file (decimal comma, day/month/year
//! dates, a practice "today", an explicit header mapping, a low ceiling).
//! The file is also read through a reader that hands out a few bytes at a
//! time (as a network upload does), and must give the same rows and the
//! same error. Nothing may panic, and the few promises the row rules make
//! about their own output are checked on every row.

#![no_main]

use bf_domain::compact;
use bf_domain::date::{self, DateFormat};
use bf_domain::money::{self, DecimalStyle};
use bf_domain::open::open_text;
use bf_domain::options::ParseOptions;
use bf_domain::reader::FileError;
use bf_domain::{Row, RowStatus};
use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let default = ParseOptions::default();
    let whole = read_all(data, &default);
    let chosen = options_for(data.first().copied().unwrap_or(0));
    let whole = if chosen != default {
        read_all(data, &chosen)
    } else {
        whole
    };
    // Split reads: CRLF, UTF-8 and UTF-16 sequences cut between two reads.
    let chunk = 1 + usize::from(data.get(1).copied().unwrap_or(0) % 7);
    let split = read_all(Chunked { data, chunk }, &chosen);
    assert_eq!(whole, split, "reading {chunk} bytes at a time changed the result");
});

/// A reader that returns at most `chunk` bytes per call.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// What reading a file gave: the header error, or every judged row and
/// the error that stopped the rows, if any.
type Outcome = Result<(Vec<Row>, Option<FileError>), FileError>;

/// Options picked by the bits of one byte, so the fuzzer can reach every
/// combination while the rest of the input stays a realistic file (a CSV
/// that starts with `p`, a BOM, …).
fn options_for(selector: u8) -> ParseOptions {
    let mut options = ParseOptions::default();
    if selector & 0b1 != 0 {
        options.decimal_style = DecimalStyle::Comma;
    }
    options.date_format = match (selector >> 1) & 0b11 {
        0 => None,
        1 => Some(DateFormat::Iso),
        2 => Some(DateFormat::MonthDayYear),
        _ => Some(DateFormat::DayMonthYear),
    };
    if selector & 0b1000 != 0 {
        options.today = Some(date::parse_iso("2026-11-20").expect("a valid date"));
    }
    if selector & 0b1_0000 != 0 {
        for (header, column) in [
            ("Acct #", "patient_account_number"),
            ("Pt Bal", "patient_balance"),
            ("Amt", "insurance_balance"),
            ("Notes", ""),
        ] {
            options.mapping.insert(header.into(), column.into());
        }
    }
    if selector & 0b10_0000 != 0 {
        options.balance_ceiling = money::parse_plain("100.00").expect("a valid amount");
    }
    options
}

fn read_all(input: impl Read, options: &ParseOptions) -> Outcome {
    let (mut reader, detected) = match open_text(input, options) {
        Ok(opened) => opened,
        Err(e) => {
            // The message is shown to the user: building it must not panic.
            let _ = e.to_string();
            return Err(e);
        }
    };
    let mut rows = Vec::new();
    assert_eq!(detected.format, "csv");
    let width = reader.header().width();
    let _ = reader.header().used();
    let mut previous_line = 0u32;
    loop {
        let raw = match reader.next_row() {
            Ok(Some(raw)) => raw,
            Ok(None) => break,
            Err(e) => {
                let _ = e.to_string();
                return Ok((rows, Some(e)));
            }
        };
        assert_eq!(raw.header_width, width);
        // A line whose fields are its cells gives them back from them.
        let fields: Vec<String> = raw.fields.iter().map(str::to_string).collect();
        if raw.fields_are_cells {
            let rebuilt =
                compact::fields_from_cells(reader.header().positions(), |c| raw.cell_text(c));
            assert_eq!(rebuilt, fields);
        }
        assert_eq!(raw.field_count, fields.len());
        // The header is at least line 1, and rows come in file order.
        // KNOWN ISSUE (reported, not yet fixed): a record whose quoted field
        // is still open at the end of the file is numbered one line too
        // early (reader.rs `start_line` assumes a terminating LF outside the
        // quotes); such a record's last field ends in the LF, so allow it
        // one line. Seeds: corpus/parse_file/unclosed_quote_*.csv.
        let open_quote_at_end = fields.last().is_some_and(|f| f.ends_with('\n'));
        let line = raw.line.saturating_add(u32::from(open_quote_at_end));
        assert!(
            line > previous_line && line >= 2,
            "row line {} after line {previous_line}",
            raw.line
        );
        previous_line = raw.line;
        let row = Row::validate(raw, options);
        check_row(&row);
        rows.push(row);
    }
    let _ = reader.bytes_read();
    Ok((rows, None))
}

fn check_row(row: &Row) {
    let invalid = row.problems.iter().any(|p| !p.code.is_flag());
    match row.status {
        RowStatus::Invalid => assert!(invalid, "invalid without a reason: {:?}", row.problems),
        RowStatus::Valid => assert!(!invalid, "valid with {:?}", row.problems),
        RowStatus::Skipped => assert!(!row.needs_match()),
        RowStatus::Flagged => panic!("flagged before matching"),
    }
    for (column, value) in &row.amounts {
        assert_eq!(value.scale(), 2, "{column:?} not at two places");
        assert!(value.abs() <= money::MAX_AMOUNT, "{column:?} beyond the ledger");
        assert!(
            !(value.is_zero() && value.is_sign_negative()),
            "{column:?} is a negative zero"
        );
    }
    let _ = row.normalized();
}
