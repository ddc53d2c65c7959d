//! Human-readable output. Everything here is pure (returns a `String`) so
//! it can be tested; [`emit`] is the one place that writes to stdout.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::Value;

use crate::api::{Import, PatientClaims, Row, Settings, REVIEWABLE};
use crate::error::CliError;
use crate::table::Table;

/// Shown where the gateway sent `null` or nothing.
const NONE: &str = "-";

/// Write text to stdout with a trailing newline. A closed pipe
/// (`bfctl list | head`) is not an error: the reader has what it wanted.
pub fn emit(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    let mut text = text.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Output(e)),
        _ => Ok(()),
    }
}

/// A decimal amount with thousands separators ("1234.5" → "1,234.5").
/// Anything that is not a plain decimal is shown exactly as the gateway
/// sent it rather than guessed at.
pub fn money(amount: &str) -> String {
    let s = amount.trim();
    let (sign, unsigned) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", s),
    };
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return s.to_owned();
    }
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// An optional amount, or [`NONE`].
fn opt_money(amount: Option<&str>) -> String {
    amount.map_or_else(|| NONE.to_owned(), money)
}

/// A byte count for people: "812 B", "1.2 KB", "3.4 MB".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024 {
        return format!("{n} B");
    }
    // Precision loss converting to f64 is irrelevant at one decimal place.
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// "<when> by <who>", tolerating either being missing.
fn when_by(at: Option<&str>, by: Option<&str>) -> String {
    match (at, by) {
        (Some(at), Some(by)) => format!("{at} by {by}"),
        (Some(at), None) => at.to_owned(),
        (None, Some(by)) => format!("by {by}"),
        (None, None) => NONE.to_owned(),
    }
}

/// The multi-line summary shown by `status`, `import --wait`, `approve`
/// and `void`: enough to decide the next step without `--json`.
pub fn summary(i: &Import) -> String {
    let mut lines: Vec<(&str, String)> = vec![("id", i.id.clone()), ("status", i.status.clone())];

    let mut file = i.file_name.clone().unwrap_or_else(|| NONE.to_owned());
    let mut details = Vec::new();
    if let Some(n) = i.size_bytes {
        details.push(bytes(n));
    }
    if let Some(sha) = &i.sha256 {
        details.push(format!("sha256 {sha}"));
    }
    if !details.is_empty() {
        let _ = write!(file, " ({})", details.join(", "));
    }
    lines.push(("file", file));

    let c = &i.counts;
    lines.push((
        "rows",
        format!(
            "{} total: {} valid, {} flagged, {} invalid, {} skipped",
            c.total, c.valid, c.flagged, c.invalid, c.skipped
        ),
    ));
    lines.push((
        "totals",
        format!(
            "patient {}, insurance {}",
            opt_money(i.totals.patient_balance.as_deref()),
            opt_money(i.totals.insurance_balance.as_deref())
        ),
    ));
    lines.push((
        "uploaded",
        when_by(i.uploaded_at.as_deref(), i.uploaded_by.as_deref()),
    ));
    if !REVIEWABLE.contains(&i.status.as_str()) {
        if let Some(p) = i.progress {
            lines.push(("progress", format!("{:.0}%", p.clamp(0.0, 1.0) * 100.0)));
        }
    }
    if let Some(f) = &i.failure {
        lines.push(("failure", f.clone()));
    }
    if i.approved_by.is_some() || i.approved_at.is_some() {
        lines.push((
            "approved",
            when_by(i.approved_at.as_deref(), i.approved_by.as_deref()),
        ));
    }
    if i.approved_by.is_some() || i.date_of_service.is_some() {
        lines.push((
            "service",
            format!(
                "date {}, {} claims created",
                i.date_of_service.as_deref().unwrap_or(NONE),
                i.claims_created.unwrap_or(0)
            ),
        ));
    }
    if let Some(at) = &i.completed_at {
        lines.push(("completed", at.clone()));
    }
    if i.voided_by.is_some() || i.voided_at.is_some() {
        lines.push((
            "voided",
            when_by(i.voided_at.as_deref(), i.voided_by.as_deref()),
        ));
    }

    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for (k, v) in lines {
        let _ = writeln!(out, "{:<width$} {v}", format!("{k}:"), width = width);
    }
    out
}

