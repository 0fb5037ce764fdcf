//! Amazon SNS message signatures: the string SNS signs, and its check
//! against the signing certificate (SignatureVersion 1 is SHA1withRSA,
//! 2 is SHA256withRSA); which certificate URLs are SNS's own; and the
//! message `Timestamp` format.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde_json::Value;
use summary_lake::text::quoted;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

/// Whether a body is an SNS HTTP(S) delivery (it carries a signature).
pub fn is_sns_message(value: &Value) -> bool {
    value.get("Type").is_some()
        && value.get("Signature").is_some()
        && value.get("SigningCertURL").is_some()
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a str, String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("SNS message without {name}"))
}

/// The text SNS signs: selected fields as `Name\nvalue\n`, in this order.
pub fn string_to_sign(value: &Value) -> Result<String, String> {
    let mut text = String::new();
    for (name, v) in signed_fields(value)? {
        text.push_str(name);
        text.push('\n');
        text.push_str(v);
        text.push('\n');
    }
    Ok(text)
}

/// The message as far as its signature vouches for it: only the fields SNS
/// signs. Whatever else a body holds (a `Records` list added beside a
/// validly signed envelope, say) was not signed, and must not be acted on.
pub fn signed_envelope(value: &Value) -> Result<Value, String> {
    let fields = signed_fields(value)?
        .into_iter()
        .map(|(name, v)| (name.to_string(), Value::String(v.to_string())))
        .collect();
    Ok(Value::Object(fields))
}

/// The fields SNS signs for the message's Type, in signing order.
fn signed_fields(value: &Value) -> Result<Vec<(&'static str, &str)>, String> {
    let names: &[&'static str] = match field(value, "Type")? {
        "Notification" => &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ],
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ],
        other => return Err(format!("SNS message of unknown Type {}", quoted(other))),
    };
    let mut fields = Vec::with_capacity(names.len());
    for name in names {
        match value.get(*name).and_then(Value::as_str) {
            Some(v) => fields.push((*name, v)),
            None if *name == "Subject" => {}
            None => return Err(format!("SNS message without {name}")),
        }
    }
    Ok(fields)
}

/// Checks the message's signature with the certificate (PEM).
pub fn verify(value: &Value, cert_pem: &[u8]) -> Result<(), String> {
    let text = string_to_sign(value)?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(field(value, "Signature")?)
        .map_err(|e| format!("SNS Signature is not base64: {e}"))?;
    let signature =
        Signature::try_from(signature.as_slice()).map_err(|e| format!("SNS Signature: {e}"))?;
    let cert = Certificate::from_pem(cert_pem).map_err(|e| format!("signing certificate: {e}"))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| format!("signing certificate: {e}"))?;
    let key = RsaPublicKey::from_public_key_der(&spki)
        .map_err(|e| format!("signing certificate key: {e}"))?;
    let checked = match value
        .get("SignatureVersion")
        .and_then(Value::as_str)
        .unwrap_or("1")
    {
        "1" => VerifyingKey::<sha1::Sha1>::new(key).verify(text.as_bytes(), &signature),
        "2" => VerifyingKey::<rsa::sha2::Sha256>::new(key).verify(text.as_bytes(), &signature),
        other => return Err(format!("unknown SNS SignatureVersion {}", quoted(other))),
    };
    checked.map_err(|_| "SNS signature does not verify".to_string())
}

/// Only certificates SNS itself serves may be fetched:
/// `https://sns.<region>.amazonaws.com/<name>.pem`, China's
/// `https://sns.cn-<…>.amazonaws.com.cn/<name>.pem` (GovCloud regions use
/// the first form). Anything else a URL can carry (userinfo, a port, a
/// query, a fragment, `..`, percent-escapes) is refused: the URL comes
/// from the unauthenticated message.
pub fn is_trusted_cert_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let Some((host, path)) = rest.split_once('/') else {
        return false;
    };
    is_sns_host(host) && is_cert_path(path)
}

fn is_sns_host(host: &str) -> bool {
    let Some(host) = host.strip_prefix("sns.") else {
        return false;
    };
    if let Some(region) = host.strip_suffix(".amazonaws.com.cn") {
        return region.starts_with("cn-") && is_aws_region(region);
    }
    host.strip_suffix(".amazonaws.com")
        .is_some_and(|region| !region.starts_with("cn-") && is_aws_region(region))
}

