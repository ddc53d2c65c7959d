//! Reads an uploaded file from the object store as a stream of judged row
//! batches. Parsing is synchronous, so it runs on a blocking thread; a
//! bounded channel keeps memory flat whatever the file's size.

use bf_domain::encoding::TextEncoding;
use bf_domain::open::{open_text, open_text_as, Detected, Pinned};
use bf_domain::options::ParseOptions;
use bf_domain::problem::sentence;
use bf_domain::reader::{FileError, ImportReader, RecordSource};
use bf_domain::{Column, Row};
use bf_proto::imports::ParseChunk;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{stream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, GetResult, GetResultPayload, ObjectStore};
use std::io::{Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio_util::io::{ReaderStream, StreamReader, SyncIoBridge};

/// What the reading thread sends, in file order.
pub enum Chunk {
    /// Each header as written with the template column it was read as, and
    /// how the file was read.
    Header {
        mapping: Vec<(String, Option<Column>)>,
        detected: Detected,
    },
    /// Judged rows (before matching), and bytes of the file read so far.
    Rows { rows: Batch, bytes_read: u64 },
    /// The file cannot be imported; the reason is for the user.
    Invalid(String),
    /// Reading failed for a reason outside the file; try again later.
    Unreadable(String),
    /// Every row was sent. Without it, a closed channel means the reader
    /// died part-way, and the parse must not be taken as complete.
    End,
}

/// A batch's rows on their way from the reading thread to the job. When
/// the job drops it, the emptied vector goes back to the reading thread
/// for the next batch: a batch of 2,000 rows is most of a megabyte, beyond
/// glibc's mmap threshold, so a fresh vector per batch was mapped, faulted
/// in page by page and unmapped again each time (with the batch's event,
/// over a quarter of the validator's samples at 10^6 rows).
pub struct Batch {
    rows: Vec<Row>,
    back: std::sync::mpsc::SyncSender<Vec<Row>>,
}

impl std::ops::Deref for Batch {
    type Target = Vec<Row>;
    fn deref(&self) -> &Vec<Row> {
        &self.rows
    }
}

impl std::ops::DerefMut for Batch {
    fn deref_mut(&mut self) -> &mut Vec<Row> {
        &mut self.rows
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        // Full or closed: the reading thread has a spare or is gone, and
        // the vector is simply freed.
        let _ = self.back.try_send(rows);
    }
}

/// The reading thread's end of the vectors' round trip.
struct Spares {
    back: std::sync::mpsc::SyncSender<Vec<Row>>,
    returned: std::sync::mpsc::Receiver<Vec<Row>>,
    capacity: usize,
}

impl Spares {
    fn new(capacity: usize) -> Spares {
        // One spare is enough: the job hands a batch back before it takes
        // the next from the channel.
        let (back, returned) = std::sync::mpsc::sync_channel(1);
        Spares {
            back,
            returned,
            capacity,
        }
    }

    /// An empty vector for the next batch: a returned one if any.
    fn next(&self) -> Vec<Row> {
        self.returned
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(self.capacity))
    }

    fn send(&self, rows: Vec<Row>) -> Batch {
        Batch {
            rows,
            back: self.back.clone(),
        }
    }
}

/// Batches judged and waiting while the job matches one: reading and
/// judging a batch takes about a quarter of the time its match does, so
/// one keeps the job fed, and each more is another batch (about a
/// megabyte) held per worker at the validator's peak.
const QUEUED_BATCHES: usize = 1;

/// Starts reading `key`; chunks arrive on the returned channel.
pub async fn open(
    objects: Arc<dyn ObjectStore>,
    key: &str,
    batch_size: usize,
    options: ParseOptions,
) -> mpsc::Receiver<Chunk> {
    let (tx, rx) = mpsc::channel(QUEUED_BATCHES);
    let (first, body) = match fetch(&objects, key).await {
        Ok(fetched) => fetched,
        Err(unreadable) => {
            let _ = tx.send(unreadable).await;
            return rx;
        }
    };
    if crate::workbook::is_workbook(&first) {
        // Its own task: the caller drains the channel while it reads.
        tokio::spawn(crate::workbook::read(first, body, batch_size, options, tx));
        return rx;
    }
    let input = text_input(first, body);
    tokio::task::spawn_blocking(move || match open_text(input, &options) {
        Ok((reader, detected)) => {
            read_rows(reader, detected, batch_size, &options, &Frame::WHOLE, &tx)
        }
        Err(e) => {
            let _ = tx.blocking_send(failure(e));
        }
    });
    rx
}

