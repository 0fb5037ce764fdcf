//! Quoting untrusted text in errors and logs: a short prefix, control
//! characters escaped, and the total length when cut. An input token of any
//! size (a 50 MB line, a key holding ESC or a newline) then costs a bounded,
//! single-line, terminal-safe piece of a message.

use std::fmt;

/// How many characters of an input token an error or log line quotes.
pub const EXCERPT_CHARS: usize = 80;

/// `text` as it may appear in a message: at most [`EXCERPT_CHARS`]
/// characters, control characters (and `\`) escaped, and
/// `… (N bytes)` when cut. Displays without quotes; see [`quoted`].
pub fn excerpt(text: &str) -> Excerpt<'_> {
    Excerpt {
        text,
        max_chars: EXCERPT_CHARS,
        total_bytes: text.len(),
        escape_quotes: true,
    }
}

/// How many characters of a name (an S3 key, a path) a message shows: as
/// many as an S3 key may have, so a real name is shown whole.
pub const NAME_CHARS: usize = 1024;

/// A bucket name, key or path as a message shows it: like [`excerpt`] but
/// up to [`NAME_CHARS`] characters, and `"` left alone.
pub fn name(text: &str) -> Excerpt<'_> {
    Excerpt {
        text,
        max_chars: NAME_CHARS,
        total_bytes: text.len(),
        escape_quotes: false,
    }
}

/// [`excerpt`] between double quotes (the way `{:?}` quoted values before).
pub fn quoted(text: &str) -> String {
    format!("\"{}\"", excerpt(text))
}

/// A message made of trusted words and already quoted tokens, cut as a
/// whole to a bound and kept on one line (for messages built elsewhere,
/// e.g. by the converter component). Unlike [`excerpt`] it leaves `\` and
/// `"` alone, so bounding a message twice changes nothing.
pub fn bounded_message(message: &str, max_chars: usize) -> String {
    Excerpt {
        text: message,
        max_chars,
        total_bytes: message.len(),
        escape_quotes: false,
    }
    .to_string()
}

/// See [`excerpt`].
#[derive(Clone, Copy, Debug)]
pub struct Excerpt<'a> {
    text: &'a str,
    max_chars: usize,
    total_bytes: usize,
    /// `\` and `"` escaped too, so the excerpt can stand between quotes.
    escape_quotes: bool,
}

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = 0;
        for c in self.text.chars() {
            if shown == self.max_chars {
                return write!(f, "… ({} bytes)", self.total_bytes);
            }
            shown += 1;
            match c {
                '\\' if self.escape_quotes => f.write_str("\\\\")?,
                '"' if self.escape_quotes => f.write_str("\\\"")?,
                c if c.is_control() => write!(f, "{}", c.escape_default())?,
                // Bidirectional overrides reorder what a terminal shows.
                '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                    write!(f, "{}", c.escape_unicode())?
                }
                c => write!(f, "{c}")?,
            }
        }
        Ok(())
    }
}

/// Lower-case hexadecimal of `bytes`: the one encoder of hashes in names.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[(byte >> 4) as usize] as char);
        text.push(DIGITS[(byte & 15) as usize] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_with_control_characters_escaped() {
        assert_eq!(excerpt("SRR1.summary").to_string(), "SRR1.summary");
        assert_eq!(
            excerpt("a\nb\u{1b}[31mc\td\\").to_string(),
            "a\\nb\\u{1b}[31mc\\td\\\\"
        );
        assert_eq!(quoted("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(excerpt("x\u{202e}y").to_string(), "x\\u{202e}y");
        assert_eq!(name("a \"b\"\n").to_string(), "a \"b\"\\n");
        let key = "k/".repeat(512);
        assert_eq!(name(&key).to_string(), key);
    }

    #[test]
    fn long_text_is_cut_with_its_length() {
        let long = "é".repeat(50_000_000 / 2);
        let shown = excerpt(&long).to_string();
        assert_eq!(shown, format!("{}… (50000000 bytes)", "é".repeat(80)));
        assert_eq!(excerpt(&"a".repeat(80)).to_string(), "a".repeat(80));
        assert_eq!(
            bounded_message(&"b".repeat(500), 10),
            "bbbbbbbbbb… (500 bytes)"
        );
        let once = bounded_message("a \"q\\\n\" b\u{1b}", 100);
        assert_eq!(once, "a \"q\\\\n\" b\\u{1b}");
        assert_eq!(bounded_message(&once, 100), once);
    }
}
