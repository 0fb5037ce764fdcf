use std::fmt;

use summary_lake::text::excerpt;

/// Why a summary was rejected, pointing at the line and key at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: u32,
    /// The key the error is about; empty when it concerns the whole line.
    pub field: String,
    pub message: String,
}

impl ParseError {
    /// The field is quoted as an excerpt (a key can be megabytes of
    /// garbage); messages quote values with `summary_lake::text::quoted`.
    pub fn new(line: u32, field: &str, message: impl Into<String>) -> Self {
        ParseError {
            line,
            field: excerpt(field).to_string(),
            message: message.into(),
        }
    }

    /// Compiler-style rendering: `PATH:LINE: field 'score': invalid integer "abc"`.
    pub fn render(&self, source: &str) -> String {
        summary_lake::diagnostic::render(source, self.line, &self.field, &self.message)
    }
}

/// `LINE: field 'F': MESSAGE` (or `LINE: MESSAGE` without a field).
impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rendered = summary_lake::diagnostic::render("", self.line, &self.field, &self.message);
        f.write_str(&rendered[1..])
    }
}

impl std::error::Error for ParseError {}

pub type ParseResult<T> = Result<T, ParseError>;