/// The `list` table, newest first as the gateway sends it.
pub fn import_table(imports: &[Import]) -> String {
    if imports.is_empty() {
        return "No imports.\n".to_owned();
    }
    let mut t = Table::new(&[
        "ID",
        "STATUS",
        "FILE",
        "ROWS",
        "VALID",
        "FLAGGED",
        "INVALID",
        "PATIENT BAL",
        "INS BAL",
        "UPLOADED",
        "BY",
    ])
    .right_align(&[3, 4, 5, 6, 7, 8]);
    for i in imports {
        t.row(vec![
            i.id.clone(),
            i.status.clone(),
            i.file_name.clone().unwrap_or_else(|| NONE.to_owned()),
            i.counts.total.to_string(),
            i.counts.valid.to_string(),
            i.counts.flagged.to_string(),
            i.counts.invalid.to_string(),
            opt_money(i.totals.patient_balance.as_deref()),
            opt_money(i.totals.insurance_balance.as_deref()),
            i.uploaded_at.clone().unwrap_or_else(|| NONE.to_owned()),
            i.uploaded_by.clone().unwrap_or_else(|| NONE.to_owned()),
        ]);
    }
    t.render()
}

/// A cell value as text; `null`/missing is empty.
fn value<'a>(row: &'a Row, key: &str) -> Option<std::borrow::Cow<'a, str>> {
    match row.values.get(key)? {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.as_str().into()),
        other => Some(other.to_string().into()),
    }
}

/// `rows` output: one line per row, then its problems indented beneath.
pub fn row_lines(rows: &[Row]) -> String {
    let mut out = String::new();
    for r in rows {
        let account = value(r, "patient_account_number");
        let name = match (value(r, "last_name"), value(r, "first_name")) {
            (Some(l), Some(f)) => format!("{l}, {f}"),
            (Some(n), None) | (None, Some(n)) => n.into_owned(),
            (None, None) => NONE.to_owned(),
        };
        let _ = writeln!(
            out,
            "line {:<6} {:<8} acct {}  patient {}  {}  pt {}  ins {}",
            r.line,
            r.status,
            account.as_deref().unwrap_or(NONE),
            r.patient_id.as_deref().unwrap_or(NONE),
            name,
            opt_money(r.patient_balance.as_deref()),
            opt_money(r.insurance_balance.as_deref()),
        );
        for p in &r.problems {
            match p.column.as_deref().filter(|c| !c.is_empty()) {
                Some(col) => {
                    let _ = writeln!(out, "    {col}: {} [{}]", p.message, p.code);
                }
                None => {
                    let _ = writeln!(out, "    {} [{}]", p.message, p.code);
                }
            }
        }
    }
    out
}

/// The `claims` table for one patient.
pub fn claims_table(pc: &PatientClaims) -> String {
    if pc.claims.is_empty() {
        return format!("No claims for patient {}.\n", pc.patient_id);
    }
    let mut t = Table::new(&[
        "CLAIM",
        "KIND",
        "CODE",
        "DOS",
        "AMOUNT",
        "RESP",
        "STATUS",
        "IMPORT",
        "LINE",
        "REFERENCE",
    ])
    .right_align(&[4, 8]);
    for c in &pc.claims {
        t.row(vec![
            c.claim_id.clone(),
            c.kind.clone(),
            c.service_code.clone(),
            c.date_of_service.clone(),
            money(&c.amount),
            c.responsibility.clone(),
            c.status.clone(),
            c.import_id.clone().unwrap_or_else(|| NONE.to_owned()),
            c.line.map_or_else(|| NONE.to_owned(), |l| l.to_string()),
            c.reference.clone().unwrap_or_else(|| NONE.to_owned()),
        ]);
    }
    format!(
        "Patient {}: {} claim(s)\n{}",
        pc.patient_id,
        pc.claims.len(),
        t.render()
    )
}

