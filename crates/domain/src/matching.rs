//! Whether an import row and a directory patient are the same person.
//!
//! The claims service owns the directory; the rule for "agrees" lives here
//! so it is one rule, unit-tested, wherever it runs.

use crate::template::Column;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// What the patient directory said about one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchOutcome {
    Found(Found),
    NotFound,
    Ambiguous { count: usize },
}

/// A directory patient was found for the row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Found {
    pub patient_id: String,
    /// Identifying columns that disagree with the directory.
    pub mismatched: Vec<Column>,
    /// Found only after restoring leading zeros Excel dropped.
    pub zeros_restored: bool,
    /// Balance Forward claims earlier imports already posted.
    pub prior: Option<PriorBalanceForward>,
}

impl Found {
    /// A clean match.
    pub fn patient(patient_id: impl Into<String>) -> Found {
        Found {
            patient_id: patient_id.into(),
            ..Found::default()
        }
    }
}

/// What earlier imports posted for the patient (active BF claims).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorBalanceForward {
    pub patient_amount: Decimal,
    pub insurance_amount: Decimal,
    pub date_of_service: NaiveDate,
    pub import_id: String,
    pub claims: u32,
}

/// The identifying fields of a person, from the file or the directory.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub last_name: &'a str,
    pub first_name: &'a str,
    pub date_of_birth: Option<NaiveDate>,
}

/// Names agree when equal ignoring case, accents are kept, and runs of
/// whitespace count as one space: "DE LA  CRUZ" is "de la Cruz", but
/// "Pena" is not "Peña".
pub fn names_agree(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        // Word by word, without the folded copies: every matched row of
        // every file compares two names, and the copies were most of it.
        // For ASCII text, lowercasing a word is ASCII lowercasing.
        let (mut left, mut right) = (a.split_whitespace(), b.split_whitespace());
        loop {
            match (left.next(), right.next()) {
                (None, None) => return true,
                (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => {}
                _ => return false,
            }
        }
    }
    let fold = |s: &str| {
        s.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ")
    };
    fold(a) == fold(b)
}

/// The columns on which a file row and a directory patient disagree.
pub fn mismatched_columns(file: Identity<'_>, directory: Identity<'_>) -> Vec<Column> {
    let mut out = Vec::new();
    if !names_agree(file.last_name, directory.last_name) {
        out.push(Column::LastName);
    }
    if !names_agree(file.first_name, directory.first_name) {
        out.push(Column::FirstName);
    }
    if file.date_of_birth != directory.date_of_birth {
        out.push(Column::DateOfBirth);
    }
    out
}

/// An account number with the leading zeros Excel drops removed: `000123`
/// and `123` share the key `123`. An all-zero number has no key (""), so
/// it never matches by key. The claims database indexes the same
/// stored column `account_key` (`ltrim(account_number, '0')`).
pub fn account_key(account: &str) -> &str {
    account.trim().trim_start_matches('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id<'a>(last: &'a str, first: &'a str, dob: &str) -> Identity<'a> {
        Identity {
            last_name: last,
            first_name: first,
            date_of_birth: crate::date::parse_iso(dob).ok(),
        }
    }

    #[test]
    fn case_and_spacing_do_not_matter() {
        assert!(mismatched_columns(
            id("DE LA  CRUZ", " zoë", "1980-01-02"),
            id("de la Cruz", "Zoë", "1980-01-02")
        )
        .is_empty());
    }

    #[test]
    fn plain_names_agree_exactly_when_their_folded_forms_do() {
        let fold = |s: &str| {
            s.split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let names = [
            "",
            " ",
            "Doe",
            "doe",
            "DOE ",
            "Do e",
            "do\x0Be",
            "de la cruz",
            "DE\tLA\r\nCRUZ",
            "de lacruz",
            "delacruz",
            "O'Brien",
            "o'brien",
            "Mc Donald",
            "McDonald",
            "a",
            "A ",
        ];
        for a in names {
            for b in names {
                assert_eq!(names_agree(a, b), fold(a) == fold(b), "{a:?} / {b:?}");
            }
        }
    }

    #[test]
    fn accents_do_matter() {
        assert_eq!(
            mismatched_columns(
                id("Pena", "Zoe", "1980-01-02"),
                id("Peña", "Zoë", "1980-01-02")
            ),
            [Column::LastName, Column::FirstName]
        );
    }

    #[test]
    fn a_different_birth_date_is_a_mismatch() {
        assert_eq!(
            mismatched_columns(
                id("Doe", "Jane", "1980-01-03"),
                id("Doe", "Jane", "1980-01-02")
            ),
            [Column::DateOfBirth]
        );
    }

    #[test]
    fn account_keys_ignore_leading_zeros() {
        assert_eq!(account_key("000123"), "123");
        assert_eq!(account_key("123"), "123");
        assert_eq!(account_key("A0012"), "A0012");
        assert_eq!(account_key("000"), "");
        assert_eq!(account_key(""), "");
    }
}
