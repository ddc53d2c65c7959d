//! Human-readable output. Everything here is pure (returns a `String`) so
//! it can be tested; [`emit`] is the one place that writes to stdout.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::Value;

use serde_json::Map;

use crate::api::{Claim, Import, PatientClaims, Prior, Reconciliation, Row, Settings, REVIEWABLE};
use crate::error::CliError;
use crate::mapping;
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

/// An amount in dollars: "$1,234.50", "-$20.00".
pub fn dollars(amount: &str) -> String {
    let m = money(amount);
    match m.strip_prefix('-') {
        Some(rest) => format!("-${rest}"),
        None => format!("${m}"),
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
    if let Some(format) = read_format(i) {
        lines.push(("format", format));
    }
    let read_as = mapping::read_as(i.header_mapping.as_ref());
    if !read_as.is_empty() {
        lines.push(("mapping", mapping::compact(&read_as)));
    }
    if let Some(options) = i.options.as_ref().and_then(reading_options) {
        lines.push(("options", options));
    }

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
            let mut text = format!("{:.0}%", p.clamp(0.0, 1.0) * 100.0);
            if let Some(n) = i.rows_processed.filter(|n| *n > 0) {
                let _ = write!(text, " ({} rows read)", money(&n.to_string()));
            }
            lines.push(("progress", text));
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
    if let Some(d) = i.decisions.as_ref().and_then(decisions) {
        lines.push(("decisions", d));
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
    if let Some(r) = &i.reconciliation {
        out.push_str(&reconciliation(r));
    }
    out
}

/// "csv, UTF-8 with BOM, delimiter tab": how the gateway read the file,
/// once it has; `None` before then.
fn read_format(i: &Import) -> Option<String> {
    let mut parts = vec![i.file_format.clone()?];
    if let Some(e) = i.encoding.as_deref().filter(|e| !e.is_empty()) {
        parts.push(e.to_owned());
    }
    if let Some(d) = i.delimiter.as_deref().filter(|d| !d.is_empty()) {
        parts.push(format!("delimiter {}", delimiter(d)));
    }
    Some(parts.join(", "))
}

/// A delimiter by name, since a tab or space is invisible on a terminal.
fn delimiter(d: &str) -> String {
    match d {
        "," => "comma".to_owned(),
        "\t" | "\\t" => "tab".to_owned(),
        ";" => "semicolon".to_owned(),
        "|" => "pipe".to_owned(),
        " " => "space".to_owned(),
        other => format!("{other:?}"),
    }
}

/// The options that change how values were read, beyond the mapping
/// (shown on its own line): "dates month_day_year, decimals comma,
/// ceiling 100,000.00". `None` when the gateway recorded none of them.
fn reading_options(o: &Map<String, Value>) -> Option<String> {
    let text = |k: &str| match o.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut parts = Vec::new();
    if let Some(f) = text("date_format") {
        parts.push(format!("dates {f}"));
    }
    if let Some(d) = text("decimal_style") {
        parts.push(format!("decimals {d}"));
    }
    if let Some(c) = text("balance_ceiling") {
        parts.push(format!("ceiling {}", money(&c)));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The decisions taken at Save: "accept flagged lines 3, 9; earlier BF
/// post_difference". `None` when there is nothing recognisable to show.
fn decisions(d: &Value) -> Option<String> {
    let accept = match d.get("accept_flagged") {
        Some(Value::String(w)) => Some(w.clone()),
        Some(Value::Array(lines)) => Some(format!(
            "lines {}",
            lines
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => None,
    };
    let existing = d.get("existing_balance_forward").and_then(Value::as_str);
    let mut parts = Vec::new();
    if let Some(a) = accept {
        parts.push(format!("accept flagged {a}"));
    }
    if let Some(e) = existing {
        parts.push(format!("earlier BF {e}"));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A reconciliation value: amounts and counts with separators, "-" for
/// a total that was not entered.
fn reconciled(map: &Map<String, Value>, key: &str) -> String {
    match map.get(key) {
        Some(Value::String(s)) => money(s),
        Some(Value::Number(n)) => money(&n.to_string()),
        _ => NONE.to_owned(),
    }
}

/// Whether a difference is zero, whatever its spelling ("0", "0.00", 0).
fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => {
            let digits = s.trim().trim_start_matches(['-', '+']);
            !digits.is_empty() && digits.bytes().all(|b| b == b'0' || b == b'.')
        }
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => true,
    }
}

/// The reconciliation block under the summary: a verdict, then expected
/// vs file vs difference for each total.
pub fn reconciliation(r: &Reconciliation) -> String {
    const TOTALS: [(&str, &str); 3] = [
        ("patient_balance", "patient balance"),
        ("credit_total", "credit total"),
        ("patient_count", "patients"),
    ];
    let verdict = if r.difference.is_empty() {
        "nothing to compare"
    } else if r.difference.values().all(is_zero) {
        "matches the old system"
    } else {
        "differs from the old system"
    };
    let mut t = Table::new(&["", "EXPECTED", "FILE", "DIFFERENCE"]).right_align(&[1, 2, 3]);
    for (key, label) in TOTALS {
        t.row(vec![
            label.to_owned(),
            reconciled(&r.expected, key),
            reconciled(&r.file, key),
            reconciled(&r.difference, key),
        ]);
    }
    let mut out = format!("reconciliation: {verdict}\n");
    for line in t.render().lines() {
        let _ = writeln!(out, "  {line}");
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
        // The row line was written with a newline; put the extras before it.
        let extras = row_extras(r);
        if !extras.is_empty() {
            out.pop();
            let _ = writeln!(out, "{extras}");
        }
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

/// What follows a row's balances: the patient's earlier Balance Forward
/// (so skip / post difference / post full can be judged at a glance) and
/// whether Save will post a flagged row.
fn row_extras(r: &Row) -> String {
    let mut out = String::new();
    if let Some(p) = &r.prior {
        let _ = write!(out, "  {}", prior(p));
    }
    if r.accepted {
        out.push_str("  accepted");
    }
    out
}

/// "earlier BF: 100.00 on 2026-11-20", with the insurance part only when
/// there was one.
pub fn prior(p: &Prior) -> String {
    let mut out = format!("earlier BF: {}", opt_money(p.patient_amount.as_deref()));
    if let Some(ins) = p
        .insurance_amount
        .as_deref()
        .filter(|a| !is_zero(&Value::String((*a).to_owned())))
    {
        let _ = write!(out, " (ins {})", money(ins));
    }
    if let Some(d) = &p.date_of_service {
        let _ = write!(out, " on {d}");
    }
    out
}

/// Aging buckets on one line: "10.00/0.00/0.00/5.00/0.00".
fn aging(c: &Claim) -> String {
    match &c.aging {
        Some(buckets) if !buckets.is_empty() => buckets
            .iter()
            .map(|b| money(b))
            .collect::<Vec<_>>()
            .join("/"),
        _ => NONE.to_owned(),
    }
}

/// The `claims` table for one patient.
pub fn claims_table(pc: &PatientClaims) -> String {
    if pc.claims.is_empty() {
        return format!("No claims for patient {}.\n", pc.patient_id);
    }
    // Aging only gets a column when some claim has it, to keep the common
    // table narrow.
    let with_aging = pc.claims.iter().any(|c| c.aging.is_some());
    let mut headers = vec![
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
    ];
    if with_aging {
        headers.push("AGING 0-30/31-60/61-90/91-120/120+");
    }
    let mut t = Table::new(&headers).right_align(&[4, 8]);
    for c in &pc.claims {
        let mut cells = vec![
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
        ];
        if with_aging {
            cells.push(aging(c));
        }
        t.row(cells);
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
    let mut out = format!(
        "tenant:          {}\ntime zone:       {}\n",
        s.tenant_id, s.time_zone
    );
    if let Some(c) = &s.balance_ceiling {
        let _ = writeln!(out, "balance ceiling: {}", money(c));
    }
    out
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
            ..Row::default()
        };
        assert_eq!(
            row_lines(&[row]),
            "line 12     invalid  acct A-1  patient P1  Doe, Jane  pt -  ins 5.00\n    \
             patient_balance: not an amount [bad_money]\n"
        );
    }

    #[test]
    fn dollars_put_the_sign_before_the_symbol() {
        assert_eq!(dollars("1234.5"), "$1,234.5");
        assert_eq!(dollars("-20.00"), "-$20.00");
    }

    #[test]
    fn a_read_file_shows_format_mapping_options_and_decisions() {
        let mut i: Import = serde_json::from_str(
            r#"{"id":"imp1","status":"completed","file_format":"csv","encoding":"UTF-8 with BOM",
                "delimiter":"\t","header_mapping":[{"header":"Acct #","column":"patient_account_number"},
                {"header":"Notes","column":""}],"options":{"mapping":{},"date_format":"month_day_year",
                "decimal_style":"dot","balance_ceiling":"100000.00","today":"2026-12-01"},
                "decisions":{"accept_flagged":[3,9],"existing_balance_forward":"post_difference"}}"#,
        )
        .expect("fixture is valid JSON");
        let s = summary(&i);
        assert!(
            s.contains("format:    csv, UTF-8 with BOM, delimiter tab\n"),
            "{s}"
        );
        assert!(
            s.contains("mapping:   Acct # → patient_account_number, Notes → (ignored)\n"),
            "{s}"
        );
        assert!(
            s.contains("options:   dates month_day_year, decimals dot, ceiling 100,000.00\n"),
            "{s}"
        );
        assert!(
            s.contains("decisions: accept flagged lines 3, 9; earlier BF post_difference\n"),
            "{s}"
        );
        i.file_format = Some("xlsx".into());
        i.encoding = None;
        i.delimiter = None;
        assert!(summary(&i).contains("format:    xlsx\n"));
    }

    #[test]
    fn progress_counts_rows_read_while_parsing() {
        let mut i = import();
        i.status = "parsing".into();
        i.progress = Some(0.5);
        i.rows_processed = Some(1200);
        assert!(summary(&i).contains("progress: 50% (1,200 rows read)\n"));
    }

    #[test]
    fn reconciliation_shows_expected_file_and_difference() {
        let r: Reconciliation = serde_json::from_str(
            r#"{"expected":{"patient_balance":"1234.50","credit_total":null,"patient_count":120},
                "file":{"patient_balance":"1230.00","credit_total":"-12.00","patient_count":119},
                "difference":{"patient_balance":"-4.50","patient_count":-1}}"#,
        )
        .expect("fixture is valid JSON");
        assert_eq!(
            reconciliation(&r),
            [
                "reconciliation: differs from the old system",
                "                   EXPECTED      FILE  DIFFERENCE",
                "  patient balance  1,234.50  1,230.00       -4.50",
                "  credit total            -    -12.00           -",
                "  patients              120       119          -1",
                "",
            ]
            .join("\n")
        );
        let same: Reconciliation = serde_json::from_str(
            r#"{"expected":{"patient_count":3},"file":{"patient_count":3},
                "difference":{"patient_count":0,"patient_balance":"0.00"}}"#,
        )
        .expect("fixture is valid JSON");
        assert!(reconciliation(&same).starts_with("reconciliation: matches the old system\n"));
        let mut i = import();
        i.reconciliation = Some(r);
        assert!(summary(&i).ends_with("patients              120       119          -1\n"));
    }

    #[test]
    fn a_row_with_an_earlier_bf_shows_it_beside_the_new_balance() {
        let row: Row = serde_json::from_str(
            r#"{"line":4,"status":"flagged","values":{"patient_account_number":"A-2"},
                "patient_balance":"120.00","insurance_balance":"0.00","patient_id":"P2",
                "prior":{"patient_amount":"100.00","insurance_amount":"0.00",
                         "date_of_service":"2026-11-20","import_id":"i0","claims":1},
                "accepted":true}"#,
        )
        .expect("fixture is valid JSON");
        assert_eq!(
            row_lines(&[row]),
            "line 4      flagged  acct A-2  patient P2  -  pt 120.00  ins 0.00  \
             earlier BF: 100.00 on 2026-11-20  accepted\n"
        );
        let p = Prior {
            patient_amount: Some("1000".into()),
            insurance_amount: Some("50.00".into()),
            ..Prior::default()
        };
        assert_eq!(prior(&p), "earlier BF: 1,000 (ins 50.00)");
    }

    #[test]
    fn claims_get_an_aging_column_only_when_some_claim_has_aging() {
        let mut pc: PatientClaims = serde_json::from_str(
            r#"{"patient_id":"P1","claims":[{"claim_id":"c1","kind":"balance_forward",
                "service_code":"BF","date_of_service":"2026-12-01","amount":"15.00",
                "responsibility":"patient","status":"active"}]}"#,
        )
        .expect("fixture is valid JSON");
        assert!(!claims_table(&pc).contains("AGING"));
        pc.claims[0].aging = Some(vec![
            "10.00".into(),
            "0.00".into(),
            "0.00".into(),
            "5.00".into(),
            "0.00".into(),
        ]);
        let t = claims_table(&pc);
        assert!(t.contains("AGING 0-30/31-60/61-90/91-120/120+"), "{t}");
        assert!(t.contains("10.00/0.00/0.00/5.00/0.00"), "{t}");
    }

    #[test]
    fn settings_show_the_ceiling_when_the_gateway_sends_it() {
        let s = Settings {
            tenant_id: "t".into(),
            time_zone: "America/Chicago".into(),
            balance_ceiling: Some("100000.00".into()),
        };
        assert_eq!(
            settings(&s),
            "tenant:          t\ntime zone:       America/Chicago\nbalance ceiling: 100,000.00\n"
        );
    }
}
