//! How a rejected summary is reported everywhere (CLI, dead letters,
//! reports): compiler style, so editors and humans find the spot.

use crate::text::bounded_message;

/// The longest rendered diagnostic, in characters: the converter quotes
/// input tokens as short excerpts, and this bounds the whole line again so
/// that no input makes a report, log line or dead letter large.
pub const MAX_DIAGNOSTIC_CHARS: usize = 600;

/// `SOURCE:LINE: field 'FIELD': MESSAGE`, or `SOURCE:LINE: MESSAGE` when
/// the error concerns the whole line; one line of at most
/// [`MAX_DIAGNOSTIC_CHARS`] characters.
pub fn render(source: &str, line: u32, field: &str, message: &str) -> String {
    let rendered = if field.is_empty() {
        format!("{source}:{line}: {message}")
    } else {
        format!("{source}:{line}: field '{field}': {message}")
    };
    bounded_message(&rendered, MAX_DIAGNOSTIC_CHARS)
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

    #[test]
    fn one_bounded_line_whatever_the_input() {
        let rendered = super::render("in\nx.summary", 3, "k", &"v".repeat(10_000));
        assert!(rendered.starts_with("in\\nx.summary:3: field 'k': vvv"));
        assert!(rendered.ends_with("… (10027 bytes)"), "{rendered}");
        // 600 input characters shown (the escaped newline takes two) and the cut mark.
        assert_eq!(
            rendered.chars().count(),
            601 + "… (10027 bytes)".chars().count()
        );
    }
}
