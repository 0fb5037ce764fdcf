//! Yes/no settings the way the AWS tools and most programs read them:
//! `1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off`, in any case.

/// The words taken, for error messages.
pub const ACCEPTED: &str = "1/0, true/false, yes/no or on/off";

/// `Some(value)` for a word in [`ACCEPTED`] (surrounding blanks ignored),
/// `None` for anything else.
pub fn parse(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A setting named `name` (an environment or Spin variable) holding
/// `value`: unset or empty is `false`; an unknown word is an error naming
/// the setting.
pub fn setting(name: &str, value: Option<&str>) -> Result<bool, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(false),
        Some(text) => parse(text)
            .ok_or_else(|| format!("{name}={text:?} is not a yes/no value: use {ACCEPTED}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_words_in_any_case() {
        for word in ["1", "true", "TRUE", "Yes", "on", " on\n"] {
            assert_eq!(parse(word), Some(true), "{word:?}");
        }
        for word in ["0", "false", "False", "NO", "off"] {
            assert_eq!(parse(word), Some(false), "{word:?}");
        }
        for word in ["", "2", "y", "enabled", "truthy"] {
            assert_eq!(parse(word), None, "{word:?}");
        }
        assert_eq!(setting("X", None), Ok(false));
        assert_eq!(setting("X", Some("")), Ok(false));
        assert_eq!(setting("X", Some("on")), Ok(true));
        assert_eq!(
            setting("SUMMARY_NO_GLUE", Some("maybe")).unwrap_err(),
            "SUMMARY_NO_GLUE=\"maybe\" is not a yes/no value: use 1/0, true/false, yes/no or on/off"
        );
    }
}