/// `settings` output.
pub fn settings(s: &Settings) -> String {
    format!("tenant:    {}\ntime zone: {}\n", s.tenant_id, s.time_zone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Problem;

    #[test]
    fn money_gets_thousands_separators_and_odd_values_pass_through() {
        assert_eq!(money("123.45"), "123.45");
        assert_eq!(money("1234.5"), "1,234.5");
        assert_eq!(money("1234567.89"), "1,234,567.89");
        assert_eq!(money("-1000.00"), "-1,000.00");
        assert_eq!(money("100000"), "100,000");
        assert_eq!(money("0.00"), "0.00");
        assert_eq!(money("1e5"), "1e5");
        assert_eq!(money(""), "");
    }

    #[test]
    fn byte_sizes_are_readable() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KB");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MB");
    }

    fn import() -> Import {
        serde_json::from_str(
            r#"{"id":"imp1","status":"ready_for_review","file_name":"b.csv","size_bytes":2048,
                "sha256":"abc","counts":{"total":10,"valid":7,"flagged":1,"invalid":1,"skipped":1},
                "totals":{"patient_balance":"1234.50","insurance_balance":"0.00"},"progress":1.0,
                "failure":null,"uploaded_by":"alice","uploaded_at":"2024-05-01T10:00:00Z",
                "approved_by":null,"approved_at":null,"date_of_service":null,"claims_created":0,
                "completed_at":null,"voided_by":null,"voided_at":null}"#,
        )
        .expect("fixture is valid JSON")
    }

    #[test]
    fn a_reviewable_summary_shows_counts_and_totals_but_not_approval() {
        let s = summary(&import());
        assert_eq!(
            s,
            "id:       imp1\n\
             status:   ready_for_review\n\
             file:     b.csv (2.0 KB, sha256 abc)\n\
             rows:     10 total: 7 valid, 1 flagged, 1 invalid, 1 skipped\n\
             totals:   patient 1,234.50, insurance 0.00\n\
             uploaded: 2024-05-01T10:00:00Z by alice\n"
        );
    }

    #[test]
    fn a_completed_summary_shows_approval_and_claims() {
        let mut i = import();
        i.status = "completed".into();
        i.approved_by = Some("bob".into());
        i.approved_at = Some("2024-05-02T09:00:00Z".into());
        i.date_of_service = Some("2024-04-30".into());
        i.claims_created = Some(8);
        i.completed_at = Some("2024-05-02T09:01:00Z".into());
        let s = summary(&i);
        assert!(
            s.contains("approved:  2024-05-02T09:00:00Z by bob\n"),
            "{s}"
        );
        assert!(
            s.contains("service:   date 2024-04-30, 8 claims created\n"),
            "{s}"
        );
        assert!(s.contains("completed: 2024-05-02T09:01:00Z\n"), "{s}");
    }

    #[test]
    fn a_failed_summary_shows_the_reason_and_progress_while_running() {
        let mut i = import();
        i.status = "failed".into();
        i.failure = Some("file is not CSV".into());
        assert!(summary(&i).contains("failure:  file is not CSV\n"));
        i.status = "validating".into();
        i.failure = None;
        i.progress = Some(0.42);
        assert!(summary(&i).contains("progress: 42%\n"));
    }

    #[test]
    fn a_row_line_shows_identity_balances_and_problems() {
        let row = Row {
            line: 12,
            status: "invalid".into(),
            values: serde_json::from_str(
                r#"{"patient_account_number":"A-1","last_name":"Doe","first_name":"Jane"}"#,
            )
            .expect("fixture is valid JSON"),
            patient_balance: None,
            insurance_balance: Some("5.00".into()),
            patient_id: Some("P1".into()),
            problems: vec![Problem {
                code: "bad_money".into(),
                column: Some("patient_balance".into()),
                message: "not an amount".into(),
            }],
        };
        assert_eq!(
            row_lines(&[row]),
            "line 12     invalid  acct A-1  patient P1  Doe, Jane  pt -  ins 5.00\n    \
             patient_balance: not an amount [bad_money]\n"
        );
    }
}
