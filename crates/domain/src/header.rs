//! Which file column holds which template column.
//!
//! Real exports name columns in their own words (`Acct #`, `Pt Bal`,
//! `dateOfBirth`, `Name, Last`). A header is reduced to a bag of canonical
//! words (case, punctuation, camelCase, abbreviations and word order do not
//! matter) and looked up among each column's known names. An explicit
//! mapping sent with the upload wins over detection.

use crate::template::{Column, Requirement};
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// For each position in the file's header, the template column it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMap {
    headers: Vec<String>,
    positions: Vec<Option<Column>>,
}

/// Why a header cannot be used; the whole file fails with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the header is missing required columns: {}. The file's columns are: {}", describe_missing(.missing), .present.join(", "))]
    MissingColumns {
        /// Each missing column, with the present header that comes closest.
        missing: Vec<(&'static str, Option<String>)>,
        present: Vec<String>,
    },
    #[error("columns {first} (\"{first_header}\") and {second} (\"{second_header}\") both look like {column}; choose one with a column mapping")]
    DuplicateColumn {
        column: &'static str,
        first: usize,
        first_header: String,
        second: usize,
        second_header: String,
    },
    #[error("the column mapping names \"{0}\", which is not a template column")]
    UnknownColumn(String),
    #[error("the first line is not a header: none of its cells names a template column. Add the template's header row (download the template to see it)")]
    NoHeader,
}

