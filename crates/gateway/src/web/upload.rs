//! The upload page: a file (chosen or dragged in) and how to read it.

use super::layout::{frame, PageError};
use super::session::Session;
use crate::state::AppState;
use crate::store::profiles;
use axum::extract::State;
use axum::response::Html;
use maud::html;

/// Where the upload page lives.
pub const PATH: &str = "/settings/import/patient-balances/upload";

/// The upload form; app.js sends it with a byte progress bar.
pub async fn page(
    State(state): State<AppState>,
    Session(caller): Session,
) -> Result<Html<String>, PageError> {
    let saved = profiles::list(&state.pool, caller.tenant()).await?;
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" { a href=(super::home::PATH) { "Patient balances" } " › Upload" }
        h1 { "Upload a file" }
        p { "CSV, tab-separated text or an Excel workbook (.xlsx), as your old system exported it." }
        form.stack #upload-form method="post" action="/v1/imports/patient-balances" enctype="multipart/form-data" {
            div.drop-zone #drop-zone {
                label for="file" { "File" span.hint { "Choose a file, or drag it here." } }
                input #file name="file" type="file" accept=".csv,.txt,.tsv,.xlsx,text/csv,text/plain";
                p #file-chosen aria-live="polite" {}
            }
            details {
                summary { "How to read the file (optional)" }
                label for="profile" { "Import profile" span.hint { "A saved way of reading your old system's export." } }
                select #profile name="profile" {
                    option value="" { "None" }
                    @for (name, _) in &saved { option value=(name) { (name) } }
                }
                label for="date-format" { "Date format" }
                select #date-format name="date_format" {
                    option value="" { "Detect (YYYY-MM-DD or M/D/YYYY)" }
                    option value="month_day_year" { "M/D/YYYY (month first)" }
                    option value="day_month_year" { "D/M/YYYY (day first)" }
                    option value="iso" { "YYYY-MM-DD" }
                }
                label for="decimal-style" { "Decimal separator" }
                select #decimal-style name="decimal_style" {
                    option value="" { "Dot: 1,234.56" }
                    option value="comma" { "Comma: 1.234,56" }
                }
            }
            details {
                summary { "Totals from your old system, to cross-check (optional)" }
                label for="expected-balance" { "Patient balance total" span.hint { "From the old system's aging report." } }
                input #expected-balance name="expected_patient_balance" type="text" inputmode="decimal";
                label for="expected-credits" { "Credit total" }
                input #expected-credits name="expected_credit_total" type="text" inputmode="decimal";
                label for="expected-patients" { "Number of patients" }
                input #expected-patients name="expected_patient_count" type="number" min="0";
            }
            p { button #upload-submit type="submit" { "Upload" } }
            progress #upload-progress max="1" value="0" hidden aria-label="Upload progress" {}
            p.error #upload-error role="alert" aria-live="assertive" {}
        }
        p.notice { "After the upload every row is checked on the server. You can close the page and come back to the import from Patient balances." }
    };
    Ok(Html(
        frame("Upload", Some(&caller.claims), body).into_string(),
    ))
}
