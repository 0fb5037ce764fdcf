//! Credentials the way the Spin app gets them: from its variables (the
//! AWS names, lower-cased). The native host finds them with `aws-config`
//! instead (profiles, SSO, web identity, container endpoints, IMDSv2);
//! both sign with `summary_aws::request`. Also the clock readings
//! credentials and signing need: expiry times and HTTP dates.

use std::time::{Duration, SystemTime};

use crate::request::Credentials;

/// How this process signs its requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Fixed keys from the variables.
    Environment(Credentials),
    /// No signature at all (`--no-sign-request`): public buckets only.
    Anonymous,
}

/// Fixed keys from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
/// `AWS_SESSION_TOKEN` (`var` reads one).
pub fn source(var: impl Fn(&str) -> Option<String>) -> Result<Source, String> {
    match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Source::Environment(Credentials {
            access_key_id,
            secret_access_key,
            session_token: var("AWS_SESSION_TOKEN"),
        })),
        _ => Err("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into()),
    }
}

/// `2026-11-25T10:00:00Z` (fractions of a second and a `+00:00` offset
/// accepted), as AWS writes credential expirations.
pub fn parse_timestamp(text: &str) -> Option<SystemTime> {
    let text = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix("+00:00"))?;
    let (date, time) = text.split_once('T')?;
    let number = |s: &str| s.parse::<i64>().ok();
    let mut date = date.splitn(3, '-').map(number);
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let time = time.split('.').next()?;
    let mut time = time.splitn(3, ':').map(number);
    let (hour, minute, second) = (time.next()??, time.next()??, time.next()??);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(seconds)
        .ok()
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
}

/// An HTTP date (`Mon, 30 Nov 2026 02:32:32 GMT`, RFC 7231's preferred
/// form, as S3 sends in `Date`): how a server's clock is read when a
/// request was refused as skewed.
pub fn parse_http_date(text: &str) -> Option<SystemTime> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (_, rest) = text.trim().split_once(", ")?;
    let mut parts = rest.split(' ');
    let (day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if zone != "GMT" || parts.next().is_some() {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    parse_timestamp(&format!("{year}-{month:02}-{day}T{time}Z"))
}

/// Whether credentials expiring at `expiration` should be fetched again
/// now: five minutes ahead, as the AWS SDKs do.
pub fn needs_refresh(expiration: Option<SystemTime>, now: SystemTime) -> bool {
    expiration.is_some_and(|at| now + Duration::from_secs(300) >= at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_keys_from_the_variables() {
        const KEYS: &[(&str, &str)] = &[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_SESSION_TOKEN", "T"),
        ];
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            source(env(KEYS)).unwrap(),
            Source::Environment(Credentials {
                access_key_id: "AKID".into(),
                secret_access_key: "S".into(),
                session_token: Some("T".into()),
            })
        );
        assert!(source(env(&KEYS[..1]))
            .unwrap_err()
            .starts_with("no AWS credentials"));
    }

    #[test]
    fn timestamps_and_refresh() {
        let at = |s| {
            parse_timestamp(s).map(|t| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs())
        };
        assert_eq!(at("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(at("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(at("2024-02-29T12:34:56.789Z"), Some(1_709_210_096));
        assert_eq!(at("2024-02-29T12:34:56+00:00"), Some(1_709_210_096));
        assert_eq!(at("2024-13-01T00:00:00Z"), None);
        let http = |s| {
            parse_http_date(s).map(|t| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs())
        };
        assert_eq!(http("Thu, 29 Feb 2024 12:34:56 GMT"), Some(1_709_210_096));
        assert_eq!(http("Thu, 29 Feb 2024 12:34:56 PST"), None);
        assert_eq!(http("29 Feb 2024 12:34:56 GMT"), None);
        assert_eq!(at("2024-02-29 12:34:56"), None);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert!(!needs_refresh(None, now));
        assert!(needs_refresh(Some(now + Duration::from_secs(299)), now));
        assert!(!needs_refresh(Some(now + Duration::from_secs(301)), now));
    }
}
