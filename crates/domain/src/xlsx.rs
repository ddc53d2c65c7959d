//! Reads the first worksheet of an Excel workbook (.xlsx) as [`Record`]s.
//!
//! Billing leads often open an EHR export in Excel and save it as a
//! workbook, so an upload may be xlsx rather than CSV. This module turns the
//! sheet into the same records [`crate::reader::CsvSource`] yields, so every
//! rule after reading is the same for both formats.
//!
//! An xlsx file is a zip archive, and a small upload can declare parts that
//! expand to gigabytes. The archive's central directory is therefore checked
//! against [`XlsxLimits`] before any part is decompressed.
//!
//! Error messages never quote cell values: they would put patient data in
//! logs and API responses.

use crate::reader::{FileError, Record, RecordSource};
use calamine::{DataRef, ExcelDateTime, Reader, SheetType, SheetVisible, Xlsx};
use std::io::{BufReader, Read, Seek, SeekFrom};

/// Caps on what a workbook may cost to read. An upload is untrusted, and
/// a zip archive can expand by orders of magnitude.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XlsxLimits {
    /// Most bytes the archive's parts may expand to, summed over all parts
    /// as the zip directory declares them. Also caps the text kept from the
    /// sheet, since shared strings can repeat one long text in many cells.
    pub max_uncompressed_bytes: u64,
    /// Most times one part may expand its compressed size. Real workbooks
    /// compress about 5 to 20 times; bombs compress hundreds of times.
    pub max_ratio: u64,
    /// Most cells the sheet may hold, empty ones included, which bounds the
    /// time and memory spent reading it.
    pub max_cells: u64,
}

impl Default for XlsxLimits {
    /// Generous for a real balance export (a few hundred thousand rows),
    /// small enough that one upload cannot exhaust a validator's memory.
    fn default() -> Self {
        XlsxLimits {
            max_uncompressed_bytes: 2 * 1024 * 1024 * 1024,
            max_ratio: 100,
            max_cells: 50_000_000,
        }
    }
}

/// Why a workbook cannot be read. The import fails with this reason; the
/// messages are plain words for the person who uploaded the file, and never
/// contain cell values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XlsxError {
    /// The file is not an xlsx workbook; the text says what it is instead.
    #[error("the file is not an Excel workbook (.xlsx): {0}")]
    NotXlsx(&'static str),
    /// The parts would expand beyond [`XlsxLimits::max_uncompressed_bytes`].
    #[error("the workbook is too large to import: it expands to more than {limit} bytes")]
    TooLarge {
        /// The limit in force, so the message can say what is allowed.
        limit: u64,
    },
    /// A part compresses more than [`XlsxLimits::max_ratio`] times, the mark
    /// of a decompression bomb.
    #[error("the workbook looks unsafe to open: a part of it expands more than {limit} times its stored size")]
    Ratio {
        /// The limit in force, so the message can say what is allowed.
        limit: u64,
    },
    /// The sheet has more than [`XlsxLimits::max_cells`] cells.
    #[error("the worksheet is too large to import: it has more than {limit} cells")]
    TooManyCells {
        /// The limit in force, so the message can say what is allowed.
        limit: u64,
    },
    /// The workbook has no worksheet to read (only charts, or nothing).
    #[error("the workbook has no worksheet")]
    NoSheets,
    /// The workbook is damaged or uses something this reader does not
    /// support; the text says which.
    #[error("the workbook could not be read: {0}")]
    Unreadable(&'static str),
}

const NOT_ZIP: &str = "it is not a zip archive";
const LEGACY_OR_ENCRYPTED: &str =
    "it is an old .xls file or a password-protected workbook; save it as .xlsx without a password";
const DAMAGED_ZIP: &str = "its zip archive is damaged";
const NO_WORKBOOK: &str = "it has no workbook part";
const READ_FAILED: &str = "the file could not be read";
const BAD_XML: &str = "its XML is malformed";
const ZIP64: &str = "it uses the zip64 format, which an import never needs";
const ENCRYPTED_PART: &str = "a part of it is encrypted";
const COMPRESSION: &str = "a part of it uses an unsupported compression method";
const UNSUPPORTED: &str = "its content is not supported";
const SHEET_MISSING: &str = "the worksheet's part is missing";

/// True if the first bytes are a zip signature (`PK\x03\x04`), i.e. likely
/// xlsx. Lets the caller pick the reader from the content, since file names
/// and content types sent by browsers are unreliable.
pub fn looks_like_xlsx(prefix: &[u8]) -> bool {
    prefix.starts_with(b"PK\x03\x04")
}

/// Opens a workbook and reads its first visible worksheet.
///
/// The zip directory is checked against `limits` before anything is
/// decompressed. calamine's streaming cell reader borrows the workbook, so
/// it cannot live inside a returned source; the sheet's non-empty cells are
/// therefore read here, as text, and handed out one row at a time. Memory
/// is bounded by `limits` (cell count and text bytes), not by the sheet's
/// dimensions.
pub fn open<R: Read + Seek>(mut input: R, limits: &XlsxLimits) -> Result<XlsxSource, XlsxError> {
    let file_size = check_archive(&mut input, limits)?;
    input
        .seek(SeekFrom::Start(0))
        .map_err(|_| XlsxError::Unreadable(READ_FAILED))?;
    check_declared_sizes(&mut input, limits)?;
    input
        .seek(SeekFrom::Start(0))
        .map_err(|_| XlsxError::Unreadable(READ_FAILED))?;
    // calamine can panic on crafted cell references (an arithmetic
    // overflow); a bad upload must fail with a reason, never take the
    // worker down.
    let cells = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut workbook: Xlsx<R> = Xlsx::new(input).map_err(from_calamine)?;
        let sheet = first_worksheet(workbook.sheets_metadata()).ok_or(XlsxError::NoSheets)?;
        read_cells(&mut workbook, &sheet, limits)
    }))
    .map_err(|_| XlsxError::Unreadable("the workbook has a damaged cell reference"))??;
    Ok(XlsxSource::new(cells, file_size))
}

