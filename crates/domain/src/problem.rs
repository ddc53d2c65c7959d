//! What can be wrong with a row, in words a billing lead understands.

use serde::Serialize;

/// A reason as a sentence for a person: first letter up, a full stop at
/// the end ("the file is empty" → "The file is empty."). One rule for every
/// message the user reads, whichever service wrote it.
pub fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') && !out.ends_with(')') {
        out.push('.');
    }
    out
}

/// Stable machine code of a problem; the UI and reports key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    Required,
    InvalidAmount,
    TooManyDecimals,
    AmountTooLarge,
    InvalidDate,
    FieldCount,
    PatientNotFound,
    PatientAmbiguous,
    IdentityMismatch,
    DuplicatePatient,
    ZeroBalance,
    DayFirstDate,
    TwoDigitYear,
    ImpossibleDate,
    InvalidNpi,
    BalanceAboveCeiling,
    AgingMismatch,
    AccountZerosRestored,
    ExistingBalanceForward,
}

impl ProblemCode {
    /// The code as stored and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::Required => "required",
            ProblemCode::InvalidAmount => "invalid_amount",
            ProblemCode::TooManyDecimals => "too_many_decimals",
            ProblemCode::AmountTooLarge => "amount_too_large",
            ProblemCode::InvalidDate => "invalid_date",
            ProblemCode::FieldCount => "field_count",
            ProblemCode::PatientNotFound => "patient_not_found",
            ProblemCode::PatientAmbiguous => "patient_ambiguous",
            ProblemCode::IdentityMismatch => "identity_mismatch",
            ProblemCode::DuplicatePatient => "duplicate_patient",
            ProblemCode::ZeroBalance => "zero_balance",
            ProblemCode::DayFirstDate => "day_first_date",
            ProblemCode::TwoDigitYear => "two_digit_year",
            ProblemCode::ImpossibleDate => "impossible_date",
            ProblemCode::InvalidNpi => "invalid_npi",
            ProblemCode::BalanceAboveCeiling => "balance_above_ceiling",
            ProblemCode::AgingMismatch => "aging_mismatch",
            ProblemCode::AccountZerosRestored => "account_zeros_restored",
            ProblemCode::ExistingBalanceForward => "existing_balance_forward",
        }
    }

    /// Whether the problem only asks a person to look (the row is
    /// `flagged` and may be accepted) rather than making it `invalid`.
    pub fn is_flag(self) -> bool {
        matches!(
            self,
            ProblemCode::IdentityMismatch
                | ProblemCode::DuplicatePatient
                | ProblemCode::BalanceAboveCeiling
                | ProblemCode::AgingMismatch
                | ProblemCode::AccountZerosRestored
                | ProblemCode::ExistingBalanceForward
        )
    }
}

/// One problem on one row. Messages never quote the cell's value, so a
/// problem can be logged or reported without carrying patient data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub code: ProblemCode,
    /// Template column name, or empty for a whole-row problem.
    pub column: String,
    pub message: String,
}

impl Problem {
    /// A problem about one column.
    pub fn new(code: ProblemCode, column: &str, message: impl Into<String>) -> Self {
        Problem {
            code,
            column: column.to_string(),
            message: message.into(),
        }
    }

    /// The problem that marks every line of a patient who appears more
    /// than once; the lines are listed so the user can find the others.
    pub fn duplicate_patient(lines: &[u32]) -> Self {
        let list: Vec<String> = lines.iter().map(u32::to_string).collect();
        Problem::new(
            ProblemCode::DuplicatePatient,
            "",
            format!(
                "The same patient appears on lines {}; each line is flagged and none is merged.",
                list.join(", ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_sentences() {
        assert_eq!(sentence("the file is empty"), "The file is empty.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(
            sentence("line 3 is not UTF-8 text (save it as CSV UTF-8)"),
            "Line 3 is not UTF-8 text (save it as CSV UTF-8)"
        );
    }
}
