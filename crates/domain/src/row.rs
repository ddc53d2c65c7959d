//! The rules that decide what happens to one row.
//!
//! A row is judged in two steps: [`Row::validate`] checks its cells alone,
//! then [`Row::apply_match`] adds what the patient directory said. Rules
//! that need the whole file (the same patient on several lines) are applied
//! by whoever holds the whole file, with [`Problem::duplicate_patient`].
//!
//! Problems come in two kinds ([`ProblemCode::is_flag`]): flags ask a
//! person to look (the row is `flagged` and may be accepted at Save), the
//! others make the row `invalid` (it never imports).

use crate::date::{self, DateError};
use crate::matching::{MatchOutcome, PriorBalanceForward};
use crate::money::{self, AmountError};
use crate::options::ParseOptions;
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
    /// Needs a person's eye; imports only if the user accepts it.
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
    /// Parsed values by column (amounts to 2 places, dates as dates).
    pub amounts: Vec<(Column, Decimal)>,
    pub dates: Vec<(Column, NaiveDate)>,
    pub matched_patient_id: Option<String>,
    pub prior: Option<PriorBalanceForward>,
    awaiting_match: bool,
}

impl Row {
    /// Checks the row's cells on their own.
    pub fn validate(raw: RawRow, options: &ParseOptions) -> Row {
        let mut check = Check {
            raw: &raw,
            options,
            problems: Vec::new(),
            amounts: Vec::new(),
            dates: Vec::new(),
        };
        check.width();
        check.identity();
        check.dates();
        check.amounts();
        check.npi();
        check.ceiling();
        check.aging();
        let Check {
            problems,
            amounts,
            dates,
            ..
        } = check;
        let invalid = problems.iter().any(|p| !p.code.is_flag());
        let balance = |c: Column| amounts.iter().find(|(k, _)| *k == c).map(|(_, v)| *v);
        let zero = balance(Column::PatientBalance).is_some_and(|b| b.is_zero())
            && balance(Column::InsuranceBalance)
                .unwrap_or_default()
                .is_zero();
        let mut row = Row {
            raw,
            status: RowStatus::Valid,
            problems,
            amounts,
            dates,
            matched_patient_id: None,
            prior: None,
            awaiting_match: false,
        };
        if invalid {
            row.status = RowStatus::Invalid;
        } else if zero {
            row.problems.push(Problem::new(
                ProblemCode::ZeroBalance,
                "",
                "Both balances are zero, so there is nothing to import.",
            ));
            row.status = RowStatus::Skipped;
        } else {
            row.awaiting_match = true;
        }
        row
    }

    /// The file's line number.
    pub fn line(&self) -> u32 {
        self.raw.line
    }