fn describe_missing(missing: &[(&'static str, Option<String>)]) -> String {
    missing
        .iter()
        .map(|(name, closest)| match closest {
            Some(h) => format!("{name} (closest: \"{h}\")"),
            None => name.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A mapping given with the upload: file header text → template column
/// name, or "" to ignore the column. Header text compares ignoring case and
/// surrounding spaces.
pub type ExplicitMapping = BTreeMap<String, String>;

/// Words that carry no meaning in a header.
const FILLER: [&str; 9] = [
    "of", "the", "aged", "age", "days", "day", "bucket", "amt", "amount",
];

/// Abbreviations real exports use, and what they stand for.
const ABBREVIATIONS: [(&str, &str); 18] = [
    ("acct", "account"),
    ("acc", "account"),
    ("no", "number"),
    ("num", "number"),
    ("nbr", "number"),
    ("pt", "patient"),
    ("pat", "patient"),
    ("ins", "insurance"),
    ("bal", "balance"),
    ("resp", "responsibility"),
    ("dob", "date birth"),
    ("birthdate", "date birth"),
    ("lname", "last name"),
    ("fname", "first name"),
    ("id", "id"),
    ("ref", "reference"),
    ("plus", "over"),
    ("dos", "date service"),
];

/// Known names of each column, beyond the template name itself.
fn synonyms(column: Column) -> &'static [&'static str] {
    match column {
        Column::PatientAccountNumber => &[
            "account",
            "account number",
            "patient account",
            "patient account number",
            "chart",
            "chart number",
            "chart #",
            "account #",
            "mrn",
            "medical record number",
            "account id",
            "patient number",
            "guarantor account",
        ],
        Column::PatientId => &[
            "patient id",
            "new patient id",
            "ehr patient id",
            "patientid",
        ],
        Column::LastName => &[
            "last",
            "surname",
            "family name",
            "patient last name",
            "last name",
        ],
        Column::FirstName => &[
            "first",
            "given name",
            "forename",
            "patient first name",
            "first name",
        ],
        Column::DateOfBirth => &[
            "birth date",
            "birthday",
            "date of birth",
            "patient dob",
            "d.o.b.",
        ],
        Column::PatientBalance => &[
            "balance",
            "patient balance",
            "patient responsibility",
            "patient due",
            "balance due",
            "amount due",
            "payment balance",
            "guarantor balance",
            "self pay balance",
            "patient bal",
        ],
        Column::InsuranceBalance => &[
            "insurance balance",
            "insurance responsibility",
            "insurance due",
            "ins bal",
            "primary insurance balance",
        ],
        Column::BalanceAsOf => &[
            "as of",
            "as of date",
            "balance date",
            "statement date",
            "report date",
        ],
        Column::Reference => &["reference", "memo", "note", "notes", "comment", "comments"],
        Column::ProviderNpi => &[
            "npi",
            "provider npi",
            "rendering npi",
            "rendering provider npi",
        ],
        Column::Location => &[
            "location",
            "office",
            "facility",
            "clinic",
            "site",
            "practice location",
        ],
        Column::OldestServiceDate => &[
            "oldest service date",
            "oldest dos",
            "oldest date of service",
            "first service date",
        ],
        Column::Aged0To30 => &["0-30", "0 30", "current", "0-30 days"],
        Column::Aged31To60 => &["31-60", "31 60", "30-60"],
        Column::Aged61To90 => &["61-90", "61 90", "60-90"],
        Column::Aged91To120 => &["91-120", "91 120", "90-120"],
        Column::AgedOver120 => &[
            "120+",
            "over 120",
            "121+",
            "> 120",
            "120 plus",
            "over 120 days",
        ],
    }
}

/// Splits camelCase, lower-cases, turns punctuation into word breaks
/// (`#` becomes "number", `+` and `>` become "over"), expands
/// abbreviations, drops filler, and sorts: the bag of words of a header.
pub fn canonical(header: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(header.len() + 8);
    let mut prev_lower = false;
    for c in header.trim().trim_start_matches('\u{feff}').chars() {
        if c.is_uppercase() && prev_lower {
            spaced.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        match c {
            '#' => spaced.push_str(" number "),
            '+' | '>' => spaced.push_str(" over "),
            c if c.is_alphanumeric() => spaced.extend(c.to_lowercase()),
            _ => spaced.push(' '),
        }
    }
    let mut words: Vec<String> = Vec::new();
    for word in spaced.split_whitespace() {
        let expanded = ABBREVIATIONS
            .iter()
            .find(|(abbr, _)| *abbr == word)
            .map(|(_, full)| *full)
            .unwrap_or(word);
        for w in expanded.split(' ') {
            if !FILLER.contains(&w) {
                words.push(w.to_string());
            }
        }
    }
    words.sort();
    words.dedup();
    words
}

fn known_names() -> &'static HashMap<Vec<String>, Column> {
    static NAMES: OnceLock<HashMap<Vec<String>, Column>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names = HashMap::new();
        for column in Column::ALL {
            names.insert(canonical(column.name()), column);
            for s in synonyms(column) {
                names.entry(canonical(s)).or_insert(column);
            }
        }
        names
    })
}

/// The template column a header names, if any.
pub fn recognise(header: &str) -> Option<Column> {
    let words = canonical(header);
    if words.is_empty() {
        return None;
    }
    known_names().get(&words).copied()
}

impl HeaderMap {
    /// Detects the columns of a header row and checks that every required
    /// column is there.
    pub fn detect<'a>(cells: impl IntoIterator<Item = &'a str>) -> Result<HeaderMap, HeaderError> {
        HeaderMap::with_mapping(cells, &ExplicitMapping::new())
    }

    /// Like [`HeaderMap::detect`], but headers named in `mapping` take the
    /// column the user chose.
    pub fn with_mapping<'a>(
        cells: impl IntoIterator<Item = &'a str>,
        mapping: &ExplicitMapping,
    ) -> Result<HeaderMap, HeaderError> {
        let chosen: HashMap<String, &str> = mapping
            .iter()
            .map(|(h, c)| (h.trim().to_lowercase(), c.as_str()))
            .collect();
        let mut headers = Vec::new();
        let mut positions = Vec::new();
        for cell in cells {
            let header = cell
                .trim()
                .trim_start_matches('\u{feff}')
                .trim()
                .to_string();
            let column = match chosen.get(&header.to_lowercase()).copied() {
                Some("") => None,
                Some(name) => Some(
                    Column::from_name(name.trim())
                        .ok_or_else(|| HeaderError::UnknownColumn(name.to_string()))?,
                ),
                None => recognise(&header),
            };
            headers.push(header);
            positions.push(column);
        }
        let map = HeaderMap { headers, positions };
        if map.positions.iter().all(Option::is_none) {
            return Err(HeaderError::NoHeader);
        }
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
                    first_header: self.headers[i].clone(),
                    second: i + j + 2,
                    second_header: self.headers[i + j + 1].clone(),
                });
            }
        }
        Ok(())
    }

    fn check_required(&self) -> Result<(), HeaderError> {
        let missing: Vec<Column> = Column::ALL
            .into_iter()
            .filter(|c| match c.spec().requirement {
                Requirement::Required => !self.has(*c),
                Requirement::RequiredUnlessPatientId => {
                    !self.has(*c) && !self.has(Column::PatientId)
                }
                Requirement::Optional => false,
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let unused: Vec<&str> = self
            .headers
            .iter()
            .zip(&self.positions)
            .filter(|(h, c)| c.is_none() && !h.is_empty())
            .map(|(h, _)| h.as_str())
            .collect();
        Err(HeaderError::MissingColumns {
            missing: missing
                .into_iter()
                .map(|c| (c.name(), closest(c, &unused)))
                .collect(),
            present: self
                .headers
                .iter()
                .filter(|h| !h.is_empty())
                .cloned()
                .collect(),
        })
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

    /// Each header as written in the file, with the column it was read as:
    /// the mapping that was used, shown in the review and reusable as an
    /// explicit mapping.
    pub fn used(&self) -> Vec<(String, Option<Column>)> {
        self.headers
            .iter()
            .cloned()
            .zip(self.positions.iter().copied())
            .collect()
    }
}

/// The unused header most like a missing column, if any is close enough
/// to be worth suggesting.
fn closest(column: Column, unused: &[&str]) -> Option<String> {
    let target: Vec<String> = std::iter::once(canonical(column.name()).join(" "))
        .chain(synonyms(column).iter().map(|s| canonical(s).join(" ")))
        .collect();
    unused
        .iter()
        .map(|h| {
            let words = canonical(h).join(" ");
            let best = target
                .iter()
                .map(|t| similarity(&words, t))
                .fold(0.0, f64::max);
            (best, *h)
        })
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, h)| h.to_string())
}

