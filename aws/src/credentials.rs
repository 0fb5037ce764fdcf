//! Where AWS credentials come from, the AWS way, in order: the environment
//! (`AWS_ACCESS_KEY_ID`, also what Lambda sets), the container credentials
//! endpoint (ECS tasks, EKS Pod Identity), then the EC2 instance metadata
//! service (IMDSv2). The requests to fetch them and the reading of the
//! answers live here; the host sends them and refreshes before expiry.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::request::{Credentials, HttpRequest};

/// ECS's fixed address for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
const ECS_ENDPOINT: &str = "http://169.254.170.2";
const IMDS_ENDPOINT: &str = "http://169.254.169.254";
const IMDS_TOKEN_TTL_SECONDS: &str = "21600";

/// Where this process gets its credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Fixed keys from the environment.
    Environment(Credentials),
    /// A container credentials endpoint, with the authorization header
    /// value it wants (EKS Pod Identity and some ECS set-ups), if any.
    Container {
        url: String,
        authorization: Option<String>,
    },
    /// The EC2 instance metadata service (IMDSv2).
    InstanceMetadata { endpoint: String },
}

/// Chooses the source from environment variables (`var` reads one;
/// `read_file` reads `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`).
pub fn source(
    var: impl Fn(&str) -> Option<String>,
    read_file: impl Fn(&str) -> Result<String, String>,
) -> Result<Source, String> {
    if let (Some(access_key_id), Some(secret_access_key)) =
        (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
    {
        return Ok(Source::Environment(Credentials {
            access_key_id,
            secret_access_key,
            session_token: var("AWS_SESSION_TOKEN"),
        }));
    }
    let container_url = var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .map(|path| format!("{ECS_ENDPOINT}{path}"))
        .or_else(|| var("AWS_CONTAINER_CREDENTIALS_FULL_URI"));
    if let Some(url) = container_url {
        let authorization = match var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            Some(path) => Some(
                read_file(&path)
                    .map_err(|e| format!("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path}: {e}"))?
                    .trim()
                    .to_string(),
            ),
            None => var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        };
        return Ok(Source::Container { url, authorization });
    }
    if var("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
            or run where a container or instance role provides them"
                .into(),
        );
    }
    Ok(Source::InstanceMetadata {
        endpoint: var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .unwrap_or_else(|| IMDS_ENDPOINT.into())
            .trim_end_matches('/')
            .to_string(),
    })
}

/// The GET of a container credentials endpoint.
pub fn container_request(url: &str, authorization: Option<&str>) -> HttpRequest {
    let mut headers = vec![("accept".to_string(), "application/json".to_string())];
    if let Some(token) = authorization {
        headers.push(("authorization".into(), token.into()));
    }
    HttpRequest {
        method: "GET",
        url: url.into(),
        headers,
        body: Vec::new(),
    }
}

/// IMDSv2 step 1: a session token.
pub fn imds_token_request(endpoint: &str) -> HttpRequest {
    HttpRequest {
        method: "PUT",
        url: format!("{endpoint}/latest/api/token"),
        headers: vec![(
            "x-aws-ec2-metadata-token-ttl-seconds".into(),
            IMDS_TOKEN_TTL_SECONDS.into(),
        )],
        body: Vec::new(),
    }
}

/// IMDSv2 step 2 (no `role`: the instance role's name) and step 3 (its
/// credentials).
pub fn imds_role_request(endpoint: &str, token: &str, role: Option<&str>) -> HttpRequest {
    HttpRequest {
        method: "GET",
        url: format!(
            "{endpoint}/latest/meta-data/iam/security-credentials/{}",
            role.unwrap_or("")
        ),
        headers: vec![("x-aws-ec2-metadata-token".into(), token.into())],
        body: Vec::new(),
    }
}

/// Credentials from a container endpoint's or IMDS's JSON answer, and when
/// they expire (`None`: they do not).
pub fn parse_credentials(body: &[u8]) -> Result<(Credentials, Option<SystemTime>), String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("credentials answer is not JSON: {e}"))?;
    if let Some(code) = value.get("Code").and_then(Value::as_str) {
        if code != "Success" {
            return Err(format!("credentials answer says {code}"));
        }
    }
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let credentials = Credentials {
        access_key_id: field("AccessKeyId").ok_or("credentials answer has no AccessKeyId")?,
        secret_access_key: field("SecretAccessKey")
            .ok_or("credentials answer has no SecretAccessKey")?,
        session_token: field("Token"),
    };
    let expiration = match field("Expiration") {
        Some(text) => {
            Some(parse_timestamp(&text).ok_or_else(|| format!("credentials expire at {text:?}?"))?)
        }
        None => None,
    };
    Ok((credentials, expiration))
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

