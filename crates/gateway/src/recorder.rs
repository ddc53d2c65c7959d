//! The recorder: consumes the validator's row events and records them.
//! Each event is applied in one transaction under the import's row lock,
//! and is idempotent: a redelivered batch is recognised by its sequence
//! number and its rows by their line, and events for an import that has
//! moved on are ignored.

use crate::store::block::{self, Block, BlockRow};
use crate::store::imports::{self, ImportRecord, Summary};
use crate::store::received::{self, ReceivedEvent};
use crate::store::{patient_keys, rows};
use bf_domain::import::ImportStatus;
use bf_domain::Problem;
use bf_messaging::consumer::Message;
use bf_messaging::topology::EVENTS;
use bf_messaging::{consume_fair, supervise, Broker, BrokerError, Disposition, Fairness};
use bf_proto::imports::{import_event::Event, ImportEvent};
use bytes::Bytes;
use prost::Message as _;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

/// Who the audit trail names for the validator's transitions.
const ACTOR: &str = "system:validator";

/// Events recorded at once. The batches of one big import are recorded
/// side by side (each under a share lock on the import), which keeps the
/// recorder up with several validators; one practice gets at most all but
/// one of them (bf_messaging::consume_fair), so another's small import is
/// not queued behind it.
const RECORDING_WORKERS: usize = 4;

/// Runs the recorder until shutdown, reconnecting as needed.
pub async fn run(pool: PgPool, amqp_url: String, shutdown: CancellationToken) {
    let stop = shutdown.clone();
    supervise(
        &amqp_url,
        "recorder",
        shutdown,
        move |broker: Arc<Broker>| {
            let pool = pool.clone();
            let stop = stop.clone();
            async move {
                let channel = broker.channel().await?;
                let fairness = Fairness {
                    workers: RECORDING_WORKERS,
                    window: RECORDING_WORKERS * 2,
                };
                consume_fair(&channel, EVENTS, fairness, &stop, tenant_of, |message| {
                    let pool = pool.clone();
                    async move { handle(&pool, message).await }
                })
                .await?;
                Ok::<(), BrokerError>(())
            }
        },
    )
    .await;
}

/// The leading field of an [`ImportEvent`]: decoding only it skips a
/// batch's rows instead of building them twice.
#[derive(Clone, PartialEq, prost::Message)]
struct EventTenant {
    #[prost(string, tag = "1")]
    tenant_id: String,
}

/// The practice an event is for: the key its fair share is counted by.
fn tenant_of(payload: &[u8]) -> String {
    EventTenant::decode(payload)
        .map(|event| event.tenant_id)
        .unwrap_or_default()
}

async fn handle(pool: &PgPool, mut message: Message) -> Disposition {
    let payload = Bytes::from(std::mem::take(&mut message.payload));
    let Some(incoming) = Incoming::decode(&payload) else {
        return Disposition::Reject("undecodable import event".into());
    };
    let Ok(import_id) = Uuid::parse_str(incoming.import_id()) else {
        return Disposition::Reject("import event without a valid import id".into());
    };
    let (seq, rows) = match incoming.batch_size() {
        Some((seq, rows)) => (i64::from(seq), rows as i64),
        None => (-1, 0),
    };
    let span = tracing::info_span!(
        "import.record",
        tenant = %incoming.tenant_id(),
        import_id = %import_id,
        event = incoming.kind(),
        batch_seq = seq,
        rows,
        redeliveries = message.redeliveries
    );
    bf_runtime::trace_context::continue_from(&span, &message.trace);
    let started = std::time::Instant::now();
    match apply(pool, &incoming, &payload, import_id)
        .instrument(span)
        .await
    {
        Ok(finished) => {
            crate::metrics::batch_seconds()
                .with_label_values(&["record"])
                .observe(started.elapsed().as_secs_f64());
            if let Some(s) = finished {
                let counted = crate::metrics::rows_recorded();
                counted.with_label_values(&["valid"]).inc_by(s.valid as u64);
                counted
                    .with_label_values(&["flagged"])
                    .inc_by(s.flagged as u64);
                counted
                    .with_label_values(&["invalid"])
                    .inc_by(s.invalid as u64);
                counted
                    .with_label_values(&["skipped"])
                    .inc_by(s.skipped as u64);
                if s.total >= STATISTICS_AFTER_ROWS {
                    // Off the message's path: the review pages want fresh
                    // statistics, the import's state does not.
                    let pool = pool.clone();
                    tokio::spawn(async move {
                        if let Err(e) = rows::refresh_statistics(&pool).await {
                            tracing::warn!(error = %e, "refreshing row statistics failed");
                        }
                    });
                }
            }
            Disposition::Done
        }
        Err(_) if message.last_attempt => {
            let reason = "the results of this file could not be recorded; upload it again";
            let _ = fail(pool, incoming.tenant_id(), import_id, reason).await;
            Disposition::Reject("recording failed on the last attempt".into())
        }
        Err(e) => Disposition::Retry(format!("database error: {}", crate::store::error_class(&e))),
    }
}

