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
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid integer {}", quoted(s)));
    }
    s.parse::<i64>()
        .map_err(|_| format!("integer {} out of range", quoted(s)))
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
