//! One client connection: hyper's HTTP/1.1 state machine with the limits
//! applied, each request answered inline (quick ones), refused, or handed to
//! the worker pool.

use std::convert::Infallible;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use summary_layout::text::excerpt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, Semaphore};

use crate::body::{declared_too_large, read_body};
use crate::config::Config;
use crate::handler::{Handler, Refusal, Request, Response};
use crate::pool::{Rejected, WorkerPool};
use crate::write_deadline::WriteDeadline;

/// What every connection of one server shares.
pub struct Server<'a, H> {
    config: &'a Config,
    handler: &'a H,
    pool: &'a WorkerPool,
    /// One per request whose body is held in memory (read, queued or
    /// running): bounds memory and work regardless of connection count.
    in_flight: Semaphore,
    http: http1::Builder,
    shutdown: watch::Sender<bool>,
}

/// An answer and whether the connection must close after it (its request's
/// body was not read to the end, or the server is overloaded).
struct Reply {
    response: Response,
    retry_after: bool,
    close: bool,
}

impl Reply {
    fn keep(response: Response) -> Self {
        Reply {
            response,
            retry_after: false,
            close: false,
        }
    }

    fn close(response: Response) -> Self {
        Reply {
            response,
            retry_after: false,
            close: true,
        }
    }
}

impl<'a, H: Handler> Server<'a, H> {
    pub fn new(config: &'a Config, handler: &'a H, pool: &'a WorkerPool) -> Self {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(config.header_timeout)
            .max_buf_size(config.max_header_bytes.max(crate::config::MIN_HEADER_BYTES))
            .max_headers(config.max_headers)
            .half_close(false)
            .keep_alive(true);
        Server {
            config,
            handler,
            pool,
            in_flight: Semaphore::new(config.requests_in_flight()),
            http,
            shutdown: watch::channel(false).0,
        }
    }

    /// Asks every connection to finish its current request and close.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Serves one connection until the client closes it, a limit cuts it,
    /// or the server shuts down.
    pub async fn serve_connection<IO>(&self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let mut shutdown = self.shutdown.subscribe();
        let io = TokioIo::new(WriteDeadline::new(io, self.config.write_timeout));
        let service =
            service_fn(|request| async move { Ok::<_, Infallible>(self.respond(request).await) });
        let connection = self.http.serve_connection(io, service);
        tokio::pin!(connection);
        let result = if *shutdown.borrow_and_update() {
            connection.as_mut().graceful_shutdown();
            connection.await
        } else {
            tokio::select! {
                result = connection.as_mut() => result,
                _ = shutdown.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            }
        };
        if let Err(error) = result {
            // Timeouts, oversized heads, resets: the client's doing.
            tracing::debug!(%error, "connection ended");
        }
    }

    async fn respond(&self, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let started = Instant::now();
        let (parts, body) = request.into_parts();
        let head = Request {
            method: parts.method.as_str().to_ascii_uppercase(),
            path: parts.uri.to_string(),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_string(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: Vec::new(),
        };
        let reply = self.answer(head.clone(), body).await;
        tracing::info!(
            method = %excerpt(&head.method),
            path = %excerpt(&head.path),
            status = reply.response.status,
            ms = started.elapsed().as_millis() as u64,
            "request"
        );
        to_hyper(reply)
    }

    async fn answer(&self, mut request: Request, body: Incoming) -> Reply {
        if self.handler.is_quick(&request.method, &request.path) {
            // Its body, if any, stays unread: hyper closes the connection
            // after the answer rather than read on.
            return Reply::keep(self.handler.answer(request));
        }
        let limit = self.config.max_body_bytes;
        if declared_too_large(&body, limit) {
            return Reply::close(self.handler.refuse(&request, &Refusal::TooLarge));
        }
        let Ok(_permit) = self.in_flight.try_acquire() else {
            return busy();
        };
        match read_body(body, limit, self.config.body_timeout).await {
            Ok(bytes) => request.body = bytes,
            Err(refusal) => return Reply::close(self.handler.refuse(&request, &refusal)),
        }
        match self.pool.submit(request) {
            Ok(answer) => match answer.await {
                Ok(response) => Reply::keep(response),
                Err(_) => Reply::close(Response::text(503, "shutting down; retry later\n")),
            },
            Err(Rejected::Full) => busy(),
            Err(Rejected::Closed) => {
                Reply::close(Response::text(503, "shutting down; retry later\n"))
            }
        }
    }
}

fn busy() -> Reply {
    Reply {
        response: Response::text(
            503,
            "busy: every worker is taken and the queue is full; retry later\n",
        ),
        retry_after: true,
        close: true,
    }
}

fn to_hyper(reply: Reply) -> hyper::Response<Full<Bytes>> {
    let status =
        StatusCode::from_u16(reply.response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = hyper::Response::new(Full::new(Bytes::from(reply.response.body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(reply.response.content_type)
        .unwrap_or(HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert(CONTENT_TYPE, content_type);
    if reply.retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if reply.close {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
