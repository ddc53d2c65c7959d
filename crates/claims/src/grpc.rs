//! The gRPC adapter: turns protobuf requests into store calls and domain
//! answers back into protobuf. No SQL and no rules live here.

use crate::error::ClaimsError;
use crate::store::{DirectoryPatient, Grown, NewBalanceForward, NewPatient, Store};
use bf_domain::date::parse_iso;
use bf_domain::matching::{account_key, mismatched_columns, Identity};
use bf_domain::money;
use bf_proto::claims::claims_server::Claims;
use bf_proto::claims::*;
use rust_decimal::Decimal;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::str::FromStr;
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// Most candidates or claims one call may carry; bounds memory per call.
const MAX_BATCH: usize = 10_000;

/// The claims service's gRPC handlers.
pub struct ClaimsService {
    store: Store,
}

impl ClaimsService {
    /// Serves from a store.
    pub fn new(store: Store) -> Self {
        ClaimsService { store }
    }
}

fn tenant(t: &str) -> Result<&str, ClaimsError> {
    let t = t.trim();
    if t.is_empty() {
        return Err(ClaimsError::InvalidArgument("tenant_id is required".into()));
    }
    Ok(t)
}

fn bounded<T>(items: &[T]) -> Result<(), ClaimsError> {
    if items.len() > MAX_BATCH {
        return Err(ClaimsError::InvalidArgument(format!(
            "at most {MAX_BATCH} items per call"
        )));
    }
    Ok(())
}

fn import_id(s: &str) -> Result<Uuid, ClaimsError> {
    Uuid::parse_str(s).map_err(|_| ClaimsError::InvalidArgument("import_id is not a UUID".into()))
}

#[tonic::async_trait]
impl Claims for ClaimsService {
    async fn upsert_patients(
        &self,
        request: Request<UpsertPatientsRequest>,
    ) -> Result<Response<UpsertPatientsResponse>, Status> {
        let req = request.into_inner();
        let tenant = tenant(&req.tenant_id)?;
        bounded(&req.patients)?;
        let patients = new_patients(req.patients)?;
        let upserted = self.store.upsert_patients(tenant, &patients).await?;
        self.store.wrote(Grown::Patients, upserted);
        tracing::info!(tenant, count = upserted, "patients upserted");
        Ok(Response::new(UpsertPatientsResponse {
            upserted: u32::try_from(upserted).unwrap_or(u32::MAX),
        }))
    }

    async fn match_patients(
        &self,
        request: Request<MatchPatientsRequest>,
    ) -> Result<Response<MatchPatientsResponse>, Status> {
        let req = request.into_inner();
        let tenant = tenant(&req.tenant_id)?;
        bounded(&req.candidates)?;
        let mut ids: Vec<&str> = req
            .candidates
            .iter()
            .map(|c| c.patient_id.trim())
            .filter(|s| !s.is_empty())
            .collect();
        in_probe_order(&mut ids);
        let (keys, zero_accounts) = account_probes(&req.candidates);
        let found = self
            .store
            .find_patients(tenant, &ids, &zero_accounts, &keys)
            .await?;
        let found = found.patients()?;
        let by_account = !keys.is_empty() || !zero_accounts.is_empty();
        let directory = Directory::new(&found, by_account);
        let mut results: Vec<MatchResult> =
            req.candidates.iter().map(|c| directory.judge(c)).collect();
        self.attach_priors(tenant, &req.import_id, &mut results)
            .await?;
        Ok(Response::new(MatchPatientsResponse { results }))
    }

    async fn create_balance_forward_claims(
        &self,
        request: Request<CreateBalanceForwardClaimsRequest>,
    ) -> Result<Response<CreateBalanceForwardClaimsResponse>, Status> {
        let req = request.into_inner();
        let tenant = tenant(&req.tenant_id)?;
        bounded(&req.claims)?;
        let import = import_id(&req.import_id)?;
        let date_of_service = parse_iso(&req.date_of_service)
            .map_err(|e| ClaimsError::InvalidArgument(format!("date_of_service {e}")))?;
        let claims = new_claims(req.claims)?;
        let (created, refused) = self
            .store
            .create_balance_forwards(tenant, import, date_of_service, &claims)
            .await?;
        self.store.wrote(Grown::Ledger, created);
        let existing = (claims.len() - refused.len()) as u64 - created;
        tracing::info!(
            tenant,
            import_id = %import,
            created,
            existing,
            refused = refused.len(),
            "balance forward claims"
        );
        Ok(Response::new(CreateBalanceForwardClaimsResponse {
            created: created as u32,
            existing: existing as u32,
            refused_lines: refused
                .into_iter()
                .filter_map(|l| u32::try_from(l).ok())
                .collect(),
        }))
    }

