//! The HTTP endpoint for S3 events, whichever server runs it (the native
//! `serve` or the Spin app): event documents from an EventBridge API
//! destination (API-key header) or an SNS HTTPS subscription (signed
//! messages, of an accepted topic and recent). Unauthenticated requests get
//! 401 and cause no read, write or delete; 200 means every output is
//! durable, 5xx asks for redelivery. An SNS message answered 200 before is
//! answered 200 again and processes nothing.

mod answered;
mod authenticator;
mod sns_certs;

pub use answered::{AnsweredMessages, MAX_ANSWERED_MESSAGES};
pub use authenticator::{
    Authenticator, Clock, Sender, SnsDelivery, SnsOptions, SnsTopics, SystemClock,
    DEFAULT_SNS_MAX_AGE, LONGEST_SNS_MAX_AGE, MAX_SNS_CLOCK_SKEW,
};
pub use sns_certs::MAX_CACHED_CERTS;

use summary_aws::event::{decode_event, decode_event_value, DecodedEvent, EventError};
use summary_aws::sns;
use summary_lake::text::quoted;

use crate::events::Pipeline;

/// Event documents are at most 256 KB (SNS, EventBridge); this leaves room.
pub const MAX_EVENT_BYTES: u64 = 1 << 20;

/// What to send back.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    fn new(status: u16, body: impl Into<String>) -> Self {
        Answer {
            status,
            body: body.into(),
        }
    }

    pub fn content_type(&self) -> &'static str {
        if self.body.starts_with('{') {
            "application/json"
        } else {
            "text/plain; charset=utf-8"
        }
    }
}

/// The request's body as the server read it: at most `MAX_EVENT_BYTES + 1`
/// bytes, or why it could not be read.
pub type ReadBody = Result<Vec<u8>, String>;

/// Answers one request: `GET /healthz`, or an event document POSTed to
/// any path.
pub fn answer(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: ReadBody,
    pipeline: &Pipeline,
    auth: &Authenticator,
) -> Answer {
    match (method, path) {
        ("GET", "/healthz") => Answer::new(200, "ok\n"),
        ("POST", _) => match body {
            Err(e) => Answer::new(400, format!("reading the request: {e}\n")),
            Ok(bytes) if bytes.len() as u64 > MAX_EVENT_BYTES => too_large(),
            Ok(bytes) => answer_event(headers, &bytes, pipeline, auth),
        },
        ("GET", _) => Answer::new(404, "not found\n"),
        _ => Answer::new(405, "method not allowed\n"),
    }
}

/// The answer to an event document over [`MAX_EVENT_BYTES`], also for a
/// server that refuses it from its declared length, unread.
pub fn too_large() -> Answer {
    Answer::new(413, "event document too large\n")
}

fn answer_event(
    headers: &[(String, String)],
    bytes: &[u8],
    pipeline: &Pipeline,
    auth: &Authenticator,
) -> Answer {
    let sender = match auth.authenticate(headers, bytes) {
        Ok(sender) => sender,
        Err(reason) => {
            tracing::warn!(%reason, "unauthenticated request refused");
            return Answer::new(401, format!("unauthenticated: {reason}\n"));
        }
    };
    if let Sender::Sns(delivery) = &sender {
        if auth.already_answered(delivery) {
            tracing::info!(
                message_id = %quoted(&delivery.message_id),
                "duplicate SNS message: nothing processed"
            );
            return Answer::new(200, duplicate_body(delivery));
        }
    }
    match decode_authenticated(&sender, bytes).map(|event| pipeline.handle_decoded(event)) {
        Err(error) => {
            tracing::warn!(%error, "malformed event refused");
            Answer::new(400, format!("malformed event: {error}\n"))
        }
        Ok(report) => {
            // 422 when no record names a summary: the sender is misrouted;
            // redelivering would not help, and it is worth noticing.
            let status = if report.needs_retry() {
                503
            } else if report.nothing_routed() {
                422
            } else {
                200
            };
            if let (200, Sender::Sns(delivery)) = (status, &sender) {
                // Only now: SNS redelivers the same MessageId after any
                // answer but 2xx, and that redelivery must be processed.
                auth.answered(delivery);
            }
            tracing::info!(
                auth = sender.method(),
                records = report.records.len(),
                status,
                "event handled"
            );
            Answer::new(status, format!("{}\n", report.to_json()))
        }
    }
}

/// The event the sender vouched for: the whole body for an API key; for a
/// signed SNS message only its signed fields, so that nothing added beside
/// a valid signature (a `Records` list, say) is acted on.
fn decode_authenticated(sender: &Sender, bytes: &[u8]) -> Result<DecodedEvent, EventError> {
    match sender {
        Sender::ApiKey => decode_event(bytes),
        Sender::Sns(_) => {
            let body: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| EventError::NotJson(e.to_string()))?;
            let envelope = sns::signed_envelope(&body).map_err(EventError::UnknownShape)?;
            decode_event_value(&envelope)
        }
    }
}

/// The answer to an SNS message answered 200 before.
pub fn duplicate_body(delivery: &SnsDelivery) -> String {
    format!(
        "duplicate: SNS message {} was answered 200 before; nothing processed\n",
        quoted(&delivery.message_id)
    )
}
