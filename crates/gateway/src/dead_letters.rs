//! Dead letters: what the broker gave up on after its delivery limit (a
//! handler that keeps failing, a process that crashes on a message) or
//! what a handler rejected. The watcher parks each one in the database and
//! marks its import failed with a plain reason in one transaction, so no
//! import hangs; an operator's requeue puts the parked messages back on
//! their work queues through the outbox and restores each import to the
//! state it failed from, also in one transaction.

use crate::store::dead_letters::{self, NewDeadLetter};
use crate::store::{imports, outbox};
use bf_domain::import::{requeue_decision, ImportStatus, RequeueDecision};
use bf_messaging::consumer::Message;
use bf_messaging::topology::{Queue, APPROVE, EVENTS, PARSE, QUEUES};
use bf_messaging::{consume, supervise, Broker, BrokerError, Disposition};
use bf_proto::imports::{ApproveJob, ImportEvent, ParseJob};
use prost::Message as _;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Who the audit trail names when the watcher fails an import.
const ACTOR: &str = "system:dead-letters";

/// Runs one watcher per dead-letter queue until shutdown.
pub async fn run(pool: PgPool, amqp_url: String, shutdown: CancellationToken) {
    let watchers = QUEUES.map(|queue| {
        let pool = pool.clone();
        let url = amqp_url.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move { watch(pool, url, queue, stop).await })
    });
    for watcher in watchers {
        let _ = watcher.await;
    }
}

async fn watch(pool: PgPool, amqp_url: String, queue: Queue, shutdown: CancellationToken) {
    let stop = shutdown.clone();
    supervise(
        &amqp_url,
        "dead-letter watcher",
        shutdown,
        move |broker: Arc<Broker>| {
            let pool = pool.clone();
            let stop = stop.clone();
            async move {
                let channel = broker.channel().await?;
                consume(&channel, queue.dead_letters(), 16, &stop, |message| {
                    handle(&pool, queue, message)
                })
                .await?;
                Ok::<(), BrokerError>(())
            }
        },
    )
    .await;
}

async fn handle(pool: &PgPool, queue: Queue, message: Message) -> Disposition {
    let owner = owner(queue, &message.payload);
    let death = message.death.as_ref();
    let reason = death.map(|d| d.reason.as_str()).unwrap_or("unknown");
    let new = NewDeadLetter {
        queue: queue.name,
        message_id: &message.message_id,
        kind: &message.kind,
        payload: &message.payload,
        tenant_id: owner.as_ref().map(|(t, _)| t.as_str()),
        import_id: owner.as_ref().map(|(_, i)| *i),
        death_reason: reason,
    };
    match park(pool, queue, &new).await {
        Ok(()) => {
            tracing::warn!(
                queue = queue.name,
                import_id = ?new.import_id,
                death = reason,
                "dead letter parked; the import is failed until an operator requeues it"
            );
            Disposition::Done
        }
        // The dead-letter queue has no delivery limit: keep trying.
        Err(e) => Disposition::Retry(format!(
            "parking a dead letter: {}",
            crate::store::error_class(&e)
        )),
    }
}

/// The tenant and import a work message is about.
fn owner(queue: Queue, payload: &[u8]) -> Option<(String, Uuid)> {
    let (tenant, import) = match queue {
        q if q == PARSE => ParseJob::decode(payload)
            .ok()
            .map(|j| (j.tenant_id, j.import_id))?,
        q if q == EVENTS => ImportEvent::decode(payload)
            .ok()
            .map(|e| (e.tenant_id, e.import_id))?,
        q if q == APPROVE => ApproveJob::decode(payload)
            .ok()
            .map(|j| (j.tenant_id, j.import_id))?,
        _ => return None,
    };
    Some((tenant, Uuid::parse_str(&import).ok()?))
}

/// The reason an import's users read when its work was dead-lettered.
fn failure_reason(queue: Queue) -> String {
    let step = match queue {
        q if q == PARSE => "reading the file",
        q if q == EVENTS => "recording the file's rows",
        _ => "creating the claims",
    };
    format!(
        "Processing stopped while {step}: it failed several times in a row. \
         Support has been alerted and can resume it; nothing was lost or doubled."
    )
}

