//! Yes/no flags that can also be set by an environment variable (e.g.
//! `SUMMARY_NO_GLUE`): the variable takes `1`/`0`, `true`/`false`,
//! `yes`/`no`, `on`/`off` (`summary_aws::boolean`), and an unknown word is
//! an error naming the variable, not only the flag.

use std::ffi::OsStr;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use summary_aws::boolean;

/// The value parser of such a flag: `#[arg(long, env = "NAME", value_parser = YesNo)]`.
#[derive(Clone, Copy, Debug)]
pub struct YesNo;

impl TypedValueParser for YesNo {
    type Value = bool;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<bool, clap::Error> {
        let text = value.to_string_lossy();
        if let Some(parsed) = boolean::parse(&text) {
            return Ok(parsed);
        }
        let flag = arg.map(|a| a.get_id().as_str().replace('_', "-"));
        let setting = match (arg.and_then(clap::Arg::get_env), flag) {
            (Some(variable), Some(flag)) => {
                format!(
                    "{} (the environment variable of --{flag})",
                    variable.to_string_lossy()
                )
            }
            (None, Some(flag)) => format!("--{flag}"),
            _ => "a yes/no flag".into(),
        };
        Err(clap::Error::raw(
            ErrorKind::ValueValidation,
            format!("{setting} is {text:?}: use {}\n", boolean::ACCEPTED),
        )
        .with_cmd(cmd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_read_and_an_unknown_one_names_the_variable() {
        let command = clap::Command::new("summary-uploader");
        let arg = clap::Arg::new("no_glue")
            .long("no-glue")
            .env("SUMMARY_NO_GLUE");
        let parse = |text: &str| YesNo.parse_ref(&command, Some(&arg), OsStr::new(text));
        for (text, want) in [
            ("1", true),
            ("true", true),
            ("on", true),
            ("0", false),
            ("No", false),
        ] {
            assert_eq!(parse(text).unwrap(), want, "{text}");
        }
        let error = parse("maybe").unwrap_err().to_string();
        assert!(
            error.contains("SUMMARY_NO_GLUE (the environment variable of --no-glue) is \"maybe\": use 1/0, true/false, yes/no or on/off"),
            "{error}"
        );
    }
}
