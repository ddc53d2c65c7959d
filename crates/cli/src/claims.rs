//! `bfctl claims`: the Balance Forward claims on one patient, to check
//! what an import actually created.

use crate::api::PatientClaims;
use crate::client::{decode, Client};
use crate::error::CliError;
use crate::render::{self, emit};
use crate::Outcome;

/// `GET /v1/patients/{patient_id}/claims`; the id is percent-encoded by
/// [`Client::url`].
pub async fn show(client: &Client, patient_id: &str, json: bool) -> Result<Outcome, CliError> {
    let url = client.url(&["v1", "patients", patient_id, "claims"])?;
    let reply = client.get(url).await?;
    if json {
        emit(reply.body.trim_end())?;
    } else {
        let claims: PatientClaims = decode(&reply.body)?;
        emit(&render::claims_table(&claims))?;
    }
    Ok(Outcome::Done)
}
