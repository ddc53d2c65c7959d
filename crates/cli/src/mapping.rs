//! Header mappings both ways: `--map 'Header=column'` arguments into the
//! JSON object the gateway takes, and the gateway's record of how each
//! header was read back into text for people.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::CliError;
use crate::table::Table;

/// How an ignored column is shown.
const IGNORED: &str = "(ignored)";

/// Parse repeated `--map HEADER=COLUMN` values into header → column.
/// `HEADER=` (empty column) ignores that column. The split is at the last
/// `=` because template column names never contain one but a spreadsheet
/// header might ("Bal=Pt+Ins"). Both sides are trimmed so shell quoting
/// like `'Acct # = patient_account_number'` does what it looks like; a
/// header given twice is refused rather than silently taking the last.
pub fn parse(args: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    let mut mapping = BTreeMap::new();
    for arg in args {
        let Some((header, column)) = arg.rsplit_once('=') else {
            return Err(CliError::Input(format!(
                "--map `{arg}`: expected HEADER=COLUMN, or HEADER= to ignore the column"
            )));
        };
        let (header, column) = (header.trim(), column.trim());
        if header.is_empty() {
            return Err(CliError::Input(format!(
                "--map `{arg}`: the header before `=` is empty"
            )));
        }
        if mapping
            .insert(header.to_owned(), column.to_owned())
            .is_some()
        {
            return Err(CliError::Input(format!(
                "--map: header `{header}` is mapped more than once"
            )));
        }
    }
    Ok(mapping)
}

/// The mapping as the JSON text of the upload's `mapping` parameter.
pub fn to_json(mapping: &BTreeMap<String, String>) -> String {
    // A map of strings always serializes; the fallback is unreachable.
    serde_json::to_string(mapping).unwrap_or_else(|_| "{}".to_owned())
}

/// One header and the template column it was read as ("" = ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadAs {
    /// The header as written in the file.
    pub header: String,
    /// Template column, or "" when the column was ignored.
    pub column: String,
}

/// The import's `header_mapping`, in file order. The gateway sends
/// `[{"header","column"}]`; a bare list of column names (which its schema
/// also describes) is accepted too, with headers named by position.
pub fn read_as(header_mapping: Option<&Value>) -> Vec<ReadAs> {
    let Some(Value::Array(items)) = header_mapping else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
            match item {
                Value::Object(o) => ReadAs {
                    header: text(o.get("header")),
                    column: text(o.get("column")),
                },
                other => ReadAs {
                    header: format!("column {}", i + 1),
                    column: text(Some(other)),
                },
            }
        })
        .collect()
}

fn column_text(column: &str) -> &str {
    if column.is_empty() {
        IGNORED
    } else {
        column
    }
}

/// One line: "Acct # → patient_account_number, Notes → (ignored)".
pub fn compact(entries: &[ReadAs]) -> String {
    entries
        .iter()
        .map(|e| format!("{} → {}", e.header, column_text(&e.column)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `status --mapping`: one header per line, in file order.
pub fn table(entries: &[ReadAs]) -> String {
    if entries.is_empty() {
        return "No header mapping yet (the file has not been read).\n".to_owned();
    }
    let mut t = Table::new(&["HEADER", "COLUMN"]);
    for e in entries {
        t.row(vec![e.header.clone(), column_text(&e.column).to_owned()]);
    }
    t.render()
}

/// A profile's or upload's mapping object on one line, sorted by header.
pub fn compact_map(mapping: &BTreeMap<String, String>) -> String {
    let entries: Vec<ReadAs> = mapping
        .iter()
        .map(|(h, c)| ReadAs {
            header: h.clone(),
            column: c.clone(),
        })
        .collect();
    compact(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn map_arguments_become_a_json_object_and_empty_means_ignore() {
        let m = parse(&args(&[
            "Acct #=patient_account_number",
            " Notes = ",
            "Bal=Pt+Ins=patient_balance",
        ]))
        .unwrap();
        assert_eq!(
            to_json(&m),
            r#"{"Acct #":"patient_account_number","Bal=Pt+Ins":"patient_balance","Notes":""}"#
        );
        assert_eq!(to_json(&BTreeMap::new()), "{}");
    }

    #[test]
    fn malformed_or_repeated_map_arguments_are_refused() {
        assert!(parse(&args(&["Notes"]))
            .unwrap_err()
            .to_string()
            .contains("HEADER=COLUMN"));
        assert!(parse(&args(&["=x"]))
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let twice = parse(&args(&["A=x", "A =y"])).unwrap_err().to_string();
        assert!(twice.contains("`A` is mapped more than once"), "{twice}");
    }

    #[test]
    fn header_mapping_reads_objects_or_bare_columns() {
        let v: Value = serde_json::from_str(
            r#"[{"header":"Acct #","column":"patient_account_number"},{"header":"Notes","column":""}]"#,
        )
        .unwrap();
        let entries = read_as(Some(&v));
        assert_eq!(
            compact(&entries),
            "Acct # → patient_account_number, Notes → (ignored)"
        );
        assert_eq!(
            table(&entries),
            "HEADER  COLUMN\nAcct #  patient_account_number\nNotes   (ignored)\n"
        );
        let bare: Value = serde_json::from_str(r#"["last_name",""]"#).unwrap();
        assert_eq!(
            compact(&read_as(Some(&bare))),
            "column 1 → last_name, column 2 → (ignored)"
        );
        assert!(read_as(None).is_empty());
        assert!(read_as(Some(&Value::Null)).is_empty());
    }
}