/// Whether credentials expiring at `expiration` should be fetched again
/// now: five minutes ahead, as the AWS SDKs do.
pub fn needs_refresh(expiration: Option<SystemTime>, now: SystemTime) -> bool {
    expiration.is_some_and(|at| now + Duration::from_secs(300) >= at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn no_file(path: &str) -> Result<String, String> {
        Err(format!("no file {path}"))
    }

    #[test]
    fn the_environment_comes_first_then_the_container_then_the_instance() {
        let keys = [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_SESSION_TOKEN", "T"),
            (
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "/v2/credentials/x",
            ),
        ];
        assert_eq!(
            source(env(&keys), no_file).unwrap(),
            Source::Environment(Credentials {
                access_key_id: "AKID".into(),
                secret_access_key: "S".into(),
                session_token: Some("T".into()),
            })
        );
        assert_eq!(
            source(env(&keys[3..]), no_file).unwrap(),
            Source::Container {
                url: "http://169.254.170.2/v2/credentials/x".into(),
                authorization: None
            }
        );
        let pod_identity = [
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://169.254.170.23/v1/credentials",
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/token"),
        ];
        let read = |path: &str| Ok(format!("token-from {path}\n"));
        assert_eq!(
            source(env(&pod_identity), read).unwrap(),
            Source::Container {
                url: "http://169.254.170.23/v1/credentials".into(),
                authorization: Some("token-from /var/run/token".into())
            }
        );
        let error = source(env(&pod_identity), no_file).unwrap_err();
        assert!(error.contains("no file /var/run/token"), "{error}");
        assert_eq!(
            source(env(&[]), no_file).unwrap(),
            Source::InstanceMetadata {
                endpoint: "http://169.254.169.254".into()
            }
        );
        let disabled = [("AWS_EC2_METADATA_DISABLED", "true")];
        assert!(source(env(&disabled), no_file)
            .unwrap_err()
            .starts_with("no AWS credentials"));
    }

    #[test]
    fn imds_v2_asks_for_a_token_then_the_role() {
        let token = imds_token_request("http://127.0.0.1:1");
        assert_eq!(
            (token.method, token.url.as_str()),
            ("PUT", "http://127.0.0.1:1/latest/api/token")
        );
        assert_eq!(
            token.header("x-aws-ec2-metadata-token-ttl-seconds"),
            Some("21600")
        );
        let role = imds_role_request("http://h", "tok", Some("uploader"));
        assert_eq!(
            role.url,
            "http://h/latest/meta-data/iam/security-credentials/uploader"
        );
        assert_eq!(role.header("x-aws-ec2-metadata-token"), Some("tok"));
    }

    #[test]
    fn credential_answers_are_read_with_their_expiry() {
        let answer =
            br#"{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIA1","SecretAccessKey":"S",
            "Token":"T","Expiration":"2026-11-25T10:00:00Z"}"#;
        let (credentials, expiration) = parse_credentials(answer).unwrap();
        assert_eq!(credentials.session_token.as_deref(), Some("T"));
        assert_eq!(
            expiration,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_600_800))
        );
        let error = parse_credentials(br#"{"Code":"Failure"}"#).unwrap_err();
        assert_eq!(error, "credentials answer says Failure");
        assert!(parse_credentials(br#"{"AccessKeyId":"A"}"#)
            .unwrap_err()
            .contains("no SecretAccessKey"));
        let (_, never) =
            parse_credentials(br#"{"AccessKeyId":"A","SecretAccessKey":"S"}"#).unwrap();
        assert_eq!(never, None);
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
        assert_eq!(at("2024-02-29 12:34:56"), None);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert!(!needs_refresh(None, now));
        assert!(needs_refresh(Some(now + Duration::from_secs(299)), now));
        assert!(!needs_refresh(Some(now + Duration::from_secs(301)), now));
    }
}
