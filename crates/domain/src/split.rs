//! Cutting a big text file into pieces that several validators read at
//! once, each piece giving exactly the rows, cells and line numbers a read
//! of the whole file gives.
//!
//! A plan reads the file once with the same reader as a parse (so a file
//! the parse would refuse is refused here, before anything is published)
//! and notes where every `rows_per_piece`-th data row starts. Pieces start
//! at the start of a line holding the start of a row, where the CSV reader
//! is between records whatever came before (quoted cells with line breaks
//! included), so a piece read after the file's header reads as that stretch
//! of the whole file. Only files whose raw bytes can be cut there are
//! planned: UTF-8 and Windows-1252 text, where line breaks are single ASCII
//! bytes. Workbooks and UTF-16 text are read whole.

use crate::open::{open_text, Detected, Pinned};
use crate::options::ParseOptions;
use crate::reader::FileError;
use crate::template::Column;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::rc::Rc;

/// One piece of a planned file: a byte range read after the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Byte offset of the start of the line of the piece's first row.
    pub start: u64,
    /// Byte offset where the next piece starts (the file's size for the last).
    pub end: u64,
    /// The file's line number of the piece's first row.
    pub first_line: u32,
    /// How many data rows of the file come before this piece.
    pub first_row: u64,
    /// Data rows in the piece (blank lines are not rows).
    pub rows: u64,
    /// What to add to a line number counted in the header followed by this
    /// piece to get the file's line number.
    pub line_shift: u32,
}

/// How a splittable file is read and where it is cut.
#[derive(Debug, Clone)]
pub struct Plan {
    pub detected: Detected,
    /// Every piece is read with these, whatever its own bytes suggest.
    pub pinned: Pinned,
    /// Each header as written, with the template column it was read as.
    pub mapping: Vec<(String, Option<Column>)>,
    /// Bytes before the first data row (the header, and any blank lines
    /// around it): read before every piece, so the same header mapping
    /// applies.
    pub header_end: u64,
    /// Data rows in the whole file.
    pub rows: u64,
    /// At least one piece when the file has a row; none when it has none.
    pub pieces: Vec<Piece>,
}

/// What planning found.
#[derive(Debug, Clone)]
pub enum Planned {
    /// Text that can be cut into byte ranges.
    Split(Plan),
    /// A file that is read whole (UTF-16 text): nothing was judged.
    Whole,
}

/// Where a plan cuts a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutting {
    /// The most rows a piece holds.
    pub rows_per_piece: u64,
    /// Pieces are cut only where a batch starts, so each piece but the
    /// last is a whole number of batches and a batch's number follows from
    /// its piece's place.
    pub batch_rows: u64,
    /// A file too long for one piece is cut into at least this many, so a
    /// file of a little more than one piece's rows keeps this many workers
    /// busy instead of two (one full piece and a short one).
    pub at_least: u64,
}

impl Cutting {
    /// Pieces of exactly `rows_per_piece` rows (the last may be shorter).
    pub fn every(rows_per_piece: u64) -> Cutting {
        Cutting {
            rows_per_piece,
            batch_rows: rows_per_piece,
            at_least: 1,
        }
    }

    /// The rows of each piece of a file of `rows` rows: a whole number of
    /// batches, at most `rows_per_piece` (rounded up to whole batches).
    fn piece_rows(&self, rows: u64) -> u64 {
        let step = self.batch_rows.max(1);
        let most = self.rows_per_piece.max(1).div_ceil(step) * step;
        if rows <= most {
            return most;
        }
        let pieces = rows.div_ceil(most).max(self.at_least);
        rows.div_ceil(pieces).div_ceil(step) * step
    }
}

