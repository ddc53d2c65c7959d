//! Amounts of money: exact decimals, two places, never rounded.

use rust_decimal::Decimal;
use std::str::FromStr;

/// The largest amount the claims ledger stores (numeric(14,2)).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(276_447_231, 23_283, 0, false, 2);

/// Why a cell is not an amount. Carries no value, so it is safe to log.
///
/// Each message reads after the column name ("Patient Balance is …") and
/// says what to fix, never what the cell held (it is patient data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not a number at all, or a number with marks we do not understand
    /// (two negative markers, misplaced thousands separators, …).
    #[error("is not a plain decimal number such as 1234.50 or -12.00")]
    NotDecimal,
    /// More than two decimal places: refused because rounding money
    /// silently would change a patient's balance.
    #[error("has {0} decimal places; at most 2 are allowed and amounts are never rounded")]
    TooManyPlaces(usize),
    /// Beyond what the ledger can store.
    #[error("is larger than 999,999,999,999.99")]
    TooLarge,
    /// The upload was declared with a decimal point but the cell is
    /// written with a decimal comma (`12,50`, `1.234,56`): reading it
    /// anyway would multiply the amount by 100 or worse.
    #[error(
        "is written with a decimal comma, such as 1.234,56; choose the comma decimal style \
         for this upload"
    )]
    DecimalComma,
    /// The upload was declared with a decimal comma but the cell is
    /// written with a decimal point (`12.50`, `1,234.56`).
    #[error(
        "is written with a decimal point, such as 1,234.56; choose the dot decimal style \
         for this upload"
    )]
    DecimalDot,
}

/// How the file writes the decimal separator.
///
/// Declared with the upload because `1,234` is a thousand in one style and
/// a bit over one in the other: the cell alone cannot tell, so we never guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecimalStyle {
    /// `1,234.56`: '.' before the cents, ',' between thousands (US exports).
    #[default]
    Dot,
    /// `1.234,56` or `1 234,56`: ',' before the cents, '.' or a space
    /// between thousands (European exports).
    Comma,
}

impl DecimalStyle {
    /// The other style, to tell a user which one their file looks like.
    fn other(self) -> Self {
        match self {
            DecimalStyle::Dot => DecimalStyle::Comma,
            DecimalStyle::Comma => DecimalStyle::Dot,
        }
    }

    /// The character before the cents.
    fn decimal_separator(self) -> char {
        match self {
            DecimalStyle::Dot => '.',
            DecimalStyle::Comma => ',',
        }
    }

    /// The characters allowed between groups of thousands (spaces are
    /// normalised to ' ' before this is asked).
    fn thousands_separators(self) -> &'static [char] {
        match self {
            DecimalStyle::Dot => &[','],
            DecimalStyle::Comma => &['.', ' '],
        }
    }

    /// The thousands separator `format_amount` writes.
    fn written_thousands_separator(self) -> char {
        match self {
            DecimalStyle::Dot => ',',
            DecimalStyle::Comma => '.',
        }
    }
}

/// Parses a plain decimal: optional `-`, digits, optionally `.` and one or
/// two digits. Surrounding spaces are ignored. Anything else (currency
/// symbols, thousands separators, exponents) is refused here; the
/// real-world formats get their own parser so this one stays strict.
pub fn parse_plain(cell: &str) -> Result<Decimal, AmountError> {
    let s = cell.trim();
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return Err(AmountError::NotDecimal);
    }
    if let Some(f) = frac {
        if f.len() > 2 {
            return Err(AmountError::TooManyPlaces(f.len()));
        }
    }
    if int.trim_start_matches('0').len() > 12 {
        return Err(AmountError::TooLarge);
    }
    // Cannot fail: at most 12 integer and 2 fractional ASCII digits.
    let value = Decimal::from_str(s).map_err(|_| AmountError::NotDecimal)?;
    Ok(normalize(value))
}

/// Two decimal places, so `12`, `12.0` and `12.00` are stored and summed alike.
pub fn normalize(mut value: Decimal) -> Decimal {
    value.rescale(2);
    if value.is_zero() {
        // "-0.00" is zero; never show a negative zero to a billing lead.
        value.set_sign_positive(true);
    }
    value
}

