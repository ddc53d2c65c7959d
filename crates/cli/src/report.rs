//! `bfctl errors`: download an import's error report (every invalid and
//! flagged row as it was in the file, with its problems) for the practice
//! to fix and upload again.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::client::Client;
use crate::error::CliError;
use crate::Outcome;

/// Stdout that treats a closed pipe (`bfctl errors ID | head`) as the
/// reader having seen enough: later writes are dropped, not failed.
struct Stdout {
    inner: io::StdoutLock<'static>,
    closed: bool,
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.inner.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}

/// Where the report is written while downloading: beside the target, so
/// the final rename stays on one file system and an existing report is
/// not clobbered by a half-downloaded one.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

/// `GET /v1/imports/{id}/errors.csv` to `out`, or stdout when `out` is
/// `None` or `-`.
pub async fn errors(client: &Client, id: &str, out: Option<&Path>) -> Result<Outcome, CliError> {
    let url = client.url(&["v1", "imports", id, "errors.csv"])?;
    let Some(out) = out.filter(|p| p.as_os_str() != "-") else {
        let mut sink = Stdout {
            inner: io::stdout().lock(),
            closed: false,
        };
        client.download(url, &mut sink, &CliError::Output).await?;
        return Ok(Outcome::Done);
    };
    let shown = out.display().to_string();
    let part = partial_path(out);
    let write_error = |source| CliError::Write {
        path: shown.clone(),
        source,
    };
    let file = File::create(&part).map_err(write_error)?;
    let mut sink = BufWriter::new(file);
    let result = client.download(url, &mut sink, &write_error).await;
    drop(sink);
    let result = result.and_then(|n| {
        std::fs::rename(&part, out).map_err(write_error)?;
        Ok(n)
    });
    match result {
        Ok(n) => {
            eprintln!(
                "wrote error report to {shown} ({})",
                crate::render::bytes(n)
            );
            Ok(Outcome::Done)
        }
        Err(e) => {
            // Best effort: the error being reported matters more than a
            // leftover partial file.
            let _ = std::fs::remove_file(&part);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partial_file_sits_beside_the_target() {
        assert_eq!(
            partial_path(Path::new("out/errors.csv")),
            PathBuf::from("out/errors.csv.part")
        );
    }
}
