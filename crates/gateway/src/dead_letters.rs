//! The dead-letter watcher. A job or event that used up its deliveries is
//! dead-lettered by the broker. Its handler marks the import failed on the
//! last attempt, but a handler killed on that attempt (SIGKILL, OOM, a
//! lost connection) never gets the chance, and the import then stayed
//! `parsing` or `approving` for ever with nothing to tell the user. The
//! watcher closes that gap: for each dead letter whose import is still in
//! the state the message was for, it marks the import failed with a
//! reason, then acknowledges the letter (its ids are logged; the import's
//! failure and audit trail are the record).

use crate::store::imports;
use bf_domain::import::ImportStatus;
use bf_messaging::consumer::Message;
use bf_messaging::topology::Queue;
use bf_messaging::{consume, supervise, Broker, BrokerError, Disposition};
use bf_proto::imports::{ApproveJob, ImportEvent, ParseJob};
use prost::Message as _;
use sqlx::PgPool;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Who the audit trail names for these transitions.
const ACTOR: &str = "system:dead-letters";

/// What a dead letter was for: the import, and the reason it failed.
struct Letter {
    tenant: String,
    import_id: Uuid,
    /// The work that ran out of attempts: parsing or approving.
    approving: bool,
}

/// Watches one dead-letter queue until shutdown, reconnecting as needed.
pub async fn run(pool: PgPool, amqp_url: String, queue: Queue, shutdown: CancellationToken) {
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
                consume(&channel, queue, 1, &stop, |message| {
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
    let Some(letter) = read(queue, &message.payload) else {
        tracing::error!(queue = queue.name, "undecodable dead letter dropped");
        return Disposition::Done;
    };
    match fail(pool, &letter).await {
        Ok(failed) => {
            tracing::error!(
                queue = queue.name, tenant = %letter.tenant, import_id = %letter.import_id,
                import_failed = failed, "dead letter: the work ran out of attempts"
            );
            Disposition::Done
        }
        Err(_) => Disposition::Retry("database error".into()),
    }
}

fn read(queue: Queue, payload: &[u8]) -> Option<Letter> {
    let (tenant, import_id, approving) = match queue.routing_key {
        "imports.parse" => ParseJob::decode(payload)
            .ok()
            .map(|j| (j.tenant_id, j.import_id, false))?,
        "imports.events" => ImportEvent::decode(payload)
            .ok()
            .map(|e| (e.tenant_id, e.import_id, false))?,
        _ => ApproveJob::decode(payload)
            .ok()
            .map(|j| (j.tenant_id, j.import_id, true))?,
    };
    Some(Letter {
        tenant,
        import_id: Uuid::parse_str(&import_id).ok()?,
        approving,
    })
}

/// Marks the import failed if it is still parsing (or queued) for a parse
/// job or event, or still approving for an approval job: a late copy of a
/// message for work that finished since must not fail the import.
async fn fail(pool: &PgPool, letter: &Letter) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some(record) = imports::lock(&mut tx, &letter.tenant, letter.import_id).await? else {
        return Ok(false);
    };
    let stuck = if letter.approving {
        record.status() == ImportStatus::Approving
    } else {
        record.status().accepts_rows()
    };
    if stuck {
        let reason = if letter.approving {
            "The claims could not all be created after several attempts; nothing was doubled. Save again to finish."
        } else {
            "The file could not be processed after several attempts. Upload it again."
        };
        imports::transition(&mut tx, &record, ImportStatus::Failed, ACTOR, Some(reason)).await?;
    }
    tx.commit().await?;
    Ok(stuck)
}
