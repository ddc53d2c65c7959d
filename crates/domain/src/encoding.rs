//! Text encodings: decide how an uploaded file is encoded and stream it as UTF-8.
//!
//! Billing leads export from old EHR systems through Excel, so a file can be
//! UTF-8 (with or without a byte-order mark), Windows-1252 ("CSV" in Excel)
//! or UTF-16 with a byte-order mark ("Unicode text"). A wrong guess silently
//! turns `Peña` into `PeÃ±a` on a patient's statement, so detection never
//! guesses: it reads a bounded prefix, applies fixed rules, and refuses the
//! file when the rules do not give one clear answer. The rest of the file is
//! then decoded strictly, so a file that changes encoding half way is refused
//! with the line where it happens instead of being patched with U+FFFD.
//!
//! Errors carry only encoding names, byte offsets and line numbers, never
//! file contents (patient data), so they are safe to log and show.

use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};
use std::fmt;
use std::io::{self, Read};

/// How many bytes are read before deciding the encoding: enough for the
/// header and many rows, small enough to hold in a fixed buffer.
pub const PREFIX_LEN: usize = 64 * 1024;

/// Size of the buffer of converted text, so memory stays bounded whatever
/// the size of the file.
const OUTPUT_LEN: usize = 16 * 1024;

/// The encodings real exports use; anything else is refused rather than
/// guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 without a byte-order mark (also plain ASCII).
    Utf8,
    /// UTF-8 starting with EF BB BF (Excel "CSV UTF-8").
    Utf8Bom,
    /// Windows-1252 (Excel "CSV" on Western-European Windows).
    Windows1252,
    /// UTF-16 little-endian with a byte-order mark (Excel "Unicode text").
    Utf16Le,
    /// UTF-16 big-endian with a byte-order mark.
    Utf16Be,
}

impl TextEncoding {
    /// The name shown to billing leads and written to logs, so support can
    /// tell which encoding a file was read as.
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 with BOM",
            TextEncoding::Windows1252 => "Windows-1252",
            TextEncoding::Utf16Le => "UTF-16LE",
            TextEncoding::Utf16Be => "UTF-16BE",
        }
    }

    /// The encoding a [`TextEncoding::label`] names, so a pinned encoding
    /// can travel in a message as text.
    pub fn from_label(label: &str) -> Option<TextEncoding> {
        [
            TextEncoding::Utf8,
            TextEncoding::Utf8Bom,
            TextEncoding::Windows1252,
            TextEncoding::Utf16Le,
            TextEncoding::Utf16Be,
        ]
        .into_iter()
        .find(|e| e.label() == label)
    }

    /// Whether raw byte offsets of line breaks are offsets of the text's
    /// line breaks: true for UTF-8 and single-byte Windows-1252, where CR,
    /// LF, quotes and delimiters are single ASCII bytes that never occur
    /// inside another character; false for UTF-16. Only such a file can be
    /// cut into byte ranges at line starts.
    pub fn ascii_compatible(self) -> bool {
        matches!(
            self,
            TextEncoding::Utf8 | TextEncoding::Utf8Bom | TextEncoding::Windows1252
        )
    }

    /// The length of the byte-order mark this encoding was detected by, so
    /// the mark is skipped and never reaches the first header name.
    pub fn bom_len(self) -> usize {
        match self {
            TextEncoding::Utf8 | TextEncoding::Windows1252 => 0,
            TextEncoding::Utf8Bom => 3,
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => 2,
        }
    }

    /// The name of the character set without the BOM detail, so messages
    /// read "not valid UTF-8 text" rather than "not valid UTF-8 with BOM text".
    fn charset(self) -> &'static str {
        match self {
            TextEncoding::Utf8 | TextEncoding::Utf8Bom => "UTF-8",
            other => other.label(),
        }
    }

    /// The `encoding_rs` encoding that decodes the text after the BOM.
    fn encoding_rs(self) -> &'static Encoding {
        match self {
            TextEncoding::Utf8 | TextEncoding::Utf8Bom => UTF_8,
            TextEncoding::Windows1252 => WINDOWS_1252,
            TextEncoding::Utf16Le => UTF_16LE,
            TextEncoding::Utf16Be => UTF_16BE,
        }
    }
}

