//! One parse job: read the file (or, for a big text file, plan it into
//! chunk jobs, see [`crate::plan`], or read one such chunk), judge and
//! match every row, publish the results in batches, then say the parse is
//! complete. Re-running a job republishes the same batches with the same
//! sequence numbers, which the recorder recognises, so a redelivered job
//! never doubles a row.

use crate::events::Events;
use crate::matcher::match_rows;
use crate::plan::Planning;
use crate::source::{self, Chunk};
use bf_domain::open::Detected;
use bf_domain::split::Cutting;
use bf_domain::Column;
use bf_messaging::consumer::Message;
use bf_messaging::topology::PARSE;
use bf_messaging::{BrokerError, Disposition, Pending, Publisher};
use bf_proto::imports::{
    import_event::Event, HeaderColumn, ImportEvent, ParseChunk, ParseCompleted, ParseFailed,
    ParseJob, ParseStarted,
};
use bf_proto::ClaimsClient;
use object_store::ObjectStore;
use prost::Message as _;
use std::sync::Arc;
use tracing::Instrument;

/// Batches a delivery sends before it hands the job back with a resume
/// point (at least; see [`checkpoint_due`]). Kills and connection losses
/// count against the queue's delivery limit just like failures, so without
/// checkpoints a long file whose validator restarts a few times (deploys,
/// crashes, broker blips) was dead-lettered and its import stayed
/// `parsing` for ever. With them, a delivery that gets this far resets the
/// count, and only a job that dies again and again before making this much
/// progress is dead-lettered. Only a file read whole checkpoints (one of
/// at most one chunk's rows, a workbook, UTF-16 text): a chunk of a split
/// file is bounded, and a redelivered chunk simply reads it again.
const CHECKPOINT_FIRST: u32 = 10;

/// Whether the delivery that resumed at `resume` and has sent up to `seq`
/// should hand the job back. A resumed job reads the file again from the
/// start (it streams; it cannot seek a transcoded file), so the windows
/// double: the file is read at most about three times in all, however
/// long, rather than once per checkpoint.
fn checkpoint_due(resume: u32, seq: u32) -> bool {
    seq - resume >= CHECKPOINT_FIRST.max(resume)
}

/// What a parse needs.
#[derive(Clone)]
pub struct Parser {
    pub objects: Arc<dyn ObjectStore>,
    pub claims: ClaimsClient,
    pub batch_size: usize,
    /// How a big file is cut into chunk jobs; a file of one chunk's rows
    /// or fewer is read whole in one delivery.
    pub cutting: Cutting,
}

/// Why a job must be tried again. A bad file is not an error: it is a
/// result (the import fails with the reason).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Broker(#[from] BrokerError),
    #[error("patient matching unavailable: {0:?}")]
    Matching(tonic::Code),
    #[error("file unreadable: {0}")]
    Unreadable(String),
    #[error("the job's parse options are not valid JSON")]
    BadOptions,
}

/// The tenant a parse job is for: the key its fair share is counted by.
/// An undecodable job gets an empty key; its handler rejects it.
pub fn tenant_of(payload: &[u8]) -> String {
    ParseJob::decode(payload)
        .map(|job| job.tenant_id)
        .unwrap_or_default()
}

