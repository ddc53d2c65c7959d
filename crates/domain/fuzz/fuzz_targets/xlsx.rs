//! The input is an uploaded workbook (.xlsx, a zip archive).
//!
//! It is opened with small limits (so a decompression bomb costs little),
//! then its records are read as an import: header, rows, row rules.
//! Nothing may panic, and the limits must hold.

#![no_main]

use bf_domain::options::ParseOptions;
use bf_domain::reader::{ImportReader, RecordSource};
use bf_domain::xlsx::{self, XlsxLimits};
use bf_domain::Row;
use libfuzzer_sys::fuzz_target;

const LIMITS: XlsxLimits = XlsxLimits {
    max_uncompressed_bytes: 1 << 20,
    max_ratio: 100,
    max_cells: 10_000,
};

fuzz_target!(|data: &[u8]| {
    let mut source = match xlsx::open(std::io::Cursor::new(data), &LIMITS) {
        Ok(source) => source,
        Err(e) => {
            // The message is shown to the user: building it must not panic.
            let _ = e.to_string();
            return;
        }
    };
    // Drain the raw records once, checking what the limits promise.
    let mut cells = 0u64;
    let mut previous_line = 0u64;
    while let Ok(Some(record)) = source.next_record() {
        assert!(record.line > previous_line, "records out of order");
        previous_line = record.line;
        cells += record.cells.iter().filter(|c| !c.is_empty()).count() as u64;
        let _ = source.bytes_read();
    }
    assert!(cells <= LIMITS.max_cells);
    assert_eq!(source.bytes_read(), data.len() as u64);

    // Then the same workbook as an import.
    let options = ParseOptions::default();
    let Ok(source) = xlsx::open(std::io::Cursor::new(data), &LIMITS) else {
        panic!("the workbook opened once and not twice");
    };
    let Ok(mut reader) = ImportReader::new(source, &options) else {
        return;
    };
    while let Ok(Some(raw)) = reader.next_row() {
        let _ = Row::validate(raw, &options).normalized();
    }
});
