//! Cell values of a row and the strict number syntax of summaries.

use std::borrow::Cow;
use summary_lake::text::quoted;

/// One cell, typed as its column in [`summary_lake::catalog`].
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Text(Cow<'a, str>),
    Int(i64),
    Double(f64),
    Bool(bool),
    Null,
}

impl<'a> Value<'a> {
    pub fn text(s: &'a str) -> Self {
        Value::Text(Cow::Borrowed(s))
    }

    pub fn opt_text(s: Option<&'a str>) -> Self {
        s.map_or(Value::Null, Value::text)
    }

    pub fn opt_int(v: Option<i64>) -> Self {
        v.map_or(Value::Null, Value::Int)
    }

    pub fn opt_double(v: Option<f64>) -> Self {
        v.map_or(Value::Null, Value::Double)
    }
}

/// A non-negative decimal integer: digits only (no sign, no exponent, no
/// spaces) that fits an i64.
/// Inlined where it is called (per field): the fast path is a few
/// instructions, and a call costs more than it in the component.
#[inline(always)]
pub fn parse_int(s: &str) -> Result<i64, String> {
    // Up to 18 digits (nearly every value) always fit an i64: no checks
    // in the loop but the digit test.
    if !s.is_empty() && s.len() <= 18 {
        let mut value: i64 = 0;
        for b in s.bytes() {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return Err(invalid_int(s));
            }
            value = value * 10 + i64::from(digit);
        }
        return Ok(value);
    }
    parse_long_int(s)
}

#[cold]
#[inline(never)]
fn invalid_int(s: &str) -> String {
    format!("invalid integer {}", quoted(s))
}

/// [`parse_int`] of the empty string and of more than 18 digits.
#[cold]
#[inline(never)]
fn parse_long_int(s: &str) -> Result<i64, String> {
    // One pass: 18 digits always fit an i64; longer ones are checked.
    let mut value: i64 = 0;
    let mut fits = true;
    for (i, b) in s.bytes().enumerate() {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return Err(format!("invalid integer {}", quoted(s)));
        }
        if i < 18 {
            value = value * 10 + i64::from(digit);
        } else if let Some(next) = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(digit)))
        {
            value = next;
        } else {
            fits = false;
        }
    }
    match (s.is_empty(), fits) {
        (true, _) => Err(format!("invalid integer {}", quoted(s))),
        (false, true) => Ok(value),
        (false, false) => Err(format!("integer {} out of range", quoted(s))),
    }
}

/// A non-negative finite decimal as Python's `%f`/`%g` print it: digits with
/// an optional fraction and an optional exponent (`1.5`, `0.25`, `1.2e+03`).
#[inline]
pub fn parse_double(s: &str) -> Result<f64, String> {
    match plain_decimal(s.as_bytes()) {
        Some(value) => Ok(value),
        None => parse_double_slow(s),
    }
}

/// The value of a short decimal without an exponent (`49`, `0.25`,
/// `1234.5`), the shape of nearly every value, in one pass: up to 15
/// digits are an exact integer, divided by an exact power of ten, so the
/// quotient is the correctly rounded value, which is what `str::parse`
/// returns. `None` for anything else (left to [`parse_double_slow`]).
#[inline]
fn plain_decimal(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut dot: Option<usize> = None;
    for (i, &b) in s.iter().enumerate() {
        let digit = b.wrapping_sub(b'0');
        if digit <= 9 {
            mantissa = mantissa * 10 + u64::from(digit);
        } else if b == b'.' && dot.is_none() {
            dot = Some(i);
        } else {
            return None;
        }
    }
    let fraction_digits = dot.map_or(0, |d| s.len() - 1 - d);
    let digits = s.len() - usize::from(dot.is_some());
    // "." alone, and more than 15 digits, go the slow way.
    if digits == 0 || digits > 15 {
        return None;
    }
    Some(mantissa as f64 / POWERS_OF_TEN[fraction_digits])
}

