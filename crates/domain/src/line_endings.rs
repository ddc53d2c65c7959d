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
            let mut written = 0;
            for &b in &self.scratch[..n] {
                let emit = match (b, self.after_cr) {
                    (b'\n', true) => None,
                    (b'\r', _) => Some(b'\n'),
                    (b, _) => Some(b),
                };
                self.after_cr = b == b'\r';
                if let Some(e) = emit {
                    out[written] = e;
                    written += 1;
                }
            }
            if written > 0 {
                self.last = Some(out[written - 1]);
                return Ok(written);
            }
        }
    }
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

    #[test]
    fn raw_bytes_are_counted() {
        let mut r = LineEndings::new(&b"a\r\nb"[..]);
        let consumed = r.consumed();
        std::io::copy(&mut r, &mut std::io::sink()).unwrap();
        assert_eq!(consumed.load(Ordering::Relaxed), 4);
    }
}