/// Starts reading one chunk of a planned file: the file's header bytes,
/// then the chunk's byte range, read with the whole file's encoding and
/// delimiter; judged rows arrive on the returned channel, numbered with the
/// file's lines.
pub async fn open_chunk(
    objects: Arc<dyn ObjectStore>,
    key: &str,
    chunk: &ParseChunk,
    options: ParseOptions,
) -> mpsc::Receiver<Chunk> {
    let (tx, rx) = mpsc::channel(QUEUED_BATCHES);
    let path = Path::parse(key).unwrap_or_else(|_| Path::from(key));
    let pinned = TextEncoding::from_label(&chunk.encoding).and_then(|encoding| {
        let delimiter = u8::try_from(chunk.delimiter).ok()?;
        Some(Pinned {
            encoding,
            delimiter,
        })
    });
    let Some(pinned) = pinned else {
        let _ = tx
            .send(Chunk::Unreadable(
                "the chunk job names no known encoding".into(),
            ))
            .await;
        return rx;
    };
    let head = match objects.get_range(&path, 0..chunk.header_end).await {
        Ok(head) => head,
        Err(e) => {
            let _ = tx.send(unavailable(&e)).await;
            return rx;
        }
    };
    let range = GetOptions {
        range: Some(GetRange::Bounded(chunk.start..chunk.end)),
        ..GetOptions::default()
    };
    let body = match objects.get_opts(&path, range).await {
        Ok(found) => body_of(found),
        Err(e) => {
            let _ = tx.send(unavailable(&e)).await;
            return rx;
        }
    };
    let counted = Arc::new(AtomicU64::new(0));
    let input = Counted {
        inner: SyncIoBridge::new(StreamReader::new(stream::iter([Ok(head)]).chain(body))),
        counted: Arc::clone(&counted),
    };
    let frame = Frame {
        line_shift: chunk.line_shift,
        range: Some(RawRange {
            header_end: chunk.header_end,
            start: chunk.start,
            end: chunk.end,
            counted,
        }),
    };
    let batch_size = (chunk.batch_rows as usize).max(1);
    tokio::task::spawn_blocking(move || match open_text_as(input, &options, Some(pinned)) {
        Ok((reader, detected)) => read_rows(reader, detected, batch_size, &options, &frame, &tx),
        Err(e) => {
            let _ = tx.blocking_send(failure(e));
        }
    });
    rx
}

/// An object's body as a stream of bytes.
pub type Body = BoxStream<'static, std::io::Result<Bytes>>;

/// How much of a local file one read takes.
const LOCAL_READ: usize = 256 * 1024;

/// The body of what a get found. A file of a local store is read
/// `LOCAL_READ` bytes at a time: object_store streams it 8 KB per blocking
/// task, which was about half the time planning a 10^6-row file took.
fn body_of(found: GetResult) -> Body {
    let GetResult { payload, range, .. } = found;
    match payload {
        GetResultPayload::File(mut file, _) => match file.seek(SeekFrom::Start(range.start)) {
            Ok(_) => {
                let file = tokio::fs::File::from_std(file).take(range.end - range.start);
                ReaderStream::with_capacity(file, LOCAL_READ).boxed()
            }
            Err(e) => stream::once(async move { Err(e) }).boxed(),
        },
        GetResultPayload::Stream(body) => body.map_err(std::io::Error::other).boxed(),
    }
}

/// Opens `key`: its first bytes (enough to tell a workbook from text) and
/// the rest of its body.
pub async fn fetch(objects: &Arc<dyn ObjectStore>, key: &str) -> Result<(Bytes, Body), Chunk> {
    let path = Path::parse(key).unwrap_or_else(|_| Path::from(key));
    let found = objects.get(&path).await.map_err(|e| unavailable(&e))?;
    let mut body = body_of(found);
    match body.next().await {
        Some(Ok(first)) => Ok((first, body)),
        Some(Err(_)) => Err(Chunk::Unreadable("object store read failed".into())),
        None => Ok((Bytes::new(), body)),
    }
}

