//! Who may post events: a sender with the API key (an EventBridge API
//! destination), or a message SNS signed for an accepted topic, sent
//! within the accepted age. Every check that needs no I/O runs before the
//! signing certificate is fetched.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use summary_aws::request::find_header;
use summary_aws::sns;
use summary_lake::text::quoted;

use super::answered::{AnsweredMessages, MAX_ANSWERED_MESSAGES};
use super::sns_certs::{SnsCerts, MAX_CACHED_CERTS};
use crate::aws_client::Transport;

/// How old an SNS message may be unless configured otherwise.
pub const DEFAULT_SNS_MAX_AGE: Duration = Duration::from_secs(3600);

/// The longest age an SNS message may be given (SNS stops redelivering
/// within an hour; a week leaves room for any retry policy).
pub const LONGEST_SNS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How far ahead of this clock an SNS message's Timestamp may be.
pub const MAX_SNS_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// Which SNS topics may post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnsTopics {
    /// None was configured: every SNS message is refused.
    NoneAccepted,
    /// Only these topic ARNs.
    Only(Vec<String>),
    /// Any topic, on purpose: anyone with an AWS account can publish to a
    /// topic of their own and post messages SNS signed.
    Any,
}

impl SnsTopics {
    /// The topics listed (blank entries ignored), or any topic when
    /// `any_topic` is set; both at once is a mistake.
    pub fn from_options(topics: Vec<String>, any_topic: bool) -> Result<Self, String> {
        let topics: Vec<String> = topics
            .into_iter()
            .map(|topic| topic.trim().to_string())
            .filter(|topic| !topic.is_empty())
            .collect();
        match (topics.is_empty(), any_topic) {
            (true, false) => Ok(SnsTopics::NoneAccepted),
            (false, false) => Ok(SnsTopics::Only(topics)),
            (true, true) => Ok(SnsTopics::Any),
            (false, true) => {
                Err("accept either the listed SNS topics or any topic, not both".into())
            }
        }
    }
}

/// How SNS messages are authenticated.
pub struct SnsOptions {
    pub topics: SnsTopics,
    /// How the operator accepts topics in this deployment (named in the
    /// reason an SNS message is refused when none is accepted).
    pub how_to_accept_topics: &'static str,
    /// Messages older than this are refused (replays).
    pub max_age: Duration,
    /// A certificate messages must verify against, instead of the one
    /// their SigningCertURL names (tests).
    pub cert: Option<Vec<u8>>,
}

/// Where "now" comes from (fixed in tests).
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// How a request proved itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sender {
    ApiKey,
    Sns(SnsDelivery),
}

impl Sender {
    /// For logs.
    pub fn method(&self) -> &'static str {
        match self {
            Sender::ApiKey => "api-key",
            Sender::Sns(_) => "sns-signature",
        }
    }
}

/// A verified SNS message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnsDelivery {
    pub message_id: String,
    pub timestamp: SystemTime,
}

/// Who may post events.
pub struct Authenticator {
    /// Lower-case header name carrying the API key.
    api_key_header: String,
    api_key: Option<String>,
    sns: SnsOptions,
    certs: SnsCerts,
    answered: AnsweredMessages,
    clock: Box<dyn Clock>,
}

impl Authenticator {
    /// `transport` fetches SNS signing certificates.
    pub fn new(
        api_key_header: &str,
        api_key: Option<String>,
        sns: SnsOptions,
        transport: Box<dyn Transport>,
    ) -> Self {
        let api_key = api_key.filter(|k| !k.is_empty());
        match (&api_key, &sns.topics) {
            (None, SnsTopics::NoneAccepted) => tracing::warn!(
                "no API key configured and no SNS topic accepted: every event will be refused"
            ),
            (None, _) => {
                tracing::warn!("no API key configured: only signed SNS messages will be accepted")
            }
            _ => {}
        }
        if sns.topics == SnsTopics::Any {
            tracing::warn!(
                "SNS messages of ANY topic are accepted: anyone with an AWS account can publish \
                 to a topic of their own and post messages SNS signed; name the accepted topics \
                 instead"
            );
        }
        Authenticator {
            api_key_header: api_key_header.to_ascii_lowercase(),
            api_key,
            answered: AnsweredMessages::new(sns.max_age, MAX_ANSWERED_MESSAGES),
            sns,
            certs: SnsCerts::new(transport, MAX_CACHED_CERTS),
            clock: Box::new(SystemClock),
        }
    }

