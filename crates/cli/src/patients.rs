//! `patients load`: read a patient directory from JSON or CSV and upsert it
//! in chunks. Errors about the file name lines, items and columns only —
//! never cell values — so a shared terminal or CI log does not leak PHI.

use std::path::Path;

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use crate::api::Upserted;
use crate::client::{decode, Client};
use crate::error::CliError;
use crate::progress;

/// Patients per request: big enough to be quick, small enough to stay well
/// under the gateway's body limit.
pub const CHUNK: usize = 5000;

/// The columns (CSV) or keys (JSON) a patient has, in wire order.
pub const FIELDS: [&str; 5] = [
    "patient_id",
    "patient_account_number",
    "last_name",
    "first_name",
    "date_of_birth",
];

/// Fields that may be left out (sent as ""): the gateway defaults the
/// account number, since some practices match on name and birth date only.
pub const OPTIONAL: [&str; 1] = ["patient_account_number"];

/// One directory entry, exactly as `POST /v1/patients` takes it. Values are
/// passed through as text; the gateway owns validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Patient {
    /// The practice's patient id; what claims are attached to.
    pub patient_id: String,
    /// Account number, the usual key in balance files.
    pub patient_account_number: String,
    /// Family name, for matching.
    pub last_name: String,
    /// Given name, for matching.
    pub first_name: String,
    /// Birth date, `YYYY-MM-DD`, for matching.
    pub date_of_birth: String,
}

impl Patient {
    fn from_fields(mut get: impl FnMut(&str) -> String) -> Self {
        Patient {
            patient_id: get("patient_id"),
            patient_account_number: get("patient_account_number"),
            last_name: get("last_name"),
            first_name: get("first_name"),
            date_of_birth: get("date_of_birth"),
        }
    }
}

/// How a patient file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON array of objects.
    Json,
    /// CSV with a header row.
    Csv,
}

/// Decide by extension first (`.csv`, `.json`), else by content: a file
/// whose first non-blank character is `[` is JSON, anything else CSV.
pub fn detect(path: &Path, contents: &str) -> Format {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => Format::Csv,
        Some("json") => Format::Json,
        _ if contents.trim_start().starts_with('[') => Format::Json,
        _ => Format::Csv,
    }
}

/// Parse a patient file's text (a leading byte-order mark is ignored).
pub fn parse(path: &Path, contents: &str) -> Result<Vec<Patient>, CliError> {
    let contents = contents.strip_prefix('\u{feff}').unwrap_or(contents);
    match detect(path, contents) {
        Format::Json => from_json(contents),
        Format::Csv => from_csv(contents),
    }
}

/// Patients from CSV. Headers match case-insensitively and ignoring
/// surrounding spaces; extra columns are ignored; blank rows are skipped.
pub fn from_csv(contents: &str) -> Result<Vec<Patient>, CliError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(contents.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| CliError::Input(format!("patient CSV header: {}", csv_reason(&e))))?
        .clone();
    // index[k] is the column holding FIELDS[k], if the file has one.
    let mut index = Vec::with_capacity(FIELDS.len());
    let mut missing = Vec::new();
    for field in FIELDS {
        let at = headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(field));
        if at.is_none() && !OPTIONAL.contains(&field) {
            missing.push(field);
        }
        index.push(at);
    }
    if !missing.is_empty() {
        return Err(CliError::Input(format!(
            "patient CSV is missing column(s): {}",
            missing.join(", ")
        )));
    }
    let mut patients = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| CliError::Input(format!("patient CSV: {}", csv_reason(&e))))?;
        if record.iter().all(|cell| cell.is_empty()) {
            continue;
        }
        patients.push(Patient::from_fields(|field| {
            FIELDS
                .iter()
                .position(|f| *f == field)
                .and_then(|k| index.get(k).copied().flatten())
                .and_then(|i| record.get(i))
                .unwrap_or_default()
                .to_owned()
        }));
    }
    Ok(patients)
}

/// Where and why a CSV read failed, without the offending cell text.
fn csv_reason(e: &csv::Error) -> String {
    let line = e.position().map(|p| format!("line {}: ", p.line()));
    let why = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => "is malformed".to_owned(),
    };
    format!("{}{why}", line.unwrap_or_default())
}

/// Patients from a JSON array of objects. Numbers are accepted as text
/// (account numbers are often written unquoted); other keys are ignored.
pub fn from_json(contents: &str) -> Result<Vec<Patient>, CliError> {
    // serde_json's syntax errors give a line and column, not the text.
    let doc: Value = serde_json::from_str(contents)
        .map_err(|e| CliError::Input(format!("patient JSON is not valid: {e}")))?;
    let Value::Array(items) = doc else {
        return Err(CliError::Input(
            "patient JSON must be an array of objects".to_owned(),
        ));
    };
    let mut patients = Vec::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(CliError::Input(format!(
                "patient #{} in the JSON array is not an object",
                n + 1
            )));
        };
        for field in FIELDS {
            match obj.get(field) {
                Some(Value::String(_) | Value::Number(_)) => {}
                None | Some(Value::Null) if OPTIONAL.contains(&field) => {}
                Some(_) => {
                    return Err(CliError::Input(format!(
                        "patient #{}: `{field}` must be a string",
                        n + 1
                    )))
                }
                None => {
                    return Err(CliError::Input(format!(
                        "patient #{}: `{field}` is missing",
                        n + 1
                    )))
                }
            }
        }
        patients.push(Patient::from_fields(|field| match obj.get(field) {
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Number(x)) => x.to_string(),
            // Checked just above: the rest are absent optional fields.
            _ => String::new(),
        }));
    }
    Ok(patients)
}