/// An import at least this big refreshes the planner's statistics of
/// its rows when it is ready for review (migrations 0010 and 0018).
const STATISTICS_AFTER_ROWS: i64 = 10_000;

/// An event as the recorder takes it: a batch read in place, with its
/// rows' texts borrowed from the message (`store::received`), or decoded
/// whole (any other event, and a batch in an encoding the walk leaves to
/// decoding).
enum Incoming<'a> {
    Received(ReceivedEvent<'a>),
    Decoded(ImportEvent),
}

impl<'a> Incoming<'a> {
    /// `None` for a message that does not decode, or a batch that cannot
    /// be stored as sent ([`received::well_formed`]).
    fn decode(payload: &'a [u8]) -> Option<Incoming<'a>> {
        if let Some(event) = received::batch_event(payload) {
            return received::well_formed(&event.batch.rows).then_some(Incoming::Received(event));
        }
        let event = ImportEvent::decode(payload).ok()?;
        match &event.event {
            Some(Event::Batch(batch)) if !received::well_formed(&batch.rows) => None,
            _ => Some(Incoming::Decoded(event)),
        }
    }

    fn tenant_id(&self) -> &str {
        match self {
            Incoming::Received(event) => event.tenant_id,
            Incoming::Decoded(event) => &event.tenant_id,
        }
    }

    fn import_id(&self) -> &str {
        match self {
            Incoming::Received(event) => event.import_id,
            Incoming::Decoded(event) => &event.import_id,
        }
    }

    /// A batch's sequence number and how many rows it holds.
    fn batch_size(&self) -> Option<(u32, usize)> {
        match self {
            Incoming::Received(ReceivedEvent { batch, .. }) => Some((batch.seq, batch.rows.len())),
            Incoming::Decoded(ImportEvent {
                event: Some(Event::Batch(batch)),
                ..
            }) => Some((batch.seq, batch.rows.len())),
            Incoming::Decoded(_) => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Incoming::Received(_) => "batch",
            Incoming::Decoded(event) => match &event.event {
                Some(Event::Started(_)) => "started",
                Some(Event::Batch(_)) => "batch",
                Some(Event::Completed(_)) => "completed",
                Some(Event::Failed(_)) => "failed",
                None => "empty",
            },
        }
    }
}

/// Applies one event; returns the review summary when this event finished
/// the import (counted in the metrics only once the transaction commits).
async fn apply(
    pool: &PgPool,
    incoming: &Incoming<'_>,
    payload: &[u8],
    import_id: Uuid,
) -> Result<Option<Summary>, sqlx::Error> {
    let tenant = incoming.tenant_id();
    let open = match incoming {
        Incoming::Received(ReceivedEvent { batch, .. }) => {
            let of = BatchOf::new(batch.seq, batch.bytes_read, payload);
            record_batch(pool, tenant, import_id, &of, &batch.rows).await?
        }
        Incoming::Decoded(ImportEvent {
            event: Some(Event::Batch(batch)),
            ..
        }) => {
            let of = BatchOf::new(batch.seq, batch.bytes_read, payload);
            record_batch(pool, tenant, import_id, &of, &batch.rows).await?
        }
        Incoming::Decoded(ImportEvent {
            event: Some(other), ..
        }) => return apply_exclusively(pool, tenant, import_id, other).await,
        Incoming::Decoded(_) => return Ok(None),
    };
    if open {
        finish_when_complete(pool, tenant, import_id).await
    } else {
        Ok(None)
    }
}

/// What a batch carries besides its rows.
struct BatchOf<'p> {
    seq: u32,
    bytes_read: u64,
    /// The event as it arrived, stored as the block's payload.
    payload: &'p [u8],
}

impl<'p> BatchOf<'p> {
    fn new(seq: u32, bytes_read: u64, payload: &'p [u8]) -> Self {
        BatchOf {
            seq,
            bytes_read,
            payload,
        }
    }
}

