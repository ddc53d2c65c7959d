//! Money, dates and states as a billing lead reads them.

use chrono::{DateTime, NaiveDate, Utc};
use maud::{html, Markup};
use rust_decimal::Decimal;
use std::str::FromStr;

/// "$1,234.50", or "−$12.00 CR" for a credit (marked in words and by a
/// class, never by colour alone).
pub fn money(value: Decimal) -> Markup {
    let value = bf_domain::money::normalize(value);
    let text =
        bf_domain::money::format_amount(value.abs(), bf_domain::money::DecimalStyle::Dot, true);
    if value.is_sign_negative() && !value.is_zero() {
        html! { span.credit title="Credit owed to the patient" { "−$" (text) " CR" } }
    } else {
        html! { "$" (text) }
    }
}

/// Money from a stored decimal string; empty when absent or unreadable.
pub fn money_text(value: Option<&str>) -> Markup {
    match value.and_then(|v| Decimal::from_str(v).ok()) {
        Some(d) => money(d),
        None => html! {},
    }
}

/// A date as US practices write it: 3/7/1984.
pub fn date(d: NaiveDate) -> String {
    d.format("%-m/%-d/%Y").to_string()
}

/// A stored ISO date in the practice's style; the text itself otherwise.
pub fn date_text(value: &str) -> String {
    bf_domain::date::parse_iso(value)
        .map(date)
        .unwrap_or_else(|_| value.to_string())
}

/// A moment, in UTC, to the minute.
pub fn moment(t: DateTime<Utc>) -> String {
    t.format("%-m/%-d/%Y %H:%M UTC").to_string()
}

/// An import's state in words.
pub fn status(s: &str) -> &'static str {
    match s {
        "queued" => "Waiting to start",
        "parsing" => "Checking rows",
        "ready_for_review" => "Ready for review",
        "approving" => "Creating claims",
        "completed" => "Saved",
        "failed" => "Failed",
        "voided" => "Voided",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_are_marked_in_words() {
        assert_eq!(
            money(Decimal::new(-1200, 2)).into_string(),
            "<span class=\"credit\" title=\"Credit owed to the patient\">−$12.00 CR</span>"
        );
        assert_eq!(money(Decimal::new(123450, 2)).into_string(), "$1,234.50");
    }

    #[test]
    fn dates_read_the_us_way() {
        assert_eq!(date_text("1984-03-07"), "3/7/1984");
    }
}