/// Read, parse and upsert a patient file; returns how many the gateway
/// reports upserted.
pub async fn load(client: &Client, path: &Path) -> Result<u64, CliError> {
    let shown = path.display().to_string();
    let contents = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| CliError::Io {
            path: shown.clone(),
            source,
        })?;
    let patients = parse(path, &contents)?;
    if patients.is_empty() {
        return Err(CliError::Input(format!("{shown} contains no patients")));
    }
    let url = client.url(&["v1", "patients"])?;
    let pb = progress::items(patients.len() as u64, "patients");
    let mut upserted = 0;
    for chunk in patients.chunks(CHUNK) {
        let reply = client
            .send_json(Method::POST, url.clone(), Some(chunk))
            .await;
        let reply = match reply {
            Ok(r) => r,
            Err(e) => {
                pb.finish_and_clear();
                if upserted > 0 {
                    eprintln!("note: {upserted} patients were loaded before this error");
                }
                return Err(e);
            }
        };
        upserted += decode::<Upserted>(&reply.body)?.upserted;
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    Ok(upserted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jane() -> Patient {
        Patient {
            patient_id: "P1".into(),
            patient_account_number: "0042".into(),
            last_name: "Doe".into(),
            first_name: "Jane".into(),
            date_of_birth: "1980-02-29".into(),
        }
    }

    #[test]
    fn csv_rows_become_patients_whatever_the_column_order_and_case() {
        let csv = "\u{feff}First_Name, LAST_NAME ,patient_id,date_of_birth,patient_account_number,extra\r\n\
                   Jane,Doe,P1,1980-02-29,0042,ignored\r\n\
                   \r\n\
                   ,,,,,\r\n";
        let got = parse(Path::new("dir.csv"), csv).unwrap();
        assert_eq!(got, vec![jane()]);
        let json = serde_json::to_value(&got).unwrap();
        assert_eq!(json[0]["patient_account_number"], "0042");
    }

    #[test]
    fn a_csv_missing_columns_names_them() {
        let err = from_csv("patient_id,last_name\nP1,Doe\n").unwrap_err();
        let ok =
            from_csv("patient_id,last_name,first_name,date_of_birth\nP1,Doe,Jane,1980-02-29\n");
        assert_eq!(ok.unwrap()[0].patient_account_number, "");
        assert_eq!(
            err.to_string(),
            "patient CSV is missing column(s): first_name, date_of_birth"
        );
    }

    #[test]
    fn a_ragged_csv_row_is_reported_by_line_without_its_values() {
        let csv = "patient_id,patient_account_number,last_name,first_name,date_of_birth\n\
                   P1,0042,Doe,Jane,1980-02-29\n\
                   P2,SECRET-ACCT\n";
        let msg = from_csv(csv).unwrap_err().to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(!msg.contains("SECRET"), "{msg}");
    }

    #[test]
    fn a_json_array_becomes_patients_and_numbers_become_text() {
        let json = r#"[{"patient_id":"P1","patient_account_number":42,"last_name":"Doe",
                       "first_name":"Jane","date_of_birth":"1980-02-29","note":"x"}]"#;
        let got = parse(Path::new("dir.txt"), json).unwrap();
        assert_eq!(got[0].patient_account_number, "42");
        assert_eq!(got[0].last_name, "Doe");
    }

    #[test]
    fn bad_json_items_are_reported_by_position_without_values() {
        let json = r#"[{"patient_id":"P1","patient_account_number":"1","last_name":"Doe",
                        "first_name":"Jane","date_of_birth":"1980-02-29"},
                       {"patient_id":"P2","patient_account_number":"2","last_name":["Secret"],
                        "first_name":"J","date_of_birth":"1980-01-01"}]"#;
        let msg = from_json(json).unwrap_err().to_string();
        assert_eq!(msg, "patient #2: `last_name` must be a string");
        assert!(from_json(r#"{"patient_id":"P1"}"#).is_err());
        let no_account = r#"[{"patient_id":"P1","last_name":"Doe","first_name":"Jane",
                              "date_of_birth":"1980-02-29"}]"#;
        assert_eq!(from_json(no_account).unwrap()[0].patient_account_number, "");
    }

    #[test]
    fn format_is_decided_by_extension_then_content() {
        assert_eq!(detect(Path::new("a.CSV"), "[x"), Format::Csv);
        assert_eq!(detect(Path::new("a.json"), "x"), Format::Json);
        assert_eq!(detect(Path::new("a"), "  \n[{}]"), Format::Json);
        assert_eq!(detect(Path::new("a"), "patient_id,x"), Format::Csv);
    }
}