impl Parser {
    /// Handles one delivery of a parse job.
    pub async fn handle(&self, publisher: &Publisher, message: Message) -> Disposition {
        let Ok(job) = ParseJob::decode(message.payload.as_slice()) else {
            return Disposition::Reject("undecodable parse job".into());
        };
        let events = Events {
            publisher,
            tenant_id: &job.tenant_id,
            import_id: &job.import_id,
        };
        let span = tracing::info_span!(
            "import.parse",
            tenant = %job.tenant_id,
            import_id = %job.import_id,
            size_bytes = job.size_bytes,
            redeliveries = message.redeliveries,
            rows = tracing::field::Empty,
            batches = tracing::field::Empty
        );
        bf_runtime::trace_context::continue_from(&span, &message.trace);
        match self.parse(&job, &events).instrument(span).await {
            Ok(Parsed::Complete(rows)) => {
                tracing::info!(tenant = %job.tenant_id, import_id = %job.import_id, rows, "parse complete");
                Disposition::Done
            }
            Ok(Parsed::Split(chunks)) => {
                tracing::info!(tenant = %job.tenant_id, import_id = %job.import_id, chunks, "parse planned; chunk jobs queued");
                Disposition::Done
            }
            Ok(Parsed::Chunk(rows)) => {
                tracing::info!(tenant = %job.tenant_id, import_id = %job.import_id, rows, "chunk parsed");
                Disposition::Done
            }
            Ok(Parsed::Checkpointed(batch)) => {
                tracing::info!(tenant = %job.tenant_id, import_id = %job.import_id, resume_from_batch = batch, "parse checkpointed; a fresh job resumes");
                Disposition::Done
            }
            Err(e) if message.last_attempt => {
                let reason = format!("The file could not be processed after several attempts ({e}). Upload it again.");
                let _ = events
                    .send(Event::Failed(ParseFailed { reason }), "failed")
                    .await;
                Disposition::Reject(e.to_string())
            }
            Err(e) => Disposition::Retry(e.to_string()),
        }
    }

    async fn parse(&self, job: &ParseJob, events: &Events<'_>) -> Result<Parsed, JobError> {
        let options: bf_domain::options::ParseOptions = if job.options_json.is_empty() {
            bf_domain::options::ParseOptions::default()
        } else {
            serde_json::from_str(&job.options_json).map_err(|_| JobError::BadOptions)?
        };
        if let Some(chunk) = &job.chunk {
            let started = std::time::Instant::now();
            let chunks =
                source::open_chunk(Arc::clone(&self.objects), &job.object_key, chunk, options)
                    .await;
            let read = self
                .send_rows(job, events, chunks, Reading::Chunk(chunk))
                .await?;
            crate::metrics::count_piece("chunk", started.elapsed());
            return Ok(read);
        }
        if job.resume_from_batch == 0 {
            let started = std::time::Instant::now();
            let planning = crate::plan::plan(
                Arc::clone(&self.objects),
                &job.object_key,
                options.clone(),
                self.cutting,
            )
            .await;
            match planning {
                Planning::Split(plan) if plan.pieces.len() > 1 => {
                    let batch_rows = u32::try_from(self.batch_size).unwrap_or(u32::MAX);
                    crate::plan::publish(events, job, &plan, batch_rows).await?;
                    crate::metrics::count_piece("plan", started.elapsed());
                    return Ok(Parsed::Split(plan.pieces.len()));
                }
                Planning::Refused(reason) => {
                    tracing::info!(import_id = %job.import_id, "file refused");
                    events
                        .send(Event::Failed(ParseFailed { reason }), "failed")
                        .await?;
                    return Ok(Parsed::Complete(0));
                }
                Planning::Unreadable(reason) => return Err(JobError::Unreadable(reason)),
                // One piece, a workbook or UTF-16 text: read whole, here.
                Planning::Split(_) | Planning::Whole => {}
            }
        }
        let started = std::time::Instant::now();
        let chunks = source::open(
            Arc::clone(&self.objects),
            &job.object_key,
            self.batch_size,
            options,
        )
        .await;
        let read = self.send_rows(job, events, chunks, Reading::Whole).await?;
        crate::metrics::count_piece("whole", started.elapsed());
        Ok(read)
    }

