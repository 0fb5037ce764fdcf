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
pub fn parse_int(s: &str) -> Result<i64, String> {
    // Up to 18 digits (nearly every value) always fit an i64: no checks
    // in the loop but the digit test.
    if !s.is_empty() && s.len() <= 18 {
        let mut value: i64 = 0;
        for b in s.bytes() {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return Err(format!("invalid integer {}", quoted(s)));
            }
            value = value * 10 + i64::from(digit);
        }
        return Ok(value);
    }
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
pub fn parse_double(s: &str) -> Result<f64, String> {
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
        assert_eq!(
            parse_double("1e999"),
            Err("number \"1e999\" out of range".into())
        );
    }
}