/// 1 − normalised edit distance: 1 is equal, 0 is nothing alike.
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    1.0 - row[b.len()] as f64 / longest as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        assert!(Column::ALL[..9].iter().all(|c| map.has(*c)));
    }

    #[test]
    fn every_template_name_is_recognised() {
        for c in Column::ALL {
            assert_eq!(recognise(c.name()), Some(c), "{}", c.name());
        }
    }

    #[test]
    fn case_spaces_and_bom_do_not_matter() {
        let map = HeaderMap::detect([
            "\u{feff}Patient Account Number",
            " LAST_NAME ",
            "First-Name",
            "Date Of Birth",
            "Patient Balance",
            "notes about it",
        ])
        .unwrap();
        assert_eq!(map.positions()[0], Some(Column::PatientAccountNumber));
        assert_eq!(map.positions()[5], None);
    }

    #[test]
    fn synonyms_of_real_exports_are_recognised() {
        let cases = [
            ("Acct #", Column::PatientAccountNumber),
            ("Account No", Column::PatientAccountNumber),
            ("Account No.", Column::PatientAccountNumber),
            ("Chart Number", Column::PatientAccountNumber),
            ("Patient ID", Column::PatientId),
            ("Last", Column::LastName),
            ("Surname", Column::LastName),
            ("Name, Last", Column::LastName),
            ("DOB", Column::DateOfBirth),
            ("Birth Date", Column::DateOfBirth),
            ("Balance", Column::PatientBalance),
            ("Pt Bal", Column::PatientBalance),
            ("Patient Responsibility", Column::PatientBalance),
            ("Ins Bal", Column::InsuranceBalance),
            ("paymentBalance", Column::PatientBalance),
            ("dateOfBirth", Column::DateOfBirth),
            ("lastName", Column::LastName),
            ("firstName", Column::FirstName),
            ("Balance Patient", Column::PatientBalance),
            ("0-30", Column::Aged0To30),
            ("31-60 Days", Column::Aged31To60),
            ("120+", Column::AgedOver120),
            ("Over 120", Column::AgedOver120),
            ("NPI", Column::ProviderNpi),
            ("Oldest DOS", Column::OldestServiceDate),
        ];
        for (header, column) in cases {
            assert_eq!(recognise(header), Some(column), "{header}");
        }
        assert_eq!(recognise("Patient"), None);
        assert_eq!(recognise(""), None);
    }

    #[test]
    fn missing_required_columns_are_named_with_the_closest_header() {
        let err = HeaderMap::detect(["Acct", "Last", "First", "DOB", "Balanse"]).unwrap_err();
        let HeaderError::MissingColumns { missing, present } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            missing,
            &vec![("patient_balance", Some("Balanse".to_string()))]
        );
        assert_eq!(present.len(), 5);
        assert!(
            err.to_string()
                .contains("patient_balance (closest: \"Balanse\")"),
            "{err}"
        );
    }

    #[test]
    fn missing_columns_without_a_close_header_are_named_alone() {
        let err = HeaderMap::detect([
            "patient_account_number",
            "last_name",
            "first_name",
            "date_of_birth",
        ])
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the header is missing required columns: patient_balance."),
            "{err}"
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
        assert!(err.to_string().contains("patient_account_number"));
    }

    #[test]
    fn two_headers_for_one_column_are_refused_naming_both() {
        let mut cells = TEMPLATE.to_vec();
        cells.push("Last Name");
        let err = HeaderMap::detect(cells).unwrap_err();
        assert_eq!(
            err,
            HeaderError::DuplicateColumn {
                column: "last_name",
                first: 3,
                first_header: "last_name".into(),
                second: 10,
                second_header: "Last Name".into(),
            }
        );
    }

    #[test]
    fn an_explicit_mapping_wins_over_detection() {
        let mapping: ExplicitMapping = [
            ("Amt".to_string(), "patient_balance".to_string()),
            ("Balance".to_string(), String::new()),
        ]
        .into();
        let map =
            HeaderMap::with_mapping(["Acct", "Last", "First", "DOB", "Balance", "amt"], &mapping)
                .unwrap();
        assert_eq!(map.positions()[4], None);
        assert_eq!(map.positions()[5], Some(Column::PatientBalance));
        assert_eq!(
            map.used()[5],
            ("amt".to_string(), Some(Column::PatientBalance))
        );
    }

    #[test]
    fn a_file_without_a_header_line_says_so() {
        assert_eq!(
            HeaderMap::detect(["000123", "Peña", "Zoë", "1984-03-07", "12.00"]),
            Err(HeaderError::NoHeader)
        );
    }

    #[test]
    fn a_mapping_to_an_unknown_column_is_refused() {
        let mapping: ExplicitMapping = [("Amt".to_string(), "money".to_string())].into();
        assert_eq!(
            HeaderMap::with_mapping(["Acct", "Amt"], &mapping),
            Err(HeaderError::UnknownColumn("money".into()))
        );
    }

    /// Every name a column is known by: the template name and each synonym,
    /// with the column it names.
    fn every_known_name() -> Vec<(&'static str, Column)> {
        Column::ALL
            .into_iter()
            .flat_map(|c| {
                std::iter::once((c.name(), c)).chain(synonyms(c).iter().map(move |s| (*s, c)))
            })
            .collect()
    }

    #[test]
    fn every_synonym_names_its_own_column() {
        for (name, column) in every_known_name() {
            assert_eq!(recognise(name), Some(column), "{name:?}");
        }
    }

    /// `name` as an export might spell it: each run of letters and digits
    /// lower-cased, upper-cased or capitalised, each of ' ', '_' and '-'
    /// replaced by one of them, and spaces or tabs around it.
    fn respelled(name: &str, cases: &[u8], separators: &[u8], before: &str, after: &str) -> String {
        let mut out = String::from(before);
        let mut run = 0;
        let mut at_run_start = true;
        let mut separator = 0;
        for c in name.chars() {
            if c.is_alphanumeric() {
                let style = cases[run % cases.len()] % 3;
                match style {
                    0 => out.extend(c.to_lowercase()),
                    1 => out.extend(c.to_uppercase()),
                    _ if at_run_start => out.extend(c.to_uppercase()),
                    _ => out.extend(c.to_lowercase()),
                }
                at_run_start = false;
            } else {
                if !at_run_start {
                    run += 1;
                }
                at_run_start = true;
                if matches!(c, ' ' | '_' | '-') {
                    out.push(
                        [' ', '_', '-'][usize::from(separators[separator % separators.len()] % 3)],
                    );
                    separator += 1;
                } else {
                    out.push(c);
                }
            }
        }
        out.push_str(after);
        out
    }

    #[test]
    fn respelling_changes_what_it_says() {
        assert_eq!(
            respelled("patient_account_number", &[2, 1, 0], &[0, 2], " ", "\t"),
            " Patient ACCOUNT-number\t"
        );
        assert_eq!(respelled("0-30 days", &[1], &[1, 0], "", ""), "0_30 DAYS");
    }

    /// Headers as files carry them: known names, near misses and noise.
    fn header_cell() -> impl Strategy<Value = String> {
        let known: Vec<String> = every_known_name()
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect();
        prop_oneof![
            prop::sample::select(known),
            "[A-Za-z#+>_ .-]{0,24}",
            any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn known_names_survive_case_spacing_and_separators(
            index in any::<prop::sample::Index>(),
            cases in prop::collection::vec(any::<u8>(), 1..8),
            separators in prop::collection::vec(any::<u8>(), 1..8),
            before in "[ \t]{0,3}",
            after in "[ \t]{0,3}",
        ) {
            let names = every_known_name();
            let (name, column) = names[index.index(names.len())];
            let header = respelled(name, &cases, &separators, &before, &after);
            prop_assert_eq!(recognise(&header), Some(column), "{:?} from {:?}", header, name);
        }

        #[test]
        fn canonical_never_panics_and_gives_a_sorted_bag_of_words(header in any::<String>()) {
            let words = canonical(&header);
            prop_assert!(words.windows(2).all(|w| w[0] < w[1]), "{:?}", words);
            prop_assert!(words.iter().all(|w| !w.is_empty() && !w.contains(' ')), "{:?}", words);
            let _ = recognise(&header);
        }

        #[test]
        fn canonical_of_ascii_is_a_fixed_point(header in "[ -~]{0,40}") {
            let words = canonical(&header);
            prop_assert_eq!(canonical(&words.join(" ")), words.clone(), "{:?}", header);
        }

        #[test]
        fn every_column_is_found_wherever_it_stands(
            order in Just(Column::ALL.to_vec()).prop_shuffle(),
            noise in prop::collection::vec("[a-z]{3,9} [a-z]{3,9}", 0..4),
            cases in prop::collection::vec(any::<u8>(), 1..8),
        ) {
            let noise: Vec<String> = noise.into_iter().filter(|n| recognise(n).is_none()).collect();
            let cells: Vec<String> = order
                .iter()
                .map(|c| respelled(c.name(), &cases, &[0], " ", ""))
                .chain(noise.iter().cloned())
                .collect();
            let map = match HeaderMap::detect(cells.iter().map(String::as_str)) {
                Ok(map) => map,
                Err(e) => return Err(TestCaseError::fail(format!("{cells:?}: {e}"))),
            };
            let want: Vec<Option<Column>> = order
                .iter()
                .map(|c| Some(*c))
                .chain(noise.iter().map(|_| None))
                .collect();
            prop_assert_eq!(map.positions(), &want[..]);
        }

        #[test]
        fn detect_never_panics_and_explains_itself(
            cells in prop::collection::vec(header_cell(), 0..20),
        ) {
            match HeaderMap::detect(cells.iter().map(String::as_str)) {
                Ok(map) => {
                    prop_assert_eq!(map.width(), cells.len());
                    prop_assert_eq!(map.used().len(), cells.len());
                }
                Err(err) => {
                    if let HeaderError::DuplicateColumn { first, second, .. } = &err {
                        prop_assert!(0 < *first && first < second && *second <= cells.len());
                    }
                    prop_assert!(!err.to_string().is_empty());
                }
            }
        }
    }
}