    /// Matches and publishes the rows a reader sends. A whole file also
    /// announces its start and completion, and checkpoints; a chunk's
    /// batches are numbered from its first batch, and it must give exactly
    /// the rows its plan counted.
    async fn send_rows(
        &self,
        job: &ParseJob,
        events: &Events<'_>,
        mut chunks: tokio::sync::mpsc::Receiver<Chunk>,
        reading: Reading<'_>,
    ) -> Result<Parsed, JobError> {
        let (mut seq, resume) = match reading {
            Reading::Whole => (0, job.resume_from_batch),
            Reading::Chunk(c) => (c.first_batch, 0),
        };
        let mut rows: u32 = 0;
        // The header's columns in file order, which tell whether a row's
        // fields follow from its cells (crate::wire).
        let mut columns: Vec<Option<bf_domain::Column>> = Vec::new();
        let mut writer = crate::wire::BatchWriter::default();
        let ids = ImportEvent {
            tenant_id: job.tenant_id.clone(),
            import_id: job.import_id.clone(),
            event: None,
        };
        // The last batch sent, whose confirm is awaited before the next is
        // sent and before anything that relies on every batch being in.
        let mut unconfirmed: Option<Pending> = None;
        let mut ended = false;
        while let Some(chunk) = chunks.recv().await {
            match chunk {
                Chunk::Header { mapping, detected } => {
                    columns = mapping.iter().map(|(_, column)| *column).collect();
                    if let Reading::Whole = reading {
                        let started = started(mapping, &detected);
                        events.send(Event::Started(started), "started").await?;
                    }
                }
                Chunk::Rows {
                    rows: mut batch,
                    bytes_read,
                } => {
                    if seq < resume {
                        // Sent by the delivery that checkpointed: the file
                        // streams, so it is read again, but not re-sent.
                        rows += batch.len() as u32;
                        seq += 1;
                        continue;
                    }
                    let started = std::time::Instant::now();
                    let batch_span = tracing::info_span!(
                        "import.batch",
                        batch_seq = seq,
                        rows = batch.len(),
                        bytes_read
                    );
                    let count = batch.len();
                    let mut statuses = Default::default();
                    async {
                        match_rows(
                            &self.claims,
                            &mut writer,
                            &job.tenant_id,
                            &job.import_id,
                            &mut batch,
                        )
                        .await
                        .map_err(|s| JobError::Matching(s.code()))?;
                        statuses = crate::metrics::by_status(&batch);
                        let event = writer.batch_event(&ids, seq, bytes_read, &batch, &columns);
                        drop(batch);
                        let publishing = std::time::Instant::now();
                        confirm(unconfirmed.take()).await?;
                        let id = format!("batch:{seq}");
                        unconfirmed = Some(events.begin_encoded(event, &id).await?);
                        crate::metrics::publish_time(publishing.elapsed());
                        Ok::<(), JobError>(())
                    }
                    .instrument(batch_span)
                    .await?;
                    crate::metrics::count_rows(statuses);
                    crate::metrics::batch_time(started.elapsed());
                    rows += count as u32;
                    tracing::debug!(import_id = %job.import_id, seq, rows = count, "batch published");
                    seq += 1;
                    if matches!(reading, Reading::Whole) && checkpoint_due(resume, seq) {
                        confirm(unconfirmed.take()).await?;
                        resume_later(events, job, seq).await?;
                        return Ok(Parsed::Checkpointed(seq));
                    }
                }
                Chunk::Invalid(reason) if matches!(reading, Reading::Whole) => {
                    tracing::info!(import_id = %job.import_id, "file refused");
                    events
                        .send(Event::Failed(ParseFailed { reason }), "failed")
                        .await?;
                    return Ok(Parsed::Complete(rows));
                }
                Chunk::Invalid(_) => {
                    // The plan read this whole file without fault: the file
                    // changed since, or a chunk was misread. Never record a
                    // part of it as if it were right.
                    return Err(JobError::Unreadable(
                        "a chunk could not be read as planned".into(),
                    ));
                }
                Chunk::Unreadable(reason) => return Err(JobError::Unreadable(reason)),
                Chunk::End => {
                    ended = true;
                    break;
                }
            }
        }
        if !ended {
            // The reading thread stopped without finishing (it panicked):
            // never report a partial file as complete.
            return Err(JobError::Unreadable("the reader stopped part-way".into()));
        }
        confirm(unconfirmed.take()).await?;
        tracing::Span::current().record("rows", rows);
        tracing::Span::current().record("batches", seq);
        match reading {
            Reading::Chunk(c) if rows != c.rows => Err(JobError::Unreadable(format!(
                "a chunk gave {rows} rows where the plan counted {}",
                c.rows
            ))),
            Reading::Chunk(_) => Ok(Parsed::Chunk(rows)),
            Reading::Whole => {
                let completed = ParseCompleted { batches: seq, rows };
                events
                    .send(Event::Completed(completed), "completed")
                    .await?;
                Ok(Parsed::Complete(rows))
            }
        }
    }
}