    async fn list_patient_claims(
        &self,
        request: Request<ListPatientClaimsRequest>,
    ) -> Result<Response<ListPatientClaimsResponse>, Status> {
        let req = request.into_inner();
        let tenant = tenant(&req.tenant_id)?;
        if !self.store.patient_exists(tenant, &req.patient_id).await? {
            return Ok(Response::new(ListPatientClaimsResponse {
                patient_found: false,
                claims: vec![],
            }));
        }
        let records = self.store.patient_claims(tenant, &req.patient_id).await?;
        let mut claims: Vec<Claim> = Vec::new();
        for r in records {
            let line = ClaimLine {
                line_number: u32::try_from(r.line_number).unwrap_or(0),
                service_code: r.service_code,
                amount: money::normalize(r.charge).to_string(),
                responsibility: r.responsibility,
            };
            let id = r.claim_id.to_string();
            match claims.last_mut() {
                Some(last) if last.claim_id == id => last.lines.push(line),
                _ => claims.push(Claim {
                    claim_id: id,
                    kind: r.kind,
                    date_of_service: r.date_of_service.to_string(),
                    status: r.status,
                    import_id: r.import_id.map(|u| u.to_string()).unwrap_or_default(),
                    import_line: r
                        .import_line
                        .and_then(|l| u32::try_from(l).ok())
                        .unwrap_or(0),
                    reference: r.reference.unwrap_or_default(),
                    lines: vec![line],
                    created_at: r.created_at.to_rfc3339(),
                    provider_npi: r.provider_npi.unwrap_or_default(),
                    location: r.location.unwrap_or_default(),
                    oldest_service_date: r
                        .oldest_service_date
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    balance_as_of: r.balance_as_of.map(|d| d.to_string()).unwrap_or_default(),
                    aging: r
                        .aging
                        .unwrap_or_default()
                        .into_iter()
                        .map(|a| money::normalize(a).to_string())
                        .collect(),
                }),
            }
        }
        Ok(Response::new(ListPatientClaimsResponse {
            patient_found: true,
            claims,
        }))
    }

    async fn void_import_claims(
        &self,
        request: Request<VoidImportClaimsRequest>,
    ) -> Result<Response<VoidImportClaimsResponse>, Status> {
        let req = request.into_inner();
        let tenant = tenant(&req.tenant_id)?;
        let import = import_id(&req.import_id)?;
        let voided = self
            .store
            .void_import(tenant, import, &req.voided_by)
            .await?;
        tracing::info!(tenant, import_id = %import, voided, "import claims voided");
        Ok(Response::new(VoidImportClaimsResponse {
            voided: u32::try_from(voided).unwrap_or(u32::MAX),
        }))
    }
}

impl ClaimsService {
    /// Adds each found patient's earlier BF claims, so the review can show
    /// what a repeated import would double.
    async fn attach_priors(
        &self,
        tenant: &str,
        import: &str,
        results: &mut [MatchResult],
    ) -> Result<(), ClaimsError> {
        let found: Vec<&str> = results
            .iter()
            .filter(|r| !r.patient_id.is_empty())
            .map(|r| r.patient_id.as_str())
            .collect();
        if found.is_empty() {
            return Ok(());
        }
        let except = Uuid::parse_str(import).ok();
        let priors = self
            .store
            .prior_balance_forwards(tenant, &found, except)
            .await?;
        let by_patient: HashMap<&str, &crate::store::PriorRecord> =
            priors.iter().map(|p| (p.patient_id.as_str(), p)).collect();
        for result in results.iter_mut() {
            if let Some(p) = by_patient.get(result.patient_id.as_str()) {
                result.prior = Some(PriorBalanceForward {
                    patient_amount: money::normalize(p.patient_amount).to_string(),
                    insurance_amount: money::normalize(p.insurance_amount).to_string(),
                    date_of_service: p.date_of_service.to_string(),
                    import_id: p.import_id.map(|u| u.to_string()).unwrap_or_default(),
                    claims: u32::try_from(p.claims).unwrap_or(u32::MAX),
                });
            }
        }
        Ok(())
    }
}