    /// A parsed amount; balances default to zero when absent.
    pub fn amount(&self, column: Column) -> Option<Decimal> {
        self.amounts
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, v)| *v)
    }

    /// A parsed date.
    pub fn date(&self, column: Column) -> Option<NaiveDate> {
        self.dates
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, v)| *v)
    }

    /// Whether the row still needs the patient directory's answer.
    pub fn needs_match(&self) -> bool {
        self.awaiting_match
    }

    /// The row's values as stored and sent on: amounts as `1234.50`, dates
    /// as `YYYY-MM-DD`, text trimmed; absent or unparseable cells omitted.
    pub fn normalized(&self) -> Vec<(Column, String)> {
        let mut scratch = String::new();
        Column::ALL
            .into_iter()
            .filter_map(|column| {
                let text = self.normalized_text(column, &mut scratch)?;
                Some((column, text.to_string()))
            })
            .collect()
    }

    /// One column's value as [`Row::normalized`] gives it, borrowed from
    /// the cell when it is the cell trimmed, else formatted into
    /// `scratch`. Comparing every row's values with its cells
    /// (bf_domain::compact) built a string per value only to drop it.
    pub fn normalized_text<'a>(
        &'a self,
        column: Column,
        scratch: &'a mut String,
    ) -> Option<&'a str> {
        use std::fmt::Write as _;
        scratch.clear();
        if let Some(v) = self.amount(column) {
            // Writing into a String cannot fail.
            let _ = write!(scratch, "{v}");
            Some(scratch.as_str())
        } else if let Some(d) = self.date(column) {
            let _ = write!(scratch, "{d}");
            Some(scratch.as_str())
        } else if !is_amount(column) && !is_date(column) && !self.raw.cell(column).is_empty() {
            Some(self.raw.cell(column))
        } else {
            None
        }
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
            MatchOutcome::Found(found) => {
                for column in &found.mismatched {
                    self.problems.push(Problem::new(
                        ProblemCode::IdentityMismatch,
                        column.name(),
                        format!(
                            "{} does not agree with the patient directory for patient {}.",
                            column.name(),
                            found.patient_id
                        ),
                    ));
                }
                if found.zeros_restored {
                    self.problems.push(Problem::new(
                        ProblemCode::AccountZerosRestored,
                        Column::PatientAccountNumber.name(),
                        "patient_account_number matched only after restoring leading zeros \
                         (Excel drops them); check that it is the same patient.",
                    ));
                }
                if let Some(prior) = &found.prior {
                    self.problems.push(Problem::new(
                        ProblemCode::ExistingBalanceForward,
                        "",
                        format!(
                            "This patient already has a Balance Forward claim from an earlier import \
                             (dated {}); when you save, choose to skip it, post the difference or post \
                             the full balance.",
                            prior.date_of_service
                        ),
                    ));
                }
                self.matched_patient_id = Some(found.patient_id);
                self.prior = found.prior;
            }
            MatchOutcome::NotFound => self.problems.push(Problem::new(
                ProblemCode::PatientNotFound,
                key_column.name(),
                format!(
                    "No patient in the directory has this {}.",
                    key_column.name()
                ),
            )),
            MatchOutcome::Ambiguous { count } => self.problems.push(Problem::new(
                ProblemCode::PatientAmbiguous,
                key_column.name(),
                format!(
                    "{count} patients in the directory share this {}; add patient_id to say which.",
                    key_column.name()
                ),
            )),
        }
        self.status = if self.problems.iter().any(|p| !p.code.is_flag()) {
            RowStatus::Invalid
        } else if self.problems.is_empty() {
            RowStatus::Valid
        } else {
            RowStatus::Flagged
        };
    }
}

fn is_amount(column: Column) -> bool {
    matches!(column, Column::PatientBalance | Column::InsuranceBalance)
        || Column::AGING.contains(&column)
}

fn is_date(column: Column) -> bool {
    matches!(
        column,
        Column::DateOfBirth | Column::BalanceAsOf | Column::OldestServiceDate
    )
}

fn required(column: Column) -> Problem {
    Problem::new(
        ProblemCode::Required,
        column.name(),
        format!("{} is required.", column.name()),
    )
}

/// The checks of one row's cells, collecting problems and parsed values.
struct Check<'a> {
    raw: &'a RawRow,
    options: &'a ParseOptions,
    problems: Vec<Problem>,
    amounts: Vec<(Column, Decimal)>,
    dates: Vec<(Column, NaiveDate)>,
}

