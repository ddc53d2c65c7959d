//! Reads an uploaded file from the object store as a stream of judged row
//! batches. Parsing is synchronous, so it runs on a blocking thread; a
//! bounded channel keeps memory flat whatever the file's size.

use bf_domain::open::{open_text, Detected};
use bf_domain::options::ParseOptions;
use bf_domain::problem::sentence;
use bf_domain::reader::{FileError, ImportReader, RecordSource};
use bf_domain::{Column, Row};
use bytes::Bytes;
use futures::{stream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::ObjectStore;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};

/// What the reading thread sends, in file order.
pub enum Chunk {
    /// Each header as written with the template column it was read as, and
    /// how the file was read.
    Header {
        mapping: Vec<(String, Option<Column>)>,
        detected: Detected,
    },
    /// Judged rows (before matching), and bytes of the file read so far.
    Rows { rows: Vec<Row>, bytes_read: u64 },
    /// The file cannot be imported; the reason is for the user.
    Invalid(String),
    /// Reading failed for a reason outside the file; try again later.
    Unreadable(String),
    /// Every row was sent. Without it, a closed channel means the reader
    /// died part-way, and the parse must not be taken as complete.
    End,
}

/// Starts reading `key`; chunks arrive on the returned channel.
pub async fn open(
    objects: Arc<dyn ObjectStore>,
    key: &str,
    batch_size: usize,
    options: ParseOptions,
) -> mpsc::Receiver<Chunk> {
    let (tx, rx) = mpsc::channel(2);
    let path = Path::parse(key).unwrap_or_else(|_| Path::from(key));
    let found = match objects.get(&path).await {
        Ok(found) => found,
        Err(object_store::Error::NotFound { .. }) => {
            // The gateway stores the file before it commits the import, so
            // a missing file is a storage fault (a volume not mounted, a
            // restore in progress), not a fault of the file: retry, and
            // once retries are spent the job is dead-lettered for an
            // operator to requeue after restoring the file.
            let _ = tx
                .send(Chunk::Unreadable(
                    "the uploaded file is not in storage".into(),
                ))
                .await;
            return rx;
        }
        Err(_) => {
            let _ = tx
                .send(Chunk::Unreadable("object store unavailable".into()))
                .await;
            return rx;
        }
    };
    let mut body = found.into_stream().map_err(std::io::Error::other);
    let first: Bytes = match body.next().await {
        Some(Ok(b)) => b,
        Some(Err(_)) => {
            let _ = tx
                .send(Chunk::Unreadable("object store read failed".into()))
                .await;
            return rx;
        }
        None => Bytes::new(),
    };
    if crate::workbook::is_workbook(&first) {
        // Its own task: the caller drains the channel while it reads.
        tokio::spawn(crate::workbook::read(first, body, batch_size, options, tx));
        return rx;
    }
    let whole = stream::iter([Ok(first)]).chain(body);
    let input = SyncIoBridge::new(StreamReader::new(whole));
    tokio::task::spawn_blocking(move || match open_text(input, &options) {
        Ok((reader, detected)) => read_rows(reader, detected, batch_size, &options, &tx),
        Err(e) => {
            let _ = tx.blocking_send(failure(e));
        }
    });
    rx
}

/// Sends the header, then judged rows in batches, then stops (the end of
/// the channel is the end of the file).
pub fn read_rows<S: RecordSource>(
    mut reader: ImportReader<S>,
    detected: Detected,
    batch_size: usize,
    options: &ParseOptions,
    tx: &mpsc::Sender<Chunk>,
) {
    let mapping = reader.header().used();
    if tx
        .blocking_send(Chunk::Header { mapping, detected })
        .is_err()
    {
        return;
    }
    let mut rows = Vec::with_capacity(batch_size);
    loop {
        match reader.next_row() {
            Ok(Some(raw)) => {
                rows.push(Row::validate(raw, options));
                if rows.len() >= batch_size {
                    let full = std::mem::replace(&mut rows, Vec::with_capacity(batch_size));
                    let chunk = Chunk::Rows {
                        rows: full,
                        bytes_read: reader.bytes_read(),
                    };
                    if tx.blocking_send(chunk).is_err() {
                        return;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                let _ = tx.blocking_send(failure(e));
                return;
            }
        }
    }
    if !rows.is_empty() {
        let chunk = Chunk::Rows {
            rows,
            bytes_read: reader.bytes_read(),
        };
        if tx.blocking_send(chunk).is_err() {
            return;
        }
    }
    let _ = tx.blocking_send(Chunk::End);
}

/// A whole-file failure as the user will read it.
pub fn failure(e: FileError) -> Chunk {
    match e {
        FileError::Io(kind) => Chunk::Unreadable(kind),
        other => Chunk::Invalid(sentence(&other.to_string())),
    }
}