/// Records one batch of rows under a share lock on its import, so the
/// batches of one import are recorded side by side while a change of the
/// import's state waits for them (and they for it). The rows are stored
/// as one block whose payload is the event as it arrived (store::block).
/// A batch seen before is recognised by its sequence number and records
/// nothing. Returns whether the import still takes rows.
async fn record_batch<R: BlockRow + Sync>(
    pool: &PgPool,
    tenant: &str,
    import_id: Uuid,
    batch: &BatchOf<'_>,
    rows: &[R],
) -> Result<bool, sqlx::Error> {
    let payload = batch.payload;
    let block = Block::of(rows);
    let mut lines = Lines::New;
    loop {
        let mut tx = bf_runtime::db::tenant_tx(pool, tenant).await?;
        let Some(status) = imports::share_lock(&mut tx, tenant, import_id).await? else {
            tracing::warn!(%import_id, "event for an unknown import; dropped");
            return Ok(false);
        };
        if !status.accepts_rows() {
            // A late or repeated event: its effects are already recorded.
            return Ok(false);
        }
        if status == ImportStatus::Queued {
            // The first rows to arrive start the parse (normally the
            // Started event does); a state change needs the exclusive lock.
            tx.rollback().await?;
            begin_parsing(pool, tenant, import_id).await?;
            continue;
        }
        let (seq, count) = (batch.seq as i32, rows.len() as i32);
        if rows::mark_batch(&mut tx, import_id, seq, count, batch.bytes_read as i64).await? {
            let stored = match (&block, lines) {
                (None, _) => Ok(()),
                (Some(block), Lines::New) => {
                    rows::insert(&mut tx, tenant, import_id, block, payload).await
                }
                (Some(_), Lines::MaybeRecorded(_)) => {
                    // Rare (a parse redelivered with another batch size):
                    // the rows are decoded whole to be cut into blocks.
                    let rows =
                        block::rows_of(payload).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                    rows::insert_unrecorded(&mut tx, tenant, import_id, &rows)
                        .await
                        .map(|_| ())
                }
            };
            match stored {
                Err(e) if rows::is_recorded_line(&e) && lines.may_retry() => {
                    // Another batch carried some of these lines: again,
                    // leaving those alone (the transaction is aborted).
                    tx.rollback().await?;
                    tracing::info!(%import_id, batch_seq = seq, "batch repeats recorded lines");
                    lines = lines.again();
                    continue;
                }
                result => result?,
            };
        }
        tx.commit().await?;
        return Ok(true);
    }
}

/// How a batch's rows go in. The batch mark already proves a batch new,
/// so its rows normally go in as one block with a plain insert. Only when
/// another batch carried some of the same lines (a parse redelivered with
/// another batch size) does the insert meet a block that holds some, and
/// is then repeated leaving those lines alone; again if a batch recorded
/// at the same moment got there first, a few times at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lines {
    New,
    /// Some lines may be recorded; the attempts so far.
    MaybeRecorded(u8),
}

impl Lines {
    const ATTEMPTS: u8 = 5;

    fn may_retry(self) -> bool {
        match self {
            Lines::New => true,
            Lines::MaybeRecorded(n) => n < Self::ATTEMPTS,
        }
    }

    fn again(self) -> Lines {
        match self {
            Lines::New => Lines::MaybeRecorded(1),
            Lines::MaybeRecorded(n) => Lines::MaybeRecorded(n + 1),
        }
    }
}

/// After a batch commits: when it was the last one, finishes the import.
/// The check runs unlocked first, so only the batch that completes the
/// import waits for the exclusive lock; under it, the check is repeated.
async fn finish_when_complete(
    pool: &PgPool,
    tenant: &str,
    import_id: Uuid,
) -> Result<Option<Summary>, sqlx::Error> {
    let mut tx = bf_runtime::db::tenant_tx(pool, tenant).await?;
    if !rows::all_batches_recorded(&mut tx, import_id).await? {
        return Ok(None);
    }
    let Some(mut record) = imports::lock(&mut tx, tenant, import_id).await? else {
        return Ok(None);
    };
    if !record.status().accepts_rows() {
        // Another batch's handler finished it.
        return Ok(None);
    }
    let finished = finish_if_complete(&mut tx, &mut record).await?;
    tx.commit().await?;
    Ok(finished)
}

