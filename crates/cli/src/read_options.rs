//! How a balance file should be read: the options `bfctl import` sends as
//! query parameters, and the subset a saved import profile holds.

use clap::{Args, ValueEnum};

use crate::error::CliError;
use crate::mapping;

/// How the file writes dates. The gateway detects the format when none is
/// given, but refuses to guess between 03/04 readings, so an export full
/// of ambiguous dates needs this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DateFormat {
    /// YYYY-MM-DD.
    Iso,
    /// M/D/YYYY, as US systems write it.
    #[value(name = "month_day_year", alias = "month-day-year", alias = "mdy")]
    MonthDayYear,
    /// D/M/YYYY.
    #[value(name = "day_month_year", alias = "day-month-year", alias = "dmy")]
    DayMonthYear,
}

impl DateFormat {
    /// The gateway's name for it.
    pub fn wire(self) -> &'static str {
        match self {
            DateFormat::Iso => "iso",
            DateFormat::MonthDayYear => "month_day_year",
            DateFormat::DayMonthYear => "day_month_year",
        }
    }
}

/// How amounts write the decimal point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecimalStyle {
    /// 1,234.56
    Dot,
    /// 1.234,56
    Comma,
}

impl DecimalStyle {
    /// The gateway's name for it.
    pub fn wire(self) -> &'static str {
        match self {
            DecimalStyle::Dot => "dot",
            DecimalStyle::Comma => "comma",
        }
    }
}

/// The reading choices an import profile can save; shared by `import` and
/// `profiles save` so both spell them the same way.
#[derive(Debug, Clone, Default, Args)]
pub struct Reading {
    /// Map a file header to a template column, e.g. 'Acct #=patient_account_number';
    /// 'Notes=' ignores a column. Repeatable. Replaces a profile's mapping as a whole.
    #[arg(long = "map", value_name = "HEADER=COLUMN")]
    pub map: Vec<String>,
    /// How the file writes dates [default: detected].
    #[arg(long, value_enum)]
    pub date_format: Option<DateFormat>,
    /// How amounts write the decimal point [default: dot].
    #[arg(long, value_enum)]
    pub decimal_style: Option<DecimalStyle>,
}

/// Everything `bfctl import` can say about how to read and check a file.
#[derive(Debug, Clone, Default, Args)]
pub struct Upload {
    /// Start from this saved import profile.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    #[command(flatten)]
    pub reading: Reading,
    /// The old system's total patient balance, to reconcile against.
    #[arg(long, value_name = "DEC", allow_hyphen_values = true)]
    pub expected_balance: Option<String>,
    /// The old system's credit total (sum of negative balances).
    #[arg(long, value_name = "DEC", allow_hyphen_values = true)]
    pub expected_credits: Option<String>,
    /// The old system's patient count.
    #[arg(long, value_name = "N")]
    pub expected_patients: Option<u32>,
    /// Save this upload's mapping, date format and decimal style as a profile.
    #[arg(long, value_name = "NAME")]
    pub save_profile: Option<String>,
}

/// A text option's value, trimmed; an empty one is a mistake worth
/// reporting rather than sending (the gateway would ignore it silently).
fn nonempty(flag: &str, value: &str) -> Result<String, CliError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(CliError::Input(format!("{flag} must not be empty")));
    }
    Ok(v.to_owned())
}

impl Upload {
    /// The query parameters of `POST /v1/imports/patient-balances`, in a
    /// fixed order; only options that were given are sent, so the profile
    /// (or the gateway's detection) decides the rest. Amounts are passed
    /// through for the gateway to validate with its own money rules.
    pub fn query(&self) -> Result<Vec<(&'static str, String)>, CliError> {
        let mut q = Vec::new();
        if let Some(p) = &self.profile {
            q.push(("profile", nonempty("--profile", p)?));
        }
        if !self.reading.map.is_empty() {
            let m = mapping::parse(&self.reading.map)?;
            q.push(("mapping", mapping::to_json(&m)));
        }
        if let Some(f) = self.reading.date_format {
            q.push(("date_format", f.wire().to_owned()));
        }
        if let Some(s) = self.reading.decimal_style {
            q.push(("decimal_style", s.wire().to_owned()));
        }
        if let Some(b) = &self.expected_balance {
            q.push((
                "expected_patient_balance",
                nonempty("--expected-balance", b)?,
            ));
        }
        if let Some(c) = &self.expected_credits {
            q.push(("expected_credit_total", nonempty("--expected-credits", c)?));
        }
        if let Some(n) = self.expected_patients {
            q.push(("expected_patient_count", n.to_string()));
        }
        if let Some(p) = &self.save_profile {
            q.push(("save_as_profile", nonempty("--save-profile", p)?));
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_given_options_are_sent_with_wire_names() {
        assert!(Upload::default().query().unwrap().is_empty());
        let u = Upload {
            profile: Some(" acme ".into()),
            reading: Reading {
                map: vec!["Acct #=patient_account_number".into(), "Notes=".into()],
                date_format: Some(DateFormat::MonthDayYear),
                decimal_style: Some(DecimalStyle::Comma),
            },
            expected_balance: Some("1234.50".into()),
            expected_credits: Some("-12.00".into()),
            expected_patients: Some(120),
            save_profile: Some("acme2".into()),
        };
        let q = u.query().unwrap();
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            pairs,
            vec![
                ("profile", "acme"),
                (
                    "mapping",
                    r#"{"Acct #":"patient_account_number","Notes":""}"#
                ),
                ("date_format", "month_day_year"),
                ("decimal_style", "comma"),
                ("expected_patient_balance", "1234.50"),
                ("expected_credit_total", "-12.00"),
                ("expected_patient_count", "120"),
                ("save_as_profile", "acme2"),
            ]
        );
    }

    #[test]
    fn an_empty_name_is_refused() {
        let u = Upload {
            save_profile: Some("  ".into()),
            ..Upload::default()
        };
        assert_eq!(
            u.query().unwrap_err().to_string(),
            "--save-profile must not be empty"
        );
    }
}
