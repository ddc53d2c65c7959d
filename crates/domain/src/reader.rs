//! Streams a file's rows, one at a time, with their line numbers.
//!
//! Memory stays flat whatever the file size: one record buffer is reused.
//! The reader only splits and maps cells; judging them is [`crate::row`]'s job.

use crate::header::{HeaderError, HeaderMap};
use crate::line_endings::LineEndings;
use crate::options::ParseOptions;
use crate::template::Column;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A record's fields as one text and where each ends. A million-row file
/// read as one `String` per field cost ten allocations a row, made on the
/// reading thread and freed on another, which kept glibc's allocator busier
/// than the parsing itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields {
    text: String,
    ends: Vec<usize>,
}

impl Fields {
    /// How many fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `i`, as read.
    pub fn get(&self, i: usize) -> Option<&str> {
        (i < self.ends.len()).then(|| &self.text[self.range(i)])
    }

    /// The fields in order, as read.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.ends.len()).map(|i| &self.text[self.range(i)])
    }

    /// Adds a field at the end.
    pub fn push(&mut self, field: &str) {
        self.text.push_str(field);
        self.ends.push(self.text.len());
    }

    /// Where field `i` lies in the text; `i` must be below [`Fields::len`].
    fn range(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        start..self.ends[i]
    }
}

impl<'a> FromIterator<&'a str> for Fields {
    fn from_iter<I: IntoIterator<Item = &'a str>>(fields: I) -> Self {
        let mut out = Fields::default();
        for field in fields {
            out.push(field);
        }
        out
    }
}

/// Cells of one data row, by template column, as read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    /// The file's line number where the row starts (the header is line 1).
    pub line: u32,
    /// Every field of the line in file order, as read (for the error
    /// report); the cells are ranges of their text.
    pub fields: Fields,
    /// Each column's cell as a byte range of `fields`' text; `None` when
    /// the file has no such column. The offsets are `u32` (a record is far
    /// below 4 GiB; a longer one reads as empty cells, never a panic):
    /// a row is moved several times on its way into a batch, and `usize`
    /// pairs made this array two thirds of its size.
    cells: [Option<(u32, u32)>; Column::ALL.len()],
    /// How many fields the row had, to compare with the header's width.
    pub field_count: usize,
    pub header_width: usize,
    /// The line's fields are its cells, in the header's order: every
    /// header a column, one field per header, none Excel-guarded (see
    /// bf_domain::compact::fields_follow_from_cells).
    pub fields_are_cells: bool,
}

impl RawRow {
    /// The cell for a column, trimmed; empty when absent.
    pub fn cell(&self, column: Column) -> &str {
        self.cell_text(column).map(trimmed).unwrap_or("")
    }

    /// The cell for a column as read (Excel's guard taken off); `None`
    /// when the file has no such column.
    pub fn cell_text(&self, column: Column) -> Option<&str> {
        let (start, end) = self.cells[column.index()]?;
        Some(
            self.fields
                .text
                .get(start as usize..end as usize)
                .unwrap_or(""),
        )
    }
}

/// `text` without leading and trailing whitespace, as `str::trim` gives
/// it, but without walking characters when the first and last bytes are
/// plainly not whitespace: every cell of every row is trimmed, several
/// times, and the general trim was a tenth of the validator's time.
pub fn trimmed(text: &str) -> &str {
    // Only ASCII bytes that `char::is_whitespace` refuses: tab, LF,
    // vertical tab, form feed, CR and space are whitespace.
    let solid = |b: &u8| b.is_ascii() && !matches!(b, b'\t'..=b'\r' | b' ');
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if solid(first) && solid(last) => text,
        _ => text.trim(),
    }
}

/// Why a whole file cannot be read. The import fails with this reason and
/// nothing else is recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("line {line} is not UTF-8 text (save the file as CSV UTF-8)")]
    NotUtf8 { line: u64 },
    #[error("line {line} cannot be read as CSV: {reason}")]
    Malformed { line: u64, reason: String },
    /// Not text in any accepted encoding, or mixing encodings.
    #[error("{0}")]
    Encoding(String),
    #[error("the file could not be read: {0}")]
    Io(String),
}

