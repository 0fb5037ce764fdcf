//! How a rejected summary is reported everywhere (CLI, dead letters,
//! reports): compiler style, so editors and humans find the spot.

/// `SOURCE:LINE: field 'FIELD': MESSAGE`, or `SOURCE:LINE: MESSAGE` when
/// the error concerns the whole line.
pub fn render(source: &str, line: u32, field: &str, message: &str) -> String {
    if field.is_empty() {
        format!("{source}:{line}: {message}")
    } else {
        format!("{source}:{line}: field '{field}': {message}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn compiler_style() {
        assert_eq!(
            super::render("a.summary", 2, "score", "bad"),
            "a.summary:2: field 'score': bad"
        );
        assert_eq!(
            super::render("a.summary", 1, "", "empty line"),
            "a.summary:1: empty line"
        );
    }
}
