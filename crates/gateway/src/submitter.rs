//! The submitter: consumes approval jobs and creates the import's BF
//! claims through the claims service, in batches, resuming after the last
//! batch it recorded. The claims service keys each claim by (tenant,
//! import, line), so a redelivered job or a retried batch creates nothing
//! new.

use crate::store::rows::{self, RowRecord};
use crate::store::{imports, outbox};
use bf_domain::import::ImportStatus;
use bf_domain::posting::{amounts_to_post, Decisions, ExistingPolicy};
use bf_domain::Column;
use bf_messaging::consumer::Message;
use bf_messaging::topology::APPROVE;
use bf_messaging::{consume_fair, supervise, Broker, BrokerError, Disposition, Fairness};
use bf_proto::claims::{BalanceForward, CreateBalanceForwardClaimsRequest};
use bf_proto::imports::ApproveJob;
use bf_proto::ClaimsClient;
use prost::Message as _;
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::str::FromStr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

/// Who the audit trail names for the submitter's transitions.
const ACTOR: &str = "system:submitter";

/// Saves one gateway runs at once.
const SAVE_WORKERS: usize = 2;

/// The tenant of an approve job, the key of its fair share.
fn tenant_of(payload: &[u8]) -> String {
    ApproveJob::decode(payload)
        .map(|job| job.tenant_id)
        .unwrap_or_default()
}

/// What the submitter needs.
#[derive(Clone)]
pub struct Submitter {
    pub pool: PgPool,
    pub claims: ClaimsClient,
    pub batch_size: i64,
}

/// Why a job could not finish.
#[derive(Debug, thiserror::Error)]
enum SubmitError {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("claims service: {0:?}")]
    Claims(tonic::Code),
    #[error("the import has no Date of Service")]
    NoDateOfService,
}

/// A batch whose claims the claims service created, until its cursor is
/// written: the last line it covered, the claims it asked for, the lines
/// refused.
struct Posted {
    last: i32,
    claims: i32,
    refused: Vec<i32>,
}

impl Submitter {
    /// Runs the submitter until shutdown, reconnecting as needed.
    pub async fn run(self, amqp_url: String, shutdown: CancellationToken) {
        let stop = shutdown.clone();
        supervise(
            &amqp_url,
            "submitter",
            shutdown,
            move |broker: Arc<Broker>| {
                let this = self.clone();
                let stop = stop.clone();
                async move {
                    let channel = broker.channel().await?;
                    // Saves of different practices run side by side; a
                    // practice's big Save cannot hold both workers while
                    // another practice's waits.
                    let fairness = Fairness {
                        workers: SAVE_WORKERS,
                        window: SAVE_WORKERS * 4,
                    };
                    consume_fair(&channel, APPROVE, fairness, &stop, tenant_of, |message| {
                        let this = this.clone();
                        async move { this.handle(message).await }
                    })
                    .await?;
                    Ok::<(), BrokerError>(())
                }
            },
        )
        .await;
    }

    async fn handle(&self, message: Message) -> Disposition {
        let Ok(job) = ApproveJob::decode(message.payload.as_slice()) else {
            return Disposition::Reject("undecodable approve job".into());
        };
        let Ok(import_id) = Uuid::parse_str(&job.import_id) else {
            return Disposition::Reject("approve job without a valid import id".into());
        };
        let span = tracing::info_span!(
            "import.claims",
            tenant = %job.tenant_id,
            import_id = %import_id,
            redeliveries = message.redeliveries
        );
        bf_runtime::trace_context::continue_from(&span, &message.trace);
        // A redelivery means an earlier attempt failed or was cut short.
        // Crashes count against the delivery limit like failures do, so a
        // redelivered job checkpoints once it moves the cursor: it queues a
        // fresh job (delivery count 0) and ends. Only a job that fails
        // without progress, time after time, is dead-lettered.
        let checkpoint = message.redeliveries > 0;
        match self
            .submit(&job.tenant_id, import_id, checkpoint)
            .instrument(span)
            .await
        {
            Ok(()) => Disposition::Done,
            Err(e) if message.last_attempt => {
                let reason = format!(
                    "the claims could not all be created ({e}); nothing was doubled: Save again to finish"
                );
                let _ = self.fail(&job.tenant_id, import_id, &reason).await;
                Disposition::Reject(e.to_string())
            }
            Err(e) => Disposition::Retry(e.to_string()),
        }
    }

