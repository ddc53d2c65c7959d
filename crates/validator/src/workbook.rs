//! Excel workbooks (.xlsx). A zip archive cannot be read front to back,
//! so the upload is spooled to a temporary file first; its rows then go
//! through exactly the same rules as a CSV file's.

use crate::source::{failure, read_rows, Chunk, Frame};
use bf_domain::open::Detected;
use bf_domain::options::ParseOptions;
use bf_domain::problem::sentence;
use bf_domain::reader::ImportReader;
use bf_domain::xlsx::{self, XlsxLimits};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// Whether the file's first bytes are a zip archive (an xlsx workbook).
pub fn is_workbook(first: &[u8]) -> bool {
    xlsx::looks_like_xlsx(first)
}

/// Spools the workbook to a temporary file, then reads its first sheet.
pub async fn read<S>(
    first: Bytes,
    rest: S,
    batch_size: usize,
    options: ParseOptions,
    tx: mpsc::Sender<Chunk>,
) where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin,
{
    let path = spool_path();
    if let Err(e) = spool(&path, first, rest).await {
        let _ = tokio::fs::remove_file(&path).await;
        let _ = tx
            .send(Chunk::Unreadable(format!(
                "spooling the workbook failed: {}",
                e.kind()
            )))
            .await;
        return;
    }
    let reading = path.clone();
    let _ = tokio::task::spawn_blocking(move || {
        let file = match std::fs::File::open(&reading) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Chunk::Unreadable(e.kind().to_string()));
                return;
            }
        };
        let source = match xlsx::open(std::io::BufReader::new(file), &XlsxLimits::default()) {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.blocking_send(Chunk::Invalid(sentence(&e.to_string())));
                return;
            }
        };
        let detected = Detected {
            format: "xlsx",
            encoding: None,
            delimiter: None,
        };
        match ImportReader::new(source, &options) {
            Ok(reader) => read_rows(reader, detected, batch_size, &options, &Frame::WHOLE, &tx),
            Err(e) => {
                let _ = tx.blocking_send(failure(e));
            }
        }
    })
    .await;
    let _ = tokio::fs::remove_file(&path).await;
}

fn spool_path() -> PathBuf {
    std::env::temp_dir().join(format!("bf-workbook-{}.xlsx", uuid_like()))
}

/// A unique enough name for a temporary file: process id and a counter.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn spool<S>(path: &PathBuf, first: Bytes, mut rest: S) -> std::io::Result<()>
where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin,
{
    let mut file = tokio::fs::File::create(path).await?;
    file.write_all(&first).await?;
    while let Some(chunk) = rest.next().await {
        file.write_all(&chunk?).await?;
    }
    file.flush().await
}
