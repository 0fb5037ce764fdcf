//! `serve`: the event endpoint (`summary_pipeline::endpoint`) on the
//! hardened HTTP server (`summary_http_server`): events run the blocking
//! pipeline on `--workers` threads; health checks, 404s and refusals are
//! answered without one.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use summary_http_server::{Config, Handler, Refusal, Request, Response};
use summary_pipeline::endpoint::{self, answer as answer_request, Authenticator, MAX_EVENT_BYTES};

use crate::cli::ServeArgs;
use crate::context::Context;
use crate::events::Pipeline;

/// The server's limits, as `serve` flags.
#[derive(clap::Args, Clone, Debug)]
pub struct ServerOptions {
    /// Requests handled at once (threads running the pipeline).
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Requests waiting for a worker; past them, 503 with Retry-After.
    #[arg(long, default_value_t = 64, value_name = "REQUESTS")]
    pub queue: usize,
    /// Connections open at once; at it, each new one closes the oldest idle one.
    #[arg(long, default_value_t = 2048, value_name = "CONNECTIONS")]
    pub max_connections: usize,
    /// Largest request head (request line and headers); past it, 431.
    #[arg(long, default_value_t = 16 * 1024, value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(summary_http_server::MIN_HEADER_BYTES as i64..))]
    pub max_header_bytes: u32,
    /// Most header fields in a request; past it, 431.
    #[arg(long, default_value_t = 64, value_name = "FIELDS")]
    pub max_headers: usize,
    /// Time a client has to send a request head; also how long an idle connection stays open.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS", value_parser = seconds)]
    pub header_timeout: f64,
    /// Time a client has to send the body once its head arrived (a slower body gets 400).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS", value_parser = seconds)]
    pub body_timeout: f64,
    /// Time a client may leave an answer unread before its connection is cut.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS", value_parser = seconds)]
    pub write_timeout: f64,
    /// On SIGTERM/SIGINT: time in-flight requests get to finish before the process exits.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS", value_parser = seconds)]
    pub drain_timeout: f64,
}

/// Longest time a flag accepts: a day.
const MOST_SECONDS: f64 = 86_400.0;

/// A time flag: finite, positive seconds up to a day (NaN, infinities,
/// zero and negatives would panic or never end).
fn seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| "not a number of seconds".to_string())?;
    if value.is_finite() && value > 0.0 && value <= MOST_SECONDS {
        Ok(value)
    } else {
        Err(format!(
            "must be a number of seconds above 0 and at most {MOST_SECONDS}"
        ))
    }
}

impl ServerOptions {
    fn config(&self) -> Config {
        // At least a millisecond: hyper's timers have no finer grain.
        let seconds = |s: f64| Duration::from_secs_f64(s.clamp(0.001, MOST_SECONDS));
        Config {
            workers: self.workers,
            queue: self.queue,
            max_connections: self.max_connections,
            max_header_bytes: self.max_header_bytes as usize,
            max_headers: self.max_headers,
            max_body_bytes: MAX_EVENT_BYTES,
            header_timeout: seconds(self.header_timeout),
            body_timeout: seconds(self.body_timeout),
            write_timeout: seconds(self.write_timeout),
            drain_timeout: seconds(self.drain_timeout),
        }
    }
}

/// Answers requests until SIGTERM or SIGINT, then drains and returns.
pub fn serve(
    listen: &str,
    options: &ServerOptions,
    pipeline: &Pipeline,
    auth: &Authenticator,
) -> Result<()> {
    let config = options.config();
    config.validate()?;
    let listener =
        std::net::TcpListener::bind(listen).with_context(|| format!("listening on {listen}"))?;
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| listen.to_string());
    eprintln!("serving on http://{address} (POST event documents, GET /healthz, GET /metrics)");
    tracing::info!(%address, ?config, "serving");
    let endpoint = Endpoint { pipeline, auth };
    let drain = summary_http_server::serve(
        listener,
        &config,
        &endpoint,
        summary_http_server::termination_signal(),
    )
    .context("serving")?;
    tracing::info!(?drain, "stopped");
    Ok(())
}

struct Endpoint<'a> {
    pipeline: &'a Pipeline<'a>,
    auth: &'a Authenticator,
}

impl Endpoint<'_> {
    fn endpoint_answer(&self, request: &Request, body: Result<Vec<u8>, String>) -> Response {
        // Scrapes need no API key, as /healthz: the figures hold no data.
        if request.method == "GET" && request.path == "/metrics" {
            return crate::metrics_server::scrape();
        }
        let answer = answer_request(
            &request.method,
            &request.path,
            &request.headers,
            body,
            self.pipeline,
            self.auth,
        );
        to_response(answer)
    }
}

fn to_response(answer: endpoint::Answer) -> Response {
    Response {
        status: answer.status,
        content_type: answer.content_type(),
        body: answer.body,
    }
}

impl Handler for Endpoint<'_> {
    /// Only POSTs reach the pipeline; the endpoint answers anything else
    /// (health checks, 404, 405) without I/O.
    fn is_quick(&self, method: &str, _path: &str) -> bool {
        method != "POST"
    }

    fn answer(&self, mut request: Request) -> Response {
        let _in_flight = summary_pipeline::metrics::request_started();
        let body = std::mem::take(&mut request.body);
        self.endpoint_answer(&request, Ok(body))
    }

    fn refuse(&self, request: &Request, refusal: &Refusal) -> Response {
        match refusal {
            Refusal::TooLarge => to_response(endpoint::too_large()),
            // No pipeline work: the endpoint answers unreadable bodies with 400.
            Refusal::Unreadable(reason) => self.endpoint_answer(request, Err(reason.clone())),
        }
    }

    fn drain_timed_out(&self, running: usize) {
        // Their senders get no answer and deliver again; waiting longer
        // would outlast the supervisor's patience anyway.
        tracing::warn!(
            running,
            "drain deadline passed with events still running; exiting"
        );
        std::process::exit(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_flags_take_only_finite_positive_seconds_up_to_a_day() {
        assert_eq!(seconds("2.5"), Ok(2.5));
        assert_eq!(seconds("86400"), Ok(86_400.0));
        for bad in [
            "NaN", "nan", "inf", "-inf", "infinity", "0", "-1", "1e30", "86401",
        ] {
            assert_eq!(
                seconds(bad),
                Err("must be a number of seconds above 0 and at most 86400".to_string()),
                "{bad}"
            );
        }
        assert_eq!(seconds("ten"), Err("not a number of seconds".to_string()));
    }
}

/// `serve`: events POSTed over HTTP, until SIGTERM.
pub fn command(args: ServeArgs, ctx: &Context) -> Result<ExitCode> {
    let ServeArgs {
        listen,
        server,
        destination,
        edge,
        auth,
    } = args;
    let lake = ctx.open_lake(&destination)?;
    let authenticator = crate::serve_auth::authenticator(auth)?;
    serve(
        &listen,
        &server,
        &ctx.pipeline(&lake, &edge)?,
        &authenticator,
    )?;
    Ok(ExitCode::SUCCESS)
}
