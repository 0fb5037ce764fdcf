//! `GET /metrics` (and `GET /healthz`) on a listener of its own, for
//! commands without an HTTP endpoint (`consume-sqs --metrics-listen`).
//! `serve` answers `/metrics` on its own listener instead (`serve.rs`).

use anyhow::{Context as _, Result};
use summary_http_server::{Config, Handler, Request, Response};

/// The answer to a scrape: every metric, in the Prometheus text format.
pub fn scrape() -> Response {
    Response {
        status: 200,
        content_type: summary_pipeline::metrics::CONTENT_TYPE,
        body: summary_pipeline::metrics::render(),
    }
}

struct MetricsEndpoint;

impl Handler for MetricsEndpoint {
    fn is_quick(&self, _method: &str, _path: &str) -> bool {
        true
    }

    fn answer(&self, request: Request) -> Response {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/metrics") => scrape(),
            ("GET", "/healthz") => Response::text(200, "ok\n"),
            ("GET", _) => Response::text(404, "not found: GET /metrics or /healthz\n"),
            _ => Response::text(405, "only GET\n"),
        }
    }
}

/// Binds `listen` and serves the metrics from a thread of their own for
/// the rest of the process; returns the address bound (port 0 picks one).
pub fn start(listen: &str) -> Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("listening for metrics scrapes on {listen}"))?;
    let address = listener.local_addr()?;
    let config = Config {
        workers: 1,
        queue: 4,
        max_connections: 64,
        max_body_bytes: 0,
        ..Config::default()
    };
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            let served = summary_http_server::serve(
                listener,
                &config,
                &MetricsEndpoint,
                std::future::pending(),
            );
            if let Err(error) = served {
                tracing::error!(%error, "the metrics listener stopped");
            }
        })
        .context("starting the metrics listener")?;
    Ok(address)
}