/// 10^0 to 10^15, each exact in an f64.
const POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

fn parse_double_slow(s: &str) -> Result<f64, String> {
    let invalid = || format!("invalid number {}", quoted(s));
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty()) || !digits(int_part) || !digits(frac_part) {
        return Err(invalid());
    }
    if let Some(exp) = exponent {
        let exp_digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if exp_digits.is_empty() || !digits(exp_digits) {
            return Err(invalid());
        }
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("number {} out of range", quoted(s))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_plain_digits() {
        assert_eq!(parse_int("0"), Ok(0));
        assert_eq!(parse_int("30804"), Ok(30804));
        assert_eq!(parse_int("9223372036854775807"), Ok(i64::MAX));
        for bad in ["", "-1", "+1", "1e3", "1.0", " 1", "abc", "0x10"] {
            assert_eq!(parse_int(bad), Err(format!("invalid integer {bad:?}")));
        }
        assert_eq!(
            parse_int("9223372036854775808"),
            Err("integer \"9223372036854775808\" out of range".into())
        );
        // Leading zeros, and the checked digits past the 18th.
        assert_eq!(parse_int("0000000000000000000000042"), Ok(42));
        assert_eq!(parse_int("999999999999999999"), Ok(999_999_999_999_999_999));
        assert_eq!(
            parse_int("99999999999999999999x"),
            Err("invalid integer \"99999999999999999999x\"".into())
        );
        assert_eq!(
            parse_int("99999999999999999999"),
            Err("integer \"99999999999999999999\" out of range".into())
        );
    }

    #[test]
    fn doubles_as_python_prints_them() {
        assert_eq!(parse_double("1.5"), Ok(1.5));
        assert_eq!(parse_double("49"), Ok(49.0));
        assert_eq!(parse_double("1.23e+03"), Ok(1230.0));
        assert_eq!(parse_double("5e-05"), Ok(5e-05));
        assert_eq!(parse_double(".5"), Ok(0.5));
        for bad in [
            "", ".", "-1.5", "+1", "nan", "inf", "1.2.3", "1e", "e5", "1,5", "1.5 ",
        ] {
            assert!(parse_double(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_double("1234.5"), Ok(1234.5));
        assert_eq!(parse_double("5."), Ok(5.0));
        assert_eq!(parse_double("0.1"), Ok(0.1));
        assert_eq!(
            parse_double("1e999"),
            Err("number \"1e999\" out of range".into())
        );
    }

    /// The one-pass decimal against the general parse, on decimals of every
    /// shape near its limits (15 and 16 digits, 16 bytes, dots anywhere)
    /// and on strings it must leave to the general parse.
    #[test]
    fn plain_decimals_equal_the_general_parse() {
        let mut cases: Vec<String> = Vec::new();
        let digits = "9876543210123456789";
        for len in 1..=18 {
            for dot in 0..=len {
                let mut s = digits[..len].to_string();
                if dot < len || len < 3 {
                    s.insert(dot, '.');
                }
                cases.push(s);
            }
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int = x % 1_000_000;
            let frac_len = (x >> 40) as usize % 12;
            let frac = (x >> 20) % 10u64.pow(frac_len as u32);
            cases.push(format!("{int}.{frac:0frac_len$}"));
            cases.push(format!("{}", x % 100_000_000_000_000_000));
        }
        for extra in [
            "",
            ".",
            "..",
            "1..2",
            "1.2.3",
            "00012.5000",
            ".5",
            "5.",
            "1e5",
            "1,5",
            "\u{661}",
        ] {
            cases.push(extra.to_string());
        }
        for s in &cases {
            assert_eq!(parse_double(s), parse_double_slow(s), "{s}");
            if let Some(v) = plain_decimal(s.as_bytes()) {
                assert_eq!(v.to_bits(), s.parse::<f64>().unwrap().to_bits(), "{s}");
            }
        }
    }
}