/// Applies an event that changes the import's state, under its exclusive
/// lock: no batch is being recorded meanwhile.
async fn apply_exclusively(
    pool: &PgPool,
    tenant: &str,
    import_id: Uuid,
    event: &Event,
) -> Result<Option<Summary>, sqlx::Error> {
    let mut tx = bf_runtime::db::tenant_tx(pool, tenant).await?;
    let Some(mut record) = imports::lock(&mut tx, tenant, import_id).await? else {
        tracing::warn!(%import_id, "event for an unknown import; dropped");
        return Ok(None);
    };
    if !record.status().accepts_rows() {
        // A late or repeated event: its effects are already recorded.
        return Ok(None);
    }
    let mut finished = None;
    match event {
        Event::Started(started) => {
            start(&mut tx, &mut record).await?;
            let mapping: Vec<serde_json::Value> = started
                .header_mapping
                .iter()
                .map(|h| serde_json::json!({"header": h.header, "column": h.column}))
                .collect();
            let read = imports::ReadAs {
                header_mapping: &serde_json::Value::Array(mapping),
                file_format: &started.format,
                encoding: &started.encoding,
                delimiter: &started.delimiter,
            };
            imports::set_read_as(&mut tx, import_id, &read).await?;
        }
        Event::Completed(done) => {
            start(&mut tx, &mut record).await?;
            imports::set_expected_batches(&mut tx, import_id, done.batches as i32).await?;
            // Batches hold a share lock until they commit, so every batch
            // recorded so far is visible here; any later one checks after
            // its own commit (finish_when_complete).
            finished = finish_if_complete(&mut tx, &mut record).await?;
        }
        Event::Failed(failed) => {
            // Nothing half-written: the rows of a failed file are dropped.
            rows::discard(&mut tx, import_id).await?;
            imports::transition(
                &mut tx,
                &record,
                ImportStatus::Failed,
                ACTOR,
                Some(&failed.reason),
            )
            .await?;
            tracing::info!(%import_id, "import failed");
        }
        // Recorded under the share lock instead (record_batch).
        Event::Batch(_) => {}
    }
    tx.commit().await?;
    Ok(finished)
}

/// Moves a queued import to parsing under its exclusive lock, for rows
/// that arrive before the Started event.
async fn begin_parsing(pool: &PgPool, tenant: &str, import_id: Uuid) -> Result<(), sqlx::Error> {
    let mut tx = bf_runtime::db::tenant_tx(pool, tenant).await?;
    if let Some(mut record) = imports::lock(&mut tx, tenant, import_id).await? {
        start(&mut tx, &mut record).await?;
    }
    tx.commit().await
}

async fn start(conn: &mut PgConnection, record: &mut ImportRecord) -> Result<(), sqlx::Error> {
    if record.status() == ImportStatus::Queued {
        imports::transition(conn, record, ImportStatus::Parsing, ACTOR, None).await?;
        record.status = ImportStatus::Parsing.as_str().to_string();
    }
    Ok(())
}

/// Once every batch is in: flag duplicate patients, total the review and
/// hand the import to the user.
async fn finish_if_complete(
    conn: &mut PgConnection,
    record: &mut ImportRecord,
) -> Result<Option<Summary>, sqlx::Error> {
    let id = record.import_id;
    if !rows::all_batches_recorded(conn, id).await? {
        return Ok(None);
    }
    // Serial by nature (it needs every line), so the bench shows it apart.
    let started = std::time::Instant::now();
    let (patients, duplicates) = patient_keys::patients(conn, id).await?;
    let problems: Vec<(Vec<i32>, Problem)> = duplicates
        .into_iter()
        .map(|lines| {
            let as_u32: Vec<u32> = lines.iter().map(|l| *l as u32).collect();
            (lines, Problem::duplicate_patient(&as_u32))
        })
        .collect();
    let flagged: Vec<(i32, &Problem)> = problems
        .iter()
        .flat_map(|(lines, problem)| lines.iter().map(move |line| (*line, problem)))
        .collect();
    if !flagged.is_empty() {
        rows::flag(conn, &record.tenant_id, id, &flagged).await?;
    }
    let (summary, file_totals) = rows::summary(conn, id, patients).await?;
    rows::set_file_totals(conn, id, &file_totals).await?;
    imports::set_summary(conn, id, &summary).await?;
    imports::transition(conn, record, ImportStatus::ReadyForReview, ACTOR, None).await?;
    record.status = ImportStatus::ReadyForReview.as_str().to_string();
    crate::metrics::batch_seconds()
        .with_label_values(&["finish"])
        .observe(started.elapsed().as_secs_f64());
    tracing::info!(
        import_id = %id, total = summary.total, valid = summary.valid, flagged = summary.flagged,
        invalid = summary.invalid, skipped = summary.skipped, "import ready for review"
    );
    Ok(Some(summary))
}

/// Marks an import failed (used when its messages cannot be processed).
pub async fn fail(
    pool: &PgPool,
    tenant: &str,
    import_id: Uuid,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = bf_runtime::db::tenant_tx(pool, tenant).await?;
    if let Some(record) = imports::lock(&mut tx, tenant, import_id).await? {
        if record.status() != ImportStatus::Failed && !record.status().is_settled() {
            imports::transition(&mut tx, &record, ImportStatus::Failed, ACTOR, Some(reason))
                .await?;
        }
    }
    tx.commit().await
}
