//! Claims and their lines.

use super::Store;
use crate::error::ClaimsError;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;
use uuid::Uuid;

/// One BF claim to create, keyed by its import line.
pub struct NewBalanceForward {
    pub line: i32,
    pub patient_id: String,
    pub patient_balance: Decimal,
    pub insurance_balance: Decimal,
    pub reference: String,
    pub provider_npi: String,
    pub location: String,
    pub oldest_service_date: Option<NaiveDate>,
    pub balance_as_of: Option<NaiveDate>,
    /// The five aging buckets, or none.
    pub aging: Option<[Decimal; 5]>,
    /// The user chose to post despite an earlier BF claim.
    pub allow_existing: bool,
}

/// A patient's active BF claims from other imports, summed.
#[derive(Debug, sqlx::FromRow)]
pub struct PriorRecord {
    pub patient_id: String,
    pub patient_amount: Decimal,
    pub insurance_amount: Decimal,
    pub date_of_service: NaiveDate,
    pub import_id: Option<Uuid>,
    pub claims: i64,
}

/// One claim line with its claim, as the history shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct ClaimRecord {
    pub claim_id: Uuid,
    pub kind: String,
    pub status: String,
    pub date_of_service: NaiveDate,
    pub import_id: Option<Uuid>,
    pub import_line: Option<i32>,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
    pub line_number: i16,
    pub service_code: String,
    pub charge: Decimal,
    pub responsibility: String,
    pub provider_npi: Option<String>,
    pub location: Option<String>,
    pub oldest_service_date: Option<NaiveDate>,
    pub balance_as_of: Option<NaiveDate>,
    pub aging: Option<Vec<Decimal>>,
}

