//! One client connection: hyper's HTTP/1.1 state machine with the limits
//! applied, each request answered inline (quick ones), refused, or handed to
//! the worker pool.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use summary_lake::text::excerpt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, Semaphore};

use crate::body::{declared_too_large, drain_refused, read_body};
use crate::config::Config;
use crate::handler::{Handler, Refusal, Request, Response};
use crate::pool::{Rejected, Reservation, WorkerPool};
use crate::registry::{Connections, RequestInProgress};
use crate::write_deadline::WriteDeadline;

/// What every connection of one server shares.
pub struct Server<'a, H> {
    config: &'a Config,
    handler: &'a H,
    pool: &'a WorkerPool,
    /// One per request handed to the pool (queued or running), taken only
    /// once its body was read whole: a stalled body holds none.
    in_flight: Arc<Semaphore>,
    /// Bytes of bodies held in memory (being read, queued or running),
    /// charged as they arrive and released when the request is done.
    body_budget: Arc<Semaphore>,
    connections: Arc<Connections>,
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
            in_flight: Arc::new(Semaphore::new(config.requests_in_flight())),
            body_budget: Arc::new(Semaphore::new(body_budget(config))),
            connections: Arc::new(Connections::default()),
            http,
            shutdown: watch::channel(false).0,
        }
    }

    /// Makes room for a new connection: closes the oldest one with no
    /// request in progress; false if every connection has one.
    pub fn close_oldest_idle(&self) -> bool {
        self.connections.close_oldest_idle()
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
        let registration = self.connections.register();
        let mut shutdown = self.shutdown.subscribe();
        let io = TokioIo::new(WriteDeadline::new(io, self.config.write_timeout));
        let service = service_fn(|request| {
            let in_progress = registration.begin_request();
            async move {
                let response = self.respond(request).await;
                Ok::<_, Infallible>(response.map(|body| Answer {
                    body,
                    _in_progress: in_progress,
                }))
            }
        });
        let connection = self.http.serve_connection(io, service);
        let served = async {
            tokio::pin!(connection);
            if *shutdown.borrow_and_update() {
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
            }
        };
        tokio::select! {
            biased;
            () = registration.signal().closed() => {
                // Dropping the connection closes the socket.
                tracing::debug!("idle connection closed to make room for a new one");
            }
            result = served => {
                if let Err(error) = result {
                    // Timeouts, oversized heads, resets: the client's doing.
                    tracing::debug!(%error, "connection ended");
                }
            }
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
            drain_refused(body, self.config.body_timeout).await;
            return Reply::close(self.handler.refuse(&request, &Refusal::TooLarge));
        }
        let read = match read_body(body, limit, self.config.body_timeout, &self.body_budget).await {
            Ok(read) => read,
            Err(refusal) => return Reply::close(self.handler.refuse(&request, &refusal)),
        };
        let Ok(slot) = self.in_flight.clone().try_acquire_owned() else {
            return busy();
        };
        request.body = read.bytes;
        let reservation = Reservation {
            slot: Some(slot),
            body: read.budget,
        };
        match self.pool.submit(request, reservation) {
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

/// Room for every request in flight to hold a whole body: (workers +
/// queue) × the body limit, within what a semaphore can count.
fn body_budget(config: &Config) -> usize {
    let limit = usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX);
    limit
        .saturating_mul(config.requests_in_flight())
        .clamp(limit.min(Semaphore::MAX_PERMITS), Semaphore::MAX_PERMITS)
}

/// An answer's body, holding its connection's "request in progress" mark
/// until hyper has taken the last byte (and drops it).
struct Answer {
    body: Full<Bytes>,
    _in_progress: RequestInProgress,
}

impl hyper::body::Body for Answer {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
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
