//! One import as the billing lead follows it: live progress, the review,
//! Save with its confirmation, the result, and Void.

use super::format;
use super::layout::{frame, PageError};
use super::session::Session;
use crate::actions;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::rows::{self, RowRecord};
use crate::store::{imports, tenants, ImportRecord};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use bf_auth::ROLE_IMPORTS_APPROVE;
use bf_domain::posting::{AcceptFlagged, AcceptWord, Decisions, ExistingPolicy};
use bf_domain::RowStatus;
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

/// Rows per page of the review table.
const PAGE_SIZE: i64 = 50;

/// What the review shows.
#[derive(Deserialize, Default)]
pub struct ReviewQuery {
    tab: Option<String>,
    after: Option<i32>,
    q: Option<String>,
}

async fn load(state: &AppState, caller: &Caller, id: &str) -> Result<ImportRecord, PageError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::NotFound)?;
    Ok(imports::get(&state.pool, caller.tenant(), id)
        .await?
        .ok_or(ApiError::NotFound)?)
}

/// The import page: what it shows depends on where the import is.
pub async fn page(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(id): Path<String>,
    Query(q): Query<ReviewQuery>,
) -> Result<Html<String>, PageError> {
    let record = load(&state, &caller, &id).await?;
    let body = match record.status.as_str() {
        "queued" | "parsing" | "approving" => progress(&record),
        "ready_for_review" => {
            html! { (summary(&record)) (review(&state, &caller, &record, &q).await?) }
        }
        "completed" => completed(&state, &caller, &record).await?,
        "failed" => failed(&record),
        _ => {
            html! { (summary(&record)) p.notice { "This import was voided on " (record.voided_at.map(format::moment).unwrap_or_default()) " by " (record.voided_by.clone().unwrap_or_default()) "; its claims are voided." } }
        }
    };
    let content = html! {
        nav.crumbs aria-label="Breadcrumb" { a href=(super::home::PATH) { "Patient balances" } " › " (record.file_name) }
        h1 { (record.file_name) }
        p { "Status: " strong.status.{ "status-" (record.status) } #import-status data-status=(record.status) { (record.status) } " — " (format::status(&record.status)) }
        @if let Some(at) = record.purged_at {
            p.notice #purged { "The file and its rows were deleted on " (format::moment(at)) " under the practice's retention policy. The counts, totals and claims remain." }
        }
        (body)
    };
    Ok(Html(
        frame(&record.file_name, Some(&caller.claims), content).into_string(),
    ))
}

fn progress(r: &ImportRecord) -> Markup {
    let approving = r.status == "approving";
    html! {
        section.panel #progress-panel data-import-id=(r.import_id) data-status=(r.status) aria-live="polite" {
            h2 { @if approving { "Creating Balance Forward claims" } @else { "Checking every row" } }
            progress #job-progress max="1" value="0" aria-label="Progress" {}
            p {
                @if approving { "Claims created: " } @else { "Rows checked: " }
                strong #rows-processed { (if approving { r.claims_submitted } else { r.rows_recorded }) }
                " · Rows per second: " strong #rows-per-second { "…" }
                " · Time left: " strong #eta { "estimating" }
            }
            p.notice { "This runs on the server. You can close this page and come back to it from Patient balances at any time." }
        }
    }
}