/// Reads the whole file once, without judging rows, and cuts it into
/// pieces as `cutting` says. A file the parse would refuse (bad header,
/// mixed encodings, malformed CSV) is refused with the same error.
pub fn plan<R: Read>(
    input: R,
    options: &ParseOptions,
    cutting: Cutting,
) -> Result<Planned, FileError> {
    let step = cutting.batch_rows.max(1);
    let starts = Rc::new(RefCell::new(LineStarts::new()));
    let tallied = Tallied {
        inner: input,
        starts: Rc::clone(&starts),
    };
    let (mut reader, detected) = open_text(tallied, options)?;
    let Some(pinned) = detected.pinned().filter(|p| p.encoding.ascii_compatible()) else {
        return Ok(Planned::Whole);
    };
    let mapping = reader.header().used();
    // Every batch's start is a place the file may be cut; which of them
    // are cut is known once the file's rows are counted.
    let mut pieces: Vec<Piece> = Vec::new();
    let mut rows: u64 = 0;
    while let Some(line) = reader.next_row_line()? {
        let start = starts.borrow_mut().start_of(line);
        if rows.is_multiple_of(step) {
            let start = start.ok_or_else(|| {
                // Cannot happen: a row's line was read past, so its start
                // was seen; refuse to guess a cut rather than mis-cut.
                FileError::Io("a line start was not recorded".into())
            })?;
            pieces.push(Piece {
                start,
                end: 0,
                first_line: u32::try_from(line).unwrap_or(u32::MAX),
                first_row: rows,
                rows: 0,
                line_shift: 0,
            });
        }
        rows += 1;
    }
    let piece_rows = cutting.piece_rows(rows);
    pieces.retain(|p| p.first_row.is_multiple_of(piece_rows));
    let size = starts.borrow().offset;
    let header_end = pieces.first().map_or(size, |p| p.start);
    let first_line = pieces.first().map_or(1, |p| p.first_line);
    let next: Vec<(u64, u64)> = pieces
        .iter()
        .skip(1)
        .map(|p| (p.start, p.first_row))
        .chain([(size, rows)])
        .collect();
    for (piece, (end, end_row)) in pieces.iter_mut().zip(next) {
        piece.end = end;
        piece.rows = end_row - piece.first_row;
        piece.line_shift = piece.first_line - first_line;
    }
    Ok(Planned::Split(Plan {
        detected,
        pinned,
        mapping,
        header_end,
        rows,
        pieces,
    }))
}

/// Where the lines of the raw file start, counted the way
/// [`crate::line_endings::LineEndings`] counts them (CRLF, CR and LF each
/// end one line), for the lines not yet asked about.
struct LineStarts {
    /// Bytes of the file read so far.
    offset: u64,
    /// The line the next byte belongs to.
    line: u64,
    after_cr: bool,
    /// (line, offset of its first byte), oldest first.
    pending: VecDeque<(u64, u64)>,
}

impl LineStarts {
    fn new() -> Self {
        LineStarts {
            offset: 0,
            line: 1,
            after_cr: false,
            pending: VecDeque::from([(1, 0)]),
        }
    }

    fn tally(&mut self, bytes: &[u8]) {
        let base = self.offset;
        for at in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            let offset = base + at as u64 + 1;
            let after_cr = match at {
                0 => self.after_cr,
                _ => bytes[at - 1] == b'\r',
            };
            if bytes[at] == b'\n' && after_cr {
                // CRLF is one line end: the line starts after the LF.
                if let Some(last) = self.pending.back_mut() {
                    last.1 = offset;
                }
            } else {
                self.line += 1;
                self.pending.push_back((self.line, offset));
            }
        }
        self.offset = base + bytes.len() as u64;
        if let Some(&last) = bytes.last() {
            self.after_cr = last == b'\r';
        }
    }

    /// The offset where `line` starts, forgetting earlier lines (lines are
    /// asked about in increasing order, so memory stays bounded by the
    /// reader's read-ahead).
    fn start_of(&mut self, line: u64) -> Option<u64> {
        while self.pending.front().is_some_and(|(l, _)| *l < line) {
            self.pending.pop_front();
        }
        self.pending
            .front()
            .filter(|(l, _)| *l == line)
            .map(|(_, offset)| *offset)
    }
}

/// The raw input, noting line starts as its bytes go by.
struct Tallied<R> {
    inner: R,
    starts: Rc<RefCell<LineStarts>>,
}