impl FileError {
    /// Tells a bad file (its encoding) from a failed read (storage).
    pub fn from_io(e: std::io::Error) -> FileError {
        match crate::encoding::encoding_error(&e) {
            Some(bad) => FileError::Encoding(bad.to_string()),
            None => FileError::Io(e.kind().to_string()),
        }
    }
}

impl From<csv::Error> for FileError {
    fn from(e: csv::Error) -> Self {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        match e.into_kind() {
            csv::ErrorKind::Io(io) => FileError::from_io(io),
            csv::ErrorKind::Utf8 { .. } => FileError::NotUtf8 { line },
            // The csv crate's own messages name no cell values.
            other => FileError::Malformed {
                line,
                reason: format!("{other:?}"),
            },
        }
    }
}

/// One record of a file as its format yields it: where it starts and
/// its cells as text. CSV and xlsx both produce these, so every rule after
/// this point is the same for both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The file's line (CSV) or row (xlsx) number where the record starts.
    pub line: u64,
    pub cells: Fields,
}

/// A format's stream of records.
pub trait RecordSource {
    /// The next record, or `None` at the end of the file.
    fn next_record(&mut self) -> Result<Option<Record>, FileError>;
    /// The line of the next record and whether it is blank, checked as
    /// [`RecordSource::next_record`] checks it but without keeping its
    /// cells: planning a split reads every record of a big file once.
    fn next_line(&mut self) -> Result<Option<(u64, bool)>, FileError> {
        Ok(self.next_record()?.map(|r| (r.line, is_blank(&r.cells))))
    }
    /// Bytes of the file consumed so far, for progress.
    fn bytes_read(&self) -> u64;
    /// True when a short record is normal rather than a sign of a missing
    /// separator: a spreadsheet does not store a row's trailing empty
    /// cells, so its rows are padded to the header instead of refused.
    fn pads_short_rows(&self) -> bool {
        false
    }
}

/// Records of a delimited text file (already UTF-8).
pub struct CsvSource<R: Read> {
    csv: csv::Reader<LineEndings<R>>,
    record: csv::ByteRecord,
    consumed: Arc<AtomicU64>,
}

impl<R: Read> CsvSource<R> {
    /// Reads `input` split on `delimiter`.
    pub fn new(input: R, delimiter: u8) -> Self {
        let input = LineEndings::new(input);
        let consumed = input.consumed();
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(input);
        CsvSource {
            csv,
            record: csv::ByteRecord::new(),
            consumed,
        }
    }

    /// The line the record began on. The csv crate reports where parsing
    /// began, which is before any blank lines it skipped; the line after
    /// the record is exact because [`LineEndings`] guarantees every record
    /// ends in LF, so count back over the newlines inside its fields.
    fn start_line(&self) -> u64 {
        let after = self.csv.position().line();
        let inside = memchr::memchr_iter(b'\n', self.record.as_slice()).count() as u64;
        after.saturating_sub(1 + inside)
    }
}

impl<R: Read> RecordSource for CsvSource<R> {
    fn next_record(&mut self) -> Result<Option<Record>, FileError> {
        if !self.csv.read_byte_record(&mut self.record)? {
            return Ok(None);
        }
        let line = self.start_line();
        let cells = decode(&self.record, line)?;
        Ok(Some(Record { line, cells }))
    }

    fn next_line(&mut self) -> Result<Option<(u64, bool)>, FileError> {
        if !self.csv.read_byte_record(&mut self.record)? {
            return Ok(None);
        }
        let line = self.start_line();
        let mut blank = true;
        for field in self.record.iter() {
            blank &= blank_field(field, line)?;
        }
        Ok(Some((line, blank)))
    }

    fn bytes_read(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }
}