impl fmt::Display for TextEncoding {
    /// Same as [`TextEncoding::label`], so the encoding can be put in messages directly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What a file that is not text looks like, so the message can tell the
/// billing lead which file they picked by mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotTextKind {
    /// Starts with `PK\x03\x04`: an .xlsx workbook or another zip archive.
    Zip,
    /// Starts with `%PDF`.
    Pdf,
    /// Starts with `D0 CF 11 E0`: an old .xls workbook or other old Office file.
    OldOffice,
    /// Starts with `\x89PNG`.
    Png,
    /// Starts with `GIF8`.
    Gif,
    /// Starts with `FF D8 FF`.
    Jpeg,
    /// Has a NUL byte and no UTF-16 byte-order mark.
    NulByte {
        /// Byte offset of the first NUL byte from the start of the file.
        offset: u64,
    },
    /// Is not UTF-8 and has a byte Windows-1252 does not define
    /// (0x81, 0x8D, 0x8F, 0x90 or 0x9D).
    UndefinedByte {
        /// Byte offset of the first such byte from the start of the file.
        offset: u64,
    },
}

impl fmt::Display for NotTextKind {
    /// Plain words for billing leads; only offsets, never file contents.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotTextKind::Zip => f.write_str("an Excel workbook or zip archive"),
            NotTextKind::Pdf => f.write_str("a PDF document"),
            NotTextKind::OldOffice => {
                f.write_str("an old Excel (.xls) workbook or other Office file")
            }
            NotTextKind::Png => f.write_str("a PNG image"),
            NotTextKind::Gif => f.write_str("a GIF image"),
            NotTextKind::Jpeg => f.write_str("a JPEG image"),
            NotTextKind::NulByte { offset } => write!(
                f,
                "binary data: byte {offset} is a zero byte, which text files do not contain \
                 unless they are UTF-16 starting with a byte-order mark"
            ),
            NotTextKind::UndefinedByte { offset } => write!(
                f,
                "binary data: byte {offset} is neither UTF-8 nor Windows-1252 text"
            ),
        }
    }
}

/// Why a file could not be read as text. Carries no file contents, so it is
/// safe to log and to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// The start of the file is not text in any encoding we accept, so
    /// reading on would only produce garbage rows.
    #[error("the file is not a text file (it looks like {looks_like})")]
    NotText {
        /// What the file looks like instead.
        looks_like: NotTextKind,
    },
    /// The start of the file was read as `encoding`, but line `line` is not
    /// valid in it: the file mixes encodings, and any guess would corrupt names.
    #[error(
        "line {line} is not valid {} text; the file seems to mix encodings. \
         Save it again as CSV UTF-8.",
        .encoding.charset()
    )]
    Malformed {
        /// The encoding detected from the start of the file.
        encoding: TextEncoding,
        /// 1-based line number (counting LF line breaks) of the bad bytes.
        line: u64,
    },
}

impl From<EncodingError> for io::Error {
    /// Wraps the error as `InvalidData` so it travels through `Read`, and
    /// callers get it back with [`encoding_error`].
    fn from(e: EncodingError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// Gets the [`EncodingError`] back out of an `io::Error` returned by
/// [`utf8_reader`] or [`Utf8Reader`], so callers can tell a bad file from a
/// failed read.
pub fn encoding_error(e: &io::Error) -> Option<&EncodingError> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<EncodingError>())
}

/// Bytes Windows-1252 leaves undefined. `encoding_rs` (following WHATWG)
/// maps them to C1 control characters, which never appear in real text, so
/// they are treated as a sign the file is not Windows-1252.
fn undefined_in_1252(b: u8) -> bool {
    matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D)
}