/// Parks the dead letter and fails its import, in one transaction.
async fn park(pool: &PgPool, queue: Queue, new: &NewDeadLetter<'_>) -> Result<(), sqlx::Error> {
    // Dead letters are the operators' concern and span tenants.
    let mut tx = bf_runtime::db::system_tx(pool).await?;
    let parked = dead_letters::park(&mut tx, new).await?;
    if let (true, Some(tenant), Some(import)) = (parked, new.tenant_id, new.import_id) {
        fail(&mut tx, tenant, import, &failure_reason(queue)).await?;
    }
    tx.commit().await
}

/// Fails an import whose work was running; one that a handler already
/// failed (with its own reason) or that a person moved on is left alone.
async fn fail(
    conn: &mut PgConnection,
    tenant: &str,
    import: Uuid,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let Some(record) = imports::lock(conn, tenant, import).await? else {
        return Ok(());
    };
    if matches!(
        record.status(),
        ImportStatus::Queued | ImportStatus::Parsing | ImportStatus::Approving
    ) {
        imports::transition(conn, &record, ImportStatus::Failed, ACTOR, Some(reason)).await?;
        tracing::info!(%import, "import failed: its work was dead-lettered");
    }
    Ok(())
}

/// What a requeue did.
pub struct Requeued {
    pub messages: usize,
    pub imports: Vec<Uuid>,
}

/// Puts parked dead letters (one import's, or all) back on their work
/// queues, restoring each failed import to the state it failed from, in
/// one transaction; the outbox relay publishes them. A dead-lettered row
/// event is not put back alone: events of the same import that came while
/// it was failed were dropped, so its parse runs again instead, and the
/// recorder keeps the batches it already has.
pub async fn requeue(
    conn: &mut PgConnection,
    import: Option<Uuid>,
    operator: &str,
) -> Result<Requeued, sqlx::Error> {
    let parked = dead_letters::take(conn, import).await?;
    let mut restored: Vec<Uuid> = Vec::new();
    let mut reparsed: Vec<Uuid> = Vec::new();
    for letter in &parked {
        if let (Some(tenant), Some(id)) = (&letter.tenant_id, letter.import_id) {
            if !restored.contains(&id) {
                restore(conn, tenant, id, operator).await?;
                restored.push(id);
            }
            if letter.queue == EVENTS.name {
                if !reparsed.contains(&id) {
                    reparse(conn, tenant, id).await?;
                    reparsed.push(id);
                }
                continue;
            }
        }
        let Some(queue) = Queue::named(&letter.queue) else {
            continue;
        };
        outbox::add(
            conn,
            queue,
            &letter.kind,
            &letter.message_id,
            &letter.payload,
        )
        .await?;
    }
    let ids: Vec<i64> = parked.iter().map(|l| l.id).collect();
    dead_letters::mark_requeued(conn, &ids, operator).await?;
    Ok(Requeued {
        messages: parked.len(),
        imports: restored,
    })
}

/// Queues the import's parse job again.
async fn reparse(conn: &mut PgConnection, tenant: &str, id: Uuid) -> Result<(), sqlx::Error> {
    let Some(source) = imports::parse_source(conn, id).await? else {
        return Ok(());
    };
    let job = ParseJob {
        tenant_id: tenant.to_string(),
        import_id: id.to_string(),
        object_key: source.object_key,
        size_bytes: u64::try_from(source.size_bytes).unwrap_or(0),
        options_json: source.options.to_string(),
        // From the start: batches already recorded are recognised and
        // skipped by the recorder.
        resume_from_batch: 0,
        chunk: None,
    };
    let message_id = format!("{id}:parse:{}", Uuid::now_v7());
    outbox::add(conn, PARSE, "ParseJob", &message_id, &job.encode_to_vec()).await
}

/// Restores one import to the state it failed from, recorded as the
/// operator's transition.
async fn restore(
    conn: &mut PgConnection,
    tenant: &str,
    id: Uuid,
    operator: &str,
) -> Result<(), sqlx::Error> {
    let Some(record) = imports::lock(conn, tenant, id).await? else {
        return Ok(());
    };
    let failed_from = imports::failed_from(conn, id).await?;
    if let RequeueDecision::Restore(to) = requeue_decision(record.status(), failed_from) {
        imports::clear_failure(conn, id).await?;
        let reason = "requeued by an operator after its work was dead-lettered";
        imports::transition(conn, &record, to, operator, Some(reason)).await?;
        tracing::info!(import_id = %id, to = to.as_str(), "import restored for requeue");
    }
    Ok(())
}