/// Patients keyed for matching; the last of a repeated id wins.
fn new_patients(patients: Vec<Patient>) -> Result<Vec<NewPatient>, ClaimsError> {
    let mut by_id: HashMap<String, NewPatient> = HashMap::with_capacity(patients.len());
    for (i, p) in patients.into_iter().enumerate() {
        let bad = |what: &str| ClaimsError::InvalidArgument(format!("patient #{} {what}", i + 1));
        let patient_id = p.patient_id.trim().to_string();
        if patient_id.is_empty() {
            return Err(bad("has no patient_id"));
        }
        if p.last_name.trim().is_empty() || p.first_name.trim().is_empty() {
            return Err(bad("needs a last_name and a first_name"));
        }
        let date_of_birth =
            parse_iso(&p.date_of_birth).map_err(|e| bad(&format!("date_of_birth {e}")))?;
        by_id.insert(
            patient_id.clone(),
            NewPatient {
                patient_id,
                account_number: p.patient_account_number.trim().to_string(),
                last_name: p.last_name.trim().to_string(),
                first_name: p.first_name.trim().to_string(),
                date_of_birth,
            },
        );
    }
    Ok(by_id.into_values().collect())
}

fn amount(s: &str, line: u32) -> Result<Decimal, ClaimsError> {
    if s.trim().is_empty() {
        return Ok(Decimal::ZERO);
    }
    let d = Decimal::from_str(s.trim()).map_err(|_| {
        ClaimsError::InvalidArgument(format!("line {line}: amount is not a decimal"))
    })?;
    if d.scale() > 2 && d.normalize().scale() > 2 {
        return Err(ClaimsError::InvalidArgument(format!(
            "line {line}: amount has more than 2 decimal places"
        )));
    }
    Ok(money::normalize(d))
}

fn new_claims(claims: Vec<BalanceForward>) -> Result<Vec<NewBalanceForward>, ClaimsError> {
    claims
        .into_iter()
        .map(|c| {
            let patient_balance = amount(&c.patient_balance, c.line)?;
            let insurance_balance = amount(&c.insurance_balance, c.line)?;
            if patient_balance.is_zero() && insurance_balance.is_zero() {
                return Err(ClaimsError::InvalidArgument(format!(
                    "line {}: a BF claim needs a non-zero balance",
                    c.line
                )));
            }
            if c.patient_id.trim().is_empty() {
                return Err(ClaimsError::InvalidArgument(format!(
                    "line {}: no patient_id",
                    c.line
                )));
            }
            let date = |s: &str, what: &str| -> Result<Option<chrono::NaiveDate>, ClaimsError> {
                if s.is_empty() {
                    return Ok(None);
                }
                parse_iso(s).map(Some).map_err(|e| {
                    ClaimsError::InvalidArgument(format!("line {}: {what} {e}", c.line))
                })
            };
            let aging = match c.aging.len() {
                0 => None,
                5 => {
                    let mut buckets = [Decimal::ZERO; 5];
                    for (slot, text) in buckets.iter_mut().zip(&c.aging) {
                        *slot = amount(text, c.line)?;
                    }
                    Some(buckets)
                }
                _ => {
                    return Err(ClaimsError::InvalidArgument(format!(
                        "line {}: aging needs 5 buckets",
                        c.line
                    )))
                }
            };
            Ok(NewBalanceForward {
                line: i32::try_from(c.line)
                    .map_err(|_| ClaimsError::InvalidArgument("line out of range".into()))?,
                oldest_service_date: date(&c.oldest_service_date, "oldest_service_date")?,
                balance_as_of: date(&c.balance_as_of, "balance_as_of")?,
                patient_id: c.patient_id,
                patient_balance,
                insurance_balance,
                reference: c.reference,
                provider_npi: c.provider_npi,
                location: c.location,
                aging,
                allow_existing: c.allow_existing,
            })
        })
        .collect()
}

/// What to look the candidates' account numbers up by: their keys (no
/// leading zeros), which also find every patient with the same account
/// number exactly, and, for the accounts that are all zeros (no key), the
/// account numbers themselves. Half the index probes of looking up both.
/// Only candidates without a patient id are matched by account
/// ([`Directory::judge`]), so only theirs are looked up: for a file that
/// names its patients' ids, half of the directory's probes and rows.
fn account_probes(candidates: &[MatchCandidate]) -> (Vec<&str>, Vec<&str>) {
    let mut keys = Vec::new();
    let mut zero_accounts = Vec::new();
    let by_account = candidates.iter().filter(|c| c.patient_id.trim().is_empty());
    for account in by_account.map(|c| c.patient_account_number.trim()) {
        match account_key(account) {
            "" if !account.is_empty() => zero_accounts.push(account),
            "" => {}
            key => keys.push(key),
        }
    }
    in_probe_order(&mut keys);
    in_probe_order(&mut zero_accounts);
    (keys, zero_accounts)
}

