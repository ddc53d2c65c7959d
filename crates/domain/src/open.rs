//! Opening an uploaded text file the way it was written: its encoding and
//! delimiter are detected (never guessed silently), then rows stream
//! through the same rules as every other format.

use crate::delimiter;
use crate::encoding::{self, TextEncoding, Utf8Reader};
use crate::options::ParseOptions;
use crate::reader::{CsvSource, FileError, ImportReader};
use std::io::{Cursor, Read};

/// How a file was read: part of the import resource, so the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// "csv" or "xlsx".
    pub format: &'static str,
    /// The text encoding, for text files.
    pub encoding: Option<&'static str>,
    /// The field delimiter, for text files.
    pub delimiter: Option<char>,
}

/// How much of the start of the file is searched for the header line.
const HEADER_SEARCH: usize = 64 * 1024;

/// The reader of a text file's rows.
pub type TextReader<R> = ImportReader<CsvSource<std::io::Chain<Cursor<Vec<u8>>, Utf8Reader<R>>>>;

/// Detects the encoding and the delimiter, reads the header, and returns
/// the row reader.
pub fn open_text<R: Read>(
    input: R,
    options: &ParseOptions,
) -> Result<(TextReader<R>, Detected), FileError> {
    open_text_as(input, options, None)
}

/// How a whole file was read, fixed for reading its pieces the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinned {
    pub encoding: TextEncoding,
    pub delimiter: u8,
}

impl Detected {
    /// The encoding and delimiter of a text file, to read its pieces with
    /// (`None` for a workbook, or labels this crate did not write).
    pub fn pinned(&self) -> Option<Pinned> {
        let encoding = TextEncoding::from_label(self.encoding?)?;
        let delimiter = u8::try_from(self.delimiter?).ok()?;
        Some(Pinned {
            encoding,
            delimiter,
        })
    }
}

/// Like [`open_text`]; with `pinned`, the encoding and delimiter are not
/// detected but taken as given (a piece of a file is read as the whole
/// file was).
pub fn open_text_as<R: Read>(
    input: R,
    options: &ParseOptions,
    pinned: Option<Pinned>,
) -> Result<(TextReader<R>, Detected), FileError> {
    let (text_encoding, mut text) =
        encoding::utf8_reader_as(input, pinned.map(|p| p.encoding)).map_err(FileError::from_io)?;
    let mut prefix = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    while prefix.len() < HEADER_SEARCH && !has_line_end(&prefix) {
        let n = text.read(&mut chunk).map_err(FileError::from_io)?;
        if n == 0 {
            break;
        }
        prefix.extend_from_slice(&chunk[..n]);
    }
    let delimiter = match pinned {
        Some(p) => p.delimiter,
        None => delimiter::sniff(&prefix),
    };
    let source = CsvSource::new(Cursor::new(prefix).chain(text), delimiter);
    let reader = ImportReader::new(source, options)?;
    Ok((
        reader,
        Detected {
            format: "csv",
            encoding: Some(text_encoding.label()),
            delimiter: Some(char::from(delimiter)),
        },
    ))
}

/// Whether the bytes hold a line end outside double quotes (the header
/// line is complete).
fn has_line_end(bytes: &[u8]) -> bool {
    let mut quoted = false;
    bytes.iter().any(|b| {
        if *b == b'"' {
            quoted = !quoted;
        }
        !quoted && (*b == b'\n' || *b == b'\r')
    })
}
