//! Which file column holds which template column.
//!
//! Matching is by normalised name today; synonyms and user-supplied
//! mappings slot in behind [`HeaderMap::detect`] without touching the row
//! rules.

use crate::template::{Column, Requirement};

/// For each position in the file's header, the template column it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMap {
    positions: Vec<Option<Column>>,
}

/// Why a header cannot be used; the whole file fails with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the header is missing required columns: {}", missing.join(", "))]
    MissingColumns { missing: Vec<&'static str> },
    #[error("the header names column {column} more than once (columns {first} and {second})")]
    DuplicateColumn {
        column: &'static str,
        first: usize,
        second: usize,
    },
}

/// Lower-case, trimmed, with spaces and hyphens as underscores, so
/// `Patient Balance` and `patient-balance` find `patient_balance`.
fn normalize(cell: &str) -> String {
    cell.trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

impl HeaderMap {
    /// Reads a header row and checks that every required column is there.
    pub fn detect<'a>(cells: impl IntoIterator<Item = &'a str>) -> Result<HeaderMap, HeaderError> {
        let positions: Vec<Option<Column>> = cells
            .into_iter()
            .map(|c| Column::from_name(&normalize(c)))
            .collect();
        let map = HeaderMap { positions };
        map.check_duplicates()?;
        map.check_required()?;
        Ok(map)
    }

    fn check_duplicates(&self) -> Result<(), HeaderError> {
        for (i, col) in self.positions.iter().enumerate() {
            let Some(col) = col else { continue };
            if let Some(j) = self.positions[i + 1..]
                .iter()
                .position(|c| c == &Some(*col))
            {
                return Err(HeaderError::DuplicateColumn {
                    column: col.name(),
                    first: i + 1,
                    second: i + j + 2,
                });
            }
        }
        Ok(())
    }

    fn check_required(&self) -> Result<(), HeaderError> {
        let missing: Vec<&'static str> = Column::ALL
            .into_iter()
            .filter(|c| match c.spec().requirement {
                Requirement::Required => !self.has(*c),
                Requirement::RequiredUnlessPatientId => {
                    !self.has(*c) && !self.has(Column::PatientId)
                }
                Requirement::Optional => false,
            })
            .map(Column::name)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(HeaderError::MissingColumns { missing })
        }
    }

    /// Whether the file carries this column.
    pub fn has(&self, column: Column) -> bool {
        self.positions.contains(&Some(column))
    }

    /// Number of fields in the header; every row should have as many.
    pub fn width(&self) -> usize {
        self.positions.len()
    }

    /// The template column at each header position (`None` = ignored).
    pub fn positions(&self) -> &[Option<Column>] {
        &self.positions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: [&str; 9] = [
        "patient_account_number",
        "patient_id",
        "last_name",
        "first_name",
        "date_of_birth",
        "patient_balance",
        "insurance_balance",
        "balance_as_of",
        "reference",
    ];

    #[test]
    fn template_header_maps_every_column() {
        let map = HeaderMap::detect(TEMPLATE).unwrap();
        assert_eq!(map.width(), 9);
        assert!(Column::ALL.iter().all(|c| map.has(*c)));
    }

    #[test]
    fn case_spaces_and_bom_do_not_matter() {
        let map = HeaderMap::detect([
            "\u{feff}Patient Account Number",
            " LAST_NAME ",
            "First-Name",
            "Date Of Birth",
            "Patient Balance",
            "notes",
        ])
        .unwrap();
        assert_eq!(map.positions()[0], Some(Column::PatientAccountNumber));
        assert_eq!(map.positions()[5], None);
    }

    #[test]
    fn missing_required_columns_are_named() {
        let err = HeaderMap::detect([
            "patient_account_number",
            "last_name",
            "first_name",
            "date_of_birth",
        ])
        .unwrap_err();
        assert_eq!(
            err,
            HeaderError::MissingColumns {
                missing: vec!["patient_balance"]
            }
        );
        assert_eq!(
            err.to_string(),
            "the header is missing required columns: patient_balance"
        );
    }

    #[test]
    fn patient_id_stands_in_for_the_account_number() {
        assert!(HeaderMap::detect([
            "patient_id",
            "last_name",
            "first_name",
            "date_of_birth",
            "patient_balance"
        ])
        .is_ok());
        let err = HeaderMap::detect([
            "last_name",
            "first_name",
            "date_of_birth",
            "patient_balance",
        ])
        .unwrap_err();
        assert_eq!(
            err,
            HeaderError::MissingColumns {
                missing: vec!["patient_account_number"]
            }
        );
    }

    #[test]
    fn a_column_named_twice_is_refused() {
        let mut cells = TEMPLATE.to_vec();
        cells.push("Last Name");
        let err = HeaderMap::detect(cells).unwrap_err();
        assert_eq!(
            err,
            HeaderError::DuplicateColumn {
                column: "last_name",
                first: 3,
                second: 10
            }
        );
    }
}