/// Waits for the confirm of a batch sent with [`Events::begin`], if any.
async fn confirm(pending: Option<Pending>) -> Result<(), BrokerError> {
    match pending {
        Some(p) => p.confirmed().await,
        None => Ok(()),
    }
}

/// What a delivery reads.
#[derive(Clone, Copy)]
enum Reading<'a> {
    /// The whole file (a small one, a workbook, UTF-16 text).
    Whole,
    /// One chunk of a planned file.
    Chunk(&'a ParseChunk),
}

/// The `Started` event: how the file was read.
pub fn started(mapping: Vec<(String, Option<Column>)>, detected: &Detected) -> ParseStarted {
    ParseStarted {
        header_mapping: mapping
            .into_iter()
            .map(|(header, column)| HeaderColumn {
                header,
                column: column.map(|c| c.name().to_string()).unwrap_or_default(),
            })
            .collect(),
        encoding: detected.encoding.unwrap_or_default().to_string(),
        delimiter: detected.delimiter.map(String::from).unwrap_or_default(),
        format: detected.format.to_string(),
    }
}

/// How a delivery of a parse job ended.
enum Parsed {
    /// Every row sent, and the completion: the number of rows.
    Complete(u32),
    /// A fresh job was queued to resume at this batch.
    Checkpointed(u32),
    /// The file was planned and this many chunk jobs queued.
    Split(usize),
    /// A chunk's rows were all sent: how many.
    Chunk(u32),
}

/// Queues the same job, resuming at batch `seq`, with confirms.
async fn resume_later(events: &Events<'_>, job: &ParseJob, seq: u32) -> Result<(), BrokerError> {
    let next = ParseJob {
        resume_from_batch: seq,
        ..job.clone()
    };
    let id = format!("{}:parse:from:{seq}", job.import_id);
    let trace = bf_runtime::trace_context::current();
    events
        .publisher
        .publish(PARSE, "ParseJob", &id, &next.encode_to_vec(), &trace)
        .await
}

#[cfg(test)]
mod tests {
    use super::checkpoint_due;

    /// Where each delivery of an uninterrupted parse of `batches` hands
    /// the job back.
    fn resume_points(batches: u32) -> Vec<u32> {
        let mut points = Vec::new();
        let mut resume = 0;
        for seq in 1..=batches {
            if checkpoint_due(resume, seq) {
                points.push(seq);
                resume = seq;
            }
        }
        points
    }

    #[test]
    fn a_long_parse_checkpoints_in_growing_windows_so_the_file_is_read_about_three_times() {
        assert_eq!(resume_points(9), Vec::<u32>::new());
        assert_eq!(resume_points(90), vec![10, 20, 40, 80]);
        let batches = 20_000;
        let points = resume_points(batches);
        assert!(points.len() < 25, "{} checkpoints", points.len());
        // Each resumed delivery reads the file from the start to its end.
        let reread: u64 = points.iter().map(|p| u64::from(*p)).sum();
        assert!(
            reread <= 2 * u64::from(batches),
            "{reread} batches read again"
        );
    }
}
