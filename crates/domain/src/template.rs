//! The CSV template: the one list of columns that the template download, the
//! column guide, the header matcher and the validator all read.

use serde::Serialize;

/// A column of the patient-balance template. The names are a public
/// contract: files in the wild are built against them, so never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    PatientAccountNumber,
    PatientId,
    LastName,
    FirstName,
    DateOfBirth,
    PatientBalance,
    InsuranceBalance,
    BalanceAsOf,
    Reference,
    ProviderNpi,
    Location,
    OldestServiceDate,
    Aged0To30,
    Aged31To60,
    Aged61To90,
    Aged91To120,
    AgedOver120,
}

/// Whether a file must carry a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    Required,
    /// Required unless `patient_id` is given on the row.
    RequiredUnlessPatientId,
    Optional,
}

/// What the column guide says about a column.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub requirement: Requirement,
    pub required: bool,
    pub format: &'static str,
    pub example: &'static str,
    pub description: &'static str,
}

impl Column {
    /// Every column, in template order.
    pub const ALL: [Column; 17] = [
        Column::PatientAccountNumber,
        Column::PatientId,
        Column::LastName,
        Column::FirstName,
        Column::DateOfBirth,
        Column::PatientBalance,
        Column::InsuranceBalance,
        Column::BalanceAsOf,
        Column::Reference,
        Column::ProviderNpi,
        Column::Location,
        Column::OldestServiceDate,
        Column::Aged0To30,
        Column::Aged31To60,
        Column::Aged61To90,
        Column::Aged91To120,
        Column::AgedOver120,
    ];

    /// The aging buckets, youngest first; they must add up to the balance.
    pub const AGING: [Column; 5] = [
        Column::Aged0To30,
        Column::Aged31To60,
        Column::Aged61To90,
        Column::Aged91To120,
        Column::AgedOver120,
    ];

    /// Position in [`Column::ALL`], for dense per-row storage.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The header text of the template.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Looks a column up by its exact template name.
    pub fn from_name(name: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The guide entry for this column.
    pub fn spec(self) -> ColumnSpec {
        use Requirement::*;
        let (name, requirement, format, example, description) = match self {
            Column::PatientAccountNumber => (
                "patient_account_number",
                RequiredUnlessPatientId,
                "text; leading zeros are significant",
                "000123",
                "The patient's account (chart) number in the old system.",
            ),
            Column::PatientId => (
                "patient_id",
                Optional,
                "text",
                "P-10042",
                "The new system's patient id, when known; it wins over the account number.",
            ),
            Column::LastName => (
                "last_name",
                Required,
                "text",
                "Peña",
                "Patient's last name.",
            ),
            Column::FirstName => (
                "first_name",
                Required,
                "text",
                "Zoë",
                "Patient's first name.",
            ),
            Column::DateOfBirth => (
                "date_of_birth",
                Required,
                "YYYY-MM-DD",
                "1984-03-07",
                "Patient's date of birth.",
            ),
            Column::PatientBalance => (
                "patient_balance",
                Required,
                "decimal, at most 2 places; negative = credit owed to the patient",
                "125.50",
                "What the patient owes (patient responsibility).",
            ),
            Column::InsuranceBalance => (
                "insurance_balance",
                Optional,
                "decimal, at most 2 places",
                "310.00",
                "What insurance is expected to pay (insurance responsibility).",
            ),
            Column::BalanceAsOf => (
                "balance_as_of",
                Optional,
                "YYYY-MM-DD",
                "2026-11-20",
                "The day the balance was read from the old system.",
            ),
            Column::Reference => (
                "reference",
                Optional,
                "free text",
                "Old EHR acct 123",
                "Free text, kept on the claim.",
            ),
            Column::ProviderNpi => (
                "provider_npi",
                Optional,
                "10-digit NPI",
                "1234567893",
                "The rendering provider's National Provider Identifier, kept on the claim.",
            ),
            Column::Location => (
                "location",
                Optional,
                "text",
                "Main St Office",
                "The practice location the balance belongs to, kept on the claim.",
            ),
            Column::OldestServiceDate => (
                "oldest_service_date",
                Optional,
                "date, like date_of_birth",
                "2025-06-14",
                "Date of the oldest unpaid service in the balance, so aging is not reset by the import.",
            ),
            Column::Aged0To30 => aging("aged_0_30"),
            Column::Aged31To60 => aging("aged_31_60"),
            Column::Aged61To90 => aging("aged_61_90"),
            Column::Aged91To120 => aging("aged_91_120"),
            Column::AgedOver120 => aging("aged_over_120"),
        };
        ColumnSpec {
            name,
            requirement,
            required: requirement != Optional,
            format,
            example,
            description,
        }
    }
}

/// The guide entry of an aging bucket.
fn aging(
    name: &'static str,
) -> (
    &'static str,
    Requirement,
    &'static str,
    &'static str,
    &'static str,
) {
    (
        name,
        Requirement::Optional,
        "decimal, at most 2 places",
        "0.00",
        "Part of the balance by age; the aging buckets must add up to patient_balance + insurance_balance.",
    )
}

/// The downloadable template: the header row, CRLF-terminated as Excel
/// writes it.
pub fn template_csv() -> String {
    let names: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
    format!("{}\r\n", names.join(","))
}

/// The column guide, in template order.
pub fn column_guide() -> Vec<ColumnSpec> {
    Column::ALL.iter().map(|c| c.spec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_header_lists_columns_in_contract_order() {
        assert_eq!(
            template_csv(),
            "patient_account_number,patient_id,last_name,first_name,date_of_birth,\
             patient_balance,insurance_balance,balance_as_of,reference,provider_npi,location,\
             oldest_service_date,aged_0_30,aged_31_60,aged_61_90,aged_91_120,aged_over_120\r\n"
        );
    }

    #[test]
    fn index_matches_position_in_all() {
        for (i, c) in Column::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(Column::from_name(c.name()), Some(*c));
        }
    }

    #[test]
    fn guide_marks_required_columns() {
        let required: Vec<&str> = column_guide()
            .into_iter()
            .filter(|c| c.required)
            .map(|c| c.name)
            .collect();
        assert_eq!(
            required,
            [
                "patient_account_number",
                "last_name",
                "first_name",
                "date_of_birth",
                "patient_balance"
            ]
        );
    }
}