/// Each value once, in order: a file that names a patient on several
/// lines probes the directory once for them, and probes in key order walk
/// the index from one end to the other instead of jumping about it.
fn in_probe_order(values: &mut Vec<&str>) {
    values.sort_unstable();
    values.dedup();
}

/// The directory patients found for one batch, indexed both ways.
struct Directory<'a> {
    by_id: HashMap<&'a str, &'a DirectoryPatient<'a>>,
    by_account: HashMap<&'a str, Named<'a>>,
    /// By account number without leading zeros.
    by_key: HashMap<&'a str, Named<'a>>,
}

/// The patients one account number names: nearly always one, so a batch's
/// 2,000 accounts cost no vector each unless an account names several.
enum Named<'a> {
    One(&'a DirectoryPatient<'a>),
    Many(Vec<&'a DirectoryPatient<'a>>),
}

impl<'a> Named<'a> {
    fn add(map: &mut HashMap<&'a str, Named<'a>>, account: &'a str, p: &'a DirectoryPatient<'a>) {
        match map.entry(account) {
            Entry::Vacant(e) => {
                e.insert(Named::One(p));
            }
            Entry::Occupied(mut e) => match e.get_mut() {
                Named::Many(all) => all.push(p),
                Named::One(first) => {
                    let first = *first;
                    e.insert(Named::Many(vec![first, p]));
                }
            },
        }
    }

    fn as_slice(&self) -> &[&'a DirectoryPatient<'a>] {
        match self {
            Named::One(p) => std::slice::from_ref(p),
            Named::Many(all) => all,
        }
    }
}