/// Parses the money styles real exports use, so a billing lead can upload
/// the file their old EHR wrote (and Excel reformatted) without editing it.
///
/// Accepted around the number, in either style: spaces (including
/// non-breaking ones), one currency symbol (`$` or `€`), a leading `+`, and
/// one negative marker meaning a credit: a leading or trailing `-`,
/// parentheses, or a `CR` suffix (any case). Thousands separators must
/// group by three. More than two decimal places is refused, never rounded.
/// A cell that only makes sense in the other [`DecimalStyle`] gets
/// [`AmountError::DecimalComma`] or [`AmountError::DecimalDot`], so the user
/// is told to change the declared style rather than fix every cell.
pub fn parse_amount(cell: &str, style: DecimalStyle) -> Result<Decimal, AmountError> {
    let cell = Cell::tokenize(cell)?;
    let negative = cell.negative()?;
    let Some((int, frac)) = split_number(&cell.number, style) else {
        return Err(if split_number(&cell.number, style.other()).is_some() {
            match style {
                DecimalStyle::Dot => AmountError::DecimalComma,
                DecimalStyle::Comma => AmountError::DecimalDot,
            }
        } else {
            AmountError::NotDecimal
        });
    };
    if frac.len() > 2 {
        return Err(AmountError::TooManyPlaces(frac.len()));
    }
    if int.trim_start_matches('0').len() > 12 {
        return Err(AmountError::TooLarge);
    }
    let mut mantissa: i64 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        // Cannot overflow in practice (at most 14 significant digits), but
        // checked so a mistake here is an error, not a panic.
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(i64::from(b - b'0')))
            .ok_or(AmountError::NotDecimal)?;
    }
    if negative {
        mantissa = -mantissa;
    }
    // `frac.len()` is at most 2 here, far below Decimal's maximum scale.
    let value = Decimal::try_from_i128_with_scale(i128::from(mantissa), frac.len() as u32)
        .map_err(|_| AmountError::NotDecimal)?;
    Ok(normalize(value))
}

/// Writes an amount in a style, for tests, reports and round trips:
/// `-1,234.50` (Dot) or `-1.234,50` (Comma), with thousands separators only
/// when `thousands` is set. Always two places (see [`normalize`]) and a
/// leading `-` for credits, so [`parse_amount`] reads it back unchanged.
pub fn format_amount(value: Decimal, style: DecimalStyle, thousands: bool) -> String {
    let value = normalize(value);
    let digits = value.abs().to_string();
    let (int, frac) = digits.split_once('.').unwrap_or((&digits, ""));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 2);
    if value.is_sign_negative() {
        out.push('-');
    }
    for (i, c) in int.chars().enumerate() {
        if thousands && i > 0 && (int.len() - i) % 3 == 0 {
            out.push(style.written_thousands_separator());
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(style.decimal_separator());
        out.push_str(frac);
    }
    out
}

/// A mark around the number in a money cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Minus,
    Plus,
    Currency,
    Open,
    Close,
    Credit,
}

/// A money cell split into the number and the marks before and after it.
#[derive(Debug)]
struct Cell {
    before: Vec<Mark>,
    number: String,
    after: Vec<Mark>,
}