/// Whether a field is only whitespace as `str::trim` sees it, without
/// building a `str` of an ASCII field (the usual case, and planning a split
/// asks this of every field of the file). A field that is not UTF-8 is
/// refused as the parse refuses it.
fn blank_field(field: &[u8], line: u64) -> Result<bool, FileError> {
    if field.is_ascii() {
        // The ASCII characters `char::is_whitespace` accepts: tab, LF,
        // vertical tab, form feed, CR and space.
        return Ok(field.iter().all(|b| matches!(b, b'\t'..=b'\r' | b' ')));
    }
    let text = std::str::from_utf8(field).map_err(|_| FileError::NotUtf8 { line })?;
    Ok(text.trim().is_empty())
}

/// A streaming reader of an import file: the header, then judged-ready
/// rows mapped to template columns.
pub struct ImportReader<S: RecordSource> {
    source: S,
    header: HeaderMap,
    /// Every header is read as a template column (the header map has no
    /// two alike), so a line of full width can have its fields moved into
    /// its cells; see [`ImportReader::fields_are_cells`].
    every_header_a_column: bool,
}

impl<R: Read> ImportReader<CsvSource<R>> {
    /// A comma-separated UTF-8 file, read with default options.
    pub fn csv(input: R) -> Result<Self, FileError> {
        ImportReader::new(CsvSource::new(input, b','), &ParseOptions::default())
    }
}

impl<S: RecordSource> ImportReader<S> {
    /// Reads and checks the header row.
    pub fn new(mut source: S, options: &ParseOptions) -> Result<Self, FileError> {
        let header = loop {
            match source.next_record()? {
                None => return Err(FileError::Empty),
                Some(r) if is_blank(&r.cells) => continue,
                Some(r) => break HeaderMap::with_mapping(r.cells.iter(), &options.mapping)?,
            }
        };
        let every_header_a_column = header.positions().iter().all(Option::is_some);
        Ok(ImportReader {
            source,
            header,
            every_header_a_column,
        })
    }

    /// The header mapping that was detected.
    pub fn header(&self) -> &HeaderMap {
        &self.header
    }

    /// Bytes of the file consumed so far (read-ahead included), for progress.
    pub fn bytes_read(&self) -> u64 {
        self.source.bytes_read()
    }

    /// The next non-blank data row, or `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<RawRow>, FileError> {
        loop {
            match self.source.next_record()? {
                None => return Ok(None),
                Some(r) if is_blank(&r.cells) => continue,
                Some(mut r) => {
                    if self.source.pads_short_rows() {
                        while r.cells.len() < self.header.width() {
                            r.cells.push("");
                        }
                    }
                    return Ok(Some(self.map(r.line, r.cells)));
                }
            }
        }
    }

    /// The line of the next non-blank data row, or `None` at the end of
    /// the file: the rows [`ImportReader::next_row`] would return, counted
    /// without mapping their cells (planning a split reads every row).
    pub fn next_row_line(&mut self) -> Result<Option<u64>, FileError> {
        loop {
            match self.source.next_line()? {
                None => return Ok(None),
                Some((_, true)) => continue,
                Some((line, false)) => return Ok(Some(line)),
            }
        }
    }

    fn map(&self, line: u64, fields: Fields) -> RawRow {
        let field_count = fields.len();
        let mut cells = [None; Column::ALL.len()];
        let mut unguarded = true;
        let positions = self.header.positions();
        for (i, column) in positions.iter().enumerate().take(field_count) {
            if let Some(column) = column {
                let field = fields.range(i);
                let inner = unguard(&fields.text[field.clone()]);
                unguarded &= inner.len() == field.len();
                cells[column.index()] = Some((
                    offset(field.start + inner.start),
                    offset(field.start + inner.end),
                ));
            }
        }
        for column in positions.iter().skip(field_count).flatten() {
            // Short rows: the column exists in the file, the cell is empty.
            let end = offset(fields.text.len());
            cells[column.index()] = Some((end, end));
        }
        RawRow {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            fields,
            cells,
            field_count,
            header_width: self.header.width(),
            fields_are_cells: self.every_header_a_column
                && field_count == self.header.width()
                && unguarded,
        }
    }
}