impl<'a> Directory<'a> {
    /// Indexes the patients found. The account maps are built only when
    /// some candidate is matched by account (`by_account`): a file that
    /// names every patient's id is judged by id alone.
    fn new(found: &'a [DirectoryPatient<'a>], by_account: bool) -> Self {
        let mut directory = Directory {
            by_id: HashMap::with_capacity(found.len()),
            by_account: HashMap::new(),
            by_key: HashMap::new(),
        };
        if by_account {
            directory.by_account.reserve(found.len());
            directory.by_key.reserve(found.len());
        }
        for p in found {
            if directory.by_id.insert(p.patient_id, p).is_some() {
                // Found more than one way (by id for one candidate, by
                // account for another): one patient, counted once.
                continue;
            }
            if !by_account {
                continue;
            }
            if !p.account_number.is_empty() {
                Named::add(&mut directory.by_account, p.account_number, p);
            }
            let key = account_key(p.account_number);
            if !key.is_empty() {
                Named::add(&mut directory.by_key, key, p);
            }
        }
        directory
    }

    /// By patient id when given, else by account number; then the name
    /// and date of birth must agree.
    fn judge(&self, c: &MatchCandidate) -> MatchResult {
        let result = |outcome: MatchOutcome, patient_id: &str, columns: Vec<String>| MatchResult {
            key: c.key,
            outcome: outcome as i32,
            patient_id: patient_id.to_string(),
            mismatched_columns: columns,
            ambiguous_count: 0,
            zeros_restored: false,
            prior: None,
        };
        let account = c.patient_account_number.trim();
        let mut zeros_restored = false;
        let patient = if !c.patient_id.trim().is_empty() {
            self.by_id.get(c.patient_id.trim()).copied()
        } else {
            let exact = self
                .by_account
                .get(account)
                .map(Named::as_slice)
                .unwrap_or(&[]);
            let (candidates, restored) = if exact.is_empty() {
                let by_key = self
                    .by_key
                    .get(account_key(account))
                    .map(Named::as_slice)
                    .unwrap_or(&[]);
                (by_key, true)
            } else {
                (exact, false)
            };
            match candidates {
                [one] => {
                    zeros_restored = restored;
                    Some(*one)
                }
                [] => None,
                many => {
                    return MatchResult {
                        ambiguous_count: u32::try_from(many.len()).unwrap_or(u32::MAX),
                        ..result(MatchOutcome::Ambiguous, "", vec![])
                    }
                }
            }
        };
        let Some(patient) = patient else {
            return result(MatchOutcome::NotFound, "", vec![]);
        };
        let file = Identity {
            last_name: &c.last_name,
            first_name: &c.first_name,
            date_of_birth: parse_iso(&c.date_of_birth).ok(),
        };
        let directory = Identity {
            last_name: patient.last_name,
            first_name: patient.first_name,
            date_of_birth: Some(patient.date_of_birth),
        };
        let mut columns: Vec<String> = mismatched_columns(file, directory)
            .into_iter()
            .map(|col| col.name().to_string())
            .collect();
        if !account.is_empty() && !zeros_restored && account != patient.account_number {
            columns.insert(0, "patient_account_number".to_string());
        }
        let outcome = if columns.is_empty() {
            MatchOutcome::Matched
        } else {
            MatchOutcome::Mismatched
        };
        MatchResult {
            zeros_restored,
            ..result(outcome, patient.patient_id, columns)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn candidate(account: &str) -> MatchCandidate {
        MatchCandidate {
            patient_account_number: account.to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn accounts_are_looked_up_by_key_and_only_all_zero_accounts_as_written() {
        let candidates = [
            candidate(" 000123 "),
            candidate("0000"),
            candidate(""),
            candidate("9"),
        ];
        let (keys, zero_accounts) = account_probes(&candidates);
        assert_eq!(keys, vec!["123", "9"]);
        assert_eq!(zero_accounts, vec!["0000"]);
    }

    #[test]
    fn an_account_named_on_several_lines_is_looked_up_once() {
        let candidates = [
            candidate("77"),
            candidate("0077"),
            candidate("5"),
            candidate("00"),
            candidate("77"),
            candidate("000"),
            candidate("00"),
        ];
        let (keys, zero_accounts) = account_probes(&candidates);
        assert_eq!(keys, vec!["5", "77"]);
        assert_eq!(zero_accounts, vec!["00", "000"]);
    }

    #[test]
    fn a_patient_found_two_ways_is_one_patient_not_an_ambiguity() {
        let patient = DirectoryPatient {
            patient_id: "P-1",
            account_number: "0042",
            last_name: "Doe",
            first_name: "Jane",
            date_of_birth: NaiveDate::from_ymd_opt(1980, 1, 2).expect("a real date"),
        };
        // By id for one candidate and by account for another.
        let found = [patient, patient];
        let directory = Directory::new(&found, true);
        let by_account = MatchCandidate {
            last_name: "Doe".into(),
            first_name: "Jane".into(),
            date_of_birth: "1980-01-02".into(),
            ..candidate("42")
        };
        let result = directory.judge(&by_account);
        assert_eq!(result.outcome, MatchOutcome::Matched as i32);
        assert_eq!(result.patient_id, "P-1");
    }

    #[test]
    fn an_account_that_names_two_patients_is_ambiguous_and_one_that_names_one_is_not() {
        let patient = |id, account| DirectoryPatient {
            patient_id: id,
            account_number: account,
            last_name: "Doe",
            first_name: "Jane",
            date_of_birth: NaiveDate::from_ymd_opt(1980, 1, 2).expect("a real date"),
        };
        let found = [
            patient("P-1", "0042"),
            patient("P-2", "042"),
            patient("P-3", "7"),
        ];
        let directory = Directory::new(&found, true);
        let twice = directory.judge(&candidate("42"));
        assert_eq!(twice.outcome, MatchOutcome::Ambiguous as i32);
        assert_eq!(twice.ambiguous_count, 2);
        let exact = directory.judge(&candidate("042"));
        assert_eq!(exact.patient_id, "P-2");
        let once = directory.judge(&candidate("007"));
        assert_eq!(once.patient_id, "P-3");
        assert!(once.zeros_restored);
    }

    #[test]
    fn candidates_with_a_patient_id_are_not_looked_up_by_account() {
        let with_id = |id: &str, account: &str| MatchCandidate {
            patient_id: id.to_string(),
            ..candidate(account)
        };
        let candidates = [
            with_id("P-1", "000123"),
            with_id(" ", "000456"),
            with_id("P-2", "0000"),
        ];
        let (keys, zero_accounts) = account_probes(&candidates);
        assert_eq!(keys, vec!["456"]);
        assert!(zero_accounts.is_empty());
    }
}
