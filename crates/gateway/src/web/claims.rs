//! A patient's claim history: every claim, BF claims with their import,
//! line, aging and reference.

use super::format;
use super::layout::{frame, PageError};
use super::session::Session;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Html;
use bf_proto::claims::ListPatientClaimsRequest;
use maud::html;

/// The claim history page.
pub async fn page(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(patient_id): Path<String>,
) -> Result<Html<String>, PageError> {
    let answer = state
        .claims
        .list_patient_claims(ListPatientClaimsRequest {
            tenant_id: caller.tenant().to_string(),
            patient_id: patient_id.clone(),
        })
        .await
        .map_err(ApiError::from)?;
    if !answer.patient_found {
        return Err(PageError(ApiError::NotFound));
    }
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" { a href=(super::home::PATH) { "Patient balances" } " › Patient " (patient_id) }
        h1 { "Claim history of patient " (patient_id) }
        @if answer.claims.is_empty() { p { "This patient has no claims." } }
        div.table-wrap {
            table #claims {
                thead { tr {
                    th scope="col" { "Kind" } th scope="col" { "Code" } th scope="col" { "Date of service" } th.num scope="col" { "Amount" }
                    th scope="col" { "Responsibility" } th scope="col" { "Status" } th scope="col" { "Import" } th.num scope="col" { "Line" }
                    th scope="col" { "Aging (0-30 / 31-60 / 61-90 / 91-120 / 120+)" } th scope="col" { "Reference" }
                } }
                tbody {
                    @for c in &answer.claims { @for l in &c.lines {
                        tr.claim-line {
                            td.claim-kind { (if c.kind == "balance_forward" { "Balance Forward" } else { c.kind.as_str() }) }
                            td.service-code { (l.service_code) }
                            td.date-of-service { (format::date_text(&c.date_of_service)) }
                            td.num.amount { (format::money_text(Some(&l.amount))) }
                            td.responsibility { (l.responsibility) }
                            td.claim-status.status.{ "status-" (c.status) } { (c.status) }
                            td.claim-import { @if !c.import_id.is_empty() { a href={ "/imports/" (c.import_id) } { "Import" } } }
                            td.num.claim-line-no { @if c.import_line > 0 { (c.import_line) } }
                            td.aging { @if !c.aging.is_empty() { @for (i, a) in c.aging.iter().enumerate() { @if i > 0 { " / " } (format::money_text(Some(a))) } } }
                            td.reference { (c.reference) }
                        }
                    } }
                }
            }
        }
    };
    Ok(Html(
        frame("Claim history", Some(&caller.claims), body).into_string(),
    ))
}
