//! How to read one file: what the upload declared (or the tenant saved as
//! an import profile), and the tenant's settings that rows are judged by.

use crate::date::DateFormat;
use crate::header::ExplicitMapping;
use crate::money::DecimalStyle;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The balance above which a row is flagged when the tenant set none.
pub const DEFAULT_BALANCE_CEILING: Decimal = Decimal::from_parts(10_000_000, 0, 0, false, 2);

/// Everything that changes how a file is read and judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ParseOptions {
    /// File header → template column ("" ignores the column); wins over detection.
    pub mapping: ExplicitMapping,
    /// How the file writes dates; `None` detects (and refuses to guess).
    pub date_format: Option<DateFormat>,
    pub decimal_style: DecimalStyle,
    /// A balance above this is flagged for a person to confirm.
    #[serde(with = "rust_decimal::serde::str")]
    pub balance_ceiling: Decimal,
    /// The practice's today: dates of birth and service after it are invalid.
    pub today: Option<NaiveDate>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            mapping: ExplicitMapping::new(),
            date_format: None,
            decimal_style: DecimalStyle::Dot,
            balance_ceiling: DEFAULT_BALANCE_CEILING,
            today: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_ceiling_is_one_hundred_thousand() {
        assert_eq!(DEFAULT_BALANCE_CEILING.to_string(), "100000.00");
    }

    #[test]
    fn options_round_trip_as_json_and_default_when_absent() {
        let parsed: ParseOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, ParseOptions::default());
        let mut o = ParseOptions::default();
        o.mapping.insert("Amt".into(), "patient_balance".into());
        o.date_format = Some(DateFormat::DayMonthYear);
        o.decimal_style = DecimalStyle::Comma;
        let text = serde_json::to_string(&o).unwrap();
        assert_eq!(serde_json::from_str::<ParseOptions>(&text).unwrap(), o);
    }
}