/// Signatures of the binary files billing leads upload by mistake.
const SIGNATURES: [(&[u8], NotTextKind); 6] = [
    (b"PK\x03\x04", NotTextKind::Zip),
    (b"%PDF", NotTextKind::Pdf),
    (b"\xD0\xCF\x11\xE0", NotTextKind::OldOffice),
    (b"\x89PNG", NotTextKind::Png),
    (b"GIF8", NotTextKind::Gif),
    (b"\xFF\xD8\xFF", NotTextKind::Jpeg),
];

/// Decides the encoding from the first bytes of a file, so the rule can be
/// used (and tested) without a reader.
///
/// `complete` says whether `prefix` is the whole file. When it is not, a
/// UTF-8 sequence cut by the end of the prefix is allowed; when it is, the
/// bytes must be entirely valid UTF-8 to be read as UTF-8.
///
/// Rules, in order: a byte-order mark; a known binary signature; any NUL
/// byte; valid UTF-8; only bytes defined in Windows-1252; otherwise not text.
/// Empty input is UTF-8 (the caller reports empty files).
pub fn detect(prefix: &[u8], complete: bool) -> Result<TextEncoding, EncodingError> {
    if prefix.starts_with(b"\xEF\xBB\xBF") {
        return Ok(TextEncoding::Utf8Bom);
    }
    if prefix.starts_with(b"\xFF\xFE") {
        return Ok(TextEncoding::Utf16Le);
    }
    if prefix.starts_with(b"\xFE\xFF") {
        return Ok(TextEncoding::Utf16Be);
    }
    if let Some((_, kind)) = SIGNATURES.iter().find(|(sig, _)| prefix.starts_with(sig)) {
        return Err(EncodingError::NotText { looks_like: *kind });
    }
    if let Some(offset) = prefix.iter().position(|&b| b == 0) {
        return Err(EncodingError::NotText {
            looks_like: NotTextKind::NulByte {
                offset: offset as u64,
            },
        });
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => return Ok(TextEncoding::Utf8),
        // `error_len() == None`: the only problem is a sequence cut by the
        // end of the prefix, which the next bytes of the file complete.
        Err(e) if !complete && e.error_len().is_none() => return Ok(TextEncoding::Utf8),
        Err(_) => {}
    }
    match prefix.iter().position(|&b| undefined_in_1252(b)) {
        None => Ok(TextEncoding::Windows1252),
        Some(offset) => Err(EncodingError::NotText {
            looks_like: NotTextKind::UndefinedByte {
                offset: offset as u64,
            },
        }),
    }
}