/// `SimpleNotificationService-<id>.pem` at the root, the only form SNS
/// serves its signing certificates under (`<id>` is a hex digest; letters
/// and digits, at most 64, are taken). Anything else is no certificate of
/// SNS's, and each such URL would be one more fetch an unauthenticated
/// sender could make the endpoint do.
fn is_cert_path(path: &str) -> bool {
    path.strip_prefix("SimpleNotificationService-")
        .and_then(|rest| rest.strip_suffix(".pem"))
        .is_some_and(|id| {
            (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// What AWS region names look like: lower-case words joined by `-`, at
/// least two, then a number (`us-east-1`, `us-gov-west-1`, `ap-southeast-5`).
pub fn is_aws_region(name: &str) -> bool {
    let mut parts: Vec<&str> = name.split('-').collect();
    let Some(number) = parts.pop() else {
        return false;
    };
    (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
        && parts.len() >= 2
        && parts
            .iter()
            .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase()))
}

/// An SNS `Timestamp`: UTC in exactly the RFC 3339 form SNS writes,
/// `2026-11-29T20:15:08.123Z` (the fraction optional, 1 to 9 digits).
/// Anything else (offsets, lower-case separators, out-of-range fields,
/// years before 1970) is `None`.
pub fn parse_timestamp(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    let (fields, fraction) = (bytes.get(..19)?, bytes.get(19..)?);
    let separators_ok = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')]
        .iter()
        .all(|&(at, separator)| fields[at] == separator);
    if !separators_ok {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u64> {
        fields[from..to].iter().try_fold(0u64, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
        })
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let nanos = match fraction {
        [b'Z'] => 0,
        [b'.', digits @ .., b'Z'] if (1..=9).contains(&digits.len()) => {
            let value = digits.iter().try_fold(0u32, |n, &b| {
                b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
            })?;
            value * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let in_range = year >= 1970
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !in_range {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos))
}

/// `time` the way SNS writes a `Timestamp` (milliseconds, `Z`); times
/// before 1970 are written as 1970-01-01T00:00:00.000Z.
pub fn format_timestamp(time: SystemTime) -> String {
    let since_epoch = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let in_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60,
        since_epoch.subsec_millis()
    )
}

fn is_leap_year(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date from 1970 on (Howard Hinnant's
/// `days_from_civil`, restricted to non-negative years).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let (era, year_of_era) = (year / 400, year % 400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let days = days + 719_468;
    let (era, day_of_era) = (days / 146_097, days % 146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::SigningKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use serde_json::json;

    const KEY: &str = include_str!("../../tests/fixtures/sns/test-signing-key.pem");
    const CERT: &str = include_str!("../../tests/fixtures/sns/test-signing-cert.pem");

    fn signed(mut message: Value, version: &str) -> Value {
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(KEY).unwrap();
        let text = string_to_sign(&message).unwrap();
        let signature = match version {
            "1" => SigningKey::<sha1::Sha1>::new(key)
                .sign(text.as_bytes())
                .to_vec(),
            _ => SigningKey::<rsa::sha2::Sha256>::new(key)
                .sign(text.as_bytes())
                .to_vec(),
        };
        message["SignatureVersion"] = json!(version);
        message["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(signature));
        message["SigningCertURL"] =
            json!("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem");
        message
    }

    fn notification() -> Value {
        json!({"Type":"Notification","MessageId":"m-1","TopicArn":"arn:aws:sns:us-east-1:1:t",
               "Message":"{\"Records\":[]}","Timestamp":"2026-11-24T00:00:00.000Z"})
    }

    #[test]
    fn canonical_strings() {
        assert_eq!(
            string_to_sign(&notification()).unwrap(),
            "Message\n{\"Records\":[]}\nMessageId\nm-1\nTimestamp\n2026-11-24T00:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:1:t\nType\nNotification\n"
        );
        let mut with_subject = notification();
        with_subject["Subject"] = json!("s");
        assert!(string_to_sign(&with_subject)
            .unwrap()
            .contains("\nSubject\ns\nTimestamp"));
        assert!(string_to_sign(&json!({"Type":"SubscriptionConfirmation","Message":"m"})).is_err());
    }

    #[test]
    fn the_signed_envelope_holds_only_what_was_signed() {
        let mut message = signed(notification(), "2");
        message["Records"] = json!([{"s3": {"bucket": {"name": "evil"}, "object": {"key": "k"}}}]);
        verify(&message, CERT.as_bytes()).unwrap();
        let envelope = signed_envelope(&message).unwrap();
        assert_eq!(
            envelope,
            json!({"Message": "{\"Records\":[]}", "MessageId": "m-1",
                   "Timestamp": "2026-11-24T00:00:00.000Z",
                   "TopicArn": "arn:aws:sns:us-east-1:1:t", "Type": "Notification"})
        );
    }

    #[test]
    fn signatures_verify_and_tampering_is_caught() {
        for version in ["1", "2"] {
            let message = signed(notification(), version);
            assert!(is_sns_message(&message));
            verify(&message, CERT.as_bytes()).unwrap();
            let mut tampered = message.clone();
            tampered["Message"] = json!("{\"Records\":[{}]}");
            assert_eq!(
                verify(&tampered, CERT.as_bytes()),
                Err("SNS signature does not verify".into())
            );
        }
        let mut unknown = signed(notification(), "2");
        unknown["SignatureVersion"] = json!("3");
        assert!(verify(&unknown, CERT.as_bytes())
            .unwrap_err()
            .contains("SignatureVersion"));
    }

    #[test]
    fn only_sns_certificate_urls_are_trusted() {
        for good in [
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
            "https://sns.eu-central-2.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://sns.ap-southeast-5.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
            "https://sns.cn-northwest-1.amazonaws.com.cn/SimpleNotificationService-1.pem",
        ] {
            assert!(is_trusted_cert_url(good), "{good}");
        }
        for bad in [
            "",
            "https://",
            "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
            "HTTPS://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
            // an S3 bucket named sns, and SNS without a region
            "https://sns.s3.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns..amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com.cn/SimpleNotificationService-1.pem",
            "https://sns.cn-north-1.amazonaws.com/SimpleNotificationService-1.pem",
            "https://evil.com/sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
            "https://x.sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.US-EAST-1.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.us-east.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.east-1.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.us-east-123.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.us--east-1.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.us-east-1a.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com",
            "https://sns.us-east-1.amazonaws.com/",
            "https://sns.us-east-1.amazonaws.com/x.txt",
            "https://sns.us-east-1.amazonaws.com/.pem/",
            // only SNS's own certificate names, at the root
            "https://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com/certs/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-a-b.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-a.b.pem",
            // userinfo, ports, queries, fragments, traversal, escapes
            "https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
            "https://evil.com@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com@evil.com/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem?a=b",
            "https://sns.us-east-1.amazonaws.com/x?.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem#f",
            "https://sns.us-east-1.amazonaws.com/x#.pem",
            "https://sns.us-east-1.amazonaws.com/../SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com/a/../SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com//SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com/%2e%2e/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x\\y.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x y.pem",
            "https://sns.us-east-1.amazonaws.com./SimpleNotificationService-1.pem",
        ] {
            assert!(!is_trusted_cert_url(bad), "{bad}");
        }
    }

    #[test]
    fn region_names() {
        for good in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-5",
            "il-central-1",
            "ap-northeast-10",
        ] {
            assert!(is_aws_region(good), "{good}");
        }
        for bad in [
            "",
            "s3",
            "us-east",
            "east-1",
            "us-east-",
            "-east-1",
            "us-East-1",
            "us-east-1.",
            "us_east-1",
            "us-east-100",
            "us-east-x1",
        ] {
            assert!(!is_aws_region(bad), "{bad}");
        }
    }

    fn unix(text: &str) -> Option<(u64, u32)> {
        parse_timestamp(text).map(|t| {
            let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
            (since.as_secs(), since.subsec_nanos())
        })
    }

    #[test]
    fn timestamps_as_sns_writes_them() {
        assert_eq!(unix("1970-01-01T00:00:00.000Z"), Some((0, 0)));
        assert_eq!(unix("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(unix("2000-03-01T00:00:00Z"), Some((951_868_800, 0)));
        assert_eq!(
            unix("2024-02-29T12:34:56.789Z"),
            Some((1_709_210_096, 789_000_000))
        );
        assert_eq!(
            unix("2026-11-29T20:15:08.123Z"),
            Some((1_795_983_308, 123_000_000))
        );
        assert_eq!(
            unix("2026-11-29T20:15:08.1Z"),
            Some((1_795_983_308, 100_000_000))
        );
        assert_eq!(
            unix("2026-11-29T20:15:08.123456789Z"),
            Some((1_795_983_308, 123_456_789))
        );
        assert_eq!(
            unix("2100-12-31T23:59:59.999Z"),
            Some((4_133_980_799, 999_000_000))
        );
        for bad in [
            "",
            "2026-11-29",
            "2026-11-29T20:15:08",
            "2026-11-29T20:15:08.123",
            "2026-11-29T20:15:08.123+00:00",
            "2026-11-29T20:15:08+00:00",
            "2026-11-29t20:15:08.123Z",
            "2026-11-29 20:15:08.123Z",
            "2026-11-29T20:15:08.123z",
            "2026-11-29T20:15:08.Z",
            "2026-11-29T20:15:08.1234567890Z",
            "2026-11-29T20:15:08.12aZ",
            "2026-11-29T20:15:08,123Z",
            "2026-11-29T20:15:08.123Z ",
            " 2026-11-29T20:15:08.123Z",
            "+026-11-29T20:15:08.123Z",
            "2026-1-29T20:15:08.123Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-11-00T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T23:60:00Z",
            "2026-11-29T23:59:60Z",
            "1969-12-31T23:59:59Z",
            "2026-11-29T20:15:08.123Z\n",
            "２026-11-29T20:15:08.123Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
        assert!(parse_timestamp("2000-02-29T00:00:00Z").is_some());
    }

    #[test]
    fn timestamps_format_as_sns_writes_them() {
        for text in [
            "1970-01-01T00:00:00.000Z",
            "2000-02-29T23:59:59.999Z",
            "2026-11-29T20:15:08.123Z",
            "2100-12-31T23:59:59.001Z",
        ] {
            let time = parse_timestamp(text).unwrap();
            assert_eq!(format_timestamp(time), text);
        }
        // every day of four years round-trips
        for day in 20_000..21_461u64 {
            let time = SystemTime::UNIX_EPOCH + Duration::from_secs(day * 86_400 + 3_723);
            assert_eq!(parse_timestamp(&format_timestamp(time)), Some(time));
        }
    }
}