/// What [`fetch`] gave, as one blocking reader for a parsing thread.
pub fn text_input(first: Bytes, body: Body) -> impl std::io::Read + Send + 'static {
    SyncIoBridge::new(StreamReader::new(stream::iter([Ok(first)]).chain(body)))
}

/// A failed read of the object store, as a reason to try again. The
/// gateway stores the file before it commits the import, so a missing file
/// is a storage fault (a volume not mounted, a restore in progress), not a
/// fault of the file: retry, and once retries are spent the job is
/// dead-lettered for an operator to requeue after restoring the file.
fn unavailable(e: &object_store::Error) -> Chunk {
    match e {
        object_store::Error::NotFound { .. } => {
            Chunk::Unreadable("the uploaded file is not in storage".into())
        }
        _ => Chunk::Unreadable("object store unavailable".into()),
    }
}

/// Counts the raw bytes read, for a chunk's progress.
struct Counted<R> {
    inner: R,
    counted: Arc<AtomicU64>,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counted.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where the rows a reader yields sit in the file.
pub struct Frame {
    /// Added to each row's line number.
    pub line_shift: u32,
    /// Where progress is counted, when not by the reader itself.
    pub range: Option<RawRange>,
}

/// A chunk's byte range, and the raw bytes read so far of its header and
/// range, so progress is the file's absolute offset.
pub struct RawRange {
    pub header_end: u64,
    pub start: u64,
    pub end: u64,
    pub counted: Arc<AtomicU64>,
}

impl Frame {
    /// The whole file: lines and bytes as counted.
    pub const WHOLE: Frame = Frame {
        line_shift: 0,
        range: None,
    };

    /// The file's byte offset reached, given the reader's own count.
    fn progress(&self, read: u64) -> u64 {
        match &self.range {
            None => read,
            Some(r) => {
                let raw = r.counted.load(Ordering::Relaxed);
                (r.start + raw.saturating_sub(r.header_end)).min(r.end)
            }
        }
    }
}

/// Sends the header, then judged rows in batches, then [`Chunk::End`].
pub fn read_rows<S: RecordSource>(
    mut reader: ImportReader<S>,
    detected: Detected,
    batch_size: usize,
    options: &ParseOptions,
    frame: &Frame,
    tx: &mpsc::Sender<Chunk>,
) {
    let mapping = reader.header().used();
    if tx
        .blocking_send(Chunk::Header { mapping, detected })
        .is_err()
    {
        return;
    }
    let spares = Spares::new(batch_size);
    let mut rows = spares.next();
    loop {
        match reader.next_row() {
            Ok(Some(mut raw)) => {
                raw.line = raw.line.saturating_add(frame.line_shift);
                rows.push(Row::validate(raw, options));
                if rows.len() >= batch_size {
                    let full = std::mem::replace(&mut rows, spares.next());
                    let chunk = Chunk::Rows {
                        rows: spares.send(full),
                        bytes_read: frame.progress(reader.bytes_read()),
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
            rows: spares.send(rows),
            bytes_read: frame.progress(reader.bytes_read()),
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

#[cfg(test)]
mod tests {
    use super::Spares;

    #[test]
    fn a_dropped_batch_hands_its_emptied_vector_back_for_the_next_one() {
        let spares = Spares::new(8);
        let mut rows = spares.next();
        let first = rows.as_ptr();
        let mut reader = bf_domain::reader::ImportReader::csv(
            "patient_id,last_name,first_name,date_of_birth,patient_balance\np1,Doe,Jane,1980-01-02,1.00\n".as_bytes(),
        )
        .expect("a readable header");
        let raw = reader.next_row().expect("readable").expect("a row");
        rows.push(bf_domain::Row::validate(raw, &Default::default()));
        drop(spares.send(rows));
        let next = spares.next();
        assert!(next.is_empty());
        assert_eq!(next.as_ptr(), first, "the same allocation, reused");
        assert!(next.capacity() >= 8);
    }
}