impl Cell {
    /// Splits a cell into marks and exactly one number. The number keeps
    /// its '.' and ',' and any single space between digits (a thousands
    /// separator in the comma style); spaces elsewhere only separate.
    fn tokenize(cell: &str) -> Result<Self, AmountError> {
        let chars: Vec<char> = cell
            .trim()
            .chars()
            .map(|c| if is_space(c) { ' ' } else { c })
            .collect();
        let mut before = Vec::new();
        let mut after = Vec::new();
        let mut number: Option<String> = None;
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            let mark = match c {
                ' ' => {
                    i += 1;
                    continue;
                }
                '0'..='9' => {
                    if number.is_some() {
                        return Err(AmountError::NotDecimal);
                    }
                    let mut n = String::new();
                    while let Some(&c) = chars.get(i) {
                        let inner_space = c == ' '
                            && n.ends_with(|p: char| p.is_ascii_digit())
                            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
                        if c.is_ascii_digit() || c == '.' || c == ',' || inner_space {
                            n.push(c);
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    number = Some(n);
                    continue;
                }
                '-' => Mark::Minus,
                '+' => Mark::Plus,
                '$' | '€' => Mark::Currency,
                '(' => Mark::Open,
                ')' => Mark::Close,
                'c' | 'C' if matches!(chars.get(i + 1), Some('r' | 'R')) => {
                    i += 1;
                    Mark::Credit
                }
                _ => return Err(AmountError::NotDecimal),
            };
            i += 1;
            if number.is_none() {
                before.push(mark);
            } else {
                after.push(mark);
            }
        }
        let number = number.ok_or(AmountError::NotDecimal)?;
        Ok(Cell {
            before,
            number,
            after,
        })
    }

    /// Whether the marks make the amount a credit. Refuses marks in the
    /// wrong place, unbalanced parentheses, two currency symbols, and two
    /// signs at once (`-(12.00)` is more likely a mistake than a debit).
    fn negative(&self) -> Result<bool, AmountError> {
        let count = |marks: &[Mark], m: Mark| marks.iter().filter(|&&x| x == m).count();
        let allowed_before = [Mark::Minus, Mark::Plus, Mark::Currency, Mark::Open];
        let allowed_after = [Mark::Minus, Mark::Credit, Mark::Currency, Mark::Close];
        if !self.before.iter().all(|m| allowed_before.contains(m))
            || !self.after.iter().all(|m| allowed_after.contains(m))
        {
            return Err(AmountError::NotDecimal);
        }
        let open = count(&self.before, Mark::Open);
        let close = count(&self.after, Mark::Close);
        let currency = count(&self.before, Mark::Currency) + count(&self.after, Mark::Currency);
        let plus = count(&self.before, Mark::Plus);
        let minus = count(&self.before, Mark::Minus)
            + count(&self.after, Mark::Minus)
            + count(&self.after, Mark::Credit)
            + open;
        if open != close || open > 1 || currency > 1 || minus + plus > 1 {
            return Err(AmountError::NotDecimal);
        }
        Ok(minus == 1)
    }
}

/// Spaces as exports write them: Excel and European locales put
/// non-breaking (U+00A0) or narrow non-breaking (U+202F) spaces in amounts.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}')
}