impl Store {
    /// Active BF claims of these patients from imports other than
    /// `except`: what a new import of the same balances would double.
    pub async fn prior_balance_forwards(
        &self,
        tenant: &str,
        patient_ids: &[&str],
        except: Option<Uuid>,
    ) -> Result<Vec<PriorRecord>, ClaimsError> {
        let mut tx = self.scoped(tenant).await?;
        let found = sqlx::query_as(
            "SELECT c.patient_id,
                    COALESCE(sum(l.charge) FILTER (WHERE l.responsibility = 'patient'), 0) AS patient_amount,
                    COALESCE(sum(l.charge) FILTER (WHERE l.responsibility = 'insurance'), 0) AS insurance_amount,
                    max(c.date_of_service) AS date_of_service,
                    (array_agg(c.import_id ORDER BY c.created_at DESC))[1] AS import_id,
                    count(DISTINCT c.claim_id) AS claims
               FROM claims c JOIN claim_lines l ON l.claim_id = c.claim_id
              WHERE c.tenant_id = $1 AND c.patient_id = ANY($2) AND c.kind = 'balance_forward'
                AND c.status = 'active' AND c.import_id IS DISTINCT FROM $3
              GROUP BY c.patient_id",
        )
        .bind(tenant)
        .bind(patient_ids)
        .bind(except)
        .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Creates the BF claims of one batch in one transaction. A line that
    /// already has its claim is left alone, so a retried or redelivered
    /// batch creates nothing new. A line whose patient has an active BF
    /// claim from another import is refused unless the user chose to post
    /// anyway; the tenant's Save lock is taken first, so two imports of the
    /// same patient saved at once take turns and the second is refused. A
    /// batch that names a patient not in the directory creates nothing.
    /// Returns how many were created, and the refused lines.
    pub async fn create_balance_forwards(
        &self,
        tenant: &str,
        import_id: Uuid,
        date_of_service: NaiveDate,
        claims: &[NewBalanceForward],
    ) -> Result<(u64, Vec<i32>), ClaimsError> {
        let mut tx = self.scoped(tenant).await?;
        let mut patients: Vec<&str> = claims.iter().map(|c| c.patient_id.as_str()).collect();
        patients.sort_unstable();
        patients.dedup();
        lock_saves(&mut tx, tenant).await?;
        let known = known_patients(&mut tx, tenant, import_id, &patients).await?;
        if let Some(line) = claims
            .iter()
            .find(|c| !known.contains_key(c.patient_id.as_str()))
            .map(|c| c.line)
        {
            return Err(ClaimsError::InvalidArgument(format!(
                "line {line}: no such patient in the directory"
            )));
        }
        let taken = |c: &NewBalanceForward| known.get(c.patient_id.as_str()) == Some(&true);
        let (refused, allowed): (Vec<&NewBalanceForward>, Vec<&NewBalanceForward>) =
            claims.iter().partition(|c| !c.allow_existing && taken(c));
        let created =
            insert_balance_forwards(&mut tx, tenant, import_id, date_of_service, &allowed).await?;
        tx.commit().await?;
        Ok((created, refused.iter().map(|c| c.line).collect()))
    }
}

/// Takes the tenant's Save lock until the transaction ends: the batches of
/// one practice's claims are created one at a time, so the check for an
/// earlier BF claim of the same patient (read after the lock, on a fresh
/// snapshot) sees every batch committed before it.
///
/// An advisory lock rather than `SELECT … FOR UPDATE` on the batch's
/// patients: that statement looked up and locked a thousand patient rows
/// per batch (several ms at 10⁶ patients) only to serialize Saves, which
/// one lock per tenant does at no cost per patient. It cannot deadlock
/// (one lock, taken first), and practices never wait for each other (a
/// hash collision of two tenants only makes them take turns).
async fn lock_saves(tx: &mut sqlx::PgConnection, tenant: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('bf-claims-save:' || $1, 0))")
        .bind(tenant)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The batch's patients that exist, each with whether it has an active BF
/// claim from an import other than `import_id`. Only reads: claims no
/// longer lock their patient through a foreign key (claims migration
/// 0005); a patient, once here, stays, as the service may neither delete
/// one nor change its key.
async fn known_patients(
    tx: &mut sqlx::PgConnection,
    tenant: &str,
    import_id: Uuid,
    patients: &[&str],
) -> Result<HashMap<String, bool>, sqlx::Error> {
    let found: Vec<(String, bool)> = sqlx::query_as(
        // Two index scans of the batch's ids joined (not a probe of claims
        // per patient): about 2 ms for a thousand patients at 10^6.
        "SELECT p.patient_id, t.patient_id IS NOT NULL
           FROM patients p
           LEFT JOIN (SELECT DISTINCT patient_id FROM claims
                       WHERE tenant_id = $1 AND patient_id = ANY($2)
                         AND kind = 'balance_forward' AND status = 'active'
                         AND import_id IS DISTINCT FROM $3) t USING (patient_id)
          WHERE p.tenant_id = $1 AND p.patient_id = ANY($2)",
    )
    .bind(tenant)
    .bind(patients)
    .bind(import_id)
    .fetch_all(&mut *tx)
    .await?;
    Ok(found.into_iter().collect())
}

/// The insert of [`Store::create_balance_forwards`]: claims and their lines
/// in one statement, skipping lines that already have their claim.
async fn insert_balance_forwards(
    tx: &mut sqlx::PgConnection,
    tenant: &str,
    import_id: Uuid,
    date_of_service: NaiveDate,
    claims: &[&NewBalanceForward],
) -> Result<u64, ClaimsError> {
    {
        let lines: Vec<i32> = claims.iter().map(|c| c.line).collect();
        let patients: Vec<&str> = claims.iter().map(|c| c.patient_id.as_str()).collect();
        let patient_amounts: Vec<Decimal> = claims.iter().map(|c| c.patient_balance).collect();
        let insurance_amounts: Vec<Decimal> = claims.iter().map(|c| c.insurance_balance).collect();
        let references: Vec<&str> = claims.iter().map(|c| c.reference.as_str()).collect();
        let npis: Vec<&str> = claims.iter().map(|c| c.provider_npi.as_str()).collect();
        let locations: Vec<&str> = claims.iter().map(|c| c.location.as_str()).collect();
        let oldest: Vec<Option<NaiveDate>> = claims.iter().map(|c| c.oldest_service_date).collect();
        let as_of: Vec<Option<NaiveDate>> = claims.iter().map(|c| c.balance_as_of).collect();
        // One text per claim ("{1,2,3,4,5}" or NULL): SQL has no arrays of arrays of unequal presence.
        let aging: Vec<Option<String>> = claims
            .iter()
            .map(|c| {
                c.aging.map(|a| {
                    let parts: Vec<String> = a.iter().map(Decimal::to_string).collect();
                    format!("{{{}}}", parts.join(","))
                })
            })
            .collect();
        // Time-ordered ids (UUIDv7): a million claims append to the right
        // edge of the primary key and of claim_lines' key instead of
        // touching random pages of both (gen_random_uuid), which made each
        // batch slower as the ledger grew.
        let ids: Vec<Uuid> = claims.iter().map(|_| Uuid::now_v7()).collect();
        let created: i64 = sqlx::query_scalar(
            "WITH input AS (
                 SELECT * FROM UNNEST($4::int[], $5::text[], $6::numeric[], $7::numeric[], $8::text[],
                                      $9::text[], $10::text[], $11::date[], $12::date[], $13::text[],
                                      $14::uuid[])
                     AS t(line, patient_id, patient_amount, insurance_amount, reference,
                          provider_npi, location, oldest_service_date, balance_as_of, aging, claim_id)
             ), created AS (
                 INSERT INTO claims (claim_id, tenant_id, patient_id, kind, date_of_service,
                                     import_id, import_line, reference, provider_npi, location,
                                     oldest_service_date, balance_as_of, aging)
                 SELECT claim_id, $1, patient_id, 'balance_forward', $3, $2, line,
                        NULLIF(reference, ''), NULLIF(provider_npi, ''), NULLIF(location, ''),
                        oldest_service_date, balance_as_of, aging::numeric(14,2)[]
                   FROM input
                 ON CONFLICT (tenant_id, import_id, import_line) DO NOTHING
                 RETURNING claim_id, import_line
             ), charges AS (
                 SELECT c.claim_id, v.ord, v.amount, v.responsibility
                   FROM created c
                   JOIN input i ON i.line = c.import_line
                  CROSS JOIN LATERAL (VALUES (1, i.patient_amount, 'patient'),
                                             (2, i.insurance_amount, 'insurance'))
                        AS v(ord, amount, responsibility)
                  WHERE v.amount <> 0
             ), lines AS (
                 INSERT INTO claim_lines (claim_id, line_number, service_code, charge, responsibility)
                 SELECT claim_id, row_number() OVER (PARTITION BY claim_id ORDER BY ord), 'BF',
                        amount, responsibility
                   FROM charges
                 RETURNING 1
             )
             SELECT count(*) FROM created",
        )
        .bind(tenant)
        .bind(import_id)
        .bind(date_of_service)
        .bind(&lines)
        .bind(&patients)
        .bind(&patient_amounts)
        .bind(&insurance_amounts)
        .bind(&references)
        .bind(&npis)
        .bind(&locations)
        .bind(&oldest)
        .bind(&as_of)
        .bind(&aging)
        .bind(&ids)
        .fetch_one(&mut *tx)
        .await?;
        Ok(u64::try_from(created).unwrap_or(0))
    }
}

