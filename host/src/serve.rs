//! `serve`: the event endpoint (`summary_pipeline::endpoint`) on a
//! `tiny_http` server with a pool of worker threads.

use std::io::Read;
use std::time::Instant;

use anyhow::Result;
use summary_pipeline::endpoint::{answer as answer_request, Authenticator, MAX_EVENT_BYTES};

use crate::pipeline::Pipeline;

/// Answers requests until the process is stopped.
pub fn serve(
    listen: &str,
    workers: usize,
    pipeline: &Pipeline,
    auth: &Authenticator,
) -> Result<()> {
    let server = tiny_http::Server::http(listen)
        .map_err(|e| anyhow::anyhow!("listening on {listen}: {e}"))?;
    let address = server
        .server_addr()
        .to_ip()
        .map(|a| a.to_string())
        .unwrap_or_else(|| listen.to_string());
    eprintln!("serving on http://{address} (POST event documents, GET /healthz)");
    tracing::info!(%address, workers, "serving");
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                while let Ok(request) = server.recv() {
                    answer(request, pipeline, auth);
                }
            });
        }
    });
    Ok(())
}

fn answer(mut request: tiny_http::Request, pipeline: &Pipeline, auth: &Authenticator) {
    let started = Instant::now();
    let method = request.method().to_string().to_ascii_uppercase();
    let path = request.url().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| (h.field.to_string(), h.value.to_string()))
        .collect();
    let body = if method == "POST" {
        let mut bytes = Vec::new();
        request
            .as_reader()
            .take(MAX_EVENT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map(|_| bytes)
            .map_err(|e| e.to_string())
    } else {
        Ok(Vec::new())
    };
    let answer = answer_request(&method, &path, &headers, body, pipeline, auth);
    tracing::info!(%method, %path, status = answer.status, ms = started.elapsed().as_millis() as u64, "request");
    let content_type = answer.content_type();
    let response = tiny_http::Response::from_string(answer.body)
        .with_status_code(answer.status)
        .with_header(
            tiny_http::Header::from_bytes("content-type", content_type).expect("valid header"),
        );
    if let Err(e) = request.respond(response) {
        tracing::warn!(error = %e, "could not send the answer");
    }
}