/// The records of one worksheet: one per row that has a non-empty cell.
///
/// Its `Debug` shows counts only, never cells.
pub struct XlsxSource {
    cells: std::iter::Peekable<std::vec::IntoIter<SheetCell>>,
    rows_total: u64,
    rows_emitted: u64,
    file_size: u64,
    finished: bool,
}

impl std::fmt::Debug for XlsxSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XlsxSource")
            .field("rows_total", &self.rows_total)
            .field("rows_emitted", &self.rows_emitted)
            .field("file_size", &self.file_size)
            .finish_non_exhaustive()
    }
}

/// One non-empty cell, 0-based as calamine reports it.
struct SheetCell {
    row: u32,
    col: u32,
    text: String,
}

impl XlsxSource {
    /// `cells` must be sorted by row, then column.
    fn new(cells: Vec<SheetCell>, file_size: u64) -> Self {
        let mut rows_total = 0;
        let mut last_row = None;
        for cell in &cells {
            if last_row != Some(cell.row) {
                rows_total += 1;
                last_row = Some(cell.row);
            }
        }
        XlsxSource {
            cells: cells.into_iter().peekable(),
            rows_total,
            rows_emitted: 0,
            file_size,
            finished: false,
        }
    }
}

impl RecordSource for XlsxSource {
    fn next_record(&mut self) -> Result<Option<Record>, FileError> {
        let Some(first) = self.cells.next() else {
            self.finished = true;
            return Ok(None);
        };
        let row = first.row;
        let mut cells = Vec::new();
        place(&mut cells, first);
        while let Some(cell) = self.cells.next_if(|c| c.row == row) {
            place(&mut cells, cell);
        }
        self.rows_emitted += 1;
        Ok(Some(Record {
            // Excel numbers rows from 1; calamine from 0.
            line: u64::from(row) + 1,
            cells: cells.iter().map(String::as_str).collect(),
        }))
    }

    /// The file size times the share of rows handed out: the whole file is
    /// read when the source opens, so this only tracks progress of the
    /// caller's work, and reaches the file size with the last row.
    fn pads_short_rows(&self) -> bool {
        true
    }

    fn bytes_read(&self) -> u64 {
        if self.finished || self.rows_emitted >= self.rows_total {
            return self.file_size;
        }
        let share = u128::from(self.file_size) * u128::from(self.rows_emitted)
            / u128::from(self.rows_total);
        u64::try_from(share).unwrap_or(self.file_size)
    }
}

/// Puts a cell at its column, filling skipped columns with empty cells. A
/// cell repeated at the same position (a malformed sheet) replaces the
/// earlier one, as Excel does.
fn place(cells: &mut Vec<String>, cell: SheetCell) {
    let col = cell.col as usize;
    if let Some(slot) = cells.get_mut(col) {
        *slot = cell.text;
    } else {
        cells.resize(col, String::new());
        cells.push(cell.text);
    }
}

/// The first worksheet a user sees: hidden sheets (often lookup tables) are
/// skipped unless every worksheet is hidden.
fn first_worksheet(sheets: &[calamine::Sheet]) -> Option<String> {
    let mut worksheets = sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    let first = worksheets.clone().next()?;
    let visible = worksheets.find(|s| s.visible == SheetVisible::Visible);
    Some(visible.unwrap_or(first).name.clone())
}

/// Streams the sheet's cells, keeping the non-empty ones as text, sorted by
/// row then column.
/// Excel's grid: columns A..XFD, rows 1..1,048,576.
const EXCEL_COLUMNS: u32 = 16_384;
const EXCEL_ROWS: u32 = 1_048_576;