/// Splits a number written in `style` into its integer digits (thousands
/// separators removed) and its fractional digits, or `None` if the number
/// is not written that way. Thousands separators, when present, are all the
/// same character and group the digits by three.
fn split_number(number: &str, style: DecimalStyle) -> Option<(String, &str)> {
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let (int, frac) = match number.split_once(style.decimal_separator()) {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if number.contains(style.decimal_separator()) && !digits(frac) {
        return None;
    }
    if digits(int) {
        return Some((int.to_owned(), frac));
    }
    let sep = int.chars().find(|c| !c.is_ascii_digit())?;
    if !style.thousands_separators().contains(&sep) {
        return None;
    }
    let mut groups = int.split(sep);
    let first = groups.next()?;
    if !digits(first) || first.len() > 3 {
        return None;
    }
    let mut out = first.to_owned();
    for group in groups {
        if !digits(group) || group.len() != 3 {
            return None;
        }
        out.push_str(group);
    }
    Some((out, frac))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn plain_decimals_parse_to_two_places() {
        assert_eq!(parse_plain("1234.5").unwrap().to_string(), "1234.50");
        assert_eq!(parse_plain("12").unwrap().to_string(), "12.00");
        assert_eq!(parse_plain(" 0.07 ").unwrap(), d("0.07"));
        assert_eq!(parse_plain("007.10").unwrap(), d("7.10"));
    }

    #[test]
    fn negative_amounts_are_credits() {
        assert_eq!(parse_plain("-42.10").unwrap(), d("-42.10"));
        assert_eq!(parse_plain("-0.00").unwrap().to_string(), "0.00");
    }

    #[test]
    fn more_than_two_places_is_refused_not_rounded() {
        assert_eq!(parse_plain("1.005"), Err(AmountError::TooManyPlaces(3)));
        assert_eq!(parse_plain("-0.0001"), Err(AmountError::TooManyPlaces(4)));
    }

    #[test]
    fn anything_but_a_plain_decimal_is_refused() {
        for bad in [
            "", " ", "abc", "$12.00", "1,234.00", "12.", ".5", "+5", "1e3", "--1", "12 00", "NaN",
            "(12.00)", "12.00-",
        ] {
            assert_eq!(parse_plain(bad), Err(AmountError::NotDecimal), "{bad:?}");
        }
    }

    #[test]
    fn amounts_beyond_the_ledger_are_refused() {
        assert_eq!(parse_plain("999999999999.99").unwrap(), MAX_AMOUNT);
        assert_eq!(parse_plain("1000000000000"), Err(AmountError::TooLarge));
    }

    fn dot(cell: &str) -> Result<Decimal, AmountError> {
        parse_amount(cell, DecimalStyle::Dot)
    }

    fn comma(cell: &str) -> Result<Decimal, AmountError> {
        parse_amount(cell, DecimalStyle::Comma)
    }

    #[test]
    fn dot_style_reads_what_us_exports_write() {
        for (cell, want) in [
            ("1234.5", "1234.50"),
            ("1234", "1234.00"),
            ("$1,234.50", "1234.50"),
            ("1,234,567.00", "1234567.00"),
            ("999,999,999,999.99", "999999999999.99"),
            ("+12.00", "12.00"),
            ("+ $12.00", "12.00"),
            ("$ 12", "12.00"),
            ("12.00 $", "12.00"),
            ("  12.00  ", "12.00"),
            ("\u{a0}$\u{a0}1,234.50\u{a0}", "1234.50"),
            ("0.07", "0.07"),
            ("007.10", "7.10"),
            ("€12.00", "12.00"),
        ] {
            assert_eq!(dot(cell), Ok(d(want)), "{cell:?}");
            assert_eq!(dot(cell).unwrap().to_string(), want, "{cell:?}");
        }
    }

    #[test]
    fn every_negative_marker_means_a_credit() {
        for cell in [
            "(12.00)",
            "-12.00",
            "12.00-",
            "12.00 CR",
            "12.00CR",
            "12.00cr",
            "12.00 Cr",
            "12.00 cR",
            "-$12.00",
            "$-12.00",
            "($12.00)",
            "$(12.00)",
            "( 12.00 )",
            "- 12.00",
            "- $ 12.00",
            "$12.00 -",
            "$12.00 CR",
            "\u{a0}(\u{a0}$12.00\u{a0})\u{a0}",
            "12.00\u{a0}CR",
        ] {
            assert_eq!(dot(cell), Ok(d("-12.00")), "{cell:?}");
        }
        assert_eq!(dot("(1,234.56)"), Ok(d("-1234.56")));
    }

    #[test]
    fn a_credit_of_zero_is_plain_zero() {
        for cell in ["-0.00", "(0.00)", "0.00 CR", "0-"] {
            assert_eq!(dot(cell).unwrap().to_string(), "0.00", "{cell:?}");
        }
    }

    #[test]
    fn two_negative_markers_are_refused() {
        for cell in [
            "-(12.00)",
            "(12.00) CR",
            "(12.00)-",
            "-12.00-",
            "-12.00 CR",
            "12.00- CR",
            "12.00 CR CR",
            "--12.00",
            "(-12.00)",
            "+-12.00",
            "+(12.00)",
            "+12.00 CR",
        ] {
            assert_eq!(dot(cell), Err(AmountError::NotDecimal), "{cell:?}");
        }
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for cell in [
            "",
            "  ",
            "\u{a0}",
            "$",
            "-",
            "()",
            "CR",
            "abc",
            "1,23.00",
            "1,2345.00",
            "12,34,567.00",
            ",123.00",
            "1,234,.00",
            "12.",
            ".50",
            "1.2.3",
            "12 00",
            "1 234.56",
            "$$12.00",
            "$12.00 €",
            "(12.00",
            "12.00)",
            ")12.00(",
            "((12.00))",
            "CR 12.00",
            "12.00 CRX",
            "12.00 C",
            "12.00+",
            "12.00 USD",
            "1e3",
            "NaN",
            "12.00 13.00",
            "1\u{2212}2",
            "\u{2212}12.00",
            "١٢",
        ] {
            assert_eq!(dot(cell), Err(AmountError::NotDecimal), "{cell:?}");
        }
    }

    #[test]
    fn more_than_two_places_is_refused_even_when_the_value_would_fit() {
        assert_eq!(dot("1.230"), Err(AmountError::TooManyPlaces(3)));
        assert_eq!(dot("$1,234.5678"), Err(AmountError::TooManyPlaces(4)));
        assert_eq!(dot("(0.001)"), Err(AmountError::TooManyPlaces(3)));
        assert_eq!(comma("1,230"), Err(AmountError::TooManyPlaces(3)));
        assert_eq!(comma("1.234,567 €"), Err(AmountError::TooManyPlaces(3)));
    }

    #[test]
    fn more_than_twelve_integer_digits_is_too_large() {
        assert_eq!(dot("1,000,000,000,000.00"), Err(AmountError::TooLarge));
        assert_eq!(dot("(1000000000000)"), Err(AmountError::TooLarge));
        assert_eq!(comma("1.000.000.000.000,00"), Err(AmountError::TooLarge));
        // Leading zeros are not digits of the amount.
        assert_eq!(dot("0000000000000012.00"), Ok(d("12.00")));
        assert_eq!(dot("$999,999,999,999.99"), Ok(MAX_AMOUNT));
        assert_eq!(dot("(999,999,999,999.99)"), Ok(-MAX_AMOUNT));
    }

    #[test]
    fn a_decimal_comma_in_the_dot_style_says_to_change_the_style() {
        for cell in [
            "12,50",
            "12,5",
            "1.234,56",
            "1 234,56",
            "1\u{a0}234,56",
            "1.234.567",
            "€ 1.234,56",
            "(12,50)",
            "12,50 CR",
            "12,5050",
        ] {
            assert_eq!(dot(cell), Err(AmountError::DecimalComma), "{cell:?}");
        }
        let message = AmountError::DecimalComma.to_string();
        assert!(message.contains("comma decimal style"), "{message}");
    }

    #[test]
    fn comma_style_reads_what_european_exports_write() {
        for (cell, want) in [
            ("1.234,56", "1234.56"),
            ("1 234,56", "1234.56"),
            ("1\u{a0}234\u{a0}567,00", "1234567.00"),
            ("1\u{202f}234,56", "1234.56"),
            ("1234,5", "1234.50"),
            ("1234", "1234.00"),
            ("1.234", "1234.00"),
            ("€1.234,56", "1234.56"),
            ("1.234,56 €", "1234.56"),
            ("$ 12,00", "12.00"),
            ("+12,00", "12.00"),
            ("-12,00", "-12.00"),
            ("12,00-", "-12.00"),
            ("(12,00)", "-12.00"),
            ("(€ 1.234,56)", "-1234.56"),
            ("12,00 CR", "-12.00"),
            ("1 234,56cr", "-1234.56"),
            ("- 1 234,56", "-1234.56"),
            ("-€12,00", "-12.00"),
            ("€-12,00", "-12.00"),
        ] {
            assert_eq!(comma(cell), Ok(d(want)), "{cell:?}");
        }
    }

    #[test]
    fn comma_style_refusals() {
        for cell in [
            "1.23,00",
            "1 23,00",
            "1.234 567,00",
            "12,",
            ",50",
            "12,34,56",
            "-(12,00)",
            "(12,00) CR",
            "abc",
            "",
        ] {
            assert_eq!(comma(cell), Err(AmountError::NotDecimal), "{cell:?}");
        }
    }

    #[test]
    fn a_decimal_point_in_the_comma_style_says_to_change_the_style() {
        for cell in ["12.50", "1,234.56", "$1,234.50", "(12.5)", "1234.5"] {
            assert_eq!(comma(cell), Err(AmountError::DecimalDot), "{cell:?}");
        }
        let message = AmountError::DecimalDot.to_string();
        assert!(message.contains("dot decimal style"), "{message}");
    }

    #[test]
    fn amounts_are_formatted_in_either_style() {
        let v = d("-1234.5");
        assert_eq!(format_amount(v, DecimalStyle::Dot, true), "-1,234.50");
        assert_eq!(format_amount(v, DecimalStyle::Dot, false), "-1234.50");
        assert_eq!(format_amount(v, DecimalStyle::Comma, true), "-1.234,50");
        assert_eq!(format_amount(v, DecimalStyle::Comma, false), "-1234,50");
        assert_eq!(
            format_amount(MAX_AMOUNT, DecimalStyle::Dot, true),
            "999,999,999,999.99"
        );
        assert_eq!(
            format_amount(d("123456"), DecimalStyle::Dot, true),
            "123,456.00"
        );
        assert_eq!(format_amount(d("12"), DecimalStyle::Dot, true), "12.00");
        assert_eq!(format_amount(d("-0.001"), DecimalStyle::Dot, true), "0.00");
        assert_eq!(
            format_amount(Decimal::ZERO, DecimalStyle::Comma, true),
            "0,00"
        );
    }

    #[test]
    fn the_style_is_declared_in_snake_case_and_defaults_to_dot() {
        use serde::de::{value::Error, IntoDeserializer};
        use serde::Deserialize;
        let parse = |s: &str| DecimalStyle::deserialize(s.into_deserializer());
        assert_eq!(parse("dot"), Ok::<_, Error>(DecimalStyle::Dot));
        assert_eq!(parse("comma"), Ok(DecimalStyle::Comma));
        assert!(parse("Comma").is_err());
        assert_eq!(DecimalStyle::default(), DecimalStyle::Dot);
    }

    #[test]
    fn messages_read_after_the_column_name() {
        for e in [
            AmountError::NotDecimal,
            AmountError::TooManyPlaces(3),
            AmountError::TooLarge,
            AmountError::DecimalComma,
            AmountError::DecimalDot,
        ] {
            // "Patient Balance {e}." — lower case, no full stop of its own.
            let message = e.to_string();
            assert!(message.starts_with(char::is_lowercase), "{message}");
            assert!(!message.ends_with('.'), "{message}");
        }
    }

    /// Amounts the ledger holds: at most two places, within ±MAX_AMOUNT,
    /// with small values and the limits over-represented.
    fn ledger_amount() -> impl Strategy<Value = Decimal> {
        let any_scale = (0u32..=2).prop_flat_map(|scale| {
            let max = 99_999_999_999_999i64 / 10i64.pow(2 - scale);
            (-max..=max).prop_map(move |m| Decimal::new(m, scale))
        });
        prop_oneof![
            4 => any_scale,
            4 => (-1_000_000i64..=1_000_000).prop_map(|m| Decimal::new(m, 2)),
            1 => Just(MAX_AMOUNT),
            1 => Just(-MAX_AMOUNT),
            1 => Just(Decimal::ZERO),
        ]
    }

    fn any_style() -> impl Strategy<Value = DecimalStyle> {
        prop_oneof![Just(DecimalStyle::Dot), Just(DecimalStyle::Comma)]
    }

    /// Writes `value` the way some export might: a currency symbol,
    /// padding, and for credits one of the negative markers.
    fn decorate(
        value: Decimal,
        style: DecimalStyle,
        thousands: bool,
        form: usize,
        symbol: &str,
        pad: &str,
        space_thousands: bool,
    ) -> String {
        let mut a = format_amount(value.abs(), style, thousands);
        if style == DecimalStyle::Comma && space_thousands {
            a = a.replace('.', pad);
        }
        let body = if value.is_sign_negative() {
            match form % 6 {
                0 => format!("-{symbol}{pad}{a}"),
                1 => format!("{symbol}-{pad}{a}"),
                2 => format!("({symbol}{a})"),
                3 => format!("{symbol}{a}{pad}CR"),
                4 => format!("{symbol}{a}{pad}cr"),
                _ => format!("{symbol}{a}-"),
            }
        } else {
            match form % 3 {
                0 => format!("{symbol}{a}"),
                1 => format!("+{pad}{symbol}{a}"),
                _ => format!("{symbol}{pad}{a}"),
            }
        };
        format!("{pad}{body}{pad}")
    }

    proptest! {
        #[test]
        fn formatted_amounts_parse_back(
            v in ledger_amount(),
            style in any_style(),
            thousands in any::<bool>(),
        ) {
            let written = format_amount(v, style, thousands);
            let parsed = parse_amount(&written, style);
            prop_assert_eq!(parsed, Ok(normalize(v)), "{:?}", written);
            prop_assert_eq!(parsed.map(|p| p.scale()), Ok(2));
        }

        #[test]
        fn decorated_amounts_parse_back(
            v in ledger_amount(),
            style in any_style(),
            thousands in any::<bool>(),
            form in 0usize..6,
            symbol in prop::sample::select(vec!["", "$", "€"]),
            pad in prop::sample::select(vec!["", " ", "\u{a0}"]),
            space_thousands in any::<bool>(),
        ) {
            let space_thousands = space_thousands && !pad.is_empty();
            let written = decorate(v, style, thousands, form, symbol, pad, space_thousands);
            prop_assert_eq!(parse_amount(&written, style), Ok(normalize(v)), "{:?}", written);
        }

        #[test]
        fn arbitrary_text_never_panics(cell in any::<String>(), style in any_style()) {
            let _ = parse_amount(&cell, style);
            let _ = parse_plain(&cell);
        }

        #[test]
        fn amount_like_text_never_panics(
            chars in prop::collection::vec(
                prop::sample::select(vec![
                    '0', '1', '9', '.', ',', ' ', '\u{a0}', '-', '+', '$', '€', '(', ')', 'C',
                    'r', 'x', 'é',
                ]),
                0..24,
            ),
            style in any_style(),
        ) {
            let cell: String = chars.into_iter().collect();
            if let Ok(v) = parse_amount(&cell, style) {
                // Whatever is accepted is an amount the ledger can hold.
                prop_assert!(v.abs() <= MAX_AMOUNT && v.scale() == 2, "{:?}", cell);
            }
        }
    }
}
