//! The billing lead's pages in a real browser (headless Chromium over
//! WebDriver): sign in, upload, review, save, see the claims; another
//! practice sees none of it; the keyboard alone gets through.
//!
//! The element ids are the contract in docs/PAGES.md. A failing step names
//! the page's URL and a screenshot under target/e2e-screens/.

use bf_e2e::browser::{first_number, money, Browser, NARROW, WIDE};
use bf_e2e::files::{generate, TEMPLATE_HEADER};
use bf_e2e::Stack;
use fantoccini::key::Key;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use std::path::PathBuf;
use std::time::Duration;

/// The home page: Settings › Import › Patient balances.
const HOME: &str = "/settings/import/patient-balances";
const UPLOAD: &str = "/settings/import/patient-balances/upload";
const USER: &str = "lead@example.test";

const SHORT: Duration = Duration::from_secs(15);
const JOB: Duration = Duration::from_secs(60);

/// A fresh directory for files the browser uploads.
fn scratch_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("bf-e2e-upload-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `/imports/<id>` (no further segment) -> `<id>`.
fn import_id_in(url: &reqwest::Url) -> Option<String> {
    let rest = url.path().strip_prefix("/imports/")?;
    let id = rest.trim_end_matches('/');
    (!id.is_empty() && !id.contains('/') && uuid::Uuid::parse_str(id).is_ok())
        .then(|| id.to_string())
}

/// Signs in through the dev sign-in form and waits to leave /signin.
async fn sign_in(b: &Browser, tenant: &str, user: &str) -> anyhow::Result<()> {
    b.goto("/signin").await?;
    b.wait_for("#tenant", SHORT).await?;
    b.fill("#tenant", tenant).await?;
    b.fill("#user", user).await?;
    b.click("#signin-submit").await?;
    b.wait_for_url(|u| u.path() != "/signin", "a page after sign-in", SHORT)
        .await?;
    let shown = b
        .wait_for_text("#tenant-name", |t| !t.trim().is_empty(), SHORT)
        .await?;
    b.check(
        shown.contains(tenant),
        format!("#tenant-name shows {shown:?}, not the practice {tenant:?}"),
    )
    .await?;
    Ok(())
}

/// The number shown in a summary card.
async fn card(b: &Browser, css: &str) -> anyhow::Result<i64> {
    let text = b.text(css).await?;
    match first_number(&text) {
        Some(n) => Ok(n),
        None => Err(b.fail(format!("{css} shows no number: {text:?}")).await),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_billing_lead_imports_reviews_saves_and_sees_the_claim() -> anyhow::Result<()> {
    const TENANT: &str = "practice-ui";
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    let file = generate(40);
    api.load_patients(&file.patients).await?;
    let e = &file.expected;
    assert!(
        e.valid > 0 && e.flagged > 0 && e.invalid > 0 && e.skipped > 0,
        "the file has every kind of row"
    );

    let b = Browser::start(
        &stack.gateway_url,
        "a_billing_lead_imports_reviews_saves_and_sees_the_claim",
    )
    .await?;

    // Sign in.
    sign_in(&b, TENANT, USER).await?;
    let user_shown = b.text("#user-name").await?;
    b.check(
        user_shown.contains(USER),
        format!("#user-name shows {user_shown:?}"),
    )
    .await?;

    // Home: the column guide and the template.
    b.goto(HOME).await?;
    b.wait_for("#column-guide", SHORT).await?;
    let guide = b.texts("#column-guide tr").await?;
    for column in TEMPLATE_HEADER.split(',') {
        b.check(
            guide
                .iter()
                .any(|row| row.split_whitespace().next() == Some(column)),
            format!("#column-guide has no row for {column}: {guide:?}"),
        )
        .await?;
    }
    let template = b.fetch_link("#download-template").await?;
    b.check_eq(template.status, StatusCode::OK, "the template download")
        .await?;
    let header = template
        .text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    b.check(
        header.starts_with("patient_account_number,"),
        format!("the template starts with {header:?}"),
    )
    .await?;

    // Upload through the form.
    b.click("#new-import").await?;
    b.wait_for_url(|u| u.path() == UPLOAD, "the upload page", SHORT)
        .await?;
    b.wait_for("form#upload-form", SHORT).await?;
    let dir = scratch_dir()?;
    let csv_path = dir.join("balances-ui.csv");
    std::fs::write(&csv_path, &file.csv)?;
    b.upload_file("input#file", &csv_path).await?;
    b.click("#upload-submit").await?;
    let at = b
        .wait_for_url(
            |u| import_id_in(u).is_some(),
            "/imports/<id>",
            Duration::from_secs(30),
        )
        .await?;
    let id = import_id_in(&at).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);

    // The page follows the job until the review is ready.
    b.wait_for_text("#import-status", |t| t.trim() == "ready_for_review", JOB)
        .await?;
    for (css, want) in [
        ("#count-total", e.total),
        ("#count-valid", e.valid),
        ("#count-flagged", e.flagged),
        ("#count-invalid", e.invalid),
        ("#count-skipped", e.skipped),
    ] {
        b.check_eq(card(&b, css).await?, want, css).await?;
    }

    // A phone-sized window: the rows are there and nothing scrolls sideways.
    b.window_size(NARROW).await?;
    b.wait_for("#rows", SHORT).await?;
    b.check_no_horizontal_scroll().await?;
    b.screenshot("review-390px").await?;
    b.window_size(WIDE).await?;

    // The invalid rows, with their problems.
    b.click("#tab-invalid").await?;
    b.wait_for_url(
        |u| u.query_pairs().any(|(k, v)| k == "tab" && v == "invalid"),
        "?tab=invalid",
        SHORT,
    )
    .await?;
    b.wait_for("table#rows", SHORT).await?;
    let lines = b.find_all("table#rows tr[data-line]").await?;
    b.check_eq(
        lines.len() as i64,
        e.invalid,
        "invalid rows listed under #tab-invalid",
    )
    .await?;
    let problems = b.texts("table#rows tr[data-line] .problems").await?;
    b.check(
        problems.len() == lines.len() && problems.iter().all(|p| !p.trim().is_empty()),
        format!("every invalid row shows its problems: {problems:?}"),
    )
    .await?;

    // The error report, fetched as the link would download it.
    let report = b.fetch_link("#error-report").await?;
    b.check_eq(report.status, StatusCode::OK, "the error report download")
        .await?;
    let bad_amounts = report
        .text
        .lines()
        .filter(|l| l.contains("invalid_amount"))
        .count();
    b.check(
        bad_amounts > 0,
        format!(
            "the error report has no invalid_amount line:\n{}",
            report.text
        ),
    )
    .await?;

    // Save: accept every flagged row, skip patients with an earlier BF.
    let posting = api
        .get(&format!("/v1/imports/{id}/posting?accept_flagged=all"))
        .await?;
    assert_eq!(posting.status, StatusCode::OK, "{}", posting.text);
    let claims = posting.body["after"]["claims"].as_i64().unwrap_or(-1);
    assert!(
        claims > e.valid,
        "accepting flagged rows posts more: {posting:?}"
    );
    b.click("input[name=accept_flagged][value=all]").await?;
    b.select("select#existing-policy", "skip").await?;
    b.click("#review-save").await?;
    b.wait_for_url(
        |u| u.path() == format!("/imports/{id}/save"),
        "the save confirmation",
        SHORT,
    )
    .await?;
    let summary = b
        .wait_for_text("#save-summary", |t| !t.trim().is_empty(), SHORT)
        .await?;
    b.check(
        summary.contains(&format!("{claims} Balance Forward claim")),
        format!("#save-summary should announce {claims} Balance Forward claims: {summary:?}"),
    )
    .await?;
    b.click("#confirm-save").await?;
    b.wait_for_text("#import-status", |t| t.trim() == "completed", JOB)
        .await?;
    b.wait_for("#completed-panel", SHORT).await?;
    assert_eq!(stack.claim_count(&id).await?, claims);

    // A patient's claim history shows the BF claim with its amount.
    b.click("a.claim-history").await?;
    let at = b
        .wait_for_url(
            |u| u.path().starts_with("/patients/") && u.path().ends_with("/claims"),
            "/patients/<id>/claims",
            SHORT,
        )
        .await?;
    let patient = at
        .path_segments()
        .and_then(|mut s| s.nth(1))
        .unwrap_or_default()
        .to_string();
    let patient = percent_decode(&patient);
    b.wait_for("table#claims", SHORT).await?;
    let history = api.get(&format!("/v1/patients/{patient}/claims")).await?;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    let mut want: Vec<Decimal> = history.body["claims"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|c| c["service_code"] == "BF" && c["import_id"] == id.as_str())
        .filter_map(|c| c["amount"].as_str().and_then(money))
        .collect();
    want.sort();
    b.check(
        !want.is_empty(),
        format!("the API has no BF line from this import for {patient}"),
    )
    .await?;
    let mut shown = Vec::new();
    for row in b.find_all("table#claims tr.claim-line").await? {
        let code = row
            .find(fantoccini::Locator::Css(".service-code"))
            .await?
            .text()
            .await?;
        if code.trim() != "BF" {
            continue;
        }
        let amount = row
            .find(fantoccini::Locator::Css(".amount"))
            .await?
            .text()
            .await?;
        match money(&amount) {
            Some(a) => shown.push(a),
            None => {
                return Err(b
                    .fail(format!("an .amount that is no amount: {amount:?}"))
                    .await)
            }
        }
    }
    shown.sort();
    b.check_eq(shown, want, "BF amounts in table#claims vs the API")
        .await?;

    // Home lists the import, completed (this also keeps the other tests'
    // "no tr[data-import-id]" from passing on a wrong selector).
    b.goto(HOME).await?;
    b.wait_for("#imports", SHORT).await?;
    let listed = format!("#imports tr[data-import-id='{id}']");
    b.wait_for(&listed, SHORT).await?;
    // The cell says it in words ("Saved"); its class carries the status.
    let status = b.text(&format!("{listed} .status")).await?;
    b.check(
        b.exists(&format!("{listed} .status.status-completed"))
            .await?,
        format!("the import's .status on home is not completed: {status:?}"),
    )
    .await?;
    b.check_eq(
        b.find_all("#imports tr[data-import-id]").await?.len(),
        1,
        "imports listed on home",
    )
    .await?;

    b.close().await?;
    Ok(())
}

/// Undoes %XX escapes in a path segment.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenant_signed_in_sees_none_of_the_first_tenants_imports() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let a = stack.billing_lead("practice-a-ui");
    let file = generate(40);
    a.load_patients(&file.patients).await?;
    let name = "practice-a-private-balances.csv";
    let id = a.upload(name, &file.csv).await?;
    a.wait_for(&id, &["ready_for_review"], JOB).await?;

    let b = Browser::start(
        &stack.gateway_url,
        "another_tenant_signed_in_sees_none_of_the_first_tenants_imports",
    )
    .await?;
    sign_in(&b, "practice-b-ui", "lead@b.example.test").await?;

    // B's list of imports is empty.
    b.goto(HOME).await?;
    b.wait_for("#imports", SHORT).await?;
    let rows = b.find_all("#imports tr[data-import-id]").await?;
    b.check_eq(rows.len(), 0, "imports listed for practice B")
        .await?;
    let home = b.source().await?;
    b.check(
        !home.contains(name) && !home.contains(&id),
        "B's home page names A's import",
    )
    .await?;

    // A's import page is not found for B, and gives nothing away. The
    // status is what marks it (the browser does not show it, so the same
    // GET is made with B's cookie); the words are the page's own.
    b.goto(&format!("/imports/{id}")).await?;
    let page = b.fetch(&format!("/imports/{id}")).await?;
    b.check_eq(
        page.status,
        StatusCode::NOT_FOUND,
        "GET /imports/<A's id> as B",
    )
    .await?;
    let text = b.body_text().await?;
    let html = b.source().await?;
    let words = text.to_lowercase().replace('\u{2019}', "'");
    b.check(
        ["404", "not found", "couldn't find", "could not find"]
            .iter()
            .any(|w| words.contains(w)),
        format!("A's import page for B does not say it was not found: {text:?}"),
    )
    .await?;
    b.check(!html.contains(name), "the not-found page names A's file")
        .await?;
    for css in [
        "#import-status",
        "#count-total",
        "#count-valid",
        "#count-flagged",
        "#count-invalid",
        "#count-skipped",
        "table#rows",
    ] {
        b.check(
            !b.exists(css).await?,
            format!("the not-found page shows {css}"),
        )
        .await?;
    }
    // The JSON API answers B's cookie the same way.
    let json = b.fetch(&format!("/v1/imports/{id}")).await?;
    b.check_eq(
        json.status,
        StatusCode::NOT_FOUND,
        "GET /v1/imports/<A's id> with B's cookie",
    )
    .await?;
    // A still sees it.
    assert_eq!(a.import(&id).await?["status"], "ready_for_review");

    b.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn keyboard_alone_can_sign_in_and_reach_the_upload_form() -> anyhow::Result<()> {
    const TENANT: &str = "practice-keys";
    let stack = Stack::start().await?;
    let b = Browser::start(
        &stack.gateway_url,
        "keyboard_alone_can_sign_in_and_reach_the_upload_form",
    )
    .await?;

    b.goto("/signin").await?;
    b.wait_for("#signin-submit", SHORT).await?;

    // Tab to each field, select what is there and type over it.
    let select_all = format!("{}a{}", Key::Control, Key::Null);
    b.tab_to("tenant", 20).await?;
    b.type_text(&select_all).await?;
    b.type_text(TENANT).await?;
    b.tab_to("user", 20).await?;
    b.type_text(&select_all).await?;
    b.type_text(USER).await?;
    let tenant_value = b.prop("#tenant", "value").await?.unwrap_or_default();
    b.check_eq(tenant_value.as_str(), TENANT, "#tenant typed by keyboard")
        .await?;
    b.tab_to("signin-submit", 20).await?;
    b.press(Key::Enter).await?;
    b.wait_for_url(|u| u.path() != "/signin", "a page after sign-in", SHORT)
        .await?;
    let shown = b
        .wait_for_text("#tenant-name", |t| !t.trim().is_empty(), SHORT)
        .await?;
    b.check(
        shown.contains(TENANT),
        format!("#tenant-name shows {shown:?}"),
    )
    .await?;

    // From home, Tab to "new import" and follow it with Enter.
    let home = b.path().await?;
    b.check_eq(home.as_str(), HOME, "sign-in lands on the home page")
        .await?;
    b.wait_for("#new-import", SHORT).await?;
    let path = b.tab_to("new-import", 60).await?;
    eprintln!("Tab from the top of home to #new-import: {path:?}");
    b.press(Key::Enter).await?;
    b.wait_for_url(|u| u.path() == UPLOAD, "the upload page", SHORT)
        .await?;
    b.wait_for("form#upload-form", SHORT).await?;
    b.wait_for("input#file", SHORT).await?;

    b.close().await?;
    Ok(())
}