impl Check<'_> {
    fn width(&mut self) {
        let raw = self.raw;
        if raw.field_count > raw.header_width {
            self.problems.push(Problem::new(
                ProblemCode::FieldCount,
                "",
                format!(
                    "This line has {} fields but the header has {}; check for a missing or extra separator.",
                    raw.field_count, raw.header_width
                ),
            ));
        } else if raw.field_count < raw.header_width {
            self.problems.push(Problem::new(
                ProblemCode::FieldCount,
                "",
                format!(
                    "This line has {} fields but the header has {}; check for a missing separator or a line break inside a cell.",
                    raw.field_count, raw.header_width
                ),
            ));
        }
    }

    fn identity(&mut self) {
        let raw = self.raw;
        if raw.cell(Column::PatientAccountNumber).is_empty()
            && raw.cell(Column::PatientId).is_empty()
        {
            self.problems.push(Problem::new(
                ProblemCode::Required,
                Column::PatientAccountNumber.name(),
                "patient_account_number is required when patient_id is empty.",
            ));
        }
        for column in [Column::LastName, Column::FirstName] {
            if raw.cell(column).is_empty() {
                self.problems.push(required(column));
            }
        }
    }

    fn dates(&mut self) {
        if self.raw.cell(Column::DateOfBirth).is_empty() {
            self.problems.push(required(Column::DateOfBirth));
        }
        for column in [
            Column::DateOfBirth,
            Column::BalanceAsOf,
            Column::OldestServiceDate,
        ] {
            let cell = self.raw.cell(column);
            if cell.is_empty() {
                continue;
            }
            let parsed = date::parse_date(cell, self.options.date_format).and_then(|d| {
                match (column, self.options.today) {
                    (Column::DateOfBirth, Some(today)) => {
                        date::check_birth_date(d, today).map(|_| d)
                    }
                    _ => Ok(d),
                }
            });
            match parsed {
                Ok(d) if column == Column::OldestServiceDate && self.options.today.is_some_and(|t| d > t) => {
                    self.problems.push(Problem::new(
                        ProblemCode::ImpossibleDate,
                        column.name(),
                        "oldest_service_date is in the future; a service cannot be unpaid before it happens.",
                    ))
                }
                Ok(d) => self.dates.push((column, d)),
                Err(e) => self.problems.push(Problem::new(
                    date_problem(&e),
                    column.name(),
                    format!("{} {e}.", column.name()),
                )),
            }
        }
    }

    fn amounts(&mut self) {
        let balances = [Column::PatientBalance, Column::InsuranceBalance];
        for column in balances.into_iter().chain(Column::AGING) {
            let cell = self.raw.cell(column);
            if cell.is_empty() {
                if column == Column::PatientBalance {
                    self.problems.push(required(column));
                } else if column == Column::InsuranceBalance {
                    self.amounts.push((column, money::normalize(Decimal::ZERO)));
                }
                continue;
            }
            match money::parse_amount(cell, self.options.decimal_style) {
                Ok(v) => self.amounts.push((column, v)),
                Err(e) => self.problems.push(Problem::new(
                    amount_problem(&e),
                    column.name(),
                    format!("{} {e}.", column.name()),
                )),
            }
        }
    }

    fn npi(&mut self) {
        let cell = self.raw.cell(Column::ProviderNpi);
        if !cell.is_empty() && !valid_npi(cell) {
            self.problems.push(Problem::new(
                ProblemCode::InvalidNpi,
                Column::ProviderNpi.name(),
                "provider_npi is not a valid NPI (10 digits with a correct check digit).",
            ));
        }
    }

    fn ceiling(&mut self) {
        let ceiling = self.options.balance_ceiling;
        for column in [Column::PatientBalance, Column::InsuranceBalance] {
            let over = self
                .amounts
                .iter()
                .any(|(c, v)| *c == column && v.abs() > ceiling);
            if over {
                self.problems.push(Problem::new(
                    ProblemCode::BalanceAboveCeiling,
                    column.name(),
                    format!(
                        "{} is above the practice's ceiling of {ceiling}; confirm it is right.",
                        column.name()
                    ),
                ));
            }
        }
    }

    fn aging(&mut self) {
        let buckets: Vec<Decimal> = self
            .amounts
            .iter()
            .filter(|(c, _)| Column::AGING.contains(c))
            .map(|(_, v)| *v)
            .collect();
        let given = Column::AGING.iter().any(|c| !self.raw.cell(*c).is_empty());
        if !given
            || buckets.len()
                != Column::AGING
                    .iter()
                    .filter(|c| !self.raw.cell(**c).is_empty())
                    .count()
        {
            return;
        }
        let balance: Decimal = self
            .amounts
            .iter()
            .filter(|(c, _)| matches!(c, Column::PatientBalance | Column::InsuranceBalance))
            .map(|(_, v)| *v)
            .sum();
        let aged: Decimal = buckets.iter().sum();
        if aged != balance {
            self.problems.push(Problem::new(
                ProblemCode::AgingMismatch,
                "",
                "The aging buckets do not add up to patient_balance + insurance_balance.",
            ));
        }
    }
}

/// A National Provider Identifier: 10 digits, Luhn check over "80840" + the first 9.
pub fn valid_npi(cell: &str) -> bool {
    let digits: Vec<u32> = cell.trim().chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 10 || cell.trim().len() != 10 {
        return false;
    }
    let mut sum = 24; // the Luhn contribution of the "80840" prefix
    for (i, d) in digits[..9].iter().rev().enumerate() {
        let v = if i % 2 == 0 { d * 2 } else { *d };
        sum += if v > 9 { v - 9 } else { v };
    }
    (10 - sum % 10) % 10 == digits[9]
}

