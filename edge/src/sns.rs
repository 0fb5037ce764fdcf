//! Amazon SNS message signatures: the string SNS signs, and its check
//! against the signing certificate (SignatureVersion 1 is SHA1withRSA,
//! 2 is SHA256withRSA).

use base64::Engine as _;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde_json::Value;
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
    let names: &[&str] = match field(value, "Type")? {
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
        other => return Err(format!("SNS message of unknown Type {other:?}")),
    };
    let mut text = String::new();
    for name in names {
        match value.get(*name).and_then(Value::as_str) {
            Some(v) => {
                text.push_str(name);
                text.push('\n');
                text.push_str(v);
                text.push('\n');
            }
            None if *name == "Subject" => {}
            None => return Err(format!("SNS message without {name}")),
        }
    }
    Ok(text)
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
        other => return Err(format!("unknown SNS SignatureVersion {other:?}")),
    };
    checked.map_err(|_| "SNS signature does not verify".to_string())
}

/// Only certificates SNS itself serves may be fetched:
/// `https://sns.<region>.amazonaws.com[.cn]/….pem`.
pub fn is_trusted_cert_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let region_ok = |r: &str| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let host_ok = host
        .strip_prefix("sns.")
        .and_then(|h| {
            h.strip_suffix(".amazonaws.com")
                .or_else(|| h.strip_suffix(".amazonaws.com.cn"))
        })
        .is_some_and(region_ok);
    host_ok && path.ends_with(".pem") && !path.contains("..") && !url.contains(['?', '#', '@'])
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
        assert!(is_trusted_cert_url(
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"
        ));
        assert!(is_trusted_cert_url(
            "https://sns.cn-north-1.amazonaws.com.cn/x.pem"
        ));
        for bad in [
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com.evil.com/x.pem",
            "https://evil.com/sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com/x.txt",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://sns..amazonaws.com/x.pem",
        ] {
            assert!(!is_trusted_cert_url(bad), "{bad}");
        }
    }
}