fn summary(r: &ImportRecord) -> Markup {
    let card = |id: &str, label: &str, value: Markup| {
        html! {
            div.card { span.label { (label) } span.value id=(id) { (value) } }
        }
    };
    html! {
        h2 { "Summary" }
        div.cards {
            (card("count-total", "Rows", html! { (r.count_total) }))
            (card("count-valid", "Valid", html! { (r.count_valid) }))
            (card("count-flagged", "Flagged", html! { (r.count_flagged) }))
            (card("count-invalid", "Invalid", html! { (r.count_invalid) }))
            (card("count-skipped", "Skipped (zero)", html! { (r.count_skipped) }))
            (card("total-patient-balance", "Patient balance (valid rows)", format::money(r.total_patient_balance)))
            (card("total-insurance-balance", "Insurance balance (valid rows)", format::money(r.total_insurance_balance)))
        }
        @if let (Some(expected), Some(file)) = (&r.expected_totals, &r.file_totals) {
            div.table-wrap {
                table #reconciliation {
                    caption.sr-only { "Your old system's totals beside this file's" }
                    thead { tr { th scope="col" { "Total" } th.num scope="col" { "Old system" } th.num scope="col" { "This file" } } }
                    tbody {
                        tr { th scope="row" { "Patient balance" } td.num { (format::money_text(expected["patient_balance"].as_str())) } td.num { (format::money_text(file["patient_balance"].as_str())) } }
                        tr { th scope="row" { "Credits" } td.num { (format::money_text(expected["credit_total"].as_str())) } td.num { (format::money_text(file["credit_total"].as_str())) } }
                        tr { th scope="row" { "Patients" } td.num { (expected["patient_count"]) } td.num { (file["patient_count"]) } }
                    }
                }
            }
        }
        p.muted {
            "Uploaded " (format::moment(r.uploaded_at)) " by " (r.uploaded_by)
            @if let Some(f) = &r.file_format { " · read as " (f) }
            @if let Some(e) = &r.encoding { ", " (e) }
            @if let Some(d) = &r.delimiter { ", separated by " (if d == "\t" { "tabs".to_string() } else { format!("\"{d}\"") }) }
        }
    }
}

async fn review(
    state: &AppState,
    caller: &Caller,
    r: &ImportRecord,
    q: &ReviewQuery,
) -> Result<Markup, PageError> {
    let counts = [
        (RowStatus::Flagged, r.count_flagged),
        (RowStatus::Invalid, r.count_invalid),
        (RowStatus::Valid, r.count_valid),
        (RowStatus::Skipped, r.count_skipped),
    ];
    let default_tab = counts
        .iter()
        .find(|(_, n)| *n > 0)
        .map(|(s, _)| *s)
        .unwrap_or(RowStatus::Valid);
    let tab = q
        .tab
        .as_deref()
        .and_then(RowStatus::parse)
        .unwrap_or(default_tab);
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let found = match search {
        Some(text) => {
            rows::search(&state.pool, caller.tenant(), r.import_id, text, PAGE_SIZE).await?
        }
        None => {
            rows::page(
                &state.pool,
                caller.tenant(),
                r.import_id,
                Some(tab),
                q.after.unwrap_or(0),
                PAGE_SIZE,
            )
            .await?
        }
    };
    let next = (search.is_none() && found.len() as i64 == PAGE_SIZE)
        .then(|| found.last().map(|row| row.line))
        .flatten();
    let base = format!("/imports/{}", r.import_id);
    Ok(html! {
        (mapping(r))
        h2 #rows-heading { "Rows" }
        p { a #error-report href={ "/v1/imports/" (r.import_id) "/errors.csv" } { "Download the error report (CSV)" } " — every invalid and flagged row as it was in your file, with the problem, so you can fix the file and upload it again." }
        ul.tabs aria-label="Rows by category" {
            @for status in [RowStatus::Valid, RowStatus::Flagged, RowStatus::Invalid, RowStatus::Skipped] {
                @let n = counts.iter().find(|(s, _)| *s == status).map(|(_, n)| *n).unwrap_or(0);
                li { a id={ "tab-" (status.as_str()) } href={ (base) "?tab=" (status.as_str()) } aria-current=[(search.is_none() && status == tab).then_some("page")] {
                    (tab_label(status)) " (" (n) ")"
                } }
            }
        }
        form #row-search method="get" action=(base) role="search" {
            label for="search" { "Find a row by line or account number " }
            input #search type="search" name="q" value=(search.unwrap_or("")) inputmode="numeric";
            " " button.secondary type="submit" { "Find" }
        }
        (rows_table(&found))
        div.row-actions {
            @if q.after.is_some() || search.is_some() { a #first-page href={ (base) "?tab=" (tab.as_str()) } { "First page" } }
            @if let Some(after) = next { a #next-page href={ (base) "?tab=" (tab.as_str()) "&after=" (after) } { "Next page" } }
        }
        (save_form(r))
    })
}

fn tab_label(s: RowStatus) -> &'static str {
    match s {
        RowStatus::Valid => "Valid",
        RowStatus::Flagged => "Flagged",
        RowStatus::Invalid => "Invalid",
        RowStatus::Skipped => "Skipped",
    }
}

fn mapping(r: &ImportRecord) -> Markup {
    let columns = r
        .header_mapping
        .as_ref()
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default();
    html! {
        details {
            summary { "How the columns were read (" (columns.len()) " columns)" }
            div.table-wrap {
                table #header-mapping {
                    thead { tr { th scope="col" { "Your file's column" } th scope="col" { "Read as" } } }
                    tbody { @for c in &columns {
                        tr { td { (c["header"].as_str().unwrap_or("")) } td {
                            @match c["column"].as_str().filter(|s| !s.is_empty()) { Some(col) => code { (col) }, None => span.muted { "not used" } }
                        } }
                    } }
                }
            }
        }
    }
}