impl Store {
    /// Every claim line of a patient, newest claim first.
    pub async fn patient_claims(
        &self,
        tenant: &str,
        patient_id: &str,
    ) -> Result<Vec<ClaimRecord>, ClaimsError> {
        let mut tx = self.scoped(tenant).await?;
        let found = sqlx::query_as(
            "SELECT c.claim_id, c.kind, c.status, c.date_of_service, c.import_id, c.import_line,
                    c.reference, c.created_at, l.line_number, l.service_code, l.charge, l.responsibility,
                    c.provider_npi, c.location, c.oldest_service_date, c.balance_as_of, c.aging
               FROM claims c
               JOIN claim_lines l ON l.claim_id = c.claim_id
              WHERE c.tenant_id = $1 AND c.patient_id = $2
              ORDER BY c.created_at DESC, c.claim_id, l.line_number",
        )
        .bind(tenant)
        .bind(patient_id)
        .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Voids the active claims of an import. Already-voided claims are
    /// left as they were, so voiding twice changes nothing.
    pub async fn void_import(
        &self,
        tenant: &str,
        import_id: Uuid,
        voided_by: &str,
    ) -> Result<u64, ClaimsError> {
        let mut tx = self.scoped(tenant).await?;
        let done = sqlx::query(
            "UPDATE claims SET status = 'voided', voided_at = now(), voided_by = $3
              WHERE tenant_id = $1 AND import_id = $2 AND status = 'active'",
        )
        .bind(tenant)
        .bind(import_id)
        .bind(voided_by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
