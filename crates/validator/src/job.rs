//! One parse job: read the file, judge and match every row, publish the
//! results in batches, then say the parse is complete. Re-running a job
//! republishes the same batches with the same sequence numbers, which the
//! recorder recognises, so a redelivered job never doubles a row.

use crate::events::{row_result, Events};
use crate::matcher::match_rows;
use crate::source::{self, Chunk};
use bf_messaging::consumer::Message;
use bf_messaging::{BrokerError, Disposition, Publisher};
use bf_proto::imports::{
    import_event::Event, HeaderColumn, ParseCompleted, ParseFailed, ParseJob, ParseStarted,
    RowBatch,
};
use bf_proto::ClaimsClient;
use object_store::ObjectStore;
use prost::Message as _;
use std::sync::Arc;
use tracing::Instrument;

/// What a parse needs.
#[derive(Clone)]
pub struct Parser {
    pub objects: Arc<dyn ObjectStore>,
    pub claims: ClaimsClient,
    pub batch_size: usize,
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
            Ok(rows) => {
                tracing::info!(tenant = %job.tenant_id, import_id = %job.import_id, rows, "parse complete");
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

    async fn parse(&self, job: &ParseJob, events: &Events<'_>) -> Result<u32, JobError> {
        let options = if job.options_json.is_empty() {
            bf_domain::options::ParseOptions::default()
        } else {
            serde_json::from_str(&job.options_json).map_err(|_| JobError::BadOptions)?
        };
        let mut chunks = source::open(
            Arc::clone(&self.objects),
            &job.object_key,
            self.batch_size,
            options,
        )
        .await;
        let mut seq: u32 = 0;
        let mut rows: u32 = 0;
        let mut ended = false;
        while let Some(chunk) = chunks.recv().await {
            match chunk {
                Chunk::Header { mapping, detected } => {
                    let started = ParseStarted {
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
                    };
                    events.send(Event::Started(started), "started").await?;
                }
                Chunk::Rows {
                    rows: mut batch,
                    bytes_read,
                } => {
                    let started = std::time::Instant::now();
                    let batch_span = tracing::info_span!(
                        "import.batch",
                        batch_seq = seq,
                        rows = batch.len(),
                        bytes_read
                    );
                    async {
                        match_rows(&self.claims, &job.tenant_id, &job.import_id, &mut batch)
                            .await
                            .map_err(|s| JobError::Matching(s.code()))?;
                        let event = Event::Batch(RowBatch {
                            seq,
                            bytes_read,
                            rows: batch.iter().map(row_result).collect(),
                        });
                        let publishing = std::time::Instant::now();
                        events.send(event, &format!("batch:{seq}")).await?;
                        crate::metrics::publish_time(publishing.elapsed());
                        Ok::<(), JobError>(())
                    }
                    .instrument(batch_span)
                    .await?;
                    crate::metrics::count_batch(&batch, started.elapsed());
                    rows += batch.len() as u32;
                    tracing::debug!(import_id = %job.import_id, seq, rows = batch.len(), "batch published");
                    seq += 1;
                }
                Chunk::Invalid(reason) => {
                    tracing::info!(import_id = %job.import_id, "file refused");
                    events
                        .send(Event::Failed(ParseFailed { reason }), "failed")
                        .await?;
                    return Ok(rows);
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
        tracing::Span::current().record("rows", rows);
        tracing::Span::current().record("batches", seq);
        let completed = ParseCompleted { batches: seq, rows };
        events
            .send(Event::Completed(completed), "completed")
            .await?;
        Ok(rows)
    }
}