    async fn submit(
        &self,
        tenant: &str,
        import_id: Uuid,
        checkpoint: bool,
    ) -> Result<(), SubmitError> {
        let Some(record) = imports::get(&self.pool, tenant, import_id).await? else {
            tracing::warn!(%import_id, "approve job for an unknown import; dropped");
            return Ok(());
        };
        if record.status() != ImportStatus::Approving {
            // Completed, voided or failed since: nothing to do.
            return Ok(());
        }
        let date_of_service = record.date_of_service.ok_or(SubmitError::NoDateOfService)?;
        let policy = record
            .decisions
            .as_ref()
            .and_then(|d| serde_json::from_value::<Decisions>(d.clone()).ok())
            .unwrap_or_default()
            .existing_balance_forward;
        // A pipeline of three steps per batch: while the claims service
        // creates batch k, the next rows (k+1) are read and the cursor of
        // batch k-1 is written. The cursors are still written in order and
        // only after their claims exist, so a redelivered job resumes as
        // before; only the gateway's own database work no longer waits its
        // turn behind the claims service's.
        let mut batch = rows::to_post_after(
            &self.pool,
            tenant,
            import_id,
            record.approval_cursor,
            self.batch_size,
        )
        .await?;
        let mut unrecorded: Option<Posted> = None;
        while let Some(last) = batch.last().map(|r| r.line) {
            let request = CreateBalanceForwardClaimsRequest {
                tenant_id: tenant.to_string(),
                import_id: import_id.to_string(),
                date_of_service: date_of_service.to_string(),
                claims: batch
                    .iter()
                    .filter_map(|r| balance_forward(r, policy))
                    .collect(),
            };
            let row_count = batch.len();
            // A redelivered job stops after this batch: nothing to read ahead.
            let read_ahead = async {
                if checkpoint {
                    Ok(Vec::new())
                } else {
                    rows::to_post_after(&self.pool, tenant, import_id, last, self.batch_size).await
                }
            };
            let (posted, next, recorded) = tokio::join!(
                self.post(import_id, last, row_count, request),
                read_ahead,
                self.record(tenant, import_id, unrecorded.take()),
            );
            recorded?;
            unrecorded = Some(posted?);
            batch = next?;
            if checkpoint {
                self.record(tenant, import_id, unrecorded.take()).await?;
                self.requeue(tenant, import_id).await?;
                tracing::info!(%import_id, through_line = last, "approval checkpointed after a redelivery");
                return Ok(());
            }
        }
        self.record(tenant, import_id, unrecorded.take()).await?;
        self.complete(tenant, import_id).await?;
        Ok(())
    }

    /// Creates one batch's claims through the claims service; what came
    /// back is recorded by [`Submitter::record`] once the batch before it
    /// is.
    async fn post(
        &self,
        import_id: Uuid,
        last: i32,
        rows: usize,
        request: CreateBalanceForwardClaimsRequest,
    ) -> Result<Posted, SubmitError> {
        let claims = request.claims.len() as i32;
        let started = std::time::Instant::now();
        let batch_span = tracing::info_span!("claims.batch", through_line = last, rows, claims);
        let answer = if request.claims.is_empty() {
            Default::default()
        } else {
            self.claims
                .create_balance_forward_claims(request)
                .instrument(batch_span)
                .await
                .map_err(|s| SubmitError::Claims(s.code()))?
        };
        crate::metrics::batch_seconds()
            .with_label_values(&["claims"])
            .observe(started.elapsed().as_secs_f64());
        let posted = crate::metrics::claims_posted();
        posted
            .with_label_values(&["created"])
            .inc_by(u64::from(answer.created));
        posted
            .with_label_values(&["existing"])
            .inc_by(u64::from(answer.existing));
        posted
            .with_label_values(&["refused"])
            .inc_by(answer.refused_lines.len() as u64);
        let refused: Vec<i32> = answer
            .refused_lines
            .iter()
            .filter_map(|l| i32::try_from(*l).ok())
            .collect();
        tracing::info!(
            %import_id,
            through_line = last,
            created = answer.created,
            existing = answer.existing,
            refused = refused.len(),
            "claims batch"
        );
        Ok(Posted {
            last,
            claims,
            refused,
        })
    }

