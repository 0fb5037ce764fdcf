//! Reading a request body within a size limit, a deadline and the server's
//! memory budget for bodies, whatever its Content-Length claims.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::handler::Refusal;

/// A body read whole, and its share of the budget (released when dropped,
/// so it must live as long as the bytes do).
pub struct ReadBody {
    pub bytes: Vec<u8>,
    pub budget: Option<OwnedSemaphorePermit>,
}

/// The whole body, or why it was refused: larger than `limit`, not whole
/// within `timeout` (waiting for budget included), or broken. Budget is
/// charged as bytes arrive: a client that sends nothing costs none.
pub async fn read_body(
    body: Incoming,
    limit: u64,
    timeout: Duration,
    budget: &Arc<Semaphore>,
) -> Result<ReadBody, Refusal> {
    match tokio::time::timeout(timeout, read_limited(body, limit, budget)).await {
        Ok(read) => read,
        Err(_) => Err(Refusal::Unreadable(format!(
            "the body did not arrive within {} s",
            timeout.as_secs_f64()
        ))),
    }
}

/// How many bytes of a body over the limit are read and dropped before the
/// 413 is sent. A client that writes its whole body before reading the
/// answer (most do) would otherwise meet a closed socket: the kernel answers
/// unread data with a reset, and the reset can destroy the 413 before the
/// client reads it. Past this, a declared length is refused unread.
pub const DRAIN_BEFORE_REFUSING: u64 = 4 << 20;

/// Whether the body's declared length is already past `limit`.
pub fn declared_too_large(body: &Incoming, limit: u64) -> bool {
    body.size_hint().lower() > limit
}

/// Reads and drops a body refused as too large, so its sender reads the
/// refusal: only when it declares at most [`DRAIN_BEFORE_REFUSING`] bytes,
/// and within `timeout`. Nothing is kept, so it costs no memory.
pub async fn drain_refused(mut body: Incoming, timeout: Duration) {
    if body.size_hint().lower() > DRAIN_BEFORE_REFUSING {
        return;
    }
    let _ = tokio::time::timeout(timeout, async {
        let mut drained = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                drained += data.len() as u64;
                if drained > DRAIN_BEFORE_REFUSING {
                    break;
                }
            }
        }
    })
    .await;
}

async fn read_limited(
    mut body: Incoming,
    limit: u64,
    budget: &Arc<Semaphore>,
) -> Result<ReadBody, Refusal> {
    let mut read = ReadBody {
        bytes: Vec::new(),
        budget: None,
    };
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Refusal::Unreadable(format!("the body broke off: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if (read.bytes.len() + data.len()) as u64 > limit {
                // What was read goes now; the rest is dropped as it comes.
                let past = (read.bytes.len() + data.len()) as u64;
                drop(read);
                drain_rest(body, past).await;
                return Err(Refusal::TooLarge);
            }
            let Ok(size) = u32::try_from(data.len()) else {
                return Err(Refusal::TooLarge);
            };
            let share = budget
                .clone()
                .acquire_many_owned(size)
                .await
                .map_err(|_| Refusal::Unreadable("the server is shutting down".into()))?;
            match read.budget.as_mut() {
                Some(held) => held.merge(share),
                None => read.budget = Some(share),
            }
            read.bytes.extend_from_slice(&data);
        }
    }
    Ok(read)
}

/// Drops the rest of a body already `past` bytes in, up to
/// [`DRAIN_BEFORE_REFUSING`] in all (the caller's deadline bounds the time).
async fn drain_rest(mut body: Incoming, mut past: u64) {
    while past <= DRAIN_BEFORE_REFUSING {
        match body.frame().await {
            Some(Ok(frame)) => past += frame.into_data().map_or(0, |d| d.len() as u64),
            _ => return,
        }
    }
}
