//! Settings › Import › Patient balances: the template, the column guide,
//! and the practice's imports.

use super::format;
use super::layout::{frame, PageError};
use super::session::Session;
use crate::state::AppState;
use crate::store::imports;
use axum::extract::State;
use axum::response::Html;
use maud::html;

/// Where the import home lives.
pub const PATH: &str = "/settings/import/patient-balances";

/// The import home.
pub async fn page(
    State(state): State<AppState>,
    Session(caller): Session,
) -> Result<Html<String>, PageError> {
    let records = imports::list(&state.pool, caller.tenant(), 100).await?;
    let guide = bf_domain::template::column_guide();
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" { "Settings › Import › Patient balances" }
        h1 { "Patient balances" }
        p { "Bring what each patient still owes from your previous system in as Balance Forward claims. "
            "Download the template (or use your old system's export as it is), upload it, review every row, then save." }
        div.row-actions {
            a.button #download-template href="/v1/imports/patient-balances/template" download="patient-balances-template.csv" { "Download CSV template" }
            a.button.secondary #new-import href=(super::upload::PATH) { "Upload a file" }
        }
        h2 #imports-heading { "Your imports" }
        @if records.is_empty() {
            p.muted { "No imports yet." }
        }
        div.table-wrap {
            table #imports aria-labelledby="imports-heading" {
                thead { tr {
                    th scope="col" { "File" } th scope="col" { "Status" } th.num scope="col" { "Rows" }
                    th.num scope="col" { "Valid" } th.num scope="col" { "Flagged" } th.num scope="col" { "Invalid" }
                    th.num scope="col" { "Patient balance" } th scope="col" { "Uploaded" }
                } }
                tbody {
                    @for r in &records {
                        tr data-import-id=(r.import_id) {
                            td { a href={ "/imports/" (r.import_id) } { (r.file_name) } }
                            td.status.{ "status-" (r.status) } data-status=(r.status) { (format::status(&r.status)) }
                            td.num { (r.count_total) } td.num { (r.count_valid) } td.num { (r.count_flagged) } td.num { (r.count_invalid) }
                            td.num { (format::money(r.total_patient_balance)) }
                            td { (format::moment(r.uploaded_at)) " by " (r.uploaded_by) }
                        }
                    }
                }
            }
        }
        h2 #guide-heading { "Column guide" }
        p { "Column names are matched generously: " code { "Acct #" } ", " code { "DOB" } ", " code { "Pt Bal" } " and the like are recognised." }
        div.table-wrap {
            table #column-guide aria-labelledby="guide-heading" {
                thead { tr { th scope="col" { "Column" } th scope="col" { "Required" } th scope="col" { "Format" } th scope="col" { "Example" } } }
                tbody {
                    @for c in &guide {
                        tr {
                            td { code { (c.name) } }
                            td { @match c.requirement {
                                bf_domain::template::Requirement::Required => "Yes",
                                bf_domain::template::Requirement::RequiredUnlessPatientId => "Yes, unless patient_id is given",
                                bf_domain::template::Requirement::Optional => "No",
                            } }
                            td { (c.format) }
                            td { code { (c.example) } }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(
        frame("Patient balances", Some(&caller.claims), body).into_string(),
    ))
}