fn read_cells<R: Read + Seek>(
    workbook: &mut Xlsx<R>,
    sheet: &str,
    limits: &XlsxLimits,
) -> Result<Vec<SheetCell>, XlsxError> {
    let mut reader = workbook
        .worksheet_cells_reader(sheet)
        .map_err(from_calamine)?;
    let mut cells: Vec<SheetCell> = Vec::new();
    let mut seen: u64 = 0;
    let mut text_bytes: u64 = 0;
    let mut sorted = true;
    while let Some(cell) = reader.next_cell().map_err(from_calamine)? {
        seen += 1;
        if seen > limits.max_cells {
            return Err(XlsxError::TooManyCells {
                limit: limits.max_cells,
            });
        }
        let text = cell_text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        text_bytes = text_bytes.saturating_add(text.len() as u64);
        if text_bytes > limits.max_uncompressed_bytes {
            return Err(XlsxError::TooLarge {
                limit: limits.max_uncompressed_bytes,
            });
        }
        let (row, col) = cell.get_position();
        if col >= EXCEL_COLUMNS || row >= EXCEL_ROWS {
            // Beyond Excel's own grid: a crafted file, not an export.
            return Err(XlsxError::Unreadable(
                "the sheet has a cell outside Excel's grid",
            ));
        }
        if let Some(last) = cells.last() {
            // Excel writes cells in order; other producers may not.
            sorted &= (last.row, last.col) < (row, col);
        }
        cells.push(SheetCell { row, col, text });
    }
    if !sorted {
        // Stable, so a repeated position keeps the sheet's order and the
        // later cell wins in `place`.
        cells.sort_by_key(|c| (c.row, c.col));
    }
    Ok(cells)
}

/// A cell's value as the text a CSV export of it would hold.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::Bool(true) => "TRUE".to_owned(),
        DataRef::Bool(false) => "FALSE".to_owned(),
        DataRef::DateTime(dt) => date_text(dt),
        DataRef::Error(_) | DataRef::Empty => String::new(),
    }
}

/// A number in plain decimal, without exponent or binary noise.
///
/// Excel keeps 15 significant digits and shows no more, but its files may
/// store the full double (`0.30000000000000004`, `1358.9500000000001`).
/// Rounding to 15 significant digits gives back the number the user saw;
/// Rust's `Display` for `f64` then writes the shortest text that reads back
/// as that number, and never uses an exponent.
fn number_text(x: f64) -> String {
    if !x.is_finite() {
        // Not produced by Excel; let validation reject the text.
        return x.to_string();
    }
    let rounded = format!("{x:.14e}").parse::<f64>().unwrap_or(x);
    if rounded == 0.0 {
        // Also turns -0 into 0.
        return "0".to_owned();
    }
    rounded.to_string()
}

/// A date-formatted cell as `YYYY-MM-DD`; the time of day is dropped.
/// Durations and serials outside Excel's calendar stay numbers, so that
/// validation reports them rather than a made-up date.
fn date_text(dt: &ExcelDateTime) -> String {
    let serial = dt.as_f64();
    // Excel's calendar ends at 9999-12-31 (serial 2958465 in the 1900
    // system); calamine clamps beyond it.
    if !dt.is_datetime() || !(0.0..2_958_466.0).contains(&serial) {
        return number_text(serial);
    }
    let (year, month, day, ..) = dt.to_ymd_hms_milli();
    if month == 0 || day == 0 {
        // Serial 0 of the 1900 system, which Excel shows as 1900-01-00.
        return number_text(serial);
    }
    format!("{year:04}-{month:02}-{day:02}")
}

/// calamine's own messages can quote cell text (unknown error values,
/// unknown cell types), so only the kind of failure is kept.
fn from_calamine(e: calamine::XlsxError) -> XlsxError {
    use calamine::XlsxError as C;
    match e {
        C::Io(_) => XlsxError::Unreadable(READ_FAILED),
        C::Zip(_) => XlsxError::Unreadable(DAMAGED_ZIP),
        C::Password => XlsxError::NotXlsx(LEGACY_OR_ENCRYPTED),
        C::FileNotFound(_) | C::RelationshipNotFound => XlsxError::NotXlsx(NO_WORKBOOK),
        C::WorksheetNotFound(_) => XlsxError::Unreadable(SHEET_MISSING),
        C::NotAWorksheet(_) => XlsxError::NoSheets,
        C::Xml(_) | C::XmlAttr(_) | C::XmlEof(_) | C::UnexpectedNode(_) | C::Encoding(_) => {
            XlsxError::Unreadable(BAD_XML)
        }
        _ => XlsxError::Unreadable(UNSUPPORTED),
    }
}

const LOCAL_HEADER_SIG: &[u8; 4] = b"PK\x03\x04";
const CENTRAL_HEADER_SIG: &[u8; 4] = b"PK\x01\x02";
const END_SIG: &[u8; 4] = b"PK\x05\x06";
/// Compound File Binary: old .xls files, and encrypted .xlsx files.
const CFB_SIG: &[u8; 8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
const END_LEN: usize = 22;
const MAX_ARCHIVE_COMMENT: usize = u16::MAX as usize;
const CENTRAL_HEADER_LEN: usize = 46;
const ZIP64_EXTRA_ID: u16 = 0x0001;
const STORED: u16 = 0;
const DEFLATED: u16 = 8;

/// Checks the zip central directory against `limits` and returns the file
/// size. Nothing is decompressed.
///
/// The zip crate (inside calamine) reads the same directory: it takes the
/// last end-of-directory record, and when that record's directory ends
/// right where the record starts, it never falls back to another one. This
/// check insists on exactly that layout, so both read the same entries;
/// anything looser is refused as damaged rather than guessed at.
///
/// The sizes are the ones the archive declares; a part that lies about its
/// size is only caught when the text kept from the sheet exceeds the limit.
/// Decompresses every part once, never further than its declared size
/// (plus one byte): an archive whose parts expand beyond what its
/// directory declares (a crafted bomb that lies about its sizes) is refused
/// before the workbook parser sees it. The declared sizes themselves were
/// already held to the limits by [`check_archive`].
fn check_declared_sizes<R: Read + Seek>(
    input: &mut R,
    limits: &XlsxLimits,
) -> Result<(), XlsxError> {
    let mut archive = zip::ZipArchive::new(input)
        .map_err(|_| XlsxError::Unreadable("the zip archive is damaged"))?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut part = archive
            .by_index(i)
            .map_err(|_| XlsxError::Unreadable("a part of the workbook cannot be read"))?;
        let declared = part.size();
        let actual = std::io::copy(
            &mut (&mut part).take(declared.saturating_add(1)),
            &mut std::io::sink(),
        )
        .map_err(|_| XlsxError::Unreadable("a part of the workbook cannot be decompressed"))?;
        total = total.saturating_add(actual);
        if actual > declared || total > limits.max_uncompressed_bytes {
            return Err(XlsxError::TooLarge {
                limit: limits.max_uncompressed_bytes,
            });
        }
    }
    Ok(())
}

