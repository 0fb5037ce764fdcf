//! Reading a request body within a size limit and a deadline, whatever its
//! Content-Length claims.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};

use crate::handler::Refusal;

/// The whole body, or why it was refused: larger than `limit`, not whole
/// within `timeout`, or broken.
pub async fn read_body(body: Incoming, limit: u64, timeout: Duration) -> Result<Vec<u8>, Refusal> {
    match tokio::time::timeout(timeout, read_limited(body, limit)).await {
        Ok(read) => read,
        Err(_) => Err(Refusal::Unreadable(format!(
            "the body did not arrive within {} s",
            timeout.as_secs_f64()
        ))),
    }
}

/// Whether the body's declared length is already past `limit`.
pub fn declared_too_large(body: &Incoming, limit: u64) -> bool {
    body.size_hint().lower() > limit
}

async fn read_limited(mut body: Incoming, limit: u64) -> Result<Vec<u8>, Refusal> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Refusal::Unreadable(format!("the body broke off: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if (bytes.len() + data.len()) as u64 > limit {
                return Err(Refusal::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}