    /// The same, reading "now" from `clock`.
    pub fn with_clock(mut self, clock: Box<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How the request proved itself, or why it did not.
    pub fn authenticate(
        &self,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Sender, String> {
        if let (Some(expected), Some(given)) =
            (&self.api_key, find_header(headers, &self.api_key_header))
        {
            return if constant_time_eq(expected.as_bytes(), given.as_bytes()) {
                Ok(Sender::ApiKey)
            } else {
                Err("wrong API key".into())
            };
        }
        let message: Value = serde_json::from_slice(body)
            .map_err(|_| "no API key and not a signed SNS message".to_string())?;
        if !sns::is_sns_message(&message) {
            return Err("no API key and not a signed SNS message".into());
        }
        self.check_topic(text_field(&message, "TopicArn")?)?;
        let timestamp = self.check_timestamp(text_field(&message, "Timestamp")?)?;
        let message_id = text_field(&message, "MessageId")?;
        let cert_url = text_field(&message, "SigningCertURL")?;
        // Checked even with a fixed certificate: such a message is refused
        // the same way everywhere.
        if !sns::is_trusted_cert_url(cert_url) {
            return Err(format!(
                "SigningCertURL {} is not an SNS certificate URL",
                quoted(cert_url)
            ));
        }
        let cert = match &self.sns.cert {
            Some(cert) => cert.clone(),
            None => self.certs.get(cert_url)?,
        };
        sns::verify(&message, &cert)?;
        Ok(Sender::Sns(SnsDelivery {
            message_id: message_id.to_string(),
            timestamp,
        }))
    }

    /// Whether this SNS message was answered 200 before (a replay, or a
    /// redelivery SNS had no reason to make).
    pub fn already_answered(&self, delivery: &SnsDelivery) -> bool {
        self.answered
            .contains(&delivery.message_id, self.clock.now())
    }

    /// Remembers that this SNS message was answered 200 (for good: SNS
    /// will not send it again).
    pub fn answered(&self, delivery: &SnsDelivery) {
        self.answered
            .remember(&delivery.message_id, delivery.timestamp, self.clock.now());
    }

    fn check_topic(&self, topic: &str) -> Result<(), String> {
        match &self.sns.topics {
            SnsTopics::Any => Ok(()),
            SnsTopics::Only(topics) if topics.iter().any(|t| t == topic) => Ok(()),
            SnsTopics::Only(_) => Err(format!("SNS topic {} is not accepted", quoted(topic))),
            SnsTopics::NoneAccepted => Err(format!(
                "SNS message of topic {} refused: no SNS topic is accepted; {}",
                quoted(topic),
                self.sns.how_to_accept_topics
            )),
        }
    }

    /// The message's time, if it is neither older than the accepted age
    /// nor ahead of this clock by more than the accepted skew.
    fn check_timestamp(&self, text: &str) -> Result<SystemTime, String> {
        let timestamp = sns::parse_timestamp(text).ok_or_else(|| {
            format!(
                "SNS Timestamp {} is not a UTC time like 2026-11-29T20:15:08.123Z",
                quoted(text)
            )
        })?;
        let now = self.clock.now();
        match now.duration_since(timestamp) {
            Ok(age) if age > self.sns.max_age => Err(format!(
                "SNS message of {} is {} s old, more than the {} s accepted",
                quoted(text),
                age.as_secs(),
                self.sns.max_age.as_secs()
            )),
            Ok(_) => Ok(timestamp),
            Err(ahead) if ahead.duration() > MAX_SNS_CLOCK_SKEW => Err(format!(
                "SNS message of {} is {} s ahead of this clock, more than the {} s accepted",
                quoted(text),
                ahead.duration().as_secs(),
                MAX_SNS_CLOCK_SKEW.as_secs()
            )),
            Err(_) => Ok(timestamp),
        }
    }
}

fn text_field<'a>(message: &'a Value, name: &str) -> Result<&'a str, String> {
    message
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("SNS message without {name}"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws_client::{CallError, HttpResponse};
    use base64::Engine as _;
    use rsa::pkcs1v15::SigningKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use serde_json::json;
    use summary_aws::request::HttpRequest;

    const KEY: &str = include_str!("../../../tests/fixtures/sns/test-signing-key.pem");
    const CERT: &str = include_str!("../../../tests/fixtures/sns/test-signing-cert.pem");
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:summaries";
    /// 2026-11-29T20:15:08.123Z
    const NOW: u64 = 1_795_983_308;

    struct FixedClock(SystemTime);

    impl Clock for FixedClock {
        fn now(&self) -> SystemTime {
            self.0
        }
    }

    /// Any fetch is a test failure: the certificate is given.
    struct NoTransport;

    impl Transport for NoTransport {
        fn send(&self, request: &HttpRequest, _: u64) -> Result<HttpResponse, CallError> {
            panic!("unexpected fetch of {}", request.url)
        }
    }

    fn authenticator(topics: SnsTopics) -> Authenticator {
        let sns = SnsOptions {
            topics,
            how_to_accept_topics: "pass --sns-topic ARN",
            max_age: DEFAULT_SNS_MAX_AGE,
            cert: Some(CERT.as_bytes().to_vec()),
        };
        Authenticator::new("x-api-key", Some("key".into()), sns, Box::new(NoTransport)).with_clock(
            Box::new(FixedClock(
                SystemTime::UNIX_EPOCH + Duration::from_secs(NOW),
            )),
        )
    }

    fn only_topic() -> Authenticator {
        authenticator(SnsTopics::Only(vec![TOPIC.into()]))
    }

    /// A notification of `topic` sent `age` seconds before NOW (negative:
    /// after), signed with the test key.
    fn message(topic: &str, age: i64, message_id: &str) -> Vec<u8> {
        let sent = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW.saturating_add_signed(-age));
        let mut envelope = json!({"Type": "Notification", "MessageId": message_id,
            "TopicArn": topic, "Message": "{\"Records\":[]}",
            "Timestamp": sns::format_timestamp(sent), "SignatureVersion": "2",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem"});
        sign(&mut envelope);
        envelope.to_string().into_bytes()
    }

    fn sign(envelope: &mut Value) {
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(KEY).unwrap();
        let text = sns::string_to_sign(envelope).unwrap();
        let signature = SigningKey::<rsa::sha2::Sha256>::new(key).sign(text.as_bytes());
        envelope["Signature"] =
            json!(base64::engine::general_purpose::STANDARD.encode(signature.to_vec()));
    }

    fn delivery(message_id: &str, age: u64) -> Sender {
        Sender::Sns(SnsDelivery {
            message_id: message_id.into(),
            timestamp: SystemTime::UNIX_EPOCH + Duration::from_secs(NOW - age),
        })
    }

    #[test]
    fn topic_options() {
        assert_eq!(
            SnsTopics::from_options(vec![], false),
            Ok(SnsTopics::NoneAccepted)
        );
        assert_eq!(
            SnsTopics::from_options(vec![" ".into()], false),
            Ok(SnsTopics::NoneAccepted)
        );
        assert_eq!(SnsTopics::from_options(vec![], true), Ok(SnsTopics::Any));
        assert_eq!(
            SnsTopics::from_options(vec![format!(" {TOPIC}")], false),
            Ok(SnsTopics::Only(vec![TOPIC.into()]))
        );
        assert!(SnsTopics::from_options(vec![TOPIC.into()], true).is_err());
    }

    #[test]
    fn only_the_accepted_topics_authenticate() {
        let headers = [];
        assert_eq!(
            only_topic().authenticate(&headers, &message(TOPIC, 0, "m-1")),
            Ok(delivery("m-1", 0))
        );
        let other = "arn:aws:sns:us-east-1:999999999999:summaries";
        assert_eq!(
            only_topic().authenticate(&headers, &message(other, 0, "m-1")),
            Err(format!("SNS topic \"{other}\" is not accepted"))
        );
        assert_eq!(
            authenticator(SnsTopics::NoneAccepted).authenticate(&headers, &message(TOPIC, 0, "m-1")),
            Err(format!(
                "SNS message of topic \"{TOPIC}\" refused: no SNS topic is accepted; pass --sns-topic ARN"
            ))
        );
        assert_eq!(
            authenticator(SnsTopics::Any).authenticate(&headers, &message(other, 0, "m-1")),
            Ok(delivery("m-1", 0))
        );
        // a topic that is a control-character flood is quoted, cut
        let hostile = format!("\u{1b}[31m{}", "x".repeat(10_000));
        let reason = only_topic()
            .authenticate(&headers, &message(&hostile, 0, "m-1"))
            .unwrap_err();
        assert!(reason.starts_with("SNS topic \"\\u{1b}[31mxxx"), "{reason}");
        assert!(
            reason.ends_with("… (10005 bytes)\" is not accepted"),
            "{reason}"
        );
        // the API key path is unchanged
        let with_key = [("x-api-key".to_string(), "key".to_string())];
        assert_eq!(
            authenticator(SnsTopics::NoneAccepted).authenticate(&with_key, b"{}"),
            Ok(Sender::ApiKey)
        );
    }

    #[test]
    fn only_recent_messages_authenticate() {
        let auth = only_topic();
        for age in [0, 60, 3600, -1, -300] {
            assert!(
                auth.authenticate(&[], &message(TOPIC, age, "m")).is_ok(),
                "{age} s old"
            );
        }
        assert_eq!(
            auth.authenticate(&[], &message(TOPIC, 3601, "m")),
            Err("SNS message of \"2026-11-29T19:15:07.000Z\" is 3601 s old, more than the 3600 s accepted".into())
        );
        assert_eq!(
            auth.authenticate(&[], &message(TOPIC, 7200, "m")),
            Err("SNS message of \"2026-11-29T18:15:08.000Z\" is 7200 s old, more than the 3600 s accepted".into())
        );
        assert_eq!(
            auth.authenticate(&[], &message(TOPIC, -301, "m")),
            Err("SNS message of \"2026-11-29T20:20:09.000Z\" is 301 s ahead of this clock, more than the 300 s accepted".into())
        );
        let mut envelope: Value = serde_json::from_slice(&message(TOPIC, 0, "m")).unwrap();
        for timestamp in ["2026-11-29 20:15:08Z", "yesterday", ""] {
            envelope["Timestamp"] = json!(timestamp);
            sign(&mut envelope);
            assert_eq!(
                auth.authenticate(&[], envelope.to_string().as_bytes()),
                Err(format!(
                    "SNS Timestamp \"{timestamp}\" is not a UTC time like 2026-11-29T20:15:08.123Z"
                ))
            );
        }
        envelope.as_object_mut().unwrap().remove("Timestamp");
        assert_eq!(
            auth.authenticate(&[], envelope.to_string().as_bytes()),
            Err("SNS message without Timestamp".into())
        );
    }

    #[test]
    fn an_untrusted_certificate_url_is_refused_even_with_a_fixed_certificate() {
        let mut envelope: Value = serde_json::from_slice(&message(TOPIC, 0, "m")).unwrap();
        envelope["SigningCertURL"] = json!("https://sns.s3.amazonaws.com/x.pem");
        assert_eq!(
            only_topic().authenticate(&[], envelope.to_string().as_bytes()),
            Err("SigningCertURL \"https://sns.s3.amazonaws.com/x.pem\" is not an SNS certificate URL".into())
        );
    }

    #[test]
    fn a_message_is_remembered_only_once_answered_200() {
        let auth = only_topic();
        let body = message(TOPIC, 10, "m-503");
        let Ok(Sender::Sns(first)) = auth.authenticate(&[], &body) else {
            panic!("authenticates")
        };
        assert!(!auth.already_answered(&first));
        // answered 503: not remembered, SNS's redelivery is processed
        let Ok(Sender::Sns(redelivery)) = auth.authenticate(&[], &body) else {
            panic!("authenticates again")
        };
        assert_eq!(redelivery, first);
        assert!(!auth.already_answered(&redelivery));
        auth.answered(&redelivery);
        assert!(auth.already_answered(&first));
        let Ok(Sender::Sns(other)) = auth.authenticate(&[], &message(TOPIC, 10, "m-other")) else {
            panic!("authenticates")
        };
        assert!(!auth.already_answered(&other));
    }
}
