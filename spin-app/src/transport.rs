//! HTTP for the shared AWS client, over Spin's outbound wasi-http.

use summary_aws::request::HttpRequest;
use summary_pipeline::aws_client::{
    check_declared_length, check_read_length, CallError, HttpResponse, Transport,
};

use spin_sdk::http::{IncomingResponse, Method, Request};

pub struct WasiHttp;

fn method(name: &str) -> Method {
    match name {
        "GET" => Method::Get,
        "PUT" => Method::Put,
        "POST" => Method::Post,
        "DELETE" => Method::Delete,
        "HEAD" => Method::Head,
        other => Method::Other(other.to_string()),
    }
}

impl Transport for WasiHttp {
    fn send(&self, request: &HttpRequest, max_body: u64) -> Result<HttpResponse, CallError> {
        let failure = |message: String| CallError {
            message: format!("{request:?}: {message}"),
            retryable: true,
            too_large: false,
        };
        // wasi-http sends the Host header itself, from the URL's authority
        // (the port included), which is exactly what was signed.
        let mut headers: Vec<(String, String)> = request
            .headers
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
            .cloned()
            .collect();
        // An empty body goes without framing otherwise, and S3 (s3s) wants
        // a length on a DELETE.
        let has_length = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-length"));
        if !has_length && !matches!(request.method, "GET" | "HEAD") {
            headers.push(("content-length".into(), request.body.len().to_string()));
        }
        let outgoing = Request::builder()
            .method(method(request.method))
            .uri(request.url.as_str())
            .headers(headers)
            .body(request.body.clone())
            .build();
        // The pipeline is synchronous; each exchange runs to completion here.
        spin_sdk::http::run(async {
            use futures::StreamExt;
            let response: IncomingResponse = spin_sdk::http::send(outgoing)
                .await
                .map_err(|e| failure(e.to_string()))?;
            let status = response.status();
            let headers: Vec<(String, String)> = response
                .headers()
                .entries()
                .into_iter()
                .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
                .collect();
            check_declared_length(request, &headers, max_body)?;
            let mut body = Vec::new();
            let mut stream = std::pin::pin!(response.take_body_stream());
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| failure(format!("reading the answer: {e:?}")))?;
                body.extend_from_slice(&chunk);
                if body.len() as u64 > max_body {
                    break;
                }
            }
            check_read_length(request, &body, max_body)?;
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        })
    }
}