fn check_archive<R: Read + Seek>(input: &mut R, limits: &XlsxLimits) -> Result<u64, XlsxError> {
    let io = |_: std::io::Error| XlsxError::Unreadable(READ_FAILED);
    let file_len = input.seek(SeekFrom::End(0)).map_err(io)?;
    input.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut magic = Vec::with_capacity(CFB_SIG.len());
    input
        .by_ref()
        .take(CFB_SIG.len() as u64)
        .read_to_end(&mut magic)
        .map_err(io)?;
    if magic.starts_with(CFB_SIG) {
        return Err(XlsxError::NotXlsx(LEGACY_OR_ENCRYPTED));
    }
    if !magic.starts_with(LOCAL_HEADER_SIG) {
        return Err(XlsxError::NotXlsx(NOT_ZIP));
    }

    // The end record is 22 bytes plus a comment of at most 64 KiB.
    let tail_len = file_len.min((END_LEN + MAX_ARCHIVE_COMMENT) as u64);
    let tail_start = file_len - tail_len;
    input.seek(SeekFrom::Start(tail_start)).map_err(io)?;
    let mut tail = Vec::new();
    input
        .by_ref()
        .take(tail_len)
        .read_to_end(&mut tail)
        .map_err(io)?;
    let damaged = XlsxError::Unreadable(DAMAGED_ZIP);
    let end_at = (0..=tail.len().saturating_sub(END_LEN))
        .rev()
        .find(|&i| tail[i..].starts_with(END_SIG) && i + END_LEN <= tail.len())
        .ok_or(XlsxError::Unreadable(DAMAGED_ZIP))?;
    let end = &tail[end_at..];
    let disk = le16(end, 4);
    let directory_disk = le16(end, 6);
    let entries_on_disk = le16(end, 8);
    let entries = le16(end, 10);
    let directory_size = le32(end, 12);
    let directory_offset = le32(end, 16);
    let comment_len = le16(end, 20);
    if end_at + END_LEN + usize::from(comment_len) != tail.len() {
        return Err(damaged);
    }
    if entries == u16::MAX || directory_size == u32::MAX || directory_offset == u32::MAX {
        return Err(XlsxError::Unreadable(ZIP64));
    }
    if disk != 0 || directory_disk != 0 || entries_on_disk != entries {
        return Err(damaged);
    }
    let end_pos = tail_start + end_at as u64;
    if u64::from(directory_offset) + u64::from(directory_size) != end_pos {
        return Err(damaged);
    }

    input
        .seek(SeekFrom::Start(u64::from(directory_offset)))
        .map_err(io)?;
    let mut directory = BufReader::new(input.by_ref().take(u64::from(directory_size)));
    let mut total: u64 = 0;
    for _ in 0..entries {
        let entry = read_central_header(&mut directory)?;
        if entry.flags & 1 != 0 {
            return Err(XlsxError::Unreadable(ENCRYPTED_PART));
        }
        if entry.method != STORED && entry.method != DEFLATED {
            return Err(XlsxError::Unreadable(COMPRESSION));
        }
        if entry.uncompressed > limits.max_ratio.saturating_mul(entry.compressed) {
            return Err(XlsxError::Ratio {
                limit: limits.max_ratio,
            });
        }
        total = total.saturating_add(entry.uncompressed);
        if total > limits.max_uncompressed_bytes {
            return Err(XlsxError::TooLarge {
                limit: limits.max_uncompressed_bytes,
            });
        }
    }
    // The entries must fill the directory exactly.
    let mut rest = [0u8; 1];
    if directory.read(&mut rest).map_err(io)? != 0 {
        return Err(damaged);
    }
    Ok(file_len)
}

/// What the check needs from one central directory entry.
struct CentralEntry {
    flags: u16,
    method: u16,
    compressed: u64,
    uncompressed: u64,
}

