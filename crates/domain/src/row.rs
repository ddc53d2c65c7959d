//! The rules that decide what happens to one row.
//!
//! A row is judged in two steps: [`Row::validate`] checks its cells alone,
//! then [`Row::apply_match`] adds what the patient directory said. Rules
//! that need the whole file (the same patient on several lines) are applied
//! by whoever holds the whole file, with [`Problem::duplicate_patient`].

use crate::date::{self, DateError};
use crate::matching::MatchOutcome;
use crate::money::{self, AmountError};
use crate::problem::{Problem, ProblemCode};
use crate::reader::RawRow;
use crate::template::Column;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// What will happen to a row on Save.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Will become a BF claim.
    Valid,
    /// Matched, but something needs a person's eye; left out for now.
    Flagged,
    /// Cannot be imported as it is.
    Invalid,
    /// Nothing to import (both balances zero).
    Skipped,
}

impl RowStatus {
    /// Every status, in the order the review shows them.
    pub const ALL: [RowStatus; 4] = [
        RowStatus::Valid,
        RowStatus::Flagged,
        RowStatus::Invalid,
        RowStatus::Skipped,
    ];

    /// The status as stored and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Valid => "valid",
            RowStatus::Flagged => "flagged",
            RowStatus::Invalid => "invalid",
            RowStatus::Skipped => "skipped",
        }
    }

    /// Parses a stored status.
    pub fn parse(s: &str) -> Option<RowStatus> {
        RowStatus::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One row, judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub raw: RawRow,
    pub status: RowStatus,
    pub problems: Vec<Problem>,
    pub date_of_birth: Option<NaiveDate>,
    pub patient_balance: Option<Decimal>,
    /// Zero when the column is absent or empty.
    pub insurance_balance: Option<Decimal>,
    pub balance_as_of: Option<NaiveDate>,
    pub matched_patient_id: Option<String>,
    awaiting_match: bool,
}

impl Row {
    /// Checks the row's cells on their own.
    pub fn validate(raw: RawRow) -> Row {
        let mut problems = Vec::new();
        check_width(&raw, &mut problems);
        check_identity(&raw, &mut problems);
        let date_of_birth = required_date(&raw, Column::DateOfBirth, &mut problems);
        let patient_balance = amount(&raw, Column::PatientBalance, true, &mut problems);
        let insurance_balance = amount(&raw, Column::InsuranceBalance, false, &mut problems);
        let balance_as_of = optional_date(&raw, Column::BalanceAsOf, &mut problems);

        let zero = patient_balance.is_some_and(|b| b.is_zero())
            && insurance_balance.is_some_and(|b| b.is_zero());
        let status = if !problems.is_empty() {
            RowStatus::Invalid
        } else if zero {
            problems.push(Problem::new(
                ProblemCode::ZeroBalance,
                "",
                "Both balances are zero, so there is nothing to import.",
            ));
            RowStatus::Skipped
        } else {
            RowStatus::Valid
        };
        Row {
            raw,
            awaiting_match: status == RowStatus::Valid,
            status,
            problems,
            date_of_birth,
            patient_balance,
            insurance_balance,
            balance_as_of,
            matched_patient_id: None,
        }
    }

    /// The file's line number.
    pub fn line(&self) -> u32 {
        self.raw.line
    }

    /// Whether the row still needs the patient directory's answer.
    pub fn needs_match(&self) -> bool {
        self.awaiting_match
    }

    /// Records what the patient directory said about this row.
    pub fn apply_match(&mut self, outcome: MatchOutcome) {
        if !self.awaiting_match {
            return;
        }
        self.awaiting_match = false;
        let key_column = if self.raw.cell(Column::PatientId).is_empty() {
            Column::PatientAccountNumber
        } else {
            Column::PatientId
        };
        match outcome {
            MatchOutcome::Matched { patient_id } => self.matched_patient_id = Some(patient_id),
            MatchOutcome::Mismatched {
                patient_id,
                columns,
            } => {
                for column in columns {
                    self.problems.push(Problem::new(
                        ProblemCode::IdentityMismatch,
                        column.name(),
                        format!(
                            "{} does not agree with the patient directory for patient {patient_id}.",
                            column.name()
                        ),
                    ));
                }
                self.matched_patient_id = Some(patient_id);
                self.status = RowStatus::Flagged;
            }
            MatchOutcome::NotFound => {
                self.problems.push(Problem::new(
                    ProblemCode::PatientNotFound,
                    key_column.name(),
                    format!(
                        "No patient in the directory has this {}.",
                        key_column.name()
                    ),
                ));
                self.status = RowStatus::Invalid;
            }
            MatchOutcome::Ambiguous { count } => {
                self.problems.push(Problem::new(
                    ProblemCode::PatientAmbiguous,
                    key_column.name(),
                    format!(
                        "{count} patients in the directory share this {}; add patient_id to say which.",
                        key_column.name()
                    ),
                ));
                self.status = RowStatus::Invalid;
            }
        }
    }
}

