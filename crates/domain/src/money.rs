//! Amounts of money: exact decimals, two places, never rounded.

use rust_decimal::Decimal;
use std::str::FromStr;

/// The largest amount the claims ledger stores (numeric(14,2)).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(276_447_231, 23_283, 0, false, 2);

/// Why a cell is not an amount. Carries no value, so it is safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("is not a plain decimal number such as 1234.50 or -12.00")]
    NotDecimal,
    #[error("has {0} decimal places; at most 2 are allowed and amounts are never rounded")]
    TooManyPlaces(usize),
    #[error("is larger than 999,999,999,999.99")]
    TooLarge,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