fn read_central_header<R: Read>(directory: &mut R) -> Result<CentralEntry, XlsxError> {
    let damaged = |_: std::io::Error| XlsxError::Unreadable(DAMAGED_ZIP);
    let mut header = [0u8; CENTRAL_HEADER_LEN];
    directory.read_exact(&mut header).map_err(damaged)?;
    if !header.starts_with(CENTRAL_HEADER_SIG) {
        return Err(XlsxError::Unreadable(DAMAGED_ZIP));
    }
    let compressed = le32(&header, 20);
    let uncompressed = le32(&header, 24);
    let name_len = le16(&header, 28);
    let extra_len = le16(&header, 30);
    let comment_len = le16(&header, 32);
    let mut name_and_extra = vec![0u8; usize::from(name_len) + usize::from(extra_len)];
    directory.read_exact(&mut name_and_extra).map_err(damaged)?;
    let mut comment = vec![0u8; usize::from(comment_len)];
    directory.read_exact(&mut comment).map_err(damaged)?;
    let extra = &name_and_extra[usize::from(name_len)..];
    let (uncompressed, compressed) = zip64_sizes(extra, uncompressed, compressed)?;
    Ok(CentralEntry {
        flags: le16(&header, 8),
        method: le16(&header, 10),
        compressed,
        uncompressed,
    })
}

/// An entry's sizes, taking zip64 extra fields into account the way the
/// zip crate does: a 32-bit size of `u32::MAX` means "see the zip64 field",
/// whose 64-bit values come uncompressed first, each only if its 32-bit
/// field is `u32::MAX`. Should several zip64 fields appear, the largest
/// uncompressed and smallest compressed size are kept, which is never
/// kinder than whichever the zip crate picks.
fn zip64_sizes(
    mut extra: &[u8],
    uncompressed: u32,
    compressed: u32,
) -> Result<(u64, u64), XlsxError> {
    let mut found_uncompressed: Option<u64> = None;
    let mut found_compressed: Option<u64> = None;
    while extra.len() >= 4 {
        let id = le16(extra, 0);
        let len = usize::from(le16(extra, 2));
        let Some(data) = extra.get(4..4 + len) else {
            if id == ZIP64_EXTRA_ID {
                return Err(XlsxError::Unreadable(DAMAGED_ZIP));
            }
            break;
        };
        if id == ZIP64_EXTRA_ID {
            let mut at = 0;
            let mut next = || {
                let value = data.get(at..at + 8).map(|b| le64(b, 0));
                at += 8;
                value.ok_or(XlsxError::Unreadable(DAMAGED_ZIP))
            };
            if uncompressed == u32::MAX {
                let v = next()?;
                found_uncompressed = Some(found_uncompressed.map_or(v, |f| f.max(v)));
            }
            if compressed == u32::MAX {
                let v = next()?;
                found_compressed = Some(found_compressed.map_or(v, |f| f.min(v)));
            }
        }
        extra = &extra[4 + len..];
    }
    Ok((
        found_uncompressed.unwrap_or(u64::from(uncompressed)),
        found_compressed.unwrap_or(u64::from(compressed)),
    ))
}

