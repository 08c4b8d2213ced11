//! Exact decimal numbers for the GB 18218 sums.
//!
//! S = Σ q/Q decides whether a unit is a major hazard source at S ≥ 1, and a unit
//! holding exactly its critical quantity is one. In binary floating point
//! 0.1/0.3 + 0.2/0.3 is not 1, so every quantity is taken as the decimal number a
//! person wrote and the sums are done on rationals.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::ToPrimitive;

/// Decimal exponents beyond this are refused: no tonnage needs them, and a huge
/// exponent would make the rational enormous.
const MAX_EXPONENT: i64 = 400;

/// Parses a plain decimal such as `"0.3"`, `"-2"`, `"1.5e-3"` into an exact rational.
pub(crate) fn parse_decimal(text: &str) -> Option<BigRational> {
    let text = text.trim();
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let mut numerator: BigInt = format!("{int}{frac}").parse().ok()?;
    if negative {
        numerator = -numerator;
    }
    let frac_len = i64::try_from(frac.len()).ok()?;
    if exponent.abs() > MAX_EXPONENT || frac_len > 2 * MAX_EXPONENT {
        return None;
    }
    let scale = exponent - frac_len;
    let ten = BigInt::from(10u8);
    let power = ten.pow(u32::try_from(scale.unsigned_abs()).ok()?);
    Some(if scale >= 0 {
        BigRational::from_integer(numerator * power)
    } else {
        BigRational::new(numerator, power)
    })
}

/// The exact value of the decimal an `f64` was written as: its shortest round-trip
/// representation, so `0.1` is one tenth and not 0.1000000000000000055….
pub(crate) fn from_f64(x: f64) -> Option<BigRational> {
    if !x.is_finite() {
        return None;
    }
    // `Display` for f64 prints the shortest string that reads back as the same
    // value, and never in exponent form.
    parse_decimal(&x.to_string())
}

/// The nearest `f64`, for JSON output; the decisions are taken on the exact value.
pub(crate) fn to_f64(x: &BigRational) -> f64 {
    x.to_f64().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(n: i64, d: i64) -> BigRational {
        BigRational::new(BigInt::from(n), BigInt::from(d))
    }

    #[test]
    fn decimals_parse_to_the_fraction_they_denote() {
        assert_eq!(parse_decimal("0.3"), Some(ratio(3, 10)));
        assert_eq!(parse_decimal("-2"), Some(ratio(-2, 1)));
        assert_eq!(parse_decimal("1.5e-3"), Some(ratio(3, 2000)));
        assert_eq!(parse_decimal("2E2"), Some(ratio(200, 1)));
        assert_eq!(parse_decimal(".5"), Some(ratio(1, 2)));
        assert_eq!(parse_decimal(" 20 "), Some(ratio(20, 1)));
    }

    #[test]
    fn text_that_is_not_a_decimal_is_refused() {
        for bad in ["", ".", "-", "1.2.3", "abc", "1e", "1e99999", "0x10", "1,5"] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_float_is_taken_as_the_decimal_it_was_written_as() {
        assert_eq!(from_f64(0.1), Some(ratio(1, 10)));
        assert_eq!(from_f64(0.1 + 0.2), parse_decimal("0.30000000000000004"));
        assert_eq!(from_f64(1e-7), Some(ratio(1, 10_000_000)));
        assert_eq!(from_f64(f64::NAN), None);
        assert_eq!(from_f64(f64::INFINITY), None);
        assert!(from_f64(f64::MAX).is_some());
        assert!(from_f64(5e-324).is_some());
    }
}
