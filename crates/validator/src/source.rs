//! Reads an uploaded file from the object store as a stream of judged row
//! batches. Parsing is synchronous (the csv crate), so it runs on a
//! blocking thread; a bounded channel keeps memory flat whatever the
//! file's size.

use bf_domain::reader::{FileError, ImportReader};
use bf_domain::Row;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::ObjectStore;
use std::io::Read;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};

/// What the reading thread sends, in file order.
pub enum Chunk {
    /// The template column at each header position ("" = ignored).
    Header(Vec<String>),
    /// Judged rows (before matching), and bytes of the file read so far.
    Rows { rows: Vec<Row>, bytes_read: u64 },
    /// The file cannot be imported; the reason is for the user.
    Invalid(String),
    /// Reading failed for a reason outside the file; try again later.
    Unreadable(String),
}

/// Starts reading `key`; chunks arrive on the returned channel.
pub async fn open(
    objects: Arc<dyn ObjectStore>,
    key: &str,
    batch_size: usize,
) -> mpsc::Receiver<Chunk> {
    let (tx, rx) = mpsc::channel(2);
    let path = Path::from(key);
    match objects.get(&path).await {
        Ok(found) => {
            let stream = found.into_stream().map_err(std::io::Error::other);
            let reader = SyncIoBridge::new(StreamReader::new(stream));
            tokio::task::spawn_blocking(move || read(reader, batch_size, tx));
        }
        Err(object_store::Error::NotFound { .. }) => {
            let _ = tx
                .send(Chunk::Invalid(
                    "The uploaded file is missing from storage; upload it again.".into(),
                ))
                .await;
        }
        Err(_) => {
            let _ = tx
                .send(Chunk::Unreadable("object store unavailable".into()))
                .await;
        }
    }
    rx
}

fn read<R: Read>(input: R, batch_size: usize, tx: mpsc::Sender<Chunk>) {
    let mut reader = match ImportReader::csv(input) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.blocking_send(failure(e));
            return;
        }
    };
    let mapping = reader
        .header()
        .positions()
        .iter()
        .map(|c| c.map(|c| c.name().to_string()).unwrap_or_default())
        .collect();
    if tx.blocking_send(Chunk::Header(mapping)).is_err() {
        return;
    }
    let mut rows = Vec::with_capacity(batch_size);
    loop {
        match reader.next_row() {
            Ok(Some(raw)) => {
                rows.push(Row::validate(raw));
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
        let _ = tx.blocking_send(Chunk::Rows {
            rows,
            bytes_read: reader.bytes_read(),
        });
    }
}

fn failure(e: FileError) -> Chunk {
    match e {
        FileError::Io(kind) => Chunk::Unreadable(kind),
        other => Chunk::Invalid(sentence(&other.to_string())),
    }
}

/// "the file is empty" → "The file is empty."
fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') && !out.ends_with(')') {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_sentences() {
        assert_eq!(sentence("the file is empty"), "The file is empty.");
    }
}