fn check_width(raw: &RawRow, problems: &mut Vec<Problem>) {
    if raw.field_count != raw.header_width {
        problems.push(Problem::new(
            ProblemCode::FieldCount,
            "",
            format!(
                "This line has {} fields but the header has {}; check for a missing or extra separator.",
                raw.field_count, raw.header_width
            ),
        ));
    }
}

fn check_identity(raw: &RawRow, problems: &mut Vec<Problem>) {
    if raw.cell(Column::PatientAccountNumber).is_empty() && raw.cell(Column::PatientId).is_empty() {
        problems.push(Problem::new(
            ProblemCode::Required,
            Column::PatientAccountNumber.name(),
            "patient_account_number is required when patient_id is empty.",
        ));
    }
    for column in [Column::LastName, Column::FirstName] {
        if raw.cell(column).is_empty() {
            problems.push(required(column));
        }
    }
}

fn required(column: Column) -> Problem {
    Problem::new(
        ProblemCode::Required,
        column.name(),
        format!("{} is required.", column.name()),
    )
}

fn required_date(raw: &RawRow, column: Column, problems: &mut Vec<Problem>) -> Option<NaiveDate> {
    if raw.cell(column).is_empty() {
        problems.push(required(column));
        return None;
    }
    optional_date(raw, column, problems)
}

fn optional_date(raw: &RawRow, column: Column, problems: &mut Vec<Problem>) -> Option<NaiveDate> {
    let cell = raw.cell(column);
    if cell.is_empty() {
        return None;
    }
    match date::parse_iso(cell) {
        Ok(d) => Some(d),
        Err(e) => {
            let hint = match e {
                DateError::NotIso => " Write it as YYYY-MM-DD, e.g. 1984-03-07.",
                DateError::NoSuchDay => "",
            };
            problems.push(Problem::new(
                ProblemCode::InvalidDate,
                column.name(),
                format!("{} {e}.{hint}", column.name()),
            ));
            None
        }
    }
}

