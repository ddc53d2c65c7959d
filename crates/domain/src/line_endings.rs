//! Normalises line ends so line numbers are exact whatever wrote the file.
//!
//! Excel on Windows writes CRLF, old Mac exports write a lone CR, and the
//! csv crate counts only LF. Feeding it LF-only text that always ends in a
//! newline makes every record's line number computable from the reader's
//! position (see [`crate::reader`]).

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A reader that turns CRLF and lone CR into LF and guarantees a final LF.
pub struct LineEndings<R> {
    inner: R,
    scratch: Vec<u8>,
    after_cr: bool,
    last: Option<u8>,
    finished: bool,
    consumed: Arc<AtomicU64>,
}

impl<R: Read> LineEndings<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        LineEndings {
            inner,
            scratch: Vec::new(),
            after_cr: false,
            last: None,
            finished: false,
            consumed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A shared count of the raw bytes read from `inner`, for progress.
    pub fn consumed(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.consumed)
    }
}

impl<R: Read> Read for LineEndings<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() || self.finished {
            return Ok(0);
        }
        loop {
            self.scratch.resize(out.len(), 0);
            let n = self.inner.read(&mut self.scratch)?;
            if n == 0 {
                self.finished = true;
                if self.last.is_some_and(|b| b != b'\n') {
                    out[0] = b'\n';
                    return Ok(1);
                }
                return Ok(0);
            }
            self.consumed.fetch_add(n as u64, Ordering::Relaxed);
            let written = normalize(&self.scratch[..n], &mut self.after_cr, out);
            if written > 0 {
                self.last = Some(out[written - 1]);
                return Ok(written);
            }
        }
    }
}

/// Copies `input` to `out` with each CR or CRLF as one LF, a stretch
/// without CR at a time (planning a split and every parse read each byte
/// of the file through here). `after_cr` says whether the byte before
/// `input` was a CR, so a CRLF split across two reads is one line end; it
/// is left saying the same of `input`'s last byte. Returns the bytes
/// written, never more than `input`'s.
fn normalize(mut input: &[u8], after_cr: &mut bool, out: &mut [u8]) -> usize {
    if std::mem::take(after_cr) && input.first() == Some(&b'\n') {
        input = &input[1..];
    }
    let mut written = 0;
    while let Some(at) = memchr::memchr(b'\r', input) {
        out[written..written + at].copy_from_slice(&input[..at]);
        out[written + at] = b'\n';
        written += at + 1;
        input = &input[at + 1..];
        match input.first() {
            Some(b'\n') => input = &input[1..],
            Some(_) => {}
            None => *after_cr = true,
        }
    }
    out[written..written + input.len()].copy_from_slice(input);
    written + input.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(input: &[u8]) -> String {
        let mut s = String::new();
        LineEndings::new(input).read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn crlf_and_cr_become_lf() {
        assert_eq!(normalized(b"a\r\nb\rc\n"), "a\nb\nc\n");
        assert_eq!(normalized(b"a\r\r\nb"), "a\n\nb\n");
    }

    #[test]
    fn a_final_newline_is_added_once() {
        assert_eq!(normalized(b"a"), "a\n");
        assert_eq!(normalized(b"a\n"), "a\n");
        assert_eq!(normalized(b""), "");
    }

    /// A reader that hands out its bytes in pieces of the given sizes.
    struct Pieces<'a> {
        bytes: &'a [u8],
        sizes: std::iter::Cycle<std::vec::IntoIter<usize>>,
    }

    impl Read for Pieces<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self
                .sizes
                .next()
                .unwrap_or(1)
                .min(out.len())
                .min(self.bytes.len());
            out[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// Line ends normalized one byte at a time, as the rule says.
    fn by_the_rule(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut after_cr = false;
        for &b in input {
            match b {
                b'\n' if after_cr => {}
                b'\r' => out.push(b'\n'),
                b => out.push(b),
            }
            after_cr = b == b'\r';
        }
        if out.last().is_some_and(|b| *b != b'\n') {
            out.push(b'\n');
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn line_ends_read_in_any_pieces_come_out_as_the_rule_says(
            input in proptest::collection::vec(proptest::sample::select(b"ab\r\n".to_vec()), 0..60),
            sizes in proptest::collection::vec(1usize..7, 1..5),
        ) {
            let mut read = Vec::new();
            let pieces = Pieces { bytes: &input, sizes: sizes.into_iter().cycle() };
            LineEndings::new(pieces).read_to_end(&mut read).unwrap();
            proptest::prop_assert_eq!(read, by_the_rule(&input));
        }
    }

    #[test]
    fn raw_bytes_are_counted() {
        let mut r = LineEndings::new(&b"a\r\nb"[..]);
        let consumed = r.consumed();
        std::io::copy(&mut r, &mut std::io::sink()).unwrap();
        assert_eq!(consumed.load(Ordering::Relaxed), 4);
    }
}