/// Excel keeps leading zeros in CSV exports by writing `="000123"`; the
/// value is what is inside the quotes. Where the value lies in `cell`.
fn unguard(cell: &str) -> std::ops::Range<usize> {
    let t = trimmed(cell);
    let lead = t.as_ptr() as usize - cell.as_ptr() as usize;
    match t
        .strip_prefix("=\"")
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|inner| !inner.contains('"'))
    {
        Some(inner) => lead + 2..lead + 2 + inner.len(),
        None => 0..cell.len(),
    }
}

/// A cell's byte offset as stored in [`RawRow`]; past `u32` it saturates,
/// which [`RawRow::cell_text`] reads as an empty cell.
fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

fn is_blank(fields: &Fields) -> bool {
    fields.iter().all(|f| trimmed(f).is_empty())
}

/// The record's fields as text. The record's bytes are checked at once,
/// then each field's end is a character boundary exactly when every field
/// is UTF-8 on its own.
fn decode(record: &csv::ByteRecord, line: u64) -> Result<Fields, FileError> {
    let not_utf8 = || FileError::NotUtf8 { line };
    let text = std::str::from_utf8(record.as_slice()).map_err(|_| not_utf8())?;
    let ends: Vec<usize> = (0..record.len())
        .filter_map(|i| record.range(i).map(|r| r.end))
        .collect();
    if !ends.iter().all(|end| text.is_char_boundary(*end)) {
        return Err(not_utf8());
    }
    Ok(Fields {
        text: text.to_owned(),
        ends,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "patient_account_number,patient_id,last_name,first_name,date_of_birth,patient_balance,insurance_balance,balance_as_of,reference\n";

    fn rows(body: &str) -> Vec<RawRow> {
        let text = format!("{HEADER}{body}");
        let mut r = ImportReader::csv(text.as_bytes()).unwrap();
        let mut out = vec![];
        while let Some(row) = r.next_row().unwrap() {
            out.push(row);
        }
        out
    }

    #[test]
    fn a_field_is_blank_exactly_when_trim_leaves_nothing() {
        let mut fields: Vec<Vec<u8>> = (0u8..128).map(|b| vec![b]).collect();
        for text in [
            " \u{a0} ",
            "\u{3000}",
            " é ",
            "",
            "  \t\r\n\u{b}\u{c} ",
            "\u{1c}",
        ] {
            fields.push(text.as_bytes().to_vec());
        }
        for field in fields {
            let by_trim = std::str::from_utf8(&field).is_ok_and(|t| t.trim().is_empty());
            assert_eq!(blank_field(&field, 1).unwrap(), by_trim, "{field:?}");
        }
        assert!(matches!(
            blank_field(b"\xff", 3),
            Err(FileError::NotUtf8 { line: 3 })
        ));
    }

    #[test]
    fn trimming_a_cell_is_exactly_str_trim() {
        let mut texts: Vec<String> = (0u8..128).map(|b| char::from(b).to_string()).collect();
        for edge in ["\u{a0}", "\u{3000}", "é", "\u{b}", " ", "x"] {
            for inner in ["", "a", " a b ", "é"] {
                texts.push(format!("{edge}{inner}{edge}"));
                texts.push(format!("{edge}{inner}"));
                texts.push(format!("{inner}{edge}"));
            }
        }
        for text in &texts {
            assert_eq!(trimmed(text), text.trim(), "{text:?}");
        }
    }

    #[test]
    fn a_field_split_inside_a_character_is_not_utf8() {
        // Each field alone is not UTF-8, though their bytes together are.
        let mut text = HEADER.as_bytes().to_vec();
        text.extend_from_slice(b"001,,Pe\xc3,\xb1a,1980-01-02,1,,,\n");
        let mut r = ImportReader::csv(&text[..]).unwrap();
        assert_eq!(r.next_row(), Err(FileError::NotUtf8 { line: 2 }));
    }

    #[test]
    fn rows_carry_the_files_line_numbers() {
        let got = rows("001,,Doe,Jane,1980-01-02,10.00,,,\n\n002,,\"Multi\nLine\",Al,1970-05-06,5,,,\n003,,Roe,Bo,1990-01-01,1,,,\n");
        let lines: Vec<u32> = got.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4, 6]);
        assert_eq!(got[0].cell(Column::PatientAccountNumber), "001");
        assert_eq!(got[1].cell(Column::LastName), "Multi\nLine");
    }

    #[test]
    fn line_numbers_are_exact_for_crlf_and_cr_files() {
        for eol in ["\r\n", "\r"] {
            let text = format!("{HEADER}1,,A,B,1980-01-02,1,,,{eol}{eol}2,,\"C{eol}D\",E,1980-01-02,1,,,{eol}3,,F,G,1980-01-02,1,,,");
            let mut r = ImportReader::csv(text.as_bytes()).unwrap();
            let mut lines = vec![];
            while let Some(row) = r.next_row().unwrap() {
                lines.push(row.line);
            }
            assert_eq!(lines, [2, 4, 6], "{eol:?}");
        }
    }

    #[test]
    fn excel_guarded_values_are_unwrapped() {
        let got = rows("\"=\"\"000123\"\"\",,Doe,Jane,1980-01-02,10.00,,,\n");
        assert_eq!(got[0].cell(Column::PatientAccountNumber), "000123");
        assert_eq!(got[0].fields.get(0), Some("=\"000123\""));
        assert_eq!(unguard("=\"a\"b\""), 0..6);
        assert_eq!(unguard("=SUM(A1)"), 0..8);
        assert_eq!(unguard(" =\"007\" "), 3..6);
    }

    #[test]
    fn blank_and_empty_lines_are_ignored() {
        assert_eq!(rows("\n,,,,,,,,\n  \n").len(), 0);
    }

    #[test]
    fn short_and_long_rows_report_their_width() {
        let got = rows("001,,Doe\n001,,Doe,Jane,1980-01-02,10.00,,,,extra\n");
        assert_eq!((got[0].field_count, got[0].header_width), (3, 9));
        assert_eq!(got[0].cell_text(Column::PatientBalance), Some(""));
        assert_eq!(got[1].field_count, 10);
    }

    #[test]
    fn absent_columns_are_none() {
        let text = "patient_id,last_name,first_name,date_of_birth,patient_balance\nP1,Doe,Jane,1980-01-02,1\n";
        let mut r = ImportReader::csv(text.as_bytes()).unwrap();
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.cell_text(Column::PatientAccountNumber), None);
        assert_eq!(row.cell(Column::PatientId), "P1");
    }

    #[test]
    fn empty_file_and_missing_columns_fail_the_whole_file() {
        assert_eq!(ImportReader::csv(&b""[..]).err(), Some(FileError::Empty));
        let err =
            ImportReader::csv(&b"patient_account_number,last_name,first_name,date_of_birth\n"[..])
                .err()
                .unwrap();
        assert!(err
            .to_string()
            .starts_with("the header is missing required columns: patient_balance."));
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let mut text = HEADER.as_bytes().to_vec();
        text.extend_from_slice(b"001,,Pe\xf1a,Jo,1980-01-02,1,,,\n");
        let mut r = ImportReader::csv(&text[..]).unwrap();
        assert_eq!(r.next_row(), Err(FileError::NotUtf8 { line: 2 }));
    }

    #[test]
    fn bytes_read_reaches_the_file_size() {
        let text = format!("{HEADER}001,,Doe,Jane,1980-01-02,10.00,,,\r\n");
        let mut r = ImportReader::csv(text.as_bytes()).unwrap();
        while r.next_row().unwrap().is_some() {}
        assert_eq!(r.bytes_read(), text.len() as u64);
    }
}