fn rows_table(found: &[RowRecord]) -> Markup {
    let cell = |r: &RowRecord, c: &str| {
        r.cells
            .get(c)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    html! {
        div.table-wrap {
            table #rows aria-labelledby="rows-heading" {
                thead { tr {
                    th.num scope="col" { "Line" } th scope="col" { "Category" } th scope="col" { "Account" } th scope="col" { "Patient" }
                    th scope="col" { "Name" } th scope="col" { "Date of birth" } th.num scope="col" { "Patient balance" }
                    th.num scope="col" { "Insurance" } th scope="col" { "Problems" }
                } }
                tbody {
                    @if found.is_empty() { tr { td colspan="9" { "No rows here." } } }
                    @for r in found {
                        tr data-line=(r.line) {
                            td.num { (r.line) }
                            td.status.{ "status-" (r.status) } { (r.status) }
                            td { (cell(r, "patient_account_number")) }
                            td { (r.matched_patient_id.clone().unwrap_or_default()) }
                            td { (cell(r, "last_name")) ", " (cell(r, "first_name")) }
                            td { (r.normalized.get("date_of_birth").and_then(|v| v.as_str()).map(format::date_text).unwrap_or_else(|| cell(r, "date_of_birth"))) }
                            td.num { @match r.patient_balance { Some(v) => (format::money(v)), None => (cell(r, "patient_balance")) } }
                            td.num { @if let Some(v) = r.insurance_balance { (format::money(v)) } }
                            td {
                                ul.problems { @for p in r.problems.as_array().cloned().unwrap_or_default() {
                                    li { (p["message"].as_str().unwrap_or("")) }
                                } }
                                @if let Some(prior) = &r.prior {
                                    p { "Earlier Balance Forward: " (format::money_text(prior["patient_amount"].as_str()))
                                        " on " (format::date_text(prior["date_of_service"].as_str().unwrap_or(""))) }
                                }
                                @if let Some(reason) = &r.not_posted { p.error { (reason) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn save_form(r: &ImportRecord) -> Markup {
    html! {
        h2 { "Save" }
        form.stack.panel #save-form method="get" action={ "/imports/" (r.import_id) "/save" } {
            fieldset {
                legend { "Flagged rows (" (r.count_flagged) ")" }
                label { input type="radio" name="accept_flagged" value="none" checked; " Leave flagged rows out" }
                label { input type="radio" name="accept_flagged" value="all"; " Import all flagged rows (I checked them)" }
                label { input #accept-some type="radio" name="accept_flagged" value="lines"; " Import only these flagged lines:" }
                label.sr-only for="accept-lines" { "Flagged lines to import" }
                input #accept-lines type="text" name="accept_lines" inputmode="numeric" placeholder="e.g. 12, 40, 41";
            }
            label for="existing-policy" { "Patients who already have a Balance Forward claim from an earlier import"
                span.hint { "Balances can be imported more than once during a migration; never double one by mistake." } }
            select #existing-policy name="existing_balance_forward" {
                option value="skip" { "Skip them" }
                option value="post_difference" { "Post only the difference since the earlier claim" }
                option value="post_full" { "Post the full balance again" }
            }
            p { "Invalid rows are never imported." }
            button #review-save type="submit" { "Review what will be saved" }
        }
    }
}

/// What the Save confirmation and the Save itself take.
#[derive(Deserialize)]
pub struct SaveChoices {
    accept_flagged: Option<String>,
    accept_lines: Option<String>,
    existing_balance_forward: Option<String>,
}

impl SaveChoices {
    fn decisions(&self) -> Result<Decisions, ApiError> {
        Ok(Decisions {
            accept_flagged: match self.accept_flagged.as_deref() {
                Some("all") => AcceptFlagged::Word(AcceptWord::All),
                Some("lines") => AcceptFlagged::Lines(self.lines()?),
                _ => AcceptFlagged::Word(AcceptWord::None),
            },
            existing_balance_forward: match self.existing_balance_forward.as_deref() {
                Some("post_difference") => ExistingPolicy::PostDifference,
                Some("post_full") => ExistingPolicy::PostFull,
                _ => ExistingPolicy::Skip,
            },
        })
    }

    /// "12, 40 41" → [12, 40, 41].
    fn lines(&self) -> Result<Vec<u32>, ApiError> {
        self.accept_lines
            .as_deref()
            .unwrap_or("")
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<u32>().map_err(|_| {
                    ApiError::BadRequest(
                        "the lines to import must be line numbers separated by commas".into(),
                    )
                })
            })
            .collect()
    }
}

/// "N Balance Forward claims totaling $X, dated <date>, for N patients",
/// then the button that saves.
pub async fn save_page(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(id): Path<String>,
    Query(choices): Query<SaveChoices>,
) -> Result<Html<String>, PageError> {
    let record = load(&state, &caller, &id).await?;
    let decisions = choices.decisions()?;
    let (_, after) = actions::preview(&state, &caller, record.import_id, &decisions).await?;
    let settings = tenants::settings(&state.pool, caller.tenant()).await?;
    let today = bf_domain::date::parse_time_zone(&settings.time_zone)
        .map(|tz| bf_domain::date::local_date(chrono::Utc::now(), tz))
        .map(format::date)
        .unwrap_or_default();
    let patient: rust_decimal::Decimal = after.patient_balance.parse().unwrap_or_default();
    let insurance: rust_decimal::Decimal = after.insurance_balance.parse().unwrap_or_default();
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" { a href=(super::home::PATH) { "Patient balances" } " › " a href={ "/imports/" (record.import_id) } { (record.file_name) } " › Save" }
        h1 { "Save this import?" }
        p #save-summary.panel {
            strong { (after.claims) " Balance Forward claims" } " totaling " strong { (format::money(patient + insurance)) }
            " (" (format::money(patient)) " patient, " (format::money(insurance)) " insurance), dated " strong { (today) }
            ", for " (after.patients) " patients."
        }
        p { "Flagged rows: " (if decisions.accept_flagged.all() { "all imported".to_string() } else if decisions.accept_flagged.lines().is_empty() { "left out".to_string() } else { format!("lines {} imported", decisions.accept_flagged.lines().iter().map(u32::to_string).collect::<Vec<_>>().join(", ")) })
            ". Patients with an earlier Balance Forward claim: " (match decisions.existing_balance_forward {
                ExistingPolicy::Skip => "skipped", ExistingPolicy::PostDifference => "only the difference is posted", ExistingPolicy::PostFull => "the full balance is posted again" }) "." }
        form #confirm-form method="post" action={ "/imports/" (record.import_id) "/save" } {
            input type="hidden" name="accept_flagged" value=(choices.accept_flagged.clone().unwrap_or_else(|| "none".into()));
            input type="hidden" name="accept_lines" value=(choices.accept_lines.clone().unwrap_or_default());
            input type="hidden" name="existing_balance_forward" value=(decisions.existing_balance_forward.as_str());
            div.row-actions {
                button #confirm-save type="submit" { "Save " (after.claims) " claims" }
                a.button.secondary href={ "/imports/" (record.import_id) } { "Back to the review" }
            }
        }
    };
    Ok(Html(
        frame("Save", Some(&caller.claims), body).into_string(),
    ))
}

/// Saves with the confirmed choices, then shows the import's progress.
pub async fn save(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(id): Path<String>,
    Form(choices): Form<SaveChoices>,
) -> Result<Response, PageError> {
    caller.require(ROLE_IMPORTS_APPROVE)?;
    let record = load(&state, &caller, &id).await?;
    actions::approve(&state, &caller, record.import_id, &choices.decisions()?).await?;
    Ok(Redirect::to(&format!("/imports/{}", record.import_id)).into_response())
}

async fn completed(
    state: &AppState,
    caller: &Caller,
    r: &ImportRecord,
) -> Result<Markup, PageError> {
    let patients = rows::posted_patients(&state.pool, caller.tenant(), r.import_id, 100).await?;
    Ok(html! {
        (summary(r))
        section.panel #completed-panel {
            h2 { "Saved" }
            p { strong { (r.claims_submitted) " Balance Forward claims" } " were created, dated "
                (r.date_of_service.map(format::date).unwrap_or_default()) ", on " (r.completed_at.map(format::moment).unwrap_or_default())
                " (saved by " (r.approved_by.clone().unwrap_or_default()) ")." }
            @if r.claims_refused > 0 {
                p.error { (r.claims_refused) " rows were not posted because their patients had a Balance Forward claim from another import by then." }
            }
            h3 { "Claim histories" }
            ul { @for p in &patients { li { a.claim-history href={ "/patients/" (p) "/claims" } { "Patient " (p) } } } }
            p { a #void href={ "/imports/" (r.import_id) "/void" } { "Void this import…" } }
        }
    })
}

fn failed(r: &ImportRecord) -> Markup {
    html! {
        section.panel {
            h2 { "This import failed" }
            p.error #failure { (r.failure.clone().unwrap_or_else(|| "No reason was recorded.".into())) }
            @if r.approved_at.is_some() {
                p { "Saving was interrupted. Saving again finishes it; no claim is ever created twice." }
                form method="get" action={ "/imports/" (r.import_id) "/save" } { button type="submit" { "Save again" } }
                p { a #void href={ "/imports/" (r.import_id) "/void" } { "Void what was saved…" } }
            } @else {
                p { "Nothing from this file was kept. Fix the file and " a href=(super::upload::PATH) { "upload it again" } "." }
            }
        }
    }
}

/// Void, behind its own confirmation.
pub async fn void_page(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let record = load(&state, &caller, &id).await?;
    let body = html! {
        h1 { "Void " (record.file_name) "?" }
        p.panel { "All " strong { (record.claims_submitted) " Balance Forward claims" } " this import created will be voided. "
            "Patients' claim histories keep them, marked voided. This cannot be undone; you can import the file again afterwards." }
        form method="post" action={ "/imports/" (record.import_id) "/void" } {
            div.row-actions {
                button.danger #confirm-void type="submit" { "Void the claims" }
                a.button.secondary href={ "/imports/" (record.import_id) } { "Keep them" }
            }
        }
    };
    Ok(Html(
        frame("Void", Some(&caller.claims), body).into_string(),
    ))
}

/// Voids, then shows the import.
pub async fn void(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    caller.require(ROLE_IMPORTS_APPROVE)?;
    let record = load(&state, &caller, &id).await?;
    actions::void(&state, &caller, record.import_id).await?;
    Ok(Redirect::to(&format!("/imports/{}", record.import_id)).into_response())
}