/// Reads up to [`PREFIX_LEN`] bytes, retrying on `Interrupted`, so that a
/// reader returning a byte at a time still yields a full prefix. Returns the
/// length read and whether the end of the input was reached.
fn read_prefix<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<(usize, bool)> {
    let mut len = 0;
    while len < buf.len() {
        match input.read(&mut buf[len..]) {
            Ok(0) => return Ok((len, true)),
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((len, false))
}

/// Reads a prefix (up to [`PREFIX_LEN`] bytes) to decide the encoding, then
/// returns a reader that yields the whole file (prefix included) as UTF-8
/// with any byte-order mark removed, so the CSV parser only ever sees UTF-8.
///
/// A file that is not text is refused here with an `InvalidData` error
/// wrapping an [`EncodingError`] (see [`encoding_error`]); other errors are
/// the input's own.
pub fn utf8_reader<R: Read>(input: R) -> io::Result<(TextEncoding, Utf8Reader<R>)> {
    utf8_reader_as(input, None)
}

/// Like [`utf8_reader`], but with the encoding already decided when
/// `pinned` is set: a piece of a file (its header and a range of its lines,
/// see [`crate::split`]) must be decoded as the whole file was, and its own
/// first bytes could suggest another encoding (an ASCII-only stretch of a
/// Windows-1252 file reads as UTF-8).
pub fn utf8_reader_as<R: Read>(
    mut input: R,
    pinned: Option<TextEncoding>,
) -> io::Result<(TextEncoding, Utf8Reader<R>)> {
    let mut in_buf = vec![0u8; PREFIX_LEN].into_boxed_slice();
    let (len, eof) = read_prefix(&mut input, &mut in_buf)?;
    let encoding = match pinned {
        Some(encoding) => encoding,
        None => detect(&in_buf[..len], eof)?,
    };
    let reader = Utf8Reader {
        inner: input,
        encoding,
        // The BOM, if any, was detected and is skipped here, so decoders
        // must not look for one again (a second U+FEFF is text).
        decoder: encoding.encoding_rs().new_decoder_without_bom_handling(),
        in_buf,
        in_pos: encoding.bom_len(),
        in_len: len,
        eof,
        out_buf: vec![0u8; OUTPUT_LEN].into_boxed_slice(),
        out_pos: 0,
        out_len: 0,
        line_feeds: 0,
        done: false,
        failed: None,
    };
    Ok((encoding, reader))
}

/// Streams a file as UTF-8 through two fixed buffers, so memory stays
/// bounded whatever the size of the upload. Malformed input ends the stream
/// with an `InvalidData` error wrapping [`EncodingError::Malformed`]; text
/// before the bad line is delivered first.
pub struct Utf8Reader<R> {
    inner: R,
    encoding: TextEncoding,
    decoder: Decoder,
    in_buf: Box<[u8]>,
    in_pos: usize,
    in_len: usize,
    /// The input returned end of file.
    eof: bool,
    out_buf: Box<[u8]>,
    out_pos: usize,
    out_len: usize,
    /// LF bytes produced so far, for the line number of a malformed line.
    line_feeds: u64,
    /// The decoder was given its last input and finished; it must not be
    /// called again.
    done: bool,
    /// The error to return once the converted text before it is delivered.
    failed: Option<EncodingError>,
}

impl<R> Utf8Reader<R> {
    /// The detected encoding, for logs and for the import's summary.
    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// Gives back the underlying reader, e.g. to close it explicitly.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: fmt::Debug> fmt::Debug for Utf8Reader<R> {
    /// Shows the state but not the buffers, which hold patient data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Utf8Reader")
            .field("inner", &self.inner)
            .field("encoding", &self.encoding)
            .field("line_feeds", &self.line_feeds)
            .field("done", &self.done)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Utf8Reader<R> {
    /// Converts the next piece of input into the (empty) output buffer,
    /// reading from the input when all buffered input has been converted.
    fn fill(&mut self) -> io::Result<()> {
        self.out_pos = 0;
        self.out_len = 0;
        if self.in_pos == self.in_len && !self.eof {
            self.in_pos = 0;
            self.in_len = 0;
            match self.inner.read(&mut self.in_buf)? {
                0 => self.eof = true,
                n => self.in_len = n,
            }
        }
        let mut src = &self.in_buf[self.in_pos..self.in_len];
        let mut undefined_next = false;
        if self.encoding == TextEncoding::Windows1252 {
            if let Some(i) = src.iter().position(|&b| undefined_in_1252(b)) {
                src = &src[..i];
                undefined_next = true;
            }
        }
        let last = self.eof && !undefined_next;
        let (result, read, written) =
            self.decoder
                .decode_to_utf8_without_replacement(src, &mut self.out_buf, last);
        self.in_pos += read;
        self.out_len = written;
        self.line_feeds += self.out_buf[..written]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        let malformed = match result {
            DecoderResult::InputEmpty if undefined_next => true,
            DecoderResult::InputEmpty => {
                self.done = last;
                false
            }
            DecoderResult::OutputFull => false,
            DecoderResult::Malformed(_, _) => true,
        };
        if malformed {
            self.failed = Some(EncodingError::Malformed {
                encoding: self.encoding,
                line: self.line_feeds + 1,
            });
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf8Reader<R> {
    /// Copies converted text out, converting more as needed.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.out_pos < self.out_len {
                let n = buf.len().min(self.out_len - self.out_pos);
                buf[..n].copy_from_slice(&self.out_buf[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            if let Some(e) = &self.failed {
                return Err(e.clone().into());
            }
            if self.done {
                return Ok(0);
            }
            self.fill()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NAMES: &str = "Peña,Zoë,Nguyễn\r\n";

    /// A reader that returns at most `chunk` bytes per call, to split
    /// characters and code units across reads.
    struct Chunked<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn utf16(s: &str, bom: bool, le: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = bom.then_some(0xFEFF).into_iter().chain(s.encode_utf16());
        for u in units {
            out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        out
    }

    fn utf8_bom(s: &str) -> Vec<u8> {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        out.extend_from_slice(s.as_bytes());
        out
    }

    fn windows_1252(s: &str) -> Vec<u8> {
        let (bytes, _, had_errors) = WINDOWS_1252.encode(s);
        assert!(
            !had_errors,
            "test text must be representable in Windows-1252"
        );
        bytes.into_owned()
    }

    /// Decodes everything, reading the input `chunk` bytes at a time.
    fn decode(bytes: &[u8], chunk: usize) -> io::Result<(TextEncoding, String)> {
        let (enc, mut reader) = utf8_reader(Chunked { data: bytes, chunk })?;
        let mut out = Vec::new();
        reader.read_to_end(&mut out)?;
        Ok((
            enc,
            String::from_utf8(out).expect("the reader yields UTF-8"),
        ))
    }

    fn not_text(bytes: &[u8]) -> NotTextKind {
        let err = utf8_reader(bytes).expect_err("should be refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        match encoding_error(&err) {
            Some(EncodingError::NotText { looks_like }) => *looks_like,
            other => panic!("expected NotText, got {other:?}"),
        }
    }

    fn malformed(bytes: &[u8], chunk: usize) -> EncodingError {
        let err = decode(bytes, chunk).expect_err("should be refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        encoding_error(&err).expect("an encoding error").clone()
    }

    #[test]
    fn utf8_round_trips() {
        assert_eq!(
            decode(NAMES.as_bytes(), 4096).unwrap(),
            (TextEncoding::Utf8, NAMES.to_owned())
        );
    }

    #[test]
    fn utf8_bom_is_detected_and_stripped() {
        assert_eq!(
            decode(&utf8_bom(NAMES), 4096).unwrap(),
            (TextEncoding::Utf8Bom, NAMES.to_owned())
        );
    }

    #[test]
    fn utf16_le_round_trips_without_bom() {
        assert_eq!(
            decode(&utf16(NAMES, true, true), 4096).unwrap(),
            (TextEncoding::Utf16Le, NAMES.to_owned())
        );
    }

    #[test]
    fn utf16_be_round_trips_without_bom() {
        assert_eq!(
            decode(&utf16(NAMES, true, false), 4096).unwrap(),
            (TextEncoding::Utf16Be, NAMES.to_owned())
        );
    }

    #[test]
    fn windows_1252_round_trips() {
        // "Nguyễn" has no Windows-1252 form (ễ is not in the code page), so
        // an Excel "CSV" export cannot carry it; the other names can.
        assert!(WINDOWS_1252.encode(NAMES).2);
        let text = "Peña,Zoë,Müller,Žižek,O’Brien €\r\n";
        assert_eq!(
            decode(&windows_1252(text), 4096).unwrap(),
            (TextEncoding::Windows1252, text.to_owned())
        );
    }

    #[test]
    fn one_byte_at_a_time_splits_characters_and_code_units() {
        let cases: [(Vec<u8>, TextEncoding); 4] = [
            (NAMES.as_bytes().to_vec(), TextEncoding::Utf8),
            (utf8_bom(NAMES), TextEncoding::Utf8Bom),
            (utf16(NAMES, true, true), TextEncoding::Utf16Le),
            (utf16(NAMES, true, false), TextEncoding::Utf16Be),
        ];
        for (bytes, enc) in cases {
            assert_eq!(decode(&bytes, 1).unwrap(), (enc, NAMES.to_owned()));
        }
        let text = "Peña,Zoë\r\n";
        assert_eq!(
            decode(&windows_1252(text), 1).unwrap(),
            (TextEncoding::Windows1252, text.to_owned())
        );
    }

    #[test]
    fn one_byte_output_reads_work() {
        let bytes = utf16(NAMES, true, true);
        let (_, mut reader) = utf8_reader(&bytes[..]).unwrap();
        let mut out = Vec::new();
        let mut byte = [0u8; 1];
        while reader.read(&mut byte).unwrap() == 1 {
            out.push(byte[0]);
        }
        assert_eq!(out, NAMES.as_bytes());
    }

    #[test]
    fn long_files_cross_the_prefix_and_buffers() {
        // Far more than the prefix and output buffer, with multibyte
        // characters and surrogate pairs at every alignment.
        let text: String = (0..9000)
            .map(|i| format!("{i},Peña,Zoë,Nguyễn,😀\n"))
            .collect();
        assert!(text.len() > 3 * PREFIX_LEN);
        let cases: [(Vec<u8>, TextEncoding); 4] = [
            (text.as_bytes().to_vec(), TextEncoding::Utf8),
            (utf8_bom(&text), TextEncoding::Utf8Bom),
            (utf16(&text, true, true), TextEncoding::Utf16Le),
            (utf16(&text, true, false), TextEncoding::Utf16Be),
        ];
        for (bytes, enc) in cases {
            for chunk in [1, 7, 4096, PREFIX_LEN + 1] {
                assert_eq!(decode(&bytes, chunk).unwrap(), (enc, text.clone()));
            }
        }
        let text: String = (0..9000).map(|i| format!("{i},Peña,Zoë\r\n")).collect();
        assert_eq!(
            decode(&windows_1252(&text), 3).unwrap(),
            (TextEncoding::Windows1252, text)
        );
    }

    #[test]
    fn utf8_cut_by_the_prefix_is_still_utf8() {
        // "é" straddles the end of the prefix.
        let mut text = "a".repeat(PREFIX_LEN - 1);
        text.push_str("é\n");
        assert_eq!(
            detect(&text.as_bytes()[..PREFIX_LEN], false),
            Ok(TextEncoding::Utf8)
        );
        assert_eq!(
            decode(text.as_bytes(), 4096).unwrap(),
            (TextEncoding::Utf8, text)
        );
    }

    #[test]
    fn a_cut_utf8_sequence_at_the_end_of_the_file_is_not_utf8() {
        // The whole file is in the prefix, so nothing completes the cut
        // sequence: it is read as Windows-1252 ("Café" ending in 0xE9 is
        // far more likely than a truncated UTF-8 file).
        assert_eq!(detect(b"Caf\xE9", true), Ok(TextEncoding::Windows1252));
        assert_eq!(detect(b"Caf\xE9", false), Ok(TextEncoding::Utf8));
    }

    #[test]
    fn empty_input_is_utf8() {
        assert_eq!(decode(b"", 1).unwrap(), (TextEncoding::Utf8, String::new()));
    }

    #[test]
    fn bom_only_files_are_empty() {
        assert_eq!(decode(b"\xEF\xBB\xBF", 1).unwrap().1, "");
        assert_eq!(decode(b"\xFF\xFE", 1).unwrap().1, "");
        assert_eq!(decode(b"\xFE\xFF", 1).unwrap().1, "");
    }

    #[test]
    fn a_second_bom_is_kept_as_text() {
        let text = "\u{FEFF}Peña\n";
        assert_eq!(decode(&utf8_bom(text), 1).unwrap().1, text);
        assert_eq!(decode(&utf16(text, true, true), 1).unwrap().1, text);
    }

    #[test]
    fn binary_signatures_are_named() {
        let cases: [(&[u8], NotTextKind); 6] = [
            (b"PK\x03\x04\x14\x00\x06\x00", NotTextKind::Zip),
            (b"%PDF-1.7\n", NotTextKind::Pdf),
            (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", NotTextKind::OldOffice),
            (b"\x89PNG\r\n\x1A\n", NotTextKind::Png),
            (b"GIF89a", NotTextKind::Gif),
            (b"\xFF\xD8\xFF\xE0", NotTextKind::Jpeg),
        ];
        for (bytes, kind) in cases {
            assert_eq!(not_text(bytes), kind);
        }
        let err = EncodingError::NotText {
            looks_like: NotTextKind::Zip,
        };
        assert_eq!(
            err.to_string(),
            "the file is not a text file (it looks like an Excel workbook or zip archive)"
        );
    }

    #[test]
    fn nul_bytes_without_bom_are_not_text() {
        // UTF-16LE saved without a BOM: every other byte is zero.
        let bytes = utf16("Name,Balance\r\n", false, true);
        assert_eq!(not_text(&bytes), NotTextKind::NulByte { offset: 1 });
        assert_eq!(not_text(b"Name\0"), NotTextKind::NulByte { offset: 4 });
        let message = EncodingError::NotText {
            looks_like: NotTextKind::NulByte { offset: 4 },
        }
        .to_string();
        assert!(message.starts_with("the file is not a text file (it looks like binary data"));
        assert!(message.contains("byte 4"));
    }

    #[test]
    fn bytes_undefined_in_windows_1252_are_not_text() {
        for b in [0x81u8, 0x8D, 0x8F, 0x90, 0x9D] {
            let bytes = [b'P', b'e', 0xF1, b'a', b',', b];
            assert_eq!(not_text(&bytes), NotTextKind::UndefinedByte { offset: 5 });
        }
    }

    #[test]
    fn an_invalid_byte_after_a_utf8_prefix_reports_its_line() {
        // Lines 1 and 2 fill the prefix with valid UTF-8; line 3 has a
        // Windows-1252 "ñ".
        let mut bytes = b"Name,Balance\n".to_vec();
        bytes.extend_from_slice("Zoë,".repeat(PREFIX_LEN / 4).as_bytes());
        bytes.extend_from_slice(b"1.00\nPe\xF1a,2.00\nNext,3.00\n");
        for chunk in [1, 4096] {
            assert_eq!(
                malformed(&bytes, chunk),
                EncodingError::Malformed {
                    encoding: TextEncoding::Utf8,
                    line: 3
                }
            );
        }
        assert_eq!(
            malformed(&bytes, 4096).to_string(),
            "line 3 is not valid UTF-8 text; the file seems to mix encodings. \
             Save it again as CSV UTF-8."
        );
    }

    #[test]
    fn text_before_the_bad_line_is_delivered() {
        let mut bytes = "a\n".repeat(PREFIX_LEN).into_bytes();
        bytes.extend_from_slice(b"b\xFF\n");
        let (_, mut reader) = utf8_reader(&bytes[..]).unwrap();
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).unwrap_err();
        let mut expected = "a\n".repeat(PREFIX_LEN).into_bytes();
        expected.push(b'b');
        assert_eq!(out, expected);
        assert_eq!(
            encoding_error(&err),
            Some(&EncodingError::Malformed {
                encoding: TextEncoding::Utf8,
                line: PREFIX_LEN as u64 + 1
            })
        );
        // The error is sticky.
        assert!(reader.read(&mut [0u8; 16]).is_err());
    }

    #[test]
    fn a_truncated_utf8_file_longer_than_the_prefix_is_malformed() {
        let mut bytes = "a\n".repeat(PREFIX_LEN).into_bytes();
        bytes.extend_from_slice(b"\xE1\xBB");
        assert_eq!(
            malformed(&bytes, 4096),
            EncodingError::Malformed {
                encoding: TextEncoding::Utf8,
                line: PREFIX_LEN as u64 + 1
            }
        );
    }

    #[test]
    fn undefined_1252_bytes_after_the_prefix_are_malformed() {
        let mut bytes = windows_1252(&"Peña\r\n".repeat(PREFIX_LEN / 6 + 1));
        bytes.extend_from_slice(b"Zo\x9D\r\n");
        let lines = PREFIX_LEN as u64 / 6 + 2;
        assert_eq!(
            malformed(&bytes, 4096),
            EncodingError::Malformed {
                encoding: TextEncoding::Windows1252,
                line: lines
            }
        );
        assert!(malformed(&bytes, 4096)
            .to_string()
            .starts_with(&format!("line {lines} is not valid Windows-1252 text")));
    }

    #[test]
    fn broken_utf16_is_malformed() {
        // An odd number of bytes: the last code unit is cut.
        let mut bytes = utf16("a\nb\n", true, true);
        bytes.push(b'c');
        assert_eq!(
            malformed(&bytes, 1),
            EncodingError::Malformed {
                encoding: TextEncoding::Utf16Le,
                line: 3
            }
        );
        // A lone high surrogate on line 2.
        let mut bytes = utf16("a\n", true, false);
        bytes.extend_from_slice(&[0xD8, 0x3D, 0x00, b'x']);
        assert_eq!(
            malformed(&bytes, 1),
            EncodingError::Malformed {
                encoding: TextEncoding::Utf16Be,
                line: 2
            }
        );
    }

    #[test]
    fn labels() {
        assert_eq!(TextEncoding::Utf8.label(), "UTF-8");
        assert_eq!(TextEncoding::Utf8Bom.label(), "UTF-8 with BOM");
        assert_eq!(TextEncoding::Windows1252.label(), "Windows-1252");
        assert_eq!(TextEncoding::Utf16Le.label(), "UTF-16LE");
        assert_eq!(TextEncoding::Utf16Be.to_string(), "UTF-16BE");
    }

    #[test]
    fn other_io_errors_pass_through() {
        #[derive(Debug)]
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk gone"))
            }
        }
        let err = utf8_reader(Failing).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Other);
        assert!(encoding_error(&err).is_none());
    }

    proptest! {
        #[test]
        fn any_text_with_a_bom_round_trips(text in any::<String>(), chunk in 1usize..64) {
            let cases: [(Vec<u8>, TextEncoding); 3] = [
                (utf8_bom(&text), TextEncoding::Utf8Bom),
                (utf16(&text, true, true), TextEncoding::Utf16Le),
                (utf16(&text, true, false), TextEncoding::Utf16Be),
            ];
            for (bytes, enc) in cases {
                let (got_enc, got) = decode(&bytes, chunk).unwrap();
                prop_assert_eq!(got_enc, enc);
                prop_assert_eq!(&got, &text);
            }
        }

        #[test]
        fn any_utf8_text_without_nul_round_trips(
            text in any::<String>().prop_filter("no NUL, no leading BOM", |s| {
                !s.contains('\0') && !s.starts_with('\u{FEFF}')
            }),
            chunk in 1usize..64,
        ) {
            let (enc, got) = decode(text.as_bytes(), chunk).unwrap();
            prop_assert_eq!(enc, TextEncoding::Utf8);
            prop_assert_eq!(got, text);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            bom in prop_oneof![
                Just(&b""[..]),
                Just(&b"\xEF\xBB\xBF"[..]),
                Just(&b"\xFF\xFE"[..]),
                Just(&b"\xFE\xFF"[..]),
            ],
            chunk in 1usize..64,
        ) {
            let mut input = bom.to_vec();
            input.extend_from_slice(&bytes);
            match decode(&input, chunk) {
                Ok((_, text)) => prop_assert!(text.len() <= 3 * input.len()),
                Err(e) => prop_assert!(encoding_error(&e).is_some()),
            }
        }
    }
}