/// Callers pass offsets inside slices whose length they checked.
fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod regression_tests {
    use super::*;

    fn regression(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/regressions/xlsx")
            .join(name);
        std::fs::read(path).expect("regression file")
    }

    #[test]
    fn a_cell_beyond_excels_last_column_is_refused_not_allocated() {
        let got = open(
            std::io::Cursor::new(regression("wide_column.xlsx")),
            &XlsxLimits::default(),
        );
        assert!(
            matches!(got, Err(XlsxError::Unreadable(_))),
            "{:?}",
            got.err()
        );
    }

    #[test]
    fn an_overflowing_cell_reference_fails_with_a_reason_not_a_panic() {
        let got = open(
            std::io::Cursor::new(regression("column_overflow.xlsx")),
            &XlsxLimits::default(),
        );
        assert!(
            matches!(got, Err(XlsxError::Unreadable(_))),
            "{:?}",
            got.err()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ParseOptions;
    use crate::reader::ImportReader;
    use crate::template::Column;
    use std::io::{Cursor, Write};

    const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    const PKG_REL_NS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";

    /// A sheet of a test workbook: its name, its state ("visible",
    /// "hidden") and the XML inside `<sheetData>`.
    struct Sheet<'a> {
        name: &'a str,
        state: &'a str,
        rows: &'a str,
    }

    fn visible(rows: &str) -> Sheet<'_> {
        Sheet {
            name: "Balances",
            state: "visible",
            rows,
        }
    }

    /// Writes a minimal workbook the way Excel lays it out. Style 1 is a
    /// custom date format, style 2 the built-in date format 14, style 3 a
    /// duration.
    fn workbook(sheets: &[Sheet<'_>], shared: &[&str]) -> Vec<u8> {
        let mut parts: Vec<(String, String)> = Vec::new();
        let mut overrides = String::new();
        let mut sheet_list = String::new();
        let mut rels = String::new();
        for (i, sheet) in sheets.iter().enumerate() {
            let n = i + 1;
            overrides.push_str(&format!(r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#));
            sheet_list.push_str(&format!(
                r#"<sheet name="{}" sheetId="{n}" state="{}" r:id="rId{n}"/>"#,
                sheet.name, sheet.state
            ));
            rels.push_str(&format!(r#"<Relationship Id="rId{n}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{n}.xml"/>"#));
            parts.push((
                format!("xl/worksheets/sheet{n}.xml"),
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN_NS}"><sheetData>{}</sheetData></worksheet>"#,
                    sheet.rows
                ),
            ));
        }
        rels.push_str(&format!(
            r#"<Relationship Id="rIdS" Type="{REL_NS}/styles" Target="styles.xml"/><Relationship Id="rIdT" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>"#
        ));
        let strings: String = shared
            .iter()
            .map(|s| format!("<si><t>{s}</t></si>"))
            .collect();
        parts.push((
            "[Content_Types].xml".into(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{overrides}<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#
            ),
        ));
        parts.push((
            "_rels/.rels".into(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ));
        parts.push((
            "xl/workbook.xml".into(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>{sheet_list}</sheets></workbook>"#
            ),
        ));
        parts.push((
            "xl/_rels/workbook.xml.rels".into(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL_NS}">{rels}</Relationships>"#
            ),
        ));
        parts.push((
            "xl/styles.xml".into(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{MAIN_NS}"><numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\-mm\-dd"/><numFmt numFmtId="165" formatCode="[h]:mm:ss"/></numFmts><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="165" applyNumberFormat="1"/></cellXfs></styleSheet>"#
            ),
        ));
        parts.push((
            "xl/sharedStrings.xml".into(),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{MAIN_NS}" count="{0}" uniqueCount="{0}">{strings}</sst>"#,
                shared.len()
            ),
        ));
        zip_of(&parts, None)
    }

    fn zip_of(parts: &[(String, String)], comment: Option<&str>) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, body) in parts {
            zip.start_file(name.as_str(), options).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        if let Some(comment) = comment {
            zip.set_comment(comment).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn records(bytes: &[u8]) -> Vec<Record> {
        let mut source = open(Cursor::new(bytes), &XlsxLimits::default()).unwrap();
        let mut out = vec![];
        while let Some(r) = source.next_record().unwrap() {
            out.push(r);
        }
        out
    }

    fn lines_and_cells(bytes: &[u8]) -> Vec<(u64, Vec<String>)> {
        records(bytes)
            .into_iter()
            .map(|r| (r.line, r.cells.iter().map(str::to_string).collect()))
            .collect()
    }

    fn cells(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    /// A header in shared strings, then patients with accented names as
    /// shared and inline strings, amounts and a date.
    fn balances() -> Vec<u8> {
        workbook(
            &[visible(concat!(
                r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c></row>"#,
                r#"<row r="2"><c r="A2"><v>123</v></c><c r="B2" t="s"><v>5</v></c><c r="C2" t="inlineStr"><is><t>Zoë</t></is></c><c r="D2" s="1"><v>45658</v></c><c r="E2"><v>1234.5</v></c></row>"#,
                r#"<row r="3"><c r="A3" t="str"><v>00456</v></c><c r="B3" t="s"><v>6</v></c><c r="C3" t="inlineStr"><is><t xml:space="preserve"> Thị </t></is></c><c r="D3" s="2"><v>29221.75</v></c><c r="E3"><v>-45.67</v></c></row>"#,
            ))],
            &[
                "patient_account_number",
                "last_name",
                "first_name",
                "date_of_birth",
                "patient_balance",
                "Peña",
                "Nguyễn",
            ],
        )
    }

    #[test]
    fn xlsx_header_and_data_rows_come_through_as_records() {
        assert_eq!(
            lines_and_cells(&balances()),
            [
                (
                    1,
                    cells(&[
                        "patient_account_number",
                        "last_name",
                        "first_name",
                        "date_of_birth",
                        "patient_balance"
                    ])
                ),
                (2, cells(&["123", "Peña", "Zoë", "2025-01-01", "1234.5"])),
                (
                    3,
                    cells(&["00456", "Nguyễn", " Thị ", "1980-01-01", "-45.67"])
                ),
            ]
        );
    }

    #[test]
    fn xlsx_rows_feed_the_import_reader() {
        let source = open(Cursor::new(balances()), &XlsxLimits::default()).unwrap();
        let mut reader = ImportReader::new(source, &ParseOptions::default()).unwrap();
        let row = reader.next_row().unwrap().unwrap();
        assert_eq!(row.line, 2);
        assert_eq!(row.cell(Column::LastName), "Peña");
        assert_eq!(row.cell(Column::DateOfBirth), "2025-01-01");
        let row = reader.next_row().unwrap().unwrap();
        assert_eq!(row.cell(Column::PatientAccountNumber), "00456");
        assert_eq!(reader.next_row().unwrap(), None);
    }

    #[test]
    fn xlsx_numbers_are_plain_decimals() {
        let row = |cells: &str| format!(r#"<row r="1">{cells}</row>"#);
        let values = [
            ("12", "12"),
            ("1234.5", "1234.5"),
            ("-45.67", "-45.67"),
            ("0.30000000000000004", "0.3"),
            ("1358.9500000000001", "1358.95"),
            ("1.5E+20", "150000000000000000000"),
            ("1E-3", "0.001"),
            ("-0", "0"),
            ("0", "0"),
        ];
        for (stored, shown) in values {
            let bytes = workbook(
                &[visible(&row(&format!(r#"<c r="A1"><v>{stored}</v></c>"#)))],
                &[],
            );
            assert_eq!(lines_and_cells(&bytes), [(1, cells(&[shown]))], "{stored}");
        }
    }

    #[test]
    fn xlsx_booleans_errors_dates_and_durations_become_text() {
        let bytes = workbook(
            &[visible(concat!(
                r#"<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="b"><v>0</v></c><c r="C1" t="e"><v>#N/A</v></c>"#,
                r#"<c r="D1" s="1"><v>45658.999</v></c><c r="E1" s="2"><v>45658</v></c><c r="F1" s="3"><v>1.5</v></c>"#,
                r#"<c r="G1" t="d"><v>2025-01-01T10:00:00</v></c><c r="H1" s="1"><v>-3</v></c><c r="I1" t="str"><v>#N/A</v></c></row>"#,
            ))],
            &[],
        );
        assert_eq!(
            lines_and_cells(&bytes),
            [(
                1,
                cells(&[
                    "TRUE",
                    "FALSE",
                    "",
                    "2025-01-01",
                    "2025-01-01",
                    "1.5",
                    "2025-01-01T10:00:00",
                    "-3",
                    "#N/A"
                ])
            )]
        );
    }

    #[test]
    fn xlsx_sparse_rows_keep_their_row_numbers_and_columns() {
        let bytes = workbook(
            &[visible(concat!(
                r#"<row r="2"><c r="A2" t="inlineStr"><is><t>a</t></is></c></row>"#,
                r#"<row r="3"><c r="A3" s="1"/><c r="B3" t="e"><v>#N/A</v></c></row>"#,
                r#"<row r="7"><c r="C7" t="inlineStr"><is><t>c</t></is></c><c r="E7"><v>5</v></c><c r="F7" s="1"/></row>"#,
                r#"<row r="1048576"><c r="B1048576"><v>9</v></c></row>"#,
            ))],
            &[],
        );
        assert_eq!(
            lines_and_cells(&bytes),
            [
                (2, cells(&["a"])),
                (7, cells(&["", "", "c", "", "5"])),
                (1_048_576, cells(&["", "9"])),
            ]
        );
    }

    #[test]
    fn xlsx_cells_out_of_order_are_put_in_place() {
        let bytes = workbook(
            &[visible(concat!(
                r#"<row r="3"><c r="B3"><v>2</v></c><c r="A3"><v>1</v></c></row>"#,
                r#"<row r="1"><c r="A1"><v>0</v></c></row>"#,
            ))],
            &[],
        );
        assert_eq!(
            lines_and_cells(&bytes),
            [(1, cells(&["0"])), (3, cells(&["1", "2"]))]
        );
    }

    #[test]
    fn xlsx_only_the_first_visible_worksheet_is_read() {
        let lookup = Sheet {
            name: "Lookup",
            state: "hidden",
            rows: r#"<row r="1"><c r="A1"><v>1</v></c></row>"#,
        };
        let first = Sheet {
            name: "Balances",
            state: "visible",
            rows: r#"<row r="1"><c r="A1"><v>2</v></c></row>"#,
        };
        let second = Sheet {
            name: "Other",
            state: "visible",
            rows: r#"<row r="1"><c r="A1"><v>3</v></c></row>"#,
        };
        let bytes = workbook(&[lookup, first, second], &[]);
        assert_eq!(lines_and_cells(&bytes), [(1, cells(&["2"]))]);
    }

    #[test]
    fn xlsx_without_worksheets_is_refused() {
        let err = open(Cursor::new(workbook(&[], &[])), &XlsxLimits::default()).unwrap_err();
        assert_eq!(err, XlsxError::NoSheets);
    }

    #[test]
    fn xlsx_an_empty_sheet_has_no_records() {
        let bytes = workbook(&[visible("")], &[]);
        let mut source = open(Cursor::new(&bytes), &XlsxLimits::default()).unwrap();
        assert_eq!(source.next_record(), Ok(None));
        assert_eq!(source.bytes_read(), bytes.len() as u64);
    }

    #[test]
    fn xlsx_bytes_read_grows_to_the_file_size() {
        let bytes = balances();
        let mut source = open(Cursor::new(&bytes), &XlsxLimits::default()).unwrap();
        let mut seen = vec![source.bytes_read()];
        while source.next_record().unwrap().is_some() {
            seen.push(source.bytes_read());
        }
        seen.push(source.bytes_read());
        assert_eq!(seen[0], 0);
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert!(seen[1] > 0 && seen[1] < bytes.len() as u64);
        assert_eq!(seen.last(), Some(&(bytes.len() as u64)));
    }

    /// A sheet whose XML is mostly whitespace: 2 MiB that deflate to a
    /// few kilobytes.
    fn padded_sheet() -> Vec<u8> {
        let padding = " ".repeat(2 * 1024 * 1024);
        let rows = format!(r#"<row r="1"><c r="A1"><v>1</v></c></row>{padding}"#);
        workbook(&[visible(&rows)], &[])
    }

    #[test]
    fn xlsx_decompression_bombs_are_refused_before_parsing() {
        let bytes = padded_sheet();
        let ratio = XlsxLimits {
            max_ratio: 50,
            ..XlsxLimits::default()
        };
        assert_eq!(
            open(Cursor::new(&bytes), &ratio).unwrap_err(),
            XlsxError::Ratio { limit: 50 }
        );
        let size = XlsxLimits {
            max_uncompressed_bytes: 1024 * 1024,
            max_ratio: u64::MAX,
            ..XlsxLimits::default()
        };
        assert_eq!(
            open(Cursor::new(&bytes), &size).unwrap_err(),
            XlsxError::TooLarge { limit: 1024 * 1024 }
        );
        let generous = XlsxLimits {
            max_ratio: 100_000,
            ..XlsxLimits::default()
        };
        assert!(open(Cursor::new(&bytes), &generous).is_ok());
    }

    #[test]
    fn xlsx_cell_count_and_text_size_are_capped() {
        let bytes = balances();
        let few_cells = XlsxLimits {
            max_cells: 10,
            ..XlsxLimits::default()
        };
        assert_eq!(
            open(Cursor::new(&bytes), &few_cells).unwrap_err(),
            XlsxError::TooManyCells { limit: 10 }
        );
        // One shared string repeated in many cells costs its length each
        // time it is kept.
        let text = "x".repeat(1000);
        let rows: String = (1..=50)
            .map(|r| format!(r#"<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>"#))
            .collect();
        let bytes = workbook(&[visible(&rows)], &[&text]);
        let small = XlsxLimits {
            max_uncompressed_bytes: 20_000,
            ..XlsxLimits::default()
        };
        assert_eq!(
            open(Cursor::new(&bytes), &small).unwrap_err(),
            XlsxError::TooLarge { limit: 20_000 }
        );
    }

    #[test]
    fn xlsx_other_files_are_refused_with_a_reason() {
        let csv = b"patient_account_number,last_name\n001,Pe\xc3\xb1a\n";
        let err = open(Cursor::new(&csv[..]), &XlsxLimits::default()).unwrap_err();
        assert_eq!(err, XlsxError::NotXlsx(NOT_ZIP));
        assert_eq!(
            err.to_string(),
            "the file is not an Excel workbook (.xlsx): it is not a zip archive"
        );
        let err = open(Cursor::new(&b""[..]), &XlsxLimits::default()).unwrap_err();
        assert_eq!(err, XlsxError::NotXlsx(NOT_ZIP));
        let mut xls = CFB_SIG.to_vec();
        xls.resize(4096, 0);
        let err = open(Cursor::new(xls), &XlsxLimits::default()).unwrap_err();
        assert_eq!(err, XlsxError::NotXlsx(LEGACY_OR_ENCRYPTED));
        let bytes = balances();
        let truncated = &bytes[..bytes.len() - 10];
        let err = open(Cursor::new(truncated), &XlsxLimits::default()).unwrap_err();
        assert!(matches!(err, XlsxError::Unreadable(_)), "{err:?}");
    }

    #[test]
    fn xlsx_a_zip_without_a_workbook_is_not_xlsx() {
        let bytes = zip_of(&[("notes.txt".into(), "hello".into())], None);
        let err = open(Cursor::new(bytes), &XlsxLimits::default()).unwrap_err();
        assert!(matches!(err, XlsxError::NotXlsx(_)), "{err:?}");
    }

    #[test]
    fn xlsx_an_archive_comment_is_allowed() {
        let parts = [("notes.txt".to_string(), "hello".to_string())];
        let bytes = zip_of(&parts, Some("made by an EHR export, PK\u{5}\u{6} inside"));
        assert_eq!(
            check_archive(&mut Cursor::new(&bytes), &XlsxLimits::default()),
            Ok(bytes.len() as u64)
        );
    }

    #[test]
    fn xlsx_errors_never_quote_cells() {
        // An unknown error value and an unknown cell type: calamine's own
        // messages would quote them.
        for cell in [
            r#"<c r="A1" t="e"><v>Peña 1980-01-02</v></c>"#,
            r#"<c r="A1" t="Peña 1980-01-02"><v>1</v></c>"#,
        ] {
            let rows = format!(r#"<row r="1">{cell}</row>"#);
            let bytes = workbook(&[visible(&rows)], &[]);
            let err = open(Cursor::new(bytes), &XlsxLimits::default()).unwrap_err();
            let text = err.to_string();
            assert!(!text.contains("Peña") && !text.contains("1980"), "{text}");
        }
    }

    #[test]
    fn xlsx_is_recognised_by_its_first_bytes() {
        assert!(looks_like_xlsx(b"PK\x03\x04\x14\x00"));
        assert!(!looks_like_xlsx(b"PK\x05\x06"));
        assert!(!looks_like_xlsx(b"patient_account_number,"));
        assert!(!looks_like_xlsx(b"PK"));
    }

    #[test]
    fn xlsx_zip64_sizes_are_read_from_the_extra_field() {
        let mut extra = vec![0x99, 0x99, 2, 0, 0, 0];
        extra.extend_from_slice(&[1, 0, 16, 0]);
        extra.extend_from_slice(&5000u64.to_le_bytes());
        extra.extend_from_slice(&40u64.to_le_bytes());
        assert_eq!(zip64_sizes(&extra, u32::MAX, u32::MAX), Ok((5000, 40)));
        assert_eq!(zip64_sizes(&extra, 7, u32::MAX), Ok((7, 5000)));
        assert_eq!(zip64_sizes(&[], 7, 3), Ok((7, 3)));
        assert_eq!(
            zip64_sizes(&extra[..12], u32::MAX, u32::MAX),
            Err(XlsxError::Unreadable(DAMAGED_ZIP))
        );
    }
}