fn amount_problem(e: &AmountError) -> ProblemCode {
    match e {
        AmountError::TooManyPlaces(_) => ProblemCode::TooManyDecimals,
        AmountError::TooLarge => ProblemCode::AmountTooLarge,
        _ => ProblemCode::InvalidAmount,
    }
}

fn date_problem(e: &DateError) -> ProblemCode {
    match e {
        DateError::TwoDigitYear => ProblemCode::TwoDigitYear,
        DateError::DayFirst => ProblemCode::DayFirstDate,
        DateError::NoSuchDay => ProblemCode::InvalidDate,
        DateError::BirthInFuture | DateError::BirthBefore1900 => ProblemCode::ImpossibleDate,
        _ => ProblemCode::InvalidDate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::Found;
    use crate::reader::ImportReader;

    const HEADER: &str = "patient_account_number,patient_id,last_name,first_name,date_of_birth,patient_balance,insurance_balance,balance_as_of,reference\n";

    fn row(line: &str) -> Row {
        let text = format!("{HEADER}{line}\n");
        let mut r = ImportReader::csv(text.as_bytes()).unwrap();
        Row::validate(r.next_row().unwrap().unwrap(), &ParseOptions::default())
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
        assert_eq!(
            r.amount(Column::PatientBalance).unwrap().to_string(),
            "125.50"
        );
        assert_eq!(
            r.amount(Column::InsuranceBalance).unwrap().to_string(),
            "310.00"
        );
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
        let r = row("1,,Doe,Jane,1984/3/x,1,,2026-02-30,");
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
    fn us_dates_are_read_and_ambiguous_ones_refused() {
        let r = row("1,,Doe,Jane,3/7/1984,1,,11/20/2026,");
        assert_eq!(r.status, RowStatus::Valid);
        assert_eq!(
            r.date(Column::DateOfBirth).unwrap().to_string(),
            "1984-03-07"
        );
        let r = row("1,,Doe,Jane,25/03/1984,1,,,");
        assert_eq!(codes(&r), [(ProblemCode::DayFirstDate, "date_of_birth")]);
        let r = row("1,,Doe,Jane,3/7/84,1,,,");
        assert_eq!(codes(&r), [(ProblemCode::TwoDigitYear, "date_of_birth")]);
    }

    #[test]
    fn a_declared_day_first_format_wins() {
        let options = ParseOptions {
            date_format: Some(crate::date::DateFormat::DayMonthYear),
            ..ParseOptions::default()
        };
        let text = format!("{HEADER}1,,Doe,Jane,3/7/1984,1,,,\n");
        let mut r = ImportReader::csv(text.as_bytes()).unwrap();
        let row = Row::validate(r.next_row().unwrap().unwrap(), &options);
        assert_eq!(
            row.date(Column::DateOfBirth).unwrap().to_string(),
            "1984-07-03"
        );
    }

    #[test]
    fn births_in_the_future_or_before_1900_are_invalid() {
        let options = ParseOptions {
            today: crate::date::parse_iso("2026-11-27").ok(),
            ..ParseOptions::default()
        };
        for dob in ["2026-11-28", "1899-12-31"] {
            let text = format!("{HEADER}1,,Doe,Jane,{dob},1,,,\n");
            let mut r = ImportReader::csv(text.as_bytes()).unwrap();
            let row = Row::validate(r.next_row().unwrap().unwrap(), &options);
            assert_eq!(
                codes(&row),
                [(ProblemCode::ImpossibleDate, "date_of_birth")],
                "{dob}"
            );
        }
    }

    #[test]
    fn real_world_money_styles_are_read() {
        for (cell, want) in [
            ("\"$1,234.50\"", "1234.50"),
            ("(12.00)", "-12.00"),
            ("12.00 CR", "-12.00"),
            ("12.00-", "-12.00"),
        ] {
            let r = row(&format!("1,,Doe,Jane,1980-01-02,{cell},,,"));
            assert_eq!(
                r.amount(Column::PatientBalance).unwrap().to_string(),
                want,
                "{cell}"
            );
            assert_eq!(r.status, RowStatus::Valid);
        }
    }

    #[test]
    fn balances_above_the_ceiling_are_flagged_after_matching() {
        let mut r = row("1,,Doe,Jane,1980-01-02,100000.01,,,");
        assert!(r.needs_match());
        r.apply_match(MatchOutcome::Found(Found::patient("P-1")));
        assert_eq!(r.status, RowStatus::Flagged);
        assert_eq!(
            codes(&r),
            [(ProblemCode::BalanceAboveCeiling, "patient_balance")]
        );
    }

    #[test]
    fn aging_buckets_must_add_up_to_the_balance() {
        let header = "patient_account_number,last_name,first_name,date_of_birth,patient_balance,insurance_balance,aged_0_30,aged_31_60,aged_61_90,aged_91_120,aged_over_120\n";
        let judge = |line: &str| {
            let text = format!("{header}{line}\n");
            let mut r = ImportReader::csv(text.as_bytes()).unwrap();
            let mut row = Row::validate(r.next_row().unwrap().unwrap(), &ParseOptions::default());
            row.apply_match(MatchOutcome::Found(Found::patient("P-1")));
            row
        };
        assert_eq!(
            judge("1,Doe,Jane,1980-01-02,100,50,100,25,25,0,0").status,
            RowStatus::Valid
        );
        let off = judge("1,Doe,Jane,1980-01-02,100,50,100,25,0,0,0");
        assert_eq!(off.status, RowStatus::Flagged);
        assert_eq!(codes(&off), [(ProblemCode::AgingMismatch, "")]);
        let normalized = judge("1,Doe,Jane,1980-01-02,100,50,100,25,25,0,0").normalized();
        assert!(normalized.contains(&(Column::Aged31To60, "25.00".to_string())));
    }

    #[test]
    fn provider_npis_are_checked() {
        assert!(valid_npi("1234567893"));
        assert!(!valid_npi("1234567890"));
        assert!(!valid_npi("123456789"));
        let header = "patient_account_number,last_name,first_name,date_of_birth,patient_balance,provider_npi\n";
        let text = format!("{header}1,Doe,Jane,1980-01-02,10,1234567890\n");
        let mut r = ImportReader::csv(text.as_bytes()).unwrap();
        let row = Row::validate(r.next_row().unwrap().unwrap(), &ParseOptions::default());
        assert_eq!(codes(&row), [(ProblemCode::InvalidNpi, "provider_npi")]);
    }

    #[test]
    fn restored_zeros_and_earlier_balance_forwards_are_flagged() {
        let mut r = row("123,,Doe,Jane,1980-01-02,5,,,");
        let prior = PriorBalanceForward {
            patient_amount: Decimal::new(500, 2),
            insurance_amount: Decimal::ZERO,
            date_of_service: crate::date::parse_iso("2026-10-01").unwrap(),
            import_id: "i-1".into(),
            claims: 1,
        };
        r.apply_match(MatchOutcome::Found(Found {
            zeros_restored: true,
            prior: Some(prior.clone()),
            ..Found::patient("P-9")
        }));
        assert_eq!(r.status, RowStatus::Flagged);
        assert_eq!(
            codes(&r),
            [
                (ProblemCode::AccountZerosRestored, "patient_account_number"),
                (ProblemCode::ExistingBalanceForward, "")
            ]
        );
        assert_eq!(r.prior, Some(prior));
        assert!(r.problems[1].message.contains("2026-10-01"));
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
        r.apply_match(MatchOutcome::Found(Found::patient("P-9")));
        assert_eq!(r.status, RowStatus::Valid);
        assert_eq!(r.matched_patient_id.as_deref(), Some("P-9"));
        assert!(!r.needs_match());
    }

    #[test]
    fn a_name_or_birth_date_mismatch_is_flagged() {
        let mut r = row("1,,Doe,Jane,1980-01-02,5,,,");
        r.apply_match(MatchOutcome::Found(Found {
            mismatched: vec![Column::LastName, Column::DateOfBirth],
            ..Found::patient("P-9")
        }));
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