impl<R: Read> Read for Tallied<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.starts.borrow_mut().tally(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::open::open_text_as;
    use crate::reader::RawRow;

    const HEADER: &str = "patient_account_number,patient_id,last_name,first_name,date_of_birth,patient_balance,insurance_balance,balance_as_of,reference";

    /// Every row of a whole-file read.
    fn whole(bytes: &[u8]) -> Vec<RawRow> {
        let (mut reader, _) = open_text(bytes, &ParseOptions::default()).unwrap();
        let mut rows = Vec::new();
        while let Some(row) = reader.next_row().unwrap() {
            rows.push(row);
        }
        rows
    }

    /// Every row of every piece, each read after the header as a validator
    /// reads a chunk job, with its line numbers shifted.
    fn pieced(bytes: &[u8], plan: &Plan) -> Vec<Vec<RawRow>> {
        plan.pieces
            .iter()
            .map(|piece| {
                let mut input = bytes[..plan.header_end as usize].to_vec();
                input.extend_from_slice(&bytes[piece.start as usize..piece.end as usize]);
                let (mut reader, _) =
                    open_text_as(&input[..], &ParseOptions::default(), Some(plan.pinned)).unwrap();
                let mut rows = Vec::new();
                while let Some(mut row) = reader.next_row().unwrap() {
                    row.line += piece.line_shift;
                    rows.push(row);
                }
                assert_eq!(rows.len() as u64, piece.rows);
                rows
            })
            .collect()
    }

    fn planned(bytes: &[u8], rows_per_piece: u64) -> Plan {
        match plan(
            bytes,
            &ParseOptions::default(),
            Cutting::every(rows_per_piece),
        )
        .unwrap()
        {
            Planned::Split(plan) => plan,
            Planned::Whole => panic!("not split"),
        }
    }

    /// A file with every line ending, blank lines, blank records and
    /// quoted cells holding line breaks (one row's cell ends right where a
    /// piece begins).
    fn awkward(eol: &str) -> String {
        let rows = [
            "1,,Doe,Jane,1980-01-02,10.00,,,".to_string(),
            String::new(),
            format!("2,,\"Multi{eol}Line{eol}Name\",Al,1970-05-06,5,,,"),
            ",,,,,,,,".to_string(),
            format!("3,,Roe,\"Bo{eol}\",1990-01-01,1,,,"),
            "4,,Poe,Ed,1990-01-01,1,,,".to_string(),
            "   ".to_string(),
            String::new(),
            "5,,\"Quote \"\"here\"\"\",Cy,1990-01-01,1,,,".to_string(),
            format!("6,,Last,\"x{eol}{eol}\",1990-01-01,1,,,"),
            "7,,Lee,Di,1990-01-01,2,,,".to_string(),
        ];
        format!("{eol}{HEADER}{eol}{eol}{}{eol}", rows.join(eol))
    }

    #[test]
    fn pieces_read_after_the_header_give_the_whole_files_rows_and_line_numbers() {
        for eol in ["\n", "\r\n", "\r"] {
            let text = awkward(eol);
            let all = whole(text.as_bytes());
            assert_eq!(all.len(), 7, "{eol:?}");
            for per_piece in 1..=8 {
                let plan = planned(text.as_bytes(), per_piece);
                assert_eq!(plan.rows, 7);
                assert_eq!(plan.pieces.len() as u64, 7u64.div_ceil(per_piece));
                let pieces = pieced(text.as_bytes(), &plan);
                let joined: Vec<RawRow> = pieces.concat();
                assert_eq!(joined, all, "{eol:?} by {per_piece}");
            }
        }
    }

    /// `rows` plain rows after the header.
    fn plain(rows: usize) -> String {
        let mut text = format!("{HEADER}\n");
        for n in 0..rows {
            text.push_str(&format!("{n},,Doe,Jane,1980-01-02,1.00,,,\n"));
        }
        text
    }

    #[test]
    fn a_file_of_a_little_more_than_one_piece_is_cut_into_at_least_as_many_pieces_of_whole_batches()
    {
        let text = plain(1050);
        let cutting = Cutting {
            rows_per_piece: 400,
            batch_rows: 50,
            at_least: 4,
        };
        let Planned::Split(plan) =
            plan(text.as_bytes(), &ParseOptions::default(), cutting).unwrap()
        else {
            panic!("not split");
        };
        // 1,050 / 4 rows, rounded up to whole batches of 50.
        let sizes: Vec<u64> = plan.pieces.iter().map(|p| p.rows).collect();
        assert_eq!(sizes, vec![300, 300, 300, 150]);
        assert_eq!(
            pieced(text.as_bytes(), &plan).concat(),
            whole(text.as_bytes())
        );
    }

    #[test]
    fn at_least_never_cuts_a_file_that_fits_one_piece_nor_makes_pieces_bigger() {
        let cutting = Cutting {
            rows_per_piece: 400,
            batch_rows: 50,
            at_least: 4,
        };
        let cut =
            |rows: usize| match plan(plain(rows).as_bytes(), &ParseOptions::default(), cutting)
                .unwrap()
            {
                Planned::Split(plan) => plan.pieces.iter().map(|p| p.rows).collect::<Vec<u64>>(),
                Planned::Whole => panic!("not split"),
            };
        assert_eq!(cut(400), vec![400]);
        // Ten pieces' rows: at_least asks for fewer pieces than the size does.
        assert_eq!(cut(4000), vec![400; 10]);
    }

    proptest::proptest! {
        #[test]
        fn line_starts_tallied_in_any_pieces_are_where_each_line_starts(
            input in proptest::collection::vec(proptest::sample::select(b"ab\r\n".to_vec()), 0..60),
            cut in 0usize..60,
        ) {
            // Byte by byte: CR, LF and CRLF each end one line.
            let mut expected = vec![(1u64, 0u64)];
            for (i, b) in input.iter().enumerate() {
                let end = i as u64 + 1;
                match b {
                    b'\n' if i > 0 && input[i - 1] == b'\r' => {
                        if let Some(last) = expected.last_mut() {
                            last.1 = end;
                        }
                    }
                    b'\n' | b'\r' => expected.push((expected.len() as u64 + 1, end)),
                    _ => {}
                }
            }
            let mut starts = LineStarts::new();
            let (first, second) = input.split_at(cut.min(input.len()));
            starts.tally(first);
            starts.tally(second);
            for (line, offset) in expected {
                proptest::prop_assert_eq!(starts.start_of(line), Some(offset), "line {}", line);
            }
        }
    }

    #[test]
    fn pieces_cover_the_file_after_the_header_end_to_end() {
        let text = awkward("\r\n");
        let plan = planned(text.as_bytes(), 2);
        assert_eq!(plan.header_end, plan.pieces[0].start);
        for pair in plan.pieces.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
            assert_eq!(pair[0].first_row + pair[0].rows, pair[1].first_row);
        }
        assert_eq!(plan.pieces.last().unwrap().end, text.len() as u64);
        // The header is on line 2 (a blank line first), the first row on 4.
        assert_eq!(plan.pieces[0].first_line, 4);
        assert_eq!(plan.pieces[0].line_shift, 0);
        // Row 3 starts after row 2's three-line cell and a blank record.
        assert_eq!(plan.pieces[1].first_line, 10);
        assert_eq!(plan.pieces[1].line_shift, 6);
    }

    #[test]
    fn a_piece_can_start_right_after_a_multi_line_cell() {
        let text = format!("{HEADER}\n1,,\"A\nB\",C,1980-01-02,1,,,\n2,,D,E,1980-01-02,1,,,\n");
        let plan = planned(text.as_bytes(), 1);
        let second = &plan.pieces[1];
        assert_eq!(second.first_line, 4);
        assert_eq!(
            &text[second.start as usize..second.start as usize + 2],
            "2,"
        );
        assert_eq!(
            pieced(text.as_bytes(), &plan).concat(),
            whole(text.as_bytes())
        );
    }

    #[test]
    fn a_windows_1252_piece_is_read_as_windows_1252_even_when_its_own_bytes_are_ascii() {
        let mut bytes = format!("{HEADER}\n1,,Pe").into_bytes();
        bytes.push(0xF1); // ñ in Windows-1252, not UTF-8
        bytes.extend_from_slice(b"a,Jo,1980-01-02,1,,,\n2,,Doe,Al,1980-01-02,1,,,\n");
        let plan = planned(&bytes, 1);
        assert_eq!(plan.detected.encoding, Some("Windows-1252"));
        let pieces = pieced(&bytes, &plan);
        assert_eq!(pieces[0][0].cell(Column::LastName), "Peña");
        assert_eq!(pieces.concat(), whole(&bytes));
    }

    #[test]
    fn a_byte_order_mark_stays_in_the_header_bytes() {
        let text =
            format!("\u{feff}{HEADER}\r\n1,,A,B,1980-01-02,1,,,\r\n2,,C,D,1980-01-02,1,,,\r\n");
        let plan = planned(text.as_bytes(), 1);
        assert_eq!(plan.detected.encoding, Some("UTF-8 with BOM"));
        assert_eq!(
            pieced(text.as_bytes(), &plan).concat(),
            whole(text.as_bytes())
        );
    }

    #[test]
    fn a_file_the_parse_refuses_is_refused_by_the_plan() {
        // UTF-8 for longer than the encoding is decided on, then not.
        let mut mixed = format!("{HEADER}\n").into_bytes();
        while mixed.len() < 70_000 {
            mixed.extend_from_slice("2,,Peña,B,1980-01-02,1,,,\n".as_bytes());
        }
        mixed.extend_from_slice(b"3,,Pe\xf1a,B,1980-01-02,1,,,\n");
        assert!(matches!(
            plan(&mixed[..], &ParseOptions::default(), Cutting::every(1)),
            Err(FileError::Encoding(_))
        ));
        assert!(matches!(
            plan(
                &b"last_name,first_name\nA,B\n"[..],
                &ParseOptions::default(),
                Cutting::every(1)
            ),
            Err(FileError::Header(_))
        ));
    }

    #[test]
    fn utf16_text_is_read_whole() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in format!("{HEADER}\n1,,A,B,1980-01-02,1,,,\n").encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert!(matches!(
            plan(&bytes[..], &ParseOptions::default(), Cutting::every(1)).unwrap(),
            Planned::Whole
        ));
    }

    #[test]
    fn a_file_without_rows_has_no_pieces() {
        let text = format!("{HEADER}\n\n,,,,,,,,\n");
        let plan = planned(text.as_bytes(), 10);
        assert_eq!((plan.rows, plan.pieces.len()), (0, 0));
    }
}