    /// Moves the approval cursor past a batch whose claims exist, and marks
    /// its refused lines. Nothing to do for `None`.
    async fn record(
        &self,
        tenant: &str,
        import_id: Uuid,
        posted: Option<Posted>,
    ) -> Result<(), sqlx::Error> {
        let Some(p) = posted else {
            return Ok(());
        };
        imports::advance_approval(&self.pool, tenant, import_id, p.last, p.claims, &p.refused).await
    }

    /// Queues a fresh approval job (delivery count 0) through the outbox:
    /// the checkpoint of a redelivered job that moved the cursor.
    async fn requeue(&self, tenant: &str, import_id: Uuid) -> Result<(), sqlx::Error> {
        let job = ApproveJob {
            tenant_id: tenant.to_string(),
            import_id: import_id.to_string(),
        };
        let message_id = format!("{import_id}:approve:{}", Uuid::now_v7());
        let mut tx = bf_runtime::db::tenant_tx(&self.pool, tenant).await?;
        outbox::add(
            &mut tx,
            APPROVE,
            "ApproveJob",
            &message_id,
            &job.encode_to_vec(),
        )
        .await?;
        tx.commit().await
    }

    async fn complete(&self, tenant: &str, import_id: Uuid) -> Result<(), sqlx::Error> {
        let mut tx = bf_runtime::db::tenant_tx(&self.pool, tenant).await?;
        if let Some(record) = imports::lock(&mut tx, tenant, import_id).await? {
            if record.status() == ImportStatus::Approving {
                imports::set_completed(&mut tx, import_id).await?;
                imports::transition(&mut tx, &record, ImportStatus::Completed, ACTOR, None).await?;
                tracing::info!(%import_id, claims = record.claims_submitted, "import completed");
            }
        }
        tx.commit().await
    }

    async fn fail(&self, tenant: &str, import_id: Uuid, reason: &str) -> Result<(), sqlx::Error> {
        let mut tx = bf_runtime::db::tenant_tx(&self.pool, tenant).await?;
        if let Some(record) = imports::lock(&mut tx, tenant, import_id).await? {
            if record.status() == ImportStatus::Approving {
                imports::transition(&mut tx, &record, ImportStatus::Failed, ACTOR, Some(reason))
                    .await?;
            }
        }
        tx.commit().await
    }
}

/// The claim a row posts under the policy for earlier BF claims, or
/// `None` when it posts nothing. A postable row always has its patient.
fn balance_forward(row: &RowRecord, policy: ExistingPolicy) -> Option<BalanceForward> {
    let text = |column: Column| {
        row.normalized
            .get(column.name())
            .and_then(|v| v.as_str())
            .unwrap_or("")
    };
    let amount = |v: Option<&serde_json::Value>| {
        v.and_then(|v| v.as_str())
            .and_then(|s| Decimal::from_str(s).ok())
            .unwrap_or_default()
    };
    let prior = row.prior.as_ref().map(|p| {
        (
            amount(p.get("patient_amount")),
            amount(p.get("insurance_amount")),
        )
    });
    let (patient, insurance) = amounts_to_post(
        row.patient_balance.unwrap_or_default(),
        row.insurance_balance.unwrap_or_default(),
        prior,
        policy,
    )?;
    let aging: Vec<String> = Column::AGING.iter().map(|c| text(*c).to_string()).collect();
    let has_aging = aging.iter().any(|a| !a.is_empty());
    Some(BalanceForward {
        line: u32::try_from(row.line).ok()?,
        patient_id: row.matched_patient_id.clone()?,
        patient_balance: patient.to_string(),
        insurance_balance: insurance.to_string(),
        reference: text(Column::Reference).to_string(),
        provider_npi: text(Column::ProviderNpi).to_string(),
        location: text(Column::Location).to_string(),
        oldest_service_date: text(Column::OldestServiceDate).to_string(),
        balance_as_of: text(Column::BalanceAsOf).to_string(),
        aging: if has_aging {
            aging
                .into_iter()
                .map(|a| if a.is_empty() { "0".into() } else { a })
                .collect()
        } else {
            vec![]
        },
        // Only a user who saw the earlier claim and chose to post may add
        // to it; anything else that meets an earlier claim is refused.
        allow_existing: row.prior.is_some() && policy != ExistingPolicy::Skip,
    })
}
