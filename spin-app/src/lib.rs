//! The Spin app: an HTTP-triggered component that answers S3 event
//! documents (EventBridge API destination, SNS HTTPS subscription) exactly
//! as the native `serve` does. Everything but I/O is shared: the endpoint,
//! the pipeline, signing and Glue bodies come from `summary-pipeline` and
//! `summary-aws`; the converter is the guest component, imported through
//! `wit/` and supplied by `spin.toml` as a component dependency.
#![cfg(target_arch = "wasm32")]

mod config;
mod converter;
mod transport;

use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use summary_pipeline::endpoint::{answer, MAX_EVENT_BYTES};

#[spin_sdk::http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    init_logging();
    let method = request.method().to_string().to_ascii_uppercase();
    let path = request
        .path_with_query()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let body = read_capped(request, MAX_EVENT_BYTES + 1).await;
    // The pipeline is synchronous: its outbound calls block on wasi-http.
    let answer = match config::App::from_variables() {
        Ok(app) => app
            .with_pipeline(|pipeline, auth| answer(&method, &path, &headers, body, pipeline, auth)),
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "the app is misconfigured");
            summary_pipeline::endpoint::Answer {
                status: 500,
                body: format!("misconfigured: {error:#}\n"),
            }
        }
    };
    tracing::info!(%method, %path, status = answer.status, "request");
    let headers = Fields::from_list(&[(
        "content-type".to_string(),
        answer.content_type().as_bytes().to_vec(),
    )])
    .expect("a valid header");
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(answer.status);
    let mut body = response.take_body();
    response_out.set(response);
    use futures::SinkExt;
    if let Err(error) = body.send(answer.body.into_bytes()).await {
        tracing::warn!(?error, "could not send the answer");
    }
}

/// The request body, read up to `limit` bytes (one more than allowed, so
/// the endpoint can tell "too large" apart).
async fn read_capped(request: IncomingRequest, limit: u64) -> Result<Vec<u8>, String> {
    use futures::StreamExt;
    let mut stream = std::pin::pin!(request.into_body_stream());
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("{e:?}"))?;
        body.extend_from_slice(&chunk);
        if body.len() as u64 >= limit {
            body.truncate(limit as usize);
            break;
        }
    }
    Ok(body)
}

/// Logs to stderr, which Spin keeps per component.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .try_init();
}