fn amount(
    raw: &RawRow,
    column: Column,
    is_required: bool,
    problems: &mut Vec<Problem>,
) -> Option<Decimal> {
    let cell = raw.cell(column);
    if cell.is_empty() {
        if is_required {
            problems.push(required(column));
            return None;
        }
        return Some(money::normalize(Decimal::ZERO));
    }
    match money::parse_plain(cell) {
        Ok(v) => Some(v),
        Err(e) => {
            let code = match e {
                AmountError::NotDecimal => ProblemCode::InvalidAmount,
                AmountError::TooManyPlaces(_) => ProblemCode::TooManyDecimals,
                AmountError::TooLarge => ProblemCode::AmountTooLarge,
            };
            problems.push(Problem::new(
                code,
                column.name(),
                format!("{} {e}.", column.name()),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::ImportReader;

    const HEADER: &str = "patient_account_number,patient_id,last_name,first_name,date_of_birth,patient_balance,insurance_balance,balance_as_of,reference\n";

    fn row(line: &str) -> Row {
        let text = format!("{HEADER}{line}\n");
        let mut r = ImportReader::csv(text.as_bytes()).unwrap();
        Row::validate(r.next_row().unwrap().unwrap())
    }

    fn codes(r: &Row) -> Vec<(ProblemCode, &str)> {
        r.problems
            .iter()
            .map(|p| (p.code, p.column.as_str()))
            .collect()
    }

    #[test]
    fn a_complete_row_awaits_its_match() {
        let r = row("000123,,Peña,Zoë,1984-03-07,125.50,310,2026-11-20,old acct");
        assert_eq!(r.status, RowStatus::Valid);
        assert!(r.needs_match());
        assert!(r.problems.is_empty());
        assert_eq!(r.patient_balance.unwrap().to_string(), "125.50");
        assert_eq!(r.insurance_balance.unwrap().to_string(), "310.00");
        assert_eq!(r.raw.cell(Column::PatientAccountNumber), "000123");
    }

    #[test]
    fn empty_required_fields_are_invalid_and_named() {
        // An all-empty line is blank and ignored; give it one non-empty cell.
        let r = row(",,,,,,,,ref");
        assert_eq!(r.status, RowStatus::Invalid);
        assert_eq!(
            codes(&r),
            [
                (ProblemCode::Required, "patient_account_number"),
                (ProblemCode::Required, "last_name"),
                (ProblemCode::Required, "first_name"),
                (ProblemCode::Required, "date_of_birth"),
                (ProblemCode::Required, "patient_balance"),
            ]
        );
        assert!(!r.needs_match());
    }

    #[test]
    fn patient_id_alone_identifies_the_patient() {
        let r = row(",P-1,Doe,Jane,1980-01-02,10,,,");
        assert_eq!(r.status, RowStatus::Valid);
    }

    #[test]
    fn bad_amounts_are_invalid() {
        let r = row("1,,Doe,Jane,1980-01-02,12.345,abc,,");
        assert_eq!(r.status, RowStatus::Invalid);
        assert_eq!(
            codes(&r),
            [
                (ProblemCode::TooManyDecimals, "patient_balance"),
                (ProblemCode::InvalidAmount, "insurance_balance")
            ]
        );
        assert!(r.problems[0].message.contains("never rounded"));
    }

    #[test]
    fn bad_dates_are_invalid() {
        let r = row("1,,Doe,Jane,03/07/1984,1,,2026-02-30,");
        assert_eq!(
            codes(&r),
            [
                (ProblemCode::InvalidDate, "date_of_birth"),
                (ProblemCode::InvalidDate, "balance_as_of")
            ]
        );
        assert!(r.problems[0].message.contains("YYYY-MM-DD"));
    }

    #[test]
    fn wrong_field_count_is_invalid_with_both_counts() {
        let r = row("1,,Doe,Jane,1980-01-02,1,,,,extra");
        assert_eq!(r.status, RowStatus::Invalid);
        assert!(r.problems[0]
            .message
            .contains("10 fields but the header has 9"));
    }

    #[test]
    fn zero_balances_are_skipped() {
        let r = row("1,,Doe,Jane,1980-01-02,0.00,0,,");
        assert_eq!(r.status, RowStatus::Skipped);
        assert_eq!(codes(&r), [(ProblemCode::ZeroBalance, "")]);
        assert!(!r.needs_match());
        let r = row("1,,Doe,Jane,1980-01-02,0,,,");
        assert_eq!(r.status, RowStatus::Skipped);
    }

    #[test]
    fn credits_and_insurance_only_balances_are_valid() {
        assert_eq!(
            row("1,,Doe,Jane,1980-01-02,-20.00,,,").status,
            RowStatus::Valid
        );
        assert_eq!(
            row("1,,Doe,Jane,1980-01-02,0,45.10,,").status,
            RowStatus::Valid
        );
    }

    #[test]
    fn a_matched_row_stays_valid_with_its_patient() {
        let mut r = row("1,,Doe,Jane,1980-01-02,5,,,");
        r.apply_match(MatchOutcome::Matched {
            patient_id: "P-9".into(),
        });
        assert_eq!(r.status, RowStatus::Valid);
        assert_eq!(r.matched_patient_id.as_deref(), Some("P-9"));
        assert!(!r.needs_match());
    }

    #[test]
    fn a_name_or_birth_date_mismatch_is_flagged() {
        let mut r = row("1,,Doe,Jane,1980-01-02,5,,,");
        r.apply_match(MatchOutcome::Mismatched {
            patient_id: "P-9".into(),
            columns: vec![Column::LastName, Column::DateOfBirth],
        });
        assert_eq!(r.status, RowStatus::Flagged);
        assert_eq!(
            codes(&r),
            [
                (ProblemCode::IdentityMismatch, "last_name"),
                (ProblemCode::IdentityMismatch, "date_of_birth")
            ]
        );
        assert_eq!(r.matched_patient_id.as_deref(), Some("P-9"));
    }

    #[test]
    fn an_unmatched_row_is_invalid() {
        let mut r = row("1,,Doe,Jane,1980-01-02,5,,,");
        r.apply_match(MatchOutcome::NotFound);
        assert_eq!(r.status, RowStatus::Invalid);
        assert_eq!(
            codes(&r),
            [(ProblemCode::PatientNotFound, "patient_account_number")]
        );
        let mut r = row("1,P-7,Doe,Jane,1980-01-02,5,,,");
        r.apply_match(MatchOutcome::NotFound);
        assert_eq!(codes(&r), [(ProblemCode::PatientNotFound, "patient_id")]);
    }

    #[test]
    fn a_shared_account_number_is_invalid() {
        let mut r = row("1,,Doe,Jane,1980-01-02,5,,,");
        r.apply_match(MatchOutcome::Ambiguous { count: 2 });
        assert_eq!(r.status, RowStatus::Invalid);
        assert!(r.problems[0].message.contains("2 patients"));
    }

    #[test]
    fn duplicate_patients_name_every_line() {
        let p = Problem::duplicate_patient(&[4, 17]);
        assert_eq!(p.code, ProblemCode::DuplicatePatient);
        assert!(p.message.contains("lines 4, 17"));
    }

    #[test]
    fn problem_messages_never_quote_the_cell() {
        let r = row("1,,Doe,Jane,1980-13-45,99.999,,,");
        for p in &r.problems {
            assert!(!p.message.contains("1980-13-45") && !p.message.contains("99.999"));
        }
    }

    #[test]
    fn status_round_trips_as_text() {
        for s in RowStatus::ALL {
            assert_eq!(RowStatus::parse(s.as_str()), Some(s));
        }
    }
}
