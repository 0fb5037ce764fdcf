//! What the server asks of the application: answers to requests, and to the
//! requests the server refused to read.

/// A request as the handler sees it: the whole body already read (at most
/// [`crate::Config::max_body_bytes`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// Upper-cased, as sent (extension methods included).
    pub method: String,
    /// The request target as sent, query included.
    pub path: String,
    /// Header names lower-cased; values decoded lossily (they may be any bytes).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What to send back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Response {
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}

/// Why the server answered without reading a request's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The declared Content-Length, or the bytes sent, passed the limit.
    TooLarge,
    /// The body did not arrive whole (too slow, cut off, malformed chunks).
    Unreadable(String),
}

/// The application behind the server.
pub trait Handler: Sync {
    /// Whether `answer` is cheap enough for this request to run on the
    /// connection's own task (health checks, 404s): such requests never wait
    /// for a worker, and their bodies are not read.
    fn is_quick(&self, method: &str, path: &str) -> bool;

    /// The answer to a request; runs on a worker thread unless quick.
    fn answer(&self, request: Request) -> Response;

    /// The answer to a request whose body the server refused to read
    /// (`request.body` is empty); runs on the connection's own task.
    fn refuse(&self, request: &Request, refusal: &Refusal) -> Response {
        let _ = request;
        match refusal {
            Refusal::TooLarge => Response::text(413, "request body too large\n"),
            Refusal::Unreadable(reason) => {
                Response::text(400, format!("reading the request: {reason}\n"))
            }
        }
    }

    /// Called once when the drain deadline passed with `running` requests
    /// still on workers. After it returns the server waits for them.
    fn drain_timed_out(&self, running: usize) {
        let _ = running;
    }
}
